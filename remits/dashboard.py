"""Figures for the dashboard: denied amount and count by week, category, CARC, payer and
procedure; denial rate; recovered (later paid) amount; open vs overdue; the scrubber loop.

``owner`` narrows everything item-based to one person's items (a biller's own dashboard).
Aggregates are computed in SQL; only the scrubber loop reads the item rows it reports on.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from remits.worklist import OPEN_STATUSES, scrub_flags
from store.remits import RemitClaim, RemitLine, ScrubRun, WorkItem

ZERO = Decimal(0)


def _where(owner: str | None) -> list[ColumnElement[bool]]:
    c: list[ColumnElement[bool]] = [WorkItem.source == "835"]
    if owner is not None:
        c.append(WorkItem.owner == owner)
    return c


def _group(session: Session, col: Any, owner: str | None, top: int = 10) -> list[tuple[str, int, Decimal]]:
    rows = session.execute(select(col, func.count(WorkItem.id), func.coalesce(func.sum(WorkItem.amount), 0))
                           .where(*_where(owner)).group_by(col)).all()
    out = [(str(k) if k not in (None, "") else "(none)", int(n), Decimal(str(a))) for k, n, a in rows]
    out.sort(key=lambda r: (-r[2], r[0]))
    return out[:top]


def by_week(session: Session, owner: str | None, weeks: int = 12) -> list[tuple[str, int, Decimal]]:
    rows = session.execute(select(WorkItem.remit_date, func.count(WorkItem.id),
                                  func.coalesce(func.sum(WorkItem.amount), 0))
                           .where(*_where(owner), WorkItem.remit_date.is_not(None))
                           .group_by(WorkItem.remit_date)).all()
    acc: dict[date, list[Any]] = {}
    for d, n, a in rows:
        if d is None:
            continue
        monday = d - timedelta(days=d.weekday())
        slot = acc.setdefault(monday, [0, ZERO])
        slot[0] += int(n)
        slot[1] += Decimal(str(a))
    keys = sorted(acc)[-weeks:]
    return [(k.isoformat(), acc[k][0], acc[k][1]) for k in keys]


def scrubber_loop(session: Session, owner: str | None, limit: int = 50000) -> dict[str, Any]:
    items = list(session.execute(select(WorkItem.claim_id, WorkItem.line_number).where(*_where(owner)).limit(limit)))
    ids = {c for c, _ in items}
    scrubbed: set[str] = set()
    chunk = sorted(ids)
    for i in range(0, len(chunk), 500):
        scrubbed.update(session.scalars(select(ScrubRun.claim_id).where(ScrubRun.claim_id.in_(chunk[i:i + 500]))))
    flags = scrub_flags(session, scrubbed)
    by_rule: Counter[str] = Counter()
    flagged = not_flagged = 0
    for claim_id, line in items:
        if claim_id not in scrubbed:
            continue
        rel = [f for f in flags.get(claim_id, []) if f.line is None or line is None or f.line == str(line)]
        if rel:
            flagged += 1
            for rule in sorted({f.rule for f in rel}):
                by_rule[rule] += 1
        else:
            not_flagged += 1
    return {"flagged": flagged, "not_flagged": not_flagged, "by_rule": by_rule.most_common(10)}


def dashboard_data(session: Session, *, owner: str | None = None, today: date | None = None) -> dict[str, Any]:
    day = today or date.today()
    w = _where(owner)
    open_q = select(func.count(WorkItem.id), func.coalesce(func.sum(WorkItem.amount), 0)).where(
        *w, WorkItem.status.in_(OPEN_STATUSES))
    n_open, a_open = session.execute(open_q).one()
    n_over, a_over = session.execute(open_q.where(WorkItem.deadline < day)).one()
    n_rec, a_rec = session.execute(select(func.count(WorkItem.id), func.coalesce(func.sum(WorkItem.amount), 0)).where(
        *w, WorkItem.status == "resolved", WorkItem.resolved_by_remit_claim_id.is_not(None))).one()
    n_all, a_all = session.execute(select(func.count(WorkItem.id),
                                          func.coalesce(func.sum(WorkItem.amount), 0)).where(*w)).one()
    rate = _denial_rate(session)
    return {
        "owner": owner,
        "denied": {"count": int(n_all), "amount": Decimal(str(a_all))},
        "by_week": by_week(session, owner),
        "by_category": _group(session, WorkItem.category, owner),
        "by_carc": _group(session, WorkItem.group_code + "-" + func.coalesce(
            func.nullif(WorkItem.carc_sent, ""), WorkItem.carc), owner),
        "by_payer": _group(session, WorkItem.payer_name, owner),
        "by_procedure": _group(session, WorkItem.procedure, owner),
        "open": {"count": int(n_open), "amount": Decimal(str(a_open))},
        "overdue": {"count": int(n_over), "amount": Decimal(str(a_over))},
        "recovered": {"count": int(n_rec), "amount": Decimal(str(a_rec))},
        "denial_rate": rate,   # the same definition as remits.summary (service lines, reversals excluded)
        "scrubber": scrubber_loop(session, owner),
    }


def _denial_rate(session: Session) -> dict[str, Any]:
    lines, charged, denied = session.execute(
        select(func.count(RemitLine.id), func.coalesce(func.sum(RemitLine.charge), 0),
               func.coalesce(func.sum(RemitLine.denied_amount), 0))
        .join(RemitClaim, RemitLine.remit_claim_id == RemitClaim.id).where(RemitClaim.is_reversal.is_(False))).one()
    denied_lines = session.execute(
        select(func.count(RemitLine.id)).join(RemitClaim, RemitLine.remit_claim_id == RemitClaim.id)
        .where(RemitClaim.is_reversal.is_(False), RemitLine.denied_amount > 0,
               RemitLine.paid < RemitLine.charge)).scalar_one()
    charged = Decimal(str(charged))
    denied = Decimal(str(denied))
    return {"lines": int(lines), "denied_lines": int(denied_lines),
            "line_rate": (Decimal(denied_lines) / Decimal(lines) * 100) if lines else None,
            "charged": charged, "denied": denied,
            "dollar_rate": (denied / charged * 100) if charged else None}


__all__ = ["dashboard_data"]
