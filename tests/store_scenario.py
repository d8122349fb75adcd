"""A fixed store scenario and a canonical dump of what it leaves in the database.

Used by ``tests/test_store_bulk.py``: the bulk write paths must leave exactly the rows the
row-by-row (ORM, one flush per row) paths wrote.  ``tests/data/store_golden.json`` was made by
running :func:`run_scenario` on the last commit with the row-by-row paths (9e80100) and
:func:`dump` (``python tests/store_scenario.py OUT.json`` in that checkout); ids are compared
as they come in a fresh database, timestamps are left out.
``tests/data/previous_schema_rows.json`` is every row of a database of the previous schema, made
in that checkout with ``python tests/store_scenario.py OUT.json --previous-schema-rows``
(:func:`previous_schema_scenario`), for the upgrade test.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, select

REPO = Path(__file__).resolve().parents[1]
TODAY = date(2026, 11, 25)
SENT_AT = "2026-11-01T12:00:00+00:00"
TIME_COLUMNS = {"created_at", "updated_at", "at", "received_at", "submitted_at", "scrubbed_at", "released_at",
                "sent_at", "acked_at", "processed_at", "started_at", "finished_at"}
TABLES = ("submitted_claims", "scrub_runs", "scrub_findings", "remit_files", "remit_payments", "remit_claims",
          "remit_lines", "remit_adjustments", "remit_remarks", "remit_plb", "work_items", "work_item_events",
          "ch_submissions", "ch_submission_claims", "ch_control_sequences")
#: The scrubber's rules when the golden rows were made: the store is compared, not later rules' findings.
GOLDEN_RULES = frozenset(
    "BX001 BX002 BX003 DES001 DES002 DES003 DES004 DES005 DES006 DES007 DRG001 DRG002 DRG003 DRG004 DRG005 "
    "DRG006 DRG007 DRG008 DRG009 DRG010 DRG011 EM001 EM002 EM003 EM004 EM005 EXC001 EXC002 EXC003 MOD001 MOD002 "
    "MOD003 MOD004 MOD005 MOD006 MOD007 MOH001 MOH002 MOH003 MOH004 MOH005 NCCI001 REP001 REP002 UNT001 UNT002 "
    "VAL001 VAL002 VAL003 VAL004 VAL010 VAL011 VAL012 VAL020 VAL030 VAL040 VAL041 VAL050 VAL051".split())
#: Columns that hold a local path, a temp name or a time stamp in a name (they differ between runs).
LOCAL_COLUMNS = {"local_path", "temp_name", "content", "remote_dir", "remote_name"}


def remit_inputs() -> list[Path]:
    d835 = REPO / "tests" / "data" / "835"
    return [*sorted((REPO / "samples").glob("remit-*.835")),
            REPO / "tests" / "data" / "remits" / "derm_denials.835",
            REPO / "tests" / "data" / "remits" / "derm_reversal.835",
            d835 / "derm_paid.835", d835 / "derm_reversal.835", d835 / "derm_unbal.835",
            *sorted(d835.glob("lfh__*.835")), d835 / "keiron__emedny_sample.835",
            d835 / "keiron__united_healthcare_legacy_sample.835"]


def synthetic_835(n: int) -> str:
    sys.path.insert(0, str(REPO / "bench"))
    from bench_remits import synthetic_835 as make

    return make(n)


def run_scenario(engine: Engine, tmp: Path) -> None:
    """Record the sample 837Ps as sent (with the scrubber's findings), ingest every 835 (twice), and
    re-prioritize the open items as the daily job does."""
    from datetime import datetime

    from remits.ingest import ingest_835_file
    from remits.worklist import record_scrub_results, record_submitted_file, refresh_priorities
    from scrubber.engine import Scrubber, all_rules
    from store import session_scope

    at = datetime.fromisoformat(SENT_AT)
    from edi.x837 import Parser837

    scrubber = Scrubber(today=TODAY, rules=[r for r in all_rules() if r.id in GOLDEN_RULES])
    _send_samples(engine, tmp, scrubber)
    for p in sorted((REPO / "samples").glob("*.837")):
        with session_scope(engine) as s:
            record_submitted_file(s, p, submitted_at=at)
            record_scrub_results(s, [scrubber.scrub(c) for c in Parser837(p, p.name).claims()],
                                 file_sha256="0" * 64, scrubbed_at=at)
    big = tmp / "big.835"
    big.write_text(synthetic_835(300))
    for p in [*remit_inputs(), big]:
        ingest_835_file(engine, p, today=TODAY)
        ingest_835_file(engine, p, today=TODAY)       # the second time: a duplicate
    with session_scope(engine) as s:
        refresh_priorities(s, TODAY)                  # the daily re-prioritization


def _send_samples(engine: Engine, tmp: Path, scrubber: Any) -> None:
    """Send the sample batches to a folder clearinghouse (ledger, submitted claims, scrub runs)."""
    from clearinghouse import scrub
    from clearinghouse.submit import send_files
    from config.settings import ClearinghouseProfile, DatabaseSettings, Settings

    (tmp / "up").mkdir()
    (tmp / "resp").mkdir()
    profile = ClearinghouseProfile(name="dirch", transport="directory", upload_dir=str(tmp / "up"),
                                   response_dir=str(tmp / "resp"), isa_receiver_id="DIRCH", retries=1,
                                   backoff_seconds=0, max_file_size=40_000)
    settings = Settings(database=DatabaseSettings(url=str(engine.url)), data_dir=str(tmp / "data"),
                        clearinghouses=[profile])
    real = scrub.make_scrubber
    scrub.make_scrubber = lambda _settings: scrubber       # type: ignore[assignment]  # scrub as of TODAY
    try:
        send_files(engine, settings, profile, sorted((REPO / "samples").glob("*.837")), sleep=lambda _s: None)
        send_files(engine, settings, profile, sorted((REPO / "samples").glob("*.837")), sleep=lambda _s: None)
    finally:
        scrub.make_scrubber = real                         # type: ignore[assignment]


def _plain(v: Any) -> Any:
    if isinstance(v, Decimal):
        return format(v.normalize(), "f")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, bytes):
        return f"<{len(v)} bytes>"
    return v


def dump(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    md = MetaData()
    md.reflect(engine)
    out: dict[str, list[dict[str, Any]]] = {}
    # ids as ranks (1, 2, 3 ... in id order), in their own table and wherever they are pointed at:
    # PostgreSQL's sequences skip the values of rolled-back work, which says nothing about the rows
    rank: dict[str, dict[Any, int]] = {}
    with engine.connect() as conn:
        for name, t in md.tables.items():
            if "id" in t.c:
                rank[name] = {v: n for n, v in enumerate(conn.execute(select(t.c.id).order_by(t.c.id)).scalars(), 1)}
        for name in TABLES:
            if name not in md.tables:
                continue
            t = md.tables[name]
            cols = [c for c in t.c if c.name not in TIME_COLUMNS and c.name not in LOCAL_COLUMNS]
            refs = {c.name: next(iter(c.foreign_keys)).column.table.name for c in cols if c.foreign_keys}
            if "id" in t.c:
                refs["id"] = name
            rows = [{c.name: (rank[refs[c.name]].get(v) if c.name in refs and v is not None else _plain(v))
                     for c, v in zip(cols, r, strict=True)}
                    for r in conn.execute(select(*cols).order_by(next(iter(t.primary_key.columns))))]
            if name == "work_item_events":     # the order of events of different items is not kept
                for r in rows:
                    r.pop("id")
                rows.sort(key=lambda r: json.dumps(r, sort_keys=True, default=str))
            out[name] = rows
    from remits.summary import denial_summary
    from store import session_scope

    with session_scope(engine) as s:       # the denial summary of it all, amounts as numbers
        out["denial_summary"] = [json.loads(json.dumps(denial_summary(s)), parse_float=Decimal,
                                            object_hook=_numbers)]
    return out


def _numbers(obj: dict[str, Any]) -> dict[str, Any]:
    for k, v in obj.items():
        if isinstance(v, str):
            try:
                obj[k] = format(Decimal(v).normalize(), "f")
            except ArithmeticError:
                pass
    return obj


# --- a database of the previous schema, as rows (tests/data/previous_schema_rows.json) ----------


def export_rows(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table (alembic's own excepted), all columns, as JSON-able values."""
    import base64
    from datetime import datetime

    md = MetaData()
    md.reflect(engine)
    out: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as conn:
        for name, t in sorted(md.tables.items()):
            if name == "alembic_version":
                continue
            rows = []
            for r in conn.execute(select(t)).mappings():
                row = {}
                for k, v in r.items():
                    if isinstance(v, bytes):
                        v = {"b64": base64.b64encode(v).decode()}
                    elif isinstance(v, datetime | date | Decimal):
                        v = str(v) if isinstance(v, Decimal) else v.isoformat()
                    row[k] = v
                rows.append(row)
            out[name] = rows
    return out


def load_rows(engine: Engine, data: dict[str, list[dict[str, Any]]]) -> None:
    """Insert exported rows into the (same-schema) tables of ``engine``, parents first."""
    import base64
    from datetime import datetime

    from sqlalchemy import Boolean, Date, DateTime, LargeBinary, Numeric, insert, text, update

    md = MetaData()
    md.reflect(engine)
    with engine.begin() as conn:
        for t in md.sorted_tables:
            rows = data.get(t.name) or []
            conv = {}
            for c in t.c:
                ty = c.type
                if isinstance(ty, DateTime):
                    conv[c.name] = datetime.fromisoformat
                elif isinstance(ty, Date):
                    conv[c.name] = date.fromisoformat
                elif isinstance(ty, Numeric):
                    conv[c.name] = Decimal
                elif isinstance(ty, LargeBinary):
                    conv[c.name] = lambda v: base64.b64decode(v["b64"])
                elif isinstance(ty, Boolean):
                    conv[c.name] = bool
            params = [{k: (conv[k](v) if v is not None and k in conv else v) for k, v in r.items()} for r in rows]
            # a column pointing into its own table (remit_claims.paired_with_id) is set once every row is in
            own = [fk.parent.name for fk in t.foreign_keys if fk.column.table.name == t.name]
            later = [(p["id"], c, p[c]) for p in params for c in own if p.get(c) is not None]
            if params:
                conn.execute(insert(t), [{**p, **dict.fromkeys(own)} for p in params])
            for row_id, col, value in later:
                conn.execute(update(t).where(t.c.id == row_id).values({col: value}))
            if conn.dialect.name == "postgresql" and "id" in t.c and params:
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{t.name}', 'id'), "
                                  f"(SELECT max(id) FROM {t.name}))"))


def previous_schema_scenario(engine: Engine) -> None:
    """What the previous schema's database holds in the upgrade test: sample claims sent, sample 835s."""
    from datetime import datetime

    from remits.ingest import ingest_835_file
    from remits.worklist import record_submitted_file
    from store import session_scope

    for p in sorted((REPO / "samples").glob("*.837")):
        with session_scope(engine) as s:
            record_submitted_file(s, p, submitted_at=datetime.fromisoformat(SENT_AT))
    for p in sorted((REPO / "samples").glob("remit-*.835")):
        ingest_835_file(engine, p, today=TODAY)


if __name__ == "__main__":
    import tempfile

    from store import make_engine, migrate

    with tempfile.TemporaryDirectory() as tmpdir:
        url = f"sqlite:///{tmpdir}/golden.db"
        migrate(url)
        eng = make_engine(url)
        if len(sys.argv) > 2 and sys.argv[2] == "--previous-schema-rows":
            previous_schema_scenario(eng)
            Path(sys.argv[1]).write_text(json.dumps(export_rows(eng), sort_keys=True) + "\n")
        else:
            run_scenario(eng, Path(tmpdir))
            Path(sys.argv[1]).write_text(json.dumps(dump(eng), indent=1, sort_keys=True, default=str) + "\n")
