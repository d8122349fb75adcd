"""edi.validate (pyx12 5010 maps + envelope checks) and edi.ack999."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from x12util import ClaimSpec, LineSpec, build_837

import edi.validate as validate_mod
from edi.ack999 import build_999, write_999
from edi.errors import NotX12Error, WrongTransactionError, X12Error
from edi.reader import SegmentReader
from edi.validate import ValidationResult, detect_transaction, validate_bytes, validate_file

ROOT = Path(__file__).resolve().parent.parent
BAD = ROOT / "tests/data/bad"
NOW = dt.datetime(2024, 9, 11, 8, 30)


def seg_number(data: bytes, startswith: bytes, nth: int = 0) -> int:
    """File segment number of the nth segment starting with ``startswith``."""
    hits = [s.number for s in SegmentReader(data)
            if "*".join(s.elements).encode().startswith(startswith)]
    return hits[nth]


def by_location(result: ValidationResult) -> set[tuple[int | None, str | None, str | None]]:
    return {(f.segment_number, f.segment_id, f.element) for f in result.findings}


# ---------------------------------------------------------------------------------------------
# valid files
# ---------------------------------------------------------------------------------------------

def test_minimal_837_is_valid(minimal_837_path: Path) -> None:
    r = validate_file(minimal_837_path)
    assert r.valid and r.findings == []
    assert (r.transaction, r.claims, r.segments) == ("837P", 1, 33)
    (ts,) = list(r.transaction_sets())
    assert (ts.st_segment, ts.se_segment, ts.control_number) == (3, 31, "0001")


@pytest.mark.parametrize("path", sorted((ROOT / "samples").glob("*.8[33]5")) + sorted((ROOT / "samples").glob("*.837")),
                         ids=lambda p: p.name)
def test_bundled_samples_are_valid(path: Path) -> None:
    r = validate_file(path)
    assert r.valid, [f.format() for f in r.findings]


def test_835_is_validated_with_the_835_map() -> None:
    assert validate_file(ROOT / "tests/data/835/derm_paid.835").valid
    r = validate_file(ROOT / "tests/data/835/lfh__managed-care.835")
    assert r.transaction == "835" and r.claims == 2
    assert (4, "BPR", "BPR16") in by_location(r)      # an invalid date in the public sample


def test_835_balancing_findings_are_included() -> None:
    r = validate_file(ROOT / "tests/data/835/derm_unbal.835")
    balance = [f for f in r.findings if f.code == "balance"]
    assert balance and not r.valid
    assert all(f.segment_id in ("SVC", "CLP", "BPR") and f.segment_number for f in balance)
    assert not [f for f in r.findings if f.code != "balance"]      # the X12 itself is fine


# ---------------------------------------------------------------------------------------------
# findings: located in the FILE, element names, no PHI
# ---------------------------------------------------------------------------------------------

def test_findings_name_the_file_segment_and_element(minimal_837: bytes) -> None:
    bad = (minimal_837.replace(b"DMG*D8*19500101*M", b"DMG*D8*19501301*M")
           .replace(b"HI*ABK:L570", b"HI*ABK:L570*XYZ:L571")
           .replace(b"SV1*HC:17003*50.00*UN*2***1", b"SV1*HC:17003**UN*2***1"))
    r = validate_bytes(bad, "bad.837")
    assert not r.valid
    locs = by_location(r)
    assert (seg_number(bad, b"DMG"), "DMG", "DMG02") in locs
    assert (seg_number(bad, b"HI"), "HI", "HI02-1") in locs
    assert (seg_number(bad, b"SV1*HC:17003"), "SV1", "SV102") in locs
    assert all(f.file == "bad.837" for f in r.findings)
    line = next(f for f in r.findings if f.element == "HI02-1").format()
    assert line.startswith(f"bad.837: segment {seg_number(bad, b'HI')}, HI02-1: ")


def test_phi_values_are_not_quoted(minimal_837: bytes) -> None:
    long_name = b"SECRETSURNAME" * 6            # NM103 longer than 60
    bad = (minimal_837.replace(b"DMG*D8*19500101*M", b"DMG*D8*19501301*M")
           .replace(b"NM1*IL*1*DOE*JOHN", b"NM1*IL*1*" + long_name + b"*JOHN"))
    r = validate_bytes(bad, "phi.837")
    text = "\n".join(f.format() for f in r.findings)
    assert "DMG02" in text and "NM103" in text
    assert "19501301" not in text and "SECRETSURNAME" not in text


def test_pyx12_logging_does_not_leak_values(minimal_837: bytes, caplog: pytest.LogCaptureFixture,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    bad = minimal_837.replace(b"DMG*D8*19500101*M", b"DMG*D8*19501301*M")
    with caplog.at_level(logging.DEBUG):
        r = validate_bytes(bad, "log.837")
    assert not r.valid
    out = capsys.readouterr()
    assert "19501301" not in caplog.text + out.out + out.err


def test_envelope_findings_are_merged(minimal_837: bytes) -> None:
    bad = minimal_837.replace(b"SE*29*0001", b"SE*28*0001").replace(b"GE*1*1", b"GE*1*2")
    r = validate_bytes(bad, "env.837")
    assert {(f.segment_id, f.element, f.code) for f in r.findings} == {
        ("SE", "SE01", "IK5-4"), ("GE", "GE02", "AK9-4")}


def test_hl_and_lx_numbering(minimal_837: bytes) -> None:
    bad = minimal_837.replace(b"HL*2*1*22*0", b"HL*3*1*22*0").replace(b"LX*2~", b"LX*5~")
    r = validate_bytes(bad, "num.837")
    assert {(f.segment_id, f.element) for f in r.findings} == {("HL", "HL01"), ("LX", "LX01")}


def test_duplicate_control_numbers() -> None:
    data = build_837(transactions=2).replace(b"ST*837*0002", b"ST*837*0001").replace(b"SE*26*0002",
                                                                                      b"SE*26*0001")
    r = validate_bytes(data, "dup.837")
    assert [(f.segment_id, f.element, f.code) for f in r.findings] == [("ST", "ST02", "IK5-23")]


# ---------------------------------------------------------------------------------------------
# parallel chunks == sequential
# ---------------------------------------------------------------------------------------------

def _claims(n: int, bad_every: int) -> list[ClaimSpec]:
    out = []
    for i in range(n):
        lines = [LineSpec(code="11102"), LineSpec(code="11103", units=Decimal("2"))]
        if i % bad_every == 0:
            lines[1] = LineSpec(code="11103", pointers=[1, 9])     # pointer to a missing diagnosis
        out.append(ClaimSpec(claim_id=f"P{i:04d}", diagnoses=["L570"] if i % 7 else ["L570", "Q123"],
                             lines=lines))
    return out


def test_parallel_chunks_give_the_same_findings_as_sequential() -> None:
    data = build_837(_claims(23, 5), transactions=2)
    bad = data.replace(b"DMG*D8*19500101*F", b"DMG*D8*19500132*F")   # every claim: bad birth date
    bad = bad.replace(b"SBR*P*18*******MB", b"SBR*Z*18*******MB", 3)
    seq = validate_bytes(bad, "p.837", parallel=False)
    par = validate_bytes(bad, "p.837", parallel=True, workers=2, chunk_claims=4)
    assert par.mode == "parallel" and seq.mode == "sequential"
    assert len(seq.findings) >= 46
    assert [f.format() for f in par.findings] == [f.format() for f in seq.findings]
    assert (par.claims, par.segments) == (seq.claims, seq.segments) == (46, seq.segments)


def test_parallel_reports_segments_missing_at_a_chunk_end() -> None:
    data = build_837([ClaimSpec(claim_id=f"Q{i}") for i in range(6)], transactions=2)
    parts = data.split(b"DTP*472*D8*20240910~\n")
    out = b"".join(p + (b"" if i in (1, 3, 5, 7, 11) else b"DTP*472*D8*20240910~\n")
                   for i, p in enumerate(parts[:-1])) + parts[-1]
    seq = validate_bytes(out, "m.837", parallel=False)
    assert sum("DTP" in f.message and "missing" in f.message for f in seq.findings) == 5
    for chunk in (1, 2, 4):
        par = validate_bytes(out, "m.837", parallel=True, workers=2, chunk_claims=chunk)
        assert [f.format() for f in par.findings] == [f.format() for f in seq.findings]


def test_parallel_with_interchanges_of_different_delimiters() -> None:
    a = build_837(_claims(5, 2), control="000000001")
    b = build_837(_claims(4, 3), element="|", component=">", segment="\n", newline="", control="000000002")
    data = b + a
    seq = validate_bytes(data, "d.837", parallel=False)
    par = validate_bytes(data, "d.837", parallel=True, workers=2, chunk_claims=3)
    assert seq.valid and par.valid
    assert par.claims == seq.claims == 9
    bad = data.replace(b"DMG*D8*19500101*F", b"DMG*D8*1950*F").replace(b"DMG|D8|19500101|F", b"DMG|D8|1950|F")
    seq = validate_bytes(bad, "d.837", parallel=False)
    par = validate_bytes(bad, "d.837", parallel=True, workers=2, chunk_claims=3)
    assert len(seq.findings) == 9
    assert [f.format() for f in par.findings] == [f.format() for f in seq.findings]


# ---------------------------------------------------------------------------------------------
# unreadable input: typed errors, never a pyx12 crash
# ---------------------------------------------------------------------------------------------

BAD_CASES = [
    ("truncated.837", X12Error, "SE", 29),
    ("short_isa.837", X12Error, "ISA", 1),
    ("missing_iea.837", X12Error, "IEA", 33),
    ("garbage.bin", NotX12Error, None, 1),
    ("x4010.837", WrongTransactionError, "ISA", 1),
    ("empty.837", NotX12Error, None, 1),
]


@pytest.mark.parametrize(("name", "cls", "sid", "number"), BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_input_raises_a_typed_located_error(name: str, cls: type[X12Error], sid: str | None,
                                                number: int) -> None:
    path = BAD / name
    with pytest.raises(cls) as exc:
        validate_file(path)
    e = exc.value
    assert e.file == str(path) and e.segment_number == number
    if sid is not None:
        assert e.segment_id == sid
    assert str(path) in str(e) and f"segment {number}" in str(e)


def test_an_835_is_a_wrong_transaction_for_837p_only_code() -> None:
    from edi.x837 import Parser837

    with pytest.raises(WrongTransactionError) as exc:
        list(Parser837(BAD / "remit.835", "remit.835").events())
    assert (exc.value.segment_number, exc.value.segment_id, exc.value.element) == (2, "GS", "GS08")
    assert validate_file(BAD / "remit.835").transaction == "835"
    with pytest.raises(ValueError, match="837P"):
        build_999(validate_file(BAD / "remit.835"))


def test_other_transactions_are_refused() -> None:
    r = validate_file(ROOT / "tests/data/minimal.837")
    ack = build_999(r, now=NOW)
    with pytest.raises(WrongTransactionError) as exc:
        detect_transaction(ack, "ack.999")
    assert (exc.value.segment_id, exc.value.element) == ("GS", "GS08")


def test_missing_file_is_an_x12_error(tmp_path: Path) -> None:
    with pytest.raises(X12Error, match="cannot open"):
        validate_file(tmp_path / "nope.837")


def test_a_pyx12_crash_becomes_a_located_x12_error(monkeypatch: pytest.MonkeyPatch, minimal_837: bytes) -> None:
    px = validate_mod._pyx12()

    class Boom:
        @staticmethod
        def x12n_document(param: object, src: object, *a: object, callback: object = None, **k: object) -> bool:
            src.read(4000)  # type: ignore[attr-defined]
            raise RuntimeError("map walker failed on NM1*IL*1*SECRET")

    monkeypatch.setitem(px, "x12n_document", Boom)
    with pytest.raises(X12Error) as exc:
        validate_bytes(minimal_837, "boom.837")
    assert exc.value.file == "boom.837" and exc.value.segment_number is not None
    assert "SECRET" not in str(exc.value) and "RuntimeError" in str(exc.value)


# ---------------------------------------------------------------------------------------------
# 999
# ---------------------------------------------------------------------------------------------

def _segs(ack: bytes) -> list[list[str]]:
    return [s.elements for s in SegmentReader(ack)]


def test_999_accepted(minimal_837_path: Path, assert_pyx12_valid: Callable[..., None]) -> None:
    ack = build_999(validate_file(minimal_837_path), control_number=7, now=NOW)
    assert_pyx12_valid(ack, "ack.999")
    segs = _segs(ack)
    ids = [s[0] for s in segs]
    assert ids == ["ISA", "GS", "ST", "AK1", "AK2", "IK5", "AK9", "SE", "GE", "IEA"]
    isa = segs[0]
    assert (isa[6].strip(), isa[8].strip(), isa[13]) == ("RECEIVERID", "SUBMITTERID", "000000007")
    assert segs[1][:4] == ["GS", "FA", "RECEIVERID", "SUBMITTERID"] and segs[1][8] == "005010X231A1"
    assert segs[3] == ["AK1", "HC", "1", "005010X222A1"]
    assert segs[4] == ["AK2", "837", "0001", "005010X222A1"]
    assert segs[5] == ["IK5", "A"] and segs[6] == ["AK9", "A", "1", "1", "1"]
    assert segs[7] == ["SE", "6", "0001"] and segs[8][1] == "1" and segs[9][1] == "1"


def test_999_rejected_with_positions_relative_to_st(minimal_837: bytes,
                                                    assert_pyx12_valid: Callable[..., None]) -> None:
    bad = (minimal_837.replace(b"DMG*D8*19500101*M", b"DMG*D8*19501301*M")
           .replace(b"HI*ABK:L570", b"HI*ABK:L570*XYZ:L571").replace(b"SE*29*0001", b"SE*30*0001"))
    ack = build_999(validate_bytes(bad, "bad.837"), now=NOW)
    assert_pyx12_valid(ack, "ack.999")
    segs = _segs(ack)
    ik = [s for s in segs if s[0] in ("IK3", "IK4", "IK5", "AK9")]
    assert ik == [
        ["IK3", "DMG", "17", "", "8"], ["IK4", "2", "", "8"],        # DMG is segment 19 of the file, 17 of the set
        ["IK3", "HI", "20", "", "8"], ["IK4", "2:1", "", "7"],
        ["IK5", "R", "5", "4"],
        ["AK9", "R", "1", "1", "0"],
    ]
    assert b"19501301" not in ack            # no bad values (PHI) copied into IK404


def test_999_partial_acceptance_and_group_errors(assert_pyx12_valid: Callable[..., None]) -> None:
    data = build_837(transactions=3)
    second_dmg = data.replace(b"DMG*D8*19500101*F", b"DMG*D8*19500199*F")
    # only the second transaction set gets the bad date
    parts = data.split(b"ST*837*")
    parts[2] = parts[2].replace(b"DMG*D8*19500101*F", b"DMG*D8*19500199*F")
    mixed = b"ST*837*".join(parts)
    assert mixed != data and mixed != second_dmg
    ack = build_999(validate_bytes(mixed, "mixed.837"), now=NOW)
    assert_pyx12_valid(ack)
    segs = _segs(ack)
    assert [s[1] for s in segs if s[0] == "IK5"] == ["A", "R", "A"]
    assert [s for s in segs if s[0] == "AK9"] == [["AK9", "P", "3", "3", "2"]]
    # a group-level error (GE01) rejects the group
    ge_bad = mixed.replace(b"GE*3*1", b"GE*4*1")
    segs = _segs(build_999(validate_bytes(ge_bad, "ge.837"), now=NOW))
    assert [s for s in segs if s[0] == "AK9"] == [["AK9", "R", "4", "3", "2", "5"]]   # AK902 = GE01 as sent


def test_999_one_interchange_per_source_interchange(assert_pyx12_valid: Callable[..., None]) -> None:
    data = build_837(element="|", component=">", segment="\n", newline="", control="000000011") + build_837(
        control="000000012")
    ack = build_999(validate_bytes(data, "two.837"), control_number=100, now=NOW)
    assert_pyx12_valid(ack)
    segs = _segs(ack)
    assert [s[13] for s in segs if s[0] == "ISA"] == ["000000100", "000000101"]
    assert [s[1:3] for s in segs if s[0] == "IEA"] == [["1", "000000100"], ["1", "000000101"]]


def test_write_999_is_private(tmp_path: Path, minimal_837_path: Path) -> None:
    p = write_999(validate_file(minimal_837_path), tmp_path / "sub" / "a.999")
    assert p.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "sub").stat().st_mode & 0o777 == 0o700
