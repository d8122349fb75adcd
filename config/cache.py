"""A per-user cache of the validated code tables, so that a run does not rebuild them every time.

Loading the shipped tables means reading and validating ~15 CSV files and the ICD-10-CM code list
(~0.4 s, most of a small scrub's run time).  The first run stores each loaded table set as a pickle
in the cache folder; later runs load that instead (~0.1 s).  A cache entry is used only while
everything it was built from is unchanged: its key covers the source files (path, size,
modification time), the module that builds it, dermedi's, Python's and pydantic's versions.  An
entry that is missing, stale, unreadable, not owned by the user or writable by others is ignored
and rebuilt; the cache never changes what is loaded, only how fast.

Folder: ``$DERMEDI_CACHE_DIR``, else ``$XDG_CACHE_HOME/dermedi``, else ``~/.cache/dermedi``
(created 0700, files 0600).  ``DERMEDI_CACHE_DIR=off`` (or an empty value) turns the cache off.
Only the shipped tables are cached, never tables imported into the database, and never claim data.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import pickle
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
FORMAT = "1"                 # bump when the layout of a cache entry changes
KEEP = 4                     # entries kept per table set (see _prune)
_OFF = ("", "0", "off", "no", "false", "none")
log = logging.getLogger(__name__)


def cache_dir() -> Path | None:
    """The cache folder, or None when the cache is turned off."""
    env = os.environ.get("DERMEDI_CACHE_DIR")
    if env is not None:
        return None if env.strip().lower() in _OFF else Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dermedi"


def _dermedi_version() -> str:
    """The installed distribution's version (config/ sits below the dermedi shell and never imports it)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("dermedi")
    except PackageNotFoundError:
        return "unknown"


def _key(name: str, sources: Iterable[Path]) -> str:
    import pydantic

    __version__ = _dermedi_version()

    h = hashlib.sha256()
    for part in (FORMAT, name, __version__, sys.version, pydantic.VERSION):
        h.update(part.encode() + b"\0")
    for src in sorted({Path(p).resolve() for p in sources}):
        st = src.stat()
        h.update(f"{src}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    return h.hexdigest()


def _private(st: os.stat_result) -> bool:
    """Owned by this user and writable by nobody else (a pickle from elsewhere is never loaded)."""
    getuid = getattr(os, "getuid", None)
    owner_ok = getuid is None or st.st_uid == getuid()
    return owner_ok and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _load(path: Path, key: str, kind: type[T]) -> T | None:
    try:
        if not _private(path.parent.stat()):
            return None
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode) or not _private(st):
                return None
            stored_key, obj = pickle.load(fh)  # noqa: S301  (our own 0600 file, owner and mode checked above)
    except Exception:       # a damaged or foreign entry: rebuild
        log.debug("table cache entry %s unreadable; rebuilding", path.name)
        return None
    if stored_key != key or not isinstance(obj, kind):
        return None
    return obj


def _store(folder: Path, name: str, path: Path, key: str, obj: object) -> None:
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}-", suffix=".tmp")     # created 0600
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump((key, obj), fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        _prune(folder, name)
    except (OSError, pickle.PickleError, TypeError, AttributeError) as exc:
        log.debug("table cache not written (%s)", type(exc).__name__)


def _prune(folder: Path, name: str) -> None:
    """Keep the newest ``KEEP`` entries of ``name`` (two installs of dermedi, or a checkout and its
    pure-Python copy, each have their own entry; older sources' entries go)."""
    entries = []
    for p in folder.glob(f"{name}-*.pickle"):
        with contextlib.suppress(OSError):
            entries.append((p.stat().st_mtime_ns, p))
    entries.sort(reverse=True)
    for _mtime, p in entries[KEEP:]:
        with contextlib.suppress(OSError):
            p.unlink()


def cached(name: str, sources: Iterable[Path], kind: type[T], build: Callable[[], T]) -> T:
    """``build()``, or the cached result of an earlier ``build()`` from the same ``sources``."""
    folder = cache_dir()
    if folder is None:
        return build()
    try:
        key = _key(name, sources)
    except OSError:
        return build()
    path = folder / f"{name}-{key[:24]}.pickle"
    hit = _load(path, key, kind)
    if hit is not None:
        return hit
    obj = build()
    _store(folder, name, path, key, obj)
    return obj
