"""Sniff a response's kind and read the acknowledgment codes dermedi needs from 999s and TA1s.

Only the envelope-level facts are read here (AK1 group control, AK2 transaction control, IK5/AK9
codes, TA1 interchange control and code); :func:`read_999_acks` uses the full reader :func:`edi.x999.read_999`
(a minimal reader is kept as a fallback).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from edi.reader import SegmentReader


def sniff_kind(path: Path) -> str:
    """999, TA1, 277CA, 277, 835, 837 or 'unknown' (also for input that is not X12 at all)."""
    try:
        for n, seg in enumerate(SegmentReader(path, path.name)):
            sid = seg.elements[0]
            if sid == "TA1":
                return "TA1"
            if sid == "ST":
                st01, st03 = seg.get(1), seg.get(3)
                if st01 == "277":
                    return "277CA" if st03.startswith("005010X214") else "277"
                return st01 if st01 in ("999", "835", "837", "997") else "unknown"
            if n > 10:
                break
    except Exception:  # noqa: S110 - anything unreadable is 'unknown'
        pass
    return "unknown"


@dataclass
class GroupAck:
    group_control: str              # AK102 = the GS06 acknowledged
    functional_id: str              # AK101 (HC for 837)
    code: str = ""                  # AK901
    transactions: list[tuple[str, str]] = field(default_factory=list)   # (AK202 ST02, IK501)


def read_999_acks(path: Path) -> list[GroupAck]:
    """The group and transaction-set codes of a 999 (via :func:`edi.x999.read_999` when available)."""
    try:
        from edi.x999 import read_999
    except ImportError:
        return _read_999_minimal(path)
    return [GroupAck(group_control=g.group_control_number, functional_id=g.functional_id, code=g.status,
                     transactions=[(t.control_number, t.status) for t in g.transactions])
            for g in read_999(path, path.name)]


def _read_999_minimal(path: Path) -> list[GroupAck]:
    groups: list[GroupAck] = []
    current: GroupAck | None = None
    st02: str | None = None
    for seg in SegmentReader(path, path.name):
        sid = seg.elements[0]
        if sid == "AK1":
            current = GroupAck(group_control=seg.get(2), functional_id=seg.get(1))
            groups.append(current)
        elif sid == "AK2":
            st02 = seg.get(2)
        elif sid == "IK5" and current is not None and st02 is not None:
            current.transactions.append((st02, seg.get(1)))
            st02 = None
        elif sid == "AK9" and current is not None:
            current.code = seg.get(1)
            current = None
    return groups


def read_ta1(path: Path) -> list[tuple[str, str]]:
    """(TA101 interchange control, TA104 code) of each TA1."""
    return [(seg.get(1), seg.get(4)) for seg in SegmentReader(path, path.name) if seg.elements[0] == "TA1"]
