"""Streaming X12 segment reader.

Reads an X12 file in fixed-size blocks and yields one :class:`Segment` at a time, so
memory stays flat whatever the number of claims.  Delimiters come from each ISA
(element separator ISA position 4, repetition separator ISA11, component separator
ISA16, segment terminator after ISA16); any legal choice works, with or without
newlines after each terminator.  The whitespace that followed each terminator is
kept on the next segment (``pre``) so that a file can be written back byte for byte.

The reader also checks the envelopes: ISA13=IEA02, GS06=GE02, ST02=SE02, SE01 segment
count, GE01 and IEA01 counts.  Mismatches are collected as :class:`Finding` objects;
input that cannot be read (no ISA, a short ISA, a truncated file, binary data, a
version other than 5010) raises :class:`X12Error` naming the segment.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, BinaryIO

from edi.errors import Finding, NotX12Error, WrongTransactionError, X12Error

# 256 KiB: a block's bytes, text and segment strings stay small (1 MiB blocks: ~9 MB more peak RSS
# on a 100k-claim scrub, and no faster)
CHUNK_SIZE = 1 << 18
ISA_LENGTH = 106
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{1,2}\Z")
_WS = "\r\n \t"
_BOM = "\xef\xbb\xbf"      # the UTF-8 byte-order mark, as latin-1 text
_ENVELOPE_IDS = frozenset({"ISA", "GS", "ST", "SE", "GE", "IEA"})
# bytes that are never a control character: deleting them from a block leaves only the
# control characters (bytes.translate runs at memory speed)
_PLAIN_BYTES = bytes([*range(32, 127), *range(128, 256), 10, 13])


class Delimiters:
    """The four X12 delimiters of one interchange."""

    __slots__ = ("component", "element", "repetition", "segment")

    def __init__(self, element: str = "*", component: str = ":", repetition: str = "^",
                 segment: str = "~") -> None:
        self.element = element
        self.component = component
        self.repetition = repetition
        self.segment = segment

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Delimiters) and (
            self.element, self.component, self.repetition, self.segment
        ) == (other.element, other.component, other.repetition, other.segment)

    def __hash__(self) -> int:
        return hash((self.element, self.component, self.repetition, self.segment))

    def __repr__(self) -> str:
        return (f"Delimiters(element={self.element!r}, component={self.component!r}, "
                f"repetition={self.repetition!r}, segment={self.segment!r})")


class Segment:
    """One segment.  ``elements[0]`` is the segment id, ``elements[n]`` is element n.

    ``number`` is the 1-based position in the file, ``offset`` the byte offset of the
    segment id, ``pre`` the whitespace (CR/LF) that stood between the previous
    terminator and this segment.
    """

    __slots__ = ("elements", "number", "offset", "pre")

    def __init__(self, elements: list[str], number: int = 0, offset: int = 0, pre: str = "") -> None:
        self.elements = elements
        self.number = number
        self.offset = offset
        self.pre = pre

    @property
    def id(self) -> str:
        return self.elements[0]

    def get(self, index: int) -> str:
        """Element ``index`` (1-based), or "" when the segment is shorter."""
        elements = self.elements
        return elements[index] if index < len(elements) else ""

    def set(self, index: int, value: str) -> None:
        """Set element ``index``, padding with empty elements where needed."""
        elements = self.elements
        while len(elements) <= index:
            elements.append("")
        elements[index] = value

    def __len__(self) -> int:
        return len(self.elements) - 1

    def __repr__(self) -> str:
        # Only the id and position: element values may be PHI.
        return f"<Segment {self.elements[0]} #{self.number}>"

    def render(self, delimiters: Delimiters) -> str:
        return self.pre + delimiters.element.join(self.elements) + delimiters.segment


class WrappedSegment(Segment):
    """A segment of a file wrapped at a fixed width: line breaks fell inside it.  ``elements`` hold the
    values without the breaks; ``raw`` is the text as read (breaks included), so that the file writes
    back byte for byte while its elements are unchanged."""

    __slots__ = ("raw",)

    def __init__(self, elements: list[str], number: int, offset: int, pre: str, raw: str) -> None:
        super().__init__(elements, number, offset, pre)
        self.raw = raw

    def render(self, delimiters: Delimiters) -> str:
        text = delimiters.element.join(self.elements)
        raw = self.raw
        if raw.replace("\r", "").replace("\n", "") == text:
            text = raw
        return self.pre + text + delimiters.segment


def segment_text(seg: Segment, delimiters: Delimiters) -> str:
    """A segment as written back: its whitespace, its text (as read for a wrapped one), its terminator."""
    if type(seg) is WrappedSegment:
        return seg.render(delimiters)
    return seg.pre + delimiters.element.join(seg.elements) + delimiters.segment


def split_composite(value: str, component: str) -> list[str]:
    return value.split(component) if value else []


class SegmentReader:
    """Iterate the segments of one X12 file.

    ``source`` may be a path, bytes or a binary file object.  ``name`` is used in
    errors.  After iteration, ``findings`` holds the envelope findings and
    ``trailer`` the bytes that followed the last terminator.
    """

    def __init__(self, source: str | os.PathLike[str] | bytes | BinaryIO, name: str | None = None,
                 *, chunk_size: int = CHUNK_SIZE) -> None:
        if isinstance(source, (bytes, bytearray)):
            self._stream: BinaryIO = io.BytesIO(bytes(source))
            self._close = False
            self.name = name or "<bytes>"
        elif isinstance(source, (str, os.PathLike)):
            path = Path(source)
            try:
                self._stream = path.open("rb")
            except OSError as exc:
                raise X12Error(f"cannot open file: {exc.strerror}", file=name or str(path)) from None
            self._close = True
            self.name = name or str(path)
        else:
            self._stream = source
            self._close = False
            self.name = name or str(getattr(source, "name", "<stream>"))
        self.chunk_size = chunk_size
        self.delimiters: Delimiters | None = None
        self.findings: list[Finding] = []
        self.trailer = ""
        self.interchanges = 0
        self.segment_count = 0
        self.bytes_read = 0
        self._dirty = False
        self._wrap_reported = False

    # -- helpers -------------------------------------------------------------------------
    def _error(self, message: str, seg: Segment | None = None, element: str | None = None,
               cls: type[X12Error] = X12Error, number: int | None = None, offset: int | None = None,
               segment_id: str | None = None) -> X12Error:
        return cls(
            message,
            file=self.name,
            segment_number=seg.number if seg is not None else number,
            segment_id=seg.id if seg is not None else segment_id,
            element=element,
            offset=seg.offset if seg is not None else offset,
        )

    def _finding(self, seg: Segment, element: str | None, message: str) -> None:
        self.findings.append(Finding(seg.number, seg.id, element, message, code="envelope", file=self.name))

    def _read(self) -> str:
        data = self._stream.read(self.chunk_size)
        self.bytes_read += len(data)
        if not self._dirty and data.translate(None, _PLAIN_BYTES):
            # a control character (other than CR/LF): from now on every block is searched
            # for the exact position (it may yet be a delimiter of this interchange)
            self._dirty = True
        return data.decode("latin-1")

    def _parse_isa(self, buf: str, number: int, offset: int) -> Delimiters:
        if not buf.startswith("ISA"):
            lead = re.match(r"[A-Z][A-Z0-9]{1,2}(?=[^A-Za-z0-9 ])", buf[:4])
            snippet_ok = buf[:3].isalnum() or lead is not None
            sid = lead.group() if lead is not None else buf[:3]
            raise self._error(
                "not an X12 interchange: the file must start with an ISA segment"
                + ("" if snippet_ok else " (binary or non-text data)"),
                cls=NotX12Error, number=number, offset=offset, segment_id=sid if snippet_ok else None)
        element = buf[3] if len(buf) > 3 else ""
        isa = buf[:ISA_LENGTH]
        parts = isa[:-1].split(element) if element else []
        if len(buf) < ISA_LENGTH or len(parts) != 17 or any(
                len(p) != w for p, w in zip(parts[1:], _ISA_WIDTHS, strict=True)):
            # not the fixed-length form: a wrapped ISA (line breaks inside it) or one whose
            # elements are not padded, read when its 16 elements and separators are unambiguous
            tolerated = self._tolerant_isa(buf, number)
            if tolerated is None:
                if len(buf) < ISA_LENGTH:
                    raise self._error(f"short ISA segment: {len(buf)} characters where 106 are required",
                                      number=number, offset=offset, segment_id="ISA")
                bad = _first_bad_isa_element(parts)
                raise self._error("malformed ISA: ISA is fixed-length (106 characters) with 16 elements",
                                  number=number, offset=offset, segment_id="ISA", element=bad)
            isa, parts = tolerated
        segment = isa[-1]
        component = isa[-2]
        repetition = parts[11]
        if parts[12] != "00501":
            raise self._error(
                f"interchange version {parts[12]} is not supported: dermedi reads X12 5010 (00501)",
                cls=WrongTransactionError, number=number, offset=offset, segment_id="ISA", element="ISA12")
        if segment.isalnum() or component.isalnum() or element.isalnum():
            raise self._error("ISA delimiters must not be letters or digits", number=number,
                              offset=offset, segment_id="ISA", element="ISA16")
        distinct = [element, component, segment] + ([] if repetition.isalnum() else [repetition])
        if len(set(distinct)) != len(distinct):
            raise self._error("ISA delimiters must be distinct", number=number, offset=offset,
                              segment_id="ISA", element="ISA16")
        if repetition.isalnum() or repetition == " ":
            repetition = ""  # no repetition separator in use (ISA11 is a code, e.g. U)
        return Delimiters(element, component, repetition or "^", segment)

    def tolerance(self, number: int, segment_id: str, element: str | None, message: str) -> None:
        """Record input that a strict reader refuses and this one reads (a warning for ``validate``)."""
        self.findings.append(Finding(number, segment_id, element, message, code="tolerance", severity="warning",
                                     file=self.name))

    def _tolerant_isa(self, buf: str, number: int) -> tuple[str, list[str]] | None:
        """(ISA text without breaks, its 17 parts) of an ISA that is wrapped or not padded, or None.

        Unambiguous means: the element separator at position 3 (not a letter, digit or space), 16
        elements each no longer than its fixed width, ISA16 one character (the component separator)
        and the segment terminator right after it."""
        element = buf[3] if len(buf) > 3 else ""
        if not element or element.isalnum() or element in " \r\n":
            return None
        head = buf[:ISA_LENGTH + 16]
        hit = _split_loose_isa(head, element)
        wrapped = False
        if hit is None and ("\n" in head or "\r" in head):
            hit = _split_loose_isa(head.replace("\r", "").replace("\n", ""), element)
            wrapped = hit is not None and hit[0][-1] not in "\r\n"
            if not wrapped:
                return None
        if hit is None:
            return None
        isa, parts = hit
        if not all(len(p) == w for p, w in zip(parts[1:], _ISA_WIDTHS, strict=True)):
            self.tolerance(number, "ISA", None, f"ISA elements are not padded to their fixed widths ({len(isa)} "
                            "characters where 106 are required): read by its separators")
        if wrapped:
            self.tolerance(number, "ISA", None, "line break inside the ISA (file wrapped at a fixed width): "
                            "ignored")
        return isa, parts

    # -- iteration ------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Segment]:
        return self._iterate()

    def _iterate(self) -> Iterator[Segment]:
        # Hot loop: one pass per 256 KiB block.  Per segment it does one str.split, one
        # object and a few set lookups; the block-level work (control-character scan,
        # splitting on the terminator) runs in C.  See docs/performance.md.
        try:
            buf = self._read()
            offset = 0          # byte offset of buf[0]
            number = 0          # segments yielded so far
            eof = False
            need_isa = True
            # envelope state
            isa: Segment | None = None
            gs: Segment | None = None
            st: Segment | None = None
            gs_count = st_count = st_segments = 0
            delims: Delimiters | None = None
            bad_chars: re.Pattern[str] | None = None
            carry_pre = ""      # whitespace before an ISA, already consumed from buf
            known_ids: dict[str, bool] = {}     # segment ids already checked against _SEGMENT_ID -> envelope id
            envelope_ids = _ENVELOPE_IDS

            while True:
                if need_isa:
                    # skip whitespace between interchanges (kept as the next segment's 'pre')
                    while True:
                        stripped = buf.lstrip(_WS)
                        if stripped or eof:
                            break
                        more = self._read()
                        if not more:
                            eof = True
                        buf += more
                    if number == 0 and stripped[:3] == _BOM:
                        # a UTF-8 byte-order mark (read as latin-1): kept in the ISA's whitespace
                        stripped = stripped[3:].lstrip(_WS)
                        self.tolerance(1, "ISA", None, "UTF-8 byte-order mark before the ISA: ignored")
                    pre_len = len(buf) - len(stripped)
                    if number == 0 and stripped and pre_len and buf[:pre_len].replace(_BOM, "", 1):
                        self.tolerance(1, "ISA", None, "whitespace before the ISA: ignored")
                    if not stripped:
                        if self.interchanges == 0:
                            raise self._error("empty file: no ISA segment found", cls=NotX12Error,
                                              number=1, offset=offset)
                        self.trailer = buf
                        return
                    while len(stripped) < ISA_LENGTH + 17 and not eof:
                        more = self._read()
                        if not more:
                            eof = True
                        buf += more
                        stripped = buf[pre_len:]
                    delims = self._parse_isa(stripped, number + 1, offset + pre_len)
                    self.delimiters = delims
                    specials = {delims.element, delims.component, delims.segment, delims.repetition, "\r", "\n"}
                    bad_chars = re.compile(
                        "[" + "".join(re.escape(chr(c)) for c in [*range(0, 32), 127] if chr(c) not in specials)
                        + "]")
                    need_isa = False
                    # the whitespace before the ISA goes to the ISA's 'pre': it may contain
                    # this interchange's own terminator (e.g. a newline-terminated one)
                    carry_pre = buf[:pre_len]
                    buf = buf[pre_len:]
                    offset += pre_len

                assert delims is not None and bad_chars is not None
                term = delims.segment
                esep = delims.element
                cut = buf.rfind(term)
                while cut < 0 and not eof:
                    more = self._read()
                    if not more:
                        eof = True
                        break
                    buf += more
                    cut = buf.rfind(term)
                if cut < 0:
                    # no terminator left: either trailing whitespace or an unterminated segment
                    if buf.strip(_WS) == "":
                        self.trailer = buf
                        break
                    # an unterminated last segment
                    body = buf
                    rest = ""
                    final_unterminated = True
                else:
                    body = buf[:cut]
                    rest = buf[cut + 1:]
                    final_unterminated = False

                if self._dirty:
                    # a control character was read somewhere: find the first one in this block
                    bad = bad_chars.search(body)
                    if bad is not None:
                        pos = bad.start()
                        seg_no = number + body.count(term, 0, pos) + 1
                        raise self._error(
                            f"binary or control character 0x{ord(bad.group()):02x} in X12 data",
                            cls=NotX12Error, number=seg_no, offset=offset + pos)

                texts, pres, style, pre = _split_block(body, term)
                # a file wrapped at a fixed width: line breaks inside segments (the terminator is not a
                # line break, and breaks are not only right after terminators); one C scan per block
                wrapped: dict[int, tuple[str, int]] | None = None
                if (pres is not None or not style) and term not in "\r\n" and ("\n" in body or "\r" in body):
                    wrapped = _unwrap(texts, number)
                    if not wrapped:
                        wrapped = None
                    elif not self._wrap_reported:
                        self._wrap_reported = True
                        first = min(wrapped)
                        self.tolerance(first, texts[first - number - 1].lstrip(_WS).split(esep, 1)[0], None,
                                        "line breaks inside segments (file wrapped at a fixed width): ignored")
                restart = False
                end = offset        # offset just after the previous terminator
                if carry_pre:
                    if pres is not None:
                        pres[0] = carry_pre + pres[0]
                    else:
                        pre = carry_pre + pre
                    end -= len(carry_pre)
                    carry_pre = ""
                k = 0
                for text in texts:
                    if pres is not None:
                        pre = pres[k]
                        k += 1
                    seg_offset = end + len(pre)
                    end = seg_offset + len(text) + 1
                    number += 1
                    if not text:
                        raise self._error("empty segment (two terminators in a row)", number=number,
                                          offset=seg_offset)
                    elements = text.split(esep)
                    seg = Segment(elements, number, seg_offset, pre)
                    if wrapped is not None:
                        hit = wrapped.get(number)
                        if hit is not None:
                            seg = WrappedSegment(elements, number, seg_offset, pre, hit[0])
                            end += hit[1]
                    sid = elements[0]
                    envelope = known_ids.get(sid)   # one lookup per segment: known id, envelope or not
                    if envelope is None:
                        if pres is None and text[:1] in _WS:
                            # more whitespace than the block's style after the terminator
                            stripped = text.lstrip(_WS)
                            extra = len(text) - len(stripped)
                            pre += text[:extra]
                            seg_offset += extra
                            text = stripped
                            if not text:
                                raise self._error("empty segment (two terminators in a row)", number=number,
                                                  offset=seg_offset)
                            elements = text.split(esep)
                            seg.elements = elements
                            seg.offset = seg_offset
                            seg.pre = pre
                            sid = elements[0]
                        envelope = known_ids.get(sid)
                        if envelope is None:
                            if _SEGMENT_ID.match(sid) is None:
                                raise self._error("not a segment id: expected 2-3 upper-case letters or digits",
                                                  seg=seg, cls=NotX12Error if isa is None else X12Error)
                            envelope = sid in envelope_ids
                            known_ids[sid] = envelope
                    if not envelope:
                        if st is not None:
                            st_segments += 1
                        elif isa is None:
                            raise self._error("segment outside an interchange (expected ISA)", seg=seg)
                        elif sid != "TA1":
                            raise self._error("segment outside a transaction set (expected ST)", seg=seg)
                    # ---- envelope checks -------------------------------------------------
                    elif sid == "ISA":
                        if isa is not None:
                            raise self._error("ISA inside an open interchange (missing IEA)", seg=seg)
                        isa = seg
                        gs_count = 0
                        self.interchanges += 1
                    elif isa is None:
                        raise self._error("segment outside an interchange (expected ISA)", seg=seg)
                    elif sid == "ST":
                        if gs is None:
                            raise self._error("ST outside a functional group (missing GS)", seg=seg)
                        if st is not None:
                            raise self._error("ST inside an open transaction set (missing SE)", seg=seg)
                        st = seg
                        st_segments = 1
                        st_count += 1
                    elif sid == "SE":
                        if st is None:
                            raise self._error("SE without ST", seg=seg)
                        st_segments += 1
                        if seg.get(1) != str(st_segments):
                            self._finding(seg, "SE01",
                                          f"SE01 segment count is {seg.get(1)!r}, the transaction set has "
                                          f"{st_segments} segments")
                        if seg.get(2) != st.get(2):
                            self._finding(seg, "SE02",
                                          f"SE02 control number {seg.get(2)!r} does not match ST02 {st.get(2)!r}")
                        st = None
                    elif sid == "GS":
                        if gs is not None:
                            raise self._error("GS inside an open functional group (missing GE)", seg=seg)
                        gs = seg
                        st_count = 0
                        gs_count += 1
                    elif sid == "GE":
                        if gs is None:
                            raise self._error("GE without GS", seg=seg)
                        if st is not None:
                            raise self._error("GE inside an open transaction set (missing SE)", seg=seg)
                        if seg.get(1) != str(st_count):
                            self._finding(seg, "GE01", f"GE01 is {seg.get(1)!r}, the group has {st_count} "
                                          "transaction sets")
                        if seg.get(2) != gs.get(6):
                            self._finding(seg, "GE02",
                                          f"GE02 control number {seg.get(2)!r} does not match GS06 {gs.get(6)!r}")
                        gs = None
                    else:  # IEA
                        if gs is not None:
                            raise self._error("IEA inside an open functional group (missing GE)", seg=seg)
                        if seg.get(1) != str(gs_count):
                            self._finding(seg, "IEA01", f"IEA01 is {seg.get(1)!r}, the interchange has "
                                          f"{gs_count} functional groups")
                        if seg.get(2) != isa.get(13) and not _same_number(seg.get(2), isa.get(13)):
                            self._finding(seg, "IEA02", f"IEA02 control number {seg.get(2)!r} does not match "
                                          f"ISA13 {isa.get(13)!r}")
                        isa = None
                        restart = True
                    self.segment_count = number
                    yield seg
                    if restart:
                        break
                    pre = style

                if restart:
                    if final_unterminated:
                        self._unterminated = True   # an unterminated IEA ends the file
                    # the next interchange may use other delimiters: re-read its ISA
                    consumed = end - offset
                    offset = end
                    buf = buf[consumed:]
                    need_isa = True
                    if not buf.strip(_WS) and eof:
                        self.trailer = buf
                        break
                    continue

                if final_unterminated:
                    offset = end - 1
                    self.trailer = ""
                    self._unterminated = True
                    break
                offset = end
                buf = rest
                if not eof:
                    more = self._read()
                    if not more:
                        eof = True
                    buf += more
                if eof and not buf.strip(_WS):
                    self.trailer = buf
                    break

            if st is not None:
                raise self._error("file ends inside a transaction set: SE segment missing (truncated file)",
                                  number=number + 1, offset=offset, segment_id="SE")
            if gs is not None:
                raise self._error("file ends inside a functional group: GE segment missing (truncated file)",
                                  number=number + 1, offset=offset, segment_id="GE")
            if isa is not None:
                raise self._error("file ends inside an interchange: IEA segment missing (truncated file)",
                                  number=number + 1, offset=offset, segment_id="IEA")
        finally:
            if self._close:
                self._stream.close()

    @property
    def unterminated(self) -> bool:
        """True when the last segment had no terminator."""
        return getattr(self, "_unterminated", False)


def _split_block(body: str, term: str) -> tuple[list[str], list[str] | None, str, str]:
    """Split a block of segments (ending before its last terminator) into segment texts.

    Returns ``(texts, pres, style, first_pre)``.  In the common case every terminator is
    followed by the same whitespace ``style`` ("", "\\n" or "\\r\\n"): the block is split on
    terminator+style in one C call, ``pres`` is None, the first text's whitespace is
    ``first_pre`` and every other text's is ``style`` (a text may still start with more
    whitespace: the caller strips it).  Otherwise ``pres`` lists the whitespace before each
    text.
    """
    i = body.find(term)
    if i >= 0:
        after = body[i + 1:i + 3]
        if after[:1] == "\n":
            style = "\n"
        elif after == "\r\n":
            style = "\r\n"
        elif after and after[0] not in _WS:
            style = ""
        else:
            style = "?"
        if style != "?":
            texts = body.split(term + style)
            # every terminator is followed by the style (more whitespace after it is dealt
            # with in the segment loop: it makes the segment id unknown)
            if not style or len(texts) - 1 == body.count(term):
                first = texts[0]
                first_pre = ""
                if first[:1] in _WS:
                    stripped = first.lstrip(_WS)
                    first_pre = first[:len(first) - len(stripped)]
                    texts[0] = stripped
                return texts, None, style, first_pre
    # mixed whitespace after the terminators: strip each part
    texts = []
    pres: list[str] = []
    for part in body.split(term):
        if part[:1] in _WS:
            text = part.lstrip(_WS)
            pres.append(part[:len(part) - len(text)])
        else:
            text = part
            pres.append("")
        texts.append(text)
    return texts, pres, "", ""


_ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)


def _same_number(a: str, b: str) -> bool:
    """IEA02 against an unpadded ISA13: the same control number with other zero padding."""
    return a.isdigit() and b.strip().isdigit() and int(a) == int(b)


def _unwrap(texts: list[str], base: int) -> dict[int, tuple[str, int]]:
    """Drop the line breaks inside the segment texts of a block (after their leading whitespace, which
    stays the segment's ``pre``), in place.  Returns {segment number: (text as read, characters
    dropped)} for the segments that had any; ``base`` is the number of the segment before the block."""
    out: dict[int, tuple[str, int]] = {}
    for i, t in enumerate(texts):
        if "\n" in t or "\r" in t:
            core = t.lstrip(_WS)
            if "\n" in core or "\r" in core:
                clean = core.replace("\r", "").replace("\n", "")
                texts[i] = t[:len(t) - len(core)] + clean
                out[base + i + 1] = (core, len(core) - len(clean))
    return out


def _split_loose_isa(head: str, element: str) -> tuple[str, list[str]] | None:
    """(ISA text, its 17 parts) when ``head`` starts with an ISA of 16 elements no longer than their
    fixed widths, a one-character ISA16 and a terminator right after it; else None."""
    pos = 3
    for _ in range(15):
        pos = head.find(element, pos + 1)
        if pos < 0:
            return None
    end = pos + 3                       # ISA16, then the terminator
    if end > len(head):
        return None
    isa = head[:end]
    parts = isa[:-1].split(element)
    segment = isa[-1]
    if len(parts) != 17 or len(parts[16]) != 1 or segment.isalnum() or segment in (" ", element, parts[16]):
        return None
    if any(len(p) > w for p, w in zip(parts[1:], _ISA_WIDTHS, strict=True)) or segment in "".join(parts[1:16]):
        return None
    return isa, parts


def _first_bad_isa_element(parts: list[str]) -> str:
    for i, (p, w) in enumerate(zip(parts[1:], _ISA_WIDTHS, strict=False), start=1):
        if len(p) != w:
            return f"ISA{i:02d}"
    return f"ISA{min(len(parts), 17):02d}"


def read_segments(source: str | os.PathLike[str] | bytes | BinaryIO, name: str | None = None) -> list[Segment]:
    """Read a whole (small) file into a list; for tests and tools, not for batches."""
    return list(SegmentReader(source, name))


def write_segments(segments: Iterable[Segment], delimiters: Delimiters, out: IO[bytes], trailer: str = "") -> None:
    """Write segments as read (each with the whitespace that preceded it), then ``trailer``:
    the original form, byte for byte.  Buffered in ~1 MiB writes; memory stays flat."""
    esep, term = delimiters.element, delimiters.segment
    buf: list[str] = []
    size = 0
    for s in segments:
        if type(s) is Segment:
            text = s.pre + esep.join(s.elements) + term
        else:
            text = segment_text(s, delimiters)
        buf.append(text)
        size += len(text)
        if size > 1 << 20:
            out.write("".join(buf).encode("latin-1"))
            buf.clear()
            size = 0
    buf.append(trailer)
    out.write("".join(buf).encode("latin-1"))


def check_transaction_type(seg: Segment, file: str, *, functional_id: str, st01: str, implementation: str,
                           label: str, accepted: Iterable[str] = ()) -> list[tuple[str, str]]:
    """For a GS or ST segment: raise :class:`WrongTransactionError` (naming GS08, ST01 or ST03) unless it
    belongs to the expected transaction, e.g. ``functional_id="HC", st01="837",
    implementation="005010X222A1", label="837P"``.

    ``accepted``: other implementation references read as this one (e.g. ``005010X222A2``,
    ``005010X222``).  Returns the tolerance warnings: such a reference, or a GS01 that contradicts the
    transaction (the group is then read by its GS08 and ST01), as (element, message) pairs."""
    def wrong(message: str, element: str) -> WrongTransactionError:
        return WrongTransactionError(message, file=file, segment_number=seg.number, segment_id=seg.id,
                                     element=element, offset=seg.offset)

    warnings: list[tuple[str, str]] = []
    if seg.id == "GS":
        gs08 = seg.get(8)
        if gs08 != implementation and gs08 not in accepted:
            article = "an" if label[:1] in "8AEIOU" else "a"
            raise wrong(f"functional group is {seg.get(1)} {gs08}, not {article} {label} "
                        f"({functional_id} {implementation})", "GS08")
        if gs08 != implementation:
            warnings.append(("GS08", f"GS08 {gs08} read as {implementation} ({label}; pyx12 validates it with the "
                                     f"{implementation} map)"))
        if seg.get(1) != functional_id:
            warnings.append(("GS01", f"GS01 {seg.get(1)!r} contradicts the {label} transaction ({functional_id}): "
                             "read by ST01"))
    elif seg.id == "ST":
        if seg.get(1) != st01:
            article = "an" if label[:1] in "8AEIOU" else "a"
            raise wrong(f"transaction set {seg.get(1)} where {article} {label} was expected", "ST01")
        st03 = seg.get(3)
        if st03 and st03 != implementation:
            if st03 not in accepted:
                raise wrong(f"ST03 {st03!r} is not {implementation}", "ST03")
            warnings.append(("ST03", f"ST03 {st03} read as {implementation} ({label}; pyx12 validates it with the "
                                     f"{implementation} map)"))
    return warnings
