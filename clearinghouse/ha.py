"""Scheduler high availability on PostgreSQL: one active scheduler, the others stand by.

Election: a session-level ``pg_advisory_lock`` held on a dedicated connection.  The holder is the
active scheduler; every other ``dermedi scheduler run`` on the same database polls
``pg_try_advisory_lock`` every ``poll`` seconds and reports ``standby``.  PostgreSQL releases the
lock the moment the holder's session ends:

* the process is killed (``kill -9``): its socket closes, the lock is free at once;
* its host is gone or the network is cut: the lock connection sets the server-side TCP
  keepalives (``tcp_keepalives_idle`` 10 s, interval 5 s, 3 probes), so the server drops the
  session after ~25 s;
* the active scheduler loses its connection: its heartbeat (a query on the lock connection every
  ``heartbeat`` seconds) fails, or no heartbeat has succeeded for ``lease`` seconds (a watchdog
  thread, for a heartbeat stuck on a dead network): it stops at once (exit code 5) and never runs
  a job without the lock.  ``lease`` (default 15 s) is shorter than the server's ~25 s, so an
  old active is gone before a standby can take over.

Takeover therefore happens within ~25 s + ``poll`` of the failure (60 s promised).  The new
active finishes what was due: APScheduler runs the jobs whose stored next run time has passed
(coalesced, once), and the runs the lost scheduler left ``running`` are closed as
``interrupted`` and run again once, at once.  Sending is exactly once whatever happens in
between: the per-clearinghouse send lock and the ledger (``.part``, confirm, rename) decide what
is sent, not the scheduler.

Each process has a row in ``ch_scheduler_instances`` (host, pid, role, heartbeat) for
``dermedi scheduler status``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, select, text, update

from clearinghouse.locks import _key

log = logging.getLogger("dermedi.clearinghouse.ha")

EXIT_LOST = 5
DEFAULT_POLL = 5.0
DEFAULT_HEARTBEAT = 2.0
DEFAULT_LEASE = 15.0
_SERVER_KEEPALIVE = ("SET tcp_keepalives_idle = 10", "SET tcp_keepalives_interval = 5", "SET tcp_keepalives_count = 3")


class LostLeadership(Exception):
    """The active scheduler lost its lock connection: it must stop."""


def _lock_engine(engine: Engine) -> Engine:
    """An engine for the lock connection: client-side keepalives and a TCP user timeout, so a dead
    server or network is noticed in seconds, not hours."""
    connect_args: dict[str, Any] = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2,
                                    "keepalives_count": 3, "tcp_user_timeout": 10_000, "connect_timeout": 10}
    return create_engine(engine.url, poolclass=None, connect_args=connect_args, pool_pre_ping=False)


@dataclass
class InstanceInfo:
    id: str
    host: str
    pid: int
    role: str
    started_at: datetime
    heartbeat_at: datetime
    active_since: datetime | None
    alive: bool


class Election:
    """This process's candidacy: its instance row and, once won, the lock connection."""

    def __init__(self, engine: Engine, lock_name: str, *, heartbeat: float = DEFAULT_HEARTBEAT,
                 lease: float = DEFAULT_LEASE) -> None:
        self.engine = engine
        self.key = _key(lock_name)
        self.heartbeat_seconds = heartbeat
        self.lease = lease
        self.id = str(uuid.uuid4())
        self.host = socket.gethostname()[:255]
        self.pid = os.getpid()
        self._lock_engine = _lock_engine(engine)
        self._conn: Connection | None = None
        self.role = "standby"
        self.last_ok = time.monotonic()

    # -- the instance row ---------------------------------------------------------------------
    def register(self) -> None:
        from sqlalchemy import delete

        from store import session_scope
        from store.scheduler_ha import SchedulerInstance

        with session_scope(self.engine) as s:
            # rows of processes gone for a week are history nobody reads
            s.execute(delete(SchedulerInstance).where(
                SchedulerInstance.heartbeat_at < datetime.now(UTC) - timedelta(days=7)))
            s.add(SchedulerInstance(id=self.id, host=self.host, pid=self.pid, role="standby"))

    def _set(self, **values: Any) -> None:
        from store import session_scope
        from store.scheduler_ha import SchedulerInstance

        values.setdefault("heartbeat_at", datetime.now(UTC))
        with session_scope(self.engine) as s:
            s.execute(update(SchedulerInstance).where(SchedulerInstance.id == self.id).values(**values))

    def standby_beat(self) -> None:
        try:
            self._set(role="standby")
        except Exception as exc:             # the database may be away for a while: keep standing by
            log.warning("standby heartbeat failed: %s", type(exc).__name__)

    # -- the lock ------------------------------------------------------------------------------
    def try_acquire(self) -> bool:
        """Take the lock if it is free (then this process is the active scheduler)."""
        try:
            conn = self._lock_engine.connect()
        except Exception as exc:
            log.warning("cannot reach the database for the election: %s", type(exc).__name__)
            return False
        try:
            for stmt in _SERVER_KEEPALIVE:
                conn.execute(text(stmt))
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar())
            conn.commit()
        except Exception:
            conn.close()
            return False
        if not got:
            conn.close()
            return False
        self._conn = conn
        self.role = "active"
        self.last_ok = time.monotonic()
        now = datetime.now(UTC)
        self._set(role="active", active_since=now, heartbeat_at=now)
        return True

    def beat(self) -> None:
        """The active scheduler's heartbeat on the lock connection; LostLeadership if it is gone."""
        conn = self._conn
        if conn is None:
            raise LostLeadership("no lock connection")
        try:
            # a session-level advisory lock lives as long as its session: a live session holds it
            conn.execute(text("SELECT 1"))
            conn.commit()
        except Exception as exc:
            raise LostLeadership(type(exc).__name__) from None
        self.last_ok = time.monotonic()
        try:
            self._set(role="active")
        except Exception as exc:
            log.warning("instance heartbeat failed: %s", type(exc).__name__)

    def release(self, role: str = "stopped") -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                conn.commit()
            except Exception as exc:       # the session is gone: so is the lock
                log.info("unlock: %s", type(exc).__name__)
            finally:
                conn.close()
        self.role = role
        try:
            self._set(role=role)
        except Exception as exc:
            log.warning("instance row not updated: %s", type(exc).__name__)
        self._lock_engine.dispose()

    def watchdog(self, on_lost: Callable[[], None]) -> threading.Thread:
        """A thread that calls ``on_lost`` when no heartbeat succeeded for ``lease`` seconds."""
        def run() -> None:
            while self.role == "active":
                if time.monotonic() - self.last_ok > self.lease:
                    on_lost()
                    return
                time.sleep(min(1.0, self.lease / 4))

        t = threading.Thread(target=run, name="dermedi-scheduler-watchdog", daemon=True)
        t.start()
        return t


def instances(engine: Engine, *, stale_after: float = 3 * DEFAULT_LEASE) -> list[InstanceInfo]:
    """The scheduler processes seen on this database (most recent first); ``alive`` when their
    heartbeat is fresh."""
    from sqlalchemy import inspect

    from store import session_scope
    from store.scheduler_ha import SchedulerInstance

    if not inspect(engine).has_table(SchedulerInstance.__tablename__):
        return []
    now = datetime.now(UTC)
    out = []
    with session_scope(engine) as s:
        for r in s.scalars(select(SchedulerInstance).order_by(SchedulerInstance.started_at.desc()).limit(50)):
            beat = r.heartbeat_at if r.heartbeat_at.tzinfo else r.heartbeat_at.replace(tzinfo=UTC)
            alive = r.role in ("active", "standby") and now - beat < timedelta(seconds=stale_after)
            out.append(InstanceInfo(r.id, r.host, r.pid, r.role if alive or r.role in ("stopped", "lost") else "gone",
                                    r.started_at, beat, r.active_since, alive))
    return out


# ------------------------------------------------------------------------------------------
# The run loop
# ------------------------------------------------------------------------------------------


def run_highly_available(settings: Any, config_path: str | None, engine: Engine, *, lock_name: str,
                         on_started: Callable[[], None] | None = None,
                         on_standby: Callable[[], None] | None = None, poll: float = DEFAULT_POLL,
                         heartbeat: float = DEFAULT_HEARTBEAT, lease: float = DEFAULT_LEASE) -> Any:
    """Stand by until elected, then run the scheduler until SIGTERM/SIGINT (returns
    SchedulerStopped) or until the lock connection is lost (the process exits with code 5)."""
    import signal
    from types import FrameType

    from clearinghouse.scheduler import SchedulerStopped, build_scheduler, recover_interrupted_runs, sync_jobs

    election = Election(engine, lock_name, heartbeat=heartbeat, lease=lease)
    election.register()
    stopped = SchedulerStopped("stopped")
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            return
        stopped.reason = signal.Signals(signum).name
        log.info("%s received: finishing the running job, then stopping", stopped.reason)
        stop.set()

    old = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        announced = False
        while not stop.is_set():
            if election.try_acquire():
                break
            if not announced:
                announced = True
                log.info("standing by: another scheduler is active on this database")
                if on_standby is not None:
                    on_standby()
            election.standby_beat()
            stop.wait(poll)
        if stop.is_set():
            election.release()
            return stopped
        log.info("elected: this scheduler is now the active one")

        def lost() -> None:
            log.error("lost the scheduler lock (database connection gone): stopping at once")
            os._exit(EXIT_LOST)

        election.watchdog(lost)
        scheduler = build_scheduler(settings, blocking=False)
        actions = sync_jobs(scheduler, settings, config_path)
        for jid, action in sorted(actions.items()):
            log.info("job %s: %s", jid, action)
        recover_interrupted_runs(scheduler, engine, settings, config_path)
        scheduler.start()
        if on_started is not None:
            on_started()
        try:
            while not stop.wait(heartbeat):
                try:
                    election.beat()
                except LostLeadership as exc:
                    log.error("lost the scheduler lock (%s): stopping at once", exc)
                    os._exit(EXIT_LOST)
        finally:
            scheduler.shutdown(wait=True)
            election.release()
        return stopped
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)
