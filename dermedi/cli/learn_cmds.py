"""CLI: ``dermedi learn`` (payer-learned edits from the store's remit history)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from dermedi.cli.app import app
from dermedi.cli.common import EXIT_BAD_INPUT, EXIT_CONFIG, fail, private_open


def _day(value: str | None, option: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r} is not a date (YYYY-MM-DD)", EXIT_BAD_INPUT)


@app.command("learn")
def learn_cmd(
    since: Annotated[str | None, typer.Option("--since", help="learn from claims sent on or after YYYY-MM-DD")] = None,
    until: Annotated[str | None, typer.Option("--until", help="... and on or before YYYY-MM-DD")] = None,
    min_claims: Annotated[int | None, typer.Option("--min-claims", help="support a pattern needs, in claims "
                                                    "(default 5, or [learning] min_claims)")] = None,
    min_rate: Annotated[float | None, typer.Option("--min-rate", help="denial rate a pattern needs, 0-1 "
                                                    "(default 0.5, or [learning] min_rate)")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="write the learned table (JSON) here; "
                                                "point [learning] table at it")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the table as JSON instead of a summary")] = False,
    config: Annotated[str | None, typer.Option("--config", help="dermedi.toml")] = None,
) -> None:
    """Learn, per payer, the line patterns that were denied (submitted claims joined to their remits).

    Exit code 0 (also when nothing was learned: the table's note says why), 2 on bad options,
    4 on configuration or database errors.
    """
    from config.settings import ConfigError, load_settings
    from remits.learn import learn, summary_text
    from store import open_database

    lo, hi = _day(since, "--since"), _day(until, "--until")
    if lo and hi and hi < lo:
        fail("--until is before --since", EXIT_BAD_INPUT)
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        fail(str(exc), EXIT_CONFIG)
    mc = min_claims if min_claims is not None else settings.learning.min_claims
    mr = min_rate if min_rate is not None else settings.learning.min_rate
    if mc < 1:
        fail("--min-claims must be at least 1", EXIT_BAD_INPUT)
    if not 0 < mr <= 1:
        fail("--min-rate must be above 0 and at most 1", EXIT_BAD_INPUT)
    try:
        engine = open_database(settings.database.url)
    except Exception as exc:
        fail(f"cannot open the database: {type(exc).__name__}", EXIT_CONFIG)
    try:
        result = learn(engine, since=lo, until=hi, min_claims=mc, min_rate=mr)
    finally:
        engine.dispose()
    table = result.table
    if output is not None:
        with private_open(output, "wb") as fh:
            fh.write(table.to_json().encode("utf-8"))
    if as_json:
        typer.echo(json.dumps(table.model_dump(mode="json"), indent=1))
    else:
        typer.echo(summary_text(table))
        if output is not None:
            typer.echo(f"written to {output}", err=True)
