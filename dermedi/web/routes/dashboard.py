"""The dashboard: charts of denials (server-side SVG).  Billers see their own items; leads
see the team's and any person's."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from dermedi.web import charts
from dermedi.web.deps import Db, Forbidden, Worker, actor_of
from dermedi.web.routes import render
from dermedi.web.routes.queue import _text
from remits.actions import audit
from remits.dashboard import dashboard_data

router = APIRouter(include_in_schema=False)


@router.get("/dashboard")
def dashboard(request: Request, db: Db, user: Worker) -> Response:
    who = _text(request.query_params, "owner")
    if user.role != "lead":
        if who not in (None, user.name):
            raise Forbidden("only leads see other people's dashboards")
        who = user.name
    data = dashboard_data(db, owner=who, today=date.today())
    m = charts.money
    figs = [
        charts.columns("Denied amount by week (remit date)", [(k, a) for k, _, a in data["by_week"]], m),
        charts.columns("Denied lines by week", [(k, n) for k, n, _ in data["by_week"]], str, charts.ALT),
        charts.bars("Denied amount by category", [(k, a) for k, _, a in data["by_category"]], m),
        charts.bars("Denied amount by CARC", [(k, a) for k, _, a in data["by_carc"]], m),
        charts.bars("Denied amount by payer", [(k, a) for k, _, a in data["by_payer"]], m),
        charts.bars("Denied amount by procedure", [(k, a) for k, _, a in data["by_procedure"]], m),
        charts.split("Open items: on time vs overdue", [
            ("on time", data["open"]["count"] - data["overdue"]["count"]), ("overdue", data["overdue"]["count"])]),
        charts.split("Scrubber loop: denials the scrubber had flagged", [
            ("flagged", data["scrubber"]["flagged"]), ("not flagged", data["scrubber"]["not_flagged"])]),
        charts.bars("Flagged denials by scrubber rule", data["scrubber"]["by_rule"], str, charts.ALT),
    ]
    if who is None:      # the team's view: claim aging from the ledger (unanswered claims by age)
        from remits.aging import BUCKETS, aging

        ages = aging(db, date.today(), settings=request.app.state.settings)
        figs.append(charts.columns("Claims awaiting payment by age (amount)",
                                   [(b, Decimal(str(ages["total"][b]["amount"]))) for b in BUCKETS], m,
                                   label_from=0))
    settings = request.app.state.settings
    late = _late(db, settings)
    learned = _learned(settings) if who is None else None
    audit(db, actor_of(request, user), "view_dashboard", "dashboard", who or "team")
    return render(request, "dashboard.html", user, data=data, figs=figs, owner=who, is_lead=user.role == "lead",
                  late=late, learned=learned)


def _late(db: Db, settings: Any) -> dict[str, Any]:
    """Answers that did not come (issue 13's watch): late 999s and 277CAs, rejected files not sent
    again, claims past their 835 window; for the banner and its list (file names, counts, no PHI)."""
    from remits.aging import late_report

    rep = late_report(db, date.today(), settings=settings)
    return {"alerts": rep.alerts, "files": rep.files, "claims_277ca": len(rep.claims_277ca),
            "claims_835": len(rep.claims_835), "amount_835": sum((c.amount for c in rep.claims_835), Decimal(0)),
            "rejections": rep.rejections}


def _learned(settings: Any) -> dict[str, Any] | None:
    """The payer-learned patterns (issue 12's table of `dermedi learn`), when one is configured."""
    path = getattr(getattr(settings, "learning", None), "table", None)
    if not path:
        return None
    from config.learned import LearnedTableError, load_learned_table
    from remits.learn import learned_summary

    try:
        return learned_summary(load_learned_table(path))
    except LearnedTableError as exc:
        return {"error": str(exc), "patterns": [], "source": {}}
