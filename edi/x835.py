"""835 (005010X221A1) health care claim payment/advice: models, streaming parser, balancing.

Public API
==========

``Parser835(source, name=None)``
    ``source`` is a path, ``bytes`` or a binary file object; ``name`` is used in errors.
    :meth:`Parser835.events` yields, in file order:

    * :class:`~edi.x837.Envelope` for ISA, GS, SE, GE, IEA (and TA1) segments;
    * :class:`RemitHeader` once per transaction set (ST, BPR, TRN, CUR, REF, DTM, loops
      1000A payer and 1000B payee): ``total_payment``, ``payment_method``,
      ``payment_date``, ``trace_number``, ``payer_name``, ``payer_id``, ``payee_npi``...;
    * :class:`ClaimGroup` for each LX header number (with its TS3/TS2 summaries);
    * :class:`ClaimPayment` for each CLP (loop 2100) with its service lines
      (``.lines: list[ServicePayment]``, loop 2110), claim-level ``.adjustments``
      (CAS expanded into :class:`Adjustment`), ``.remarks`` (MOA/MIA remark codes as
      :class:`Remark`), ``.header`` (the :class:`RemitHeader`) and ``.group``;
    * :class:`RemitTrailer` once per transaction set, after the last claim: the PLB
      provider adjustments (``.provider_adjustments: list[ProviderAdjustment]``) and the
      transaction-level balance (``.claims_paid``, ``.plb_total``, ``.balance_findings``).

    :meth:`Parser835.claims` yields only the :class:`ClaimPayment` objects.  Only the
    current claim is held in memory, so memory is flat in the number of claims.

    Every segment read is kept on exactly one event (``.segments`` of the envelope,
    header, group and trailer; :meth:`ClaimPayment.all_segments` for a claim and its
    lines), so :func:`write_events_835` reproduces the input byte for byte.

Balancing (remits-reference.md section 1), computed while parsing:

* ``line``:        SVC02 - sum(line CAS) = SVC03
* ``claim``:       CLP03 - sum(claim CAS + all line CAS) = CLP04
* ``transaction``: sum(CLP04) - sum(PLB amounts) = BPR02

A failure is a :class:`BalanceFinding` (rule, claim id, line, expected, actual,
difference, segment number and the amounts involved) on ``ClaimPayment.balance_findings``
/ ``ServicePayment.balance_findings`` / ``RemitTrailer.balance_findings``; the parser
also collects them in ``Parser835.balance_findings``.  Reversals (CLP02 = 22) carry
negated amounts and balance under the same rules.

Readable-but-wrong data (a missing required amount, a reversal with positive amounts, an
unknown CAS group) is recorded as :class:`~edi.errors.Finding` in ``.problems``.  Input
that cannot be read as an 835 raises :class:`~edi.errors.X12Error` (a malformed amount,
a segment out of place) or :class:`~edi.errors.WrongTransactionError` (GS08 other than
005010X221A1, ST01 other than 835), naming the file, segment number, id and element.
Messages and ``repr`` never carry patient names or member ids.

Convenience: :func:`iter_claim_payments`, :func:`check_balance` (all balance findings of
a file), :func:`write_events_835`.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, BinaryIO

from edi.errors import Finding, X12Error
from edi.reader import CHUNK_SIZE, Delimiters, Segment, SegmentReader, check_transaction_type, write_segments
from edi.x837 import Envelope, parse_date

IMPLEMENTATION_835 = "005010X221A1"
ACCEPTED_835 = ("005010X221",)      # the base guide without the A1 errata: read as A1, with a warning
_835: dict[str, str] = {"functional_id": "HP", "st01": "835", "implementation": IMPLEMENTATION_835,
                        "label": "835"}
ZERO = Decimal("0")
_AMOUNT = re.compile(r"-?(?:\d+\.?\d*|\.\d+)\Z")
#: Amounts already read (a Decimal is immutable, so one object serves every equal text); bounded.
_AMOUNTS: dict[str, Decimal] = {}
# C003-01 product/service id qualifiers followed by a non-alphanumeric separator.
_QUALIFIED = re.compile(r"(AD|ER|HC|HP|IV|N4|N6|NU|UI|WK)([^A-Za-z0-9 ])[A-Za-z0-9]")

#: CLP02 claim status codes (short descriptions of our own).
CLAIM_STATUS: dict[str, str] = {
    "1": "processed as primary",
    "2": "processed as secondary",
    "3": "processed as tertiary",
    "4": "denied",
    "19": "processed as primary, forwarded to additional payer(s)",
    "20": "processed as secondary, forwarded to additional payer(s)",
    "21": "processed as tertiary, forwarded to additional payer(s)",
    "22": "reversal of previous payment",
    "23": "not our claim, forwarded to additional payer(s)",
    "25": "predetermination pricing only, no payment",
}

#: CAS01 claim adjustment group codes.  CR is not used in 5010 but still read.
ADJUSTMENT_GROUPS: dict[str, str] = {
    "CO": "contractual obligation",
    "PR": "patient responsibility",
    "OA": "other adjustment",
    "PI": "payer initiated reduction",
    "CR": "correction and reversal (not used in 5010)",
}

#: PLB03-1 provider adjustment reason codes most often met (short descriptions).
PLB_REASONS: dict[str, str] = {
    "WO": "overpayment recovery",
    "FB": "forwarding balance",
    "L6": "interest owed",
    "J1": "non-reimbursable",
    "72": "authorized return",
    "CS": "adjustment",
    "CV": "capital passthru",
    "AP": "acceleration of benefits",
    "B2": "rebate",
    "B3": "recovery allowance",
    "BD": "bad debt adjustment",
    "BN": "bonus",
    "C5": "temporary allowance",
    "CR": "capitation interest",
    "CT": "capitation payment",
    "CW": "certified registered nurse anesthetist passthru",
    "DM": "direct medical education passthru",
    "E3": "withholding",
    "FC": "fund allocation",
    "GO": "graduate medical education passthru",
    "HM": "hemophilia clotting factor supplement",
    "IP": "incentive premium payment",
    "IR": "internal revenue service withholding",
    "IS": "interim settlement",
    "L3": "penalty",
    "LE": "levy",
    "LS": "lump sum",
    "OA": "organ acquisition passthru",
    "OB": "offset for affiliated providers",
    "PI": "periodic interim payment",
    "PL": "payment final",
    "RA": "retro-activity adjustment",
    "RE": "return on equity",
    "SL": "student loan repayment",
    "TL": "third party liability",
    "WU": "unspecified recovery",
    "50": "late charge",
    "51": "interest penalty charge",
    "90": "early payment allowance",
    "AH": "origination fee",
    "AM": "applied to borrower's account",
}


# ------------------------------------------------------------------------------------------
# Small value objects
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Adjustment:
    """One CAS reason/amount/quantity triplet with its group (CO, PR, OA, PI, CR).

    ``amount`` is signed as sent (reversals and some OA adjustments are negative).
    """

    group: str
    reason: str
    amount: Decimal
    quantity: Decimal | None = None
    segment_number: int = 0

    @property
    def code(self) -> str:
        """``group-reason``, e.g. ``CO-45``."""
        return f"{self.group}-{self.reason}"

    def as_dict(self) -> dict[str, object]:
        return {"group": self.group, "reason": self.reason, "amount": str(self.amount),
                "quantity": None if self.quantity is None else str(self.quantity)}


@dataclass(frozen=True, slots=True)
class Remark:
    """A remark code: ``source`` is MOA, MIA or LQ; ``qualifier`` is LQ01 (HE = RARC, RX = NCPDP)
    or the MOA/MIA element (e.g. ``MOA03``)."""

    code: str
    source: str
    qualifier: str = "HE"
    segment_number: int = 0

    @property
    def is_rarc(self) -> bool:
        return self.source != "LQ" or self.qualifier == "HE"

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "source": self.source, "qualifier": self.qualifier}


@dataclass(frozen=True, slots=True)
class ProviderAdjustment:
    """One PLB reason/amount pair.  A positive amount reduces the payment."""

    provider_id: str
    fiscal_period_date: dt.date | None
    reason: str
    reference: str
    amount: Decimal
    segment_number: int = 0

    def as_dict(self) -> dict[str, object]:
        return {"provider_id": self.provider_id,
                "fiscal_period_date": self.fiscal_period_date.isoformat() if self.fiscal_period_date else None,
                "reason": self.reason, "reference": self.reference, "amount": str(self.amount)}


@dataclass(frozen=True, slots=True)
class BalanceFinding:
    """A failed 835 balancing rule.

    ``expected`` is what the rule computes from the parts (SVC02 - CAS, CLP03 - CAS,
    sum(CLP04) - PLB); ``actual`` is the amount the payer reported (SVC03, CLP04, BPR02);
    ``difference`` = actual - expected.  ``amounts`` names every amount involved.
    ``line_number`` is the 1-based position of the SVC in its claim (``None`` for claim
    and transaction rules); ``line_control_number`` the REF*6R we sent, when present.
    """

    rule: str  # 'line' | 'claim' | 'transaction'
    claim_id: str | None
    line_number: int | None
    expected: Decimal
    actual: Decimal
    difference: Decimal
    segment_number: int
    segment_id: str
    amounts: dict[str, Decimal] = field(default_factory=dict)
    line_control_number: str = ""
    file: str | None = None

    @property
    def message(self) -> str:
        parts = ", ".join(f"{k} {v}" for k, v in self.amounts.items())
        if self.rule == "line":
            what = f"service line {self.line_number} of claim {self.claim_id}"
            rule = "SVC02 - line CAS = SVC03"
        elif self.rule == "claim":
            what = f"claim {self.claim_id}"
            rule = "CLP03 - (claim CAS + line CAS) = CLP04"
        else:
            what = "transaction"
            rule = "sum CLP04 - sum PLB = BPR02"
        return (f"{what} does not balance ({rule}): expected {self.expected}, reported {self.actual}, "
                f"difference {self.difference} ({parts})")

    def as_finding(self) -> Finding:
        element = {"line": "SVC03", "claim": "CLP04", "transaction": "BPR02"}[self.rule]
        return Finding(self.segment_number, self.segment_id, element, self.message, code="balance",
                       file=self.file)

    def format(self) -> str:
        return self.as_finding().format()

    def as_dict(self) -> dict[str, object]:
        return {"rule": self.rule, "claim_id": self.claim_id, "line_number": self.line_number,
                "line_control_number": self.line_control_number or None,
                "expected": str(self.expected), "actual": str(self.actual),
                "difference": str(self.difference), "segment_number": self.segment_number,
                "segment_id": self.segment_id, "amounts": {k: str(v) for k, v in self.amounts.items()},
                "message": self.message}


# ------------------------------------------------------------------------------------------
# Element helpers
# ------------------------------------------------------------------------------------------


class _Ctx:
    """What element parsing needs: file name and component separator."""

    __slots__ = ("component", "name")

    def __init__(self, name: str, component: str) -> None:
        self.name = name
        self.component = component

    def error(self, seg: Segment, message: str, element: str | None = None,
              cls: type[X12Error] = X12Error) -> X12Error:
        return cls(message, file=self.name, segment_number=seg.number, segment_id=seg.id,
                   element=element, offset=seg.offset)

    def amount(self, seg: Segment, index: int, problems: list[Finding] | None = None,
               what: str = "amount") -> Decimal | None:
        """Element ``index`` as Decimal; None when empty (a finding when ``problems`` is given,
        i.e. the amount is required).  A malformed amount raises X12Error."""
        elements = seg.elements
        value = elements[index] if index < len(elements) else ""
        known = _AMOUNTS.get(value)
        if known is not None:
            return known
        if value and _AMOUNT.match(value) is not None:
            if len(_AMOUNTS) > 50_000:
                _AMOUNTS.clear()
            d = _AMOUNTS[value] = Decimal(value)
            return d
        element = f"{elements[0]}{index:02d}"
        if not value:
            if problems is not None:
                problems.append(Finding(seg.number, seg.id, element, f"{what} is missing", file=self.name))
            return None
        raise self.error(seg, f"{what} is not a number", element)

    def composite(self, value: str) -> list[str]:
        return value.split(self.component) if value else []

    def procedure(self, seg: Segment, index: int, problems: list[Finding]) -> list[str]:
        """A C003 procedure composite (SVC01, SVC06).  Some payers use another component
        separator than ISA16 declares (``HC>99213`` with ISA16 ``:``); when the composite
        does not split but starts with a product/service qualifier followed by a
        punctuation character, that character is used and a warning recorded."""
        value = seg.get(index)
        if not value:
            return []
        if self.component not in value:
            m = _QUALIFIED.match(value)
            if m is not None:
                problems.append(Finding(
                    seg.number, seg.id, f"{seg.id}{index:02d}",
                    f"composite uses {m.group(2)!r} as component separator, ISA16 declares {self.component!r}",
                    severity="warning", file=self.name))
                return value.split(m.group(2))
        return value.split(self.component)


def _find(segments: list[Segment], sid: str, qualifier: str | None = None) -> Segment | None:
    for s in segments:
        if s.elements[0] == sid and (qualifier is None or s.get(1) == qualifier):
            return s
    return None


def _expand_cas(seg: Segment, ctx: _Ctx, problems: list[Finding]) -> list[Adjustment]:
    group = seg.get(1)
    if group not in ADJUSTMENT_GROUPS:
        problems.append(Finding(seg.number, "CAS", "CAS01",
                                f"adjustment group {group!r} is not CO, PR, OA, PI or CR", file=ctx.name))
    out: list[Adjustment] = []
    elements = seg.elements
    n = len(elements)
    if n > 20:
        problems.append(Finding(seg.number, "CAS", "CAS19",
                                "CAS has more than six reason/amount/quantity triplets (19 elements)",
                                file=ctx.name))
    for r in range(2, min(n, 20), 3):
        reason = elements[r]
        raw_amount = elements[r + 1] if r + 1 < n else ""
        if not reason and not raw_amount:
            if r + 2 < n and elements[r + 2]:
                problems.append(Finding(seg.number, "CAS", f"CAS{r + 2:02d}", "quantity without reason code",
                                        file=ctx.name))
            continue
        if not reason:
            problems.append(Finding(seg.number, "CAS", f"CAS{r:02d}", "adjustment amount without reason code",
                                    file=ctx.name))
        amount = ctx.amount(seg, r + 1, problems, "adjustment amount")
        quantity = ctx.amount(seg, r + 2, None, "adjustment quantity") if r + 2 < n and elements[r + 2] else None
        out.append(Adjustment(group, reason, amount if amount is not None else ZERO, quantity, seg.number))
    return out


def _sum(adjustments: Iterable[Adjustment]) -> Decimal:
    total = ZERO
    for a in adjustments:
        total += a.amount
    return total


# ------------------------------------------------------------------------------------------
# Events
# ------------------------------------------------------------------------------------------


class RemitHeader:
    """ST, BPR, TRN, CUR, REF, DTM and loops 1000A (payer) / 1000B (payee) of one 835."""

    __slots__ = (
        "credit_debit",
        "gs",
        "handling_code",
        "isa",
        "name",
        "payment_date",
        "payment_format",
        "payment_method",
        "problems",
        "segments",
        "total_payment",
        "trace_number",
        "trace_payer_id",
    )

    def __init__(self, segments: list[Segment], isa: Segment | None, gs: Segment | None, ctx: _Ctx) -> None:
        self.segments = segments
        self.isa = isa
        self.gs = gs
        self.name = ctx.name
        self.problems: list[Finding] = []
        bpr = _find(segments, "BPR")
        if bpr is None:
            st = segments[0]
            raise ctx.error(st, "835 has no BPR (financial information) segment", None)
        self.handling_code = bpr.get(1)
        self.total_payment = ctx.amount(bpr, 2, self.problems, "total payment")
        self.credit_debit = bpr.get(3)
        self.payment_method = bpr.get(4)
        self.payment_format = bpr.get(5)
        self.payment_date = parse_date(bpr.get(16))
        if bpr.get(16) and self.payment_date is None:
            self.problems.append(Finding(bpr.number, "BPR", "BPR16", "payment date is not a valid date",
                                         file=ctx.name))
        trn = _find(segments, "TRN")
        if trn is None:
            self.problems.append(Finding(bpr.number, "BPR", None, "835 has no TRN (reassociation trace) segment",
                                         file=ctx.name))
        self.trace_number = trn.get(2) if trn is not None else ""
        self.trace_payer_id = trn.get(3) if trn is not None else ""

    # -- generic lookups ------------------------------------------------------------------
    @property
    def st(self) -> Segment:
        return self.segments[0]

    @property
    def bpr(self) -> Segment:
        s = _find(self.segments, "BPR")
        assert s is not None
        return s

    @property
    def control_number(self) -> str:
        return self.segments[0].get(2)

    def loop(self, n101: str) -> list[Segment]:
        """The segments of the 1000 loop that starts with N1*<n101> (PR payer, PE payee)."""
        out: list[Segment] = []
        inside = False
        for s in self.segments:
            if s.elements[0] == "N1":
                inside = s.get(1) == n101
            if inside:
                out.append(s)
        return out

    def ref(self, qualifier: str) -> str:
        """Header REF before the 1000 loops: EV receiver id, F2 version, ..."""
        for s in self.segments:
            if s.elements[0] == "N1":
                break
            if s.elements[0] == "REF" and s.get(1) == qualifier:
                return s.get(2)
        return ""

    def date(self, qualifier: str) -> dt.date | None:
        s = _find(self.segments, "DTM", qualifier)
        return parse_date(s.get(2)) if s is not None else None

    # -- header fields --------------------------------------------------------------------
    @property
    def production_date(self) -> dt.date | None:
        """DTM*405."""
        return self.date("405")

    @property
    def currency(self) -> str:
        s = _find(self.segments, "CUR")
        return s.get(2) if s is not None else ""

    @property
    def receiver_id(self) -> str:
        return self.ref("EV")

    @property
    def payer_name(self) -> str:
        s = _find(self.segments, "N1", "PR")
        return s.get(2) if s is not None else ""

    @property
    def payer_id(self) -> str:
        """Payer id: REF*2U in 1000A, else N1*PR N104, else TRN03 (without a leading '1')."""
        loop = self.loop("PR")
        for s in loop:
            if s.elements[0] == "REF" and s.get(1) == "2U":
                return s.get(2)
        if loop and loop[0].get(4):
            return loop[0].get(4)
        tid = self.trace_payer_id
        return tid[1:] if len(tid) == 10 and tid[0] == "1" else tid

    def payer_ref(self, qualifier: str) -> str:
        for s in self.loop("PR"):
            if s.elements[0] == "REF" and s.get(1) == qualifier:
                return s.get(2)
        return ""

    @property
    def payer_contacts(self) -> list[Segment]:
        """PER segments of 1000A (CX business contact, BL technical, IC web site)."""
        return [s for s in self.loop("PR") if s.elements[0] == "PER"]

    @property
    def payee_name(self) -> str:
        s = _find(self.segments, "N1", "PE")
        return s.get(2) if s is not None else ""

    @property
    def payee_id(self) -> tuple[str, str]:
        """(N103 qualifier, N104 id) of the payee: XX NPI, FI TIN, PI/XV payer-assigned id."""
        s = _find(self.segments, "N1", "PE")
        return (s.get(3), s.get(4)) if s is not None else ("", "")

    @property
    def payee_npi(self) -> str:
        q, v = self.payee_id
        return v if q == "XX" else ""

    @property
    def payee_tin(self) -> str:
        """REF*TJ in 1000B, else N104 when N103 = FI."""
        for s in self.loop("PE"):
            if s.elements[0] == "REF" and s.get(1) == "TJ":
                return s.get(2)
        q, v = self.payee_id
        return v if q == "FI" else ""

    def payee_ref(self, qualifier: str) -> str:
        for s in self.loop("PE"):
            if s.elements[0] == "REF" and s.get(1) == qualifier:
                return s.get(2)
        return ""

    def as_json(self) -> dict[str, object]:
        return {
            "control_number": self.control_number,
            "handling_code": self.handling_code,
            "total_payment": None if self.total_payment is None else str(self.total_payment),
            "credit_debit": self.credit_debit,
            "payment_method": self.payment_method,
            "payment_format": self.payment_format,
            "payment_date": self.payment_date.isoformat() if self.payment_date else None,
            "trace_number": self.trace_number,
            "trace_payer_id": self.trace_payer_id,
            "production_date": self.production_date.isoformat() if self.production_date else None,
            "currency": self.currency or None,
            "payer": {"name": self.payer_name, "id": self.payer_id},
            "payee": {"name": self.payee_name, "npi": self.payee_npi or None, "tin": self.payee_tin or None},
        }

    def __repr__(self) -> str:
        return f"<RemitHeader {self.control_number} trace={self.trace_number} payment={self.total_payment}>"


class ClaimGroup:
    """Loop 2000 header number: LX with its TS3 / TS2 provider summaries."""

    __slots__ = ("segments",)

    def __init__(self, segments: list[Segment]) -> None:
        self.segments = segments

    @property
    def number(self) -> str:
        return self.segments[0].get(1)

    @property
    def ts3(self) -> Segment | None:
        return _find(self.segments, "TS3")

    @property
    def ts2(self) -> Segment | None:
        return _find(self.segments, "TS2")


class ServicePayment:
    """Loop 2110: one SVC with its dates, adjustments, references, amounts and remarks."""

    __slots__ = (
        "adjustments", "balance_findings", "charge", "code", "description", "index", "modifiers",
        "original_code", "original_modifiers", "original_qualifier", "original_units", "paid",
        "problems", "qualifier", "remarks", "revenue_code", "segments", "units",
    )

    def __init__(self, segments: list[Segment], index: int, ctx: _Ctx) -> None:
        self.segments = segments
        self.index = index
        self.problems: list[Finding] = []
        self.balance_findings: list[BalanceFinding] = []
        svc = segments[0]
        comp = ctx.procedure(svc, 1, self.problems)
        self.qualifier = comp[0] if comp else ""
        self.code = comp[1] if len(comp) > 1 else ""
        self.modifiers = [m for m in comp[2:6] if m]
        self.description = comp[6] if len(comp) > 6 else ""
        if not self.code:
            self.problems.append(Finding(svc.number, "SVC", "SVC01-2",
                                         "SVC01 has no procedure code (malformed composite)", file=ctx.name))
        self.charge = ctx.amount(svc, 2, self.problems, "line charge")
        self.paid = ctx.amount(svc, 3, self.problems, "line payment")
        self.revenue_code = svc.get(4)
        self.units = ctx.amount(svc, 5, None, "units of service paid")
        orig = ctx.procedure(svc, 6, self.problems)
        self.original_qualifier = orig[0] if orig else ""
        self.original_code = orig[1] if len(orig) > 1 else ""
        self.original_modifiers = [m for m in orig[2:6] if m]
        self.original_units = ctx.amount(svc, 7, None, "original units of service")
        self.adjustments: list[Adjustment] = []
        self.remarks: list[Remark] = []
        for s in segments:
            sid = s.elements[0]
            if sid == "CAS":
                self.adjustments.extend(_expand_cas(s, ctx, self.problems))
            elif sid == "LQ":
                self.remarks.append(Remark(s.get(2), "LQ", s.get(1), s.number))
            elif sid in ("AMT", "QTY"):
                ctx.amount(s, 2, self.problems, "amount" if sid == "AMT" else "quantity")

    # -- balancing ------------------------------------------------------------------------
    def check_balance(self, claim_id: str, name: str) -> BalanceFinding | None:
        charge = self.charge if self.charge is not None else ZERO
        paid = self.paid if self.paid is not None else ZERO
        adj = self.adjustment_total
        expected = charge - adj
        if expected == paid:
            return None
        svc = self.segments[0]
        return BalanceFinding("line", claim_id, self.index, expected, paid, paid - expected, svc.number, "SVC",
                              {"SVC02": charge, "CAS": adj, "SVC03": paid}, self.control_number, name)

    @property
    def line_number(self) -> int:
        """1-based position of the SVC in its claim (same as ``index``)."""
        return self.index

    @property
    def adjustment_total(self) -> Decimal:
        return _sum(self.adjustments)

    @property
    def balanced(self) -> bool:
        return not self.balance_findings

    # -- lookups --------------------------------------------------------------------------
    @property
    def svc(self) -> Segment:
        return self.segments[0]

    def ref(self, qualifier: str) -> str:
        s = _find(self.segments, "REF", qualifier)
        return s.get(2) if s is not None else ""

    def amount(self, qualifier: str) -> Decimal | None:
        s = _find(self.segments, "AMT", qualifier)
        return Decimal(s.get(2)) if s is not None and s.get(2) else None

    def quantity(self, qualifier: str) -> Decimal | None:
        s = _find(self.segments, "QTY", qualifier)
        return Decimal(s.get(2)) if s is not None and s.get(2) else None

    def date(self, qualifier: str) -> dt.date | None:
        s = _find(self.segments, "DTM", qualifier)
        return parse_date(s.get(2)) if s is not None else None

    @property
    def control_number(self) -> str:
        """REF*6R line item control number: the 2400 REF*6R we sent in the 837P."""
        return self.ref("6R")

    @property
    def allowed(self) -> Decimal | None:
        """AMT*B6 allowed amount (informational, not part of balancing)."""
        return self.amount("B6")

    @property
    def service_date(self) -> dt.date | None:
        """DTM*472, else the period start DTM*150."""
        return self.date("472") or self.date("150")

    @property
    def period(self) -> tuple[dt.date | None, dt.date | None]:
        """(DTM*150, DTM*151) service period."""
        return self.date("150"), self.date("151")

    @property
    def paid_units(self) -> Decimal:
        """SVC05, which defaults to 1 when not sent."""
        return self.units if self.units is not None else Decimal(1)

    @property
    def rarcs(self) -> list[str]:
        """Every LQ*HE remark code on the line, in order."""
        return [r.code for r in self.remarks if r.qualifier == "HE"]

    @property
    def rendering_provider(self) -> tuple[str, str]:
        """(qualifier, id) of a line-level REF for the rendering provider (HPI NPI, 0B, 1G, ...)."""
        for s in self.segments:
            if s.elements[0] == "REF" and s.get(1) in ("HPI", "0B", "1G", "1A", "1B", "1C", "1D", "1H", "1J",
                                                         "D3", "G2", "LU", "SY", "TJ"):
                return s.get(1), s.get(2)
        return "", ""

    def as_json(self) -> dict[str, object]:
        start, end = self.period
        return {
            "line_number": self.index,
            "control_number": self.control_number or None,
            "qualifier": self.qualifier,
            "code": self.code,
            "modifiers": self.modifiers,
            "original_code": self.original_code or None,
            "original_modifiers": self.original_modifiers,
            "charge": _s(self.charge),
            "paid": _s(self.paid),
            "allowed": _s(self.allowed),
            "units": _s(self.units),
            "revenue_code": self.revenue_code or None,
            "service_date": _d(self.service_date),
            "period_end": _d(end) if start is not None else None,
            "adjustments": [a.as_dict() for a in self.adjustments],
            "remarks": [r.as_dict() for r in self.remarks],
            "balanced": self.balanced,
        }

    def __repr__(self) -> str:
        return f"<ServicePayment {self.index} {self.code} {'-'.join(self.modifiers)} paid={self.paid}>"


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _d(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


class ClaimPayment:
    """Loop 2100 (CLP ...) with its 2110 service lines.

    ``segments`` holds the claim-level segments (CLP first, up to the first SVC);
    ``lines`` the service lines; :attr:`group` is the LX header number the claim sits
    under (its segments are written by the :class:`ClaimGroup` event).
    ``claim_id`` (CLP01) is our patient control number = the 837P CLM01.
    """

    __slots__ = (
        "adjustments",
        "balance_findings",
        "charge",
        "claim_id",
        "drg_code",
        "facility_code",
        "filing_indicator",
        "frequency_code",
        "group",
        "header",
        "lines",
        "paid",
        "patient_responsibility",
        "payer_claim_number",
        "problems",
        "remarks",
        "segments",
        "status",
    )

    def __init__(self, segments: list[Segment], lines: list[ServicePayment], *, header: RemitHeader,
                 group: ClaimGroup | None, ctx: _Ctx) -> None:
        self.segments = segments
        self.lines = lines
        self.header = header
        self.group = group
        self.problems: list[Finding] = []
        self.balance_findings: list[BalanceFinding] = []
        clp = segments[0]
        self.claim_id = clp.get(1)
        if not self.claim_id:
            self.problems.append(Finding(clp.number, "CLP", "CLP01", "patient control number is missing",
                                         file=ctx.name))
        self.status = clp.get(2)
        if self.status not in CLAIM_STATUS:
            self.problems.append(Finding(clp.number, "CLP", "CLP02",
                                         f"claim status code {self.status!r} is not a valid CLP02 code",
                                         file=ctx.name))
        self.charge = ctx.amount(clp, 3, self.problems, "claim charge")
        self.paid = ctx.amount(clp, 4, self.problems, "claim payment")
        self.patient_responsibility = ctx.amount(clp, 5, None, "patient responsibility")
        self.filing_indicator = clp.get(6)
        self.payer_claim_number = clp.get(7)
        self.facility_code = clp.get(8)
        self.frequency_code = clp.get(9)
        self.drg_code = clp.get(11)
        self.adjustments: list[Adjustment] = []
        self.remarks: list[Remark] = []
        for s in segments:
            sid = s.elements[0]
            if sid == "CAS":
                self.adjustments.extend(_expand_cas(s, ctx, self.problems))
            elif sid == "MOA":
                for i in range(3, 8):
                    if s.get(i):
                        self.remarks.append(Remark(s.get(i), "MOA", f"MOA{i:02d}", s.number))
            elif sid == "MIA":
                for i in (5, 20, 21, 22, 23):
                    if s.get(i):
                        self.remarks.append(Remark(s.get(i), "MIA", f"MIA{i:02d}", s.number))
            elif sid in ("AMT", "QTY"):
                ctx.amount(s, 2, self.problems, "amount" if sid == "AMT" else "quantity")
        if self.status == "22" and (
            (self.charge is not None and self.charge > 0) or (self.paid is not None and self.paid > 0)
        ):
            self.problems.append(Finding(clp.number, "CLP", "CLP03",
                                         "reversal (CLP02 22) with positive amounts: reversal amounts "
                                         "must be the negated original", severity="warning", file=ctx.name))
        for line in lines:
            self.problems.extend(line.problems)
            f = line.check_balance(self.claim_id, ctx.name)
            if f is not None:
                line.balance_findings.append(f)
                self.balance_findings.append(f)
        f = self.check_balance(ctx.name)
        if f is not None:
            self.balance_findings.append(f)

    def check_balance(self, name: str | None = None) -> BalanceFinding | None:
        """The claim rule: CLP03 - (claim CAS + all line CAS) = CLP04."""
        charge = self.charge if self.charge is not None else ZERO
        paid = self.paid if self.paid is not None else ZERO
        claim_adj = _sum(self.adjustments)
        line_adj = ZERO
        for line in self.lines:
            line_adj += line.adjustment_total
        expected = charge - claim_adj - line_adj
        if expected == paid:
            return None
        clp = self.segments[0]
        return BalanceFinding("claim", self.claim_id, None, expected, paid, paid - expected, clp.number, "CLP",
                              {"CLP03": charge, "claim CAS": claim_adj, "line CAS": line_adj, "CLP04": paid},
                              "", name)

    # -- status -----------------------------------------------------------------------------
    @property
    def status_text(self) -> str:
        return CLAIM_STATUS.get(self.status, "unknown status")

    @property
    def is_reversal(self) -> bool:
        return self.status == "22"

    @property
    def is_denied(self) -> bool:
        """CLP02 = 4.  Line-level denials on a paid claim are found via the lines' CAS."""
        return self.status == "4"

    @property
    def processed_as(self) -> str:
        """'primary' / 'secondary' / 'tertiary' for statuses 1/2/3 and 19/20/21, else ''."""
        return {"1": "primary", "19": "primary", "2": "secondary", "20": "secondary",
                "3": "tertiary", "21": "tertiary"}.get(self.status, "")

    @property
    def forwarded(self) -> bool:
        return self.status in ("19", "20", "21", "23")

    @property
    def balanced(self) -> bool:
        return not self.balance_findings

    # -- lookups ----------------------------------------------------------------------------
    @property
    def clp(self) -> Segment:
        return self.segments[0]

    def find(self, sid: str, qualifier: str | None = None) -> Segment | None:
        return _find(self.segments, sid, qualifier)

    def ref(self, qualifier: str) -> str:
        """Claim-level REF: 1L group/policy, EA medical record, F8 original reference, ..."""
        s = _find(self.segments, "REF", qualifier)
        return s.get(2) if s is not None else ""

    def date(self, qualifier: str) -> dt.date | None:
        """Claim-level DTM: 232/233 statement period, 050 received, 036 coverage expiration."""
        s = _find(self.segments, "DTM", qualifier)
        return parse_date(s.get(2)) if s is not None else None

    def amount(self, qualifier: str) -> Decimal | None:
        """Claim-level AMT: AU coverage amount, I interest, D8 discount, ..."""
        s = _find(self.segments, "AMT", qualifier)
        return Decimal(s.get(2)) if s is not None and s.get(2) else None

    def quantity(self, qualifier: str) -> Decimal | None:
        s = _find(self.segments, "QTY", qualifier)
        return Decimal(s.get(2)) if s is not None and s.get(2) else None

    def entity(self, nm101: str) -> Segment | None:
        """The NM1 with this entity code: QC patient, IL insured, 74 corrected insured,
        82 rendering provider, TT crossover carrier, PR corrected priority payer, GB other
        subscriber.  Patient/insured segments are PHI: never log them."""
        return _find(self.segments, "NM1", nm101)

    @property
    def patient_name(self) -> tuple[str, str]:
        """(last, first) from NM1*QC.  PHI: for display to authorised users, never for logs."""
        s = self.entity("QC")
        return (s.get(3), s.get(4)) if s is not None else ("", "")

    @property
    def member_id(self) -> str:
        """The insured's member id: NM1*IL NM109, else NM1*QC NM109 (PHI: never log it)."""
        for code in ("IL", "QC"):
            s = self.entity(code)
            if s is not None and s.get(9):
                return s.get(9)
        return ""

    @property
    def corrected_member_id(self) -> str:
        """NM1*74 NM109: the member id the payer says is correct (PHI: never log it)."""
        s = self.entity("74")
        return s.get(9) if s is not None else ""

    @property
    def rendering_provider(self) -> tuple[str, str]:
        """(NM108 qualifier, NM109 id) of NM1*82; the NPI when the qualifier is XX."""
        s = self.entity("82")
        return (s.get(8), s.get(9)) if s is not None else ("", "")

    @property
    def rendering_npi(self) -> str:
        q, v = self.rendering_provider
        return v if q == "XX" else ""

    @property
    def crossover_payer(self) -> str:
        """Name of the crossover carrier (NM1*TT) when the claim was forwarded."""
        s = self.entity("TT")
        return s.get(3) if s is not None else ""

    @property
    def statement_period(self) -> tuple[dt.date | None, dt.date | None]:
        return self.date("232"), self.date("233")

    @property
    def received_date(self) -> dt.date | None:
        return self.date("050")

    @property
    def service_dates(self) -> list[dt.date]:
        out = {ln.service_date for ln in self.lines if ln.service_date is not None}
        if not out:
            start = self.date("232")
            if start is not None:
                out.add(start)
        return sorted(out)

    @property
    def line_adjustments(self) -> list[Adjustment]:
        return [a for ln in self.lines for a in ln.adjustments]

    @property
    def all_adjustments(self) -> list[Adjustment]:
        """Claim-level and line-level adjustments together."""
        return self.adjustments + self.line_adjustments

    @property
    def all_remarks(self) -> list[Remark]:
        """MOA/MIA remarks and every line LQ."""
        return self.remarks + [r for ln in self.lines for r in ln.remarks]

    def all_segments(self) -> Iterator[Segment]:
        yield from self.segments
        for line in self.lines:
            yield from line.segments

    @property
    def first_segment_number(self) -> int:
        return self.segments[0].number

    def as_json(self) -> dict[str, object]:
        """A JSON-ready dict without PHI (no patient or insured names, no member ids)."""
        start, end = self.statement_period
        q, pid = self.rendering_provider
        return {
            "claim_id": self.claim_id,
            "status": self.status,
            "status_text": self.status_text,
            "charge": _s(self.charge),
            "paid": _s(self.paid),
            "patient_responsibility": _s(self.patient_responsibility),
            "filing_indicator": self.filing_indicator,
            "payer_claim_number": self.payer_claim_number,
            "facility_code": self.facility_code or None,
            "frequency_code": self.frequency_code or None,
            "statement_from": _d(start),
            "statement_to": _d(end),
            "received_date": _d(self.received_date),
            "rendering_provider": {"qualifier": q, "id": pid} if pid else None,
            "payer_id": self.header.payer_id,
            "payer_name": self.header.payer_name,
            "trace_number": self.header.trace_number,
            "payment_date": _d(self.header.payment_date),
            "adjustments": [a.as_dict() for a in self.adjustments],
            "remarks": [r.as_dict() for r in self.remarks],
            "lines": [ln.as_json() for ln in self.lines],
            "balanced": self.balanced,
            "balance_findings": [f.as_dict() for f in self.balance_findings],
            "segment_number": self.first_segment_number,
        }

    def __repr__(self) -> str:
        return f"<ClaimPayment {self.claim_id} status={self.status} paid={self.paid} lines={len(self.lines)}>"


class RemitTrailer:
    """The end of one 835 transaction: PLB segments and the transaction balance.

    ``segments`` holds the PLB segments (possibly none); SE follows as an Envelope.
    """

    __slots__ = ("balance_findings", "claim_count", "claims_paid", "header", "problems",
                 "provider_adjustments", "segments")

    def __init__(self, segments: list[Segment], header: RemitHeader, claims_paid: Decimal, claim_count: int,
                 se: Segment, ctx: _Ctx) -> None:
        self.segments = segments
        self.header = header
        self.claims_paid = claims_paid
        self.claim_count = claim_count
        self.problems: list[Finding] = []
        self.provider_adjustments: list[ProviderAdjustment] = []
        for s in segments:
            provider = s.get(1)
            period = parse_date(s.get(2))
            if not provider:
                self.problems.append(Finding(s.number, "PLB", "PLB01", "provider identifier is missing",
                                             file=ctx.name))
            if period is None:
                self.problems.append(Finding(s.number, "PLB", "PLB02", "fiscal period date is not a valid date",
                                             file=ctx.name))
            for i in range(6):
                r, a = 3 + 2 * i, 4 + 2 * i
                comp = ctx.composite(s.get(r))
                raw = s.get(a)
                if not comp and not raw:
                    continue
                reason = comp[0] if comp else ""
                reference = comp[1] if len(comp) > 1 else ""
                if not reason:
                    self.problems.append(Finding(s.number, "PLB", f"PLB{r:02d}",
                                                 "provider adjustment amount without reason code", file=ctx.name))
                amount = ctx.amount(s, a, self.problems, "provider adjustment amount")
                self.provider_adjustments.append(ProviderAdjustment(
                    provider, period, reason, reference, amount if amount is not None else ZERO, s.number))
        self.balance_findings: list[BalanceFinding] = []
        bpr = header.bpr
        total = header.total_payment if header.total_payment is not None else ZERO
        expected = claims_paid - self.plb_total
        if expected != total:
            self.balance_findings.append(BalanceFinding(
                "transaction", None, None, expected, total, total - expected, bpr.number, "BPR",
                {"sum CLP04": claims_paid, "sum PLB": self.plb_total, "BPR02": total}, "", ctx.name))

    @property
    def plb_total(self) -> Decimal:
        total = ZERO
        for p in self.provider_adjustments:
            total += p.amount
        return total

    @property
    def balanced(self) -> bool:
        return not self.balance_findings

    def as_json(self) -> dict[str, object]:
        return {
            "claim_count": self.claim_count,
            "claims_paid": str(self.claims_paid),
            "plb_total": str(self.plb_total),
            "provider_adjustments": [p.as_dict() for p in self.provider_adjustments],
            "balanced": self.balanced,
            "balance_findings": [f.as_dict() for f in self.balance_findings],
        }

    def __repr__(self) -> str:
        return f"<RemitTrailer claims={self.claim_count} paid={self.claims_paid} plb={self.plb_total}>"


Event835 = Envelope | RemitHeader | ClaimGroup | ClaimPayment | RemitTrailer

MAX_KEPT_BALANCE_FINDINGS = 10_000


class Parser835:
    """Streaming 835 parser; see the module docstring."""

    def __init__(self, source: str | os.PathLike[str] | bytes | BinaryIO, name: str | None = None, *,
                 chunk_size: int = CHUNK_SIZE) -> None:
        self.reader = SegmentReader(source, name, chunk_size=chunk_size)
        self.name = self.reader.name
        #: balance findings of the whole file (kept up to MAX_KEPT_BALANCE_FINDINGS).
        self.balance_findings: list[BalanceFinding] = []
        self.balance_failures = 0
        #: data problems (missing amounts, composite warnings, ...) of the header, claims and
        #: trailers, kept up to MAX_KEPT_BALANCE_FINDINGS; ``problem_count`` counts them all.
        self.problems: list[Finding] = []
        self.problem_count = 0
        self.claim_count = 0
        self.transaction_count = 0

    @property
    def delimiters(self) -> Delimiters:
        assert self.reader.delimiters is not None
        return self.reader.delimiters

    @property
    def findings(self) -> list[Finding]:
        """Envelope findings of the reader (SE01 counts, control numbers)."""
        return self.reader.findings

    @property
    def trailer(self) -> str:
        """Bytes after the last terminator, for byte-exact writing."""
        return self.reader.trailer

    def _err(self, seg: Segment, message: str, element: str | None = None,
             cls: type[X12Error] = X12Error) -> X12Error:
        return cls(message, file=self.name, segment_number=seg.number, segment_id=seg.id,
                   element=element, offset=seg.offset)

    def _note(self, found: list[BalanceFinding], problems: list[Finding]) -> None:
        for f in found:
            self.balance_failures += 1
            if len(self.balance_findings) < MAX_KEPT_BALANCE_FINDINGS:
                self.balance_findings.append(f)
        for p in problems:
            self.problem_count += 1
            if len(self.problems) < MAX_KEPT_BALANCE_FINDINGS:
                self.problems.append(p)

    def claims(self) -> Iterator[ClaimPayment]:
        for ev in self.events():
            if type(ev) is ClaimPayment:
                yield ev

    def events(self) -> Iterator[Event835]:
        isa: Segment | None = None
        gs: Segment | None = None
        ctx = _Ctx(self.name, ":")
        header: RemitHeader | None = None
        header_segs: list[Segment] | None = None
        group: ClaimGroup | None = None
        group_segs: list[Segment] | None = None
        claim_segs: list[Segment] | None = None
        lines: list[ServicePayment] = []
        line_segs: list[Segment] | None = None
        plb_segs: list[Segment] | None = None
        claims_paid = ZERO
        claim_count = 0

        def make_claim() -> ClaimPayment:
            nonlocal claim_segs, lines, line_segs, claims_paid, claim_count
            assert claim_segs is not None and header is not None
            if line_segs is not None:
                lines.append(ServicePayment(line_segs, len(lines) + 1, ctx))
                line_segs = None
            claim = ClaimPayment(claim_segs, lines, header=header, group=group, ctx=ctx)
            claim_segs = None
            lines = []
            if claim.paid is not None:
                claims_paid += claim.paid
            claim_count += 1
            self.claim_count += 1
            self._note(claim.balance_findings, claim.problems)
            return claim

        for seg in self.reader:
            sid = seg.elements[0]
            if header_segs is not None:
                if sid in ("LX", "CLP", "PLB", "SE"):
                    header = RemitHeader(header_segs, isa, gs, ctx)
                    header_segs = None
                    self._note([], header.problems)
                    yield header
                else:
                    header_segs.append(seg)
                    continue
            if header is not None:
                # inside the detail of a transaction set
                if sid == "SE":
                    if claim_segs is not None:
                        yield make_claim()
                    if group_segs is not None:
                        yield ClaimGroup(group_segs)
                        group_segs = None
                    trailer = RemitTrailer(plb_segs or [], header, claims_paid, claim_count, seg, ctx)
                    self._note(trailer.balance_findings, trailer.problems)
                    yield trailer
                    header = None
                    group = None
                    plb_segs = None
                    yield Envelope(seg)
                    continue
                if plb_segs is not None:
                    if sid != "PLB":
                        raise self._err(seg, "segment after PLB: PLB must be the last segments before SE")
                    plb_segs.append(seg)
                    continue
                if sid == "PLB":
                    if claim_segs is not None:
                        yield make_claim()
                    if group_segs is not None:
                        yield ClaimGroup(group_segs)
                        group_segs = None
                    plb_segs = [seg]
                    continue
                if sid == "LX":
                    if claim_segs is not None:
                        yield make_claim()
                    if group_segs is not None:
                        yield ClaimGroup(group_segs)
                    group_segs = [seg]
                    continue
                if sid == "CLP":
                    if claim_segs is not None:
                        yield make_claim()
                    if group_segs is not None:
                        group = ClaimGroup(group_segs)
                        group_segs = None
                        yield group
                    claim_segs = [seg]
                    continue
                if claim_segs is not None:
                    if sid == "SVC":
                        if line_segs is not None:
                            lines.append(ServicePayment(line_segs, len(lines) + 1, ctx))
                        line_segs = [seg]
                    elif line_segs is not None:
                        line_segs.append(seg)
                    else:
                        claim_segs.append(seg)
                    continue
                if group_segs is not None and sid in ("TS3", "TS2"):
                    group_segs.append(seg)
                    continue
                raise self._err(seg, f"unexpected {sid} segment in the 835 detail (expected LX, CLP or PLB)")
            if sid == "ISA":
                isa = seg
                d = self.reader.delimiters
                assert d is not None
                ctx = _Ctx(self.name, d.component)
                yield Envelope(seg)
            elif sid == "GS":
                for element, message in check_transaction_type(seg, self.name, accepted=ACCEPTED_835, **_835):
                    self.reader.tolerance(seg.number, "GS", element, message)
                gs = seg
                yield Envelope(seg)
            elif sid == "ST":
                for element, message in check_transaction_type(seg, self.name, accepted=ACCEPTED_835, **_835):
                    self.reader.tolerance(seg.number, "ST", element, message)
                header_segs = [seg]
                claims_paid = ZERO
                claim_count = 0
                group = None
                self.transaction_count += 1
            elif sid in ("GE", "IEA", "TA1"):
                yield Envelope(seg)
            else:
                raise self._err(seg, "unexpected segment outside a transaction set")


def iter_claim_payments(source: str | os.PathLike[str] | bytes | BinaryIO,
                        name: str | None = None) -> Iterator[ClaimPayment]:
    return Parser835(source, name).claims()


def check_balance(source: str | os.PathLike[str] | bytes | BinaryIO,
                  name: str | None = None) -> list[BalanceFinding]:
    """Parse a whole file and return its balance findings (empty when it balances)."""
    parser = Parser835(source, name)
    for _ in parser.events():
        pass
    return parser.balance_findings


# ------------------------------------------------------------------------------------------
# Writing
# ------------------------------------------------------------------------------------------


def event_segments_835(ev: Event835) -> Iterator[Segment]:
    if type(ev) is ClaimPayment:
        yield from ev.all_segments()
    else:
        yield from ev.segments


def write_events_835(events: Iterable[Event835], delimiters: Delimiters, out: IO[bytes],
                     trailer: str = "") -> None:
    """Write 835 events exactly as read: the original form, byte for byte."""
    write_segments((s for ev in events for s in event_segments_835(ev)), delimiters, out, trailer)
