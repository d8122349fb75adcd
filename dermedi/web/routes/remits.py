"""The remit view (an 835 as an ERA/EOB), the remit list and the quarantine (release for leads)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from dermedi.web.deps import CsrfUser, Db, Lead, Worker, actor_of, engine_of
from dermedi.web.routes import render
from dermedi.web.routes.items import remit_claim_view
from remits.actions import audit, release_remit
from store.remits import RemitClaim, RemitFile, RemitPayment, RemitPLB

router = APIRouter(include_in_schema=False)


@router.get("/remits")
def remit_list(request: Request, db: Db, user: Worker) -> Response:
    payments = list(db.scalars(select(RemitPayment).order_by(RemitPayment.id.desc()).limit(200)))
    quarantined = list(db.scalars(select(RemitFile).where(RemitFile.status == "quarantined")
                                  .order_by(RemitFile.id.desc())))
    audit(db, actor_of(request, user), "view_remits", "remit", None, f"{len(payments)} payments")
    return render(request, "remits.html", user, payments=payments, quarantined=quarantined,
                  is_lead=user.role == "lead")


@router.get("/remits/{payment_id}")
def remit_view(request: Request, payment_id: int, db: Db, user: Worker) -> Response:
    pay = db.get(RemitPayment, payment_id)
    if pay is None:
        raise HTTPException(404, f"no remit payment {payment_id}")
    claim_ids = list(db.scalars(select(RemitClaim.id).where(RemitClaim.payment_id == pay.id).order_by(RemitClaim.id)))
    claims = [remit_claim_view(db, cid) for cid in claim_ids]
    plb = list(db.scalars(select(RemitPLB).where(RemitPLB.payment_id == pay.id).order_by(RemitPLB.id)))
    file = db.get(RemitFile, pay.file_id)
    audit(db, actor_of(request, user), "view_remit", "remit_payment", payment_id, f"{len(claims)} claims")
    return render(request, "remit.html", user, payment=pay, claims=claims, plb=plb, file=file)


def _findings(row: RemitFile) -> list[dict[str, Any]]:
    try:
        data = json.loads(row.findings or "[]")
    except ValueError:
        return []
    return [d for d in data if isinstance(d, dict)]


@router.get("/quarantine/{file_id}")
def quarantine_view(request: Request, file_id: int, db: Db, user: Worker) -> Response:
    row = db.get(RemitFile, file_id)
    if row is None or row.status not in ("quarantined", "released"):
        raise HTTPException(404, f"no quarantined remit file {file_id}")
    audit(db, actor_of(request, user), "view_quarantine", "remit_file", file_id)
    return render(request, "quarantine.html", user, file=row, findings=_findings(row), is_lead=user.role == "lead")


@router.post("/quarantine/{file_id}/release")
def quarantine_release(request: Request, file_id: int, user: Lead,
                       _csrf: CsrfUser) -> Response:
    from remits.ingest import IngestError

    try:
        release_remit(engine_of(request), file_id, actor_of(request, user), request.app.state.settings)
    except IngestError as exc:
        raise HTTPException(409, str(exc)) from None
    request.app.state.totals_cache.clear()
    return RedirectResponse(f"/quarantine/{file_id}", status_code=303)
