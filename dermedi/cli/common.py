"""Shared CLI plumbing: one-line errors, exit codes, private file writing."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, NoReturn

import typer

from edi.errors import X12Error
from edi.files import private_open

EXIT_OK = 0
EXIT_FINDINGS = 1      # the input was read; findings, held claims or a failed operation
EXIT_BAD_INPUT = 2     # unreadable input, not X12, wrong transaction, usage error
EXIT_TRANSPORT = 3     # clearinghouse transport failure (connection, host key, auth)
EXIT_CONFIG = 4        # configuration error


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print one line to stderr and exit with ``code`` (never a traceback)."""
    typer.echo(f"dermedi: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def x12_errors() -> Iterator[None]:
    """Turn X12 input errors into one line on stderr and exit code 2."""
    try:
        yield
    except X12Error as exc:
        fail(str(exc), EXIT_BAD_INPUT)


def stdout_bytes() -> IO[bytes]:
    return sys.stdout.buffer


__all__ = ["EXIT_BAD_INPUT", "EXIT_CONFIG", "EXIT_FINDINGS", "EXIT_OK", "EXIT_TRANSPORT", "fail", "private_open",
           "stdout_bytes", "x12_errors"]
