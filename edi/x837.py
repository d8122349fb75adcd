"""837P (005010X222A1) models, streaming parser and writer.

The models are typed views over the segments they were read from: every segment is kept
(so a file writes back byte for byte), and the fields a biller or a rule needs are parsed
once into slots (money as ``Decimal``).  Claims are produced one at a time, each with its
billing provider (2000A), subscriber (2000B) and patient (2000C) context, so memory does
not grow with the number of claims.

Events, in file order: :class:`Envelope` (ISA, GS, SE, GE, IEA segments),
:class:`TransactionHeader` (ST, BHT, 1000A, 1000B), :class:`HLNode` (2000A/B/C with
their 2010 loops) and :class:`Claim` (2300 with its 2310-2330 loops and 2400 lines).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Iterator
from datetime import date
from datetime import date as _Date  # the name "date" is shadowed inside Claim (Claim.date)
from decimal import Decimal
from typing import IO, Any, BinaryIO

from edi.errors import Finding, X12Error
from edi.reader import Delimiters, Segment, SegmentReader, check_transaction_type, write_segments

IMPLEMENTATION_837P = "005010X222A1"
# other implementation references read as 005010X222A1 (with a tolerance warning): the A2 errata
# reference some senders use, and the bare base guide
ACCEPTED_837P = ("005010X222A2", "005010X222")
_837P: dict[str, str] = {"functional_id": "HC", "st01": "837", "implementation": IMPLEMENTATION_837P,
                         "label": "837P"}
_AMOUNT = re.compile(r"-?(?:\d+\.?\d*|\.\d+)\Z")

# Segment ids that end a claim / a line.
_CLAIM_END = frozenset({"CLM", "HL", "SE"})
_CLAIM_BREAKS = _CLAIM_END | {"LX"}
# The parser indexes the HL loops of a transaction set by HL01 to resolve HL02 parents;
# past _HL_INDEX_MAX entries it keeps the 2000A loops and the _HL_INDEX_KEEP most recent.
_HL_INDEX_MAX = 512
_HL_INDEX_KEEP = 256


# Parsed values of the strings that repeat across claims (amounts, dates, pointer lists).
# The caches are bounded (cleared when full) so memory stays flat; values are immutable.
_CACHE_MAX = 8192
_amount_cache: dict[str, Decimal | None] = {}
_date_cache: dict[str, date | None] = {}
_pointer_cache: dict[tuple[str, str], tuple[tuple[int, ...], int]] = {}


def parse_amount(value: str) -> Decimal | None:
    """An X12 R-type amount as Decimal, or None when empty or malformed."""
    try:
        return _amount_cache[value]
    except KeyError:
        pass
    result = Decimal(value) if value and _AMOUNT.match(value) is not None else None
    if len(_amount_cache) >= _CACHE_MAX:
        _amount_cache.clear()
    _amount_cache[value] = result
    return result


def parse_date(value: str) -> date | None:
    """A CCYYMMDD date, or None when malformed."""
    try:
        return _date_cache[value]
    except KeyError:
        pass
    result: date | None = None
    if len(value) == 8 and value.isdigit():
        try:
            result = date(int(value[:4]), int(value[4:6]), int(value[6:]))
        except ValueError:
            result = None
    if len(_date_cache) >= _CACHE_MAX:
        _date_cache.clear()
    _date_cache[value] = result
    return result


def _parse_pointers(value: str, component: str) -> tuple[tuple[int, ...], int]:
    """SV107 diagnosis pointers: (the numbers, how many non-empty parts were not numbers)."""
    key = (value, component)
    try:
        return _pointer_cache[key]
    except KeyError:
        pass
    numbers: list[int] = []
    bad = 0
    for p in value.split(component):
        if p.isdigit() and p.isascii():
            numbers.append(int(p))
        elif p:
            bad += 1
    result = (tuple(numbers), bad)
    if len(_pointer_cache) >= _CACHE_MAX:
        _pointer_cache.clear()
    _pointer_cache[key] = result
    return result


_diagnosis_cache: dict[tuple[str, str], tuple[str, str] | None] = {}


def _parse_diagnosis(value: str, component: str) -> tuple[str, str] | None:
    """An HI composite as (qualifier, code), or None when it has no code part."""
    key = (value, component)
    try:
        return _diagnosis_cache[key]
    except KeyError:
        pass
    comp = value.split(component)
    result = (comp[0], comp[1]) if len(comp) >= 2 else None
    if len(_diagnosis_cache) >= _CACHE_MAX:
        _diagnosis_cache.clear()
    _diagnosis_cache[key] = result
    return result


def dotted_icd(code: str) -> str:
    """HI codes are sent without the dot: L570 -> L57.0."""
    return code if len(code) <= 3 or "." in code else f"{code[:3]}.{code[3:]}"


class Envelope:
    """An envelope segment (ISA, GS, SE, GE, IEA, TA1) passed through in order."""

    __slots__ = ("segment",)

    def __init__(self, segment: Segment) -> None:
        self.segment = segment

    @property
    def segments(self) -> list[Segment]:
        return [self.segment]


class TransactionHeader:
    """ST, BHT and the submitter (1000A) / receiver (1000B) loops of one 837P."""

    __slots__ = ("gs", "isa", "segments")

    def __init__(self, segments: list[Segment], isa: Segment, gs: Segment) -> None:
        self.segments = segments
        self.isa = isa
        self.gs = gs

    @property
    def st(self) -> Segment:
        return self.segments[0]

    @property
    def control_number(self) -> str:
        return self.segments[0].get(2)

    def _find(self, sid: str, q: str | None = None) -> Segment | None:
        for s in self.segments:
            if s.elements[0] == sid and (q is None or s.get(1) == q):
                return s
        return None

    @property
    def bht(self) -> Segment | None:
        return self._find("BHT")

    @property
    def file_date(self) -> date | None:
        bht = self.bht
        return parse_date(bht.get(4)) if bht is not None else parse_date(self.gs.get(4))

    @property
    def submitter_id(self) -> str:
        s = self._find("NM1", "41")
        return s.get(9) if s is not None else ""

    @property
    def receiver_id(self) -> str:
        s = self._find("NM1", "40")
        return s.get(9) if s is not None else ""


class HLNode:
    """A 2000A/2000B/2000C hierarchical level with its 2010 loops."""

    __slots__ = ("header", "level", "parent", "segments")

    def __init__(self, segments: list[Segment], parent: HLNode | None, header: TransactionHeader) -> None:
        self.segments = segments
        self.level = segments[0].get(3)
        self.parent = parent
        self.header = header

    @property
    def hl(self) -> Segment:
        return self.segments[0]

    def find(self, sid: str, qualifier: str | None = None) -> Segment | None:
        for s in self.segments:
            if s.elements[0] == sid and (qualifier is None or s.get(1) == qualifier):
                return s
        return None

    def loop(self, nm101: str) -> list[Segment]:
        """The segments of the 2010 loop that starts with NM1*<nm101>."""
        out: list[Segment] = []
        inside = False
        for s in self.segments:
            if s.elements[0] == "NM1":
                inside = s.get(1) == nm101
            if inside:
                out.append(s)
        return out

    # --- billing provider (2000A / 2010AA) ---
    @property
    def npi(self) -> str:
        s = self.find("NM1", "85")
        return s.get(9) if s is not None and s.get(8) == "XX" else ""

    @property
    def name(self) -> str:
        s = self.find("NM1", "85")
        return s.get(3) if s is not None else ""

    @property
    def tax_id(self) -> tuple[str, str]:
        """(qualifier, id) of the 2010AA tax id REF (EI or SY)."""
        for s in self.loop("85"):
            if s.elements[0] == "REF" and s.get(1) in ("EI", "SY"):
                return s.get(1), s.get(2)
        return "", ""

    @property
    def taxonomy(self) -> str:
        s = self.find("PRV")
        return s.get(3) if s is not None else ""

    # --- subscriber (2000B / 2010BB) ---
    @property
    def sbr(self) -> Segment | None:
        return self.find("SBR")

    @property
    def claim_filing_indicator(self) -> str:
        s = self.find("SBR")
        return s.get(9) if s is not None else ""

    @property
    def payer_responsibility(self) -> str:
        s = self.find("SBR")
        return s.get(1) if s is not None else ""

    @property
    def payer_name(self) -> str:
        s = self.find("NM1", "PR")
        return s.get(3) if s is not None else ""

    @property
    def payer_id(self) -> str:
        s = self.find("NM1", "PR")
        return s.get(9) if s is not None else ""


class ServiceLine:
    """Loop 2400 (LX ... ) with 2410 drug identification and 2420 providers."""

    __slots__ = (
        "charge", "code", "ctp_quantity", "ctp_unit", "modifiers", "ndc", "ndc_qualifier", "number",
        "place_of_service", "pointers", "problems", "qualifier", "rendering_npi", "segments",
        "service_date", "unit_basis", "units",
    )

    def __init__(self, segments: list[Segment], component: str) -> None:
        # Hot path (one call per service line): locals, direct element access and cached
        # amount/date/pointer parsing; the fields are those the scrubber reads on every line.
        self.segments = segments
        lx = segments[0].elements
        self.number = lx[1] if len(lx) > 1 else ""
        problems: list[Finding] = []
        self.problems = problems
        qualifier = code = unit_basis = place_of_service = ""
        modifiers: list[str] = []
        charge: Decimal | None = None
        units: Decimal | None = None
        pointers: list[int] = []
        service_date: date | None = None
        ndc = ndc_qualifier = ctp_unit = ""
        ctp_quantity: Decimal | None = None
        rendering_npi = ""
        for s in segments:
            els = s.elements
            sid = els[0]
            if sid == "SV1":
                if len(els) < 8:
                    els = [*els, *([""] * (8 - len(els)))]
                comp = els[1].split(component)
                qualifier = comp[0]
                if len(comp) > 1:
                    code = comp[1]
                    modifiers = [m for m in comp[2:6] if m] if len(comp) > 2 else []
                else:
                    code = ""
                    modifiers = []
                charge = parse_amount(els[2])
                if charge is None:
                    problems.append(Finding(s.number, "SV1", "SV102", "line charge is missing or not a number"))
                unit_basis = els[3]
                units = parse_amount(els[4])
                if units is None:
                    problems.append(Finding(s.number, "SV1", "SV104", "units are missing or not a number"))
                place_of_service = els[5]
                ptr = els[7]
                if ptr:
                    parsed = _parse_pointers(ptr, component)
                    pointers.extend(parsed[0])
                    for _ in range(parsed[1]):
                        problems.append(Finding(s.number, "SV1", "SV107", "diagnosis pointer is not a number"))
            elif sid == "DTP":
                if len(els) > 1 and els[1] == "472":
                    service_date = parse_date(els[3][:8] if len(els) > 3 else "")
                    if service_date is None:
                        problems.append(Finding(s.number, "DTP", "DTP03", "service date is not a valid date"))
            elif sid == "LIN":
                ndc_qualifier = s.get(2)
                ndc = s.get(3)
            elif sid == "CTP":
                ctp_quantity = parse_amount(s.get(4))
                ctp_unit = s.get(5).split(component)[0]
            elif sid == "NM1":
                if s.get(1) == "82" and s.get(8) == "XX":
                    rendering_npi = s.get(9)
        self.qualifier = qualifier
        self.code = code
        self.modifiers = modifiers
        self.charge = charge
        self.unit_basis = unit_basis
        self.units = units
        self.place_of_service = place_of_service
        self.pointers = pointers
        self.service_date = service_date
        self.ndc = ndc
        self.ndc_qualifier = ndc_qualifier
        self.ctp_quantity = ctp_quantity
        self.ctp_unit = ctp_unit
        self.rendering_npi = rendering_npi

    @property
    def lx(self) -> Segment:
        return self.segments[0]

    @property
    def sv1(self) -> Segment | None:
        for s in self.segments:
            if s.elements[0] == "SV1":
                return s
        return None

    def __repr__(self) -> str:
        return f"<ServiceLine {self.number} {self.code} {'-'.join(self.modifiers)}>"


class Claim:
    """Loop 2300 with its lines and context.  Field access never exposes PHI in repr."""

    __slots__ = (
        "billing", "claim_id", "diagnoses", "facility_qualifier", "frequency_code", "header",
        "lines", "patient", "place_of_service", "problems", "segments", "subscriber", "total_charge",
    )

    def __init__(self, segments: list[Segment], lines: list[ServiceLine], *, header: TransactionHeader,
                 billing: HLNode | None, subscriber: HLNode | None, patient: HLNode | None,
                 component: str, repetition: str) -> None:
        self.segments = segments
        self.lines = lines
        self.header = header
        self.billing = billing
        self.subscriber = subscriber
        self.patient = patient
        problems: list[Finding] = []
        self.problems = problems
        clm = segments[0]
        els = clm.elements
        if len(els) < 6:
            els = [*els, *([""] * (6 - len(els)))]
        self.claim_id = els[1]
        self.total_charge = parse_amount(els[2])
        if self.total_charge is None:
            problems.append(Finding(clm.number, "CLM", "CLM02", "claim charge is missing or not a number"))
        c5 = els[5].split(component)
        self.place_of_service = c5[0]
        self.facility_qualifier = c5[1] if len(c5) > 1 else ""
        self.frequency_code = c5[2] if len(c5) > 2 else ""
        diagnoses: list[tuple[str, str]] = []
        self.diagnoses = diagnoses
        for s in segments:
            if s.elements[0] == "HI":
                for el in s.elements[1:]:
                    if el:
                        dx = _parse_diagnosis(el, component)
                        if dx is not None:
                            diagnoses.append(dx)
        for line in lines:
            if line.problems:
                problems.extend(line.problems)

    # ---- lookups on the 2300 segments -------------------------------------------------
    @property
    def clm(self) -> Segment:
        return self.segments[0]

    def find(self, sid: str, qualifier: str | None = None) -> Segment | None:
        for s in self.segments:
            if s.elements[0] == sid and (qualifier is None or s.get(1) == qualifier):
                return s
        return None

    def ref(self, qualifier: str) -> str:
        """REF value at claim level (2300), e.g. F8 payer claim number, G1 prior authorization."""
        for s in self.segments:
            if s.elements[0] == "NM1":
                break
            if s.elements[0] == "REF" and s.get(1) == qualifier:
                return s.get(2)
        return ""

    def date(self, qualifier: str) -> date | None:
        s = self.find("DTP", qualifier)
        return parse_date(s.get(3)[:8]) if s is not None else None

    def provider_npi(self, nm101: str) -> str:
        """NPI of a 2310 provider: 82 rendering, DN referring, 77 service facility, DQ supervising."""
        s = self.find("NM1", nm101)
        return s.get(9) if s is not None and s.get(8) == "XX" else ""

    @property
    def rendering_npi(self) -> str:
        return self.provider_npi("82")

    @property
    def referring_npi(self) -> str:
        return self.provider_npi("DN")

    @property
    def notes(self) -> list[str]:
        return [s.get(2) for s in self.segments if s.elements[0] == "NTE"]

    # ---- context -------------------------------------------------------------------------
    @property
    def claim_filing_indicator(self) -> str:
        return self.subscriber.claim_filing_indicator if self.subscriber is not None else ""

    @property
    def payer_id(self) -> str:
        return self.subscriber.payer_id if self.subscriber is not None else ""

    @property
    def payer_name(self) -> str:
        return self.subscriber.payer_name if self.subscriber is not None else ""

    @property
    def billing_npi(self) -> str:
        return self.billing.npi if self.billing is not None else ""

    @property
    def diagnosis_codes(self) -> list[str]:
        """Dotted ICD-10-CM codes in HI order (pointer 1 = first)."""
        return [dotted_icd(code) for q, code in self.diagnoses if q in ("ABK", "ABF")]

    @property
    def service_dates(self) -> list[_Date]:
        return sorted({ln.service_date for ln in self.lines if ln.service_date is not None})

    @property
    def first_segment_number(self) -> int:
        return self.segments[0].number

    def all_segments(self) -> Iterator[Segment]:
        yield from self.segments
        for line in self.lines:
            yield from line.segments

    def __repr__(self) -> str:
        return f"<Claim {self.claim_id} lines={len(self.lines)}>"


Event = Envelope | TransactionHeader | HLNode | Claim


def claim_identity(claim: Claim) -> tuple[str, int]:
    """A claim's identity for exactly-once, and the bytes it takes in the output (roughly), in one pass.

    The identity is the sha256 of its provider/subscriber/patient context and its own segments (HL
    numbering excluded), so the same claim in another batch has the same hash: each segment's elements
    joined by US (0x1F) and ended by RS (0x1E), the context and the claim parted by GS (0x1D).  The
    size is the claim's and its context's elements and separators, plus three bytes a segment."""
    context: list[str] = []
    size = 0
    for node in (claim.billing, claim.subscriber, claim.patient):
        if node is not None:
            segs = node.segments
            if segs:
                hl = segs[0].elements
                size += len(hl) + sum(map(len, hl)) + 2
                for k in range(1, len(segs)):
                    context.append("\x1f".join(segs[k].elements))
    own = ["\x1f".join(seg.elements) for seg in claim.segments]
    for line in claim.lines:
        for seg in line.segments:
            own.append("\x1f".join(seg.elements))
    payload = ((("\x1e".join(context) + "\x1e") if context else "") + "\x1d"
               + (("\x1e".join(own) + "\x1e") if own else ""))
    n = len(context) + len(own)
    # payload = every segment's text and its RS, and the one GS: the texts' length is len - n - 1
    size += len(payload) - n - 1 + 3 * n
    return hashlib.sha256(payload.encode("latin-1", "replace")).hexdigest(), size


class Parser837:
    """Streaming 837P parser: iterate :meth:`events` or :meth:`claims`.

    Raises :class:`X12Error` for unreadable input and :class:`WrongTransactionError`
    when the file is X12 but not an 837P 005010X222A1.
    """

    def __init__(self, source: str | os.PathLike[str] | bytes | BinaryIO, name: str | None = None, *,
                 first_number: int = 0, first_offset: int = 0) -> None:
        self.reader = SegmentReader(source, name, first_number=first_number, first_offset=first_offset)
        self.name = self.reader.name

    @property
    def delimiters(self) -> Delimiters:
        assert self.reader.delimiters is not None
        return self.reader.delimiters

    @property
    def findings(self) -> list[Finding]:
        return self.reader.findings

    def _err(self, seg: Segment, message: str, element: str | None = None,
             cls: type[X12Error] = X12Error) -> X12Error:
        return cls(message, file=self.name, segment_number=seg.number, segment_id=seg.id,
                   element=element, offset=seg.offset)

    def claims(self) -> Iterator[Claim]:
        for ev in self.events():
            if type(ev) is Claim:
                yield ev

    def events(self) -> Iterator[Event]:
        isa: Segment | None = None
        gs: Segment | None = None
        header: TransactionHeader | None = None
        header_segs: list[Segment] | None = None
        nodes: dict[str, HLNode] = {}
        hl_segs: list[Segment] | None = None
        hl_parent: HLNode | None = None
        claim_segs: list[Segment] | None = None
        lines: list[ServiceLine] = []
        line_segs: list[Segment] | None = None
        comp = rep = ""

        def flush_line() -> None:
            nonlocal line_segs
            if line_segs is not None:
                lines.append(ServiceLine(line_segs, comp))
                line_segs = None

        def make_claim() -> Claim:
            nonlocal claim_segs, lines
            assert claim_segs is not None and header is not None
            flush_line()
            node = current_node
            billing = subscriber = patient = None
            while node is not None:     # the topmost node of each level wins
                level = node.level
                if level == "22":
                    subscriber = node
                elif level == "20":
                    billing = node
                elif level == "23":
                    patient = node
                node = node.parent
            claim = Claim(claim_segs, lines, header=header, billing=billing, subscriber=subscriber,
                          patient=patient, component=comp, repetition=rep)
            claim_segs = None
            lines = []
            return claim

        def make_node() -> HLNode:
            nonlocal hl_segs
            assert hl_segs is not None and header is not None
            node = HLNode(hl_segs, hl_parent, header)
            nodes[node.hl.get(1)] = node
            if len(nodes) > _HL_INDEX_MAX:
                # keep memory flat in a transaction set of any size: a child HL follows its
                # parent, so only the billing providers and the recent loops can be parents
                keep = {k: v for k, v in nodes.items() if v.level == "20"}
                keep.update(list(nodes.items())[-_HL_INDEX_KEEP:])
                nodes.clear()
                nodes.update(keep)
            hl_segs = None
            return node

        current_node: HLNode | None = None
        claim_breaks = _CLAIM_BREAKS
        node_breaks = _CLAIM_END
        for seg in self.reader:
            sid = seg.elements[0]
            # fast paths: a segment inside a claim / a line, or inside a 2000A-C loop
            if claim_segs is not None:
                if sid not in claim_breaks:
                    if line_segs is not None:
                        line_segs.append(seg)
                    else:
                        claim_segs.append(seg)
                    continue
                if sid == "LX":
                    if line_segs is not None:
                        lines.append(ServiceLine(line_segs, comp))
                    line_segs = [seg]
                    continue
            elif hl_segs is not None and sid not in node_breaks:
                hl_segs.append(seg)
                continue
            if header_segs is not None:
                # inside ST, before the first HL
                if sid == "HL":
                    header = TransactionHeader(header_segs, isa, gs)  # type: ignore[arg-type]
                    header_segs = None
                    yield header
                elif sid == "SE":
                    raise self._err(seg, "837P transaction set has no HL loops (no claims)")
                else:
                    header_segs.append(seg)
                    continue
            if sid == "HL":
                if claim_segs is not None:
                    yield make_claim()
                elif hl_segs is not None:
                    node = make_node()
                    current_node = node
                    yield node
                parent_id = seg.get(2)
                hl_parent = nodes.get(parent_id) if parent_id else None
                if parent_id and hl_parent is None:
                    raise self._err(seg, f"HL02 parent {parent_id!r} is not an earlier HL (or not a recent one: "
                                    "a child HL must follow its parent's loop)", "HL02")
                level = seg.get(3)
                if level not in ("20", "22", "23"):
                    raise self._err(seg, f"HL03 level code {level!r} is not 20, 22 or 23 in an 837P", "HL03")
                hl_segs = [seg]
                continue
            if sid == "CLM":
                if hl_segs is not None:
                    node = make_node()
                    current_node = node
                    yield node
                elif claim_segs is not None:
                    yield make_claim()
                if current_node is None:
                    raise self._err(seg, "CLM before any HL loop")
                if current_node.level == "20":
                    raise self._err(seg, "CLM directly under a billing provider HL (needs 2000B)")
                claim_segs = [seg]
                continue
            if sid == "SE":
                if claim_segs is not None:
                    yield make_claim()
                elif hl_segs is not None:
                    node = make_node()
                    yield node
                header = None
                nodes = {}
                current_node = None
                yield Envelope(seg)
                continue
            if claim_segs is not None:
                if sid == "LX":
                    flush_line()
                    line_segs = [seg]
                elif line_segs is not None:
                    line_segs.append(seg)
                else:
                    claim_segs.append(seg)
                continue
            if hl_segs is not None:
                hl_segs.append(seg)
                continue
            if sid == "ISA":
                isa = seg
                d = self.reader.delimiters
                assert d is not None
                comp, rep = d.component, d.repetition
                yield Envelope(seg)
            elif sid == "GS":
                for element, message in check_transaction_type(seg, self.name, accepted=ACCEPTED_837P, **_837P):
                    self.reader.tolerance(seg.number, "GS", element, message)
                gs = seg
                yield Envelope(seg)
            elif sid == "ST":
                for element, message in check_transaction_type(seg, self.name, accepted=ACCEPTED_837P, **_837P):
                    self.reader.tolerance(seg.number, "ST", element, message)
                header_segs = [seg]
            elif sid in ("GE", "IEA", "TA1"):
                yield Envelope(seg)
            else:
                raise self._err(seg, "unexpected segment outside a transaction set")


def iter_claims(source: str | os.PathLike[str] | bytes | BinaryIO, name: str | None = None) -> Iterator[Claim]:
    return Parser837(source, name).claims()


# ------------------------------------------------------------------------------------------
# Writing
# ------------------------------------------------------------------------------------------


def event_segments(ev: Event) -> Iterator[Segment]:
    if type(ev) is Claim:
        yield from ev.all_segments()
    else:
        yield from ev.segments


def write_events(events: Iterable[Event], delimiters: Delimiters, out: IO[bytes], trailer: str = "") -> None:
    """Write events exactly as read: the original form, byte for byte."""
    write_segments((s for ev in events for s in event_segments(ev)), delimiters, out, trailer)


class ClaimWriter:
    """Write a chosen subset of claims as a valid 837P, streaming.

    HL numbers and parents are recomputed, ST02/SE01 renumbered, GE01/IEA01 counted.
    A new interchange / group / transaction is opened whenever the source's changes,
    so the output keeps the sender, receiver and submitter of each source envelope.
    ``isa_control`` overrides ISA13/IEA02 (and GS06/GE02) of the output; otherwise the
    source's are kept.  ``sender`` / ``receiver`` ((qualifier, id)) override ISA05/06 and ISA07/08.
    With ``merge_envelopes``, claims of source interchanges (groups) that differ only in control
    numbers, dates and times continue the open interchange (group) instead of starting a new one
    (:meth:`can_continue` says whether a claim would).  Nothing is written when no claim is.
    """

    def __init__(self, out: IO[bytes], delimiters: Delimiters, *, isa_control: int | None = None,
                 usage_indicator: str | None = None, sender: tuple[str, str] | None = None,
                 receiver: tuple[str, str] | None = None, merge_envelopes: bool = False,
                 canonical_hash: Any = None) -> None:
        self.out = out
        #: A hashlib object fed the output as it would read with ``isa_control=0`` (ISA13/IEA02
        #: ``000000000``, GS06/GE02 ``0``): the file's content without its control numbers, hashed
        #: in the same pass instead of written a second time.  Needs ``isa_control``.
        self.canonical_hash = canonical_hash
        self._canon: list[tuple[int, str]] = []     # (index in _buf, the canonical text of that segment)
        #: Bytes of output so far (written and buffered), and the same for the canonical variant.
        self.size = 0
        self.canonical_size = 0
        self.d = delimiters
        self.isa_control = isa_control
        self.usage_indicator = usage_indicator
        self.sender = sender
        self.receiver = receiver
        self.merge_envelopes = merge_envelopes
        self.claims_written = 0
        self._isa: Segment | None = None
        self._gs: Segment | None = None
        self._header: TransactionHeader | None = None
        self._st_count = 0
        self._gs_count = 0
        self._st_segments = 0
        self._hl_map: dict[int, tuple[HLNode, str]] = {}
        self._hl_next = 1
        self._pre = ""
        self._buf: list[str] = []
        self._pending = 0           # segments in _buf
        self._st_number = 0
        #: When a list, the source segment number of every segment written is appended
        #: to it (0 for the SE/GE/IEA trailers the writer makes up).  Used by
        #: edi.validate to map findings in a written chunk back to the source file.
        self.origins: list[int] | None = None

    def _emit(self, elements: list[str], pre: str | None = None, origin: int = 0) -> None:
        if self.origins is not None:
            self.origins.append(origin)
        lead = self._pre if pre is None else pre
        text = lead + self.d.element.join(elements) + self.d.segment
        self.size += len(text)
        if self.canonical_hash is not None and elements[0] in _CONTROL_AT:
            at, zero = _CONTROL_AT[elements[0]]
            canon = list(elements)
            canon[at] = zero
            ctext = lead + self.d.element.join(canon) + self.d.segment
            self._canon.append((len(self._buf), ctext))
            self.canonical_size += len(ctext)
        else:
            self.canonical_size += len(text)
        self._buf.append(text)
        self._pending += 1
        if self._pending > 4096:
            self.flush()

    def flush(self) -> None:
        if self._buf:
            data = "".join(self._buf).encode("latin-1")
            self.out.write(data)
            h = self.canonical_hash
            if h is not None:
                if self._canon:
                    for i, ctext in self._canon:
                        self._buf[i] = ctext
                    self._canon.clear()
                    h.update("".join(self._buf).encode("latin-1"))
                else:
                    h.update(data)
            self._buf.clear()
        self._pending = 0

    def _close_st(self) -> None:
        if self._header is not None:
            self._st_segments += 1
            self._emit(["SE", str(self._st_segments), self._st_control()])
            self._header = None

    def _st_control(self) -> str:
        return f"{self._st_number:04d}"

    def _close_gs(self) -> None:
        self._close_st()
        if self._gs is not None:
            self._emit(["GE", str(self._st_count), self._gs_control(self._gs)])
            self._gs = None

    def _close_isa(self) -> None:
        self._close_gs()
        if self._isa is not None:
            self._emit(["IEA", str(self._gs_count), self._isa_control(self._isa)])
            self._isa = None

    @property
    def st02(self) -> str:
        """ST02 of the transaction set being written."""
        return self._st_control()

    @staticmethod
    def _isa_key(isa: Segment) -> tuple[str, ...]:
        return tuple(v for i, v in enumerate(isa.elements) if i not in (9, 10, 13))

    @staticmethod
    def _gs_key(gs: Segment) -> tuple[str, ...]:
        return tuple(v for i, v in enumerate(gs.elements) if i not in (4, 5, 6))

    def can_continue(self, claim: Claim) -> bool:
        """Whether ``claim`` continues the interchange being written: the same source interchange, or
        (with ``merge_envelopes``) one that differs only in control number, date and time."""
        isa = claim.header.isa
        if self._isa is None or self._isa is isa:
            return True
        return self.merge_envelopes and self._isa_key(self._isa) == self._isa_key(isa)

    def _isa_control(self, isa: Segment) -> str:
        if self.isa_control is not None:
            return f"{self.isa_control:09d}"
        control = isa.get(13)
        return control.zfill(9) if len(control) < 9 and control.isdigit() else control   # an unpadded ISA13

    def _gs_control(self, gs: Segment) -> str:
        return str(self.isa_control) if self.isa_control is not None else gs.get(6)

    def write(self, claim: Claim) -> None:
        header = claim.header
        if self._isa is not None and self._isa is not header.isa and self.can_continue(claim):
            self._isa = header.isa  # same envelope: keep the open interchange (compared by identity below)
            if self._gs is not None and self._gs is not header.gs and self._gs_key(self._gs) == self._gs_key(header.gs):
                self._gs = header.gs
        self._open(header)
        parts = self._render(claim)
        # the loops and the claim's own segments, rendered in one go: one string per segment (its
        # elements joined) and one join of those with terminator + whitespace between them
        pre, term = self._pre, self.d.segment
        text = pre + (term + pre).join(parts) + term
        self._buf.append(text)
        self.size += len(text)
        self.canonical_size += len(text)
        self._st_segments += len(parts)
        self._pending += len(parts)
        if self._pending > 4096:
            self.flush()
        self.claims_written += 1

    def _open(self, header: TransactionHeader) -> None:
        """Open the interchange, group and transaction set of ``header`` unless they are open."""
        if self._isa is not header.isa:
            self._close_isa()
            self._isa = header.isa
            self._gs_count = 0
            isa = _padded_isa(header.isa.elements)
            isa[13] = self._isa_control(header.isa)
            if self.usage_indicator:
                isa[15] = self.usage_indicator
            if self.sender:
                isa[5], isa[6] = self.sender[0], self.sender[1].ljust(15)[:15]
            if self.receiver:
                isa[7], isa[8] = self.receiver[0], self.receiver[1].ljust(15)[:15]
            self._pre = _guess_pre(header)
            self._emit(isa, pre="" if self.claims_written == 0 else self._pre, origin=header.isa.number)
        if self._gs is not header.gs:
            self._close_gs()
            self._gs = header.gs
            self._gs_count += 1
            self._st_count = 0
            gs = list(header.gs.elements)
            gs[6] = self._gs_control(header.gs)
            if len(gs) > 8 and (gs[8] != IMPLEMENTATION_837P or gs[1] != "HC"):
                gs[1], gs[8] = "HC", IMPLEMENTATION_837P     # a tolerated reference: written as A1
            self._emit(gs, origin=header.gs.number)
        if self._header is not header:
            self._close_st()
            self._header = header
            self._st_count += 1
            self._st_number += 1
            self._st_segments = 0
            self._hl_map = {}
            self._hl_next = 1
            for s in header.segments:
                els = list(s.elements)
                if els[0] == "ST":
                    els[2] = self._st_control()
                    if len(els) > 3 and els[3] != IMPLEMENTATION_837P:
                        els[3] = IMPLEMENTATION_837P
                self._emit(els, origin=s.number)
                self._st_segments += 1

    def _render(self, claim: Claim) -> list[str]:
        """The segments (elements joined) of the claim and of the HL loops it needs written first."""
        chain = [n for n in (claim.billing, claim.subscriber, claim.patient) if n is not None]
        # HL loops already written are those of the previous claim's chain (the map holds
        # the nodes themselves, so an id() is never reused while it is a key).  A loop seen
        # earlier but not in that chain is written again under a new HL number.
        old_map = self._hl_map
        new_map: dict[int, tuple[HLNode, str]] = {}
        esep_join = self.d.element.join
        parts: list[str] = []         # HL loops (re)written for this claim, each segment's elements joined
        origins = self.origins
        for i, node in enumerate(chain):
            key = id(node)
            seen = old_map.get(key)
            if seen is not None and seen[0] is node:
                new_map[key] = seen
                continue
            number = str(self._hl_next)
            self._hl_next += 1
            new_map[key] = (node, number)
            parent_entry = new_map.get(id(node.parent)) if node.parent is not None else None
            has_child = "1" if i + 1 < len(chain) else "0"
            hl = ["HL", number, parent_entry[1] if parent_entry is not None else "", node.level, has_child]
            parts.append(esep_join(hl))
            node_segs = node.segments
            for k in range(1, len(node_segs)):
                parts.append(esep_join(node_segs[k].elements))
            if origins is not None:
                origins.append(node.hl.number)
                origins.extend([s.number for s in node_segs[1:]])
        self._hl_map = new_map
        segs = claim.segments[:]
        for line in claim.lines:
            segs.extend(line.segments)
        for s in segs:
            parts.append(esep_join(s.elements))
        if origins is not None:
            origins.extend([s.number for s in segs])
        return parts

    def close(self) -> None:
        self._close_isa()
        if self.claims_written:
            trailer = self._trailer
            self._buf.append(trailer)
            self.size += len(trailer)
            self.canonical_size += len(trailer)
        self.flush()

    @property
    def _trailer(self) -> str:
        return "\n" if self._pre.endswith("\n") else ""


class _Discard:
    def write(self, data: bytes) -> int:
        return len(data)


class _InterchangeTemplate:
    """The opening (ISA, GS, ST ... 1000B) of a one-claim interchange of one transaction header."""

    def __init__(self, header: TransactionHeader, delimiters: Delimiters) -> None:
        self.header = header
        self.delimiters = delimiters
        self.writer = ClaimWriter(_Discard(), delimiters)   # type: ignore[arg-type]
        self.writer._open(header)
        self.opening = "".join(self.writer._buf)
        self.opening_segments = self.writer._st_segments
        w = self.writer
        assert w._isa is not None and w._gs is not None
        seg = delimiters.segment
        # SE01 is the only count that changes with the claim; GE01 and IEA01 are 1
        self.se = w._pre + "SE" + delimiters.element
        self.closing = (delimiters.element + w._st_control() + seg
                        + w._pre + delimiters.element.join(["GE", "1", w._gs_control(w._gs)]) + seg
                        + w._pre + delimiters.element.join(["IEA", "1", w._isa_control(w._isa)]) + seg
                        + w._trailer)


_templates: list[_InterchangeTemplate] = []


def claim_interchange(claim: Claim, delimiters: Delimiters) -> str:
    """The claim as a one-claim 837P interchange: the text ``ClaimWriter(out, delimiters)`` writes
    for this one claim (its source envelope and header, HL loops numbered from 1), made without a
    writer per claim (the opening of the claim's transaction header is kept from the last call)."""
    header = claim.header
    t = _templates[0] if _templates else None
    if t is None or t.header is not header or t.delimiters is not delimiters:
        t = _InterchangeTemplate(header, delimiters)
        _templates[:] = [t]
    w = t.writer
    w._hl_map = {}
    w._hl_next = 1
    parts = w._render(claim)
    pre, term = w._pre, delimiters.segment
    return (t.opening + pre + (term + pre).join(parts) + term
            + t.se + str(t.opening_segments + len(parts) + 1) + t.closing)


_ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
#: Where an envelope segment carries the output's control number, and how it reads with ``isa_control=0``.
_CONTROL_AT: dict[str, tuple[int, str]] = {"ISA": (13, "000000000"), "GS": (6, "0"), "GE": (2, "0"),
                                           "IEA": (2, "000000000")}


def _padded_isa(elements: list[str]) -> list[str]:
    """ISA elements padded to their fixed widths (a tolerated unpadded ISA is written padded)."""
    out = list(elements)
    if len(out) == 17:
        for i, w in enumerate(_ISA_WIDTHS, start=1):
            v = out[i]
            if len(v) != w:
                out[i] = v.zfill(w) if i in (9, 10, 13) and v.isdigit() else v.ljust(w)[:w]
    return out


def _guess_pre(header: TransactionHeader) -> str:
    """The whitespace style between segments of the source (from its GS)."""
    return header.gs.pre
