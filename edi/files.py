"""Private files: everything dermedi writes is created 0600, in folders created 0700.

The one helper for the whole stack (it sits at the bottom, so every package may use it).
"""

from __future__ import annotations

import errno
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


def append_file(dst_fd: int, src: str | os.PathLike[str]) -> int:
    """Append the whole file ``src`` at ``dst_fd``'s current offset, in the kernel when it can
    (``os.copy_file_range``, then ``os.sendfile``; else a plain copy).  Returns the bytes copied."""
    with open(src, "rb") as fh:
        fd = fh.fileno()
        left = os.fstat(fd).st_size
        done = 0
        for copy in (_copy_range, _sendfile):
            try:
                while left > 0:
                    n = copy(fd, dst_fd, left)
                    if n <= 0:
                        break
                    done += n
                    left -= n
                return done
            except OSError as exc:
                if done or exc.errno not in _NO_KERNEL_COPY:
                    raise
        fh.seek(0)
        while block := fh.read(1 << 20):
            _write_all(dst_fd, block)
            done += len(block)
        return done


_NO_KERNEL_COPY = {getattr(errno, name) for name in ("EXDEV", "ENOSYS", "EINVAL", "EOPNOTSUPP", "EBADF", "ENOTSUP")
                   if hasattr(errno, name)}


def _copy_range(src: int, dst: int, count: int) -> int:
    if not hasattr(os, "copy_file_range"):
        raise OSError(errno.ENOSYS, "copy_file_range")
    return os.copy_file_range(src, dst, min(count, 1 << 30))


def _sendfile(src: int, dst: int, count: int) -> int:
    if not hasattr(os, "sendfile"):
        raise OSError(errno.ENOSYS, "sendfile")
    return os.sendfile(dst, src, None, min(count, 1 << 30))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


__all__ = ["append_file", "private_open", "write_private"]
