"""Top-level Typer app; each command family lives in its own module and registers here."""

from __future__ import annotations

import os
import sys

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="dermedi: dermatology claims in HIPAA X12.")

EXIT_INTERNAL = 70  # EX_SOFTWARE: a bug in dermedi, not bad input


def _version(value: bool) -> None:
    if value:
        import dermedi
        from dermedi.native import build

        typer.echo(f"dermedi {dermedi.__version__} ({build()})")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", is_eager=True, callback=_version,
                                       help="Print the version and whether the parse/scrub path is compiled.")) -> None:
    """dermedi: dermatology claims in HIPAA X12."""


def batch_gc() -> None:
    """The garbage collector's settings for one CLI run, which is one batch (benches use them too).

    The imported modules live until exit: freeze them out of every collection; and collect young
    objects less often (parsing allocates millions of short-lived segments without reference
    cycles).  ~10-15% of a parse; docs/performance.md."""
    import gc

    gc.freeze()
    gc.set_threshold(20000, 20, 20)


def main() -> None:
    """Entry point: run the app; an unexpected error is one line on stderr, never a traceback.

    The message names only the exception type (library messages may carry data from the
    input, i.e. PHI); ``DERMEDI_DEBUG=1`` shows the full traceback for developers.
    """
    from pathlib import Path

    from dermedi.native import StaleBuildError, check_fresh

    try:    # an editable install whose compiled modules are older than their sources
        check_fresh(Path(__file__).resolve().parents[2])
    except StaleBuildError as exc:
        from dermedi.cli.common import EXIT_CONFIG

        sys.stderr.write(f"dermedi: {exc}\n")
        sys.exit(EXIT_CONFIG)

    from dermedi.cli import commands  # noqa: F401  (registers the commands)

    batch_gc()

    try:
        app(standalone_mode=True)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.stderr.write("dermedi: interrupted\n")
        sys.exit(130)
    except OSError as exc:
        if os.environ.get("DERMEDI_DEBUG") == "1":
            raise
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        sys.stderr.write(f"dermedi: {exc.strerror or type(exc).__name__}{where}\n")
        sys.exit(2)
    except Exception as exc:
        if os.environ.get("DERMEDI_DEBUG") == "1":
            raise
        sys.stderr.write(f"dermedi: internal error ({type(exc).__name__}); "
                         "set DERMEDI_DEBUG=1 to see the traceback\n")
        sys.exit(EXIT_INTERNAL)
