"""999 implementation acknowledgment (005010X231A1) reader; 997 is read the same way.

Public API
==========

``read_999(source, name=None) -> list[FunctionalGroupAck]``
    One :class:`FunctionalGroupAck` per AK1 (usually one per file).  Each ties back to the
    functional group we sent: ``group_control_number`` = AK102 = our GS06,
    ``functional_id`` = AK101 (HC for an 837), ``version`` = AK103 (our GS08).  Its
    ``transactions`` hold one :class:`TransactionSetAck` per AK2: ``control_number`` =
    AK202 = our ST02, ``status`` = IK501 (A accepted, E accepted with errors, M rejected
    (message authentication code failed), P partially accepted, R rejected, W rejected
    (assurance failed), X rejected (content could not be analysed)), the syntax error codes
    (IK502-IK506) and the :class:`SegmentError` details (IK3 with its CTX and
    :class:`ElementError` IK4 entries).  ``status`` of the group is AK901 with AK902-AK904
    counts.

``iter_999(source, name=None) -> Iterator[FunctionalGroupAck]``
    The same, streaming (one group at a time).

``ack_status(groups, group_control_number, st_control_number=None) -> str | None``
    The AK901 / IK501 code acknowledging our GS06 (and ST02), None when not acknowledged.

A 997 (AK3/AK4/AK5) maps onto the same models.  A file that is not a 999/997 raises
:class:`~edi.errors.WrongTransactionError` (GS01 must be FA, ST01 999 or 997); a
broken one raises :class:`~edi.errors.X12Error` naming segment number, id and element.
IK404 (the copy of the bad data element) may hold PHI: it is kept in ``bad_value`` but
never shown by ``repr`` or ``describe()``.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from edi.errors import Finding, WrongTransactionError, X12Error
from edi.reader import Segment, SegmentReader
from edi.x837 import parse_date

IMPLEMENTATION_999 = "005010X231A1"

#: IK501 / AK501 / AK901 acknowledgment codes.
ACK_CODES: dict[str, str] = {
    "A": "accepted",
    "E": "accepted, errors noted",
    "M": "rejected, message authentication code failed",
    "P": "partially accepted, at least one transaction set rejected",
    "R": "rejected",
    "W": "rejected, assurance failed validity tests",
    "X": "rejected, content could not be analyzed",
}
ACCEPTED_CODES = frozenset({"A", "E"})

#: IK304 segment syntax error codes (short descriptions of our own).
SEGMENT_ERRORS: dict[str, str] = {
    "1": "unrecognized segment id",
    "2": "unexpected segment",
    "3": "required segment missing",
    "4": "loop occurs over maximum times",
    "5": "segment exceeds maximum use",
    "6": "segment not in defined transaction set",
    "7": "segment not in proper sequence",
    "8": "segment has data element errors",
    "I4": "implementation 'not used' segment present",
    "I6": "implementation dependent segment missing",
    "I7": "implementation loop occurs under minimum times",
    "I8": "implementation segment below minimum use",
    "I9": "implementation dependent 'not used' segment present",
}

#: IK403 element syntax error codes (short descriptions of our own).
ELEMENT_ERRORS: dict[str, str] = {
    "1": "required data element missing",
    "2": "conditional required data element missing",
    "3": "too many data elements",
    "4": "data element too short",
    "5": "data element too long",
    "6": "invalid character in data element",
    "7": "invalid code value",
    "8": "invalid date",
    "9": "invalid time",
    "10": "exclusion condition violated",
    "12": "too many repetitions",
    "13": "too many components",
    "I6": "code value not used in implementation",
    "I9": "implementation dependent data element missing",
    "I10": "implementation 'not used' data element present",
    "I11": "implementation too few repetitions",
    "I12": "implementation pattern match failure",
    "I13": "implementation dependent 'not used' data element present",
}

#: IK5 / AK9 transaction set and functional group syntax error codes.
SET_ERRORS: dict[str, str] = {
    "1": "transaction set not supported",
    "2": "transaction set trailer missing",
    "3": "transaction set control number in header and trailer do not match",
    "4": "number of included segments does not match actual count",
    "5": "one or more segments in error",
    "6": "missing or invalid transaction set identifier",
    "7": "missing or invalid transaction set control number",
    "8": "authentication key name unknown",
    "9": "encryption key name unknown",
    "10": "requested service not available",
    "11": "unknown security recipient",
    "12": "incorrect message length",
    "13": "message authentication code failed",
    "15": "unknown security originator",
    "16": "syntax error in decrypted text",
    "17": "security not supported",
    "18": "transaction set not in functional group",
    "19": "invalid transaction set implementation convention reference",
    "23": "transaction set control number not unique within the functional group",
    "24": "S3E security end segment missing for S3S security start segment",
    "25": "S3S security start segment missing for S3E security end segment",
    "26": "S4E security end segment missing for S4S security start segment",
    "27": "S4S security start segment missing for S4E security end segment",
    "I5": "implementation one or more segments in error",
    "I6": "implementation convention not supported",
}


@dataclass(frozen=True, slots=True)
class ContextRef:
    """A CTX segment: business unit (``CLM01:<claim id>``) or segment/element context."""

    name: str                 # CTX01-1: SITUATIONAL TRIGGER, CLM01, ...
    reference: str            # CTX01-2: e.g. the claim id for CLM01
    segment_id: str = ""      # CTX02
    segment_position: int | None = None  # CTX03
    loop_id: str = ""         # CTX04
    element_position: str = ""  # CTX05 composite as sent
    segment_number: int = 0


@dataclass(frozen=True, slots=True)
class ElementError:
    """IK4 (AK4 in a 997): an error in one data element of the reported segment."""

    position: int | None          # IK401-1
    component_position: int | None  # IK401-2
    repetition_position: int | None  # IK401-3
    reference_number: str         # IK402 data element reference number
    error_code: str               # IK403
    bad_value: str = field(default="", repr=False)  # IK404: may hold PHI, never printed
    context: tuple[ContextRef, ...] = ()
    segment_number: int = 0

    @property
    def description(self) -> str:
        return ELEMENT_ERRORS.get(self.error_code, "element error")


@dataclass(slots=True)
class SegmentError:
    """IK3 (AK3 in a 997) with its CTX and IK4 entries."""

    segment_id: str       # IK301
    position: int | None  # IK302: position of the segment in our transaction set (ST = 1)
    loop_id: str          # IK303
    error_code: str       # IK304
    context: list[ContextRef] = field(default_factory=list)
    elements: list[ElementError] = field(default_factory=list)
    segment_number: int = 0

    @property
    def description(self) -> str:
        return SEGMENT_ERRORS.get(self.error_code, "segment error")

    @property
    def claim_ids(self) -> list[str]:
        """Claim ids named by business-unit CTX (``CTX*CLM01:<id>``)."""
        return [c.reference for c in self.context if c.name == "CLM01" and c.reference]

    def describe(self) -> str:
        """One line without data values (no PHI)."""
        where = f"{self.segment_id} at position {self.position}" + (f" (loop {self.loop_id})" if self.loop_id else "")
        parts = [f"{where}: {self.description} [{self.error_code}]"]
        for e in self.elements:
            pos = f"{self.segment_id}{e.position:02d}" if e.position is not None else self.segment_id
            if e.component_position is not None:
                pos += f"-{e.component_position}"
            parts.append(f"{pos}: {e.description} [{e.error_code}]")
        return "; ".join(parts)


@dataclass(slots=True)
class TransactionSetAck:
    """AK2 ... IK5: the acknowledgment of one transaction set we sent."""

    transaction_set_id: str     # AK201 (837)
    control_number: str         # AK202 = our ST02
    implementation: str         # AK203 = our ST03
    status: str = ""            # IK501
    error_codes: list[str] = field(default_factory=list)  # IK502-IK506
    segment_errors: list[SegmentError] = field(default_factory=list)
    segment_number: int = 0

    @property
    def accepted(self) -> bool:
        """True for A (accepted) and E (accepted with errors noted)."""
        return self.status in ACCEPTED_CODES

    @property
    def rejected(self) -> bool:
        return not self.accepted

    @property
    def status_text(self) -> str:
        return ACK_CODES.get(self.status, "unknown")

    @property
    def claim_ids(self) -> list[str]:
        """Claim ids named in the errors' CTX*CLM01 (the claims to fix)."""
        out: list[str] = []
        for s in self.segment_errors:
            for cid in s.claim_ids:
                if cid not in out:
                    out.append(cid)
        return out

    def describe(self) -> str:
        head = f"ST {self.transaction_set_id} {self.control_number}: {self.status_text} [{self.status}]"
        codes = [f"{SET_ERRORS.get(c, 'error')} [{c}]" for c in self.error_codes]
        return "; ".join([head, *codes, *(s.describe() for s in self.segment_errors)])


@dataclass(slots=True)
class FunctionalGroupAck:
    """AK1 ... AK9: the acknowledgment of one functional group we sent."""

    functional_id: str          # AK101 (HC)
    group_control_number: str   # AK102 = our GS06
    version: str                # AK103 = our GS08
    transactions: list[TransactionSetAck] = field(default_factory=list)
    status: str = ""            # AK901
    sets_included: int | None = None  # AK902
    sets_received: int | None = None  # AK903
    sets_accepted: int | None = None  # AK904
    error_codes: list[str] = field(default_factory=list)  # AK905-AK909
    ack_type: str = "999"        # ST01 of the acknowledgment
    ack_control_number: str = ""  # ST02 of the acknowledgment
    interchange_control_number: str = ""  # ISA13 of the acknowledgment
    sender_id: str = ""           # GS02 of the acknowledgment (who acknowledges)
    receiver_id: str = ""         # GS03 of the acknowledgment
    date: dt.date | None = None   # GS04 of the acknowledgment
    segment_number: int = 0
    problems: list[Finding] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        """AK901 A or E: the whole group was accepted."""
        return self.status in ACCEPTED_CODES

    @property
    def partially_accepted(self) -> bool:
        return self.status == "P"

    @property
    def rejected(self) -> bool:
        return self.status not in ACCEPTED_CODES and self.status != "P"

    @property
    def status_text(self) -> str:
        return ACK_CODES.get(self.status, "unknown")

    def transaction(self, control_number: str) -> TransactionSetAck | None:
        """The AK2 for our ST02."""
        for t in self.transactions:
            if t.control_number == control_number:
                return t
        return None

    @property
    def accepted_sets(self) -> list[TransactionSetAck]:
        return [t for t in self.transactions if t.accepted]

    @property
    def rejected_sets(self) -> list[TransactionSetAck]:
        return [t for t in self.transactions if not t.accepted]

    def set_status(self, control_number: str) -> str:
        """IK501 of our ST02; when the 999 lists no AK2 for it, the group status applies
        (a 999 may report only the sets in error)."""
        t = self.transaction(control_number)
        if t is not None:
            return t.status
        return "A" if self.status in ("A", "E", "P") else self.status

    def as_json(self) -> dict[str, object]:
        return {
            "functional_id": self.functional_id,
            "group_control_number": self.group_control_number,
            "version": self.version,
            "status": self.status,
            "status_text": self.status_text,
            "sets_included": self.sets_included,
            "sets_received": self.sets_received,
            "sets_accepted": self.sets_accepted,
            "error_codes": self.error_codes,
            "ack_type": self.ack_type,
            "ack_control_number": self.ack_control_number,
            "transactions": [
                {
                    "transaction_set_id": t.transaction_set_id,
                    "control_number": t.control_number,
                    "status": t.status,
                    "accepted": t.accepted,
                    "error_codes": t.error_codes,
                    "claim_ids": t.claim_ids,
                    "segment_errors": [
                        {"segment_id": s.segment_id, "position": s.position, "loop_id": s.loop_id,
                         "error_code": s.error_code, "description": s.description,
                         "claim_ids": s.claim_ids,
                         "elements": [{"position": e.position, "component_position": e.component_position,
                                       "repetition_position": e.repetition_position,
                                       "reference_number": e.reference_number, "error_code": e.error_code,
                                       "description": e.description} for e in s.elements]}
                        for s in t.segment_errors
                    ],
                }
                for t in self.transactions
            ],
        }


# ------------------------------------------------------------------------------------------
# Reading
# ------------------------------------------------------------------------------------------


class _Reader:
    def __init__(self, source: str | os.PathLike[str] | bytes | BinaryIO, name: str | None) -> None:
        self.reader = SegmentReader(source, name)
        self.name = self.reader.name
        self.component = ":"
        self.repetition = "^"

    def err(self, seg: Segment, message: str, element: str | None = None,
            cls: type[X12Error] = X12Error) -> X12Error:
        return cls(message, file=self.name, segment_number=seg.number, segment_id=seg.id, element=element,
                   offset=seg.offset)

    def int_el(self, seg: Segment, index: int, required: bool = False) -> int | None:
        value = seg.get(index)
        if not value:
            if required:
                raise self.err(seg, "required number is missing", f"{seg.id}{index:02d}")
            return None
        if not value.isdigit():
            raise self.err(seg, "not a whole number", f"{seg.id}{index:02d}")
        return int(value)

    def int_comp(self, seg: Segment, value: str, element: str) -> int | None:
        if not value:
            return None
        if not value.isdigit():
            raise self.err(seg, "not a whole number", element)
        return int(value)

    def ctx(self, seg: Segment) -> ContextRef:
        c1 = seg.get(1).split(self.component)
        return ContextRef(c1[0], c1[1] if len(c1) > 1 else "", seg.get(2), self.int_el(seg, 3), seg.get(4),
                          seg.get(5), seg.number)

    def ik4(self, seg: Segment) -> ElementError:
        sid = seg.id
        pos = seg.get(1).split(self.component)
        return ElementError(
            self.int_comp(seg, pos[0], f"{sid}01-1") if pos else None,
            self.int_comp(seg, pos[1], f"{sid}01-2") if len(pos) > 1 else None,
            self.int_comp(seg, pos[2], f"{sid}01-3") if len(pos) > 2 else None,
            seg.get(2), seg.get(3), seg.get(4), (), seg.number)

    def groups(self) -> Iterator[FunctionalGroupAck]:
        isa: Segment | None = None
        gs: Segment | None = None
        st: Segment | None = None
        group: FunctionalGroupAck | None = None
        tset: TransactionSetAck | None = None
        seg_err: SegmentError | None = None
        elem_ctx: list[ContextRef] | None = None
        for seg in self.reader:
            sid = seg.elements[0]
            if sid == "ISA":
                isa = seg
                d = self.reader.delimiters
                assert d is not None
                self.component, self.repetition = d.component, d.repetition
            elif sid == "GS":
                if seg.get(1) != "FA":
                    raise self.err(seg, f"functional group {seg.get(1)!r} is not an acknowledgment (FA)", "GS01",
                                   WrongTransactionError)
                gs = seg
            elif sid == "ST":
                if seg.get(1) not in ("999", "997"):
                    raise self.err(seg, f"transaction set {seg.get(1)} where a 999 was expected", "ST01",
                                   WrongTransactionError)
                st = seg
            elif sid in ("GE", "IEA", "TA1"):
                pass
            elif st is None:
                raise self.err(seg, "segment outside a transaction set")
            elif sid == "AK1":
                if group is not None:
                    raise self.err(seg, "second AK1 in one acknowledgment")
                group = FunctionalGroupAck(
                    seg.get(1), seg.get(2), seg.get(3), ack_type=st.get(1), ack_control_number=st.get(2),
                    interchange_control_number=isa.get(13) if isa is not None else "",
                    sender_id=gs.get(2) if gs is not None else "", receiver_id=gs.get(3) if gs is not None else "",
                    date=parse_date(gs.get(4)) if gs is not None else None, segment_number=seg.number)
                if not seg.get(2):
                    raise self.err(seg, "AK102 group control number is missing", "AK102")
            elif group is None:
                raise self.err(seg, f"{sid} before AK1", None)
            elif sid == "AK2":
                if tset is not None:
                    raise self.err(seg, "AK2 before the IK5 of the previous AK2", None)
                tset = TransactionSetAck(seg.get(1), seg.get(2), seg.get(3), segment_number=seg.number)
                seg_err = None
                elem_ctx = None
            elif sid in ("IK3", "AK3"):
                if tset is None:
                    raise self.err(seg, f"{sid} outside an AK2 loop")
                seg_err = SegmentError(seg.get(1), self.int_el(seg, 2), seg.get(3), seg.get(4),
                                       segment_number=seg.number)
                tset.segment_errors.append(seg_err)
                elem_ctx = None
            elif sid in ("IK4", "AK4"):
                if seg_err is None:
                    raise self.err(seg, f"{sid} outside an {'IK3' if sid == 'IK4' else 'AK3'} loop")
                seg_err.elements.append(self.ik4(seg))
                elem_ctx = []
            elif sid == "CTX":
                if seg_err is None:
                    raise self.err(seg, "CTX outside an IK3 loop")
                ref = self.ctx(seg)
                if elem_ctx is not None and seg_err.elements:
                    last = seg_err.elements[-1]
                    elem_ctx.append(ref)
                    seg_err.elements[-1] = ElementError(
                        last.position, last.component_position, last.repetition_position, last.reference_number,
                        last.error_code, last.bad_value, tuple(elem_ctx), last.segment_number)
                else:
                    seg_err.context.append(ref)
            elif sid in ("IK5", "AK5"):
                if tset is None:
                    raise self.err(seg, f"{sid} without AK2")
                tset.status = seg.get(1)
                if tset.status not in ACK_CODES:
                    raise self.err(seg, f"acknowledgment code {tset.status!r} is not A, E, M, R, W or X",
                                   f"{sid}01")
                tset.error_codes = [c for c in seg.elements[2:7] if c]
                group.transactions.append(tset)
                tset = None
                seg_err = None
                elem_ctx = None
            elif sid == "AK9":
                if tset is not None:
                    raise self.err(seg, "AK9 before the IK5 of the last AK2")
                group.status = seg.get(1)
                if group.status not in ACK_CODES:
                    raise self.err(seg, f"acknowledgment code {group.status!r} is not A, E, M, P, R, W or X",
                                   "AK901")
                group.sets_included = self.int_el(seg, 2, True)
                group.sets_received = self.int_el(seg, 3, True)
                group.sets_accepted = self.int_el(seg, 4, True)
                group.error_codes = [c for c in seg.elements[5:10] if c]
                if group.sets_included is not None and len(group.transactions) > group.sets_included:
                    group.problems.append(Finding(seg.number, "AK9", "AK902",
                                                  "more AK2 loops than AK902 transaction sets", file=self.name))
            elif sid == "SE":
                if group is None:
                    raise self.err(seg, "acknowledgment without AK1")
                if tset is not None:
                    raise self.err(seg, "AK2 loop without IK5", None)
                if not group.status:
                    raise self.err(seg, "AK9 (functional group response) is missing", "AK901")
                yield group
                group = None
                st = None
            else:
                raise self.err(seg, f"unexpected {sid} segment in a {st.get(1)}")


def iter_999(source: str | os.PathLike[str] | bytes | BinaryIO,
             name: str | None = None) -> Iterator[FunctionalGroupAck]:
    """Stream the functional group acknowledgments of a 999 (or 997) file."""
    return _Reader(source, name).groups()


def read_999(source: str | os.PathLike[str] | bytes | BinaryIO,
             name: str | None = None) -> list[FunctionalGroupAck]:
    """All functional group acknowledgments of a 999 (or 997) file."""
    return list(iter_999(source, name))


def ack_status(groups: list[FunctionalGroupAck], group_control_number: str,
               st_control_number: str | None = None) -> str | None:
    """The acknowledgment code for our GS06 (and ST02 when given), or None when the 999
    does not acknowledge that group.  Leading zeros are ignored in the comparison."""
    def same(a: str, b: str) -> bool:
        return a == b or (a.isdigit() and b.isdigit() and int(a) == int(b))

    for g in groups:
        if same(g.group_control_number, group_control_number):
            if st_control_number is None:
                return g.status
            for t in g.transactions:
                if same(t.control_number, st_control_number):
                    return t.status
            return g.set_status(st_control_number)
    return None
