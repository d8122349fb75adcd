"""Worklist: statuses, hand-out, scrubber links, corrected claims, CLI, export, summary, 277CA."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from dbfixtures import db_url  # noqa: F401
from sqlalchemy import Engine, select
from typer.testing import CliRunner
from x12util import SHARED

from edi.build import build_837_bytes
from edi.validate import validate_file
from edi.x837 import Parser837
from remits.correct import write_corrected_claim
from remits.frontend import ingest_277ca
from remits.ingest import ingest_835_file
from remits.summary import denial_summary
from remits.worklist import (
    WorklistError,
    item_history,
    next_item,
    record_scrub_results,
    record_submitted_claims,
    update_item,
)
from scrubber.engine import ClaimResult, ScrubFinding
from store import open_database, session_scope
from store.remits import WorkItem, WorkItemEvent

DATA = Path(__file__).parent / "data"
DENIALS = DATA / "remits" / "derm_denials.835"
TODAY = date(2026, 11, 21)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:  # noqa: F811
    e = open_database(db_url)
    try:
        yield e
    finally:
        e.dispose()


def _item(engine: Engine, claim: str, line: int | None = 1) -> WorkItem:
    with session_scope(engine) as s:
        return s.scalars(select(WorkItem).where(WorkItem.claim_id == claim, WorkItem.line_number == line)).one()


def _sent_837() -> bytes:
    specs = [
        {"claim_id": "DERM001", "payer": "medicare", "payer_id": "01112", "dos": "2026-10-15",
         "diagnoses": ["L57.0", "D48.5"],
         "lines": [{"code": "99213", "charge": "120.00"}, {"code": "11102", "charge": "150.00", "pointers": [2]}]},
        {"claim_id": "DERM003", "payer": "medicare", "payer_id": "01112", "dos": "2026-10-17",
         "diagnoses": ["L82.1"], "lines": [{"code": "17110", "charge": "180.00"}]},
    ]
    return build_837_bytes(specs, file_date=date(2026, 10, 20))


def _record_sent(engine: Engine) -> None:
    data = _sent_837()
    parser = Parser837(data, "sent.837")
    with session_scope(engine) as s:
        assert record_submitted_claims(s, parser.claims(), file_sha256="ab" * 32, delimiters=parser) == 2
        # idempotent per claim and file
        assert record_submitted_claims(s, Parser837(data, "sent.837").claims(), file_sha256="ab" * 32) == 0


def test_status_transitions_and_history(engine: Engine) -> None:
    ingest_835_file(engine, DENIALS, today=TODAY)
    item = _item(engine, "DERM003")
    with session_scope(engine) as s:
        with pytest.raises(WorklistError, match="cannot go from new to appealed"):
            update_item(s, item.id, status="appealed", user="alice")
    with session_scope(engine) as s:
        update_item(s, item.id, status="in_progress", user="alice")
    with session_scope(engine) as s:
        update_item(s, item.id, status="appealed", note="redetermination sent with LCD L34200 notes", user="alice")
    with session_scope(engine) as s:
        with pytest.raises(WorklistError):
            update_item(s, item.id, status="corrected", user="alice")
        with pytest.raises(WorklistError, match="unknown status"):
            update_item(s, item.id, status="done", user="alice")
    with session_scope(engine) as s:
        update_item(s, item.id, status="resolved", user="alice")
    with session_scope(engine) as s:
        with pytest.raises(WorklistError, match="closed"):
            update_item(s, item.id, status="in_progress", user="bob")
        got = s.get(WorkItem, item.id)
        assert got is not None and got.status == "resolved" and got.owner == "alice"
        hist = [(e.event, e.from_status, e.to_status, e.actor) for e in item_history(s, item.id)]
    assert hist == [("created", None, "new", "dermedi"), ("status", "new", "in_progress", "alice"),
                    ("status", "in_progress", "appealed", "alice"), ("status", "appealed", "resolved", "alice")]
    with pytest.raises(WorklistError, match="no worklist item"), session_scope(engine) as s:
        update_item(s, 999999, note="x")


def test_next_hands_out_by_priority_once(engine: Engine) -> None:
    ingest_835_file(engine, DENIALS, today=TODAY)
    with session_scope(engine) as s:
        order = [i.id for i in s.scalars(select(WorkItem).order_by(WorkItem.priority.desc(), WorkItem.id))]
    got = [next_item(engine, "alice" if n % 2 else "bob") for n in range(len(order))]
    assert got == order
    assert next_item(engine, "carol") is None
    with session_scope(engine) as s:
        items = list(s.scalars(select(WorkItem)))
        assert all(i.status == "in_progress" and i.owner in ("alice", "bob") for i in items)
        assigned = s.scalars(select(WorkItemEvent).where(WorkItemEvent.event == "assigned")).all()
        assert len(assigned) == len(order)


def test_scrub_findings_link_and_closed_loop(engine: Engine) -> None:
    sent = Parser837(_sent_837(), "sent.837")
    claims = {c.claim_id: c for c in sent.claims()}
    with session_scope(engine) as s:
        n = record_scrub_results(s, [
            ClaimResult(claims["DERM001"], [ScrubFinding("EM25", "warning", "DERM001",
                                                         "E/M on the day of a minor procedure without 25", line="1",
                                                         carc="97")]),
            ClaimResult(claims["DERM003"], []),
        ], file_sha256="cd" * 32)
        assert n == 2
    ingest_835_file(engine, DENIALS, today=TODAY)
    from remits.worklist import items_as_dicts, list_items

    with session_scope(engine) as s:
        rows = {(r["claim_id"], r["line"]): r for r in items_as_dicts(s, list_items(s))}
        data = denial_summary(s)
        later = denial_summary(s, since=date(2027, 1, 1))
    assert later["denied_items"] == 0
    assert rows[("DERM001", 1)]["scrub_flagged"] == ["EM25"]
    assert rows[("DERM003", 1)]["scrub_flagged"] == []
    loop = data["scrubber_loop"]
    assert loop == {"denied_items_scrubbed": 2, "flagged_by_scrubber": 1, "not_flagged": 1, "by_rule": {"EM25": 1}}
    assert data["denied_items"] == 10 and data["denied_amount"] == "2230.00"
    cats = {r["key"]: (r["count"], r["amount"]) for r in data["by_category"]}
    assert cats["bundling"] == (2, "220.00")
    assert data["denial_rate"]["denied_lines"] == 10 and data["denial_rate"]["lines"] == 16


def test_corrected_claim_is_pyx12_valid(engine: Engine, tmp_path: Path) -> None:
    _record_sent(engine)
    ingest_835_file(engine, DENIALS, today=TODAY)
    item = _item(engine, "DERM001")
    assert item.submitted_claim_id is not None
    out = tmp_path / "DERM001.replacement.837"
    with session_scope(engine) as s:
        result = write_corrected_claim(s, item.id, out, user="alice")
    assert result.applied == ["modifier 25 added to line 1 99213"]
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    v = validate_file(out)
    assert v.valid, [f.format() for f in v.findings]
    claim = next(Parser837(out, "out").claims())
    assert claim.claim_id == "DERM001" and claim.frequency_code == "7"
    assert claim.ref("F8") == "26110000001"
    assert claim.lines[0].code == "99213" and claim.lines[0].modifiers == ["25"]
    assert claim.lines[1].modifiers == []          # no uncertain change elsewhere
    with session_scope(engine) as s:
        again = s.get(WorkItem, item.id)
        assert again is not None and again.status == "new"    # never sent, status untouched
        assert [e.event for e in item_history(s, item.id)][-1] == "corrected_claim"
    # a medical-necessity denial: replacement written, no automatic fix, flagged for review
    other = _item(engine, "DERM003")
    with session_scope(engine) as s:
        r2 = write_corrected_claim(s, other.id, tmp_path / "d3.837")
    assert r2.applied == [] and "appeal" in r2.needs_review[0]
    assert validate_file(tmp_path / "d3.837").valid


def test_correct_without_original_claim(engine: Engine, tmp_path: Path) -> None:
    ingest_835_file(engine, DENIALS, today=TODAY)
    item = _item(engine, "DERM005")
    with pytest.raises(WorklistError, match="not sent through dermedi"), session_scope(engine) as s:
        write_corrected_claim(s, item.id, tmp_path / "x.837")
    assert not (tmp_path / "x.837").exists()


def test_277ca_rejections(engine: Engine) -> None:
    r = ingest_277ca(engine, DATA / "277" / "mixed.277", today=TODAY)
    assert r.status == "ingested" and r.claims == 4 and r.items_created == 2
    assert ingest_277ca(engine, DATA / "277" / "mixed.277", today=TODAY).status == "duplicate"
    with session_scope(engine) as s:
        items = {i.claim_id: i for i in s.scalars(select(WorkItem))}
    assert set(items) == {"DERM1002", "DERM1003"}
    assert {(i.category, i.action, i.source) for i in items.values()} == {
        ("front_end_rejection", "correct_and_resubmit", "277CA")}
    assert "A7:562" in items["DERM1002"].rarcs


def _cli(config: Path, *args: str) -> tuple[int, str]:
    from dermedi.cli import commands  # noqa: F401
    from dermedi.cli.app import app

    res = CliRunner().invoke(app, [*args, "--config", str(config)])
    return res.exit_code, res.output


def test_cli_worklist(db_url: str, tmp_path: Path) -> None:  # noqa: F811
    cfg = tmp_path / "dermedi.toml"
    cfg.write_text(f'[database]\nurl = "{db_url}"\n')
    code, out = _cli(cfg, "remits", "ingest", str(DENIALS))
    assert code == 0 and "10 new items" in out
    code, out = _cli(cfg, "remits", "ingest", str(DENIALS))
    assert code == 0 and "nothing new" in out
    code, out = _cli(cfg, "worklist", "list", "--format", "json")
    rows = json.loads(out)
    assert len(rows) == 10
    need = {"id", "claim_id", "line", "procedure", "group", "carc", "rarcs", "category", "action", "amount", "payer",
            "deadline", "priority", "status", "owner"}
    assert need <= set(rows[0]) and isinstance(rows[0]["amount"], str)
    code, out = _cli(cfg, "worklist", "list", "--category", "bundling", "--format", "csv")
    assert code == 0 and out.count("\n") == 3 and out.startswith("id,claim_id,line")
    code, out = _cli(cfg, "worklist", "next", "--user", "alice", "--format", "json")
    taken = json.loads(out)
    assert code == 0 and taken["owner"] == "alice" and taken["claim_id"] == "DERM007"
    code, out = _cli(cfg, "worklist", "update", str(taken["id"]), "--status", "written_off", "--user", "alice")
    assert code == 0 and "written_off" in out
    code, out = _cli(cfg, "worklist", "update", str(taken["id"]), "--status", "in_progress", "--user", "alice")
    assert code == 1 and "cannot go from written_off" in out
    code, out = _cli(cfg, "worklist", "list", "--owner", "alice", "--format", "json")
    assert json.loads(out) == []                       # closed items are not in the queue
    code, out = _cli(cfg, "worklist", "list", "--owner", "alice", "--all", "--format", "json")
    assert [r["id"] for r in json.loads(out)] == [taken["id"]]
    code, out = _cli(cfg, "worklist", "list", "--status", "written_off", "--format", "json")
    assert [r["id"] for r in json.loads(out)] == [taken["id"]]
    export = tmp_path / "out" / "worklist.csv"
    code, out = _cli(cfg, "worklist", "export", "--csv", str(export))
    assert code == 0 and stat.S_IMODE(os.stat(export).st_mode) == 0o600
    assert export.read_text().count("\n") == 11
    code, out = _cli(cfg, "remits", "summary", "--format", "json")
    assert code == 0 and json.loads(out)["denied_items"] == 10
    bad = tmp_path / "bad.835"
    bad.write_bytes(DENIALS.read_bytes().replace(b"BPR*I*369.26*", b"BPR*I*396.26*"))
    code, out = _cli(cfg, "remits", "ingest", str(bad))
    assert code == 1 and "QUARANTINED" in out
    code, out = _cli(cfg, "remits", "quarantine", "list")
    assert "transaction does not balance" in out
    code, out = _cli(cfg, "remits", "ingest", str(DATA / "minimal.837"))
    assert code == 2 and "Traceback" not in out


def test_cli_record_sent_links_items(db_url: str, tmp_path: Path) -> None:  # noqa: F811
    cfg = tmp_path / "dermedi.toml"
    cfg.write_text(f'[database]\nurl = "{db_url}"\n')
    sent = tmp_path / "sent.837"
    sent.write_bytes(_sent_837())
    code, out = _cli(cfg, "remits", "record-sent", str(sent), "--no-scrub")
    assert code == 0 and "2 claims recorded" in out
    code, out = _cli(cfg, "remits", "record-sent", str(sent), "--no-scrub")
    assert code == 0 and "0 claims recorded" in out
    _cli(cfg, "remits", "ingest", str(DENIALS))
    rows = {r["claim_id"]: r for r in json.loads(_cli(cfg, "worklist", "list", "--format", "json")[1])}
    assert rows["DERM001"]["submitted"] and rows["DERM003"]["submitted"] and not rows["DERM005"]["submitted"]
    out_837 = tmp_path / "r.837"
    code, out = _cli(cfg, "worklist", "correct", str(rows["DERM001"]["id"]), "-o", str(out_837))
    assert code == 0 and "not sent" in out and validate_file(out_837).valid
    code, out = _cli(cfg, "worklist", "correct", str(rows["DERM005"]["id"]), "-o", str(tmp_path / "n.837"))
    assert code == 1 and "not sent through dermedi" in out


def test_public_samples_ingest_or_quarantine(engine: Engine) -> None:
    """Public 835 examples: each is ingested or (malformed SVC composite) quarantined, never crashes."""
    from edi.errors import X12Error

    samples = sorted(SHARED.joinpath("domain", "samples-835").glob("*.835"))
    if not samples:
        pytest.skip("public samples not present")
    statuses = {}
    for p in samples:
        try:
            statuses[p.name] = ingest_835_file(engine, p, today=TODAY).status
        except X12Error as exc:
            statuses[p.name] = f"error: {exc}"
    assert statuses["lfh__tertiary-payment.835"] == "quarantined"
    assert statuses["lfh__managed-care.835"] == "ingested"
    with session_scope(engine) as s:
        codes = {i.carc_sent for i in s.scalars(select(WorkItem))}
    assert not codes & {"42", "A2", "45"}       # legacy contractual codes are not denials


def test_unprocessable_claim_is_resent_as_new(engine: Engine, tmp_path: Path) -> None:
    spec = [{"claim_id": "DERM004", "payer": "medicare", "payer_id": "01112", "dos": "2026-10-18",
             "lines": [{"code": "11102", "charge": "150.00"}]}]
    data = build_837_bytes(spec, file_date=date(2026, 10, 20))
    parser = Parser837(data, "sent4.837")
    with session_scope(engine) as s:
        record_submitted_claims(s, parser.claims(), file_sha256="ef" * 32, delimiters=parser)
    ingest_835_file(engine, DENIALS, today=TODAY)
    item = _item(engine, "DERM004")           # CO-16 with MA130
    out = tmp_path / "new.837"
    with session_scope(engine) as s:
        r = write_corrected_claim(s, item.id, out)
    assert r.new_claim and "new claim" in r.summary()
    claim = next(Parser837(out, "out").claims())
    assert claim.frequency_code == "1" and claim.ref("F8") == ""
    assert validate_file(out).valid
