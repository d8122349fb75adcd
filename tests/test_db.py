from __future__ import annotations

import os
import stat

from dbfixtures import db_url  # noqa: F401
from sqlalchemy import inspect

from store import make_engine, migrate


def test_migrations_create_schema(db_url: str) -> None:  # noqa: F811
    migrate(db_url)
    migrate(db_url)  # idempotent
    engine = make_engine(db_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"dermedi_meta", "alembic_version"} <= tables
    if db_url.startswith("sqlite:///"):
        mode = stat.S_IMODE(os.stat(db_url[len("sqlite:///"):]).st_mode)
        assert mode == 0o600
