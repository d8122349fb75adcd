"""CLI: ``dermedi send``, ``dermedi receive``, ``dermedi status``, ``dermedi watch``,
``dermedi scheduler run|status``."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dermedi.cli.app import app
from dermedi.cli.common import EXIT_CONFIG, EXIT_FINDINGS, EXIT_OK, EXIT_TRANSPORT, fail, x12_errors

if TYPE_CHECKING:  # SQLAlchemy is imported only by the commands that use the database
    from sqlalchemy import Engine

    from config.settings import Settings

ConfigOpt = Annotated[str | None, typer.Option("--config", help="dermedi.toml to use")]
ChOpt = Annotated[str, typer.Option("--clearinghouse", "-c", help="clearinghouse name from the configuration")]

scheduler_app = typer.Typer(no_args_is_help=True, help="Scheduled send/receive runs (APScheduler).")
app.add_typer(scheduler_app, name="scheduler")


def _logging(verbose: bool) -> None:
    """Quiet by default (the command prints its own summary and ONE error line); -v logs each step."""
    logging.basicConfig(level=logging.INFO if verbose else logging.CRITICAL, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@contextmanager
def _context(config: str | None) -> Iterator[tuple[Settings, Engine]]:
    from config.settings import ConfigError, load_settings
    from store import open_database

    try:
        settings = load_settings(config)
    except ConfigError as exc:
        fail(str(exc), EXIT_CONFIG)
    try:
        engine = open_database(settings.database.url)
    except Exception as exc:
        fail(f"cannot open the database: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}", EXIT_CONFIG)
    try:
        yield settings, engine
    finally:
        engine.dispose()


def _profile(settings: Settings, name: str) -> Any:
    from config.settings import ConfigError

    try:
        return settings.clearinghouse(name)
    except ConfigError as exc:
        fail(str(exc), EXIT_CONFIG)


def _timely_flags(engine: Engine, settings: Settings, submission_ids: list[int]) -> None:
    """Resubmitted claims past their payer's filing limit: one warning line each (not a hold)."""
    from datetime import UTC, datetime

    from remits.timely import resubmission_flags
    from store import session_scope

    with session_scope(engine) as s:
        for line in resubmission_flags(s, submission_ids, datetime.now(UTC).date(), settings=settings):
            typer.echo(f"warning: {line}")


def _check_scrubber(settings: Any) -> None:
    """Build today's scrubber now: a configured MCD or learned table that cannot be read stops the
    send with one line and exit code 4 (nothing is sent scrubbed by less than the configuration says)."""
    from clearinghouse.scrub import make_scrubber
    from config.coverage import CoverageError
    from config.learned import LearnedTableError

    try:
        make_scrubber(settings)
    except (CoverageError, LearnedTableError) as exc:
        fail(str(exc), EXIT_CONFIG)


@app.command("send")
def send_cmd(files: Annotated[list[Path], typer.Argument(help="837P files to send")],
             clearinghouse: ChOpt, config: ConfigOpt = None,
             verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """Validate, scrub and send the clean claims of 837P files (exactly once); hold the rest."""
    from clearinghouse.locks import run_lock
    from clearinghouse.submit import check_readable, deliver_pending, lock_dir, prepare
    from store.writer import RecordWriterError

    _logging(verbose)
    for f in files:
        if not f.is_file():
            fail(f"{f}: no such file")
    with _context(config) as (settings, engine):
        profile = _profile(settings, clearinghouse)
        _check_scrubber(settings)
        if len(files) > 1:
            with x12_errors():
                for f in files:  # every input is readable before anything of any is queued
                    check_readable(f)
        with run_lock(engine, f"ch-{profile.name}", fallback_dir=lock_dir(settings)):
            prepared = []
            with x12_errors():
                for f in files:
                    try:
                        prepared.append(prepare(engine, settings, profile, f))
                    except RecordWriterError as exc:   # the records of a big input could not be written
                        fail(f"{f}: {exc}; nothing of it was queued", EXIT_FINDINGS)
            delivery = deliver_pending(engine, profile)
        for pr in prepared:
            parts = [f"{Path(pr.source).name}: {pr.claims_read} claims, {pr.clean} clean queued in "
                     f"{len(pr.queued)} file(s), {pr.held} held"]
            if pr.already_submitted:
                parts.append(f"{pr.already_submitted} already submitted")
            if pr.duplicate_of:
                parts.append("same content already in the ledger")
            if pr.held_path:
                parts.append(f"held claims in {pr.held_path} (report {pr.report_path})")
            typer.echo("; ".join(parts))
        _timely_flags(engine, settings, [sid for pr in prepared for sid in pr.queued])
        typer.echo(f"{profile.name}: {len(delivery.sent)} file(s) sent"
                   + (f" ({len(delivery.recovered)} completed from an earlier run)" if delivery.recovered else "")
                   + (f", {len(delivery.failed)} failed" if delivery.failed else ""))
        if delivery.error is not None or delivery.failed:
            msg = delivery.error.message if delivery.error else delivery.failed[0][1]
            fail(f"send to {profile.name} failed: {msg}", EXIT_TRANSPORT)
    raise typer.Exit(EXIT_OK)


@app.command("receive")
def receive_cmd(clearinghouse: ChOpt, config: ConfigOpt = None,
                verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """Pick up responses (999, TA1, 277CA, 835), store them durably, record and route them once."""
    from clearinghouse.receive import receive

    _logging(verbose)
    with _context(config) as (settings, engine):
        profile = _profile(settings, clearinghouse)
        rep = receive(engine, settings, profile)
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(rep.processed.items())) or "none"
        typer.echo(f"{profile.name}: {len(rep.downloaded)} new response(s), {len(rep.duplicates)} already seen; "
                   f"processed: {kinds}; pending: {rep.pending}; errors: {len(rep.errors)}")
        for e in rep.errors:
            typer.echo(f"  error: {e}")
        if rep.error is not None:
            fail(f"receive from {profile.name} failed: {rep.error.message}", EXIT_TRANSPORT)
    raise typer.Exit(EXIT_OK)


def _iso(v: Any) -> str | None:
    return v.isoformat(timespec="seconds") if v is not None else None


def parse_as_of(value: str | None) -> Any:
    """``--as-of YYYY-MM-DD`` (default: today, UTC)."""
    from datetime import UTC, date, datetime

    if not value:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"--as-of {value!r} is not a date (YYYY-MM-DD)")


def _late_tables(console: Any, late: dict[str, Any], limit: int) -> None:
    from rich.table import Table

    n835 = late["no_835"]
    amount = sum((float(c["amount"]) for c in n835), 0.0)
    console.print(f"Late on {late['as_of']}: {len(late['late_999'])} file(s) without a 999, "
                  f"{len(late['late_277ca'])} claim(s) without a 277CA, {len(late['rejections'])} rejected "
                  f"file(s) not sent again; {len(n835)} claim(s) without an 835 past the payer's window "
                  f"(${amount:,.2f}: worklist category no_response)")
    tables: list[tuple[str, list[str], list[list[str]]]] = [
        ("Late 999 (files)", ["id", "clearinghouse", "ISA13", "remote name", "claims", "sent", "due"],
         [[str(f["submission_id"]), f["clearinghouse"], f["isa13"], f["remote_name"], str(f["claims"]), f["sent"],
           f["due"]] for f in late["late_999"]]),
        ("Late 277CA (claims)", ["claim", "clearinghouse", "file id", "sent", "due", "days"],
         [[c["claim_id"], c["clearinghouse"], str(c["submission_id"]), c["sent"], c["due"],
           str(c["days_outstanding"])] for c in late["late_277ca"]]),
        ("Rejected files (999 / TA1), claims not sent again",
         ["id", "clearinghouse", "ISA13", "remote name", "code", "acked", "claims", "reason"],
         [[str(r["submission_id"]), r["clearinghouse"], r["isa13"], r["remote_name"], r["code"], r["acked"] or "",
           str(len(r["claims"])), r["reason"][:120]] for r in late["rejections"]]),
        ("No 835 (claims past the payer's window)", ["claim", "payer", "type", "sent", "due", "days", "amount"],
         [[c["claim_id"], c["payer_id"], c["payer_type"], c["sent"], c["due"], str(c["days_outstanding"]),
           c["amount"]] for c in n835]),
    ]
    for title, cols, rows in tables:
        if not rows:
            continue
        t = Table(title=title + (f" (first {limit} of {len(rows)})" if len(rows) > limit else ""))
        for col in cols:
            t.add_column(col)
        for r in rows[:limit]:
            t.add_row(*r)
        console.print(t)


@app.command("status")
def status_cmd(config: ConfigOpt = None,
               clearinghouse: Annotated[str | None, typer.Option("--clearinghouse", "-c")] = None,
               fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
               limit: Annotated[int, typer.Option(help="newest N submissions")] = 50,
               late_only: Annotated[bool, typer.Option("--late", help="only what is late or rejected; exit code 1 "
                                                       "when anything is")] = False,
               as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD: what is late on that date "
                                                         "(default today)")] = None) -> None:
    """Show the submission ledger, the responses received, and what is late (no 999 / 277CA / 835)."""
    from sqlalchemy import func, select

    from remits.aging import late_report
    from store import session_scope
    from store.ledger import ResponseFile, Submission, SubmissionClaim

    if fmt not in ("table", "json"):
        fail("--format must be 'table' or 'json'")
    day = parse_as_of(as_of)
    with _context(config) as (settings, engine), session_scope(engine) as s:
        late = late_report(s, day, settings=settings, clearinghouse=clearinghouse).as_dict()
        q = select(Submission, func.count(SubmissionClaim.id)).outerjoin(SubmissionClaim).group_by(Submission.id)
        rq = select(ResponseFile)
        if clearinghouse:
            q = q.where(Submission.clearinghouse == clearinghouse)
            rq = rq.where(ResponseFile.clearinghouse == clearinghouse)
        rows = s.execute(q.order_by(Submission.id.desc()).limit(limit)).all()
        subs = [{"id": sub.id, "clearinghouse": sub.clearinghouse, "state": sub.state, "isa13": f"{sub.isa13:09d}",
                 "remote_name": sub.remote_name, "claims": n, "size": sub.size, "attempts": sub.attempts,
                 "ack": sub.ack_code, "created": _iso(sub.created_at), "sent": _iso(sub.sent_at),
                 "acked": _iso(sub.acked_at), "sha256": sub.file_sha256, "error": sub.error} for sub, n in rows]
        resp = [{"id": r.id, "clearinghouse": r.clearinghouse, "kind": r.kind, "state": r.state,
                 "remote_name": r.remote_name, "received": _iso(r.received_at), "detail": r.detail}
                for r in s.scalars(rq.order_by(ResponseFile.id.desc()).limit(limit))]
    code = EXIT_FINDINGS if late_only and late["alerts"] else EXIT_OK
    if fmt == "json":
        typer.echo(json.dumps({"late": late} if late_only else {"submissions": subs, "responses": resp,
                                                                  "late": late}, indent=2))
        raise typer.Exit(code)
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if late_only:
        _late_tables(console, late, limit)
        raise typer.Exit(code)
    t = Table(title="Submissions")
    for col in ("id", "clearinghouse", "state", "ISA13", "remote name", "claims", "attempts", "ack", "sent", "error"):
        t.add_column(col)
    for d in subs:
        t.add_row(str(d["id"]), str(d["clearinghouse"]), str(d["state"]), str(d["isa13"]), str(d["remote_name"]),
                  str(d["claims"]), str(d["attempts"]), str(d["ack"] or ""), str(d["sent"] or ""),
                  str(d["error"] or "")[:60])
    console.print(t)
    rt = Table(title="Responses")
    for col in ("id", "clearinghouse", "kind", "state", "remote name", "received", "detail"):
        rt.add_column(col)
    for d in resp:
        rt.add_row(str(d["id"]), str(d["clearinghouse"]), str(d["kind"]), str(d["state"]), str(d["remote_name"]),
                   str(d["received"]), str(d["detail"] or "")[:60])
    console.print(rt)
    _late_tables(console, late, limit)
    raise typer.Exit(EXIT_OK)


@app.command("watch")
def watch_cmd(config: ConfigOpt = None,
              as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD (default today)")] = None,
              verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """Record newly late or rejected answers (one line each), open no_response worklist items for claims
    with no 835 after their window, close those whose 835 came.  The scheduler runs it after each receive;
    exit code 1 when anything is late or rejected."""
    from clearinghouse.locks import run_lock
    from clearinghouse.submit import lock_dir
    from remits.aging import watch

    _logging(verbose)
    day = parse_as_of(as_of)
    with _context(config) as (settings, engine), run_lock(engine, "ack-watch", fallback_dir=lock_dir(settings)):
        res = watch(engine, day, settings=settings)
    for line in res.new_alerts:
        typer.echo(f"new: {line}")
    r = res.report
    typer.echo(f"{day.isoformat()}: {len(r.files)} late 999, {len(r.claims_277ca)} late 277CA, "
               f"{len(r.rejections)} rejected file(s); {len(r.claims_835)} claim(s) without an 835: "
               f"{res.items_opened} no_response item(s) opened, {res.items_closed} closed")
    raise typer.Exit(EXIT_FINDINGS if r.alerts else EXIT_OK)


@scheduler_app.command("run")
def scheduler_run_cmd(config: ConfigOpt = None,
                      verbose: Annotated[bool, typer.Option("--verbose", "-v")] = True,
                      poll: Annotated[float | None, typer.Option("--standby-poll", hidden=True,
                                                                 help="seconds between a standby's tries")] = None,
                      heartbeat: Annotated[float | None, typer.Option("--heartbeat", hidden=True,
                                                                      help="seconds between heartbeats")] = None,
                      lease: Annotated[float | None, typer.Option("--lease", hidden=True,
                                                                  help="stop when no heartbeat succeeded for "
                                                                  "this long")] = None) -> None:
    """Run the scheduler in the foreground until SIGTERM/SIGINT.

    PostgreSQL: run one on each of several hosts; one is active, the others stand by and take
    over within a minute when it is lost (exit code 5: this one lost its database connection
    while active).  SQLite: one per database (a second one exits with code 4).

    Each clearinghouse with a ``schedule`` gets one job: outbox -> send, then receive.
    Schedule syntax: ``<days> <HH:MM>[,<HH:MM>...] [<time zone>]`` with days ``daily``,
    ``weekdays``, ``weekends`` or day names/ranges (``mon-fri``, ``mon,wed,fri``; never numbers),
    e.g. ``mon-fri 18:00`` or ``daily 06:30,18:30 America/Chicago``.
    """
    from clearinghouse.locks import LockBusy
    from clearinghouse.scheduler import ScheduleError, run_scheduler

    _logging(verbose)
    with _context(config) as (settings, engine):
        scheduled = [c.name for c in settings.clearinghouses if c.schedule]
        if not scheduled:
            fail("no clearinghouse has a schedule in the configuration", EXIT_CONFIG)
        cfg = str(Path(settings.source).resolve()) if settings.source else None
        try:
            stopped = run_scheduler(settings, cfg, engine, on_started=lambda: typer.echo(
                f"scheduler started for {', '.join(scheduled)}", err=True), on_standby=lambda: typer.echo(
                "scheduler standing by: another scheduler is active on this database", err=True),
                ha_poll=poll, ha_heartbeat=heartbeat, ha_lease=lease)
        except LockBusy:
            fail("another scheduler is already running on this database", EXIT_CONFIG)
        except ScheduleError as exc:
            fail(str(exc), EXIT_CONFIG)
        typer.echo(f"scheduler stopped ({stopped.reason})", err=True)
    raise typer.Exit(EXIT_OK)


@scheduler_app.command("status")
def scheduler_status_cmd(config: ConfigOpt = None,
                         fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table") -> None:
    """List each clearinghouse's schedule, next run time and last run, and the scheduler processes
    (``active`` / ``standby``; PostgreSQL keeps one row per ``dermedi scheduler run``)."""
    from clearinghouse.ha import instances
    from clearinghouse.scheduler import ScheduleError, scheduler_status

    with _context(config) as (settings, engine):
        try:
            rows = scheduler_status(settings, engine)
        except ScheduleError as exc:
            fail(str(exc), EXIT_CONFIG)
        procs = [i for i in instances(engine) if i.alive]
    data = [{"clearinghouse": r.clearinghouse, "schedule": r.schedule, "next_run": _iso(r.next_run),
             "in_job_store": r.stored, "last_run": _iso(r.last_run), "last_outcome": r.last_outcome} for r in rows]
    inst: list[dict[str, Any]] = [{"host": i.host, "pid": i.pid, "role": i.role, "heartbeat": _iso(i.heartbeat_at),
             "active_since": _iso(i.active_since)} for i in procs]
    if fmt == "json":
        typer.echo(json.dumps({"jobs": data, "schedulers": inst}, indent=2))
        raise typer.Exit(EXIT_OK)
    from rich.console import Console
    from rich.table import Table

    if inst:
        it = Table(title="Scheduler processes")
        for col in ("host", "pid", "role", "heartbeat", "active since"):
            it.add_column(col)
        for d in inst:
            it.add_row(*(str(d[k]) if d[k] is not None else "" for k in
                         ("host", "pid", "role", "heartbeat", "active_since")))
        Console().print(it)

    t = Table(title="Scheduler")
    for col in ("clearinghouse", "schedule", "next run", "stored", "last run", "outcome"):
        t.add_column(col)
    for d in data:
        t.add_row(*(str(d[k]) if d[k] is not None else "" for k in
                    ("clearinghouse", "schedule", "next_run", "in_job_store", "last_run", "last_outcome")))
    Console().print(t)
    raise typer.Exit(EXIT_OK)
