"""`dermedi tables import-ncci`: CMS PTP/MUE quarterly files into the database, used by scrub --ncci-db."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from dbfixtures import db_url  # noqa: F401
from sqlalchemy import func, select

from edi.build import build_claim
from scrubber.engine import Scrubber, get_rule
from store import open_database
from store.ncci import NcciFileError, NcciImport, NcciPtpRow, import_ncci_file, load_tables_with_db

PTP_TXT = """CMS NCCI Practitioner PTP Edits v303r0 - effective 2026-10-01
Column 1\tColumn 2\t* = In existence prior to 1996\tEffective Date\tDeletion Date *=no data\t\
Modifier 0=not allowed 1=allowed 9=not applicable\tPTP Edit Rationale
20552\t11900\t\t20150101\t*\t1\tMutually exclusive procedures
17311\t88305\t\t20070101\t*\t1\tHCPCS/CPT procedure code definition
11000\t11001\t\t20100101\t20121231\t0\tdeleted long ago
"""
MUE_CSV = """Practitioner Services MUE Table - 2026 Q4
HCPCS/CPT Code,Practitioner Services MUE Values,MUE Adjudication Indicator,MUE Rationale
17110,1,2 Date of Service Edit: Policy,Code Descriptor / CPT Instruction
11300,3,3 Date of Service Edit: Clinical,Clinical: Data
"""


def test_import_ptp_and_mue_and_scrub_with_them(db_url: str, tmp_path: Path) -> None:  # noqa: F811
    ptp = tmp_path / "ptp.txt"
    ptp.write_text(PTP_TXT)
    mue = tmp_path / "mue.csv"
    mue.write_text(MUE_CSV)
    engine = open_database(db_url)
    r = import_ncci_file(engine, ptp)
    assert (r.kind, r.rows) == ("ptp", 3)
    assert import_ncci_file(engine, mue).rows == 2
    # re-import replaces instead of duplicating
    import_ncci_file(engine, ptp, "ptp")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(NcciPtpRow)).scalar_one() == 3
        assert conn.execute(select(func.count()).select_from(NcciImport)).scalar_one() == 3
    tables = load_tables_with_db(engine)
    assert tables.ptp_edit("20552", "11900", date(2026, 11, 2)) is not None       # new pair, not in the subset
    assert tables.ptp_edit("11000", "11001", date(2026, 11, 2)) is None           # deleted 2012-12-31
    assert tables.mue["11300"].mue_units == 3 and tables.mue["11300"].mai == 3    # imported value wins (was 5)
    assert tables.ptp_edit("17004", "17000") is not None                          # shipped subset still there
    scrub = Scrubber(tables=tables, drugs=object(), today=date(2026, 11, 20), rules=[get_rule("NCCI001")])
    claim = build_claim({"dos": "2026-11-02", "diagnoses": ["L91.0"], "lines": [{"code": "20552"}, {"code": "11900"}]})
    assert scrub.scrub(claim).held
    engine.dispose()


def test_bad_files_are_rejected_with_a_clear_message(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'd.db'}")
    junk = tmp_path / "junk.csv"
    junk.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(NcciFileError, match="no CMS PTP"):
        import_ncci_file(engine, junk)
    bad = tmp_path / "bad.txt"
    bad.write_text(PTP_TXT.replace("\t1\tMutually", "\t7\tMutually"))
    with pytest.raises(NcciFileError, match=r"line 3.*modifier indicator"):
        import_ncci_file(engine, bad)
    with pytest.raises(NcciFileError, match="not MUE"):
        import_ncci_file(engine, tmp_path / "bad.txt", "mue")
    engine.dispose()


def test_cli_import_then_scrub_with_ncci_db(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from dermedi.cli import commands  # noqa: F401
    from dermedi.cli.app import app
    from edi.build import build_837

    cfg = tmp_path / "dermedi.toml"
    cfg.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "d.db"}"\n')
    ptp = tmp_path / "ptp.txt"
    ptp.write_text(PTP_TXT)
    claim = tmp_path / "in.837"
    claim.write_text(build_837([{"dos": "2026-11-02", "diagnoses": ["L91.0"],
                                 "lines": [{"code": "20552"}, {"code": "11900"}]}]))
    run = CliRunner()
    args = ["scrub", str(claim), "--config", str(cfg), "--today", "2026-11-20", "--report", str(tmp_path / "r.json")]
    assert run.invoke(app, args).exit_code == 0            # the shipped subset has no 20552/11900 pair
    r = run.invoke(app, ["tables", "import-ncci", str(ptp), "--config", str(cfg)])
    assert r.exit_code == 0 and "imported 3 PTP" in r.output
    assert run.invoke(app, [*args, "--ncci-db"]).exit_code == 1
    r = run.invoke(app, ["tables", "import-ncci", str(cfg), "--config", str(cfg)])
    assert r.exit_code == 2 and "dermedi.toml" in r.output
