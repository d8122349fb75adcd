"""Denial analytics: ``dermedi remits summary [--since DATE]``.

* denied dollars and item counts by category, CARC (group-CARC as sent), payer and procedure;
* denial rate: denied service lines / all service lines remitted (reversals excluded), and
  denied dollars / charged dollars;
* status of the worklist (new, in_progress, ...);
* the closed loop with the scrubber: of the denied items whose claim went through the
  scrubber (a ``scrub_runs`` row for the claim id), how many had a scrubber finding on that
  line (or a claim-level finding) in the claim's latest run, and by which rule.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from remits.worklist import scrub_flags
from store.remits import RemitClaim, RemitLine, WorkItem

ZERO = Decimal(0)


def _bucket(rows: dict[str, list[Decimal]]) -> list[dict[str, Any]]:
    out = [{"key": k, "count": len(v), "amount": str(sum(v, ZERO))} for k, v in rows.items()]
    out.sort(key=lambda r: (-Decimal(str(r["amount"])), str(r["key"])))
    return out


def denial_summary(session: Session, *, since: date | None = None) -> dict[str, Any]:
    q = select(WorkItem).where(WorkItem.source == "835")
    if since is not None:
        q = q.where(WorkItem.remit_date >= since)
    items = list(session.scalars(q))
    by: dict[str, dict[str, list[Decimal]]] = {k: defaultdict(list) for k in ("category", "carc", "payer", "procedure")}
    status = Counter(i.status for i in items)
    for i in items:
        by["category"][i.category].append(i.amount)
        by["carc"][f"{i.group_code}-{i.carc_sent or i.carc}"].append(i.amount)
        by["payer"][i.payer_name or i.payer_id].append(i.amount)
        by["procedure"][i.procedure or "(claim level)"].append(i.amount)
    lq = (select(func.count(RemitLine.id), func.coalesce(func.sum(RemitLine.charge), 0),
                 func.coalesce(func.sum(RemitLine.denied_amount), 0))
          .join(RemitClaim, RemitLine.remit_claim_id == RemitClaim.id).where(RemitClaim.is_reversal.is_(False)))
    dq = (select(func.count(RemitLine.id)).join(RemitClaim, RemitLine.remit_claim_id == RemitClaim.id)
          .where(RemitClaim.is_reversal.is_(False), RemitLine.denied_amount > 0, RemitLine.paid < RemitLine.charge))
    if since is not None:
        lq = lq.where(RemitClaim.remit_date >= since)
        dq = dq.where(RemitClaim.remit_date >= since)
    lines, charged, denied_dollars = session.execute(lq).one()
    denied_lines = session.execute(dq).scalar_one()
    charged = Decimal(str(charged))
    denied_dollars = Decimal(str(denied_dollars))
    flags = scrub_flags(session, (i.claim_id for i in items))
    from store.remits import ScrubRun

    scrubbed_ids = set(session.scalars(select(ScrubRun.claim_id).where(
        ScrubRun.claim_id.in_({i.claim_id for i in items})))) if items else set()
    scrubbed = [i for i in items if i.claim_id in scrubbed_ids]
    flagged_by_rule: Counter[str] = Counter()
    flagged = 0
    for i in scrubbed:
        rel = [f for f in flags.get(i.claim_id, []) if f.line is None or i.line_number is None
               or f.line == str(i.line_number)]
        if rel:
            flagged += 1
            for rule in sorted({f.rule for f in rel}):
                flagged_by_rule[rule] += 1
    return {
        "since": since.isoformat() if since else None,
        "denied_items": len(items),
        "denied_amount": str(sum((i.amount for i in items), ZERO)),
        "by_category": _bucket(by["category"]),
        "by_carc": _bucket(by["carc"]),
        "by_payer": _bucket(by["payer"]),
        "by_procedure": _bucket(by["procedure"]),
        "by_status": dict(sorted(status.items())),
        "denial_rate": {
            "lines": int(lines), "denied_lines": int(denied_lines),
            "line_rate": f"{(Decimal(denied_lines) / Decimal(lines) * 100):.1f}%" if lines else None,
            "charged": str(charged), "denied": str(denied_dollars),
            "dollar_rate": f"{(denied_dollars / charged * 100):.1f}%" if charged else None,
        },
        "scrubber_loop": {
            "denied_items_scrubbed": len(scrubbed),
            "flagged_by_scrubber": flagged,
            "not_flagged": len(scrubbed) - flagged,
            "by_rule": dict(sorted(flagged_by_rule.items(), key=lambda kv: (-kv[1], kv[0]))),
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
