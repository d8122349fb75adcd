"""Scrubbing a file in pieces (for a process pool or a Dask cluster) with byte-identical output.

Three pure parts, none of which knows about processes, networks or databases:

* :func:`plan_chunks` scans a file's bytes (C-speed searches, no segment parsing) and cuts it at
  transaction sets (ST) and, inside a big transaction set, at billing-provider (2000A) or
  subscriber (2000B under a 2000A) HL loops.  Each :class:`ChunkSpec` says which bytes it covers
  and which context it needs in front (ISA, GS, the ST header and the 2000A loops of that
  transaction set) and behind (made-up SE/GE/IEA) to be a readable interchange of its own.
  Files it cannot cut safely (other delimiters in a later interchange, anything unexpected)
  get no plan: the caller scrubs them whole with :func:`scrubber.run.scrub_file`.
* :func:`scrub_chunk` (the task) parses and scrubs one chunk.  Segment numbers and byte
  offsets count as in the whole file.  It returns the claims rendered as text, with the
  parts that depend on what came before (HL numbers, ST02, SE/GE/IEA counts, whether an HL
  loop must be written again) left as keys, plus the JSON and HTML report fragments and the
  chunk's share of the summary.  With a spool (shared storage), the fragments and the claims
  go to files named by the chunk, replaced atomically, and only their names are returned.
* :class:`FileMerger` takes the chunk results of one file in order and writes the clean and
  held 837P (:class:`MergeWriter` makes exactly the decisions of
  :class:`edi.x837.ClaimWriter`, on keys instead of parsed objects) and the reports, as
  :func:`scrubber.run.scrub_file` does (:class:`scrubber.run.PendingFile`): temporary files
  renamed into place at the end, removed on error, 0600; spooled pieces are copied in with
  :func:`edi.files.append_file` and removed.

If a chunk cannot be read (an X12 error), the caller scrubs that file whole instead, so the
error is exactly the single-process one.
"""

from __future__ import annotations

import contextlib
import io
import mmap
import os
import pickle
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO

from edi.errors import X12Error
from edi.files import append_file, private_open
from edi.x837 import Claim, HLNode, Parser837
from scrubber.engine import Scrubber
from scrubber.report import HtmlReportWriter, JsonReportWriter, claim_html
from scrubber.run import PendingFile, ScrubSummary

#: Default size of a chunk (bytes of the source): ~9,400 claims of the bench files, ~0.35 s of scrubbing.
#: (1 MiB before: each task also costs the coordinator ~10 ms of Dask and merging, which on 2 cores
#: was 3 s of a 1,000,000-claim job; docs/scaling.md.)
DEFAULT_CHUNK_BYTES = 4 << 20
_WS = rb"[\r\n\t ]*"


# ------------------------------------------------------------------------------------------
# Planning
# ------------------------------------------------------------------------------------------


@dataclass
class ChunkSpec:
    """One piece of a file: bytes ``[start, end)`` of the source, with ``context`` in front and
    ``trailer`` behind.  ``first_number`` segments of the file come before ``start``.  The
    context's ISA, GS, ST and HL loops are known in the chunk by their true byte offsets
    (``context_isa``, ``context_gs``, ``context_st``, ``context_hls``): the keys they have in
    the chunk that holds them.  (Not frozen: a compiled frozen dataclass cannot be unpickled,
    and specs travel to the workers in tasks; nothing changes one after planning.)"""

    index: int
    start: int
    end: int
    first_number: int
    claims: int
    context: bytes = b""
    context_segments: int = 0
    trailer: bytes = b""
    context_isa: int = -1
    context_gs: int = -1
    context_st: int = -1
    context_hls: tuple[int, ...] = ()

    def data(self, source: bytes | mmap.mmap) -> bytes:
        return self.context + source[self.start:self.end] + self.trailer

    def read(self, path: str | os.PathLike[str]) -> bytes:
        """:meth:`data` read from the file at ``path`` (a worker reading its own byte range)."""
        size = self.end - self.start
        with open(path, "rb") as fh:
            body = os.pread(fh.fileno(), size, self.start)
        if len(body) != size:
            raise OSError(f"{path}: shorter than when it was planned")
        return self.context + body + self.trailer


@dataclass
class FilePlan:
    path: str
    size: int
    chunks: list[ChunkSpec] = field(default_factory=list)

    @property
    def claims(self) -> int:
        return sum(c.claims for c in self.chunks)


@dataclass(frozen=True)
class _Cut:
    offset: int
    kind: str                       # isa | st | hl
    context: bytes = b""
    isa: int = -1
    gs: int = -1
    st: int = -1
    hls: tuple[int, ...] = ()


class _NoPlan(Exception):
    pass


def plan_chunks(path: str | os.PathLike[str], chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> FilePlan | None:
    """Cut a file into chunks of about ``chunk_bytes``; None when it must be scrubbed whole."""
    p = Path(path)
    size = p.stat().st_size
    if size < 106:
        return None
    with p.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        try:
            return _plan(mm, str(path), size, max(1, chunk_bytes))
        except _NoPlan:
            return None


class _Patterns:
    def __init__(self, esep: bytes, term: bytes) -> None:
        e, t = re.escape(esep), re.escape(term)
        not_del = b"[^" + e + t + b"]*"
        self.env = re.compile(t + _WS + rb"(?P<id>ISA|IEA|GS|GE|ST|SE|TA1)" + e)
        self.hl = re.compile(t + _WS + rb"(?P<id>HL)" + e + b"(?P<hl1>" + not_del + b")" + e + b"(?P<hl2>"
                             + not_del + b")" + e + b"(?P<hl3>" + not_del + b")")
        self.hl20 = re.compile(t + _WS + rb"(?P<id>HL)" + e + b"(?P<hl1>" + not_del + b")" + e + e + b"20" + e)
        self.clm = re.compile(t + _WS + rb"CLM" + e)


def _plan(mm: mmap.mmap, path: str, size: int, chunk_bytes: int) -> FilePlan:
    if mm[:3] != b"ISA":
        raise _NoPlan
    esep, comp, term = mm[3:4], mm[104:105], mm[105:106]
    if len({esep, comp, term}) != 3 or esep.isalnum() or term.isalnum() or term in b"\r\n\t ":
        raise _NoPlan
    pats = _Patterns(esep, term)
    trail_se = b"SE" + esep + b"1" + esep + b"0" + term
    trail_ge = b"GE" + esep + b"1" + esep + b"0" + term
    trail_iea = b"IEA" + esep + b"1" + esep + b"000000000" + term

    def seg_end(pos: int) -> int:
        end = mm.find(term, pos)
        if end < 0:
            raise _NoPlan
        return end + 1

    cuts: list[_Cut] = [_Cut(0, "isa")]
    want = chunk_bytes
    isa_at, isa_bytes = 0, mm[0:seg_end(0)]
    gs_at, gs_bytes = -1, b""
    envs = list(pats.env.finditer(mm))
    i = 0
    while i < len(envs):
        m = envs[i]
        sid = m.group("id")
        at = m.start("id")
        if sid == b"ISA":
            if mm[at + 3:at + 4] != esep or mm[at + 104:at + 105] != comp or mm[at + 105:at + 106] != term:
                raise _NoPlan
            isa_at, isa_bytes = at, mm[at:seg_end(at)]
            if at >= want:
                cuts.append(_Cut(at, "isa"))
                want = at + chunk_bytes
        elif sid == b"GS":
            gs_at, gs_bytes = at, mm[m.start() + 1:seg_end(at)]        # with the whitespace before it
        elif sid == b"IEA":
            after = seg_end(at)
            rest = mm[after:after + 64].lstrip(b"\r\n\t ")
            if rest and not rest.startswith(b"ISA"):
                raise _NoPlan
        elif sid == b"ST":
            if gs_at < 0:
                raise _NoPlan
            if at >= want:
                cuts.append(_Cut(at, "st", isa_bytes + gs_bytes, isa_at, gs_at))
                want = at + chunk_bytes
            j = i + 1                       # the matching SE
            while j < len(envs) and envs[j].group("id") != b"SE":
                if envs[j].group("id") != b"TA1":
                    raise _NoPlan
                j += 1
            if j >= len(envs):
                raise _NoPlan
            se_at = envs[j].start("id")
            if se_at > want:
                n = len(cuts)
                _cut_inside(mm, pats, cuts, at, se_at, want, chunk_bytes, isa_bytes + gs_bytes, isa_at, gs_at)
                if len(cuts) > n:
                    want = cuts[-1].offset + chunk_bytes
            i = j
        i += 1
    plan = FilePlan(path, size)
    number = 0
    for k, cut in enumerate(cuts):
        end = cuts[k + 1].offset if k + 1 < len(cuts) else size
        nxt = cuts[k + 1].kind if k + 1 < len(cuts) else ""
        trailer = {"hl": trail_se + trail_ge + trail_iea, "st": trail_ge + trail_iea}.get(nxt, b"")
        body = mm[cut.offset:end]
        claims = len(pats.clm.findall(body))
        plan.chunks.append(ChunkSpec(k, cut.offset, end, number, claims, cut.context, cut.context.count(term),
                                     trailer, cut.isa, cut.gs, cut.st, cut.hls))
        number += body.count(term)
    return plan


def _cut_inside(mm: mmap.mmap, pats: _Patterns, cuts: list[_Cut], st_at: int, se_at: int, want: int,
                chunk_bytes: int, env_ctx: bytes, isa_at: int, gs_at: int) -> None:
    """Cuts inside the transaction set at ``st_at`` (its SE at ``se_at``), at 2000A loops or at
    2000B loops whose parent is a 2000A loop.  The context of each: the envelope, the ST header
    and every 2000A loop of the transaction set before the cut."""
    first_hl = pats.hl.search(mm, st_at, se_at)
    if first_hl is None:
        return
    header = mm[st_at:first_hl.start() + 1]
    billing: list[tuple[int, bytes, bytes]] = []        # (offset, HL01, bytes) of the 2000A loops so far
    scan = st_at
    while want < se_at:
        m = pats.hl.search(mm, max(want - 1, first_hl.end()), se_at)
        while m is not None:
            at = m.start("id")
            for b in pats.hl20.finditer(mm, scan, m.start() + 1):
                b_at = b.start("id")
                if b_at >= at:
                    break
                nxt = pats.hl.search(mm, b_at, se_at)
                stop = nxt.start() + 1 if nxt is not None else se_at
                node = mm[b_at:stop]
                if pats.clm.search(node) is not None:
                    raise _NoPlan
                billing.append((b_at, b.group("hl1"), node))
            scan = m.start() + 1
            level, parent = m.group("hl3"), m.group("hl2")
            if (level == b"20" and not parent) or (level == b"22" and parent in {h for _, h, _ in billing}):
                break
            m = pats.hl.search(mm, m.end(), se_at)
        if m is None:
            return
        at = m.start("id")
        before = [(off, node) for off, _, node in billing if off < at]
        cuts.append(_Cut(at, "hl", env_ctx + header + b"".join(node for _, node in before), isa_at, gs_at, st_at,
                         tuple(off for off, _ in before)))
        want = at + chunk_bytes


# ------------------------------------------------------------------------------------------
# The task: scrub one chunk
# ------------------------------------------------------------------------------------------

#: Per ST: (isa key, ISA text, ISA13, gs key, GS text, GS06, GS pre, ST elements, other header segment texts)
HeaderInfo = tuple[int, str, str, int, str, str, str, list[str], list[str]]
#: Per HL loop: (level, parent key or -1, text of its segments after the HL, how many)
NodeInfo = tuple[str, int, str, int]
#: Per claim written: (ST key, HL chain keys, segment count, text of its segments)
ClaimRecord = tuple[int, tuple[int, ...], int, str]


@dataclass
class ChunkResult:
    index: int
    claims: int = 0
    clean: int = 0
    held: int = 0
    errors: int = 0
    warnings: int = 0
    charge_total: Decimal = Decimal("0")
    charge_held: Decimal = Decimal("0")
    by_rule: Counter[str] = field(default_factory=Counter)
    element: str = "*"
    terminator: str = "~"
    headers: dict[int, HeaderInfo] = field(default_factory=dict)
    nodes: dict[int, NodeInfo] = field(default_factory=dict)
    clean_claims: list[ClaimRecord] = field(default_factory=list)
    held_claims: list[ClaimRecord] = field(default_factory=list)
    json: str = ""
    html_held: str = ""
    html_clean: str = ""
    # with a spool: the same three texts in files (UTF-8), and the strings above empty
    json_file: str | None = None
    html_held_file: str | None = None
    html_clean_file: str | None = None
    claims_file: str | None = None      # (clean_claims, held_claims, headers, nodes), pickled
    rules: set[str] = field(default_factory=set)
    error: str | None = None            # an X12 error: the caller scrubs the file whole instead
    cpu_seconds: float = 0.0            # the task's own CPU time (its thread's; for the throughput model)


def scrub_chunk(scrubber: Scrubber, data: bytes, name: str, spec: ChunkSpec, *, json_report: bool = True,
                html_report: bool = True, spool: str | None = None) -> ChunkResult:
    """Scrub the claims of one chunk (``data`` = :meth:`ChunkSpec.data`).  With ``spool`` (a path
    prefix), the JSON entries and the HTML blocks are written to ``spool`` + ``.json``,
    ``.held.html``, ``.clean.html`` (each replaced atomically, so a task run again writes the
    same files) and only their names travel back."""
    t0 = time.thread_time()
    res = ChunkResult(spec.index)
    base = spec.start - len(spec.context)          # the file offset of data[0]
    parser = Parser837(data, name, first_number=spec.first_number - spec.context_segments, first_offset=base)
    json_buf = io.StringIO() if json_report else None
    json_writer = JsonReportWriter(json_buf, "") if json_buf is not None else None
    json_head = json_buf.tell() if json_buf is not None else 0
    html_held: list[str] = []
    html_clean: list[str] = []
    # keys: true offsets; the context's loops get the offsets they have in the file
    context_end = spec.start
    ctx_hls = list(spec.context_hls)
    node_keys: dict[int, int] = {}          # by the node's HL offset in ``data``'s coordinates
    header_keys: dict[int, int] = {}        # by the ST's offset

    def node_key(node: HLNode) -> int:
        off = node.hl.offset
        k = node_keys.get(off)
        if k is None:
            k = (ctx_hls.pop(0) if ctx_hls else -1) if off < context_end else off
            node_keys[off] = k
        return k

    nodes = res.nodes
    headers = res.headers
    try:
        for ev in parser.events():
            if type(ev) is HLNode:
                node_key(ev)
                continue
            if type(ev) is not Claim:
                continue
            claim = ev
            header = claim.header
            d = parser.delimiters
            esep, term = d.element, d.segment
            st_off = header.st.offset
            st_key = header_keys.get(st_off)
            if st_key is None:
                st_key = spec.context_st if st_off < context_end else st_off
                header_keys[st_off] = st_key
                isa, gs = header.isa, header.gs
                isa_key = isa.offset if isa.offset >= context_end else spec.context_isa
                gs_key = gs.offset if gs.offset >= context_end else spec.context_gs
                headers[st_key] = (isa_key, esep.join(isa.elements), isa.get(13), gs_key, esep.join(gs.elements),
                                   gs.get(6), gs.pre, list(header.segments[0].elements),
                                   [esep.join(s.elements) for s in header.segments[1:]])
                res.element, res.terminator = esep, term
            pre = header.gs.pre
            keys: list[int] = []
            for n in (claim.billing, claim.subscriber, claim.patient):
                if n is None:
                    continue
                k = node_key(n)
                keys.append(k)
                if k not in nodes:
                    segs = n.segments
                    nodes[k] = (n.level, node_key(n.parent) if n.parent is not None else -1,
                                (term + pre).join([esep.join(s.elements) for s in segs[1:]]), len(segs) - 1)
            chain = tuple(keys)
            segs = claim.segments[:]
            for line in claim.lines:
                segs.extend(line.segments)
            # the claim's text: its bytes in the chunk when every segment is preceded by the same
            # whitespace the writer puts (the usual case), else joined segment by segment
            last = segs[-1]
            begin = segs[0].offset - base
            end = last.offset - base + len(esep.join(last.elements))
            if all([sg.pre == pre for sg in segs[1:]]) and 0 <= begin < end <= len(data):
                text = data[begin:end].decode("latin-1")
            else:
                text = (term + pre).join([esep.join(sg.elements) for sg in segs])
            record = (st_key, chain, len(segs), text)
            result = scrubber.scrub(claim)
            res.claims += 1
            charge = claim.total_charge
            if charge is not None:
                res.charge_total += charge
            if result.held:
                res.held += 1
                if charge is not None:
                    res.charge_held += charge
                res.held_claims.append(record)
            else:
                res.clean += 1
                res.clean_claims.append(record)
            for f in result.findings:
                res.by_rule[f.rule] += 1
                if f.severity == "error":
                    res.errors += 1
                else:
                    res.warnings += 1
            if json_writer is not None:
                json_writer.add(result)
            if html_report:
                (html_held if result.held else html_clean).append(claim_html(result, res.rules))
    except X12Error as exc:
        return ChunkResult(spec.index, error=str(exc))
    if json_buf is not None:
        res.json = json_buf.getvalue()[json_head:]
    res.html_held = "".join(html_held)
    res.html_clean = "".join(html_clean)
    if spool is not None:
        res.json_file = _spool_text(spool + ".json", res.json)
        res.html_held_file = _spool_text(spool + ".held.html", res.html_held)
        res.html_clean_file = _spool_text(spool + ".clean.html", res.html_clean)
        res.json = res.html_held = res.html_clean = ""
        if res.clean_claims or res.held_claims:
            res.claims_file = _spool_bytes(spool + ".claims", pickle.dumps(
                (res.clean_claims, res.held_claims, res.headers, res.nodes), protocol=pickle.HIGHEST_PROTOCOL))
            res.clean_claims, res.held_claims, res.headers, res.nodes = [], [], {}, {}
    res.cpu_seconds = time.thread_time() - t0
    return res


def _spool_text(path: str, text: str) -> str | None:
    """``text`` written to ``path`` (0600) through a temporary name; None (no file) when empty."""
    return _spool_bytes(path, text.encode("utf-8")) if text else None


def _spool_bytes(path: str, data: bytes) -> str:
    tmp = f"{path}.{os.getpid()}.tmp"
    with private_open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)
    return path


# ------------------------------------------------------------------------------------------
# Merging
# ------------------------------------------------------------------------------------------


class MergeWriter:
    """:class:`edi.x837.ClaimWriter` (without its overrides) on claim records: the same bytes."""

    def __init__(self, out: IO[bytes], element: str, terminator: str) -> None:
        self.out = out
        self.esep = element
        self.term = terminator
        self.claims_written = 0
        self._isa = self._gs = self._st = None   # type: int | None
        self._isa13 = self._gs06 = ""
        self._st_count = self._gs_count = self._st_segments = self._st_number = 0
        self._hl_map: dict[int, str] = {}
        self._hl_next = 1
        self._pre = ""
        self._buf: list[str] = []
        self._size = 0

    def _emit(self, text: str, pre: str | None = None) -> None:
        self._buf.append((self._pre if pre is None else pre) + text + self.term)

    def flush(self) -> None:
        if self._buf:
            self.out.write("".join(self._buf).encode("latin-1"))
            self._buf.clear()
        self._size = 0

    def _close_st(self) -> None:
        if self._st is not None:
            self._st_segments += 1
            self._emit(self.esep.join(["SE", str(self._st_segments), f"{self._st_number:04d}"]))
            self._st = None

    def _close_gs(self) -> None:
        self._close_st()
        if self._gs is not None:
            self._emit(self.esep.join(["GE", str(self._st_count), self._gs06]))
            self._gs = None

    def _close_isa(self) -> None:
        self._close_gs()
        if self._isa is not None:
            self._emit(self.esep.join(["IEA", str(self._gs_count), self._isa13]))
            self._isa = None

    def write_chunk(self, records: list[ClaimRecord], headers: dict[int, HeaderInfo],
                    nodes: dict[int, NodeInfo]) -> None:
        esep, term = self.esep, self.term
        for st_key, chain, count, text in records:
            hdr = headers[st_key]
            if self._isa != hdr[0]:
                self._close_isa()
                self._isa, self._isa13 = hdr[0], hdr[2]
                self._gs_count = 0
                self._pre = hdr[6]
                self._emit(hdr[1], pre="" if self.claims_written == 0 else self._pre)
            if self._gs != hdr[3]:
                self._close_gs()
                self._gs, self._gs06 = hdr[3], hdr[5]
                self._gs_count += 1
                self._st_count = 0
                self._emit(hdr[4])
            if self._st != st_key:
                self._close_st()
                self._st = st_key
                self._st_count += 1
                self._st_number += 1
                self._st_segments = 0
                self._hl_map = {}
                self._hl_next = 1
                st = list(hdr[7])
                st[2] = f"{self._st_number:04d}"
                self._emit(esep.join(st))
                for s in hdr[8]:
                    self._emit(s)
                self._st_segments += 1 + len(hdr[8])
            pre = self._pre
            sep = term + pre
            old_map = self._hl_map
            new_map: dict[int, str] = {}
            parts: list[str] = []
            n_parts = 0
            last = len(chain) - 1
            for i, key in enumerate(chain):
                seen = old_map.get(key)
                if seen is not None:
                    new_map[key] = seen
                    continue
                number = str(self._hl_next)
                self._hl_next += 1
                new_map[key] = number
                level, parent, body, body_count = nodes[key]
                parts.append(esep.join(["HL", number, new_map.get(parent, "") if parent != -1 else "", level,
                                        "1" if i < last else "0"]))
                if body_count:
                    parts.append(body if pre == hdr[6] else _rejoin(body, term, hdr[6], pre))
                n_parts += 1 + body_count
            self._hl_map = new_map
            parts.append(text if pre == hdr[6] else _rejoin(text, term, hdr[6], pre))
            n_parts += count
            self._buf.append(pre + sep.join(parts) + term)
            self._st_segments += n_parts
            self._size += len(text)
            if self._size > 1 << 20:
                self.flush()
            self.claims_written += 1

    def close(self) -> None:
        self._close_isa()
        if self.claims_written:
            self._buf.append("\n" if self._pre.endswith("\n") else "")
        self.flush()


def _rejoin(text: str, term: str, old_pre: str, new_pre: str) -> str:
    parts = text.split(term + old_pre) if old_pre else text.split(term)
    return (term + new_pre).join(parts)


class _Output:
    def __init__(self, target: Path | None) -> None:
        self.file = PendingFile(target)
        self.writer: MergeWriter | None = None

    def write(self, res: ChunkResult, records: list[ClaimRecord]) -> None:
        if self.file.target is None or not records:
            return
        if self.writer is None:
            self.writer = MergeWriter(self.file.open(), res.element, res.terminator)
        self.writer.write_chunk(records, res.headers, res.nodes)

    def commit(self) -> str | None:
        if self.writer is not None:
            self.writer.close()
        return self.file.commit()

    def abort(self) -> None:
        self.file.abort()


class FileMerger:
    """The outputs of one input file, fed with its chunk results in order.  Spool files named
    by the results are copied in (``os.copy_file_range`` where it can) and removed."""

    def __init__(self, source: str, *, clean_out: str | os.PathLike[str] | None = None,
                 held_out: str | os.PathLike[str] | None = None, report: str | os.PathLike[str] | None = None,
                 html: str | os.PathLike[str] | None = None) -> None:
        self.source = source
        self.summary = ScrubSummary(file=source)
        self.clean = _Output(Path(clean_out) if clean_out else None)
        self.held = _Output(Path(held_out) if held_out else None)
        self.report = PendingFile(Path(report) if report else None, "w")
        self.json_writer = JsonReportWriter(self.report.open(), source) if report else None
        self.html_writer = HtmlReportWriter(html, Path(source).name) if html else None
        self._spooled: list[str] = []        # HTML pieces, copied at commit

    def add(self, res: ChunkResult) -> None:
        s = self.summary
        s.claims += res.claims
        s.clean += res.clean
        s.held += res.held
        s.errors += res.errors
        s.warnings += res.warnings
        s.charge_total += res.charge_total
        s.charge_held += res.charge_held
        s.by_rule.update(res.by_rule)
        if res.claims_file is not None:
            # written by our own worker into our private (0700) spool folder: the trust of Dask's
            # own messages, which are pickles too
            with open(res.claims_file, "rb") as spooled:
                res.clean_claims, res.held_claims, res.headers, res.nodes = pickle.load(spooled)  # noqa: S301
            os.unlink(res.claims_file)
        self.clean.write(res, res.clean_claims)
        self.held.write(res, res.held_claims)
        if self.json_writer is not None and (res.json or res.json_file):
            fh = self.report.open()
            if self.json_writer.count:
                fh.write(",\n")
            if res.json_file is not None:
                fh.flush()
                append_file(fh.fileno(), res.json_file)
                os.unlink(res.json_file)
            else:
                fh.write(res.json)
            self.json_writer.count += res.claims
        elif res.json_file is not None:
            os.unlink(res.json_file)
        for piece in (res.html_held_file, res.html_clean_file):
            if piece is not None:
                self._spooled.append(piece)
        if self.html_writer is not None:
            if res.html_held_file is not None or res.html_clean_file is not None:
                self.html_writer.add_part_files(res.html_held_file, res.html_clean_file, res.rules)
            else:
                self.html_writer.add_parts(res.html_held, res.html_clean, res.rules)

    def commit(self) -> ScrubSummary:
        s = self.summary
        s.clean_out = self.clean.commit()
        s.held_out = self.held.commit()
        if self.json_writer is not None:
            self.json_writer.close(s.as_dict())
            self.report.commit()
        if self.html_writer is not None:
            self.html_writer.close(s.as_dict())
        self._remove_spooled()
        return s

    def abort(self) -> None:
        self.clean.abort()
        self.held.abort()
        self.report.abort()
        if self.html_writer is not None:
            self.html_writer.abort()
        self._remove_spooled()

    def _remove_spooled(self) -> None:
        for piece in self._spooled:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(piece)
        self._spooled.clear()


def scrub_file_in_chunks(source: str | os.PathLike[str], scrubber: Scrubber, *,
                         chunk_bytes: int = DEFAULT_CHUNK_BYTES, clean_out: str | os.PathLike[str] | None = None,
                         held_out: str | os.PathLike[str] | None = None, report: str | os.PathLike[str] | None = None,
                         html: str | os.PathLike[str] | None = None,
                         spool: str | os.PathLike[str] | None = None) -> ScrubSummary:
    """Plan, scrub every chunk in this process and merge: the same outputs as
    :func:`scrubber.run.scrub_file` (a reference for the distributed run, and its tests).  With
    ``spool`` (a folder), each chunk is read from the file by its offsets and its report pieces
    go through spool files there, as on a cluster with shared storage."""
    from scrubber.run import scrub_file

    name = str(source)
    plan = plan_chunks(source, chunk_bytes)
    if plan is None:
        return scrub_file(source, clean_out=clean_out, held_out=held_out, report=report, html=html,
                          scrubber=scrubber, progress=False)
    merger = FileMerger(name, clean_out=clean_out, held_out=held_out, report=report, html=html)
    try:
        with Path(source).open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            for spec in plan.chunks:
                data = spec.data(mm) if spool is None else spec.read(source)
                res = scrub_chunk(scrubber, data, Path(source).name, spec, json_report=report is not None,
                                  html_report=html is not None,
                                  spool=None if spool is None else os.path.join(spool, str(spec.index)))
                if res.error is not None:
                    merger.abort()
                    return scrub_file(source, clean_out=clean_out, held_out=held_out, report=report, html=html,
                                      scrubber=scrubber, progress=False)
                merger.add(res)
    except BaseException:
        merger.abort()
        raise
    return merger.commit()
