"""Acknowledgment watch and claim aging (issue 13), on SQLite and PostgreSQL, with the clock in the
test's hands: every query takes ``as_of``; sending times are written into the ledger directly."""

from __future__ import annotations

import itertools
import json
import logging
import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from dbfixtures import db_url  # noqa: F401
from sqlalchemy import Engine, select
from typer.testing import CliRunner
from x12util import isa

from clearinghouse.receive import process_responses
from clearinghouse.scheduler import watch_and_log
from config.calendar import add_business_days, federal_holidays, is_business_day, latest_start_due_before
from config.settings import ClearinghouseProfile, DatabaseSettings, Settings
from remits.aging import aging, aging_report, late_items, late_report, watch
from remits.frontend import ingest_277ca
from remits.ingest import ingest_835_file
from store import make_engine, migrate, session_scope
from store.acks import AckAlert, ClaimAck
from store.ledger import ResponseFile, Submission, SubmissionClaim
from store.remits import SubmittedClaim, WorkItem, WorkItemEvent

DATA = Path(__file__).parent / "data"
CH = "acme"
_isa = itertools.count(100)


def today() -> date:
    return datetime.now(UTC).date()


def at(day: date, hour: int = 15) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:  # noqa: F811
    migrate(db_url)
    e = make_engine(db_url)
    yield e
    e.dispose()


def settings(url: str = "sqlite://", data_dir: str = "unused", **windows: int) -> Settings:
    ch = ClearinghouseProfile(name=CH, transport="directory", **windows)  # type: ignore[arg-type]
    return Settings(database=DatabaseSettings(url=url), data_dir=data_dir, clearinghouses=[ch])


def send(engine: Engine, claims: list[tuple[str, str, str, str]], sent: datetime | None, *, state: str = "sent",
         isa13: int | None = None, ch: str = CH) -> int:
    """A submission of ``claims`` = [(claim id, payer id, charge, SBR09)] sent at ``sent``."""
    n = isa13 if isa13 is not None else next(_isa)
    src = f"src{n:060d}"
    with session_scope(engine) as s:
        sub = Submission(clearinghouse=ch, content_sha256=f"c{n:063d}", file_sha256=f"f{n:063d}", source_sha256=src,
                         source_name="batch.837", size=100, isa13=n, gs06=str(n), remote_dir="up",
                         remote_name=f"acme_{n:09d}.x12", local_path="/nonexistent", state=state, attempts=1,
                         sent_at=sent)
        sub.claims = [SubmissionClaim(clearinghouse=ch, claim_id=cid, claim_sha256=f"h{cid}", st02=f"{i + 1:04d}")
                      for i, (cid, *_rest) in enumerate(claims)]
        s.add(sub)
        for cid, payer, charge, sbr09 in claims:
            x12 = isa() + f"SBR*P*18*******{sbr09}~NM1*PR*2*PAYER*****PI*{payer}~"
            s.add(SubmittedClaim(claim_id=cid, file_sha256=src, submitted_at=sent or at(today()), payer_id=payer,
                                 total_charge=Decimal(charge), line_count=1, x12=x12))
        s.flush()
        return sub.id


# ------------------------------------------------------------------------------------------
# Business days
# ------------------------------------------------------------------------------------------


def test_federal_holidays_with_observed_days() -> None:
    h = federal_holidays(2026)
    assert date(2026, 7, 3) in h            # Independence Day on a Saturday: observed Friday
    assert date(2026, 11, 26) in h          # Thanksgiving, 4th Thursday
    assert date(2026, 1, 19) in h           # MLK, 3rd Monday
    assert date(2027, 12, 24) in federal_holidays(2027)   # Christmas 2027 on a Saturday
    assert len(h) == 12                     # 11 holidays + the observed Friday of July 4
    assert not is_business_day(date(2026, 11, 11)) and is_business_day(date(2026, 11, 12))


def test_add_business_days_skips_weekends_and_holidays() -> None:
    assert add_business_days(date(2026, 11, 6), 1) == date(2026, 11, 9)      # Friday -> Monday
    assert add_business_days(date(2026, 11, 10), 1) == date(2026, 11, 12)    # over Veterans Day
    assert add_business_days(date(2026, 11, 25), 1) == date(2026, 11, 27)    # over Thanksgiving
    assert add_business_days(date(2026, 12, 24), 1) == date(2026, 12, 28)    # Christmas Friday + weekend
    assert latest_start_due_before(date(2026, 11, 10), 1) == date(2026, 11, 8)   # a Sunday send is due Monday
    assert latest_start_due_before(date(2026, 11, 9), 1) == date(2026, 11, 5)


# ------------------------------------------------------------------------------------------
# 999
# ------------------------------------------------------------------------------------------


def test_friday_send_answered_monday_is_not_late(engine: Engine) -> None:
    fri = date(2026, 11, 6)
    sid = send(engine, [("DERMF1", "P1", "100", "CI")], at(fri, 21))
    cfg = settings()
    with session_scope(engine) as s:
        assert late_report(s, date(2026, 11, 7), settings=cfg).files == []     # Saturday
        assert late_report(s, date(2026, 11, 9), settings=cfg).files == []     # Monday: still due today
        tue = late_report(s, date(2026, 11, 10), settings=cfg)
    assert [f.submission_id for f in tue.files] == [sid]
    assert tue.files[0].due == date(2026, 11, 9) and tue.alerts == 1
    # the 999 came on Monday: nothing is late on Tuesday
    with session_scope(engine) as s:
        sub = s.get(Submission, sid)
        assert sub is not None
        sub.state, sub.ack_code, sub.acked_at = "accepted", "A", at(date(2026, 11, 9), 9)
    assert late_items(engine, date(2026, 11, 10), settings=cfg).files == []


def test_999_window_is_per_clearinghouse_and_counts_holidays(engine: Engine) -> None:
    send(engine, [("DERMH1", "P1", "100", "CI")], at(date(2026, 11, 10)))          # Tuesday before Veterans Day
    with session_scope(engine) as s:
        assert late_report(s, date(2026, 11, 12), settings=settings()).files == []   # due Thursday
        assert len(late_report(s, date(2026, 11, 13), settings=settings()).files) == 1
        assert late_report(s, date(2026, 11, 13), settings=settings(ack_999_business_days=3)).files == []


# ------------------------------------------------------------------------------------------
# 277CA
# ------------------------------------------------------------------------------------------


def test_claim_without_277ca_after_three_days_until_it_comes(engine: Engine) -> None:
    sent = today() - timedelta(days=6)
    send(engine, [("DERM1001", "60054", "350", "CI"), ("DERM1002", "60054", "330", "CI")], at(sent), state="accepted")
    cfg = settings()
    with session_scope(engine) as s:
        assert late_report(s, sent + timedelta(days=3), settings=cfg).claims_277ca == []   # day 3: on time
        late = late_report(s, sent + timedelta(days=4), settings=cfg).claims_277ca
    assert sorted(c.claim_id for c in late) == ["DERM1001", "DERM1002"]
    assert all(c.due == sent + timedelta(days=3) for c in late)
    res = ingest_277ca(engine, DATA / "277" / "mixed.277", today=today())
    assert res.status == "ingested"
    with session_scope(engine) as s:
        acks = {a.claim_id: a.status for a in s.scalars(select(ClaimAck))}
        assert acks["DERM1001"] == "accepted" and acks["DERM1002"] == "rejected"
        assert late_report(s, today(), settings=cfg).claims_277ca == []
        # as of a day before the 277CA was received, both were late
        assert len(late_report(s, today() - timedelta(days=1), settings=cfg).claims_277ca) == 2


def test_rejected_transaction_set_waits_for_nothing(engine: Engine) -> None:
    sent = today() - timedelta(days=60)
    sid = send(engine, [("DERMR1", "P1", "100", "CI"), ("DERMR2", "P1", "100", "CI")], at(sent), state="partial")
    with session_scope(engine) as s:
        for c in s.get(Submission, sid).claims:  # type: ignore[union-attr]
            c.ack_code = "R" if c.claim_id == "DERMR1" else "A"
        s.get(Submission, sid).acked_at = at(sent)  # type: ignore[union-attr]
        r = late_report(s, today(), settings=settings())
    assert [c.claim_id for c in r.claims_277ca] == ["DERMR2"]
    assert [c.claim_id for c in r.claims_835] == ["DERMR2"]
    assert [(x.kind, x.claims) for x in r.rejections] == [("999_rejected", ["DERMR1"])]


# ------------------------------------------------------------------------------------------
# Rejections: 999 and TA1, with the reason, at once
# ------------------------------------------------------------------------------------------


def _response(engine: Engine, tmp_path: Path, kind: str, content: bytes | Path) -> None:
    path = tmp_path / f"resp-{kind}.x12"
    if isinstance(content, Path):
        shutil.copyfile(content, path)
    else:
        path.write_bytes(content)
    with session_scope(engine) as s:
        s.add(ResponseFile(clearinghouse=CH, sha256=f"{kind:0>64}", remote_name=path.name, local_path=str(path),
                           size=path.stat().st_size, kind=kind, state="received"))


def test_999_rejection_is_an_alert_at_once_with_the_reason(engine: Engine, tmp_path: Path) -> None:
    sent = today()
    sid = send(engine, [("DERM1001", "P1", "10", "CI"), ("DERM1003", "P1", "10", "CI"),
                        ("DERM1004", "P1", "10", "CI")], at(sent, 0), isa13=17457)
    _response(engine, tmp_path, "999", DATA / "999" / "partial.999")
    process_responses(engine, CH)
    r = late_items(engine, today(), settings=settings())
    assert r.files == [] and len(r.rejections) == 1
    rej = r.rejections[0]
    assert rej.submission_id == sid and rej.kind == "999_rejected" and rej.code == "P"
    assert rej.claims == ["DERM1001"]
    assert "ST 837 0001: rejected [R]" in rej.reason and "NM1 at position 14" in rej.reason
    assert "20261301" not in rej.reason          # IK404 bad values are never shown
    # sending the rejected claim again resolves the alert
    send(engine, [("DERM1001", "P1", "10", "CI")], at(sent, 1))
    assert late_items(engine, today(), settings=settings()).rejections == []


def test_ta1_rejection_is_an_alert_at_once_with_the_note(engine: Engine, tmp_path: Path) -> None:
    sid = send(engine, [("DERMT1", "P1", "10", "CI")], at(today(), 0), isa13=777)
    ta1 = (isa(control="000000501") + "TA1*000000777*260302*1016*R*022~IEA*0*000000501~").encode()
    _response(engine, tmp_path, "TA1", ta1)
    process_responses(engine, CH)
    r = late_items(engine, today(), settings=settings())
    assert [(x.submission_id, x.kind, x.code) for x in r.rejections] == [(sid, "ta1_rejected", "TR")]
    assert "invalid control structure [TA105 022]" in r.rejections[0].reason
    assert r.claims_277ca == [] and r.files == []


# ------------------------------------------------------------------------------------------
# 835: no_response items
# ------------------------------------------------------------------------------------------


def test_no_835_after_window_opens_item_that_closes_when_835_comes(engine: Engine) -> None:
    sent = today() - timedelta(days=40)
    send(engine, [("DERM1001", "60054", "350.00", "CI"),       # commercial: 45 days
                  ("DERM1002", "SYNMB", "330.00", "MB")], at(sent), state="accepted")   # Medicare: 30 days
    cfg = settings()
    res = watch(engine, today(), settings=cfg)
    assert [(c.claim_id, c.payer_type, c.days_outstanding) for c in res.report.claims_835] == [
        ("DERM1002", "medicare", 40)]
    assert res.items_opened == 1
    with session_scope(engine) as s:
        item = s.scalars(select(WorkItem).where(WorkItem.category == "no_response")).one()
        assert (item.claim_id, item.action, item.status, item.amount) == ("DERM1002", "follow_up", "new",
                                                                          Decimal("330.00"))
        note = s.scalars(select(WorkItemEvent.note).where(WorkItemEvent.item_id == item.id)).one()
        assert note is not None and "no 835 40 days after sending" in note
    # a second watch the same day opens nothing new; six days later the commercial claim is due too
    assert watch(engine, today(), settings=cfg).items_opened == 0
    assert watch(engine, today() + timedelta(days=6), settings=cfg).items_opened == 1
    # the 835 arrives (claims DERM1001..1004): both items close themselves
    r = ingest_835_file(engine, DATA / "835" / "derm_paid.835", today=today())
    assert r.status == "ingested"
    with session_scope(engine) as s:
        items = list(s.scalars(select(WorkItem).where(WorkItem.category == "no_response")))
        assert {(i.claim_id, i.status) for i in items} == {("DERM1001", "resolved"), ("DERM1002", "resolved")}
        assert all(i.resolved_by_remit_claim_id is not None for i in items)
        # the denial on DERM1003 and others went to their own items, none to the follow-ups
        assert s.scalars(select(WorkItemEvent.event).where(
            WorkItemEvent.item_id.in_([i.id for i in items]), WorkItemEvent.event == "seen_again")).first() is None
    assert late_items(engine, today() + timedelta(days=6), settings=cfg).claims_835 == []
    assert watch(engine, today() + timedelta(days=6), settings=cfg).items_opened == 0


def test_scheduler_logs_one_line_per_newly_late_item(engine: Engine, caplog: pytest.LogCaptureFixture,
                                                     tmp_path: Path) -> None:
    sent = today() - timedelta(days=10)
    send(engine, [("DERMS1", "P1", "10", "CI"), ("DERMS2", "P1", "10", "CI")], at(sent))            # no 999
    send(engine, [("DERMS3", "P1", "10", "CI")], at(sent), state="accepted")                         # no 277CA
    cfg = settings(data_dir=str(tmp_path / "data"))
    with caplog.at_level(logging.WARNING, logger="dermedi.clearinghouse.scheduler"):
        detail = watch_and_log(engine, cfg)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and "late: 1 999, 1 277CA" in detail
    assert sum(m.startswith("999 late") for m in lines) == 1 and sum(m.startswith("277CA late") for m in lines) == 1
    assert not any("DERMS" in m for m in lines)        # claims named by ledger row, not by claim id
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="dermedi.clearinghouse.scheduler"):
        watch_and_log(engine, cfg)
    assert caplog.records == []                         # nothing newly late
    with session_scope(engine) as s:
        assert len(list(s.scalars(select(AckAlert)))) == 2


# ------------------------------------------------------------------------------------------
# Aging
# ------------------------------------------------------------------------------------------


def test_aging_buckets_and_amounts_on_seeded_history(engine: Engine) -> None:
    as_of = today()
    history = [  # (claim, payer, charge, sbr09, days ago)
        ("A1", "MCR", "100.00", "MB", 0), ("A2", "MCR", "50.50", "MB", 30),        # 0-30
        ("A3", "MCR", "10.00", "MB", 31), ("A4", "UHC", "200.00", "CI", 60),       # 31-60
        ("A5", "UHC", "300.00", "CI", 61), ("A6", "UHC", "1.25", "CI", 120),       # 61-90 / 91-120
        ("A7", "UHC", "7.00", "CI", 121), ("A8", "UHC", "8.00", "CI", 400),        # > 120
    ]
    for cid, payer, charge, sbr, ago in history:
        send(engine, [(cid, payer, charge, sbr)], at(as_of - timedelta(days=ago), 0), state="accepted")
    # not outstanding: rejected by the 999, answered by a 277CA rejection, or sent after as_of
    send(engine, [("X1", "UHC", "999.00", "CI")], at(as_of - timedelta(days=5)), state="rejected")
    send(engine, [("X2", "UHC", "999.00", "CI")], at(as_of - timedelta(days=5)), state="accepted")
    with session_scope(engine) as s:
        s.add(ClaimAck(claim_id="X2", source="277CA", status="rejected", code="A7:562", received_at=at(as_of, 0)))
    send(engine, [("X3", "UHC", "999.00", "CI")], at(as_of + timedelta(days=1)), state="sent")
    # a claim sent twice ages from its first sending
    send(engine, [("A9", "MCR", "20.00", "MB")], at(as_of - timedelta(days=95)), state="rejected")
    send(engine, [("A9", "MCR", "20.00", "MB")], at(as_of - timedelta(days=10)), state="accepted")
    data = aging_report(engine, as_of, settings=settings())     # what the web dashboard calls
    with session_scope(engine) as s:
        assert aging(s, as_of, settings=settings()) == data
    by = {p["payer_id"]: p for p in data["by_payer"]}
    assert by["MCR"]["payer_type"] == "medicare" and by["UHC"]["payer_type"] == "commercial"
    assert by["MCR"]["buckets"]["0-30"] == {"claims": 2, "amount": "150.50"}
    assert by["MCR"]["buckets"]["31-60"] == {"claims": 1, "amount": "10.00"}
    assert by["MCR"]["buckets"]["91-120"] == {"claims": 1, "amount": "20.00"}
    assert by["UHC"]["buckets"]["31-60"] == {"claims": 1, "amount": "200.00"}
    assert by["UHC"]["buckets"]["61-90"] == {"claims": 1, "amount": "300.00"}
    assert by["UHC"]["buckets"]["91-120"] == {"claims": 1, "amount": "1.25"}
    assert by["UHC"]["buckets"][">120"] == {"claims": 2, "amount": "15.00"}
    assert data["claims"] == 9 and data["amount"] == "696.75"
    assert data["total"]["0-30"] == {"claims": 2, "amount": "150.50"}
    assert by["MCR"]["buckets"][">120"] == {"claims": 0, "amount": "0.00"}
    assert [p["payer_id"] for p in data["by_payer"]] == ["UHC", "MCR"]     # largest amount first


# ------------------------------------------------------------------------------------------
# CLI: status --late exit codes, remits summary --as-of
# ------------------------------------------------------------------------------------------


def _config(tmp_path: Path, url: str) -> Path:
    cfg = tmp_path / "dermedi.toml"
    cfg.write_text(f'data_dir = "{tmp_path / "data"}"\n[database]\nurl = "{url}"\n\n[[clearinghouses]]\n'
                   f'name = "{CH}"\ntransport = "directory"\nupload_dir = "up"\nresponse_dir = "resp"\n')
    return cfg


def test_status_late_exit_codes(engine: Engine, db_url: str, tmp_path: Path) -> None:  # noqa: F811
    from dermedi.cli import commands  # noqa: F401
    from dermedi.cli.app import app

    cfg = _config(tmp_path, db_url)
    fri = date(2026, 11, 6)
    send(engine, [("DERMC1", "P1", "10", "CI")], at(fri, 20))
    run = CliRunner()
    ok = run.invoke(app, ["status", "--late", "--as-of", "2026-11-09", "--config", str(cfg)])
    assert ok.exit_code == 0, ok.output
    late = run.invoke(app, ["status", "--late", "--as-of", "2026-11-10", "--config", str(cfg), "--format", "json"])
    assert late.exit_code == 1, late.output
    body = json.loads(late.output)["late"]
    assert body["alerts"] == 1 and body["late_999"][0]["due"] == "2026-11-09"
    table = run.invoke(app, ["status", "--late", "--as-of", "2026-11-10", "--config", str(cfg)])
    assert table.exit_code == 1 and "Late 999" in table.output
    full = run.invoke(app, ["status", "--as-of", "2026-11-10", "--config", str(cfg)])   # no --late: exit 0
    assert full.exit_code == 0 and "Submissions" in full.output and "Late 999" in full.output
    bad = run.invoke(app, ["status", "--late", "--as-of", "11/10/2026", "--config", str(cfg)])
    assert bad.exit_code == 2 and "not a date" in bad.output
    summ = run.invoke(app, ["remits", "summary", "--as-of", "2026-11-10", "--config", str(cfg), "--format", "json"])
    assert summ.exit_code == 0, summ.output
    data = json.loads(summ.output)
    assert data["aging"]["claims"] == 1 and data["late"]["late_999"] == 1
    w = run.invoke(app, ["watch", "--as-of", "2026-11-10", "--config", str(cfg)])
    assert w.exit_code == 1 and w.output.count("new: 999 late") == 1, w.output
    again = run.invoke(app, ["watch", "--as-of", "2026-11-10", "--config", str(cfg)])
    assert again.exit_code == 1 and "new:" not in again.output
    assert run.invoke(app, ["watch", "--as-of", "2026-11-09", "--config", str(cfg)]).exit_code == 0


# ------------------------------------------------------------------------------------------
# Timely filing from facts
# ------------------------------------------------------------------------------------------


def _sent_claim(engine: Engine, claim_id: str, dos: date, sent: date, *, payer: str = "SYNCI", filing: str = "CI"
                ) -> int:
    from x12util import ClaimSpec, LineSpec, build_837

    x12 = build_837([ClaimSpec(claim_id=claim_id, payer_id=payer, filing=filing,
                               lines=[LineSpec(date=dos.strftime("%Y%m%d"))])]).decode("latin-1")
    sid = send(engine, [(claim_id, payer, "100", filing)], at(sent, 10), state="accepted")
    with session_scope(engine) as s:
        sc = s.scalars(select(SubmittedClaim).where(SubmittedClaim.claim_id == claim_id)).one()
        sc.x12 = x12
        sub = s.get(Submission, sid)
        assert sub is not None
        sub.ack_code, sub.acked_at = "A", at(sent, 12)
        for c in sub.claims:
            c.ack_code = "A"
        s.add(ClaimAck(claim_id=claim_id, source="277CA", status="accepted", code="A1:20",
                       status_date=sent + timedelta(days=1), received_at=at(sent + timedelta(days=1))))
        return sc.id


def test_timely_filing_flags_resubmission_with_the_dates(engine: Engine, tmp_path: Path) -> None:
    from remits.correct import write_corrected_claim
    from remits.timely import filing_facts, proof_text, timely_filing_check

    dos = date(2025, 3, 3)
    first = date(2025, 3, 20)
    sub_claim = _sent_claim(engine, "DERMTF1", dos, first)
    with session_scope(engine) as s:
        facts = filing_facts(s, "DERMTF1")
    assert (facts.first_sent, facts.accepted_999, facts.accepted_277ca, facts.service_date) == (
        first, first, first + timedelta(days=1), dos)
    assert facts.payer_type == "commercial" and facts.limit_days == 180
    assert timely_filing_check(facts, dos + timedelta(days=180)) is None
    flag = timely_filing_check(facts, date(2025, 12, 1))
    assert flag is not None and "273 days after its date of service 2025-03-03" in flag
    assert "first submission 2025-03-20 (17 days) is the proof" in flag and "999 accepted 2025-03-20" in flag
    proof = proof_text(facts)
    assert "first submitted electronically on 2025-03-20" in proof and "accepted it on 2025-03-21 (STC A1:20)" in proof
    assert "filed 17 days later, within the 180-day filing limit" in proof
    # a first submission already past the limit: the CO-29 stands
    _sent_claim(engine, "DERMTF2", dos, dos + timedelta(days=200))
    with session_scope(engine) as s:
        late_first = timely_filing_check(filing_facts(s, "DERMTF2"), date(2025, 12, 1))
    assert late_first is not None and "past the payer's 180-day limit already then" in late_first
    # the replacement claim writer lists the flag for review
    with session_scope(engine) as s:
        item = WorkItem(source="835", claim_id="DERMTF1", category="timely_filing", action="write_off", amount=100,
                        payer_claim_number="PCN1", created_at=at(first), updated_at=at(first),
                        submitted_claim_id=sub_claim, group_code="CO", carc="29", carc_sent="29")
        s.add(item)
        s.flush()
        corr = write_corrected_claim(s, item.id, tmp_path / "fix.837", today=date(2025, 12, 1))
    assert any("proof of timely filing" in r for r in corr.needs_review)
    # a resubmission through the ledger (what `dermedi send` checks): flagged; a first sending is not
    from remits.timely import resubmission_flags

    again = send(engine, [("DERMTF1", "SYNCI", "100", "CI"), ("DERMTF3", "SYNCI", "100", "CI")], None, state="queued")
    with session_scope(engine) as s:
        flags = resubmission_flags(s, [again], date(2025, 12, 1))
    assert len(flags) == 1 and "claim DERMTF1" in flags[0] and "first submission 2025-03-20" in flags[0]


def test_an_835_of_an_earlier_sending_does_not_answer_the_new_one(engine: Engine) -> None:
    send(engine, [("DERM1003", "60054", "140.00", "CI")], at(today() - timedelta(days=100)), state="accepted")
    assert ingest_835_file(engine, DATA / "835" / "derm_paid.835", today=today()).status == "ingested"
    # denied (CLP02 4), corrected and sent again tomorrow; no 835 for that sending
    send(engine, [("DERM1003", "60054", "140.00", "CI")], at(today() + timedelta(days=1)), state="accepted")
    later = today() + timedelta(days=50)
    res = watch(engine, later, settings=settings())
    assert [c.claim_id for c in res.report.claims_835] == ["DERM1003"] and res.items_opened == 1
    again = watch(engine, later, settings=settings())
    assert again.items_closed == 0 and again.items_opened == 0
    with session_scope(engine) as s:
        item = s.scalars(select(WorkItem).where(WorkItem.category == "no_response")).one()
        assert item.status == "new"
