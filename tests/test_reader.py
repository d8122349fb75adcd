"""edi.reader.SegmentReader: delimiters, whitespace, envelopes, chunk boundaries."""

from __future__ import annotations

import pytest
from x12util import ClaimSpec, LineSpec, build_837

from edi.errors import X12Error
from edi.reader import Delimiters, SegmentReader
from edi.x837 import Parser837

DELIMS = [
    # element, component, repetition, segment, newline after each segment
    ("*", ":", "^", "~", "\n"),
    ("*", ":", "^", "~", ""),
    ("*", ":", "^", "~", "\r\n"),
    ("|", ">", "^", "~", ""),
    ("|", ">", "^", "\n", ""),
    ("!", "}", "{", "'", "\r\n"),
    ("\x1d", "\x1f", "^", "\x1c", ""),
]


def render(reader_data: bytes, chunk_size: int = 1 << 20) -> tuple[str, SegmentReader]:
    reader = SegmentReader(reader_data, "x.837", chunk_size=chunk_size)
    parts: list[str] = []
    for seg in reader:
        assert reader.delimiters is not None
        parts.append(seg.render(reader.delimiters))
    text = "".join(parts)
    if reader.unterminated:
        text = text[:-1]
    return text + reader.trailer, reader


@pytest.mark.parametrize(("element", "component", "repetition", "segment", "newline"), DELIMS)
def test_delimiters_come_from_the_isa(element: str, component: str, repetition: str, segment: str,
                                      newline: str) -> None:
    claim = ClaimSpec(claim_id="D1", pos="22", frequency="7", diagnoses=["L570", "C44311"],
                      lines=[LineSpec(code="11102", modifiers=["59", "XS"])])
    data = build_837([claim], element=element, component=component, repetition=repetition,
                     segment=segment, newline=newline)
    reader = SegmentReader(data, "x.837")
    segs = list(reader)
    assert reader.delimiters == Delimiters(element, component, repetition, segment)
    assert [s.number for s in segs] == list(range(1, len(segs) + 1))
    assert segs[0].id == "ISA" and segs[-1].id == "IEA"
    assert reader.findings == []
    # the components were split with the file's component separator
    (parsed,) = list(Parser837(data, "x.837").claims())
    assert parsed.place_of_service == "22" and parsed.frequency_code == "7"
    assert parsed.diagnosis_codes == ["L57.0", "C44.311"]
    assert parsed.lines[0].modifiers == ["59", "XS"]


@pytest.mark.parametrize("newline", ["", "\n", "\r\n"])
def test_whitespace_after_segments_is_kept_for_byte_exact_writing(newline: str) -> None:
    data = build_837(newline=newline)
    text, _ = render(data)
    assert text.encode("latin-1") == data
    segs = list(SegmentReader(data))
    assert all(s.pre == (newline if s.number > 1 else "") for s in segs)


def test_unterminated_last_segment() -> None:
    data = build_837(newline="").rstrip(b"~")
    assert data.endswith(b"IEA*1*000000001")
    reader = SegmentReader(data, "u.837")
    segs = list(reader)
    assert reader.unterminated
    assert segs[-1].elements == ["IEA", "1", "000000001"]
    assert reader.findings == []
    text, _ = render(data)
    assert text.encode("latin-1") == data


def test_several_interchanges_with_different_delimiters() -> None:
    b = build_837([ClaimSpec(claim_id="B1", pos="22"), ClaimSpec(claim_id="B2", pos="22")],
                  element="|", component=">", segment="\n", newline="", control="000000002")
    a = build_837([ClaimSpec(claim_id="A1", pos="11")], control="000000001")
    c = build_837([ClaimSpec(claim_id="C1", pos="19")], element="!", component="}", repetition="{",
                  segment="'", newline="\r\n", control="000000003")
    data = b + a + c
    reader = SegmentReader(data, "multi.837")
    ids = [s.id for s in reader]
    assert ids.count("ISA") == 3 and ids.count("IEA") == 3
    assert reader.interchanges == 3
    assert reader.findings == []
    claims = list(Parser837(data, "multi.837").claims())
    assert [(c.claim_id, c.place_of_service) for c in claims] == [
        ("B1", "22"), ("B2", "22"), ("A1", "11"), ("C1", "19")]
    text, _ = render(data)
    assert text.encode("latin-1") == data


def test_newline_terminated_interchange_after_a_newline() -> None:
    a = build_837([ClaimSpec(claim_id="A1")], newline="\n")
    b = build_837([ClaimSpec(claim_id="B1")], element="|", component=">", segment="\n", newline="",
                  control="000000002")
    assert [c.claim_id for c in Parser837(a + b).claims()] == ["A1", "B1"]


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 5, 64, 105, 106, 107, 4096])
def test_chunk_boundaries_do_not_change_anything(chunk_size: int) -> None:
    b = build_837([ClaimSpec(claim_id="B1")], element="|", component=">", segment="\n", newline="",
                  control="000000002")
    a = build_837([ClaimSpec(claim_id="A1"), ClaimSpec(claim_id="A2")], newline="\r\n")
    data = b + a.rstrip(b"\r\n~")       # last segment unterminated as well
    ref = [(s.number, s.offset, s.pre, s.elements) for s in SegmentReader(data)]
    reader = SegmentReader(data, chunk_size=chunk_size)
    got = [(s.number, s.offset, s.pre, s.elements) for s in reader]
    assert got == ref
    assert len(got) > 60
    assert reader.unterminated
    text, _ = render(data, chunk_size)
    assert text.encode("latin-1") == data


def test_offsets_point_at_the_segment_id() -> None:
    data = build_837(newline="\r\n")
    for seg in SegmentReader(data):
        assert data[seg.offset:seg.offset + len(seg.id)].decode() == seg.id


def _replace_once(data: bytes, old: bytes, new: bytes) -> bytes:
    assert data.count(old) == 1, old
    return data.replace(old, new)


ENVELOPE_CASES = [
    # (mutation old, new, element, segment id)
    (b"IEA*1*000000001", b"IEA*1*000000009", "IEA02", "IEA"),
    (b"IEA*1*000000001", b"IEA*2*000000001", "IEA01", "IEA"),
    (b"GE*1*1~", b"GE*1*7~", "GE02", "GE"),
    (b"GE*1*1~", b"GE*3*1~", "GE01", "GE"),
    (b"SE*", b"SE*99*", "SE01", "SE"),
]


@pytest.mark.parametrize(("old", "new", "element", "sid"), ENVELOPE_CASES)
def test_envelope_findings(old: bytes, new: bytes, element: str, sid: str) -> None:
    data = build_837()
    if old == b"SE*":
        se = data[data.index(b"\nSE*") + 1:].split(b"~")[0]
        data = _replace_once(data, se, b"SE*99*0001")
    else:
        data = _replace_once(data, old, new)
    reader = SegmentReader(data, "env.837")
    segs = list(reader)
    assert len(reader.findings) == 1
    f = reader.findings[0]
    assert (f.element, f.segment_id) == (element, sid) and f.segment_number is not None
    assert segs[f.segment_number - 1].id == sid          # numbered in the file


def test_st02_se02_mismatch() -> None:
    data = build_837()
    se = data[data.index(b"\nSE*") + 1:].split(b"~")[0]
    data = _replace_once(data, se, se[:-4] + b"0002")
    reader = SegmentReader(data, "env.837")
    list(reader)
    assert [(f.segment_id, f.element) for f in reader.findings] == [("SE", "SE02")]


def test_reader_errors_are_typed_and_located() -> None:
    data = build_837()
    cut = data[: data.index(b"\nLX*")]           # truncated inside a claim
    with pytest.raises(X12Error) as exc:
        list(SegmentReader(cut, "cut.837"))
    e = exc.value
    assert e.file == "cut.837" and e.segment_number is not None and e.segment_id == "SE"
    assert "cut.837" in str(e) and f"segment {e.segment_number}" in str(e)
