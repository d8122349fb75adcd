"""CLI: ``dermedi web`` (the denial team's web workspace), ``dermedi users ...`` (accounts,
roles, API tokens) and ``dermedi audit ...`` (the HIPAA audit trail)."""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated, Any

import typer

from dermedi.cli.app import app
from dermedi.cli.common import EXIT_BAD_INPUT, EXIT_FINDINGS, fail
from dermedi.cli.remits_cmds import ConfigOpt, _engine, _settings

users_app = typer.Typer(no_args_is_help=True, help="Web workspace accounts: biller, lead, admin; API tokens.")
audit_app = typer.Typer(no_args_is_help=True, help="The audit trail: who viewed or changed what, when, from where.")
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")

ActorOpt = Annotated[str | None, typer.Option("--as", help="who makes the change (default: your login name)")]


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def _actor(who: str | None) -> Any:
    from remits.actions import Actor

    return Actor(who or _os_user(), "cli", "")


def _read_password(stdin: bool) -> str:
    """From the terminal (asked twice) or, with --password-stdin or no terminal, one line of stdin."""
    if stdin or not sys.stdin.isatty():
        pw = sys.stdin.readline().rstrip("\r\n")
    else:
        pw = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != pw:
            fail("the passwords differ")
    if not pw:
        fail("no password given")
    return pw


PwStdin = Annotated[bool, typer.Option("--password-stdin", help="read the password from stdin (never an argument)")]


@app.command("web")
def web_cmd(config: ConfigOpt = None,
            host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
            port: Annotated[int, typer.Option("--port")] = 8080,
            https_only: Annotated[bool, typer.Option("--https-only", help="Secure cookies (behind TLS)")] = False,
            idle_minutes: Annotated[int, typer.Option("--idle-timeout", help="minutes of inactivity", min=1)] = 15,
            absolute_hours: Annotated[int, typer.Option("--absolute-timeout", help="session lifetime, hours",
                                                        min=1)] = 8,
            practice: Annotated[str, typer.Option("--practice", help="signature of appeal letters")] = "",
            workers: Annotated[int, typer.Option("--workers", min=1, help="server processes (uvicorn workers)")]
            = 1) -> None:
    """Serve the denial team's web workspace (queue, items, remits, dashboard, JSON API)."""
    import logging
    from datetime import timedelta

    import uvicorn

    from dermedi.web.app import create_app
    from dermedi.web.deps import WebConfig
    from store import migrate

    settings = _settings(config)
    try:
        migrate(settings.database.url)
    except Exception as exc:
        fail(f"cannot open the database: {type(exc).__name__}", 4)
    cfg = WebConfig(idle_timeout=timedelta(minutes=idle_minutes), absolute_timeout=timedelta(hours=absolute_hours),
                    https_only=https_only, practice=practice)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    typer.echo(f"dermedi web on http://{host}:{port}/ (database: {settings.database.url.split('://')[0]})", err=True)
    if workers > 1:      # each worker process builds its own app (sessions are in the database)
        import json
        import os

        from dermedi.web.app import ENV_OPTIONS

        os.environ[ENV_OPTIONS] = json.dumps({"config": settings.source or config, "idle_minutes": idle_minutes,
                                              "absolute_hours": absolute_hours, "https_only": https_only,
                                              "practice": practice})
        uvicorn.run("dermedi.web.app:app_from_env", factory=True, workers=workers, host=host, port=port,
                    access_log=False, log_level="info", proxy_headers=False)
        return
    uvicorn.run(create_app(settings, cfg), host=host, port=port, access_log=False, log_level="info",
                proxy_headers=False)


# ------------------------------------------------------------------------------------------
# dermedi users ...
# ------------------------------------------------------------------------------------------


def _account_op(config: str | None, op: object) -> None:
    from dermedi.web.accounts import AccountError
    from dermedi.web.security import PasswordPolicyError
    from store import session_scope

    settings = _settings(config)
    with _engine(settings) as engine:
        try:
            with session_scope(engine) as s:
                msg = op(s)  # type: ignore[operator]
        except (AccountError, PasswordPolicyError) as exc:
            fail(str(exc), EXIT_FINDINGS)
    typer.echo(msg)


@users_app.command("add")
def users_add(name: Annotated[str, typer.Argument()],
              role: Annotated[str, typer.Option("--role", help="biller | lead | admin")],
              config: ConfigOpt = None, password_stdin: PwStdin = False, who: ActorOpt = None) -> None:
    """Add an account (the password is read from the terminal or stdin)."""
    from dermedi.web.accounts import add_user

    pw = _read_password(password_stdin)
    _account_op(config, lambda s: (add_user(s, name, role, pw, _actor(who)), f"user {name} added ({role})")[1])


@users_app.command("list")
def users_list(config: ConfigOpt = None) -> None:
    """Accounts with role, state and last login."""
    from sqlalchemy import select

    from store import session_scope
    from store.accounts import WebUser

    settings = _settings(config)
    with _engine(settings) as engine, session_scope(engine) as s:
        rows = list(s.scalars(select(WebUser).order_by(WebUser.name)))
        lines = [f"{u.name:<20} {u.role:<7} {'disabled' if u.disabled else 'active':<9} "
                 f"last login {u.last_login_at.isoformat()[:16] if u.last_login_at else '-'}" for u in rows]
    typer.echo("\n".join(lines) if lines else "no accounts (add one with: dermedi users add NAME --role lead)")


@users_app.command("disable")
def users_disable(name: Annotated[str, typer.Argument()], config: ConfigOpt = None, who: ActorOpt = None) -> None:
    """Disable an account: its sessions end and its API tokens are revoked."""
    from dermedi.web.accounts import disable_user

    _account_op(config, lambda s: (disable_user(s, name, _actor(who)), f"user {name} disabled")[1])


@users_app.command("enable")
def users_enable(name: Annotated[str, typer.Argument()], config: ConfigOpt = None, who: ActorOpt = None) -> None:
    """Enable a disabled (or locked-out) account again."""
    from dermedi.web.accounts import enable_user

    _account_op(config, lambda s: (enable_user(s, name, _actor(who)), f"user {name} enabled")[1])


@users_app.command("set-role")
def users_set_role(name: Annotated[str, typer.Argument()], role: Annotated[str, typer.Argument()],
                   config: ConfigOpt = None, who: ActorOpt = None) -> None:
    """Change an account's role (biller | lead | admin)."""
    from dermedi.web.accounts import set_role

    _account_op(config, lambda s: (set_role(s, name, role, _actor(who)), f"user {name} is now {role}")[1])


@users_app.command("reset-password")
def users_reset_password(name: Annotated[str, typer.Argument()], config: ConfigOpt = None,
                         password_stdin: PwStdin = False, who: ActorOpt = None) -> None:
    """Set a new password (read from the terminal or stdin); open sessions end."""
    from dermedi.web.accounts import reset_password

    pw = _read_password(password_stdin)
    _account_op(config, lambda s: (reset_password(s, name, pw, _actor(who)), f"password of {name} reset")[1])


@users_app.command("token")
def users_token(name: Annotated[str, typer.Argument()], config: ConfigOpt = None,
                label: Annotated[str, typer.Option("--label")] = "",
                revoke: Annotated[int | None, typer.Option("--revoke", help="revoke token ID instead")] = None,
                who: ActorOpt = None) -> None:
    """Make an API token for NAME (printed once; stored hashed), or --revoke ID."""
    from dermedi.web.accounts import new_api_token, revoke_api_token

    if revoke is not None:
        _account_op(config, lambda s: (revoke_api_token(s, revoke, _actor(who)), f"token {revoke} revoked")[1])
        return

    def op(s: object) -> str:
        tok, raw = new_api_token(s, name, _actor(who), label)  # type: ignore[arg-type]
        return f"token {tok.id} for {name} (shown once, keep it secret):\n{raw}"

    _account_op(config, op)


# ------------------------------------------------------------------------------------------
# dermedi audit ...
# ------------------------------------------------------------------------------------------


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), time(0), tzinfo=UTC)
    except ValueError:
        fail(f"--since {value!r} is not a date (YYYY-MM-DD)", EXIT_BAD_INPUT)


@audit_app.command("list")
def audit_list(config: ConfigOpt = None, user: Annotated[str | None, typer.Option("--user")] = None,
               since: Annotated[str | None, typer.Option("--since", help="YYYY-MM-DD")] = None,
               object_id: Annotated[str | None, typer.Option("--object", help="object id, e.g. an item id")] = None,
               limit: Annotated[int | None, typer.Option("--limit")] = None) -> None:
    """Audit events, oldest first."""
    from store import session_scope
    from store.audit import list_events

    day = _since(since)
    settings = _settings(config)
    with _engine(settings) as engine, session_scope(engine) as s:
        rows = [f"{e.id:>7} {e.at.isoformat()[:19]} {e.user:<14} {e.channel:<4} {e.client:<15} {e.action:<18} "
                f"{e.object_type}:{e.object_id} {e.detail}"
                for e in list_events(s, user=user, since=day, object_id=object_id, limit=limit)]
    typer.echo("\n".join(rows) if rows else "no audit events")


@audit_app.command("export")
def audit_export(csv_path: Annotated[Path, typer.Option("--csv", help="output CSV (written 0600)")],
                 config: ConfigOpt = None, user: Annotated[str | None, typer.Option("--user")] = None,
                 since: Annotated[str | None, typer.Option("--since")] = None,
                 object_id: Annotated[str | None, typer.Option("--object")] = None) -> None:
    """Export audit events as CSV (mode 0600)."""
    from edi.files import write_private
    from store import session_scope
    from store.audit import csv_text, list_events

    day = _since(since)
    settings = _settings(config)
    with _engine(settings) as engine, session_scope(engine) as s:
        events = list_events(s, user=user, since=day, object_id=object_id)
        write_private(csv_path, csv_text(events).encode("utf-8"))
    typer.echo(f"{len(events)} audit events written to {csv_path}")
