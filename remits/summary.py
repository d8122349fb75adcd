"""Denial analytics: ``dermedi remits summary [--since DATE]``.

* denied dollars and item counts by category, CARC (group-CARC as sent), payer and procedure;
* denial rate: denied service lines / all service lines remitted (reversals excluded), and
  denied dollars / charged dollars (from ``remit_line_totals``, the per-day rollup every ingest
  adds to);
* status of the worklist (new, in_progress, ...);
* the closed loop with the scrubber: of the denied items whose claim went through the
  scrubber (a ``scrub_runs`` row for the claim id), how many had a scrubber finding on that
  line (or a claim-level finding) in the claim's latest run, and by which rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from store.remits import RemitLineTotal, ScrubFindingRow, ScrubRun, WorkItem

CENT = Decimal("0.01")


def _cents(column: Any) -> Any:
    """SUM of a money column in whole cents (exact on SQLite, where money is stored as REAL)."""
    return func.coalesce(func.sum(func.round(column * 100)), 0)


def _money(cents: Any) -> str:
    return str((Decimal(round(float(cents))) / 100).quantize(CENT))


def _bucket(rows: Iterable[tuple[Any, int, Any]]) -> list[dict[str, Any]]:
    merged: dict[str, list[int]] = {}
    for key, count, cents in rows:
        acc = merged.setdefault(str(key), [0, 0])
        acc[0] += int(count)
        acc[1] += round(float(cents))
    out = [{"key": k, "count": n, "amount": _money(c)} for k, (n, c) in merged.items()]
    out.sort(key=lambda r: (-Decimal(str(r["amount"])), str(r["key"])))
    return out


def denial_summary(session: Session, *, since: date | None = None) -> dict[str, Any]:
    """The summary, every figure an aggregate query (nothing per item is loaded into Python)."""
    cond = [WorkItem.source == "835"]
    if since is not None:
        cond.append(WorkItem.remit_date >= since)

    # one scan of the items, grouped by every dimension at once (an ordered scan of the covering index
    # ix_work_items_summary); the few groups are then added up per dimension here
    keys = (WorkItem.category, WorkItem.group_code, WorkItem.carc_sent, WorkItem.carc, WorkItem.payer_name,
            WorkItem.payer_id, WorkItem.procedure, WorkItem.status)
    groups = session.execute(select(*keys, func.count(WorkItem.id), _cents(WorkItem.amount))
                             .where(*cond).group_by(*keys)).all()
    by_category, by_carc, by_payer, by_procedure = [], [], [], []
    total_items, total_cents = 0, 0
    status: dict[str, int] = {}
    for category, group_code, carc_sent, carc, payer_name, payer_id, procedure, st, n, cents in groups:
        by_category.append((category, n, cents))
        by_carc.append((f"{group_code}-{carc_sent or carc}", n, cents))
        by_payer.append((payer_name or payer_id, n, cents))
        by_procedure.append((procedure or "(claim level)", n, cents))
        total_items += int(n)
        total_cents += round(float(cents))
        status[st] = status.get(st, 0) + int(n)

    # the denial rate from the per-day rollup the ingest keeps (not from every remitted line)
    t = RemitLineTotal
    tq = select(*(func.coalesce(func.sum(c), 0) for c in (t.lines, t.denied_lines, t.charged_cents, t.denied_cents)))
    if since is not None:
        tq = tq.where(t.remit_date >= since)
    lines, denied_lines, charged_cents, denied_cents = tuple(session.execute(tq).one())
    charged = Decimal(_money(charged_cents))
    denied_dollars = Decimal(_money(denied_cents))

    # the closed loop: each denied item against the latest scrub run of its claim
    latest = (select(ScrubRun.claim_id, func.max(ScrubRun.id).label("run_id"))
              .group_by(ScrubRun.claim_id).subquery())
    relevant = (ScrubFindingRow.run_id == latest.c.run_id) & (
        ScrubFindingRow.line.is_(None) | WorkItem.line_number.is_(None)
        | (ScrubFindingRow.line == cast(WorkItem.line_number, String)))
    scrubbed = session.execute(select(func.count(WorkItem.id)).join(latest, latest.c.claim_id == WorkItem.claim_id)
                               .where(*cond)).scalar_one()
    flagged = session.execute(
        select(func.count(func.distinct(WorkItem.id))).join(latest, latest.c.claim_id == WorkItem.claim_id)
        .join(ScrubFindingRow, relevant).where(*cond)).scalar_one()
    by_rule = {r: int(n) for r, n in session.execute(
        select(ScrubFindingRow.rule, func.count(func.distinct(WorkItem.id)))
        .join(latest, latest.c.claim_id == WorkItem.claim_id).join(ScrubFindingRow, relevant)
        .where(*cond).group_by(ScrubFindingRow.rule))}
    return {
        "since": since.isoformat() if since else None,
        "denied_items": int(total_items),
        "denied_amount": _money(total_cents),
        "by_category": _bucket(by_category),
        "by_carc": _bucket(by_carc),
        "by_payer": _bucket(by_payer),
        "by_procedure": _bucket(by_procedure),
        "by_status": dict(sorted(status.items())),
        "denial_rate": {
            "lines": int(lines), "denied_lines": int(denied_lines),
            "line_rate": f"{(Decimal(denied_lines) / Decimal(lines) * 100):.1f}%" if lines else None,
            "charged": str(charged), "denied": str(denied_dollars),
            "dollar_rate": f"{(denied_dollars / charged * 100):.1f}%" if charged else None,
        },
        "scrubber_loop": {
            "denied_items_scrubbed": int(scrubbed),
            "flagged_by_scrubber": int(flagged),
            "not_flagged": int(scrubbed) - int(flagged),
            "by_rule": dict(sorted(by_rule.items(), key=lambda kv: (-kv[1], kv[0]))),
        },
    }


def summary_table(data: dict[str, Any]) -> str:
    out: list[str] = []
    rate = data["denial_rate"]
    out.append(f"Denied: {data['denied_items']} items, ${data['denied_amount']}"
               + (f" since {data['since']}" if data["since"] else ""))
    out.append(f"Denial rate: {rate['denied_lines']}/{rate['lines']} lines ({rate['line_rate'] or '-'}), "
               f"${rate['denied']} of ${rate['charged']} charged ({rate['dollar_rate'] or '-'})")
    for title, key in (("Category", "by_category"), ("CARC", "by_carc"), ("Payer", "by_payer"),
                       ("Procedure", "by_procedure")):
        out.append("")
        out.append(f"{title:<28} {'items':>6} {'amount':>12}")
        for r in data[key]:
            out.append(f"{str(r['key'])[:28]:<28} {r['count']:>6} {r['amount']:>12}")
    out.append("")
    out.append("Status: " + ", ".join(f"{k} {v}" for k, v in data["by_status"].items()))
    loop = data["scrubber_loop"]
    out.append(f"Scrubber loop: {loop['denied_items_scrubbed']} denied items were scrubbed; "
               f"{loop['flagged_by_scrubber']} had been flagged, {loop['not_flagged']} not")
    for rule, n in loop["by_rule"].items():
        out.append(f"  {rule:<20} {n:>6}")
    return "\n".join(out)
