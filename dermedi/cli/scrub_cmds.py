"""CLI: ``dermedi scrub``, ``dermedi rules list|explain|doc`` and ``dermedi tables``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from dermedi.cli.app import app
from dermedi.cli.common import EXIT_BAD_INPUT, EXIT_CONFIG, EXIT_FINDINGS, EXIT_OK, fail, private_open, x12_errors

rules_app = typer.Typer(no_args_is_help=True, help="The scrubber's rule catalog.")
app.add_typer(rules_app, name="rules")
tables_app = typer.Typer(no_args_is_help=True, help="Code tables (NCCI PTP/MUE and CMS MCD article imports).")
app.add_typer(tables_app, name="tables")


def _scrubber(config: str | None, today: str | None, ncci_db: bool = False, learned: Path | None = None,
              no_learned: bool = False) -> object:
    from config.coverage import CoverageError, coverage_for_data_dir
    from config.learned import LearnedTableError, load_learned_table
    from config.payers import PayerConfigError, load_payer_profiles
    from config.settings import ConfigError, load_settings
    from config.tables import TableError
    from scrubber.engine import Scrubber

    try:
        settings = load_settings(config)
        payers = load_payer_profiles(settings.payers)
        day = date.fromisoformat(today) if today else None
        coverage = coverage_for_data_dir(settings.data_dir)    # with `dermedi tables import-mcd`'s file
        tables = None
        if ncci_db:
            from store import open_database
            from store.ncci import load_tables_with_db

            tables = load_tables_with_db(open_database(settings.database.url))
        table_path = None if no_learned else (learned or settings.learning.table)
        table = load_learned_table(table_path) if table_path else None
        return Scrubber(payers=payers, today=day, tables=tables, coverage=coverage,  # type: ignore[arg-type]
                        learned=table)
    except (ConfigError, PayerConfigError, TableError, CoverageError, LearnedTableError) as exc:
        fail(str(exc), EXIT_CONFIG)
    except ValueError as exc:
        fail(f"--today: {exc}", EXIT_BAD_INPUT)


def _freeze_tables() -> None:
    """Load the ICD-10-CM set now and move the code tables out of the cyclic garbage collector's
    reach (``gc.freeze``): they live as long as the process, and every full collection would
    otherwise walk their ~100,000 entries again (about 35 ms each)."""
    import contextlib
    import gc

    from config.icd10cm import Icd10Error, load_icd10cm

    with contextlib.suppress(Icd10Error, OSError):    # reported by the rule that needs the set, as before
        load_icd10cm()
    gc.freeze()


def _exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so a killed scrub removes its partial outputs."""
    import signal

    def _handler(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _handler)


@app.command("scrub")
def scrub(
    input_file: Annotated[Path, typer.Argument(metavar="IN.837", help="837P file to scrub")],
    clean_out: Annotated[Path | None, typer.Option("--clean-out", help="write clean claims here (837P)")] = None,
    held_out: Annotated[Path | None, typer.Option("--held-out", help="write held claims here (837P)")] = None,
    report: Annotated[Path | None, typer.Option("--report", help="JSON report")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="HTML report for billers")] = None,
    today: Annotated[str | None, typer.Option("--today", help="date used for date checks (YYYY-MM-DD)")] = None,
    config: Annotated[str | None, typer.Option("--config", help="dermedi.toml")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no summary line")] = False,
    ncci_db: Annotated[bool, typer.Option("--ncci-db", help="overlay the NCCI PTP/MUE rows imported with "
                                          "`dermedi tables import-ncci`")] = False,
    learned: Annotated[Path | None, typer.Option("--learned", help="payer-learned table (`dermedi learn -o`); "
                                                 "default: [learning] table of dermedi.toml")] = None,
    no_learned: Annotated[bool, typer.Option("--no-learned", help="ignore the configured learned table")] = False,
) -> None:
    """Scrub an 837P: split into clean and held claims, write the report.

    Exit code 0 when every claim is clean, 1 when any claim is held, 2 on unreadable input.
    """
    from scrubber.engine import Scrubber
    from scrubber.run import scrub_file

    if not input_file.is_file():
        fail(f"{input_file}: no such file", EXIT_BAD_INPUT)
    scrubber = _scrubber(config, today, ncci_db, learned, no_learned)
    assert isinstance(scrubber, Scrubber)
    _freeze_tables()
    _exit_on_sigterm()
    with x12_errors():
        try:
            summary = scrub_file(input_file, clean_out=clean_out, held_out=held_out, report=report, html=html,
                                 scrubber=scrubber)
        except OSError as exc:
            fail(f"{input_file}: {exc.strerror or exc}", EXIT_BAD_INPUT)
    if not quiet:
        typer.echo(f"{summary.claims} claim(s): {summary.clean} clean, {summary.held} held "
                   f"({summary.errors} error(s), {summary.warnings} warning(s))", err=True)
    raise typer.Exit(EXIT_FINDINGS if summary.held else EXIT_OK)


@rules_app.command("list")
def rules_list() -> None:
    """Table of every rule: id, severity, CARC, summary."""
    from rich.console import Console
    from rich.table import Table

    from scrubber.engine import all_rules

    table = Table("id", "severity", "carc", "summary", box=None)
    for r in all_rules():
        table.add_row(r.id, r.severity, r.carc or "", r.summary())
    Console(width=160).print(table)


@rules_app.command("explain")
def rules_explain(rule_id: Annotated[str, typer.Argument(help="rule id, e.g. DES003")]) -> None:
    """The full documentation of one rule."""
    from scrubber.engine import get_rule

    try:
        cls = get_rule(rule_id)
    except KeyError:
        fail(f"no rule {rule_id!r} (see `dermedi rules list`)", EXIT_BAD_INPUT)
    typer.echo(f"{cls.id} ({cls.name}) — severity {cls.severity}, CARC {cls.carc or '-'}\n")
    typer.echo(cls.doc())


@rules_app.command("doc")
def rules_doc(output: Annotated[Path | None, typer.Option("-o", "--output", help="write here (default stdout)")]
              = None) -> None:
    """Generate docs/rules.md from the rule docstrings."""
    from scrubber.docs import rules_markdown

    text = rules_markdown()
    if output is None:
        typer.echo(text, nl=False)
        return
    with private_open(output, "wb") as fh:
        fh.write(text.encode("utf-8"))


@tables_app.command("import-ncci")
def import_ncci(
    file: Annotated[Path, typer.Argument(help="CMS PTP or MUE file (CSV or tab-separated text)")],
    kind: Annotated[str | None, typer.Option("--kind", help="ptp or mue (default: detected)")] = None,
    config: Annotated[str | None, typer.Option("--config", help="dermedi.toml")] = None,
) -> None:
    """Load a full CMS quarterly PTP or MUE file into the database (used by `scrub --ncci-db`)."""
    from config.settings import ConfigError, load_settings
    from store import open_database
    from store.ncci import NcciFileError, import_ncci_file

    if kind is not None and kind.lower() not in ("ptp", "mue"):
        fail("--kind must be ptp or mue", EXIT_BAD_INPUT)
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        fail(str(exc), EXIT_CONFIG)
    try:
        result = import_ncci_file(open_database(settings.database.url), file, kind.lower() if kind else None)
    except NcciFileError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    typer.echo(f"imported {result.rows} {result.kind.upper()} row(s) from {file.name}"
               + (f" ({result.skipped} non-code row(s) skipped)" if result.skipped else ""))


@tables_app.command("import-mcd")
def import_mcd(
    file: Annotated[Path, typer.Argument(help="CMS Medicare Coverage Database article download "
                                               "(current_article_csv.zip)")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="table file to write (default: "
                                                 "<data_dir>/tables/mcd_articles.json, read by `dermedi scrub`)")]
    = None,
    config: Annotated[str | None, typer.Option("--config", help="dermedi.toml")] = None,
) -> None:
    """Load the ICD-10 covered / non-covered lists of the dermatology LCD articles from a CMS MCD download;
    `dermedi scrub` then checks those articles' exact lists instead of the indication mapping (LCD rules)."""
    from config.coverage import CoverageError, default_mcd_path, import_mcd_zip, write_mcd_table
    from config.settings import ConfigError, load_settings

    try:
        settings = load_settings(config)
    except ConfigError as exc:
        fail(str(exc), EXIT_CONFIG)
    target = output or default_mcd_path(settings.data_dir)
    try:
        articles = import_mcd_zip(file)
    except CoverageError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    if not articles:
        fail(f"{file.name}: none of the dermatology LCD articles (see config/tables/lcd_derm.csv) is in this download",
             EXIT_BAD_INPUT)
    try:
        write_mcd_table(articles, target, file.name)
    except OSError as exc:
        fail(f"{target}: cannot write the table file: {exc.strerror}", EXIT_BAD_INPUT)
    for a in articles.values():
        typer.echo(f"{a.article_id}{(' (' + ', '.join(sorted(a.lcds)) + ')') if a.lcds else ''}: "
                   f"{len(a.hcpcs)} HCPCS, {len(a.covered)} covered and {len(a.noncovered)} non-covered ICD-10 codes")
    typer.echo(f"imported {len(articles)} article(s) from {file.name} into {target}")
