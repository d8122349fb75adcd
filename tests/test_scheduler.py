"""Scheduler: schedule syntax, restart without double or skipped runs, one scheduler per store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from apscheduler.triggers.cron import CronTrigger
from dbfixtures import db_url  # noqa: F401
from sqlalchemy import func, select
from sshd import make_837
from typer.testing import CliRunner

import dermedi.cli.ch_cmds  # noqa: F401  (registers the commands)
from clearinghouse.scheduler import ScheduleError, build_scheduler, parse_schedule, run_job, sync_jobs
from config.settings import load_settings
from dermedi.cli.app import app
from store import make_engine, migrate, session_scope
from store.ledger import SchedulerRun

REPO = Path(__file__).resolve().parent.parent
DERMEDI = [sys.executable, "-c", "from dermedi.cli import main; main()"]


def test_parse_schedule_day_names() -> None:
    t = parse_schedule("mon-fri 18:00", "UTC")
    assert isinstance(t, CronTrigger)
    fields = {f.name: str(f) for f in t.fields}
    assert (fields["day_of_week"], fields["hour"], fields["minute"]) == ("mon-fri", "18", "0")
    saturday = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    assert t.get_next_fire_time(None, saturday) == datetime(2026, 11, 23, 18, 0, tzinfo=UTC)  # Monday
    friday_late = datetime(2026, 11, 27, 19, 0, tzinfo=UTC)
    assert t.get_next_fire_time(None, friday_late) == datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
    both = parse_schedule("daily 06:30,18:30", "UTC")
    assert both.get_next_fire_time(None, saturday) == datetime(2026, 11, 21, 18, 30, tzinfo=UTC)
    mixed = parse_schedule("mon,wed 07:00,18:30 America/Chicago")
    nxt = mixed.get_next_fire_time(None, saturday)
    assert nxt.astimezone(UTC) == datetime(2026, 11, 23, 13, 0, tzinfo=UTC)  # Mon 07:00 CST
    for bad in ("1-5 18:00", "mon-fri 25:00", "someday 10:00", "mon-fri", "mon-fri 18:00 Mars/Base"):
        with pytest.raises(ScheduleError):
            parse_schedule(bad)


def write_config(tmp: Path, url: str) -> Path:
    remote = tmp / "remote"
    for d in ("up", "resp"):
        (remote / d).mkdir(parents=True, exist_ok=True)
    cfg = tmp / "dermedi.toml"
    cfg.write_text(f"""data_dir = "data"
[database]
url = "{url}"

[[clearinghouses]]
name = "dirch"
transport = "directory"
upload_dir = "remote/up"
response_dir = "remote/resp"
schedule = "mon-fri 18:00"
isa_receiver_id = "DIRCH"
retries = 0
""")
    return cfg


def runs(url: str) -> list[SchedulerRun]:
    engine = make_engine(url)
    try:
        with session_scope(engine) as s:
            out = list(s.scalars(select(SchedulerRun).order_by(SchedulerRun.id)))
            for r in out:
                s.expunge(r)
            return out
    finally:
        engine.dispose()


def wait_for(pred: Any, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture(autouse=True)
def _parser_only(monkeypatch: pytest.MonkeyPatch) -> None:
    import clearinghouse.scrub

    monkeypatch.setattr(clearinghouse.scrub, "make_scrubber", lambda _s: None)


def _down_window_trigger() -> tuple[CronTrigger, datetime]:
    """Fires at least twice (every second for 2 s, from 1.5 s from now) while the scheduler is down."""
    start = datetime.now(UTC) + timedelta(seconds=1.5)
    return CronTrigger(second="*", start_date=start, end_date=start + timedelta(seconds=2), timezone=UTC), start


def test_run_due_while_down_runs_exactly_once_after_restart(tmp_path: Path, db_url: str) -> None:  # noqa: F811
    cfg = write_config(tmp_path, db_url)
    migrate(db_url)
    settings = load_settings(cfg)
    outbox = Path(settings.clearinghouses[0].outbox_dir or "")
    outbox.mkdir(parents=True)
    make_837(outbox / "drop.837", ["S1"])
    trigger, start = _down_window_trigger()

    first = build_scheduler(settings, blocking=False)
    assert sync_jobs(first, settings, str(cfg), triggers={"dirch": trigger}) == {"dermedi-ch-dirch": "added"}
    first.start()
    first.shutdown()  # down before the first due time
    assert runs(db_url) == []
    time.sleep(max(0.0, (start + timedelta(seconds=2.5) - datetime.now(UTC)).total_seconds()))  # 2-3 runs missed

    second = build_scheduler(settings, blocking=False)
    assert sync_jobs(second, settings, str(cfg), triggers={"dirch": trigger}) == {"dermedi-ch-dirch": "kept"}
    second.start()
    try:
        assert wait_for(lambda: any(r.finished_at for r in runs(db_url)))
        time.sleep(1.0)  # would a second (uncoalesced) run follow?
    finally:
        second.shutdown()
    done = runs(db_url)
    assert len(done) == 1 and done[0].outcome == "ok", [(r.outcome, r.detail) for r in done]
    assert len(os.listdir(tmp_path / "remote" / "up")) == 1  # the outbox file was sent, once
    assert len(os.listdir(Path(settings.clearinghouses[0].archive_dir or ""))) == 1


def test_naive_replace_existing_would_skip_the_missed_run(tmp_path: Path) -> None:
    """The control for the test above: re-adding the job with replace_existing=True on restart (what
    most examples do) recomputes next_run_time from now and silently skips the missed run."""
    url = f"sqlite:///{tmp_path / 'd.db'}"
    cfg = write_config(tmp_path, url)
    migrate(url)
    settings = load_settings(cfg)
    trigger, start = _down_window_trigger()
    first = build_scheduler(settings, blocking=False)
    sync_jobs(first, settings, str(cfg), triggers={"dirch": trigger})
    first.start()
    first.shutdown()
    time.sleep(max(0.0, (start + timedelta(seconds=2.5) - datetime.now(UTC)).total_seconds()))
    second = build_scheduler(settings, blocking=False)
    second.add_job(run_job, trigger, args=[str(cfg), "dirch"], id="dermedi-ch-dirch", replace_existing=True)
    second.start()
    time.sleep(1.5)
    second.shutdown()
    assert runs(url) == []


def test_sync_jobs_replaces_changed_and_removes_unscheduled(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'd.db'}"
    cfg = write_config(tmp_path, url)
    migrate(url)
    settings = load_settings(cfg)
    s1 = build_scheduler(settings, blocking=False)
    assert sync_jobs(s1, settings, str(cfg)) == {"dermedi-ch-dirch": "added"}
    s1.start(paused=True)
    s1.shutdown()
    s2 = build_scheduler(settings, blocking=False)
    assert sync_jobs(s2, settings, str(cfg)) == {"dermedi-ch-dirch": "kept"}
    s3 = build_scheduler(settings, blocking=False)
    changed = settings.model_copy(deep=True)
    changed.clearinghouses[0].schedule = "daily 07:00"
    assert sync_jobs(s3, changed, str(cfg)) == {"dermedi-ch-dirch": "replaced"}
    s3.start(paused=True)
    job = s3.get_job("dermedi-ch-dirch")
    assert job.misfire_grace_time is None and job.coalesce is True and job.max_instances == 1
    s3.shutdown()
    s4 = build_scheduler(settings, blocking=False)
    none = settings.model_copy(deep=True)
    none.clearinghouses[0].schedule = None
    assert sync_jobs(s4, none, str(cfg)) == {"dermedi-ch-dirch": "removed"}


def _spawn(cfg: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([*DERMEDI, "scheduler", "run", "--config", str(cfg)], cwd=cfg.parent,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_second_scheduler_is_refused_on_sqlite_stands_by_on_postgres_and_sigterm_stops(tmp_path: Path,
                                                                        db_url: str) -> None:  # noqa: F811
    cfg = write_config(tmp_path, db_url)
    migrate(db_url)
    first = _spawn(cfg)
    try:
        assert first.stderr is not None
        line = ""
        deadline = time.monotonic() + 60
        while "scheduler started" not in line and time.monotonic() < deadline:
            line = first.stderr.readline()
            assert line or first.poll() is None, "the first scheduler exited"
        assert "scheduler started" in line
        if db_url.startswith("sqlite"):
            second = CliRunner().invoke(app, ["scheduler", "run", "--config", str(cfg)])
            assert second.exit_code == 4
            assert "another scheduler is already running" in second.output
        else:
            # PostgreSQL: the second one stands by (tests/test_scheduler_ha.py: it takes over)
            standby = _spawn(cfg)
            try:
                assert standby.stderr is not None
                sline = ""
                while "standing by" not in sline and time.monotonic() < deadline + 60:
                    sline = standby.stderr.readline()
                    assert sline or standby.poll() is None, "the second scheduler exited"
                status = CliRunner().invoke(app, ["scheduler", "status", "--config", str(cfg), "--format", "json"])
                assert '"role": "active"' in status.output and '"role": "standby"' in status.output
            finally:
                standby.send_signal(signal.SIGTERM)
                standby.communicate(timeout=60)
            assert standby.returncode == 0
        status = CliRunner().invoke(app, ["scheduler", "status", "--config", str(cfg), "--format", "json"])
        assert status.exit_code == 0 and '"in_job_store": true' in status.output
        assert '"next_run": "20' in status.output
        first.send_signal(signal.SIGTERM)
        _out, err = first.communicate(timeout=60)
        assert first.returncode == 0 and "scheduler stopped (SIGTERM)" in err
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    engine = make_engine(db_url)
    try:
        with session_scope(engine) as s:
            assert s.scalar(select(func.count(SchedulerRun.id))) == 0  # nothing was due
    finally:
        engine.dispose()


def test_parse_schedule_interval() -> None:
    from apscheduler.triggers.interval import IntervalTrigger

    t = parse_schedule("every 15m")
    assert isinstance(t, IntervalTrigger) and t.interval == timedelta(minutes=15)
    assert parse_schedule("every 2s").interval == timedelta(seconds=2)
    for bad in ("every 0s", "every 5x", "every", "every 5 s"):
        with pytest.raises(ScheduleError):
            parse_schedule(bad)
