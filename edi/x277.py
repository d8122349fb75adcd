"""277CA claim acknowledgment (005010X214) reader.

Public API
==========

``read_277ca(source, name=None) -> Iterator[ClaimStatus]``
    Streams one :class:`ClaimStatus` per claim (loop 2200D): ``claim_id`` (TRN02 = our
    patient control number, the 837P CLM01), ``accepted`` / ``rejected``, ``category``
    (STC01-1 of the first STC: A1 receipt, A2 accepted into adjudication, A3 returned as
    unprocessable, A4 not found, A6/A7/A8 rejected for missing / invalid / relational
    data...), ``status_code`` (STC01-2), ``entity`` (STC01-3), ``statuses`` (every STC with
    its up to three composites as :class:`StatusCode`), ``payer_claim_number`` (REF*1K),
    ``clearinghouse_trace`` (REF*D9), ``charge`` (STC04), ``status_date`` (STC02),
    ``service_period`` (DTP*472), ``lines`` (2220D :class:`ServiceStatus`, reported only
    when a line is rejected) and the context: ``payer_name`` / ``payer_id`` (2000A),
    ``receiver_id`` (2000B), ``provider_id`` / ``provider_npi`` (2000C).

``Parser277CA(source, name=None)``
    ``.claims()`` is the same iterator; after (or during) iteration ``.levels`` holds the
    2200B / 2200C :class:`LevelStatus` summaries (accepted / rejected quantities and
    amounts as the payer counted them), ``.header`` the BHT data of the current set.

``summarize(statuses) -> AckSummary``
    Accepted / rejected counts and charges and the rejected claim ids.

Rules used for ``accepted``: a claim is rejected when any of its claim-level STC
composites has a rejecting category (A3, A4, A6, A7, A8, E0-E4) or STC03 is ``U``;
otherwise accepted.  A file other than a 277 005010X214 raises
:class:`~edi.errors.WrongTransactionError`; unreadable input :class:`~edi.errors.X12Error`.
Patient names and member ids (NM1*QC) stay in ``patient_segment`` and never appear in
``repr``, ``as_json`` or messages.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import BinaryIO

from edi.errors import Finding, X12Error
from edi.reader import Segment, SegmentReader, check_transaction_type
from edi.x837 import parse_date

IMPLEMENTATION_277CA = "005010X214"
_277CA: dict[str, str] = {"functional_id": "HN", "st01": "277", "implementation": IMPLEMENTATION_277CA,
                          "label": "277CA"}
_AMOUNT = re.compile(r"-?(?:\d+\.?\d*|\.\d+)\Z")

#: Health care claim status category codes (short descriptions of our own).
CATEGORIES: dict[str, str] = {
    "A0": "acknowledged, forwarded to another entity",
    "A1": "acknowledged, received",
    "A2": "acknowledged, accepted into adjudication",
    "A3": "acknowledged, returned as unprocessable",
    "A4": "acknowledged, not found",
    "A5": "acknowledged, split claim",
    "A6": "acknowledged, rejected for missing information",
    "A7": "acknowledged, rejected for invalid information",
    "A8": "acknowledged, rejected for relational field in error",
    "E0": "response not possible, error in submitted data",
    "E1": "response not possible, system status",
    "E2": "response not possible, information holder not responding",
    "E3": "correction required, relational fields in error",
    "E4": "trading partner agreement requirement not met",
}
ACCEPTED_CATEGORIES = frozenset({"A0", "A1", "A2", "A5"})
REJECTED_CATEGORIES = frozenset({"A3", "A4", "A6", "A7", "A8", "E0", "E1", "E2", "E3", "E4"})


@dataclass(frozen=True, slots=True)
class StatusCode:
    """One C043 composite: category (STC01-1), status code (-2), entity (-3), code list (-4)."""

    category: str
    code: str
    entity: str = ""
    code_list: str = ""

    @property
    def rejected(self) -> bool:
        return self.category in REJECTED_CATEGORIES

    @property
    def category_text(self) -> str:
        return CATEGORIES.get(self.category, "other status category")

    def as_dict(self) -> dict[str, object]:
        return {"category": self.category, "code": self.code, "entity": self.entity or None}


@dataclass(frozen=True, slots=True)
class StatusInfo:
    """One STC segment: up to three status composites (STC01, STC10, STC11)."""

    codes: tuple[StatusCode, ...]
    date: dt.date | None       # STC02
    action_code: str           # STC03: WQ accepted, U rejected
    amount: Decimal | None     # STC04: total claim charge (or line charge)
    message: str = ""          # STC12 free-form message
    segment_number: int = 0

    @property
    def rejected(self) -> bool:
        return self.action_code == "U" or any(c.rejected for c in self.codes)

    def as_dict(self) -> dict[str, object]:
        return {"codes": [c.as_dict() for c in self.codes],
                "date": self.date.isoformat() if self.date else None,
                "action_code": self.action_code, "amount": None if self.amount is None else str(self.amount),
                "message": self.message or None}


class _Ctx:
    __slots__ = ("component", "name")

    def __init__(self, name: str, component: str) -> None:
        self.name = name
        self.component = component

    def err(self, seg: Segment, message: str, element: str | None = None,
            cls: type[X12Error] = X12Error) -> X12Error:
        return cls(message, file=self.name, segment_number=seg.number, segment_id=seg.id, element=element,
                   offset=seg.offset)

    def amount(self, seg: Segment, index: int) -> Decimal | None:
        value = seg.get(index)
        if not value:
            return None
        if _AMOUNT.match(value) is None:
            raise self.err(seg, "amount is not a number", f"{seg.id}{index:02d}")
        return Decimal(value)

    def stc(self, seg: Segment) -> StatusInfo:
        codes: list[StatusCode] = []
        for i in (1, 10, 11):
            value = seg.get(i)
            if not value:
                continue
            comp = value.split(self.component)
            if len(comp) < 2 or not comp[0] or not comp[1]:
                raise self.err(seg, "status composite needs a category and a status code",
                               f"STC{i:02d}")
            codes.append(StatusCode(comp[0], comp[1], comp[2] if len(comp) > 2 else "",
                                    comp[3] if len(comp) > 3 else ""))
        if not codes:
            raise self.err(seg, "STC has no status composite", "STC01")
        return StatusInfo(tuple(codes), parse_date(seg.get(2)), seg.get(3), self.amount(seg, 4), seg.get(12),
                          seg.number)


def _period(seg: Segment | None) -> tuple[dt.date | None, dt.date | None]:
    if seg is None:
        return None, None
    value = seg.get(3)
    if seg.get(2) == "RD8" and "-" in value:
        a, _, b = value.partition("-")
        return parse_date(a), parse_date(b)
    d = parse_date(value[:8])
    return d, d


class ServiceStatus:
    """Loop 2220D: a rejected service line with its status."""

    __slots__ = ("charge", "code", "modifiers", "qualifier", "segments", "statuses", "units")

    def __init__(self, segments: list[Segment], ctx: _Ctx) -> None:
        self.segments = segments
        svc = segments[0]
        comp = svc.get(1).split(ctx.component) if svc.get(1) else []
        self.qualifier = comp[0] if comp else ""
        self.code = comp[1] if len(comp) > 1 else ""
        self.modifiers = [m for m in comp[2:6] if m]
        self.charge = ctx.amount(svc, 2)
        self.units = ctx.amount(svc, 7)
        self.statuses = [ctx.stc(s) for s in segments if s.elements[0] == "STC"]

    @property
    def control_number(self) -> str:
        """REF*FJ: the line item control number (2400 REF*6R) we sent."""
        for s in self.segments:
            if s.elements[0] == "REF" and s.get(1) == "FJ":
                return s.get(2)
        return ""

    @property
    def service_period(self) -> tuple[dt.date | None, dt.date | None]:
        for s in self.segments:
            if s.elements[0] == "DTP" and s.get(1) == "472":
                return _period(s)
        return None, None

    @property
    def rejected(self) -> bool:
        return any(s.rejected for s in self.statuses)

    def as_json(self) -> dict[str, object]:
        start, _ = self.service_period
        return {"code": self.code, "modifiers": self.modifiers,
                "charge": None if self.charge is None else str(self.charge),
                "control_number": self.control_number or None,
                "service_date": start.isoformat() if start else None,
                "statuses": [s.as_dict() for s in self.statuses]}

    def __repr__(self) -> str:
        return f"<ServiceStatus {self.code} rejected={self.rejected}>"


@dataclass(slots=True)
class LevelStatus:
    """2200B (information receiver) or 2200C (billing provider) summary."""

    level: str                   # 'receiver' | 'provider'
    entity_id: str               # NM109 (ETIN / NPI / TIN)
    entity_qualifier: str        # NM108
    trace: str                   # TRN02
    statuses: list[StatusInfo] = field(default_factory=list)
    accepted_quantity: Decimal | None = None   # QTY*90 / QTY*QA
    rejected_quantity: Decimal | None = None   # QTY*AA / QTY*QC
    accepted_amount: Decimal | None = None     # AMT*YU
    rejected_amount: Decimal | None = None     # AMT*YY
    segment_number: int = 0


@dataclass(slots=True)
class TransactionInfo:
    """ST / BHT and the 2000A information source of one 277CA transaction set."""

    control_number: str = ""     # ST02
    reference: str = ""          # BHT03
    date: dt.date | None = None  # BHT04
    payer_name: str = ""         # 2100A NM103
    payer_id: str = ""           # 2100A NM109
    payer_trace: str = ""        # 2200A TRN02
    received_date: dt.date | None = None   # 2200A DTP*050
    process_date: dt.date | None = None    # 2200A DTP*009


class ClaimStatus:
    """Loop 2200D: the acknowledgment of one claim (with its 2220D rejected lines)."""

    __slots__ = ("charge", "claim_id", "lines", "patient_segment", "provider", "receiver", "segments",
                 "statuses", "transaction")

    def __init__(self, segments: list[Segment], lines: list[ServiceStatus], *, transaction: TransactionInfo,
                 receiver: LevelStatus | None, provider: LevelStatus | None, patient_segment: Segment | None,
                 ctx: _Ctx) -> None:
        self.segments = segments
        self.lines = lines
        self.transaction = transaction
        self.receiver = receiver
        self.provider = provider
        self.patient_segment = patient_segment
        trn = segments[0]
        self.claim_id = trn.get(2)
        if not self.claim_id:
            raise ctx.err(trn, "claim status tracking number (our claim id) is missing", "TRN02")
        self.statuses = [ctx.stc(s) for s in segments if s.elements[0] == "STC"]
        if not self.statuses:
            raise ctx.err(trn, "claim status (STC) is missing after TRN", "STC01")
        self.charge = self.statuses[0].amount

    # -- status ---------------------------------------------------------------------------
    @property
    def rejected(self) -> bool:
        return any(s.rejected for s in self.statuses)

    @property
    def accepted(self) -> bool:
        return not self.rejected

    @property
    def primary(self) -> StatusCode:
        return self.statuses[0].codes[0]

    @property
    def category(self) -> str:
        return self.primary.category

    @property
    def status_code(self) -> str:
        return self.primary.code

    @property
    def entity(self) -> str:
        return self.primary.entity

    @property
    def codes(self) -> list[StatusCode]:
        """Every status composite of the claim-level STCs."""
        return [c for s in self.statuses for c in s.codes]

    @property
    def status_date(self) -> dt.date | None:
        return self.statuses[0].date

    @property
    def action_code(self) -> str:
        return self.statuses[0].action_code

    @property
    def messages(self) -> list[str]:
        return [s.message for s in self.statuses if s.message]

    # -- references -----------------------------------------------------------------------
    def ref(self, qualifier: str) -> str:
        for s in self.segments:
            if s.elements[0] == "REF" and s.get(1) == qualifier:
                return s.get(2)
        return ""

    @property
    def payer_claim_number(self) -> str:
        """REF*1K: the payer's claim control number (present once accepted)."""
        return self.ref("1K")

    @property
    def clearinghouse_trace(self) -> str:
        return self.ref("D9")

    @property
    def bill_type(self) -> str:
        return self.ref("BLT")

    @property
    def service_period(self) -> tuple[dt.date | None, dt.date | None]:
        for s in self.segments:
            if s.elements[0] == "DTP" and s.get(1) == "472":
                return _period(s)
        return None, None

    # -- context --------------------------------------------------------------------------
    @property
    def payer_name(self) -> str:
        return self.transaction.payer_name

    @property
    def payer_id(self) -> str:
        return self.transaction.payer_id

    @property
    def receiver_id(self) -> str:
        return self.receiver.entity_id if self.receiver is not None else ""

    @property
    def provider_id(self) -> tuple[str, str]:
        """(NM108, NM109) of the 2000C billing provider."""
        p = self.provider
        return (p.entity_qualifier, p.entity_id) if p is not None else ("", "")

    @property
    def provider_npi(self) -> str:
        q, v = self.provider_id
        return v if q == "XX" else ""

    def all_segments(self) -> Iterator[Segment]:
        yield from self.segments
        for ln in self.lines:
            yield from ln.segments

    def as_json(self) -> dict[str, object]:
        """JSON-ready, without PHI (no patient name or member id)."""
        start, end = self.service_period
        return {
            "claim_id": self.claim_id,
            "accepted": self.accepted,
            "category": self.category,
            "category_text": self.primary.category_text,
            "status_code": self.status_code,
            "entity": self.entity or None,
            "charge": None if self.charge is None else str(self.charge),
            "status_date": self.status_date.isoformat() if self.status_date else None,
            "payer_claim_number": self.payer_claim_number or None,
            "clearinghouse_trace": self.clearinghouse_trace or None,
            "service_from": start.isoformat() if start else None,
            "service_to": end.isoformat() if end else None,
            "statuses": [s.as_dict() for s in self.statuses],
            "lines": [ln.as_json() for ln in self.lines],
            "payer_id": self.payer_id,
            "provider_npi": self.provider_npi or None,
            "transaction": self.transaction.control_number,
            "segment_number": self.segments[0].number,
        }

    def __repr__(self) -> str:
        return f"<ClaimStatus {self.claim_id} {self.category}:{self.status_code} accepted={self.accepted}>"


@dataclass(slots=True)
class AckSummary:
    accepted: int = 0
    rejected: int = 0
    accepted_charge: Decimal = Decimal(0)
    rejected_charge: Decimal = Decimal(0)
    rejected_claim_ids: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.accepted + self.rejected


def summarize(statuses: Iterable[ClaimStatus]) -> AckSummary:
    """Accepted vs rejected counts and charges (rejected ids kept for follow-up)."""
    out = AckSummary()
    for s in statuses:
        charge = s.charge if s.charge is not None else Decimal(0)
        if s.accepted:
            out.accepted += 1
            out.accepted_charge += charge
        else:
            out.rejected += 1
            out.rejected_charge += charge
            out.rejected_claim_ids.append(s.claim_id)
    return out


class Parser277CA:
    """Streaming 277CA reader; see the module docstring."""

    def __init__(self, source: str | os.PathLike[str] | bytes | BinaryIO, name: str | None = None) -> None:
        self.reader = SegmentReader(source, name)
        self.name = self.reader.name
        self.levels: list[LevelStatus] = []
        self.header = TransactionInfo()

    @property
    def findings(self) -> list[Finding]:
        return self.reader.findings

    def claims(self) -> Iterator[ClaimStatus]:
        ctx = _Ctx(self.name, ":")
        st: Segment | None = None
        level = ""               # HL03 of the current HL: 20, 21, 19, PT
        loop = ""                # '2100' (NM1) or '2200' (after TRN)
        receiver: LevelStatus | None = None
        provider: LevelStatus | None = None
        current_level: LevelStatus | None = None
        patient: Segment | None = None
        claim_segs: list[Segment] | None = None
        lines: list[ServiceStatus] = []
        line_segs: list[Segment] | None = None
        info = self.header

        def make_claim() -> ClaimStatus:
            nonlocal claim_segs, lines, line_segs
            assert claim_segs is not None
            if line_segs is not None:
                lines.append(ServiceStatus(line_segs, ctx))
                line_segs = None
            claim = ClaimStatus(claim_segs, lines, transaction=info, receiver=receiver, provider=provider,
                                patient_segment=patient, ctx=ctx)
            claim_segs = None
            lines = []
            return claim

        for seg in self.reader:
            sid = seg.elements[0]
            if sid == "ISA":
                d = self.reader.delimiters
                assert d is not None
                ctx = _Ctx(self.name, d.component)
                continue
            if sid == "GS":
                check_transaction_type(seg, self.name, **_277CA)
                continue
            if sid == "ST":
                check_transaction_type(seg, self.name, **_277CA)
                st = seg
                info = TransactionInfo(control_number=seg.get(2))
                self.header = info
                level = loop = ""
                receiver = provider = current_level = None
                patient = None
                continue
            if sid in ("GE", "IEA", "TA1"):
                continue
            if st is None:
                raise ctx.err(seg, "segment outside a transaction set")
            if sid == "SE":
                if claim_segs is not None:
                    yield make_claim()
                st = None
                continue
            if sid == "BHT":
                info.reference = seg.get(3)
                info.date = parse_date(seg.get(4))
                continue
            if sid == "HL":
                if claim_segs is not None:
                    yield make_claim()
                level = seg.get(3)
                loop = ""
                if level not in ("20", "21", "19", "PT"):
                    raise ctx.err(seg, f"HL03 level code {level!r} is not 20, 21, 19 or PT in a 277CA", "HL03")
                current_level = None
                if level == "21":
                    provider = None
                if level == "PT":
                    patient = None
                continue
            if level == "":
                raise ctx.err(seg, f"{sid} before the first HL")
            if sid == "NM1":
                if claim_segs is not None:
                    yield make_claim()
                loop = "2100"
                if level == "20":
                    info.payer_name = seg.get(3)
                    info.payer_id = seg.get(9)
                elif level in ("21", "19"):
                    current_level = LevelStatus("receiver" if level == "21" else "provider", seg.get(9),
                                                seg.get(8), "", segment_number=seg.number)
                    self.levels.append(current_level)
                    if level == "21":
                        receiver = current_level
                    else:
                        provider = current_level
                else:
                    patient = seg
                continue
            if sid == "TRN":
                if claim_segs is not None:
                    yield make_claim()
                loop = "2200"
                if level == "PT":
                    claim_segs = [seg]
                elif level == "20":
                    info.payer_trace = seg.get(2)
                elif current_level is not None:
                    current_level.trace = seg.get(2)
                continue
            if claim_segs is not None:
                if sid == "SVC":
                    if line_segs is not None:
                        lines.append(ServiceStatus(line_segs, ctx))
                    line_segs = [seg]
                elif line_segs is not None:
                    line_segs.append(seg)
                else:
                    claim_segs.append(seg)
                continue
            if loop != "2200":
                raise ctx.err(seg, f"unexpected {sid} segment in loop {loop or 'HL'} of a 277CA")
            if level == "20":
                if sid == "DTP" and seg.get(1) == "050":
                    info.received_date = parse_date(seg.get(3))
                elif sid == "DTP" and seg.get(1) == "009":
                    info.process_date = parse_date(seg.get(3))
                continue
            if current_level is None:
                raise ctx.err(seg, f"unexpected {sid} segment in a 277CA")
            if sid == "STC":
                current_level.statuses.append(ctx.stc(seg))
            elif sid == "QTY":
                q = ctx.amount(seg, 2)
                if seg.get(1) in ("90", "QA"):
                    current_level.accepted_quantity = q
                elif seg.get(1) in ("AA", "QC"):
                    current_level.rejected_quantity = q
            elif sid == "AMT":
                a = ctx.amount(seg, 2)
                if seg.get(1) == "YU":
                    current_level.accepted_amount = a
                elif seg.get(1) == "YY":
                    current_level.rejected_amount = a


def read_277ca(source: str | os.PathLike[str] | bytes | BinaryIO,
               name: str | None = None) -> Iterator[ClaimStatus]:
    """Stream the claim acknowledgments of a 277CA file."""
    return Parser277CA(source, name).claims()
