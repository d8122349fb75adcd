"""Private files: everything dermedi writes is created 0600, in folders created 0700.

The one helper for the whole stack (it sits at the bottom, so every package may use it).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any


def private_open(path: str | os.PathLike[str], mode: str = "wb") -> IO[Any]:
    """Open ``path`` for writing with mode 0600: created so, and tightened if it existed.

    ``mode`` is ``"wb"``/``"ab"`` (bytes) or ``"w"``/``"a"`` (UTF-8 text); missing folders are
    created 0700.
    """
    p = Path(path)
    if not p.parent.exists():
        p.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if "a" in mode else os.O_TRUNC)
    fd = os.open(p, flags, 0o600)
    os.fchmod(fd, 0o600)
    if "b" in mode:
        return os.fdopen(fd, "ab" if "a" in mode else "wb")
    return os.fdopen(fd, "a" if "a" in mode else "w", encoding="utf-8")


def write_private(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` (mode 0600, folders 0700); returns the path."""
    with private_open(path, "wb") as fh:
        fh.write(data)
    return Path(path)


__all__ = ["private_open", "write_private"]
