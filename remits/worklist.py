"""The denial worklist: items, their legal status transitions, hand-out, history, links.

Statuses and legal transitions (users)::

    new         -> in_progress
    in_progress -> appealed | corrected | resolved | written_off | new (put back)
    appealed    -> resolved | written_off | in_progress (appeal lost, rework)
    corrected   -> resolved | written_off | in_progress
    resolved, written_off: closed

The system closes an open item itself (``resolved``, event ``auto_resolved``) when a later
remit pays the line (see :mod:`remits.ingest`).  Every change writes a
``work_item_events`` row (who, when, from, to, note): the item's history.

Hand-out (:func:`next_item`) is atomic: on PostgreSQL the candidate row is locked with
``SELECT ... FOR UPDATE SKIP LOCKED`` (concurrent callers skip it and take the next one);
on SQLite a single conditional ``UPDATE ... WHERE id = (SELECT ...) AND owner IS NULL``
takes the database write lock at once and the rowcount says whether the item was won.

Links: an item points at the submitted claim (``submitted_claims``, filled by
:func:`record_submitted_claims`, which the send/scrub commands call) and, by claim id, at the
scrubber findings recorded by :func:`record_scrub_results`.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, or_, select, text
from sqlalchemy.orm import Session

from remits.priority import blended_recoverability, priority
from store.bulk import update_by_id
from store.meta import get_meta, set_meta
from store.records import latest_submitted_id, link_submitted, record_scrub_results, record_submitted_claims
from store.remits import (
    ScrubFindingRow,
    ScrubRun,
    WorkItem,
    WorkItemEvent,
)

STATUSES: tuple[str, ...] = ("new", "in_progress", "appealed", "corrected", "resolved", "written_off")
OPEN_STATUSES: tuple[str, ...] = ("new", "in_progress", "appealed", "corrected")
CLOSED_STATUSES: tuple[str, ...] = ("resolved", "written_off")
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"in_progress"}),
    "in_progress": frozenset({"appealed", "corrected", "resolved", "written_off", "new"}),
    "appealed": frozenset({"resolved", "written_off", "in_progress"}),
    "corrected": frozenset({"resolved", "written_off", "in_progress"}),
    "resolved": frozenset(),
    "written_off": frozenset(),
}
SYSTEM_USER = "dermedi"


class WorklistError(Exception):
    """An illegal status change, an unknown item, a missing original claim ... (one line)."""


def now() -> datetime:
    return datetime.now(UTC)


def add_event(session: Session, item: WorkItem, event: str, *, user: str = SYSTEM_USER,
              from_status: str | None = None, to_status: str | None = None, note: str | None = None,
              at: datetime | None = None) -> None:
    session.add(WorkItemEvent(item_id=item.id, at=at or now(), actor=user, event=event,
                              from_status=from_status, to_status=to_status, note=note))


# ------------------------------------------------------------------------------------------
# Status changes
# ------------------------------------------------------------------------------------------


def check_transition(current: str, new: str) -> None:
    if new not in STATUSES:
        raise WorklistError(f"unknown status {new!r} (one of {', '.join(STATUSES)})")
    if new not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none: the item is closed"
        raise WorklistError(f"cannot go from {current} to {new} (allowed: {allowed})")


def update_item(session: Session, item_id: int, *, status: str | None = None, note: str | None = None,
                user: str = SYSTEM_USER, owner: str | None = None) -> WorkItem:
    """Change status (legal transitions only), add a note, or re-assign; every change is an event."""
    item = session.get(WorkItem, item_id, with_for_update=session.get_bind().dialect.name == "postgresql")
    if item is None:
        raise WorklistError(f"no worklist item {item_id}")
    at = now()
    if status is not None and status != item.status:
        check_transition(item.status, status)
        old = item.status
        item.status = status
        if status == "new":
            item.owner = None
        elif status == "in_progress" and item.owner is None:
            item.owner = user if user != SYSTEM_USER else None
        item.updated_at = at
        add_event(session, item, "status", user=user, from_status=old, to_status=status, note=note, at=at)
    elif note:
        item.updated_at = at
        add_event(session, item, "note", user=user, note=note, at=at)
    if owner is not None and owner != item.owner:
        item.owner = owner or None
        item.updated_at = at
        add_event(session, item, "assigned", user=user, note=f"owner {owner or '(none)'}", at=at)
    return item


def auto_resolve(session: Session, item: WorkItem, *, remit_claim_id: int | None, note: str) -> None:
    old = item.status
    item.status = "resolved"
    item.resolved_by_remit_claim_id = remit_claim_id
    item.updated_at = now()
    add_event(session, item, "auto_resolved", from_status=old, to_status="resolved", note=note)


# ------------------------------------------------------------------------------------------
# Hand-out
# ------------------------------------------------------------------------------------------

_SQLITE_NEXT = text(
    "UPDATE work_items SET owner = :user, status = 'in_progress', updated_at = :at "
    "WHERE id = (SELECT id FROM work_items WHERE owner IS NULL AND status = 'new' "
    "ORDER BY priority DESC, id ASC LIMIT 1) AND owner IS NULL AND status = 'new' RETURNING id")

# One round trip on PostgreSQL: lock the best unowned row (skipping rows other callers hold),
# take it, and write the history event.
_PG_NEXT = text(
    "WITH candidate AS (SELECT id FROM work_items WHERE owner IS NULL AND status = 'new' "
    "ORDER BY priority DESC, id ASC LIMIT 1 FOR UPDATE SKIP LOCKED), "
    "taken AS (UPDATE work_items w SET owner = :user, status = 'in_progress', updated_at = :at "
    "FROM candidate WHERE w.id = candidate.id RETURNING w.id) "
    "INSERT INTO work_item_events (item_id, at, actor, event, from_status, to_status, note) "
    "SELECT id, :at, :user, 'assigned', 'new', 'in_progress', :note FROM taken RETURNING item_id")


def next_item(engine: Engine, user: str, *, max_attempts: int = 1000,
              also: Callable[[Connection, int], None] | None = None) -> int | None:
    """Hand the highest-priority unowned new item to ``user``; its id, or None when the queue is empty.

    One short transaction per call, on its own connection from ``engine``; ``also(conn, item_id)``
    is called in that transaction once the item is taken (e.g. to write its audit row).
    """
    if not user:
        raise WorklistError("a user name is needed to take an item")
    note = f"taken by {user}"
    for attempt in range(max_attempts):
        if attempt:
            time.sleep(min(0.001 * attempt, 0.05))   # every candidate was being taken: back off a little
        at = now()
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                row = conn.execute(_PG_NEXT, {"user": user, "at": at, "note": note}).first()
                if row is not None:
                    if also is not None:
                        also(conn, int(row[0]))
                    return int(row[0])
                # nothing unlocked: empty queue, or every candidate is being taken right now
                left = conn.execute(select(func.count()).select_from(WorkItem).where(
                    WorkItem.owner.is_(None), WorkItem.status == "new")).scalar_one()
                if left == 0:
                    return None
                continue
            got = conn.execute(_SQLITE_NEXT, {"user": user, "at": at}).first()
            if got is None:
                left = conn.execute(select(func.count()).select_from(WorkItem).where(
                    WorkItem.owner.is_(None), WorkItem.status == "new")).scalar_one()
                if left == 0:
                    return None
                continue  # lost a race; try the next one
            item_id = int(got[0])
            conn.execute(insert(WorkItemEvent).values(
                item_id=item_id, at=at, actor=user, event="assigned", from_status="new", to_status="in_progress",
                note=note))
            if also is not None:
                also(conn, item_id)
            return item_id
    return None


# ------------------------------------------------------------------------------------------
# Priorities
# ------------------------------------------------------------------------------------------


def category_history(session: Session) -> dict[tuple[str, str], tuple[int, int]]:
    """(payer_id, category) -> (resolved, written_off) counts of closed items."""
    rows = session.execute(
        select(WorkItem.payer_id, WorkItem.category, WorkItem.status, func.count())
        .where(WorkItem.status.in_(CLOSED_STATUSES))
        .group_by(WorkItem.payer_id, WorkItem.category, WorkItem.status)).all()
    out: dict[tuple[str, str], tuple[int, int]] = {}
    for payer, cat, status, n in rows:
        r, w = out.get((payer, cat), (0, 0))
        out[(payer, cat)] = (r + n, w) if status == "resolved" else (r, w + n)
    return out


def refresh_priorities(session: Session, today: date | None = None) -> int:
    """Recompute the priority of every open item (urgency follows the calendar); returns how many
    changed.  Read and written in chunks of 10,000 items by id, so memory stays flat."""
    today = today or date.today()
    session.flush()
    history = category_history(session)
    conn = session.connection()
    t = WorkItem.__table__
    changed = 0
    last = 0
    while True:
        rows = conn.execute(select(t.c.id, t.c.amount, t.c.category, t.c.deadline, t.c.payer_id, t.c.priority)
                            .where(t.c.status.in_(OPEN_STATUSES), t.c.id > last).order_by(t.c.id).limit(10_000)).all()
        if not rows:
            break
        last = rows[-1][0]
        updates = []
        for item_id, amount, category, deadline, payer_id, old in rows:
            r, w = history.get((payer_id, category), (0, 0))
            p = priority(amount, category, deadline, today, blended_recoverability(category, r, w))
            if p != old:
                updates.append((item_id, p))
        update_by_id(conn, t, "priority", updates)  # type: ignore[arg-type]
        changed += len(updates)
    session.expire_all()
    set_meta(session, REPRIORITIZED_KEY, today.isoformat())
    return changed


REPRIORITIZED_KEY = "worklist.reprioritized_on"


def refresh_priorities_if_due(session: Session, today: date | None = None) -> int:
    """:func:`refresh_priorities` once a day: the first ingest of the day re-ranks the whole queue (the
    deadlines came a day closer); later ones only rank the items they make.  Returns the items changed."""
    today = today or date.today()
    if get_meta(session, REPRIORITIZED_KEY) == today.isoformat():
        return 0
    return refresh_priorities(session, today)


# ------------------------------------------------------------------------------------------
# Listing and export
# ------------------------------------------------------------------------------------------

LIST_FIELDS: tuple[str, ...] = (
    "id", "claim_id", "line", "procedure", "modifiers", "service_date", "group", "carc", "rarcs", "category",
    "action", "fix", "amount", "payer", "payer_id", "payer_claim_number", "remit_date", "deadline", "priority",
    "status", "owner", "source", "scrub_flagged", "submitted",
)


def list_items(session: Session, *, category: str | None = None, status: str | None = None,
               owner: str | None = None, claim_id: str | None = None, limit: int | None = None,
               open_only: bool = False, after: int | None = None) -> list[WorkItem]:
    """Items highest priority first (``ORDER BY priority DESC, id``), filtered; ``after`` is the id
    of the last item of the previous page (keyset pagination: the page starts after it, whatever
    the number of items before, and an index answers it)."""
    q = select(WorkItem)
    if after is not None:
        last = session.execute(select(WorkItem.priority, WorkItem.id).where(WorkItem.id == after)).first()
        if last is None:
            raise WorklistError(f"no worklist item {after}")
        q = q.where(or_(WorkItem.priority < last[0], (WorkItem.priority == last[0]) & (WorkItem.id > last[1])))
    if category:
        q = q.where(WorkItem.category == category)
    if status:
        q = q.where(WorkItem.status == status)
    elif open_only:
        q = q.where(WorkItem.status.in_(OPEN_STATUSES))
    if owner:
        q = q.where(WorkItem.owner == owner)
    if claim_id:
        q = q.where(WorkItem.claim_id == claim_id)
    q = q.order_by(WorkItem.priority.desc(), WorkItem.id.asc())
    if limit:
        q = q.limit(limit)
    return list(session.scalars(q))


def scrub_flags(session: Session, claim_ids: Iterable[str]) -> dict[str, list[ScrubFindingRow]]:
    """Findings of the latest scrub run of each claim."""
    ids = sorted(set(claim_ids))
    out: dict[str, list[ScrubFindingRow]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        latest = (select(ScrubRun.claim_id, func.max(ScrubRun.id).label("run_id"))
                  .where(ScrubRun.claim_id.in_(chunk)).group_by(ScrubRun.claim_id).subquery())
        rows = session.scalars(select(ScrubFindingRow).join(latest, ScrubFindingRow.run_id == latest.c.run_id))
        for f in rows:
            out.setdefault(f.claim_id, []).append(f)
    return out


def item_dict(item: WorkItem, flags: Sequence[ScrubFindingRow] | None = None) -> dict[str, Any]:
    relevant = [f for f in (flags or []) if f.line is None or item.line_number is None
                or f.line == str(item.line_number)]
    return {
        "id": item.id,
        "claim_id": item.claim_id,
        "line": item.line_number,
        "procedure": item.procedure,
        "modifiers": [m for m in item.modifiers.split(",") if m],
        "service_date": item.service_date.isoformat() if item.service_date else None,
        "group": item.group_code,
        "carc": item.carc_sent or item.carc,
        "carc_routed": item.carc,
        "rarcs": [r for r in item.rarcs.split(",") if r],
        "category": item.category,
        "action": item.action,
        "fix": item.fix or None,
        "amount": str(item.amount),
        "payer": item.payer_name,
        "payer_id": item.payer_id,
        "payer_claim_number": item.payer_claim_number,
        "remit_date": item.remit_date.isoformat() if item.remit_date else None,
        "deadline": item.deadline.isoformat() if item.deadline else None,
        "priority": str(item.priority),
        "status": item.status,
        "owner": item.owner,
        "source": item.source,
        "scrub_flagged": sorted({f.rule for f in relevant}),
        "submitted": item.submitted_claim_id is not None,
    }


def items_as_dicts(session: Session, items: Sequence[WorkItem]) -> list[dict[str, Any]]:
    flags = scrub_flags(session, (i.claim_id for i in items))
    return [item_dict(i, flags.get(i.claim_id)) for i in items]


def csv_text(rows: Sequence[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(LIST_FIELDS), extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: (";".join(v) if isinstance(v, list) else ("" if v is None else v)) for k, v in r.items()})
    return buf.getvalue()


def item_history(session: Session, item_id: int) -> list[WorkItemEvent]:
    return list(session.scalars(select(WorkItemEvent).where(WorkItemEvent.item_id == item_id)
                                .order_by(WorkItemEvent.id)))


# ------------------------------------------------------------------------------------------
# Links from the send / scrub side
# ------------------------------------------------------------------------------------------


def record_submitted_file(session: Session, path: str | Path, *, file_sha256: str | None = None,
                          submitted_at: datetime | None = None) -> int:
    """:func:`record_submitted_claims` for every claim of an 837P file (streamed)."""
    import hashlib

    from edi.x837 import Parser837

    p = Path(path)
    if file_sha256 is None:
        h = hashlib.sha256()
        with p.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        file_sha256 = h.hexdigest()
    parser = Parser837(p, str(p))
    return record_submitted_claims(session, parser.claims(), file_sha256=file_sha256, delimiters=parser,
                                   submitted_at=submitted_at)


def find_open_items(session: Session, claim_id: str, payer_key: str | None = None) -> list[WorkItem]:
    """Open denial / rejection items of a claim (not the ``no_response`` follow-ups of
    :mod:`remits.aging`: an 835 closes those, it never adds a denial to them)."""
    q = select(WorkItem).where(WorkItem.claim_id == claim_id, WorkItem.status.in_(OPEN_STATUSES),
                               WorkItem.category != "no_response")
    if payer_key:
        q = q.where(or_(WorkItem.payer_id == payer_key, WorkItem.payer_id == ""))
    return list(session.scalars(q))


def export_csv(session: Session, path: str | Path, **filters: Any) -> int:
    """Write the (filtered) worklist as CSV, mode 0600.  Returns the row count."""
    from edi.files import private_open

    rows = items_as_dicts(session, list_items(session, **filters))
    with private_open(path, "wb") as fh:
        fh.write(csv_text(rows).encode("utf-8"))
    return len(rows)


__all__ = [
    "CLOSED_STATUSES",
    "OPEN_STATUSES",
    "STATUSES",
    "TRANSITIONS",
    "WorklistError",
    "add_event",
    "auto_resolve",
    "check_transition",
    "export_csv",
    "item_dict",
    "item_history",
    "items_as_dicts",
    "latest_submitted_id",
    "link_submitted",
    "list_items",
    "next_item",
    "record_scrub_results",
    "record_submitted_claims",
    "record_submitted_file",
    "refresh_priorities",
    "update_item",
]
