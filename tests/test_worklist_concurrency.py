"""``worklist next`` under contention: every item handed out exactly once.

PostgreSQL: 16 workers (threads, each with its own engine and connection) take 10,000
items (``SELECT ... FOR UPDATE SKIP LOCKED``).  SQLite: 8 workers take 600 items
(conditional ``UPDATE ... WHERE owner IS NULL ... RETURNING``).  The figure (items, workers,
double hand-outs, missed, seconds) is printed; time is not asserted.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

from dbfixtures import db_url  # noqa: F401
from sqlalchemy import func, insert, select

from remits.worklist import next_item
from store import make_engine, open_database
from store.remits import WorkItem, WorkItemEvent


def _seed(url: str, n: int) -> None:
    engine = open_database(url)
    now = datetime.now(UTC)
    rows = [{
        "source": "835", "claim_id": f"C{i:06d}", "line_number": 1, "line_control": "", "procedure": "11102",
        "modifiers": "", "group_code": "CO", "carc": "97", "carc_sent": "97", "rarcs": "M15", "other_codes": "",
        "category": "bundling", "action": "review", "route": "bundling", "fix": "", "amount": Decimal("100.00"),
        "payer_id": "01112", "payer_name": "MEDICARE", "payer_type": "medicare", "payer_claim_number": f"P{i}",
        "priority": Decimal(i % 997), "status": "new", "owner": None, "created_at": now, "updated_at": now,
    } for i in range(n)]
    with engine.begin() as conn:
        for start in range(0, n, 2000):
            conn.execute(insert(WorkItem), rows[start:start + 2000])
    engine.dispose()


def _run(url: str, items: int, workers: int) -> None:
    _seed(url, items)
    got: list[list[int]] = [[] for _ in range(workers)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(workers)

    def work(k: int) -> None:
        engine = make_engine(url)
        try:
            barrier.wait()
            while True:
                item = next_item(engine, f"user{k:02d}")
                if item is None:
                    return
                got[k].append(item)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(workers)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    assert not errors, errors[:3]
    handed = Counter(i for g in got for i in g)
    doubles = sum(c - 1 for c in handed.values() if c > 1)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            all_ids = set(conn.execute(select(WorkItem.id)).scalars())
            owners = dict(conn.execute(select(WorkItem.id, WorkItem.owner)).all())
            unowned = conn.execute(select(func.count()).select_from(WorkItem).where(
                WorkItem.owner.is_(None))).scalar_one()
            events = conn.execute(select(func.count()).select_from(WorkItemEvent)).scalar_one()
    finally:
        engine.dispose()
    missed = len(all_ids - set(handed))
    print(f"\n[worklist next] dialect={url.split(':')[0]} items={items} workers={workers} "
          f"handed_out={sum(handed.values())} double_handouts={doubles} missed={missed} "
          f"seconds={elapsed:.2f} per_worker={[len(g) for g in got]}")
    assert doubles == 0
    assert missed == 0 and unowned == 0
    assert sum(handed.values()) == items == events
    for k, g in enumerate(got):
        assert all(owners[i] == f"user{k:02d}" for i in g)


def test_next_concurrent(db_url: str) -> None:  # noqa: F811
    if db_url.startswith("postgresql"):
        _run(db_url, 10_000, 16)
    else:
        _run(db_url, 600, 8)
