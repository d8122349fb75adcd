"""CLI: ``dermedi remits ...`` (835/277CA ingest, quarantine, summary) and ``dermedi worklist ...``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dermedi.cli.app import app
from dermedi.cli.common import EXIT_BAD_INPUT, EXIT_CONFIG, EXIT_FINDINGS, fail
from edi.errors import X12Error

if TYPE_CHECKING:  # SQLAlchemy is imported only by the commands that use the database
    from sqlalchemy import Engine

remits_app = typer.Typer(no_args_is_help=True, help="Inbound 835 remits and 277CA: ingest, quarantine, analytics.")
quarantine_app = typer.Typer(no_args_is_help=True, help="835 files held back because they do not balance.")
worklist_app = typer.Typer(no_args_is_help=True, help="The denial worklist of the denial team.")
remits_app.add_typer(quarantine_app, name="quarantine")
app.add_typer(remits_app, name="remits")
app.add_typer(worklist_app, name="worklist")

ConfigOpt = Annotated[str | None, typer.Option(
    "--config", help="dermedi.toml (default: $DERMEDI_CONFIG, ./dermedi.toml)")]


def _login_name() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def _cli_actor(user: str | None) -> Any:
    """The audit actor of a CLI command: the --user given (else the login name), channel cli."""
    from remits.actions import Actor

    return Actor(user or _login_name(), "cli", "")


ViewerOpt = Annotated[str | None, typer.Option("--user", help="who looks (audit trail; default: your login name)")]


class ListFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class OutFormat(StrEnum):
    table = "table"
    json = "json"


def _settings(config: str | None) -> Any:
    from config.settings import ConfigError, load_settings

    try:
        return load_settings(config)
    except ConfigError as exc:
        fail(str(exc), EXIT_CONFIG)


@contextmanager
def _engine(settings: Any) -> Iterator[Engine]:
    from store import open_database

    try:
        engine = open_database(settings.database.url)
    except Exception as exc:  # one line, no traceback
        fail(f"cannot open the database: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
             EXIT_CONFIG)
    try:
        yield engine
    finally:
        engine.dispose()


def _worklist_errors() -> Any:
    from remits.worklist import WorklistError

    return WorklistError


# ------------------------------------------------------------------------------------------
# dermedi remits ...
# ------------------------------------------------------------------------------------------


@remits_app.command("ingest")
def ingest_cmd(files: Annotated[list[Path], typer.Argument(help="835 files")], config: ConfigOpt = None,
               fmt: Annotated[OutFormat, typer.Option("--format")] = OutFormat.table) -> None:
    """Parse, balance-check and store 835 files; open worklist items for denied lines.

    A file that fails a balancing rule is quarantined (exit code 1).  Re-ingesting a file
    (same sha256, or same payer + trace number) adds nothing.
    """
    from remits.ingest import ingest_835_file

    settings = _settings(config)
    code = 0
    results = []
    with _engine(settings) as engine:
        for f in files:
            if not f.is_file():
                typer.echo(f"dermedi: {f}: no such file", err=True)
                code = max(code, EXIT_BAD_INPUT)
                continue
            try:
                r = ingest_835_file(engine, f, settings=settings)
            except X12Error as exc:
                typer.echo(f"dermedi: {exc}", err=True)
                code = max(code, EXIT_BAD_INPUT)
                continue
            results.append(r)
            if r.status == "quarantined":
                code = max(code, EXIT_FINDINGS)
            if fmt is OutFormat.table:
                typer.echo(r.summary())
    if fmt is OutFormat.json:
        typer.echo(json.dumps([r.as_dict() for r in results], indent=2, default=str))
    raise typer.Exit(code)


@remits_app.command("ingest-277ca")
def ingest_277ca_cmd(files: Annotated[list[Path], typer.Argument(help="277CA files")],
                     config: ConfigOpt = None) -> None:
    """Turn 277CA front-end rejections into worklist items (category front_end_rejection)."""
    from remits.frontend import ingest_277ca

    settings = _settings(config)
    code = 0
    with _engine(settings) as engine:
        for f in files:
            try:
                r = ingest_277ca(engine, f, settings=settings)
            except X12Error as exc:
                typer.echo(f"dermedi: {exc}", err=True)
                code = max(code, EXIT_BAD_INPUT)
                continue
            except OSError as exc:
                typer.echo(f"dermedi: {f}: {exc.strerror}", err=True)
                code = max(code, EXIT_BAD_INPUT)
                continue
            typer.echo(r.summary())
    raise typer.Exit(code)


@quarantine_app.command("list")
def quarantine_list(config: ConfigOpt = None,
                    all_: Annotated[bool, typer.Option("--all", help="include released")] = False,
                    fmt: Annotated[OutFormat, typer.Option("--format")] = OutFormat.table) -> None:
    """Files held back because they do not balance."""
    from remits.ingest import quarantined_files
    from store import session_scope

    settings = _settings(config)
    with _engine(settings) as engine, session_scope(engine) as s:
        rows = quarantined_files(s, include_released=all_)
        data = [{"id": r.id, "name": r.name, "sha256": r.sha256, "received_at": r.received_at.isoformat(),
                 "status": r.status, "reason": r.reason, "findings": json.loads(r.findings or "[]"),
                 "released_by": r.released_by} for r in rows]
    if fmt is OutFormat.json:
        typer.echo(json.dumps(data, indent=2))
        return
    if not data:
        typer.echo("no quarantined files")
    for d in data:
        typer.echo(f"#{d['id']} {d['status']} {d['name']} {str(d['received_at'])[:19]}: {d['reason']}")


@quarantine_app.command("release")
def quarantine_release(file_id: Annotated[int, typer.Argument(help="quarantine id (see 'list')")],
                       user: Annotated[str, typer.Option("--user", help="who accepts the file as it is")],
                       config: ConfigOpt = None) -> None:
    """Ingest a quarantined file as it is: its denials become worklist items now."""
    from remits.actions import release_remit
    from remits.ingest import IngestError

    settings = _settings(config)
    with _engine(settings) as engine:
        try:
            r = release_remit(engine, file_id, _cli_actor(user), settings)
        except IngestError as exc:
            fail(str(exc), EXIT_FINDINGS)
        except X12Error as exc:
            fail(str(exc), EXIT_BAD_INPUT)
    typer.echo(r.summary())


@remits_app.command("summary")
def summary_cmd(config: ConfigOpt = None,
                since: Annotated[str | None, typer.Option("--since", help="YYYY-MM-DD (remit date)")] = None,
                fmt: Annotated[OutFormat, typer.Option("--format")] = OutFormat.table,
                as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD: aging and late answers on "
                                                          "that date (default today)")] = None) -> None:
    """Denied dollars and counts by category, CARC, payer and procedure; denial rate; scrubber loop;
    aging of the claims with no 835 yet (0-30 ... > 120 days by payer) and what is late."""
    from dermedi.cli.ch_cmds import parse_as_of
    from remits.aging import aging, aging_table, late_report
    from remits.summary import denial_summary, summary_table
    from store import session_scope

    day: date | None = None
    if since:
        try:
            day = date.fromisoformat(since)
        except ValueError:
            fail(f"--since {since!r} is not a date (YYYY-MM-DD)")
    settings = _settings(config)
    on = parse_as_of(as_of)
    with _engine(settings) as engine, session_scope(engine) as s:
        data = denial_summary(s, since=day)
        data["aging"] = aging(s, on, settings=settings)
        late = late_report(s, on, settings=settings, include_no_835=False)
        data["late"] = {"as_of": on.isoformat(), "late_999": len(late.files), "late_277ca": len(late.claims_277ca),
                        "rejections": len(late.rejections)}
    if fmt is OutFormat.json:
        typer.echo(json.dumps(data, indent=2))
        return
    lt = data["late"]
    typer.echo(summary_table(data) + "\n\n" + aging_table(data["aging"])
               + f"\nLate on {lt['as_of']}: {lt['late_999']} file(s) without a 999, {lt['late_277ca']} claim(s) "
                 f"without a 277CA, {lt['rejections']} rejected file(s) not sent again (dermedi status --late)")


@remits_app.command("record-sent")
def record_sent_cmd(files: Annotated[list[Path], typer.Argument(help="837P files that were sent")],
                    config: ConfigOpt = None,
                    scrub: Annotated[bool, typer.Option("--scrub/--no-scrub",
                                                        help="also record what the scrubber says")] = True) -> None:
    """Remember sent 837P claims (for replacement claims) and their scrubber findings (for the
    closed-loop summary).  The send command does the same for files it sends."""
    from edi.x837 import Parser837
    from remits.ingest import sha256_file
    from remits.worklist import record_scrub_results, record_submitted_claims
    from store import session_scope

    settings = _settings(config)
    scrubber: Any = None
    if scrub:
        try:
            from scrubber.engine import Scrubber

            scrubber = Scrubber()
        except ImportError as exc:
            typer.echo(f"dermedi: scrubber not available ({exc.name}); recording the claims only", err=True)
    code = 0
    with _engine(settings) as engine:
        for f in files:
            try:
                digest = sha256_file(f)
                parser = Parser837(f, str(f))
                stored = runs = 0
                with session_scope(engine) as s:
                    for claim in parser.claims():
                        new = record_submitted_claims(s, [claim], file_sha256=digest, delimiters=parser)
                        stored += new
                        if scrubber is not None and new:
                            runs += record_scrub_results(s, [scrubber.scrub(claim)], file_sha256=digest)
            except X12Error as exc:
                typer.echo(f"dermedi: {exc}", err=True)
                code = max(code, EXIT_BAD_INPUT)
                continue
            except OSError as exc:
                typer.echo(f"dermedi: {f}: {exc.strerror}", err=True)
                code = max(code, EXIT_BAD_INPUT)
                continue
            typer.echo(f"{f.name}: {stored} claims recorded, {runs} scrub results recorded")
    raise typer.Exit(code)


@remits_app.command("routes")
def routes_cmd() -> None:
    """The denial routing table (group + CARC + RARC -> category and action)."""
    from remits.classify import routing_table

    for r in routing_table():
        typer.echo(f"{r['route']:<26} CARC {r['carcs']:<28} RARC {r['rarcs'] or '-':<16} "
                   f"{r['category']:<18} {r['action']:<22} {r['fix']}")


# ------------------------------------------------------------------------------------------
# dermedi worklist ...
# ------------------------------------------------------------------------------------------


def _table(rows: list[dict[str, Any]]) -> str:
    head = f"{'id':>6} {'claim':<14} {'ln':>3} {'proc':<10} {'code':<8} {'rarcs':<12} {'category':<18} " \
           f"{'action':<21} {'amount':>10} {'deadline':<10} {'prio':>10} {'status':<11} owner"
    out = [head]
    for r in rows:
        proc = r["procedure"] + ("-" + "-".join(r["modifiers"]) if r["modifiers"] else "")
        out.append(f"{r['id']:>6} {r['claim_id'][:14]:<14} {r['line'] or '-':>3} {proc[:10]:<10} "
                   f"{(r['group'] + '-' + r['carc'])[:8]:<8} {','.join(r['rarcs'])[:12]:<12} {r['category']:<18} "
                   f"{r['action']:<21} {r['amount']:>10} {r['deadline'] or '-':<10} {r['priority']:>10} "
                   f"{r['status']:<11} {r['owner'] or ''}")
    return "\n".join(out)


@worklist_app.command("list")
def worklist_list(config: ConfigOpt = None,
                  category: Annotated[str | None, typer.Option("--category")] = None,
                  status: Annotated[str | None, typer.Option("--status")] = None,
                  owner: Annotated[str | None, typer.Option("--owner")] = None,
                  claim: Annotated[str | None, typer.Option("--claim", help="claim id (CLP01)")] = None,
                  limit: Annotated[int, typer.Option("--limit", help="items per page (0: all)")] = 100,
                  after: Annotated[int | None, typer.Option("--after", help="the last item id of the previous "
                                                                               "page (keyset pagination)")] = None,
                  all_: Annotated[bool, typer.Option("--all", help="include resolved and written-off items")] = False,
                  fmt: Annotated[ListFormat, typer.Option("--format")] = ListFormat.table,
                  user: ViewerOpt = None) -> None:
    """Worklist items, highest priority first (open items unless --status or --all)."""
    from remits.actions import audit
    from remits.classify import CATEGORIES
    from remits.worklist import STATUSES, WorklistError, csv_text, items_as_dicts, list_items
    from store import session_scope

    if category and category not in CATEGORIES:
        fail(f"unknown category {category!r} (one of {', '.join(CATEGORIES)})")
    if status and status not in STATUSES:
        fail(f"unknown status {status!r} (one of {', '.join(STATUSES)})")
    settings = _settings(config)
    if limit < 0:
        fail("--limit must be 0 (all) or a positive number")
    with _engine(settings) as engine, session_scope(engine) as s:
        try:
            items = list_items(s, category=category, status=status, owner=owner, claim_id=claim,
                               limit=limit or None, open_only=not all_, after=after)
        except WorklistError as exc:
            fail(str(exc), EXIT_FINDINGS)
        rows = items_as_dicts(s, items)
        audit(s, _cli_actor(user), "view_queue", "queue", None, f"{len(rows)} rows")
    if limit and len(rows) == limit:
        typer.echo(f"dermedi: more items: --after {rows[-1]['id']} for the next page", err=True)
    if fmt is ListFormat.json:
        typer.echo(json.dumps(rows, indent=2))
    elif fmt is ListFormat.csv:
        typer.echo(csv_text(rows), nl=False)
    else:
        typer.echo(_table(rows))


@worklist_app.command("next")
def worklist_next(user: Annotated[str, typer.Option("--user", help="who takes the item")], config: ConfigOpt = None,
                  fmt: Annotated[OutFormat, typer.Option("--format")] = OutFormat.table) -> None:
    """Take the highest-priority unowned item (atomic: two people never get the same item)."""
    from remits.actions import take_next
    from remits.worklist import WorklistError, item_dict
    from store import session_scope
    from store.remits import WorkItem

    settings = _settings(config)
    with _engine(settings) as engine:
        try:
            item_id = take_next(engine, _cli_actor(user))
        except WorklistError as exc:
            fail(str(exc))
        if item_id is None:
            typer.echo("the queue is empty")
            raise typer.Exit(EXIT_FINDINGS)
        with session_scope(engine) as s:
            item = s.get(WorkItem, item_id)
            assert item is not None
            row = item_dict(item)
    typer.echo(json.dumps(row, indent=2) if fmt is OutFormat.json else _table([row]))


@worklist_app.command("update")
def worklist_update(item_id: Annotated[int, typer.Argument()], config: ConfigOpt = None,
                    status: Annotated[str | None, typer.Option("--status")] = None,
                    note: Annotated[str | None, typer.Option("--note")] = None,
                    user: Annotated[str, typer.Option("--user")] = "dermedi",
                    owner: Annotated[str | None, typer.Option("--owner", help="re-assign ('' = nobody)")] = None,
                    ) -> None:
    """Change an item's status (legal transitions only), add a note, or re-assign it."""
    from remits.actions import change_item
    from store import session_scope

    if status is None and not note and owner is None:
        fail("nothing to do: give --status, --note or --owner")
    err = _worklist_errors()
    settings = _settings(config)
    with _engine(settings) as engine:
        try:
            with session_scope(engine) as s:
                item = change_item(s, item_id, _cli_actor(user), status=status, note=note, owner=owner)
                line = f"item {item.id}: {item.status}" + (f", owner {item.owner}" if item.owner else "")
        except err as exc:
            fail(str(exc), EXIT_FINDINGS)
    typer.echo(line)


@worklist_app.command("show")
def worklist_show(item_id: Annotated[int, typer.Argument()], config: ConfigOpt = None, user: ViewerOpt = None) -> None:
    """One item with its history and what the scrubber said about the claim."""
    from remits.actions import audit
    from remits.worklist import item_dict, item_history, scrub_flags
    from store import session_scope
    from store.remits import WorkItem

    settings = _settings(config)
    with _engine(settings) as engine, session_scope(engine) as s:
        item = s.get(WorkItem, item_id)
        if item is None:
            fail(f"no worklist item {item_id}", EXIT_FINDINGS)
        audit(s, _cli_actor(user), "view_item", "work_item", item_id, f"claim {item.claim_id}")
        flags = scrub_flags(s, [item.claim_id]).get(item.claim_id, [])
        data = item_dict(item, flags)
        data["history"] = [{"at": e.at.isoformat(), "user": e.actor, "event": e.event, "from": e.from_status,
                            "to": e.to_status, "note": e.note} for e in item_history(s, item_id)]
        data["scrub_findings"] = [{"rule": f.rule, "severity": f.severity, "line": f.line, "message": f.message}
                                  for f in flags]
    typer.echo(json.dumps(data, indent=2))


@worklist_app.command("export")
def worklist_export(csv_path: Annotated[Path, typer.Option("--csv", help="output CSV (written 0600)")],
                    config: ConfigOpt = None,
                    category: Annotated[str | None, typer.Option("--category")] = None,
                    status: Annotated[str | None, typer.Option("--status")] = None,
                    owner: Annotated[str | None, typer.Option("--owner")] = None, user: ViewerOpt = None) -> None:
    """Export the worklist as CSV (mode 0600)."""
    from remits.actions import audit
    from remits.worklist import export_csv
    from store import session_scope

    settings = _settings(config)
    with _engine(settings) as engine, session_scope(engine) as s:
        n = export_csv(s, csv_path, category=category, status=status, owner=owner)
        audit(s, _cli_actor(user), "export", "queue", None, f"{n} rows")
    typer.echo(f"{n} items written to {csv_path}")


@worklist_app.command("correct")
def worklist_correct(item_id: Annotated[int, typer.Argument()],
                     out: Annotated[Path, typer.Option("-o", "--output", help="replacement 837P to write")],
                     config: ConfigOpt = None, user: Annotated[str, typer.Option("--user")] = "dermedi") -> None:
    """Write a replacement 837P (CLM05-3=7, REF*F8) for review.  Never sent automatically."""
    from remits.actions import corrected_claim_file
    from store import session_scope

    err = _worklist_errors()
    settings = _settings(config)
    with _engine(settings) as engine:
        try:
            with session_scope(engine) as s:
                result = corrected_claim_file(s, item_id, out, _cli_actor(user), settings=settings)
        except err as exc:
            fail(str(exc), EXIT_FINDINGS)
    typer.echo(result.summary())


@worklist_app.command("proof")
def worklist_proof(item_id: Annotated[int, typer.Argument()], config: ConfigOpt = None,
                   as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD of the resubmission "
                                                             "(default today)")] = None,
                   fmt: Annotated[OutFormat, typer.Option("--format")] = OutFormat.table) -> None:
    """Timely-filing proof for an item's claim (e.g. a CO-29 appeal): first submission, its 999 and
    277CA acceptance, date of service and the payer's limit, and the paragraph for the appeal letter."""
    from dermedi.cli.ch_cmds import parse_as_of
    from remits.timely import filing_facts, proof_text, timely_filing_check
    from store import session_scope
    from store.remits import WorkItem

    day = parse_as_of(as_of)
    settings = _settings(config)
    with _engine(settings) as engine, session_scope(engine) as s:
        item = s.get(WorkItem, item_id)
        if item is None:
            fail(f"no worklist item {item_id}", EXIT_FINDINGS)
        facts = filing_facts(s, item.claim_id, settings=settings)
    flag = timely_filing_check(facts, day)
    if fmt is OutFormat.json:
        typer.echo(json.dumps({"item": item_id, "facts": facts.as_dict(), "flag": flag, "proof": proof_text(facts)},
                              indent=2))
        return
    for k, v in facts.as_dict().items():
        typer.echo(f"{k:<16} {v if v not in (None, '') else '-'}")
    typer.echo(f"\n{flag or 'within the filing limit on ' + day.isoformat()}\n\n{proof_text(facts)}")


@worklist_app.command("reprioritize")
def worklist_reprioritize(config: ConfigOpt = None, user: ViewerOpt = None) -> None:
    """Recompute the priority of open items (deadline urgency moves with the calendar)."""
    from remits.actions import audit
    from remits.worklist import refresh_priorities
    from store import session_scope

    settings = _settings(config)
    with _engine(settings) as engine, session_scope(engine) as s:
        n = refresh_priorities(s)
        audit(s, _cli_actor(user), "reprioritize", "queue", None, f"{n} priorities changed")
    typer.echo(f"{n} priorities changed")


