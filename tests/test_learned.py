"""Payer-learned edits: `dermedi learn` on the seeded history, the learned table, LRN001 in reports."""

from __future__ import annotations

import json
import os
import stat
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from dbfixtures import db_url  # noqa: F401
from typer.testing import CliRunner

from config.learned import LearnedTableError, load_learned_table, parse_learned_table
from edi.build import build_837, build_claim
from remits.learn import learn, learned_summary
from store import open_database, session_scope

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "samples"))
import gen_history

WEEKS = 52
PER_WEEK = 60
EXPECTED = {
    ("87726", "17110", ("dx=L82.1",), "CO-50/N115"),
    ("60054", "99213", ("samedx=11102",), "CO-97/M15"),
    ("62308", "J*", ("ndc=UN",), "CO-16/M119"),
    ("62308", "J*", ("ndc=none",), "CO-16/M119"),
}


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("history")
    gen_history.generate(out, weeks=WEEKS, claims_per_week=PER_WEEK)
    return out


def _keys(patterns: Any) -> set[tuple[str, str, tuple[str, ...], str]]:
    return {(p.payer_id, p.procedure, tuple(p.conditions), p.denial) for p in patterns}


def test_learn_finds_every_hidden_policy_and_no_noise(db_url: str, history: Path) -> None:  # noqa: F811
    engine = open_database(db_url)
    try:
        gen_history.load_history(engine, history)
        result = learn(engine, until=gen_history.LEARN_UNTIL)
        table = result.table
        # exactly the hidden policies: no noise pattern reaches 5 claims and 50%
        assert _keys(table.patterns) == EXPECTED
        # the Medicaid NDC policy is one DRG001 already holds: kept apart, never warned
        assert _keys(table.explained) == {("77027", "J*", ("ndc=none",), "CO-16/M119")}
        assert table.explained[0].rules[0] == "DRG001"
        for p in table.patterns:
            assert p.claims >= 5 and p.rate >= 0.5 and p.denied <= p.claims
        # source period and counts
        src = table.source
        assert src.period_to == "2026-09-30" and src.period_from is not None
        assert src.claims == 39 * PER_WEEK and src.payers == 5 and 0 < src.denied_lines < src.lines
        assert "@" not in src.database or "postgres@" in src.database
        assert table.note == ""
        # the held-out months: warnings with their counts, precision/recall/false warnings on target
        figures = gen_history.evaluate(engine, history)
        assert figures["precision"] >= 0.8 and figures["recall"] >= 0.7, figures
        assert figures["false_warning_rate"] <= 0.02, figures
        assert all(v["recall"] >= 0.7 for v in figures["per_policy"].values()), figures
        assert sum(figures["held_out"]["warnings_by_pattern"].values()) == figures["held_out"]["warnings"]
        # the dashboard's data: patterns, rates, would-have-caught counts
        dash = learned_summary(table)
        assert {p["would_have_caught"] for p in dash["patterns"]} == {p.denied for p in table.patterns}
        assert all(p["description"] and p["denial"] for p in dash["patterns"])
    finally:
        engine.dispose()


def test_empty_and_too_small_history_say_why(db_url: str, history: Path) -> None:  # noqa: F811
    engine = open_database(db_url)
    try:
        empty = learn(engine).table
        assert not empty.patterns and "nothing to learn" in empty.note
        gen_history.load_history(engine, history, until=date(2026, 1, 19))   # the first week's remits
        small = learn(engine, min_claims=1000).table
        assert not small.patterns and small.source.claims == PER_WEEK
        assert "fewer than min_claims (1000): too little history" in small.note
        # ... and a table without patterns warns on nothing
        from scrubber.engine import Scrubber

        claim = build_claim({"payer": "CI", "payer_id": "87726", "diagnoses": ["L82.1"], "lines": [{"code": "17110"}]})
        for table in (empty, small):
            assert not [f for f in Scrubber(learned=table).scrub(claim).findings if f.rule == "LRN001"]
    finally:
        engine.dispose()


# ---- lines paid later count as not denied -------------------------------------------------------


def _tiny_history(engine: Any, tmp: Path, *, appealed: int) -> None:
    """Six 17110/L82.1 claims to payer 87726, all denied CO-50/N115; ``appealed`` of them paid later."""
    from remits.ingest import ingest_835_file
    from remits.worklist import record_submitted_file

    payer = gen_history.PAYERS[0]
    specs = [{"claim_id": f"T{i}", "payer": "CI", "payer_id": payer.payer_id, "payer_name": payer.name,
              "dos": date(2026, 3, 2), "diagnoses": ["L82.1"], "lines": [{"code": "17110", "charge": "190.00"}]}
             for i in range(6)]
    src = tmp / "sent.837"
    src.write_text(build_837(specs, file_date=date(2026, 3, 3)))
    with session_scope(engine) as s:
        record_submitted_file(s, src, submitted_at=datetime(2026, 3, 3, tzinfo=UTC))
    charge = Decimal("190.00")
    denied = [gen_history._Answer(f"T{i}", [(1, "17110", [], charge, Decimal(0), [("CO", "50", charge)], "N115")])
              for i in range(6)]
    gen_history._write_835(tmp / "r1.835", payer, date(2026, 3, 20), denied, 501)
    assert ingest_835_file(engine, tmp / "r1.835").items_created == 6
    if appealed:
        paid = [gen_history._Answer(f"T{i}", [gen_history._paid_line(1, "17110", [], charge)]) for i in range(appealed)]
        gen_history._write_835(tmp / "r2.835", payer, date(2026, 5, 1), paid, 502)
        assert ingest_835_file(engine, tmp / "r2.835").items_resolved == appealed


def test_lines_paid_on_appeal_count_as_not_denied(db_url: str, tmp_path: Path) -> None:  # noqa: F811
    engine = open_database(db_url)
    try:
        _tiny_history(engine, tmp_path, appealed=1)
        table = learn(engine).table
        assert len(table.patterns) == 1
        p = table.patterns[0]
        assert (p.payer_id, p.procedure, p.denied, p.overturned, p.claims) == ("87726", "17110", 5, 1, 6)
        assert "in 5 of 6 claims" in p.message("2026-03-02")
        assert "paid later on appeal or resubmission 1 of 6" in p.message(None)
    finally:
        engine.dispose()


def test_mostly_overturned_pattern_is_not_learned(db_url: str, tmp_path: Path) -> None:  # noqa: F811
    engine = open_database(db_url)
    try:
        _tiny_history(engine, tmp_path, appealed=4)
        table = learn(engine).table
        assert not table.patterns                         # 2 of 6 denied in the end: below 50%
        assert "no pattern reaches" in table.note
    finally:
        engine.dispose()


# ---- the table as configuration -----------------------------------------------------------------

TABLE = Path(__file__).parent / "fixtures" / "rules" / "LRN001-table.json"


def test_table_round_trip_and_errors(tmp_path: Path) -> None:
    table = load_learned_table(TABLE)
    assert parse_learned_table(json.loads(table.to_json())) == table
    assert table.for_payer("87726")["proc=17110"][0].conditions == ("dx=L82.1",)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(LearnedTableError, match="not JSON"):
        load_learned_table(bad)
    with pytest.raises(LearnedTableError, match="not a dermedi learned table"):
        parse_learned_table({"kind": "other"})
    raw = json.loads(TABLE.read_text())
    raw["patterns"][0]["conditions"] = ["colour=blue"]
    with pytest.raises(LearnedTableError, match="colour=blue"):
        parse_learned_table(raw)
    raw = json.loads(TABLE.read_text())
    raw["patterns"][0]["rate"] = 3
    with pytest.raises(LearnedTableError, match=r"patterns\.0\.rate"):
        parse_learned_table(raw)
    with pytest.raises(LearnedTableError, match="cannot read"):
        load_learned_table(tmp_path / "missing.json")


def _claims_837(tmp: Path) -> Path:
    path = tmp / "in.837"
    path.write_text(build_837([
        {"claim_id": "W1", "payer": "CI", "payer_id": "87726", "diagnoses": ["L82.1"], "lines": [{"code": "17110"}]},
        {"claim_id": "W2", "payer": "CI", "payer_id": "87726", "diagnoses": ["L82.0"], "lines": [{"code": "17110"}]},
    ]))
    return path


def test_reports_show_the_warning(tmp_path: Path) -> None:
    from scrubber.engine import Scrubber
    from scrubber.run import scrub_file

    src = _claims_837(tmp_path)
    summary = scrub_file(src, report=tmp_path / "r.json", html=tmp_path / "r.html",
                         scrubber=Scrubber(learned=load_learned_table(TABLE), today=date(2024, 10, 1)))
    assert summary.held == 0 and summary.by_rule["LRN001"] == 1
    report = json.loads((tmp_path / "r.json").read_text())
    found = {c["claim_id"]: [f for f in c["findings"] if f["rule"] == "LRN001"] for c in report["claims"]}
    assert found["W2"] == []
    assert found["W1"][0]["severity"] == "warning" and found["W1"][0]["line"] == 1
    assert "denied 17110 with L82.1 as CO-50/N115 in 8 of 10 claims" in found["W1"][0]["message"]
    html = (tmp_path / "r.html").read_text()
    assert "LRN001" in html and "in 8 of 10 claims since 2026-01-01" in html and "sev-warning" in html


def test_cli_learn_and_scrub(tmp_path: Path) -> None:
    from dermedi.cli import commands  # noqa: F401
    from dermedi.cli.app import app

    db = tmp_path / "d.db"
    engine = open_database(f"sqlite:///{db}")
    _tiny_history(engine, tmp_path, appealed=0)
    engine.dispose()
    cfg = tmp_path / "dermedi.toml"
    cfg.write_text(f'[database]\nurl = "sqlite:///{db}"\n\n[learning]\ntable = "learned.json"\n')
    runner = CliRunner()
    out = tmp_path / "learned.json"
    r = runner.invoke(app, ["learn", "--config", str(cfg), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert " 17110 " in r.output and "6/6" in r.output and "CO-50/N115" in r.output
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert load_learned_table(out).patterns[0].denied == 6
    # the scrubber picks the table up from [learning] table
    r = runner.invoke(app, ["scrub", str(_claims_837(tmp_path)), "--config", str(cfg), "--today", "2026-10-01",
                            "--report", str(tmp_path / "r.json")])
    assert r.exit_code == 0, r.output
    assert "2 warning(s)" in r.output             # the learned pattern is 17110 alone: every claim here
    report = json.loads((tmp_path / "r.json").read_text())
    assert [f["rule"] for c in report["claims"] for f in c["findings"]] == ["LRN001", "LRN001"]
    r = runner.invoke(app, ["scrub", str(_claims_837(tmp_path)), "--config", str(cfg), "--no-learned",
                            "--today", "2026-10-01"])
    assert r.exit_code == 0 and "0 warning(s)" in r.output
    # bad options / missing table: one line, the right exit code
    r = runner.invoke(app, ["learn", "--config", str(cfg), "--min-rate", "2"])
    assert r.exit_code == 2 and "--min-rate" in r.output
    r = runner.invoke(app, ["learn", "--config", str(cfg), "--since", "2026-13-01"])
    assert r.exit_code == 2 and "not a date" in r.output
    r = runner.invoke(app, ["scrub", str(_claims_837(tmp_path)), "--learned", str(tmp_path / "nope.json")])
    assert r.exit_code == 4 and "cannot read the learned table" in r.output and "Traceback" not in r.output


def test_fast_reader_agrees_with_the_parser(history: Path) -> None:
    """The learner's fast reader of submitted claims gives the same line items as edi.x837."""
    import io

    from config.learned import claim_line_items
    from edi.x837 import ClaimWriter, Parser837
    from remits.learn import fast_claim

    samples = Path(__file__).parent.parent / "samples"
    files = sorted((history / "837").glob("*.837"))[:4] + sorted(samples.glob("*.837"))
    n = 0
    for path in files:
        parser = Parser837(path, path.name)
        for claim in parser.claims():
            buf = io.BytesIO()
            w = ClaimWriter(buf, parser.delimiters)
            w.write(claim)
            w.close()
            x12 = buf.getvalue().decode("latin-1")
            full = next(Parser837(x12.encode("latin-1"), "one.837").claims())
            fast = fast_claim(x12)
            assert fast is not None
            assert fast.payer_id == full.payer_id
            assert [(ln.number, items) for ln, items in claim_line_items(fast)] == \
                [(ln.number, items) for ln, items in claim_line_items(full)]
            n += 1
    assert n > 200
    assert fast_claim("not x12") is None
