"""999 implementation acknowledgment (005010X231A1) for an inbound 837P.

Public API
==========

``build_999(result, *, control_number=1, now=None, usage_indicator=None) -> bytes``
    From a :class:`edi.validate.ValidationResult` of an 837P, one 999 interchange per
    source interchange (sender and receiver swapped), one functional group ``FA`` and
    one ``ST*999`` per acknowledged functional group, with:

    * ``AK1`` (GS01, GS06, GS08 of the group),
    * per transaction set ``AK2`` (ST01, ST02, ST03), an ``IK3`` for each segment with
      findings (segment id, position in the transaction set with ST = 1, syntax code)
      and an ``IK4`` for each element finding (position ``5:1`` for CLM05-1, error code;
      never the bad value: it may be PHI), then ``IK5``: ``A`` accepted, ``E`` accepted
      with errors (only warning findings), ``R`` rejected (any error finding);
    * ``AK9``: ``A`` / ``E`` / ``P`` (some sets rejected) / ``R`` (all rejected, or a
      group-level error: GE01 count, GE02 control number), with the included /
      received / accepted counts;
    * correct SE01, GE01 and IEA01 counts.

    Interchange-level findings (ISA/IEA) belong in a TA1 and are not reported here.
    ``control_number`` numbers the 999 interchanges (ISA13, then +1 per interchange) and
    groups (GS06); ``now`` fixes the date/time (tests).

``write_999(result, path, **kw)``: the same, written 0600.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from edi.errors import Finding
from edi.files import write_private
from edi.reader import Delimiters
from edi.validate import GroupInfo, TransactionSetInfo, ValidationResult

IMPLEMENTATION_999 = "005010X231A1"
_DELIMS = Delimiters("*", ":", "^", "~")
_MAX_IK3 = 9999   # keep a 999 for a badly broken file readable
_MAX_IK4 = 99     # IK4 loop repeat per IK3 in X231A1


def _ik3_code(findings: list[Finding]) -> str:
    for f in findings:
        if f.code.startswith("IK3-"):
            return f.code[4:]
    return "8"  # segment has data element errors


def _ik4_position(f: Finding, component: str) -> str:
    element = f.element or ""
    sid = f.segment_id or ""
    rest = element[len(sid):] if element.startswith(sid) else ""
    main, _, sub = rest.partition("-")
    if not main.isdigit():
        return ""
    pos = str(int(main))
    if sub.isdigit():
        pos += component + str(int(sub))
    return pos


def _ts_status(ts: TransactionSetInfo) -> str:
    if any(f.severity == "error" for f in ts.findings):
        return "R"
    if any(f.code != "tolerance" for f in ts.findings):      # what the reader tolerated is no error
        return "E"
    return "A"


def _ik5_codes(ts: TransactionSetInfo) -> list[str]:
    codes: list[str] = []
    for f in ts.findings:
        if f.code.startswith("IK5-"):
            c = f.code[4:]
        elif f.code.startswith(("IK3-", "IK4-")):
            c = "5"   # one or more segments in error
        else:
            continue
        if c not in codes:
            codes.append(c)
    return codes[:5]


def _segments_for_set(ts: TransactionSetInfo, component: str) -> list[list[str]]:
    out: list[list[str]] = [["AK2", ts.transaction_id, ts.control_number, ts.implementation]]
    by_segment: dict[int, list[Finding]] = {}
    for f in ts.findings:
        if f.segment_number is None or f.code.startswith("IK5-") or f.code == "tolerance":
            continue
        by_segment.setdefault(f.segment_number, []).append(f)
    for number in sorted(by_segment)[:_MAX_IK3]:
        fs = by_segment[number]
        sid = fs[0].segment_id or "ST"
        seg_codes: list[str] = []
        for f in fs:
            c = f.code[4:] if f.code.startswith("IK3-") else "8"
            if f.code.startswith("IK3-") and c not in seg_codes:
                seg_codes.append(c)
        element_findings = [f for f in fs if f.code.startswith("IK4-") and _ik4_position(f, component)]
        if element_findings and "8" not in seg_codes:
            seg_codes.append("8")
        if not seg_codes:
            seg_codes.append(_ik3_code(fs))
        position = str(ts.relative_position(number))
        # the IK4s follow the last IK3 of the segment: put "8" (element errors) last
        seg_codes.sort(key=lambda c: c == "8")
        for code in seg_codes:
            out.append(["IK3", sid, position, "", code])
        written = 0
        for f in element_findings:
            if written >= _MAX_IK4:
                break
            out.append(["IK4", _ik4_position(f, component), "", f.code[4:]])
            written += 1
    status = _ts_status(ts)
    ik5 = ["IK5", status]
    if status != "A":
        ik5 += _ik5_codes(ts)
    out.append(_trim(ik5))
    return [_trim(s) for s in out]


def _trim(elements: list[str]) -> list[str]:
    while len(elements) > 1 and elements[-1] == "":
        elements.pop()
    return elements


def _group_segments(group: GroupInfo, component: str) -> list[list[str]]:
    segs: list[list[str]] = [["AK1", group.functional_id, group.control_number, group.version]]
    statuses: list[str] = []
    for ts in group.transaction_sets:
        segs.extend(_segments_for_set(ts, component))
        statuses.append(_ts_status(ts))
    group_codes: list[str] = []
    group_error = False
    for f in group.findings:
        if f.code.startswith("AK9-"):
            if f.code[4:] not in group_codes:
                group_codes.append(f.code[4:])
            group_error = group_error or f.severity == "error"
    received = len(group.transaction_sets)
    accepted = sum(1 for s in statuses if s in ("A", "E"))
    if group_error or accepted == 0:
        ak901 = "R"
    elif accepted < received:
        ak901 = "P"
    elif "E" in statuses or group_codes:
        ak901 = "E"
    else:
        ak901 = "A"
    included = group.declared_sets if group.declared_sets.isdigit() else str(received)
    segs.append(_trim(["AK9", ak901, included, str(received), str(accepted), *group_codes[:5]]))
    return segs


def build_999(result: ValidationResult, *, control_number: int = 1, now: dt.datetime | None = None,
              usage_indicator: str | None = None) -> bytes:
    """The 999 for an 837P validation result (see the module docstring)."""
    if result.transaction != "837P":
        raise ValueError("a 999 is built for an 837P (this file is an 835)")
    now = now or dt.datetime.now()
    d = _DELIMS
    lines: list[str] = []

    def emit(elements: list[str]) -> None:
        lines.append(d.element.join(elements) + d.segment)

    isa_ctl = control_number
    for isa in result.interchanges:
        groups = [g for g in isa.groups if g.functional_id == "HC" or g.version.startswith("005010X222")]
        if not groups:
            continue
        ctl = f"{isa_ctl % 1_000_000_000:09d}"
        emit(["ISA", "00", " " * 10, "00", " " * 10,
              isa.receiver_qualifier, isa.receiver_id.ljust(15)[:15],
              isa.sender_qualifier, isa.sender_id.ljust(15)[:15],
              now.strftime("%y%m%d"), now.strftime("%H%M"), d.repetition, "00501", ctl, "0",
              usage_indicator or isa.usage_indicator or "P", d.component])
        gs_ctl = str(isa_ctl % 1_000_000_000)
        sender = groups[0].receiver
        receiver = groups[0].sender
        emit(["GS", "FA", sender, receiver, now.strftime("%Y%m%d"), now.strftime("%H%M"), gs_ctl, "X",
              IMPLEMENTATION_999])
        for n, group in enumerate(groups, start=1):
            st_ctl = f"{n:04d}"
            body = [["ST", "999", st_ctl, IMPLEMENTATION_999], *_group_segments(group, d.component)]
            for s in body:
                emit(s)
            emit(["SE", str(len(body) + 1), st_ctl])
        emit(["GE", str(len(groups)), gs_ctl])
        emit(["IEA", "1", ctl])
        isa_ctl += 1
    if not lines:
        raise ValueError("the file has no 837P functional group to acknowledge")
    return "\n".join(lines).encode("latin-1") + b"\n"


def write_999(result: ValidationResult, path: str | os.PathLike[str], **kw: object) -> Path:
    """Write the 999 with mode 0600 (folders 0700); returns the path."""
    return write_private(path, build_999(result, **kw))  # type: ignore[arg-type]


__all__ = ["IMPLEMENTATION_999", "build_999", "write_999"]
