"""Run locks: one sender per clearinghouse, one scheduler per job store.

PostgreSQL: a session-level ``pg_advisory_lock`` on a dedicated connection (works across
machines sharing the database).  SQLite and others: a ``filelock`` next to the database file
(or in the data folder), which only protects one machine, as SQLite itself does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout
from sqlalchemy import Engine, text


class LockBusy(Exception):
    """Somebody else holds the lock."""


def _key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"dermedi:{name}".encode()).digest()[:8], "big", signed=True)


def lock_file_for(engine: Engine, name: str, fallback_dir: Path) -> Path:
    db = engine.url.database if engine.dialect.name == "sqlite" else None
    base = Path(db).parent if db and db != ":memory:" else fallback_dir
    base.mkdir(parents=True, mode=0o700, exist_ok=True)
    return base / f".dermedi-{name}.lock"


@contextmanager
def run_lock(engine: Engine, name: str, *, fallback_dir: Path, wait: float | None = None) -> Iterator[None]:
    """Hold lock ``name`` for the block.  ``wait`` None blocks; a number of seconds raises LockBusy after it."""
    if engine.dialect.name == "postgresql":
        conn = engine.connect()
        try:
            key = _key(name)
            if wait is None:
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            else:
                import time

                deadline = time.monotonic() + wait
                while not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
                    if time.monotonic() >= deadline:
                        raise LockBusy(name)
                    time.sleep(0.2)
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
        finally:
            conn.close()
        return
    path = lock_file_for(engine, name, fallback_dir)
    lock = FileLock(str(path), mode=0o600)
    try:
        lock.acquire(timeout=-1 if wait is None else wait)
    except Timeout:
        raise LockBusy(name) from None
    try:
        yield
    finally:
        lock.release()
