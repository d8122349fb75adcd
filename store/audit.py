"""The HIPAA audit trail (45 CFR 164.312(b)): who looked at or changed what, when, from where.

``audit_events`` is append-only: this module has a function that inserts a row
(:func:`record`) and functions that read rows; nothing in dermedi updates or deletes one
(``tests/test_web.py`` checks the source for it).  Every view of an item, claim or remit and
every change (status, note, assignment, appeal, corrected claim, release, login, failed login,
account change) calls :func:`record` in the same transaction as the change itself.

Rows carry ids, never patient names, member ids or birth dates.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, DateTime, Integer, String, Table, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from store import Base

CHANNELS: tuple[str, ...] = ("web", "api", "cli")


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    user: Mapped[str] = mapped_column(String(80), index=True)
    channel: Mapped[str] = mapped_column(String(8))
    client: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(40))
    object_type: Mapped[str] = mapped_column(String(20), default="")
    object_id: Mapped[str] = mapped_column(String(64), default="", index=True)
    detail: Mapped[str] = mapped_column(Text, default="")


_INSERT = cast(Table, AuditEvent.__table__).insert()   # Core: no ORM bulk-insert machinery per row
_PENDING = "dermedi.audit.pending"


def _row(*, user: str, action: str, channel: str, client: str, object_type: str, object_id: str | int | None,
         detail: str, at: datetime | None) -> dict[str, Any]:
    if channel not in CHANNELS:
        raise ValueError(f"unknown audit channel {channel!r}")
    return {"at": at or datetime.now(UTC), "user": user[:80], "channel": channel, "client": client[:64],
            "action": action[:40], "object_type": object_type[:20],
            "object_id": "" if object_id is None else str(object_id)[:64], "detail": detail}


def record(session: Session, *, user: str, action: str, channel: str = "web", client: str = "",
           object_type: str = "", object_id: str | int | None = None, detail: str = "",
           at: datetime | None = None) -> None:
    """Append one audit row (in the caller's transaction).

    In a session made by :func:`deferred` the row is written when the transaction commits (in
    the same transaction, its last statement): a request that only reads then holds a write
    lock for the length of that one insert, not while its page is rendered.
    """
    row = _row(user=user, action=action, channel=channel, client=client, object_type=object_type,
               object_id=object_id, detail=detail, at=at)
    pending: list[dict[str, Any]] | None = session.info.get(_PENDING)
    if pending is not None:
        pending.append(row)
    else:
        session.execute(_INSERT, [row])


def record_in(conn: Connection, *, user: str, action: str, channel: str = "web", client: str = "",
              object_type: str = "", object_id: str | int | None = None, detail: str = "",
              at: datetime | None = None) -> None:
    """:func:`record` on a Core connection (in its transaction)."""
    conn.execute(_INSERT, [_row(user=user, action=action, channel=channel, client=client, object_type=object_type,
                                object_id=object_id, detail=detail, at=at)])


def deferred(session: Session) -> Session:
    """Let ``session`` keep its audit rows until it commits (see :func:`record`); the session
    must come from a ``sessionmaker`` set up by :func:`write_deferred_on_commit`."""
    session.info[_PENDING] = []
    return session


def write_deferred_on_commit(maker: Any) -> None:
    """Install, on a ``sessionmaker``, the hook that writes a session's kept audit rows when it
    commits, before anything else is flushed (rolled back with it, as any row of the transaction)."""
    from sqlalchemy import event

    @event.listens_for(maker, "before_commit")
    def _write(session: Session) -> None:
        pending: list[dict[str, Any]] | None = session.info.get(_PENDING)
        if pending:
            rows = list(pending)
            pending.clear()
            session.execute(_INSERT, rows)

    @event.listens_for(maker, "after_rollback")
    def _drop(session: Session) -> None:
        pending: list[dict[str, Any]] | None = session.info.get(_PENDING)
        if pending:
            pending.clear()


def list_events(session: Session, *, user: str | None = None, since: datetime | None = None,
                object_id: str | None = None, action: str | None = None,
                limit: int | None = None) -> list[AuditEvent]:
    q = select(AuditEvent)
    if user:
        q = q.where(AuditEvent.user == user)
    if since is not None:
        q = q.where(AuditEvent.at >= since)
    if object_id:
        q = q.where(AuditEvent.object_id == object_id)
    if action:
        q = q.where(AuditEvent.action == action)
    q = q.order_by(AuditEvent.id)
    if limit:
        q = q.limit(limit)
    return list(session.scalars(q))


FIELDS: tuple[str, ...] = ("id", "at", "user", "channel", "client", "action", "object_type", "object_id", "detail")


def csv_text(events: Sequence[AuditEvent]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(FIELDS)
    for e in events:
        w.writerow([e.id, e.at.isoformat(), e.user, e.channel, e.client, e.action, e.object_type, e.object_id,
                    e.detail])
    return buf.getvalue()


__all__ = ["CHANNELS", "FIELDS", "AuditEvent", "csv_text", "deferred", "list_events", "record", "record_in",
           "write_deferred_on_commit"]
