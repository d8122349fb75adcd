"""Medicare coverage (LCD rules by MAC), the MCD article import, payer-profile escalation, one root
cause / one finding, and the held claim's lines in the HTML report (issue #14)."""

from __future__ import annotations

import csv
import io
import json
import stat
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from config.coverage import (
    CoverageError,
    build_coverage_tables,
    import_mcd_zip,
    load_coverage_tables,
    read_mcd_table,
    write_mcd_table,
)
from config.payers import load_payer_profiles
from edi.build import build_837, build_claim
from scrubber.engine import Scrubber, get_rule
from scrubber.run import scrub_file

TODAY = date(2024, 10, 1)


def _scrub(spec: dict[str, Any], *, rules: list[str] | None = None, **kwargs: Any) -> Any:
    chosen = [get_rule(r) for r in rules] if rules else None
    return Scrubber(today=TODAY, rules=chosen, **kwargs).scrub(build_claim(spec))


# ---- MAC routing -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("state", "mac"), [("OH", "CGS"), ("KY", "CGS"), ("CA", "Noridian"), ("WA", "Noridian"),
                                            ("IA", "WPS"), ("MI", "WPS"), ("GA", "Palmetto"), ("NC", "Palmetto"),
                                            ("IL", "NGS"), ("NY", "NGS"), ("TX", "Novitas"), ("FL", "First Coast"),
                                            ("PR", "First Coast"), ("ZZ", "")])
def test_mac_by_state(state: str, mac: str) -> None:
    assert load_coverage_tables().mac(state) == mac


@pytest.mark.parametrize(("state", "lcd"), [("OH", "L34200"), ("CA", "L34233"), ("MO", "L35498"), ("SC", "L33445"),
                                            ("MD", "L34938")])
def test_benign_lesion_warning_names_the_lcd_of_each_mac(state: str, lcd: str) -> None:
    res = _scrub({"billing_state": state, "diagnoses": ["L82.1"], "lines": [{"code": "17110"}]})
    hits = [f for f in res.findings if f.rule == "LCD001"]
    assert len(hits) == 1 and hits[0].severity == "warning" and lcd in hits[0].message
    assert "CO-50/N115" in hits[0].message and "GA/GY" in hits[0].message
    assert not res.held


@pytest.mark.parametrize("state", ["IL", "NY", "MN", "FL", "PR"])
def test_no_benign_lesion_warning_without_an_lcd(state: str) -> None:
    res = _scrub({"billing_state": state, "diagnoses": ["L82.1"], "lines": [{"code": "17110"}]})
    assert not [f for f in res.findings if f.rule.startswith("LCD")]


def test_payer_profile_turns_coverage_warning_into_error() -> None:
    payers = load_payer_profiles({"MCR01": {"payer_type": "medicare", "coverage_severity": "error"}})
    spec = {"billing_state": "OH", "diagnoses": ["L82.1"], "lines": [{"code": "17110"}]}
    res = _scrub(spec, payers=payers)
    assert [f.severity for f in res.findings if f.rule == "LCD001"] == ["error"]
    assert res.held
    mohs = _scrub({"billing_state": "CA", "diagnoses": ["D04.5"], "lines": [{"code": "17313"}]}, payers=payers)
    assert [f.severity for f in mohs.findings if f.rule == "LCD002"] == ["error"]
    # other payers keep the default
    assert [f.severity for f in _scrub(spec).findings if f.rule == "LCD001"] == ["warning"]


# ---- MCD import ----------------------------------------------------------------------------------

def _csv(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode()


def _mcd_zip(path: Path, *, nested: bool = True) -> Path:
    """A small file in the layout of the CMS MCD current_article_csv.zip (a zip inside the zip)."""
    members = {
        "article.csv": _csv([["article_id", "article_version", "title"], ["57162", "13", "Billing and Coding: Benign"],
                             ["99999", "1", "Unrelated article"]]),
        "article_x_hcpc_code.csv": _csv([["article_id", "article_version", "hcpc_code_group", "hcpc_code_id"],
                                         ["57162", "13", "1", "17110"], ["57162", "13", "1", "11300"],
                                         ["99999", "1", "1", "99213"]]),
        "article_x_icd10_covered.csv": _csv([["article_id", "article_version", "icd10_code_id", "icd10_covered_group",
                                              "description"],
                                             ["57162", "13", "L82.0", "1", "Inflamed SK"],
                                             ["57162", "13", "L82.1", "1", "Other SK"],
                                             ["99999", "1", "I10", "1", "x"]]),
        "article_x_icd10_noncovered.csv": _csv([["article_id", "article_version", "icd10_code_id",
                                                 "icd10_noncovered_group"], ["57162", "13", "Z41.1", "1"]]),
        "article_related_documents.csv": _csv([["article_id", "article_version", "r_lcd_id", "r_lcd_version"],
                                               ["57162", "13", "34233", "36"]]),
    }
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        for name, data in members.items():
            z.writestr(f"csv/{name}", data)
    with zipfile.ZipFile(path, "w") as z:
        if nested:
            z.writestr("current_article_csv.zip", inner.getvalue())
        else:
            with zipfile.ZipFile(io.BytesIO(inner.getvalue())) as src:
                for info in src.infolist():
                    z.writestr(info.filename, src.read(info))
    return path


@pytest.mark.parametrize("nested", [True, False])
def test_import_mcd_keeps_the_lcd_articles(tmp_path: Path, nested: bool) -> None:
    articles = import_mcd_zip(_mcd_zip(tmp_path / "mcd.zip", nested=nested))
    assert set(articles) == {"A57162"}
    a = articles["A57162"]
    assert a.hcpcs == {"17110", "11300"} and a.covered == {"L820", "L821"} and a.noncovered == {"Z411"}
    assert a.lcds == {"L34233"} and a.version == "13"
    out = write_mcd_table(articles, tmp_path / "t" / "mcd.json", "mcd.zip")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert read_mcd_table(out) == articles


def test_exact_covered_list_replaces_the_indication_mapping(tmp_path: Path) -> None:
    table = tmp_path / "mcd.json"
    write_mcd_table(import_mcd_zip(_mcd_zip(tmp_path / "mcd.zip")), table, "mcd.zip")
    cov = build_coverage_tables(None, table)
    noridian = {"billing_state": "CA", "lines": [{"code": "17110"}]}
    # L82.1 alone: the mapping warns, the article's list covers it
    assert [f.rule for f in _scrub({**noridian, "diagnoses": ["L82.1"]}).findings if f.rule == "LCD001"]
    assert not [f for f in _scrub({**noridian, "diagnoses": ["L82.1"]}, coverage=cov).findings if f.rule == "LCD001"]
    # B07.8 (wart): covered by the indication mapping's scope? it warns without the table (no indication),
    # and with the table it is outside the covered list: still a warning, now naming the article
    hits = [f for f in _scrub({**noridian, "diagnoses": ["B07.8"]}, coverage=cov).findings if f.rule == "LCD001"]
    assert hits and "A57162" in hits[0].message
    # a non-covered diagnosis on the line warns even next to a covered one
    both = {**noridian, "diagnoses": ["L82.0", "Z41.1"], "lines": [{"code": "17110", "pointers": [1, 2]}]}
    assert [f for f in _scrub(both, coverage=cov).findings if f.rule == "LCD001"]
    # other MACs keep the mapping
    assert [f for f in _scrub({"billing_state": "OH", "diagnoses": ["L82.1"], "lines": [{"code": "17110"}]},
                              coverage=cov).findings if f.rule == "LCD001"]


def test_import_mcd_rejects_other_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("readme.txt", "x")
    with pytest.raises(CoverageError, match=r"article_x_hcpc_code\.csv"):
        import_mcd_zip(bad)
    (tmp_path / "not.zip").write_text("hello")
    with pytest.raises(CoverageError, match="not a readable zip"):
        import_mcd_zip(tmp_path / "not.zip")


def test_cli_import_mcd_then_scrub_uses_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dermedi.cli import commands  # noqa: F401
    from dermedi.cli.app import app

    monkeypatch.chdir(tmp_path)
    (tmp_path / "dermedi.toml").write_text('data_dir = "data"\n')
    runner = CliRunner()
    r = runner.invoke(app, ["tables", "import-mcd", str(_mcd_zip(tmp_path / "mcd.zip")),
                            "--config", str(tmp_path / "dermedi.toml")])
    assert r.exit_code == 0, r.output
    assert "A57162 (L34233)" in r.output and "imported 1 article(s)" in r.output
    assert (tmp_path / "data" / "tables" / "mcd_articles.json").is_file()
    src = tmp_path / "in.837"
    # billing state of build_837 files is IL (NGS): a CA (Noridian) service facility
    src.write_text(build_837([{"claim_id": "N1", "facility_state": "CA", "diagnoses": ["L82.1"],
                               "lines": [{"code": "17110"}]}]))
    def lcd_findings(cfg: Path) -> list[Any]:
        r = runner.invoke(app, ["scrub", str(src), "--report", str(tmp_path / "r.json"), "--today", "2024-10-01",
                                "--config", str(cfg)])
        assert r.exit_code in (0, 1), r.output
        report = json.loads((tmp_path / "r.json").read_text())
        return [f for c in report["claims"] for f in c["findings"] if f["rule"] == "LCD001"]

    assert not lcd_findings(tmp_path / "dermedi.toml")          # the article covers L82.1
    (tmp_path / "other.toml").write_text('data_dir = "elsewhere"\n')
    assert lcd_findings(tmp_path / "other.toml")                # no table: the indication mapping warns
    bad = tmp_path / "bad.zip"
    bad.write_text("nope")
    r = runner.invoke(app, ["tables", "import-mcd", str(bad), "--config", str(tmp_path / "dermedi.toml")])
    assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.output


# ---- one root cause, one finding -------------------------------------------------------------------

def test_icd9_diagnoses_fold_pointer_findings_under_the_root() -> None:
    spec = {"dx_qualifier": "BK", "diagnoses": ["7020", "2165"],
            "lines": [{"code": "17000"}, {"code": "11300", "pointers": [2]}, {"code": "11301", "pointers": [1, 2]}]}
    res = _scrub(spec)
    assert res.held
    assert not [f for f in res.findings if f.rule == "VAL020"]
    roots = [f for f in res.findings if f.rule == "VAL012"]
    assert len(roots) == 1
    assert "ICD-9-CM" in roots[0].message
    deps = roots[0].dependents
    assert [d.rule for d in deps].count("VAL020") == 3 and {d.rule for d in deps} == {"VAL012", "VAL020"}
    d = roots[0].as_dict()
    assert len(d["dependent_findings"]) == 4


def test_pointer_findings_without_a_root_stay_top_level() -> None:
    res = _scrub({"diagnoses": ["L57.0"], "lines": [{"code": "17000", "pointers": [3]}]})
    assert [f.rule for f in res.findings if f.rule == "VAL020"] == ["VAL020"]
    assert all(not f.dependents for f in res.findings)


# ---- HTML report ---------------------------------------------------------------------------------

def test_html_report_lists_held_claim_lines_and_folded_findings(tmp_path: Path) -> None:
    src = tmp_path / "in.837"
    src.write_text(build_837([
        {"claim_id": "HELD1", "dx_qualifier": "BK", "diagnoses": ["7020"],
         "lines": [{"code": "17000", "charge": 120}, {"code": "17003", "units": 3, "charge": 90, "pointers": [1]}]},
        {"claim_id": "HELD2", "diagnoses": ["L57.0", "D48.5"],
         "lines": [{"code": "11102", "modifiers": ["59"], "charge": 150, "pointers": [2]},
                   {"code": "17110", "units": 0, "charge": 100, "pointers": [1, 2]}]},
        {"claim_id": "CLEAN1", "diagnoses": ["L57.0"], "lines": [{"code": "17000"}]},
    ]))
    summary = scrub_file(src, html=tmp_path / "r.html", report=tmp_path / "r.json",
                         scrubber=Scrubber(today=TODAY))
    assert summary.held == 2
    html = (tmp_path / "r.html").read_text()
    held = html[html.index("Held claims"):html.index("Clean claims")]
    two = held[held.index("Claim HELD2"):]
    for needle in ("<code>11102</code>", "<code>17110</code>", ">59<", ">0<", "150.00", "2: D48.5", "1: L57.0"):
        assert needle in two, needle
    one = held[held.index("Claim HELD1"):held.index("Claim HELD2")]
    assert "3 dependent findings" in one
    assert "<code>17003</code>" in one and ">3<" in one
    clean = html[html.index("Clean claims"):]
    assert "<table class='lines'>" not in clean.split("Rules that fired")[0]
    report = json.loads((tmp_path / "r.json").read_text())
    held1 = next(c for c in report["claims"] if c["claim_id"] == "HELD1")
    assert any(f.get("dependent_findings") for f in held1["findings"])
