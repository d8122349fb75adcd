"""Validation of 837P and 835 files against pyx12's X12 5010 maps.

Public API
==========

``validate_file(path, name=None, *, parallel=None, workers=None, chunk_claims=500) -> ValidationResult``
``validate_bytes(data, name="<bytes>", *, ...) -> ValidationResult``
    Validate one file (for an 835 the balancing findings of :mod:`edi.x835` are included,
    code ``balance``).  The dermedi reader and parser run first, so input that cannot be
    read (empty, truncated, short ISA, missing IEA, binary data, 4010, a transaction
    other than 837P 005010X222A1 / 835 005010X221A1) raises the typed
    :class:`~edi.errors.X12Error` (``NotX12Error``, ``WrongTransactionError``) naming
    the file, segment number, segment id and element.  A readable file gives a
    :class:`ValidationResult` whose ``findings`` are :class:`~edi.errors.Finding`
    objects: segment number counted in the FILE (1 = first ISA), segment id, element
    (``CLM05-1``, ``DMG02``) and a message.  An exception inside pyx12 is turned into an
    ``X12Error`` naming the segment pyx12 was on; it never escapes as such.

``detect_transaction(source, name=None) -> str``
    ``"837P"`` or ``"835"`` from the first GS08/ST01, or the typed error.

``ValidationResult``
    ``file``, ``transaction`` ("837P" | "835"), ``findings``, ``claims`` (CLM or CLP
    count), ``segments``, ``interchanges`` (:class:`InterchangeInfo` ->
    :class:`GroupInfo` -> :class:`TransactionSetInfo`, each with its own findings; used
    by :mod:`edi.ack999`), ``valid`` (no error findings), ``error_count``.

Finding codes (``Finding.code``) say where a finding belongs in a 999 / TA1:
``IK3-<code>`` segment error, ``IK4-<code>`` element error, ``IK5-<code>``
transaction-set error (SE01 count ``IK5-4``, SE02 ``IK5-3``, duplicate ST02
``IK5-23``), ``AK9-<code>`` functional-group error (GE01 ``AK9-5``, GE02 ``AK9-4``,
duplicate GS06 ``AK9-6``), ``TA1-<code>`` interchange error (IEA01 ``TA1-021``, IEA02
``TA1-001``, duplicate ISA13 ``TA1-025``).

How it works: pyx12 gets the segments the dermedi reader produced, re-rendered one per
line, so pyx12's segment counter equals the file's segment number.  Small files are
validated in-process, one interchange at a time (so each interchange keeps its own
delimiters) through a lazy text stream: memory stays flat.  Large 837P files (from
``PARALLEL_MIN_BYTES``) are cut into chunks of ``chunk_claims`` claims, each written by
:class:`edi.x837.ClaimWriter` as a valid interchange (HL, SE, GE, IEA recomputed; the
writer records the source segment number of each segment it writes) and validated in a
process pool over the available cores; findings are mapped back to the source segment
numbers.  Chunks travel to the workers through the pool's pipe, never through files,
so no PHI is written to disk.  Checks whose result depends on the cut (HL01 sequence,
HL02 parents, LX01 sequence, control-number uniqueness, SE/GE/IEA counts and control
numbers) are done by dermedi on the source itself in both modes, and pyx12's versions
of them are dropped, so both modes give the same findings (a property test compares
them on damaged files).  Context repeated in every chunk (ST header, HL loops) is
reported once; a required segment missing at a chunk's end is reported at the source's
next segment.  A file with content no claim carries (an HL loop with no claim and no
child, a TA1) falls back to the sequential mode.  Known limit of the chunked mode: a
loop-repeat limit that spans chunks (more than 100 claims under one subscriber HL) is
not seen.

PHI: pyx12's log output (which quotes element values) is silenced, and messages for
segments that can carry PHI (names, member ids, birth dates, addresses: NM1, N3, N4,
DMG, REF, PER, ...) are rewritten without the value.
"""

from __future__ import annotations

import bisect
import io
import logging
import multiprocessing
import os
import re
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from edi.errors import Finding, NotX12Error, WrongTransactionError, X12Error
from edi.reader import Delimiters, Segment, SegmentReader
from edi.x837 import Claim, ClaimWriter, Envelope, HLNode, Parser837, event_segments

IMPLEMENTATIONS = {
    "005010X222A1": ("HC", "837", "837P"),
    "005010X221A1": ("HP", "835", "835"),
}
# implementation references read (and validated by pyx12) as one of the above, with a warning
TOLERATED = {"005010X222A2": "005010X222A1", "005010X222": "005010X222A1", "005010X221": "005010X221A1"}
PARALLEL_MIN_BYTES = 1 << 20      # files from 1 MiB (~1,000 claims) use the process pool
DEFAULT_CHUNK_CLAIMS = 500

#: Segments whose element values may be PHI: messages about them never quote the value.
PHI_SEGMENTS = frozenset({"NM1", "N2", "N3", "N4", "DMG", "REF", "PER", "PAT", "NTE", "K3", "INS",
                          "MEA", "CRC", "PWK", "MIA", "MOA"})

IK4_TEXT = {
    "1": "required data element missing",
    "2": "conditional required data element missing",
    "3": "too many data elements",
    "4": "data element too short",
    "5": "data element too long",
    "6": "invalid character in data element",
    "7": "invalid code value",
    "8": "invalid date",
    "9": "invalid time",
    "10": "data element present where the guide marks it not used",
    "12": "too many repetitions",
    "13": "too many components",
}

# pyx12 segment-error codes replaced by dermedi's own checks (mode independent).
_DROPPED_SEG_CODES = frozenset({"HL1", "HL2", "LX"})
_ENVELOPE_IDS = frozenset({"ISA", "GS", "ST", "SE", "GE", "IEA"})
_ENVELOPE_REF = re.compile(r"\((ISA|IEA|GS|GE|ST|SE)(\d\d)\)")

_READER_CODES = {"SE01": "IK5-4", "SE02": "IK5-3", "GE01": "AK9-5", "GE02": "AK9-4",
                 "IEA01": "TA1-021", "IEA02": "TA1-001"}


# ------------------------------------------------------------------------------------------
# pyx12 setup: quiet logs (they quote values), cached maps
# ------------------------------------------------------------------------------------------

def _quiet_pyx12() -> None:
    log = logging.getLogger("pyx12")
    log.setLevel(logging.CRITICAL + 1)
    log.propagate = False
    if not any(isinstance(h, logging.NullHandler) for h in log.handlers):
        log.addHandler(logging.NullHandler())
    # error_999 sets its own level; make sure nothing below it reaches a handler
    logging.getLogger("pyx12.error_999").setLevel(logging.CRITICAL + 1)


_quiet_pyx12()

_MAP_CACHE: dict[tuple[str, str | None], Any] = {}
_PYX12: dict[str, Any] = {}


def _pyx12() -> dict[str, Any]:
    """Import and set up pyx12 on first use (``dermedi parse`` never pays for it)."""
    if _PYX12:
        return _PYX12
    import pyx12.error_handler
    import pyx12.map_if
    import pyx12.params
    import pyx12.x12n_document

    _quiet_pyx12()
    original = pyx12.map_if.load_map_file

    def cached_load_map_file(map_file: str, param: Any, map_path: str | None = None) -> Any:
        # pyx12 parses a map's XML on every document (0.4 s for the 837P map); maps are not
        # modified by validation (the walker keeps its counters apart), so keep them.
        key = (map_file, map_path)
        m = _MAP_CACHE.get(key)
        if m is None:
            m = original(map_file, param, map_path)
            _MAP_CACHE[key] = m
        return m

    if getattr(pyx12.map_if.load_map_file, "__name__", "") != "cached_load_map_file":
        pyx12.map_if.load_map_file = cached_load_map_file

    class CapturingHandler(pyx12.error_handler.err_handler):  # type: ignore[misc]
        last: Any = None

        def __init__(self) -> None:
            super().__init__()
            CapturingHandler.last = self

    _PYX12.update(
        error_handler=pyx12.error_handler, map_if=pyx12.map_if, x12n_document=pyx12.x12n_document,
        params=pyx12.params.params(), handler=CapturingHandler,
    )
    return _PYX12


# ------------------------------------------------------------------------------------------
# Results
# ------------------------------------------------------------------------------------------

@dataclass
class TransactionSetInfo:
    """One ST..SE of the source: where it is, what it is, and its findings."""

    st_segment: int
    transaction_id: str
    control_number: str
    implementation: str
    se_segment: int = 0
    findings: list[Finding] = field(default_factory=list)

    def relative_position(self, segment_number: int) -> int:
        """Position of a file segment inside this transaction set (ST = 1), as in IK302."""
        return segment_number - self.st_segment + 1

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]


@dataclass
class GroupInfo:
    """One GS..GE of the source."""

    gs_segment: int
    functional_id: str
    control_number: str
    version: str
    sender: str
    receiver: str
    ge_segment: int = 0
    declared_sets: str = ""      # GE01 as sent
    transaction_sets: list[TransactionSetInfo] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


@dataclass
class InterchangeInfo:
    """One ISA..IEA of the source."""

    isa_segment: int
    control_number: str
    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    usage_indicator: str
    delimiters: Delimiters
    iea_segment: int = 0
    groups: list[GroupInfo] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


@dataclass
class ValidationResult:
    file: str
    transaction: str
    findings: list[Finding]
    claims: int
    segments: int
    interchanges: list[InterchangeInfo]
    mode: str = "sequential"

    @property
    def error_count(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")

    @property
    def valid(self) -> bool:
        return self.error_count == 0

    def transaction_sets(self) -> Iterator[TransactionSetInfo]:
        for isa in self.interchanges:
            for gs in isa.groups:
                yield from gs.transaction_sets


# ------------------------------------------------------------------------------------------
# Tracking the source: envelope info and the checks that must not depend on chunking
# ------------------------------------------------------------------------------------------

class _Tracker:
    def __init__(self, name: str, kind: str) -> None:
        self.name = name
        self.kind = kind
        self.interchanges: list[InterchangeInfo] = []
        self.findings: list[Finding] = []
        self.claims = 0
        self.segments = 0
        self._isa_ids: set[str] = set()
        self._gs_ids: set[str] = set()
        self._st_ids: set[str] = set()
        self._hl_count = 0
        self._hl_stack: list[str] = []
        self._lx_count = 0
        self._delims: Callable[[], Delimiters | None] = lambda: None

    def _find(self, seg: Segment, element: str | None, message: str, code: str) -> None:
        self.findings.append(Finding(seg.number, seg.id, element, message, code=code, file=self.name))

    def observe(self, seg: Segment) -> None:
        sid = seg.elements[0]
        self.segments = seg.number
        if sid == "HL":
            self._hl_count += 1
            hl01 = seg.get(1)
            if hl01 != str(self._hl_count):
                self._find(seg, "HL01", f"HL01 is {hl01!r}, expected {self._hl_count} (HL numbers must "
                           "run 1, 2, 3... in the transaction set)", "IK4-I12")
            parent = seg.get(2)
            if parent:
                if parent not in self._hl_stack:
                    self._find(seg, "HL02", f"HL02 parent {parent!r} is not an open ancestor HL",
                               "IK4-I12")
                else:
                    while self._hl_stack and self._hl_stack[-1] != parent:
                        self._hl_stack.pop()
            self._hl_stack.append(hl01)
        elif sid == "CLM":
            self.claims += 1
            self._lx_count = 0
        elif sid == "CLP":
            self.claims += 1
        elif sid == "LX" and self.kind == "837P":
            self._lx_count += 1
            if seg.get(1) != str(self._lx_count):
                self._find(seg, "LX01", f"LX01 is {seg.get(1)!r}, expected {self._lx_count} (service lines "
                           "are numbered 1, 2, 3... in each claim)", "IK4-I12")
        elif sid in _ENVELOPE_IDS:
            self._envelope(seg, sid)

    def _envelope(self, seg: Segment, sid: str) -> None:
        if sid == "ISA":
            ctl = seg.get(13)
            if ctl in self._isa_ids:
                self._find(seg, "ISA13", f"interchange control number {ctl} is used twice in the file",
                           "TA1-025")
            self._isa_ids.add(ctl)
            self._gs_ids = set()
            d = self._delims() or Delimiters()
            self.interchanges.append(InterchangeInfo(
                seg.number, ctl, seg.get(5), seg.get(6).rstrip(), seg.get(7), seg.get(8).rstrip(),
                seg.get(15), Delimiters(d.element, d.component, d.repetition, d.segment)))
        elif sid == "GS":
            ctl = seg.get(6)
            if ctl in self._gs_ids:
                self._find(seg, "GS06", f"group control number {ctl} is used twice in the interchange",
                           "AK9-6")
            self._gs_ids.add(ctl)
            self._st_ids = set()
            self.interchanges[-1].groups.append(GroupInfo(seg.number, seg.get(1), ctl, seg.get(8),
                                                          seg.get(2), seg.get(3)))
        elif sid == "ST":
            ctl = seg.get(2)
            if ctl in self._st_ids:
                self._find(seg, "ST02", f"transaction set control number {ctl} is used twice in the group",
                           "IK5-23")
            self._st_ids.add(ctl)
            self._hl_count = 0
            self._hl_stack = []
            group = self.interchanges[-1].groups[-1]
            group.transaction_sets.append(TransactionSetInfo(seg.number, seg.get(1), ctl,
                                                             seg.get(3) or group.version))
        elif sid == "SE":
            self.interchanges[-1].groups[-1].transaction_sets[-1].se_segment = seg.number
        elif sid == "GE":
            group = self.interchanges[-1].groups[-1]
            group.ge_segment = seg.number
            group.declared_sets = seg.get(1)
        elif sid == "IEA":
            self.interchanges[-1].iea_segment = seg.number

    def reader_findings(self, findings: list[Finding]) -> None:
        for f in findings:
            code = _READER_CODES.get(f.element or "", f.code)
            self.findings.append(replace(f, code=code, file=self.name))


# ------------------------------------------------------------------------------------------
# Running pyx12
# ------------------------------------------------------------------------------------------

# A raw finding from pyx12 with the segment number local to the text pyx12 read.
_Raw = tuple[int, str, str | None, str, str, str]   # (line, seg id, element, message, code, severity)


def _element_name(seg_id: str, ele_pos: int, subele_pos: int | None) -> str:
    name = f"{seg_id}{ele_pos:02d}"
    return f"{name}-{subele_pos}" if subele_pos else name


def _element_message(seg_id: str, element: str, cde: str, text: str, name: str | None) -> str:
    if seg_id in PHI_SEGMENTS:
        what = IK4_TEXT.get(cde, "invalid data element")
        return f"{name} ({element}): {what}" if name else f"{element}: {what}"
    return text


class _Collector:
    """Error-handler visitor: flattens pyx12's error tree into raw findings."""

    def __init__(self, envelope_lines: dict[str, list[int]], keep_all: bool = False) -> None:
        self.lines = envelope_lines
        self.raw: list[_Raw] = []
        self.keep_all = keep_all
        self.last_line = 0
        self._gs = -1
        self._st = -1

    def _env_errors(self, node: Any, sid: str, index: int) -> None:
        if self.keep_all:
            for cde, text in node.errors:
                self.raw.append((self._env_line(sid, index), sid, None, text, f"pyx12-{sid}-{cde}", "error"))

    def _env_line(self, sid: str, index: int) -> int:
        lines = self.lines.get(sid, [])
        return lines[index] if 0 <= index < len(lines) else 0

    def _env_elements(self, node: Any, default_sid: str, index: int) -> None:
        for ele in getattr(node, "elements", []):
            for cde, text, _val in ele.errors:
                m = _ENVELOPE_REF.search(text or "")
                sid = m.group(1) if m else default_sid
                line = self._env_line(sid, index if sid not in ("ISA", "IEA") else 0)
                element = _element_name(sid, ele.ele_pos, ele.subele_pos)
                self.raw.append((line, sid, element, _element_message(sid, element, cde, text, ele.name),
                                 f"IK4-{cde}", "error"))

    # visitor protocol
    def visit_root_pre(self, errh: Any) -> None:
        pass

    def visit_root_post(self, errh: Any) -> None:
        pass

    def visit_isa_pre(self, node: Any) -> None:
        self._env_elements(node, "ISA", 0)
        self._env_errors(node, "ISA", 0)

    def visit_isa_post(self, node: Any) -> None:
        pass

    def visit_gs_pre(self, node: Any) -> None:
        self._gs += 1
        self._env_elements(node, "GS", self._gs)
        self._env_errors(node, "GS", self._gs)

    def visit_gs_post(self, node: Any) -> None:
        pass

    def visit_st_pre(self, node: Any) -> None:
        self._st += 1
        self._env_elements(node, "ST", self._st)
        self._env_errors(node, "ST", self._st)

    def visit_st_post(self, node: Any) -> None:
        pass

    def visit_seg(self, node: Any) -> None:
        sid = node.seg_id or "?"
        line = int(node.cur_line or 0)
        for cde, text, val in node.errors:
            if cde in _DROPPED_SEG_CODES and not self.keep_all:
                continue
            msg = text or "segment error"
            if sid in PHI_SEGMENTS and val and len(str(val)) > 2:
                msg = msg.replace(str(val), "...")
            code = "IK3-8" if cde == "SEG1" else f"IK3-{cde}"
            self.raw.append((line, sid, None, msg, code, "error"))
        for ele in node.elements:
            element = _element_name(sid, ele.ele_pos, ele.subele_pos)
            for cde, text, _val in ele.errors:
                self.raw.append((line, sid, element, _element_message(sid, element, cde, text or "", ele.name),
                                 f"IK4-{cde}", "error"))

    def visit_ele(self, node: Any) -> None:
        pass


class _NeedSequential(Exception):
    """The chunked mode cannot show this file to pyx12 faithfully."""


class _Pyx12Crash(Exception):
    def __init__(self, line: int, what: str) -> None:
        super().__init__(what)
        self.line = line
        self.what = what


def _run_pyx12(stream: Any, envelope_lines: Callable[[], dict[str, list[int]]],
               keep_all: bool = False, expected: Callable[[], int] | None = None) -> list[_Raw]:
    """Validate one interchange text stream; raw findings with local line numbers.

    ``expected`` gives the number of segments in the text: pyx12 silently stops at
    things it cannot split (an empty line), so a shorter read is an error, not a pass.
    """
    position = {"line": 0}

    def track(seg: Any, src: Any, node: Any, valid: Any) -> None:
        position["line"] = src.get_cur_line()

    px = _pyx12()
    handler = px["handler"]
    saved = px["error_handler"].err_handler
    px["error_handler"].err_handler = handler
    handler.last = None
    try:
        px["x12n_document"].x12n_document(px["params"], stream, None, None, callback=track)
        errh = handler.last
        if errh is None:
            raise _Pyx12Crash(1, "pyx12 did not read the interchange")
        collector = _Collector(envelope_lines(), keep_all)
        errh.accept(collector)
        collector.last_line = position["line"]
    except (_Pyx12Crash, X12Error):
        raise                       # X12Error: the dermedi reader / parser feeding the stream
    except Exception as exc:  # anything pyx12 raises becomes a located X12Error upstream
        raise _Pyx12Crash(position["line"] + 1, f"{type(exc).__name__}") from None
    finally:
        px["error_handler"].err_handler = saved
    if expected is not None and collector.last_line < expected():
        raise _Pyx12Crash(collector.last_line + 1, "pyx12 stopped reading before the end of the interchange")
    return collector.raw


_NORMALIZED = frozenset({"ISA", "GS", "ST"})
_ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)


def pyx12_envelope(elements: list[str]) -> list[str]:
    """An ISA, GS or ST as pyx12 is shown it: a tolerated ISA padded to its fixed widths, a tolerated
    implementation reference (GS08/ST03) replaced by the one whose map validates it, GS01 made to
    agree with it (the file itself is not changed)."""
    sid = elements[0]
    if sid == "ISA" and len(elements) == 17:
        out = [sid]
        for i, (v, w) in enumerate(zip(elements[1:], _ISA_WIDTHS, strict=True), start=1):
            out.append(v if len(v) == w else (v.zfill(w) if i in (9, 10, 13) and v.isdigit() else v.ljust(w)))
        return out
    if sid == "GS" and len(elements) > 8:
        impl = TOLERATED.get(elements[8], elements[8])
        known = IMPLEMENTATIONS.get(impl)
        if impl != elements[8] or (known is not None and known[0] != elements[1]):
            out = list(elements)
            out[8] = impl
            if known is not None:
                out[1] = known[0]
            return out
    if sid == "ST" and len(elements) > 3 and elements[3] in TOLERATED:
        out = list(elements)
        out[3] = TOLERATED[elements[3]]
        return out
    return elements


class _SegmentStream:
    """A read-only text stream for pyx12 over dermedi segments, ending after one IEA."""

    closed = False

    def __init__(self, segments: _Peekable, delims: Callable[[], Delimiters | None]) -> None:
        self._segments = segments
        self._delims = delims
        self._buf = ""
        self._done = False
        self.lines: dict[str, list[int]] = {}
        self.count = 0

    def _more(self) -> None:
        parts: list[str] = []
        size = 0
        while size < 65536 and not self._done:
            seg = self._segments.next()
            if seg is None:
                self._done = True
                break
            d = self._delims()
            assert d is not None
            els = seg.elements
            sid = els[0]
            if sid in _NORMALIZED:
                els = pyx12_envelope(els)
            text = d.element.join(els) + d.segment
            if d.segment not in "\r\n":
                text += "\n"     # pyx12 stops at an empty line: no newline after a newline terminator
            parts.append(text)
            size += len(text)
            self.count += 1
            if sid in _ENVELOPE_IDS:
                self.lines.setdefault(sid, []).append(self.count)
                if sid == "IEA":
                    self._done = True
        self._buf += "".join(parts)

    def read(self, n: int = -1) -> str:
        while (n < 0 or len(self._buf) < n) and not self._done:
            self._more()
        if n < 0:
            out, self._buf = self._buf, ""
        else:
            out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def drain(self) -> None:
        while not self._done:
            self._more()
            self._buf = ""


class _Peekable:
    def __init__(self, it: Iterator[Segment]) -> None:
        self._it = it
        self._head: Segment | None = None

    def next(self) -> Segment | None:
        if self._head is not None:
            h, self._head = self._head, None
            return h
        return next(self._it, None)

    def has_more(self) -> bool:
        if self._head is None:
            self._head = next(self._it, None)
        return self._head is not None


def _envelope_lines_of(text: str) -> dict[str, list[int]]:
    esep, term = text[3], text[105]
    lines: dict[str, list[int]] = {}
    for i, part in enumerate(text.split(term), start=1):
        sid = part.lstrip("\r\n \t").split(esep, 1)[0]
        if sid in _ENVELOPE_IDS:
            lines.setdefault(sid, []).append(i)
    return lines


def _validate_chunk(text: str) -> list[_Raw] | tuple[int, str]:
    """Worker: validate one chunk interchange text; raw findings or (line, crash)."""
    try:
        lines = _envelope_lines_of(text)
        return _run_pyx12(io.StringIO(text), lambda: lines, expected=lambda: lines["IEA"][-1])
    except _Pyx12Crash as crash:
        return (crash.line, crash.what)


def _warm_worker() -> None:
    px = _pyx12()
    for m in ("x12.control.00501.xml", "837.5010.X222.A1.xml"):
        px["map_if"].load_map_file(m, px["params"], None)


# ------------------------------------------------------------------------------------------
# Public entry points
# ------------------------------------------------------------------------------------------

Source = str | os.PathLike[str] | bytes


def detect_transaction(source: Source, name: str | None = None) -> str:
    """'837P' or '835' from the first functional group, or the typed X12Error."""
    reader = SegmentReader(source, name)
    gs: Segment | None = None
    for seg in reader:
        sid = seg.elements[0]
        if sid == "GS":
            gs = seg
        elif sid == "ST":
            if gs is None:  # the reader refuses this already; kept for safety
                raise X12Error("ST outside a functional group", file=reader.name, segment_number=seg.number,
                               segment_id="ST")
            gs08 = gs.get(8)
            impl = IMPLEMENTATIONS.get(TOLERATED.get(gs08, gs08))
            if impl is None:
                raise WrongTransactionError(
                    f"functional group {gs.get(1)} {gs.get(8)} is not supported: dermedi validates 837P "
                    "(HC 005010X222A1) and 835 (HP 005010X221A1)",
                    file=reader.name, segment_number=gs.number, segment_id="GS", element="GS08",
                    offset=gs.offset)
            if seg.get(1) != impl[1]:
                raise WrongTransactionError(
                    f"transaction set {seg.get(1)} in a {impl[2]} functional group", file=reader.name,
                    segment_number=seg.number, segment_id="ST", element="ST01", offset=seg.offset)
            return impl[2]
    raise X12Error("the interchange has no transaction set (no ST segment)", file=reader.name,
                   segment_number=reader.segment_count or 1, segment_id="IEA")


def pyx12_check(data: bytes | str, name: str = "<bytes>") -> list[Finding]:
    """pyx12's plain verdict on any X12 text it has a map for (837P, 835, 999...), plus the
    dermedi reader's envelope findings.  Nothing is dropped (pyx12's own envelope, HL and
    LX checks included) and the text is given to pyx12 exactly as it is: this is the
    check tests use on every 837P / 999 dermedi writes.  Empty list = valid.
    """
    text = data.decode("latin-1") if isinstance(data, bytes) else data
    reader = SegmentReader(text.encode("latin-1"), name)
    for _ in reader:
        pass
    out = [replace(f, file=name) for f in reader.findings]
    if not text.lstrip("\r\n").startswith("ISA"):
        raise NotX12Error("not an X12 interchange", file=name, segment_number=1)
    try:
        raws = _run_pyx12(io.StringIO(text.lstrip("\r\n")), lambda: _envelope_lines_of(text.lstrip("\r\n")),
                          keep_all=True)
    except _Pyx12Crash as crash:
        raise _crash_error(name, crash.line, crash.what) from None
    out.extend(Finding(line or None, sid, element, msg, code=code, severity=sev, file=name)
               for line, sid, element, msg, code, sev in raws)
    return out


def validate_file(path: str | os.PathLike[str], name: str | None = None, *, parallel: bool | None = None,
                  workers: int | None = None, chunk_claims: int = DEFAULT_CHUNK_CLAIMS) -> ValidationResult:
    p = Path(path)
    label = name or str(path)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise X12Error(f"cannot open file: {exc.strerror}", file=label) from None
    if p.is_dir():
        raise X12Error("is a directory, not an X12 file", file=label)
    return _validate(p, label, size, parallel, workers, chunk_claims)


def validate_bytes(data: bytes, name: str = "<bytes>", *, parallel: bool | None = None,
                   workers: int | None = None, chunk_claims: int = DEFAULT_CHUNK_CLAIMS) -> ValidationResult:
    return _validate(bytes(data), name, len(data), parallel, workers, chunk_claims)


def _cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _validate(source: Path | bytes, name: str, size: int, parallel: bool | None, workers: int | None,
              chunk_claims: int) -> ValidationResult:
    kind = detect_transaction(source, name)
    n_workers = workers or _cpu_count()
    if parallel is None:
        parallel = kind == "837P" and size >= PARALLEL_MIN_BYTES and n_workers > 1
    tracker = _Tracker(name, kind)
    raw: list[Finding] = []
    mode = "sequential"
    if parallel and kind == "837P":
        mode = "parallel"
        try:
            _validate_parallel(source, name, tracker, raw, max(1, n_workers), max(1, chunk_claims))
        except _NeedSequential:
            # the file has content no claim carries (an HL without claims, a TA1): chunks
            # would not show it to pyx12, so validate the whole file in order instead
            mode = "sequential"
            tracker = _Tracker(name, kind)
            raw = []
            _validate_sequential(source, name, kind, tracker, raw)
    else:
        mode = "sequential"
        _validate_sequential(source, name, kind, tracker, raw)
    findings = _dedupe(raw + tracker.findings)
    _attach(tracker.interchanges, findings)
    return ValidationResult(name, kind, findings, tracker.claims, tracker.segments, tracker.interchanges, mode)


def _segments(source: Path | bytes, name: str, kind: str, tracker: _Tracker) -> tuple[Iterator[Segment], Any]:
    parser: Any
    if kind == "837P":
        parser = Parser837(source, name)

        def gen837(p: Parser837) -> Iterator[Segment]:
            for ev in p.events():
                yield from event_segments(ev)
        it = gen837(parser)
    else:
        from edi.x835 import Parser835, event_segments_835

        parser = Parser835(source, name)

        def gen835(p: Any) -> Iterator[Segment]:
            for ev in p.events():
                yield from event_segments_835(ev)
        it = gen835(parser)
    tracker._delims = lambda: parser.reader.delimiters

    def observed() -> Iterator[Segment]:
        for seg in it:
            tracker.observe(seg)
            yield seg
    return observed(), parser


def _validate_sequential(source: Path | bytes, name: str, kind: str, tracker: _Tracker,
                         out: list[Finding]) -> None:
    it, parser = _segments(source, name, kind, tracker)
    segs = _Peekable(it)
    while segs.has_more():
        stream = _SegmentStream(segs, lambda: parser.reader.delimiters)
        try:
            raws = _run_pyx12(stream, lambda s=stream: s.lines,  # type: ignore[misc]
                              expected=lambda s=stream: s.count)  # type: ignore[misc]
        except _Pyx12Crash as crash:
            stream.drain()
            base = tracker.interchanges[-1].isa_segment - 1 if tracker.interchanges else 0
            raise _crash_error(name, base + crash.line, crash.what) from None
        stream.drain()
        base = tracker.interchanges[-1].isa_segment - 1
        for line, sid, element, msg, code, sev in raws:
            if line <= 0:
                continue
            out.append(Finding(base + line, sid, element, msg, code=code, severity=sev, file=name))
    tracker.reader_findings(parser.findings)
    if kind == "835":
        # 835 balancing (SVC, CLP and BPR arithmetic, computed by edi.x835 while parsing)
        out.extend(replace(b.as_finding(), file=name) for b in parser.balance_findings)


def _crash_error(name: str, number: int, what: str) -> X12Error:
    return X12Error(f"the pyx12 validator failed on this segment ({what}); the file is not valid X12 there",
                    file=name, segment_number=number)


def _validate_parallel(source: Path | bytes, name: str, tracker: _Tracker, out: list[Finding],
                       workers: int, chunk_claims: int) -> None:
    parser = Parser837(source, name)
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    pending: deque[tuple[Future[Any], list[int], int]] = deque()

    def collect(fut: Future[Any], origins: list[int], boundary: int) -> None:
        """Map a chunk's findings to the source.  ``boundary``: the highest source segment
        written by the earlier chunks.  Context segments (ST header, HL nodes) repeated from
        an earlier chunk have origins up to it: their findings were reported already."""
        res = fut.result()
        if isinstance(res, tuple):
            line, what = res
            number = origins[line - 1] if 0 < line <= len(origins) else None
            raise _crash_error(name, number or 0, what)
        for line, sid, element, msg, code, sev in res:
            if not 0 < line <= len(origins):
                continue
            number = origins[line - 1]
            if 0 < number <= boundary:
                continue                      # a repeated context segment: reported before
            if code == "IK3-3" and line > 1 and 0 < origins[line - 2] <= boundary:
                continue                      # "required segment/loop missing" in repeated context
            if number == 0:
                # SE/GE/IEA made up by the writer.  Their own element values are recomputed (the
                # tracker checks the source's); a segment-level finding there is pyx12 noticing
                # at the trailer that something required is missing before it: in the source,
                # that is reported at the segment after the last real one written.
                if code.startswith("IK4-"):
                    continue
                back = line - 1
                while back > 0 and origins[back - 1] == 0:
                    back -= 1
                if back == 0:
                    continue
                number = origins[back - 1] + 1
            out.append(Finding(number, sid, element, msg, code=code, severity=sev, file=name))

    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_warm_worker) as pool:
        buf = io.BytesIO()
        writer: ClaimWriter | None = None
        isa_of_chunk: Segment | None = None
        high_water = 0

        def flush() -> None:
            nonlocal writer, buf
            if writer is None:
                return
            writer.close()
            nonlocal high_water
            origins = writer.origins or []
            text = buf.getvalue().decode("latin-1")
            while len(pending) >= 2 * workers:
                collect(*pending.popleft())
            pending.append((pool.submit(_validate_chunk, text), origins, high_water))
            high_water = max(high_water, max(origins, default=0))
            writer = None
            buf = io.BytesIO()

        prev: Any = None
        for ev in _events_observed(parser, tracker):
            t = type(ev)
            if type(prev) is HLNode and (t is Envelope or (t is HLNode and ev.parent is not prev)):
                raise _NeedSequential  # prev: an HL loop with neither claims nor child loops
            if t is Envelope and ev.segment.elements[0] == "TA1":
                raise _NeedSequential
            prev = ev
            if t is not Claim:
                continue
            if writer is not None and (ev.header.isa is not isa_of_chunk
                                       or writer.claims_written >= chunk_claims):
                flush()
            if writer is None:
                writer = ClaimWriter(buf, parser.delimiters)
                writer.origins = []
                isa_of_chunk = ev.header.isa
            writer.write(ev)
        flush()
        while pending:
            collect(*pending.popleft())
    tracker.reader_findings(parser.findings)


def _events_observed(parser: Parser837, tracker: _Tracker) -> Iterator[Any]:
    tracker._delims = lambda: parser.reader.delimiters
    for ev in parser.events():
        for seg in event_segments(ev):
            tracker.observe(seg)
        yield ev


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[Any, ...]] = set()
    out: list[Finding] = []
    for f in sorted(findings, key=lambda f: (f.segment_number or 0, f.element or "", f.message)):
        key = (f.segment_number, f.segment_id, f.element, f.message, f.code)
        if key in seen:
            continue
        seen.add(key)
        out.append(f)
    return out


def _attach(interchanges: list[InterchangeInfo], findings: list[Finding]) -> None:
    """Give each transaction set / group / interchange the findings inside it."""
    sets: list[tuple[int, int, TransactionSetInfo]] = []
    groups: list[tuple[int, int, GroupInfo]] = []
    isas: list[tuple[int, int, InterchangeInfo]] = []
    for isa in interchanges:
        isas.append((isa.isa_segment, isa.iea_segment or 1 << 62, isa))
        for gs in isa.groups:
            groups.append((gs.gs_segment, gs.ge_segment or 1 << 62, gs))
            for st in gs.transaction_sets:
                sets.append((st.st_segment, st.se_segment or 1 << 62, st))
    for f in findings:
        n = f.segment_number or 0
        code = f.code
        if not code.startswith(("AK9", "TA1")):
            i = bisect.bisect_right(sets, n, key=lambda t: t[0]) - 1
            if i >= 0 and sets[i][0] <= n <= sets[i][1]:
                sets[i][2].findings.append(f)
                continue
        if not code.startswith("TA1"):
            i = bisect.bisect_right(groups, n, key=lambda t: t[0]) - 1
            if i >= 0 and groups[i][0] <= n <= groups[i][1]:
                groups[i][2].findings.append(f)
                continue
        i = bisect.bisect_right(isas, n, key=lambda t: t[0]) - 1
        if i >= 0:
            isas[i][2].findings.append(f)


__all__ = [
    "DEFAULT_CHUNK_CLAIMS", "IMPLEMENTATIONS", "PARALLEL_MIN_BYTES", "Finding", "GroupInfo",
    "InterchangeInfo", "NotX12Error", "TransactionSetInfo", "ValidationResult", "WrongTransactionError",
    "X12Error", "detect_transaction", "pyx12_check", "validate_bytes", "validate_file",
]
