"""Local durable files: 0600 files in 0700 folders, written to a temporary name, fsync'ed, renamed."""

from __future__ import annotations

import hashlib
import os
import stat
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


def private_dir(path: Path) -> Path:
    """Create ``path`` and its missing parents with mode 0700; tighten ``path`` if it existed."""
    missing = []
    p = path
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=0o700)
        except FileExistsError:
            pass
        os.chmod(d, 0o700)
    if stat.S_IMODE(path.stat().st_mode) != 0o700:
        os.chmod(path, 0o700)
    return path


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def private_temp(folder: Path, suffix: str = ".tmp") -> Iterator[tuple[Path, IO[bytes]]]:
    """A new 0600 temporary file in ``folder`` (dot-name); removed if the block raises."""
    private_dir(folder)
    path = folder / f".{uuid.uuid4().hex}{suffix}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    f = os.fdopen(fd, "wb")
    try:
        yield path, f
    except BaseException:
        f.close()
        path.unlink(missing_ok=True)
        raise
    f.close()


def commit(temp: Path, final: Path, f: IO[bytes] | None = None) -> Path:
    """fsync ``temp`` and rename it to ``final`` atomically (0600), then fsync the folder."""
    if f is not None and not f.closed:
        f.flush()
        os.fsync(f.fileno())
        f.close()
    else:
        fd = os.open(temp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    private_dir(final.parent)
    os.chmod(temp, 0o600)
    os.replace(temp, final)
    fsync_dir(final.parent)
    return final


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


class HashingWriter:
    """A write-only sink that hashes what goes through it (and optionally forwards it)."""

    def __init__(self, forward: IO[bytes] | None = None) -> None:
        self.h = hashlib.sha256()
        self.size = 0
        self.forward = forward

    def write(self, data: bytes) -> int:
        self.h.update(data)
        self.size += len(data)
        if self.forward is not None:
            self.forward.write(data)
        return len(data)

    def flush(self) -> None:
        if self.forward is not None:
            self.forward.flush()

    def hexdigest(self) -> str:
        return self.h.hexdigest()
