"""The bulk store paths (issue 10), on SQLite and PostgreSQL.

* the rows they write are the rows the row-by-row (ORM) paths wrote, for the sample 837Ps sent and
  every sample 835 ingested (``tests/data/store_golden.json``, made with the row-by-row code);
* kill -9 half-way through a bulk 835 ingest leaves nothing, and the rerun stores the file once;
* kill -9 half-way through a bulk send queues and uploads nothing, and the rerun sends every clean
  claim exactly once;
* a database made by the previous schema and code upgrades with its rows unchanged, and gains the
  indexes and the rollup;
* keyset pages of the worklist.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from dbfixtures import db_url  # noqa: F401
from sqlalchemy import Engine, func, inspect, select, update
from store_scenario import dump, export_rows, load_rows, run_scenario, synthetic_835
from tests_support import directory_setup

from clearinghouse.submit import send_files
from remits.ingest import ingest_835_file
from remits.worklist import list_items
from store import alembic_config, make_engine, migrate, session_scope
from store.ledger import Submission, SubmissionClaim
from store.remits import (
    RemitAdjustment,
    RemitClaim,
    RemitFile,
    RemitLine,
    RemitLineTotal,
    RemitPayment,
    SubmittedClaim,
    WorkItem,
    WorkItemEvent,
)

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
GOLDEN = TESTS / "data" / "store_golden.json"
PREVIOUS_ROWS = TESTS / "data" / "previous_schema_rows.json"


@pytest.fixture
def engine(db_url: str) -> Any:  # noqa: F811
    migrate(db_url)
    e = make_engine(db_url)
    yield e
    e.dispose()


@pytest.mark.parametrize("background", [False, True], ids=["in-process", "writer-process"])
def test_bulk_paths_write_the_rows_the_row_by_row_paths_wrote(engine: Engine, tmp_path: Path, background: bool,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from clearinghouse import submit

    # the sends record in this process, or (as a big input does) through the writer process
    monkeypatch.setattr(submit, "BACKGROUND_MIN_BYTES", 0 if background else 1 << 62)
    run_scenario(engine, tmp_path)
    got = json.loads(json.dumps(dump(engine), sort_keys=True, default=str))
    want = json.loads(GOLDEN.read_text())
    assert set(got) == set(want)
    for table in sorted(want):
        assert len(got[table]) == len(want[table]), table
        for n, (g, w) in enumerate(zip(got[table], want[table], strict=True)):
            assert g == w, f"{table} row {n}"
    assert sum(len(v) for v in want.values()) > 2500         # the scenario writes every kind of row


def _counts(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as s:
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m)) or 0
                for m in (RemitFile, RemitPayment, RemitClaim, RemitLine, RemitAdjustment, RemitLineTotal, WorkItem,
                          WorkItemEvent, Submission, SubmissionClaim, SubmittedClaim)}


def _run_until_half_way(mode: str, url: str, tmp: Path, source: Path) -> None:
    """Start the helper process, wait until it has written two bulk batches, then SIGKILL it."""
    marker = tmp / f"{mode}.half-way"
    env = dict(os.environ, PYTHONPATH=str(TESTS))
    proc = subprocess.Popen([sys.executable, str(TESTS / "store_killee.py"), mode, url, str(tmp), str(source),
                             str(marker)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 240
        while not marker.exists():
            if proc.poll() is not None:
                out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
                pytest.fail(f"the {mode} process ended before half-way (rc {proc.returncode}): {out[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"the {mode} process did not get half-way")
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()


def test_kill_9_during_bulk_ingest_leaves_nothing(engine: Engine, db_url: str, tmp_path: Path) -> None:  # noqa: F811
    big = tmp_path / "big.835"
    big.write_text(synthetic_835(7000))          # four bulk batches of claims
    _run_until_half_way("ingest", db_url, tmp_path, big)
    assert all(v == 0 for v in _counts(engine).values()), _counts(engine)
    r = ingest_835_file(engine, big)
    assert (r.status, r.claims, r.items_created) == ("ingested", 7000, 2334)
    counts = _counts(engine)
    assert counts["remit_claims"] == 7000 and counts["work_items"] == 2334 and counts["remit_files"] == 1
    assert ingest_835_file(engine, big).status == "duplicate"
    assert _counts(engine) == counts


def _uploaded_claims(folder: Path) -> Counter[str]:
    seen: Counter[str] = Counter()
    for f in sorted(folder.iterdir()):
        assert not f.name.startswith("."), f"a temporary file was left on the server: {f.name}"
        for seg in f.read_text(encoding="latin-1").replace("\n", "").split("~"):
            if seg.startswith("CLM*"):
                seen[seg.split("*")[1]] += 1
    return seen


def _writer_processes() -> list[int]:
    """Processes running store.writer (the record writer of a big send)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"store.writer" in cmd:
                found.append(int(proc.name))
    return found


@pytest.mark.parametrize("mode", ["send", "send-background"])
def test_kill_9_during_bulk_send_sends_nothing_twice(engine: Engine, db_url: str, tmp_path: Path,  # noqa: F811
                                                     mode: str) -> None:
    source = tmp_path / "batch.837"
    subprocess.run([sys.executable, str(REPO / "bench" / "gen_claims.py"), "--claims", "1600", "--out", str(source)],
                   check=True, capture_output=True)
    _run_until_half_way(mode, db_url, tmp_path, source)
    if mode == "send-background":       # the writer process saw its command go, rolled back and ended
        deadline = time.monotonic() + 30
        while _writer_processes() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _writer_processes() == []
    up = tmp_path / "remote" / "up"
    counts = _counts(engine)
    assert counts["ch_submissions"] == 0 and counts["ch_submission_claims"] == 0
    assert list(up.iterdir()) == []
    settings, profile = directory_setup(db_url, tmp_path)
    result = send_files(engine, settings, profile, [source], sleep=lambda _s: None)
    prepared = result.prepared[0]
    assert prepared.claims_read == 1600 and prepared.clean > 1000 and result.delivery.ok
    sent = _uploaded_claims(up)
    assert len(sent) == prepared.clean and set(sent.values()) == {1}
    with session_scope(engine) as s:
        stored = Counter(s.scalars(select(SubmittedClaim.claim_id)))
        ledger_claims = Counter(s.scalars(select(SubmissionClaim.claim_id)))
    assert set(stored.values()) == {1} and ledger_claims == sent
    again = send_files(engine, settings, profile, [source], sleep=lambda _s: None)
    assert again.prepared[0].already_submitted == prepared.clean and _uploaded_claims(up) == sent


def test_a_writer_process_that_dies_fails_the_send_and_queues_nothing(engine: Engine, db_url: str,  # noqa: F811
                                                                      tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from clearinghouse import submit
    from store.writer import RecordWriterError

    source = tmp_path / "batch.837"
    subprocess.run([sys.executable, str(REPO / "bench" / "gen_claims.py"), "--claims", "1600", "--out", str(source)],
                   check=True, capture_output=True)
    monkeypatch.setattr(submit, "BACKGROUND_MIN_BYTES", 0)
    real = submit._Records.record
    calls = {"n": 0}

    def record_then_kill_writer(self: Any, *args: Any) -> None:
        real(self, *args)
        calls["n"] += 1
        if calls["n"] == 2:
            assert self._writer is not None
            os.kill(self._writer.pid, signal.SIGKILL)
            self._writer._proc.wait(10)

    monkeypatch.setattr(submit._Records, "record", record_then_kill_writer)
    settings, profile = directory_setup(db_url, tmp_path)
    with pytest.raises(RecordWriterError):
        send_files(engine, settings, profile, [source], sleep=lambda _s: None)
    counts = _counts(engine)
    assert counts["ch_submissions"] == 0 and counts["submitted_claims"] == 0
    assert list((tmp_path / "remote" / "up").iterdir()) == []
    monkeypatch.setattr(submit._Records, "record", real)
    result = send_files(engine, settings, profile, [source], sleep=lambda _s: None)
    assert result.delivery.ok and len(_uploaded_claims(tmp_path / "remote" / "up")) == result.prepared[0].clean > 1000


PREVIOUS_HEADS = ("0002_ledger", "0003_remits", "0004_ncci")


def test_database_of_the_previous_schema_upgrades_unchanged(db_url: str) -> None:  # noqa: F811
    """A database made by the previous schema and code (its rows in tests/data/previous_schema_rows.json)
    is brought forward: every row as it was, the new indexes made, the rollup filled from its lines."""
    from alembic import command

    make_engine(db_url).dispose()
    cfg = alembic_config(db_url)
    for head in PREVIOUS_HEADS:
        command.upgrade(cfg, head)
    engine = make_engine(db_url)
    try:
        assert "remit_line_totals" not in inspect(engine).get_table_names()
        load_rows(engine, json.loads(PREVIOUS_ROWS.read_text()))
        before = export_rows(engine)
        migrate(db_url)
        after = export_rows(engine)
        assert {k: after[k] for k in before} == before       # the tables that were there, row for row
        assert after["remit_line_totals"] and set(after) > set(before)
        assert len(before["remit_lines"]) > 50 and len(before["submitted_claims"]) == 92
        names = {ix["name"] for ix in inspect(engine).get_indexes("work_items")}
        assert {"ix_work_items_priority", "ix_work_items_status_priority", "ix_work_items_owner_priority"} <= names
        with session_scope(engine) as s:       # the rollup was backfilled from the lines already stored
            lines = s.scalar(select(func.sum(RemitLineTotal.lines)))
            direct = s.scalar(select(func.count(RemitLine.id))
                              .join(RemitClaim, RemitLine.remit_claim_id == RemitClaim.id)
                              .where(RemitClaim.is_reversal.is_(False)))
        assert lines == direct and direct
        # and the upgraded database works on: a new file is ingested beside the old ones
        r = ingest_835_file(engine, REPO / "tests" / "data" / "remits" / "derm_denials.835")
        assert r.status == "ingested" and r.items_created > 0
    finally:
        engine.dispose()


def _pages(engine: Engine, size: int) -> tuple[list[int], list[int]]:
    with session_scope(engine) as s:
        everything = [i.id for i in list_items(s)]
        pages: list[int] = []
        after = None
        while page := [i.id for i in list_items(s, limit=size, after=after)]:
            assert len(page) <= size
            pages += page
            after = page[-1]
    return everything, pages


def test_worklist_pages_follow_each_other(engine: Engine) -> None:
    for p in sorted((REPO / "samples").glob("remit-*.835")):
        ingest_835_file(engine, p)
    everything, pages = _pages(engine, 3)
    assert len(everything) > 6 and pages == everything
    with session_scope(engine) as s:          # ties in priority: the id orders them, no item twice or lost
        s.execute(update(WorkItem).values(priority=5))
    everything, pages = _pages(engine, 3)
    assert pages == everything == sorted(everything)
