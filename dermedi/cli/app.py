"""Top-level Typer app; each command family lives in its own module and registers here."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="dermedi: dermatology claims in HIPAA X12.")


def main() -> None:
    from dermedi.cli import commands  # noqa: F401  (registers the commands)

    app()
