"""Database fixtures: every store test runs against SQLite and the PostgreSQL at 127.0.0.1:5432.

Import into a test module with ``from dbfixtures import db_url  # noqa: F401``.  Each test gets a
fresh SQLite file or a fresh PostgreSQL schema (dropped afterwards).  PostgreSQL being down is a
test failure, not a skip, unless DERMEDI_SKIP_POSTGRES=1 is set.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

PG_ADMIN_URL = os.environ.get("DERMEDI_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_params() -> list[object]:
    marks = [pytest.mark.postgres]
    if os.environ.get("DERMEDI_SKIP_POSTGRES") == "1":
        marks.append(pytest.mark.skip(reason="DERMEDI_SKIP_POSTGRES=1"))
    return [pytest.param("sqlite", id="sqlite"), pytest.param("postgresql", id="postgresql", marks=marks)]


@pytest.fixture(params=_pg_params())
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'dermedi.db'}"
        return
    with pg_schema() as url:
        yield url


@contextmanager
def pg_schema(admin_url: str = PG_ADMIN_URL, prefix: str = "t_") -> Iterator[str]:
    """A fresh PostgreSQL schema (its URL, with ``search_path`` set to it), dropped afterwards."""
    schema = f"{prefix}{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{admin_url}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
