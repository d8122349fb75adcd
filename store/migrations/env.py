"""Alembic environment for dermedi (run through store.migrate)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import pool

from store import Base, make_engine

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = make_engine(url)
    engine = engine.execution_options() if engine.dialect.name != "sqlite" else engine
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
    _ = pool


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
