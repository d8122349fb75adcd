"""Bulk writes: rows collected in memory, written per table with one executemany each.

A :class:`Row` holds its values and, once written, its id; a value that is itself a
:class:`Row` is replaced by that row's id when the child is written, so children can point at
parents written in the same batch.

How rows are written (:func:`insert_rows`):

* on SQLite, a plain ``INSERT INTO t (cols) VALUES (?, ...)`` handed to sqlite3's own
  ``executemany`` (a C loop), each value converted by the column type's SQLAlchemy bind processor,
  so what is stored is exactly what an ORM or Core insert would store;
* on PostgreSQL, ``COPY t (cols) FROM STDIN`` through psycopg for a batch (psycopg adapts the
  values as it does for any statement), executemany (pipeline mode) for a few rows;
* where ids are needed they are taken before the insert: on PostgreSQL ``nextval`` of the
  table's sequence for all rows in one query; on SQLite ``max(id) + 1 ...`` once the
  transaction holds the database's write lock (taken first with an empty UPDATE), so no other
  writer can commit in between;
* a dialect with another parameter style falls back to SQLAlchemy Core ``insert()`` with
  ``RETURNING`` (insertmanyvalues).

The caller owns the transaction: nothing is committed here, so "one database transaction per
file" holds, and a crash half-way leaves nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table, bindparam, event, insert, text, update

Processor = Callable[[Any], Any] | None


class Row:
    """The values of one row to insert, and its primary key once inserted."""

    __slots__ = ("id", "values")

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values
        self.id: int | None = None

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.values[key] = value


_PLACEHOLDER = {"qmark": "?", "format": "%s", "pyformat": "%s"}
_STATEMENTS: dict[tuple[str, str, tuple[str, ...]], tuple[str, list[Processor]]] = {}


def _statement(conn: Connection, table: Table, columns: tuple[str, ...]) -> tuple[str, list[Processor]] | None:
    dialect = conn.dialect
    key = (dialect.name, table.name, columns)
    found = _STATEMENTS.get(key)
    if found is not None:
        return found
    mark = _PLACEHOLDER.get(str(dialect.paramstyle))
    if mark is None:
        return None
    prep = dialect.identifier_preparer
    sql = (f"INSERT INTO {prep.format_table(table)} ({', '.join(prep.quote(c) for c in columns)}) "
           f"VALUES ({', '.join(mark for _ in columns)})")
    procs: list[Processor] = [table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
    _STATEMENTS[key] = (sql, procs)
    return sql, procs


def _resolve(value: Any, column: str) -> Any:
    if isinstance(value, Row):
        if value.id is None:
            raise RuntimeError(f"{column}: the referenced row is not written yet")
        return value.id
    return value


def allocate_ids(conn: Connection, table: Table, n: int) -> list[int]:
    """``n`` new primary keys for ``table``, unique even with other writers (see the module docstring)."""
    if n <= 0:
        return []
    if conn.dialect.name == "postgresql":
        rows = conn.execute(text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
                            {"t": table.name, "n": n}).scalars().all()
        return [int(v) for v in rows]
    if conn.dialect.name == "sqlite":
        prep = conn.dialect.identifier_preparer
        name = prep.format_table(table)
        conn.exec_driver_sql(f"UPDATE {name} SET id = id WHERE 0")     # takes the write lock now
        top = conn.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {name}").scalar_one()
        return list(range(int(top) + 1, int(top) + 1 + n))
    raise NotImplementedError(conn.dialect.name)


def _fill_defaults(table: Table, rows: Sequence[Row]) -> None:
    """Give the rows the Python-side defaults of the columns they leave out (``default=utcnow`` ...),
    as an ORM or Core insert would; a callable default is called once for the whole batch."""
    given = rows[0].values
    missing: dict[str, Any] = {}
    for col in table.c:
        if col.name in given or col.primary_key or col.default is None:
            continue
        default: Any = col.default
        if getattr(default, "is_sequence", False):
            continue
        if default.is_callable:
            missing[col.name] = default.arg(None)
        elif default.is_scalar:
            missing[col.name] = default.arg
    if missing:
        for row in rows:
            row.values.update(missing)


def insert_rows(conn: Connection, table: Table, rows: Sequence[Row], *, returning_ids: bool = False) -> None:
    """Insert ``rows`` (all with the same keys) into ``table``; with ``returning_ids`` each row gets its id."""
    if not rows:
        return
    if returning_ids and conn.dialect.name in ("postgresql", "sqlite"):
        for row, new_id in zip(rows, allocate_ids(conn, table, len(rows)), strict=True):
            row.id = new_id
            row.values["id"] = new_id
        returning_ids = False
    _fill_defaults(table, rows)
    columns = tuple(rows[0].values)
    if returning_ids or _statement(conn, table, columns) is None:
        _insert_core(conn, table, rows, returning_ids)
        return
    take = itemgetter(*columns)
    if len(columns) == 1:
        tuples: list[Any] = [(take(row.values),) for row in rows]
    else:
        tuples = [take(row.values) for row in rows]
    refs = [i for i, c in enumerate(columns) if table.c[c].foreign_keys]
    if refs:    # references to rows written before become their ids (column by column: C loops)
        cols: list[Any] = list(zip(*tuples, strict=True))
        for i in refs:
            cols[i] = [_resolve(x, columns[i]) if isinstance(x, Row) else x for x in cols[i]]
        tuples = list(zip(*cols, strict=True))
    insert_tuples(conn, table, columns, tuples)


def insert_tuples(conn: Connection, table: Table, columns: tuple[str, ...], tuples: Sequence[Sequence[Any]]) -> None:
    """Insert rows given as tuples of plain values in ``columns`` order (every column the table fills
    on the Python side included): the path of :func:`insert_rows` without a dict per row."""
    if not tuples:
        return
    if conn.dialect.name == "postgresql" and len(tuples) >= COPY_MIN_ROWS:
        _copy_tuples(conn, table, columns, tuples)
        return
    stmt = _statement(conn, table, columns)
    if stmt is None:
        conn.execute(insert(table), [dict(zip(columns, t, strict=True)) for t in tuples])
        return
    sql, procs = stmt
    # only the columns whose type converts values (dates, money ... on SQLite) go through Python,
    # column by column (a transpose and back is C code); the same value in row after row (a batch's
    # timestamp, file hash, payer) is converted once
    special = [(i, p) for i, p in enumerate(procs) if p is not None]
    params: Sequence[Sequence[Any]] = tuples
    if special:
        cols: list[Any] = list(zip(*tuples, strict=True))
        for i, p in special:
            assert p is not None
            out: list[Any] = []
            prev_in: Any = _NOTHING
            prev_out: Any = None
            for x in cols[i]:
                if x is not prev_in:
                    prev_in, prev_out = x, p(x)
                out.append(prev_out)
            cols[i] = out
        params = list(zip(*cols, strict=True))
    conn.exec_driver_sql(sql, params)  # type: ignore[arg-type]


_NOTHING = object()


#: From this many rows on, PostgreSQL gets them by ``COPY ... FROM STDIN`` (psycopg), not executemany.
COPY_MIN_ROWS = 50


def _copy_tuples(conn: Connection, table: Table, columns: tuple[str, ...], tuples: Sequence[Sequence[Any]]) -> None:
    """``COPY table (columns) FROM STDIN`` on the transaction's own psycopg connection: the fastest way
    PostgreSQL takes many rows; psycopg adapts each value (Decimal, date, datetime, bool, None)."""
    prep = conn.dialect.identifier_preparer
    sql = f"COPY {prep.format_table(table)} ({', '.join(prep.quote(c) for c in columns)}) FROM STDIN"
    raw: Any = conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(sql) as copy:
        write = copy.write_row
        for vals in tuples:
            write(vals)


def _insert_core(conn: Connection, table: Table, rows: Sequence[Row], returning_ids: bool) -> None:
    params = [{k: _resolve(v, k) for k, v in row.values.items()} for row in rows]
    if not returning_ids:
        conn.execute(insert(table), params)
        return
    stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    ids = conn.execute(stmt, params).scalars().all()
    for row, new_id in zip(rows, ids, strict=True):
        row.id = int(new_id)


def assign_ids(conn: Connection, table: Table, rows: Sequence[Row]) -> None:
    """Give ``rows`` their primary keys now (:func:`allocate_ids`); :func:`insert_rows` then writes them."""
    for row, new_id in zip(rows, allocate_ids(conn, table, len(rows)), strict=True):
        row.id = new_id
        row.values["id"] = new_id


class WritePipeline:
    """A batch's writes run in a thread of their own while the caller reads the next batch (PostgreSQL:
    the database works on one batch while Python builds the next, instead of one after the other).

    Order is kept: any statement the caller runs on the connection (``before_execute``) first
    waits for the batch in flight, so nothing the caller reads or writes overtakes it; one batch is in
    flight at a time.  The batch's work must use only the connection (Core statements, COPY), never
    the ORM session, and rows that the caller needs ids of get them before (:func:`assign_ids`).  Call
    :meth:`close` before the transaction ends (commit and rollback run no statement to wait on)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        event.listen(conn, "before_execute", self._before)

    def _before(self, *_args: Any) -> None:
        if self._thread is not None and threading.current_thread() is not self._thread:
            self.wait()

    def submit(self, work: Callable[[], None]) -> None:
        """Run ``work`` in a thread once the batch before it is written."""
        self.wait()
        thread = threading.Thread(target=self._run, args=(work,), name="dermedi-bulk-write", daemon=True)
        self._thread = thread
        thread.start()

    def _run(self, work: Callable[[], None]) -> None:
        try:
            work()
        except BaseException as exc:
            self._error = exc

    def wait(self) -> None:
        """Wait for the batch in flight; raises what it raised."""
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
        error, self._error = self._error, None
        if error is not None:
            raise error

    def close(self, *, failed: bool = False) -> None:
        """Wait for the batch in flight (its error is raised unless the caller is failing already)."""
        try:
            self.wait()
        except BaseException:
            if not failed:
                raise
        finally:
            event.remove(self.conn, "before_execute", self._before)


def update_by_id(conn: Connection, table: Table, column: str, pairs: Sequence[tuple[int, Any]]) -> None:
    """``UPDATE table SET column = value WHERE id = id`` for every (id, value), one executemany."""
    if not pairs:
        return
    stmt = update(table).where(table.c.id == bindparam("_id")).values({column: bindparam("_value")})
    conn.execute(stmt, [{"_id": i, "_value": v} for i, v in pairs])


__all__ = ["Row", "WritePipeline", "allocate_ids", "assign_ids", "insert_rows", "insert_tuples", "update_by_id"]
