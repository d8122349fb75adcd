"""Shared CLI plumbing: one-line errors, exit codes, private file writing."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, NoReturn

import typer

from edi.errors import X12Error

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


def private_open(path: str | os.PathLike[str], mode: str = "wb") -> IO[bytes]:
    """Open a file for writing with mode 0600 (created so, and tightened if it existed)."""
    p = Path(path)
    if p.parent and not p.parent.exists():
        p.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if "a" in mode else os.O_TRUNC)
    fd = os.open(p, flags, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, mode)  # type: ignore[return-value]


def stdout_bytes() -> IO[bytes]:
    return sys.stdout.buffer
