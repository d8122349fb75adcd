"""Scheduler instances (high availability on PostgreSQL): who runs, who stands by.

The election itself is a PostgreSQL advisory lock (see :mod:`clearinghouse.ha`); this table only
records each ``dermedi scheduler run`` process and its heartbeat, for ``dermedi scheduler status``.
No PHI: host name, process id, role and times.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from store import Base
from store.ledger import utcnow

INSTANCE_ROLES = ("standby", "active", "stopped", "lost")


class SchedulerInstance(Base):
    """One ``dermedi scheduler run`` process."""

    __tablename__ = "ch_scheduler_instances"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16), default="standby")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    active_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
