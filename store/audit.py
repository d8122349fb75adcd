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

from sqlalchemy import DateTime, Integer, String, Text, insert, select
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


def record(session: Session, *, user: str, action: str, channel: str = "web", client: str = "",
           object_type: str = "", object_id: str | int | None = None, detail: str = "",
           at: datetime | None = None) -> None:
    """Append one audit row (in the caller's transaction)."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown audit channel {channel!r}")
    session.execute(insert(AuditEvent).values(
        at=at or datetime.now(UTC), user=user[:80], channel=channel, client=client[:64], action=action[:40],
        object_type=object_type[:20], object_id="" if object_id is None else str(object_id)[:64],
        detail=detail))


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


__all__ = ["CHANNELS", "FIELDS", "AuditEvent", "csv_text", "list_events", "record"]
