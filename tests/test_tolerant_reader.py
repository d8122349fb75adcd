"""The tolerant reader (issue #14): real-world files that a strict reader refuses are read, each
tolerance is a warning of ``validate``, and ``parse --format x12`` still gives back the input byte for
byte.  What still cannot be read keeps its one-line error."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from test_cli_edi import assert_one_line_error, run

from edi.build import build_837
from edi.errors import X12Error
from edi.reader import SegmentReader, WrappedSegment
from edi.validate import validate_bytes
from edi.x835 import Parser835
from edi.x837 import ClaimWriter, Parser837

ROOT = Path(__file__).resolve().parent.parent
DERM_835 = ROOT / "tests/data/835/derm_paid.835"


def _claims(n: int = 3) -> str:
    specs = [{"claim_id": f"T{i}", "diagnoses": ["L57.0"], "lines": [{"code": "17000"}, {"code": "17003", "units": 2}]}
             for i in range(1, n + 1)]
    return build_837(specs, newlines=False)


def _unpad_isa(text: str) -> str:
    isa, rest = text[:106], text[106:]
    parts = isa[:-1].split("*")
    parts = [parts[0], *[p.strip() or p[:1] for p in parts[1:]]]
    parts[13] = str(int(parts[13]))                 # ISA13 without leading zeros
    return "*".join(parts) + isa[-1] + rest


def _wrap(text: str, width: int = 80) -> str:
    return "\n".join(text[i:i + width] for i in range(0, len(text), width)) + "\n"


def _tolerances(data: bytes, claims: int = 3) -> list[str]:
    result = validate_bytes(data, "t.837", parallel=False)
    assert result.valid, [f.format() for f in result.findings]
    assert result.claims == claims
    assert all(f.severity == "warning" for f in result.findings if f.code == "tolerance")
    return [f.message for f in result.findings if f.code == "tolerance"]


def _round_trip(tmp_path: Path, data: bytes, name: str = "in.837") -> None:
    src = tmp_path / name
    src.write_bytes(data)
    out = tmp_path / (name + ".out")
    p = run("parse", src, "--format", "x12", "-o", out)
    assert p.returncode == 0, p.stderr
    assert out.read_bytes() == data


CASES_837 = {
    "a2_reference": (lambda t: t.replace("005010X222A1", "005010X222A2"), ["GS08 005010X222A2", "ST03 005010X222A2"]),
    "bare_reference": (lambda t: t.replace("005010X222A1", "005010X222"), ["GS08 005010X222 read"]),
    "gs01_contradicts_st01": (lambda t: t.replace("~GS*HC*", "~GS*HP*"), ["GS01 'HP' contradicts"]),
    "unpadded_isa": (_unpad_isa, ["ISA elements are not padded"]),
    "bom": (lambda t: "\ufeff" + t, ["byte-order mark"]),
    "whitespace_before_isa": (lambda t: "\r\n  " + t, ["whitespace before the ISA"]),
    "wrapped_80": (_wrap, ["line breaks inside segments", "line break inside the ISA"]),
    "wrapped_unpadded_bom": (lambda t: "\ufeff" + _wrap(_unpad_isa(t), 64),
                             ["byte-order mark", "not padded", "line breaks inside segments"]),
}


@pytest.mark.parametrize("case", sorted(CASES_837))
def test_837_tolerance(case: str, tmp_path: Path, assert_pyx12_valid: object) -> None:
    change, wanted = CASES_837[case]
    base = _claims()
    data = change(base).encode("utf-8")
    # read: the same claims, the same values as the plain file
    plain = [(c.claim_id, [ln.code for ln in c.lines], c.total_charge) for c in Parser837(base.encode()).claims()]
    parser = Parser837(data, "t.837")
    got = [(c.claim_id, [ln.code for ln in c.lines], c.total_charge) for c in parser.claims()]
    assert got == plain and len(got) == 3
    # validate: valid, each tolerance a warning
    messages = _tolerances(data)
    for w in wanted:
        assert any(w in m for m in messages), (w, messages)
    # byte-exact round trip
    _round_trip(tmp_path, data)
    # what dermedi writes from it is a clean 005010X222A1 file
    buf = io.BytesIO()
    parser = Parser837(data, "t.837")
    claims = list(parser.claims())
    writer = ClaimWriter(buf, parser.delimiters)
    for c in claims:
        writer.write(c)
    writer.close()
    assert b"005010X222A2" not in buf.getvalue()
    assert_pyx12_valid(buf.getvalue())  # type: ignore[operator]


def test_validate_cli_reports_tolerance_as_warning(tmp_path: Path) -> None:
    f = tmp_path / "a2.837"
    f.write_bytes(_claims().replace("005010X222A1", "005010X222A2").encode())
    p = run("validate", f)
    assert "GS08 005010X222A2 read as 005010X222A1" in p.stdout
    assert "A1 map" in p.stdout
    assert p.stdout.strip().endswith(": valid"), p.stdout
    assert "3 claim(s)" in p.stdout


def test_wrapped_segments_keep_the_raw_text() -> None:
    data = _wrap(_claims(1)).encode()
    segs = list(SegmentReader(data))
    wrapped = [s for s in segs if type(s) is WrappedSegment]
    assert wrapped and all("\n" not in "*".join(s.elements) for s in segs)
    assert segs[0].elements[0] == "ISA" and len(segs[0].elements) == 17
    # offsets stay byte offsets of the segment ids in the file
    for s in segs:
        assert data[s.offset:s.offset + 8].decode().replace("\n", "").startswith(s.elements[0])


@pytest.mark.parametrize("case", ["bare_reference", "gs01_contradicts_st01", "bom", "wrapped"])
def test_835_tolerance(case: str, tmp_path: Path) -> None:
    base = DERM_835.read_bytes().decode("latin-1")
    if "~\n" in base:
        base = base.replace("~\n", "~")
    if case == "bare_reference":
        text, wanted = base.replace("005010X221A1", "005010X221"), "GS08 005010X221 read"
    elif case == "gs01_contradicts_st01":
        text, wanted = base.replace("~GS*HP*", "~GS*HC*"), "GS01 'HC' contradicts"
    elif case == "bom":
        text, wanted = "\ufeff" + base, "byte-order mark"
    else:
        text, wanted = _wrap(base, 72), "line breaks inside segments"
    data = text.encode("utf-8")
    plain = list(Parser835(base.encode("latin-1")).claims())
    parser = Parser835(data, "t.835")
    got = list(parser.claims())
    assert [c.claim_id for c in got] == [c.claim_id for c in plain] and got
    assert any(wanted in f.message and f.severity == "warning" for f in parser.findings), parser.findings
    result = validate_bytes(data, "t.835", parallel=False)
    assert result.transaction == "835"
    assert any(wanted in f.message and f.severity == "warning" for f in result.findings)
    assert not [f for f in result.findings if f.severity == "error"], [f.format() for f in result.findings]
    _round_trip(tmp_path, data, "in.835")


def test_newline_terminator_is_not_unwrapped() -> None:
    """A file whose terminator is a line break is not 'wrapped': the breaks end segments."""
    text = _claims(1).replace("~", "\n")
    text = text[:105] + "\n" + text[106:]        # ISA16 then the newline terminator
    segs = list(SegmentReader(text.encode()))
    assert not [s for s in segs if type(s) is WrappedSegment]
    assert [s.elements[0] for s in segs][:3] == ["ISA", "GS", "ST"]


UNREADABLE = {
    "isa_ambiguous": (lambda t: "ISA*00*0*00*0*ZZ*SENDER*ZZ*RECEIVER*240912*1200~" + t[106:], "ISA"),
    "gs08_4010": (lambda t: t.replace("005010X222A1", "004010X098A1"), "GS08"),
    "st03_other": (lambda t: t.replace("ST*837*0001*005010X222A1", "ST*837*0001*005010X223A2"), "ST03"),
    "wrapped_inside_unknown_id": (lambda t: t.replace("~CLM*", "~CL@M*"), "segment"),
}


@pytest.mark.parametrize("case", sorted(UNREADABLE))
def test_still_unreadable_keeps_one_line_error(case: str, tmp_path: Path) -> None:
    change, needle = UNREADABLE[case]
    f = tmp_path / f"{case}.837"
    f.write_bytes(change(_claims()).encode())
    with pytest.raises(X12Error) as exc:
        list(Parser837(f.read_bytes(), f.name).claims())
    assert exc.value.segment_number is not None and exc.value.segment_id
    p = run("validate", f)
    assert_one_line_error(p, str(f), "segment", needle)


@pytest.mark.parametrize("case", ["a2_reference", "gs01_contradicts_st01", "unpadded_isa", "wrapped_80"])
def test_999_of_a_tolerated_file_accepts_it(case: str, tmp_path: Path, assert_pyx12_valid: object) -> None:
    from edi.ack999 import write_999

    change, _ = CASES_837[case]
    data = change(_claims()).encode()
    result = validate_bytes(data, "t.837", parallel=False)
    target = tmp_path / "t.999"
    write_999(result, target, control_number=7)
    ack = target.read_text()
    assert "AK9*A*1*1*1" in ack and "IK5*A" in ack, ack
    assert_pyx12_valid(target.read_bytes())  # type: ignore[operator]


@pytest.mark.parametrize("case", ["a2_reference", "wrapped_unpadded_bom"])
def test_parallel_validation_of_a_tolerated_file(case: str) -> None:
    change, wanted = CASES_837[case]
    result = validate_bytes(change(_claims(6)).encode(), "t.837", parallel=True, workers=2, chunk_claims=2)
    assert result.mode == "parallel" and result.valid and result.claims == 6
    messages = [f.message for f in result.findings if f.code == "tolerance"]
    for w in wanted:
        assert any(w in m for m in messages), (w, messages)
