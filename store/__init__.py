"""Persistence: SQLAlchemy 2 engine, declarative base and alembic migrations.

SQLite (a file, no set-up) is the embedded default; teams use PostgreSQL
(``postgresql+psycopg://user@host/db``).  The schema is only ever changed by the alembic
migrations in ``store/migrations`` (:func:`migrate` runs them to the newest revision).
Model modules live beside this one (``store/ledger.py``, ``store/remits.py`` ...)
and all share :class:`Base`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _sqlite_file(url: str) -> Path | None:
    prefix = "sqlite:///"
    if url.startswith(prefix) and ":memory:" not in url:
        return Path(url[len(prefix):].split("?")[0])
    return None


def make_engine(url: str, *, echo: bool = False, **options: Any) -> Engine:
    """An engine for ``url``; SQLite files are created 0600 with WAL and a busy timeout.

    ``options`` go to :func:`sqlalchemy.create_engine` (e.g. ``pool_size`` for a web server).
    """
    kwargs: dict[str, Any] = {"echo": echo, "future": True, **options}
    path = _sqlite_file(url)
    if path is not None:
        if path.parent and not path.parent.exists():
            path.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
            os.close(fd)
        os.chmod(path, 0o600)
        kwargs["connect_args"] = {"timeout": 30}
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        _SQLiteWriter(engine)
    return engine


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")


class _SQLiteWriter:
    """One writing transaction at a time among an engine's connections, queued in Python.

    SQLite has one writer; a second connection that wants to write waits in SQLite's busy
    handler, which polls with sleeps that grow to 100 ms (a web server's threads then wait far
    longer than the lock is held).  Here the first write of a transaction takes a lock of the
    engine, and the commit or rollback releases it: the next writer is woken at once.  Other
    processes are still kept apart by SQLite's own lock and busy timeout; and when the lock is
    not had within that timeout the write goes ahead to SQLite as before, so nothing waits for
    ever on a connection that never ended its transaction.
    """

    def __init__(self, engine: Engine, timeout: float = 30.0) -> None:
        self.lock = threading.Lock()
        self.holder: int | None = None          # id() of the DB-API connection holding the lock
        self.timeout = timeout
        dialect = engine.dialect
        commit, rollback, close = dialect.do_commit, dialect.do_rollback, dialect.do_close
        dialect.do_commit = self._then_release(commit)      # type: ignore[method-assign,assignment]
        dialect.do_rollback = self._then_release(rollback)  # type: ignore[method-assign,assignment]
        dialect.do_close = self._then_release(close)        # type: ignore[method-assign,assignment]
        event.listen(engine, "before_cursor_execute", self._before_execute)

    def _before_execute(self, conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip()[:7].upper().startswith(_WRITES):
            return
        key = id(conn.connection.dbapi_connection)
        if self.holder == key:
            return
        if self.lock.acquire(timeout=self.timeout):
            self.holder = key

    def _then_release(self, end: Callable[[Any], None]) -> Callable[[Any], None]:
        def ended(dbapi_connection: Any) -> None:
            try:
                end(dbapi_connection)
            finally:
                # the pool passes its proxy of the connection, a close the DB-API connection itself
                key = id(getattr(dbapi_connection, "dbapi_connection", dbapi_connection))
                if self.holder is not None and self.holder == key:
                    self.holder = None
                    self.lock.release()
        return ended


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str, revision: str = "heads") -> None:
    """Bring the database at ``url`` to ``revision`` (default: every head) with alembic."""
    from alembic import command

    make_engine(url).dispose()  # creates the SQLite file 0600 before alembic opens it
    command.upgrade(alembic_config(url), revision)


def session_maker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A transaction: committed when the block ends, rolled back on any exception."""
    with session_maker(engine)() as session, session.begin():
        yield session


def open_database(url: str, *, echo: bool = False, upgrade: bool = True) -> Engine:
    """Migrate (unless told not to) and return an engine: the usual entry point for commands."""
    if upgrade:
        migrate(url)
    return make_engine(url, echo=echo)
