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


_INPUT_SUFFIXES = (".837", ".x12", ".edi", ".txt")


def _collect_inputs(paths: list[Path]) -> list[Path]:
    """The input files: files as given, and the 837P files of each directory (sorted by name;
    ``*.837``, ``*.x12``, ``*.edi``, ``*.txt``, not hidden, not this command's own outputs)."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            for f in sorted(p.iterdir()):
                name = f.name
                if (f.is_file() and not name.startswith(".") and name.lower().endswith(_INPUT_SUFFIXES)
                        and not name.endswith((".clean.837", ".held.837"))):
                    out.append(f)
        elif p.is_file():
            out.append(p)
        else:
            fail(f"{p}: no such file or directory", EXIT_BAD_INPUT)
    if not out:
        fail("no input files (directories are searched for *.837, *.x12, *.edi, *.txt)", EXIT_BAD_INPUT)
    return out


def _job_inputs(files: list[Path], out_dir: Path, report_dir: Path) -> list[object]:
    from dermedi.distributed import ScrubInput

    seen: dict[str, Path] = {}
    inputs: list[object] = []
    for f in files:
        stem = f.name[:-len(f.suffix)] if f.suffix else f.name
        if stem in seen:
            fail(f"{f}: same output name as {seen[stem]} ({stem}.*): rename one of them", EXIT_BAD_INPUT)
        seen[stem] = f
        inputs.append(ScrubInput(f, clean_out=out_dir / f"{stem}.clean.837", held_out=out_dir / f"{stem}.held.837",
                                 report=report_dir / f"{stem}.json", html=report_dir / f"{stem}.html"))
    return inputs


@app.command("scrub")
def scrub(
    inputs: Annotated[list[Path], typer.Argument(metavar="IN.837... [DIR...]",
                                                 help="837P files to scrub, or directories of them")],
    clean_out: Annotated[Path | None, typer.Option("--clean-out", help="write clean claims here (837P; one input)")]
    = None,
    held_out: Annotated[Path | None, typer.Option("--held-out", help="write held claims here (837P; one input)")]
    = None,
    report: Annotated[Path | None, typer.Option("--report", help="JSON report (one input)")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="HTML report for billers (one input)")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out-dir", help="several inputs: write NAME.clean.837 and "
                                                 "NAME.held.837 of each input here")] = None,
    report_dir: Annotated[Path | None, typer.Option("--report-dir", help="several inputs: NAME.json, NAME.html "
                                                    "and summary.json here (default: --out-dir)")] = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1, help="run on a local Dask cluster of N "
                                                "worker processes")] = None,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="run on the Dask cluster at "
                                                  "tcp://HOST:PORT")] = None,
    spool_dir: Annotated[Path | None, typer.Option("--spool-dir", help="with --scheduler: a folder on storage "
                                                   "the workers share with this machine (they read the inputs at "
                                                   "the same paths and write report pieces here); without it the "
                                                   "data travels in the tasks.  With --workers: where the pieces "
                                                   "go (default: next to the reports)")] = None,
    chunk_bytes: Annotated[int, typer.Option("--chunk-bytes", min=1, hidden=True,
                                             help="bytes of input per task")] = 4 << 20,
    stats_json: Annotated[Path | None, typer.Option("--stats-json", hidden=True,
                                                    help="write the job's timings here (bench)")] = None,
    today: Annotated[str | None, typer.Option("--today", help="date used for date checks (YYYY-MM-DD)")] = None,
    config: Annotated[str | None, typer.Option("--config", help="dermedi.toml")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no summary line")] = False,
    ncci_db: Annotated[bool, typer.Option("--ncci-db", help="overlay the NCCI PTP/MUE rows imported with "
                                          "`dermedi tables import-ncci`")] = False,
    learned: Annotated[Path | None, typer.Option("--learned", help="payer-learned table (`dermedi learn -o`); "
                                                 "default: [learning] table of dermedi.toml")] = None,
    no_learned: Annotated[bool, typer.Option("--no-learned", help="ignore the configured learned table")] = False,
) -> None:
    """Scrub 837P files: split each into clean and held claims, write the reports.

    One input: ``--clean-out``, ``--held-out``, ``--report``, ``--html`` as before.  Several
    inputs or directories: ``--out-dir`` (and ``--report-dir``) get each input's outputs and one
    ``summary.json`` of the whole job.  ``--workers N`` / ``--scheduler URL`` run the job on Dask;
    the outputs are byte for byte those of the single-process run.

    Exit code 0 when every claim is clean, 1 when any claim is held, 2 on unreadable input
    (with several inputs: the other inputs are still scrubbed).
    """
    from scrubber.engine import Scrubber
    from scrubber.run import scrub_file

    if workers is not None and scheduler is not None:
        fail("--workers and --scheduler exclude each other", EXIT_BAD_INPUT)
    single = len(inputs) == 1 and out_dir is None and report_dir is None
    if single and inputs[0].is_dir():
        fail(f"{inputs[0]}: a directory of inputs needs --out-dir", EXIT_BAD_INPUT)
    if not single:
        if out_dir is None:
            fail("several inputs need --out-dir", EXIT_BAD_INPUT)
        if any(o is not None for o in (clean_out, held_out, report, html)):
            fail("--clean-out, --held-out, --report and --html are for one input; use --out-dir and --report-dir",
                 EXIT_BAD_INPUT)
    elif not inputs[0].is_file():
        fail(f"{inputs[0]}: no such file", EXIT_BAD_INPUT)
    try:
        day = date.fromisoformat(today) if today else date.today()
    except ValueError as exc:
        fail(f"--today: {exc}", EXIT_BAD_INPUT)
    _exit_on_sigterm()
    distributed = workers is not None or scheduler is not None
    if single and not distributed:
        scrubber = _scrubber(config, day.isoformat(), ncci_db, learned, no_learned)
        assert isinstance(scrubber, Scrubber)
        _freeze_tables()
        input_file = inputs[0]
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
    if spool_dir is not None and not distributed:
        fail("--spool-dir is for --workers or --scheduler", EXIT_BAD_INPUT)
    _scrub_job(inputs, single, clean_out, held_out, report, html, out_dir, report_dir, workers, scheduler,
               chunk_bytes, day, config, quiet, ncci_db, stats_json, learned, no_learned, spool_dir)


def _scrub_job(inputs: list[Path], single: bool, clean_out: Path | None, held_out: Path | None, report: Path | None,
               html: Path | None, out_dir: Path | None, report_dir: Path | None, workers: int | None,
               scheduler: str | None, chunk_bytes: int, day: date, config: str | None, quiet: bool,
               ncci_db: bool, stats_json: Path | None = None, learned: Path | None = None,
               no_learned: bool = False, spool_dir: Path | None = None) -> None:
    import json
    import sys
    from concurrent.futures import ThreadPoolExecutor

    from dermedi.distributed import (
        FileOutcome,
        JobStats,
        ScrubInput,
        ScrubSetup,
        SetupError,
        build_scrubber,
        dask_client,
        job_summary,
        plan_job,
        scrub_distributed,
        scrub_sequential,
        whole_on_workers,
    )

    if single:
        job: list[ScrubInput] = [ScrubInput(inputs[0], clean_out, held_out, report, html)]
    else:
        assert out_dir is not None
        job = _job_inputs(_collect_inputs(inputs), out_dir, report_dir or out_dir)  # type: ignore[assignment]
    setup = ScrubSetup(str(Path(config).resolve()) if config else None, day, ncci_db,
                       str(learned.resolve()) if learned else None, no_learned)
    outcomes: list[FileOutcome]
    try:
        if workers is None and scheduler is None:
            scrubber = build_scrubber(setup)
            outcomes = scrub_sequential(job, scrubber)
        else:
            build_scrubber(setup)           # a bad configuration fails here, before the cluster starts
            # a LocalCluster shares this machine's files; a remote cluster only with --spool-dir
            shared = workers is not None or spool_dir is not None
            try:
                stats = JobStats()
                # the files are planned while the cluster starts (its processes boot on the other cores)
                # and each file's chunks go out as soon as its own plan is made; the small inputs of a
                # job of many go whole to a worker and need no plan (unless a progress bar counts their
                # claims)
                whole = whole_on_workers(job, workers) if shared and workers is not None and \
                    not sys.stderr.isatty() else [False] * len(job)
                with ThreadPoolExecutor(1) as pool:
                    planned = [None if w else pool.submit(lambda inp: plan_job([inp], chunk_bytes)[0], inp)
                               for inp, w in zip(job, whole, strict=True)]
                    with dask_client(workers, scheduler) as client:
                        outcomes = scrub_distributed(job, setup, client, chunk_bytes=chunk_bytes, stats=stats,
                                                     shared=shared, spool_dir=spool_dir, plans=planned)
                if stats_json is not None:
                    import dataclasses

                    with private_open(stats_json, "wb") as fh:
                        fh.write(json.dumps(dataclasses.asdict(stats), indent=1).encode())
            except OSError as exc:
                fail(f"Dask cluster: {exc}", EXIT_BAD_INPUT)
    except SetupError as exc:
        fail(str(exc), EXIT_CONFIG)
    if single and outcomes[0].error is not None:
        fail(outcomes[0].error, EXIT_BAD_INPUT)
    if not single:
        assert out_dir is not None
        summary = job_summary(outcomes)
        with private_open((report_dir or out_dir) / "summary.json", "wb") as fh:
            fh.write((json.dumps(summary, indent=1, ensure_ascii=False) + "\n").encode("utf-8"))
        for o in outcomes:
            if o.error is not None:
                typer.echo(o.error, err=True)
    total_claims = sum(o.summary.claims for o in outcomes if o.summary is not None)
    clean = sum(o.summary.clean for o in outcomes if o.summary is not None)
    held = sum(o.summary.held for o in outcomes if o.summary is not None)
    errors = sum(o.summary.errors for o in outcomes if o.summary is not None)
    warnings = sum(o.summary.warnings for o in outcomes if o.summary is not None)
    failed = sum(1 for o in outcomes if o.error is not None)
    if not quiet:
        files = "" if single else f"{len(outcomes)} file(s){f', {failed} unreadable' if failed else ''}: "
        typer.echo(f"{files}{total_claims} claim(s): {clean} clean, {held} held "
                   f"({errors} error(s), {warnings} warning(s))", err=True)
    raise typer.Exit(EXIT_BAD_INPUT if failed else EXIT_FINDINGS if held else EXIT_OK)


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
