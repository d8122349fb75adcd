"""``dermedi validate`` and ``dermedi parse``, run as the real command (subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from x12util import ClaimSpec, LineSpec, build_837

ROOT = Path(__file__).resolve().parent.parent
BAD = ROOT / "tests/data/bad"
MINIMAL = ROOT / "tests/data/minimal.837"
DERMEDI = [sys.executable, "-c", "from dermedi.cli import main; main()"]
PHI = ["DOE", "JOHN", "1EG4TE5MK73", "19500101", "ELM ST"]     # patient data in minimal.837


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def run(*args: str | Path) -> Ran:
    """In-process (fast); the subprocess tests below check the real entry point."""
    from typer.testing import CliRunner

    from dermedi.cli import commands  # noqa: F401  (registers the commands)
    from dermedi.cli.app import app

    r = CliRunner().invoke(app, [str(a) for a in args])
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise r.exception
    return Ran(r.exit_code, r.stdout, r.stderr)


def run_process(*args: str | Path) -> Ran:
    p = subprocess.run([*DERMEDI, *map(str, args)], capture_output=True, text=True, timeout=120, cwd=ROOT)
    return Ran(p.returncode, p.stdout, p.stderr)


def assert_one_line_error(p: Ran, *needles: str) -> None:
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    lines = p.stderr.splitlines()
    assert len(lines) == 1, p.stderr
    assert "Traceback" not in p.stderr + p.stdout
    for n in needles:
        assert n in lines[0], (n, lines[0])


# ---------------------------------------------------------------------------------------------
# validate
# ---------------------------------------------------------------------------------------------

def test_validate_valid_file_exits_0() -> None:
    p = run("validate", MINIMAL)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().splitlines() == [f"{MINIMAL}: 837P, 1 claim(s), 0 finding(s): valid"]
    assert p.stderr == ""


def test_validate_findings_exit_1_one_per_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.837"
    bad.write_bytes(MINIMAL.read_bytes().replace(b"DMG*D8*19500101*M", b"DMG*D8*19501301*M")
                    .replace(b"HI*ABK:L570", b"HI*ABK:L570*XYZ:L571"))
    p = run("validate", bad)
    assert p.returncode == 1, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].startswith(f"{bad}: segment 19, DMG02: ")
    assert lines[1].startswith(f"{bad}: segment 22, HI02-1: ")
    assert lines[-1] == f"{bad}: 837P, 1 claim(s), 2 finding(s): INVALID"
    assert "19501301" not in p.stdout


BAD_FILES = [
    ("truncated.837", "segment 29", "SE"),
    ("short_isa.837", "segment 1", "ISA"),
    ("missing_iea.837", "segment 33", "IEA"),
    ("garbage.bin", "segment 1", "not an X12"),
    ("x4010.837", "segment 1", "ISA12"),
    ("empty.837", "segment 1", "empty"),
]


@pytest.mark.parametrize(("name", "where", "what"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_validate_bad_input_exits_2_with_one_line(name: str, where: str, what: str) -> None:
    p = run("validate", BAD / name)
    assert_one_line_error(p, str(BAD / name), where, what)
    assert p.stdout == ""


def test_real_process_one_line_per_bad_file_and_no_traceback() -> None:
    files = [BAD / name for name, _, _ in BAD_FILES]
    p = run_process("validate", *files)
    assert p.returncode == 2
    lines = p.stderr.splitlines()
    assert len(lines) == len(files) and "Traceback" not in p.stderr
    for f, line in zip(files, lines, strict=True):
        assert line.startswith(f"dermedi: {f}: segment ")
    p = run_process("parse", BAD / "garbage.bin", "-f", "summary")
    assert_one_line_error(p, "garbage.bin")


def test_an_835_where_an_837p_is_needed_exits_2(tmp_path: Path) -> None:
    p = run("validate", "--ack", tmp_path / "a.999", BAD / "remit.835")
    assert_one_line_error(p, "remit.835", "837P")
    assert not (tmp_path / "a.999").exists()


def test_validate_several_files_worst_exit_code_wins(tmp_path: Path) -> None:
    p = run("validate", MINIMAL, BAD / "truncated.837", ROOT / "tests/data/835/derm_paid.835")
    assert p.returncode == 2
    assert len(p.stderr.splitlines()) == 1
    summaries = [ln for ln in p.stdout.splitlines() if ln.endswith(("valid", "INVALID"))]
    assert len(summaries) == 2 and "835, 4 claim(s)" in p.stdout


def test_missing_file_and_directory_exit_2(tmp_path: Path) -> None:
    assert_one_line_error(run("validate", tmp_path / "nope.837"), "nope.837")
    assert_one_line_error(run("parse", tmp_path), str(tmp_path))


def test_validate_ack_writes_a_valid_private_999(tmp_path: Path, assert_pyx12_valid: Callable[..., None]) -> None:
    bad = tmp_path / "bad.837"
    bad.write_bytes(MINIMAL.read_bytes().replace(b"DMG*D8*19500101*M", b"DMG*D8*19501301*M"))
    ack = tmp_path / "out.999"
    p = run("validate", "--ack", ack, "--ack-control", "5", bad)
    assert p.returncode == 1
    assert ack.stat().st_mode & 0o777 == 0o600
    assert_pyx12_valid(ack)
    text = ack.read_text()
    assert "IK3*DMG*17**8~" in text and "IK5*R*5~" in text and "*000000005*" in text


def test_validate_ack_several_inputs_go_to_a_directory(tmp_path: Path,
                                                       assert_pyx12_valid: Callable[..., None]) -> None:
    other = tmp_path / "two.837"
    other.write_bytes(build_837([ClaimSpec(claim_id="T1"), ClaimSpec(claim_id="T2")]))
    out = tmp_path / "acks"
    p = run("validate", "--ack", out, MINIMAL, other)
    assert p.returncode == 0, p.stderr
    assert sorted(x.name for x in out.iterdir()) == ["minimal.837.999", "two.837.999"]
    assert out.stat().st_mode & 0o777 == 0o700
    for f in out.iterdir():
        assert f.stat().st_mode & 0o777 == 0o600
        assert_pyx12_valid(f)


# ---------------------------------------------------------------------------------------------
# parse
# ---------------------------------------------------------------------------------------------

def test_parse_json_lines_have_the_fields_and_no_phi(tmp_path: Path) -> None:
    data = build_837([
        ClaimSpec(claim_id="J1", diagnoses=["L570", "C44311"], lines=[
            LineSpec(code="11102", modifiers=["59"], pointers=[1, 2]),
            LineSpec(code="J3301", ndc="00003029305", ndc_quantity=None, ndc_unit="ML")]),
        ClaimSpec(claim_id="J2", pos="22", frequency="7"),
    ])
    src = tmp_path / "j.837"
    src.write_bytes(data)
    p = run("parse", src, "--format", "json")
    assert p.returncode == 0, p.stderr
    rows = [json.loads(x) for x in p.stdout.splitlines()]
    assert [r["claim_id"] for r in rows] == ["J1", "J2"]
    j1 = rows[0]
    for key in ("total_charge", "frequency_code", "place_of_service", "payer", "billing_npi", "rendering_npi",
                "diagnoses", "service_dates", "lines"):
        assert key in j1
    assert j1["total_charge"] == "200.00"
    assert j1["payer"] == {"id": "12345", "name": "MEDICARE", "claim_filing_indicator": "MB"}
    assert j1["diagnoses"] == [{"qualifier": "ABK", "code": "L57.0"}, {"qualifier": "ABF", "code": "C44.311"}]
    assert j1["service_dates"] == ["2024-09-10"]
    line1, line2 = j1["lines"]
    assert {k: line1[k] for k in ("number", "procedure", "modifiers", "units", "charge", "unit_basis",
                                  "diagnosis_pointers", "service_date")} == {
        "number": "1", "procedure": "11102", "modifiers": ["59"], "units": "1", "charge": "100.00",
        "unit_basis": "UN", "diagnosis_pointers": [1, 2], "service_date": "2024-09-10"}
    assert (line2["ndc"], line2["ndc_quantity"], line2["ndc_unit"]) == ("00003029305", "1", "ML")
    assert (rows[1]["place_of_service"], rows[1]["frequency_code"]) == ("22", "7")
    for word in ("FAKERLY", "MEMBER0001", "19500101", "SYNTHETIC AVE"):
        assert word not in p.stdout


def test_parse_json_minimal_has_no_phi() -> None:
    p = run("parse", MINIMAL, "-f", "json")
    assert p.returncode == 0
    for word in PHI:
        assert word not in p.stdout


@pytest.mark.parametrize("kind", ["minimal", "multi-delimiter", "835"])
def test_parse_x12_reproduces_the_file(kind: str, tmp_path: Path) -> None:
    if kind == "minimal":
        src = MINIMAL
    elif kind == "835":
        src = ROOT / "tests/data/835/derm_paid.835"
    else:
        src = tmp_path / "m.837"
        src.write_bytes(build_837(element="|", component=">", segment="\n", newline="", control="000000002")
                        + build_837(newline="\r\n").rstrip(b"\r\n~"))
    out = tmp_path / "out.x12"
    p = run("parse", src, "--format", "x12", "-o", out)
    assert p.returncode == 0, p.stderr
    assert out.read_bytes() == src.read_bytes()
    assert out.stat().st_mode & 0o777 == 0o600


def test_parse_summary_counts(tmp_path: Path) -> None:
    src = tmp_path / "s.837"
    src.write_bytes(build_837([ClaimSpec(claim_id="S1"), ClaimSpec(claim_id="S2", lines=[LineSpec(), LineSpec()])],
                              transactions=2))
    p = run("parse", src)
    assert p.returncode == 0, p.stderr
    rows = dict(line.split(": ", 1) for line in p.stdout.splitlines())
    assert (rows["transaction"], rows["interchanges"], rows["transaction_sets"], rows["claims"],
            rows["service_lines"], rows["total_charge"]) == ("837P", "1", "2", "4", "6", "600.00")


def test_parse_835_json_and_summary() -> None:
    src = ROOT / "tests/data/835/derm_paid.835"
    p = run("parse", src, "-f", "json")
    assert p.returncode == 0, p.stderr
    rows = [json.loads(x) for x in p.stdout.splitlines()]
    assert len(rows) == 4 and all("claim_id" in r and "paid" in r for r in rows)
    assert "TESTPATIENT" not in p.stdout          # NM1*QC patient names stay out
    p = run("parse", src)
    rows2 = dict(line.split(": ", 1) for line in p.stdout.splitlines())
    assert rows2["transaction"] == "835" and rows2["claims"] == "4" and "total_paid" in rows2


@pytest.mark.parametrize("name", ["truncated.837", "garbage.bin", "x4010.837"])
def test_parse_bad_input_exits_2(name: str) -> None:
    assert_one_line_error(run("parse", BAD / name, "-f", "json"), name)
