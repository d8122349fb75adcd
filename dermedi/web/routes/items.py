"""The item page and its actions: status, note, assign, priority, corrected claim, appeal letter."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from dermedi.web.accounts import SessionUser
from dermedi.web.deps import (
    WORKERS,
    CsrfUser,
    Db,
    Lead,
    Worker,
    actor_of,
    authorized,
    config_of,
    load_item,
    request_session,
)
from dermedi.web.routes import conflict, render
from dermedi.web.routes.queue import _text, bad
from remits.actions import (
    StaleItemError,
    appeal_letters,
    audit,
    change_item,
    corrected_claim_bytes,
    send_appeal,
    set_priority,
    store_appeal,
    version_of,
    view_item,
)
from remits.explain import explain_carc, explain_group, explain_rarc
from remits.queue import deadline_flag
from remits.worklist import TRANSITIONS, WorklistError, item_history, latest_submitted_id, scrub_flags
from store.accounts import AppealLetter
from store.remits import (
    RemitAdjustment,
    RemitClaim,
    RemitLine,
    RemitPayment,
    RemitRemark,
    SubmittedClaim,
    WorkItem,
)

router = APIRouter(include_in_schema=False)


def remit_claim_view(db: Session, remit_claim_id: int | None) -> dict[str, Any] | None:
    if remit_claim_id is None:
        return None
    rc = db.get(RemitClaim, remit_claim_id)
    if rc is None:
        return None
    pay = db.get(RemitPayment, rc.payment_id)
    lines = list(db.scalars(select(RemitLine).where(RemitLine.remit_claim_id == rc.id).order_by(RemitLine.line_number)))
    adjs = list(db.scalars(select(RemitAdjustment).where(RemitAdjustment.remit_claim_id == rc.id)
                           .order_by(RemitAdjustment.id)))
    remarks = list(db.scalars(select(RemitRemark).where(RemitRemark.remit_claim_id == rc.id).order_by(RemitRemark.id)))

    def adj(a: RemitAdjustment) -> dict[str, Any]:
        return {"group": a.group_code, "carc": a.carc, "amount": a.amount, "kind": a.kind, "category": a.category,
                "text": explain_carc(a.carc, a.category), "group_text": explain_group(a.group_code)}

    def rem(r: RemitRemark) -> dict[str, Any]:
        return {"code": r.code, "source": r.source, "text": explain_rarc(r.code)}

    return {
        "claim": rc, "payment": pay,
        "claim_adjustments": [adj(a) for a in adjs if a.remit_line_id is None],
        "claim_remarks": [rem(r) for r in remarks if r.remit_line_id is None],
        "lines": [{"line": ln, "adjustments": [adj(a) for a in adjs if a.remit_line_id == ln.id],
                   "remarks": [rem(r) for r in remarks if r.remit_line_id == ln.id]} for ln in lines],
    }


def _claim_as_sent(db: Session, item: WorkItem) -> dict[str, Any] | None:
    from remits.claimview import claim_as_sent

    sub_id = item.submitted_claim_id or latest_submitted_id(db, item.claim_id)
    if sub_id is None:
        return None
    sub = db.get(SubmittedClaim, sub_id)
    return claim_as_sent(sub) if sub is not None else None


def item_context(db: Session, item: WorkItem, user: SessionUser) -> dict[str, Any]:
    today = date.today()
    flags = scrub_flags(db, [item.claim_id]).get(item.claim_id, [])
    others = [o for o in db.scalars(select(WorkItem).where(WorkItem.claim_id == item.claim_id, WorkItem.id != item.id)
                                    .order_by(WorkItem.id))]
    carc = item.carc_sent or item.carc
    rarcs = [r for r in item.rarcs.split(",") if r]
    return {
        "item": item, "version": version_of(item), "flag": deadline_flag(item.deadline, today),
        "modifiers": [m for m in item.modifiers.split(",") if m],
        "denial": {"group": item.group_code, "group_text": explain_group(item.group_code), "carc": carc,
                   "carc_text": explain_carc(carc, item.category),
                   "rarcs": [{"code": r, "text": explain_rarc(r)} for r in rarcs]},
        "claim": _claim_as_sent(db, item),
        "flags": flags,
        "remit": remit_claim_view(db, item.remit_claim_id),
        "others": [{"item": o, "visible": user.role == "lead" or o.owner in (None, user.name)} for o in others],
        "history": item_history(db, item.id),
        "letters": appeal_letters(db, item.id),
        "next_statuses": sorted(TRANSITIONS[item.status]),
        "is_lead": user.role == "lead",
    }


@router.get("/items/{item_id}")
async def item_page(request: Request, item_id: int) -> Response:
    return await run_in_threadpool(_item_page, request, item_id)


def _item_page(request: Request, item_id: int) -> Response:
    with request_session(request) as db:
        user = authorized(request, db, WORKERS)
        item = load_item(db, item_id, user)
        context = item_context(db, item, user)
        view_item(db, item_id, actor_of(request, user))      # the audit row: written at the commit
        return render(request, "item.html", user, **context)


async def _form(request: Request) -> Any:
    return await request.form()


def _apply(request: Request, db: Db, user: SessionUser, item_id: int, form: Any, **change: Any) -> Response:
    load_item(db, item_id, user, lock=True)
    version = _text(form, "version", 64)
    if version is None:
        raise bad("version")
    try:
        change_item(db, item_id, actor_of(request, user), expected_version=version, **change)
    except StaleItemError as exc:
        return conflict(request, user, str(exc))
    except WorklistError as exc:
        raise HTTPException(409, str(exc)) from None
    request.app.state.totals_cache.clear()
    return RedirectResponse(f"/items/{item_id}", status_code=303)


@router.post("/items/{item_id}/status")
async def status(request: Request, item_id: int, db: Db, user: Worker,
                 _csrf: CsrfUser) -> Response:
    form = await request.form()
    new = _text(form, "status", 16)
    if new is None or new not in TRANSITIONS:
        raise bad("status")
    note = _text(form, "note", 2000)
    return _apply(request, db, user, item_id, form, status=new, note=note)


@router.post("/items/{item_id}/note")
async def note(request: Request, item_id: int, db: Db, user: Worker,
               _csrf: CsrfUser) -> Response:
    form = await request.form()
    text = _text(form, "note", 2000)
    if text is None:
        raise bad("note", "write a note")
    return _apply(request, db, user, item_id, form, note=text)


@router.post("/items/{item_id}/assign")
async def assign(request: Request, item_id: int, db: Db, user: Lead,
                 _csrf: CsrfUser) -> Response:
    from dermedi.web.accounts import AccountError, get_user

    form = await request.form()
    owner = _text(form, "owner") or ""
    if owner:
        try:
            target = get_user(db, owner)
        except AccountError:
            raise bad("owner", "no such user") from None
        if target.disabled or target.role not in ("biller", "lead"):
            raise bad("owner", "not an active biller or lead")
    return _apply(request, db, user, item_id, form, owner=owner)


@router.post("/items/{item_id}/priority")
async def priority(request: Request, item_id: int, db: Db, user: Lead,
                   _csrf: CsrfUser) -> Response:
    form = await request.form()
    raw = _text(form, "priority", 20)
    try:
        value = Decimal(raw or "")
    except InvalidOperation:
        raise bad("priority") from None
    if not value.is_finite() or abs(value) >= Decimal("1e11"):
        raise bad("priority")
    item = load_item(db, item_id, user, lock=True)
    if _text(form, "version", 64) != version_of(item):
        return conflict(request, user, f"item {item_id} was changed by someone else since you opened it: reload it")
    set_priority(db, item_id, value.quantize(Decimal("0.0001")), actor_of(request, user))
    request.app.state.totals_cache.clear()
    return RedirectResponse(f"/items/{item_id}", status_code=303)


@router.post("/items/{item_id}/corrected")
def corrected(request: Request, item_id: int, db: Db, user: Worker,
              _csrf: CsrfUser) -> Response:
    load_item(db, item_id, user)
    try:
        data, _result = corrected_claim_bytes(db, item_id, actor_of(request, user),
                                              settings=request.app.state.settings)
    except WorklistError as exc:
        raise HTTPException(409, str(exc)) from None
    name = f"corrected-item-{item_id}.837"
    return Response(data, media_type="application/edi-x12",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# ---- appeal letters -------------------------------------------------------------------


@router.get("/items/{item_id}/appeal")
def appeal_editor(request: Request, item_id: int, db: Db, user: Worker) -> Response:
    from remits.appeal import draft_letter

    item = load_item(db, item_id, user)
    draft = draft_letter(db, item, _claim_as_sent(db, item), practice=config_of(request).practice)
    view_item(db, item_id, actor_of(request, user))
    return render(request, "appeal.html", user, item=item, draft=draft, version=version_of(item))


@router.post("/items/{item_id}/appeal")
async def appeal_create(request: Request, item_id: int, db: Db, user: Worker,
                        _csrf: CsrfUser) -> Response:
    from dermedi.web.pdf import letter_pdf

    form = await request.form()
    body = form.get("body")
    if not isinstance(body, str) or not body.strip() or len(body) > 20000:
        raise bad("body", "the letter is empty or too long")
    template = _text(form, "template", 40) or "reconsideration"
    load_item(db, item_id, user, lock=True)
    pdf = letter_pdf(body.replace("\r\n", "\n"))
    letter = store_appeal(db, item_id, actor_of(request, user), template=template, body=body, pdf=pdf)
    return RedirectResponse(f"/items/{item_id}#letter-{letter.id}", status_code=303)


def _letter(db: Session, letter_id: int, user: SessionUser) -> AppealLetter:
    letter = db.get(AppealLetter, letter_id)
    if letter is None:
        raise HTTPException(404, f"no appeal letter {letter_id}")
    load_item(db, letter.item_id, user)
    return letter


@router.get("/letters/{letter_id}.pdf")
def letter_download(request: Request, letter_id: int, db: Db, user: Worker) -> Response:
    letter = _letter(db, letter_id, user)
    audit(db, actor_of(request, user), "view_appeal", "appeal_letter", letter_id, f"item {letter.item_id}")
    return Response(letter.pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="appeal-{letter_id}.pdf"'})


@router.post("/letters/{letter_id}/send")
def letter_send(request: Request, letter_id: int, db: Db, user: Worker,
                _csrf: CsrfUser) -> Response:
    letter = _letter(db, letter_id, user)
    try:
        send_appeal(db, letter_id, actor_of(request, user))
    except WorklistError as exc:
        raise HTTPException(409, str(exc)) from None
    request.app.state.totals_cache.clear()
    return RedirectResponse(f"/items/{letter.item_id}", status_code=303)
