"""Scheduled runs: one APScheduler cron job per clearinghouse (outbox -> send, then receive).

Schedule syntax (the ``schedule`` key of a clearinghouse)::

    <days> <HH:MM>[,<HH:MM>...] [<time zone>]

* ``<days>``: ``daily`` (or ``*``), ``weekdays`` (= ``mon-fri``), ``weekends`` (= ``sat,sun``), or day
  names and ranges separated by commas: ``mon-fri``, ``mon,wed,fri``, ``tue-thu,sat``.  Day NAMES
  only: numbers are refused, because APScheduler 3 counts Monday as 0 (a crontab ``1-5`` would
  run Tuesday to Saturday).
* ``<HH:MM>``: 24-hour times, several separated by commas (``07:00,18:30``).
* ``<time zone>``: an IANA name such as ``America/Chicago`` or ``UTC``; default: the machine's zone.

Examples: ``mon-fri 18:00``, ``daily 06:30,18:30``, ``mon,wed,fri 07:15 America/New_York``.

Job store: an ``SQLAlchemyJobStore`` in dermedi's own database.  Jobs run with
``misfire_grace_time=None`` and ``coalesce=True`` (a run due while the scheduler was down runs
once after restart, never several times and never skipped) and ``max_instances=1``.  Only one
scheduler may use a store: ``dermedi scheduler run`` holds a lock (``pg_advisory_lock`` on
PostgreSQL, a lock file next to an SQLite database) and a second one exits at once.
"""

from __future__ import annotations

import logging
import re
import signal
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Engine, inspect, select, text

from clearinghouse.locks import LockBusy, run_lock  # noqa: F401 - re-exported
from config.settings import Settings, load_settings

log = logging.getLogger("dermedi.clearinghouse.scheduler")

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
JOB_PREFIX = "dermedi-ch-"
JOBS_TABLE = "apscheduler_jobs"
SCHEDULER_LOCK = "scheduler"
_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)\Z")


class ScheduleError(ValueError):
    pass


def _parse_days(text_: str) -> str | None:
    t = text_.lower()
    if t in ("daily", "*", "everyday", "every-day"):
        return None
    if t == "weekdays":
        return "mon-fri"
    if t == "weekends":
        return "sat,sun"
    parts = []
    for part in t.split(","):
        ends = part.split("-")
        if len(ends) > 2 or not all(e in DAYS for e in ends):
            raise ScheduleError(f"bad day {part!r}: use day names (mon..sun), ranges (mon-fri) or 'daily'")
        parts.append(part)
    return ",".join(parts)


def parse_schedule(spec: str, default_tz: tzinfo | str | None = None) -> Any:
    """``"mon-fri 18:00"`` -> ``CronTrigger(day_of_week="mon-fri", hour=18, minute=0)`` (see module doc)."""
    from apscheduler.triggers.combining import OrTrigger
    from apscheduler.triggers.cron import CronTrigger

    tokens = spec.split()
    if len(tokens) not in (2, 3):
        raise ScheduleError(f"bad schedule {spec!r}: expected '<days> <HH:MM>[,HH:MM] [time zone]', "
                            f"e.g. 'mon-fri 18:00'")
    days = _parse_days(tokens[0])
    times: list[tuple[int, int]] = []
    for t in tokens[1].split(","):
        m = _TIME.match(t)
        if m is None:
            raise ScheduleError(f"bad time {t!r} in schedule {spec!r}: use 24-hour HH:MM")
        times.append((int(m.group(1)), int(m.group(2))))
    tz: tzinfo | str | None = default_tz
    if len(tokens) == 3:
        try:
            tz = ZoneInfo(tokens[2])
        except (ZoneInfoNotFoundError, ValueError):
            raise ScheduleError(f"unknown time zone {tokens[2]!r} in schedule {spec!r}") from None
    kw: dict[str, Any] = {"timezone": tz} if tz is not None else {}
    if days is not None:
        kw["day_of_week"] = days
    minutes = {m for _, m in times}
    if len(minutes) == 1:
        return CronTrigger(hour=",".join(str(h) for h in sorted({h for h, _ in times})),
                           minute=str(minutes.pop()), **kw)
    return OrTrigger([CronTrigger(hour=h, minute=m, **kw) for h, m in sorted(set(times))])


# --- the job -------------------------------------------------------------------------------------

def run_job(config_path: str | None, clearinghouse: str) -> None:
    """The scheduled job (module level, so the job store can reference it): outbox -> send, then receive."""
    from clearinghouse.receive import receive
    from clearinghouse.submit import run_outbox
    from store import open_database, session_scope
    from store.ledger import SchedulerRun, utcnow

    settings = load_settings(config_path)
    profile = settings.clearinghouse(clearinghouse)
    engine = open_database(settings.database.url)
    try:
        with session_scope(engine) as s:
            run = SchedulerRun(clearinghouse=clearinghouse, outcome="running")
            s.add(run)
            s.flush()
            run_id = run.id
        outcome, detail = "ok", ""
        try:
            ob = run_outbox(engine, settings, profile)
            rc = receive(engine, settings, profile)
            detail = (f"outbox {len(ob.archived)} archived, {len(ob.waiting)} waiting, "
                      f"{len(ob.unreadable)} unreadable; sent {len(ob.delivery.sent)}, "
                      f"failed {len(ob.delivery.failed)}; received {len(rc.downloaded)}, "
                      f"duplicates {len(rc.duplicates)}")
            errors = [e.message for e in (ob.delivery.error, rc.error) if e is not None]
            detail += watch_and_log(engine, settings)
            if errors or ob.delivery.failed:
                outcome, detail = "failed", f"{detail}; {'; '.join(errors)}"
        except Exception as exc:
            outcome, detail = "failed", f"{type(exc).__name__}: {exc}"[:500]
            log.exception("scheduled run of %s failed", clearinghouse)
        with session_scope(engine) as s:
            rec = s.get(SchedulerRun, run_id)
            if rec is not None:
                rec.outcome, rec.detail, rec.finished_at = outcome, detail[:1000], utcnow()
        log.info("scheduled run of %s: %s %s", clearinghouse, outcome, detail)
    finally:
        engine.dispose()


def watch_and_log(engine: Engine, settings: Settings) -> str:
    """The acknowledgment watch after a run: one log line per newly late or rejected item (no PHI:
    files by name and ISA13, claims by ledger row), no_response items opened and closed.  One watch at
    a time (the jobs of several clearinghouses may end together): a lock around it."""
    from clearinghouse.submit import lock_dir
    from remits.aging import watch

    try:
        with run_lock(engine, "ack-watch", fallback_dir=lock_dir(settings)):
            res = watch(engine, settings=settings)
    except Exception as exc:   # the watch must not fail the run that sent and received
        log.error("acknowledgment watch failed: %s", type(exc).__name__)
        return f"; watch failed ({type(exc).__name__})"
    for line in res.new_alerts:
        log.warning("%s", line)
    r = res.report
    return (f"; late: {len(r.files)} 999, {len(r.claims_277ca)} 277CA, {len(r.rejections)} rejected; "
            f"no_response opened {res.items_opened}, closed {res.items_closed}")


# --- scheduler -----------------------------------------------------------------------------------

JOB_DEFAULTS = {"misfire_grace_time": None, "coalesce": True, "max_instances": 1}


def job_id(clearinghouse: str) -> str:
    return f"{JOB_PREFIX}{clearinghouse}"


def desired_triggers(settings: Settings) -> dict[str, Any]:
    return {ch.name: parse_schedule(ch.schedule) for ch in settings.clearinghouses if ch.schedule}


def build_scheduler(settings: Settings, *, blocking: bool = True) -> Any:
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    cls = BlockingScheduler if blocking else BackgroundScheduler
    store = SQLAlchemyJobStore(url=settings.database.url, tablename=JOBS_TABLE)
    n = max(1, len(settings.clearinghouses))
    return cls(jobstores={"default": store}, executors={"default": ThreadPoolExecutor(max_workers=n)},
               job_defaults=dict(JOB_DEFAULTS))


def sync_jobs(scheduler: Any, settings: Settings, config_path: str | None, *,
              triggers: dict[str, Any] | None = None, func: Callable[..., None] = run_job) -> dict[str, str]:
    """Make the stored jobs match the configuration, BEFORE the scheduler starts.

    A stored job whose trigger and arguments are unchanged is left alone, so its stored
    next_run_time survives a restart (a run that fell due while the scheduler was down then runs
    once).  Changed jobs are replaced, unscheduled ones removed.  Returns {job id: action}.
    """
    store = scheduler._lookup_jobstore("default")
    store.start(scheduler, "default")
    wanted = desired_triggers(settings) if triggers is None else triggers
    actions: dict[str, str] = {}
    for job in store.get_all_jobs():
        if job.id.startswith(JOB_PREFIX) and job.id[len(JOB_PREFIX):] not in wanted:
            store.remove_job(job.id)
            actions[job.id] = "removed"
    for name, trigger in wanted.items():
        jid = job_id(name)
        args = [config_path, name]
        existing = store.lookup_job(jid)
        if (existing is not None and repr(existing.trigger) == repr(trigger) and list(existing.args) == args
                and existing.func is func):
            actions[jid] = "kept"
            continue
        scheduler.add_job(func, trigger, args=args, id=jid, name=f"clearinghouse {name}", replace_existing=True,
                          **JOB_DEFAULTS)
        actions[jid] = "replaced" if existing is not None else "added"
    return actions


@dataclass
class SchedulerStopped:
    reason: str


def run_scheduler(settings: Settings, config_path: str | None, engine: Engine, *,
                  on_started: Callable[[], None] | None = None) -> SchedulerStopped:
    """Run the blocking scheduler until SIGTERM/SIGINT.  Raises LockBusy if another one runs."""
    from clearinghouse.submit import lock_dir

    with run_lock(engine, SCHEDULER_LOCK, fallback_dir=lock_dir(settings), wait=0):
        scheduler = build_scheduler(settings, blocking=True)
        actions = sync_jobs(scheduler, settings, config_path)
        for jid, action in sorted(actions.items()):
            log.info("job %s: %s", jid, action)
        stopped = SchedulerStopped("stopped")

        stopping: list[bool] = []

        def _stop(signum: int, _frame: FrameType | None) -> None:
            if stopping:  # a second signal while the running job finishes: ignore
                return
            stopping.append(True)
            stopped.reason = signal.Signals(signum).name
            log.info("%s received: finishing the running job, then stopping", stopped.reason)
            scheduler.shutdown(wait=True)

        old = {s: signal.signal(s, _stop) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            if on_started is not None:
                on_started()
            scheduler.start()
        finally:
            for s, h in old.items():
                signal.signal(s, h)
        return stopped


@dataclass
class JobStatus:
    clearinghouse: str
    schedule: str | None
    next_run: datetime | None
    stored: bool
    last_run: datetime | None
    last_outcome: str | None


def scheduler_status(settings: Settings, engine: Engine) -> list[JobStatus]:
    """Next run times (as stored in the job store, else computed from the schedule) and last runs."""
    from datetime import UTC

    from store import session_scope
    from store.ledger import SchedulerRun

    stored: dict[str, float | None] = {}
    if inspect(engine).has_table(JOBS_TABLE):
        with engine.connect() as conn:
            for jid, nrt in conn.execute(text(f"SELECT id, next_run_time FROM {JOBS_TABLE}")):
                stored[str(jid)] = nrt
    out = []
    for ch in settings.clearinghouses:
        jid = job_id(ch.name)
        next_run: datetime | None = None
        if jid in stored and stored[jid] is not None:
            next_run = datetime.fromtimestamp(float(stored[jid] or 0), UTC)
        elif ch.schedule:
            trig = parse_schedule(ch.schedule)
            next_run = trig.get_next_fire_time(None, datetime.now(UTC).astimezone())
        with session_scope(engine) as s:
            last = s.scalar(select(SchedulerRun).where(SchedulerRun.clearinghouse == ch.name)
                            .order_by(SchedulerRun.id.desc()).limit(1))
            last_at, last_outcome = (last.started_at, last.outcome) if last is not None else (None, None)
        out.append(JobStatus(ch.name, ch.schedule, next_run, jid in stored, last_at, last_outcome))
    return out

