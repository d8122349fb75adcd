"""The queue page: filter, sort, keyset pages, counts and totals, take next, search, bulk assign."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup, escape
from sqlalchemy import func, select
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
    engine_of,
    form_or_error,
    request_session,
)
from dermedi.web.routes import render
from remits.actions import audit, bulk_assign, take_next
from remits.classify import CATEGORIES
from remits.queue import DEADLINE_WINDOWS, SORTS, QueueFilter, parse_cursor, queue_page, queue_totals
from remits.worklist import STATUSES
from store.remits import SubmittedClaim, WorkItem

router = APIRouter(include_in_schema=False)
log = logging.getLogger("dermedi.web")

MESSAGES = {"empty": "The queue is empty: nothing to take.", "assigned": "The items were assigned."}
# the columns queue.html shows (a page reads these only)
PAGE_COLUMNS = ("claim_id", "line_number", "procedure", "modifiers", "group_code", "carc", "carc_sent", "category",
                "action", "amount", "payer_name", "deadline", "priority", "status", "owner")
FILTER_FIELDS = ("category", "carc", "payer", "status", "owner", "deadline", "amount_min", "amount_max", "procedure")


def bad(field: str, why: str = "") -> HTTPException:
    return HTTPException(400, f"invalid value for {field}" + (f": {why}" if why else ""))


def _text(values: Mapping[str, Any], name: str, max_len: int = 80) -> str | None:
    v = values.get(name)
    if v is None or not isinstance(v, str) or not v.strip():
        return None
    v = v.strip()
    if len(v) > max_len or any(ord(ch) < 32 for ch in v):
        raise bad(name)
    return v


def _money(values: Mapping[str, Any], name: str) -> Decimal | None:
    v = _text(values, name, 20)
    if v is None:
        return None
    try:
        d = Decimal(v)
    except InvalidOperation:
        raise bad(name, "not an amount") from None
    if not d.is_finite() or d < 0:
        raise bad(name, "not an amount")
    return d


def parse_filter(values: Mapping[str, Any], user: SessionUser) -> QueueFilter:
    f = QueueFilter(carc=_text(values, "carc", 5), payer=_text(values, "payer"), owner=_text(values, "owner"),
                    procedure=_text(values, "procedure", 48), amount_min=_money(values, "amount_min"),
                    amount_max=_money(values, "amount_max"))
    cat = _text(values, "category")
    if cat is not None and cat not in CATEGORIES:
        raise bad("category")
    f.category = cat
    st = _text(values, "status")
    if st is not None and st != "all" and st not in STATUSES:
        raise bad("status")
    f.status = st
    dl = _text(values, "deadline")
    if dl is not None and dl not in DEADLINE_WINDOWS:
        raise bad("deadline")
    f.deadline = dl
    if user.role != "lead":
        f.visible_to = user.name
    return f


def _single_flight(request: Request, key: Any) -> threading.Lock:
    """One lock per cache key: one request computes a cold entry, the others wait for it."""
    with request.app.state.cache_guard:
        locks = request.app.state.cache_locks
        if len(locks) > 1000:
            locks.clear()
        lock: threading.Lock = locks.setdefault(key, threading.Lock())
        return lock


CHOICES_SECONDS = 60.0


def _choices(request: Request, db: Session) -> dict[str, list[Any]]:
    """The filter form's payers and owners (at most a minute old): computed once per process,
    then refreshed every minute in a background thread while pages go on with the list they
    have (the distinct payers of a million items take seconds on SQLite: no page waits for
    them but the first).  Item changes clear the totals' cache, not this one."""
    state = request.app.state
    hit = state.choices
    if hit is not None:
        if hit[0] <= time.monotonic():
            _refresh_choices(state)
        return dict(hit[1])
    with _single_flight(request, "choices"):
        if state.choices is None:
            state.choices = (time.monotonic() + CHOICES_SECONDS, _load_choices(db))
        return dict(state.choices[1])


def _refresh_choices(state: Any) -> None:
    with state.cache_guard:
        if state.choices_refreshing:
            return
        state.choices_refreshing = True

    def run() -> None:
        from store import session_scope

        try:
            with session_scope(state.engine) as s:
                state.choices = (time.monotonic() + CHOICES_SECONDS, _load_choices(s))
        except Exception as exc:       # keep the list we have; try again at the next page
            log.warning("filter choices not refreshed: %s", type(exc).__name__)
        finally:
            state.choices_refreshing = False

    threading.Thread(target=run, name="dermedi-choices", daemon=True).start()


def _load_choices(db: Session) -> dict[str, list[Any]]:
    return {
        "payers": sorted(((pid, name or pid) for pid, name in
                          db.execute(select(WorkItem.payer_id, WorkItem.payer_name).distinct()) if pid),
                         key=lambda p: (p[1], p[0])),
        "owners": sorted(o for o in db.scalars(select(WorkItem.owner).distinct()) if o),
    }


def totals(request: Request, db: Session, flt: QueueFilter, today: date) -> tuple[int, Decimal]:
    """Counts and totals of a filter, cached for a few seconds per process (a hint, not state).

    A biller's view (unassigned items and their own) is added up as two parts: the unassigned
    part is the same for every biller (one cache entry), their own part is small (owner index).
    """
    if flt.visible_to is not None and flt.owner is None and flt.ids is None:
        from dataclasses import replace

        free = _cached_totals(request, db, replace(flt, visible_to=None, owner="-"), today)
        mine = _cached_totals(request, db, replace(flt, visible_to=None, owner=flt.visible_to), today)
        return free[0] + mine[0], free[1] + mine[1]
    return _cached_totals(request, db, flt, today)


def _cached_totals(request: Request, db: Session, flt: QueueFilter, today: date) -> tuple[int, Decimal]:
    cache = request.app.state.totals_cache
    key = ("totals", flt.key(), today)
    hit = cache.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]  # type: ignore[no-any-return]
    with _single_flight(request, key):
        hit = cache.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]  # type: ignore[no-any-return]
        return _compute_totals(request, db, flt, today, key)


def _compute_totals(request: Request, db: Session, flt: QueueFilter, today: date,
                    key: Any) -> tuple[int, Decimal]:
    cache = request.app.state.totals_cache
    value = queue_totals(db, flt, today=today)
    if len(cache) > 500:
        cache.clear()
    cache[key] = (time.monotonic() + config_of(request).totals_cache_seconds, value)
    return value


_TAGS = {"overdue": ' <span class="tag overdue">overdue</span>', "soon": ' <span class="tag soon">&lt; 7 days</span>'}


_ESCAPED: dict[str, str] = {}


def _esc(value: str) -> str:
    """``escape`` of a value that repeats from row to row (codes, categories, payer names,
    statuses, owners), remembered: most of the queue rows' cost was escaping the same strings."""
    hit = _ESCAPED.get(value)
    if hit is None:
        hit = str(escape(value))
        if len(_ESCAPED) < 20000:
            _ESCAPED[value] = hit
    return hit


def _rows(items: list[Any], today: date, lead: bool) -> list[Markup]:
    """The table rows of a queue page, made here rather than cell by cell in the template
    (50 rows x 15 cells were most of the page's Jinja2 time).  Every text value goes through
    ``escape``; the others are numbers and dates (ints, Decimals, ISO dates: no markup)."""
    out: list[Markup] = []
    soon = today + timedelta(days=7)
    for i in items:
        deadline = i.deadline
        flag = "" if deadline is None else "overdue" if deadline < today else "soon" if deadline < soon else ""
        item_id = int(i.id)
        mods = i.modifiers
        pick = f'<td><input type="checkbox" name="ids" value="{item_id}" class="pick"></td>' if lead else ""
        line = int(i.line_number) if i.line_number else "-"
        html = (f'<tr class="{flag}">\n  {pick}<td><a href="/items/{item_id}">#{item_id}</a></td>\n'
                f'  <td>{escape(i.claim_id)}</td><td>{line}</td>\n'
                f'  <td>{_esc(i.procedure)}{_modifiers(mods) if mods else ""}</td>\n'
                f'  <td>{_esc(i.group_code)}-{_esc(i.carc_sent or i.carc)}</td><td>{_esc(i.category)}</td>'
                f'<td>{_esc(i.action)}</td>\n'
                f'  <td class="num">{Decimal(i.amount)}</td><td>{_esc(i.payer_name)}</td>\n'
                f'  <td>{deadline.isoformat() if deadline else "-"}{_TAGS.get(flag, "")}</td>\n'
                f'  <td class="num">{Decimal(i.priority)}</td><td>{_esc(i.status)}</td>'
                f'<td>{_esc(i.owner or "")}</td>\n</tr>')
        out.append(Markup(html))  # noqa: S704 -- every text value above is escaped
    return out


def _modifiers(modifiers: str) -> str:
    mods = [m for m in modifiers.split(",") if m]
    return _esc("-" + "-".join(mods)) if mods else ""


@router.get("/queue")
async def queue(request: Request) -> Response:
    return await run_in_threadpool(_queue, request)


def _queue(request: Request) -> Response:
    with request_session(request) as db:
        user = authorized(request, db, WORKERS)
        return _queue_page(request, db, user)


def _queue_page(request: Request, db: Session, user: SessionUser) -> Response:
    q = request.query_params
    flt = parse_filter(q, user)
    sort = q.get("sort") or "priority"
    if sort not in SORTS:
        raise bad("sort")
    order = q.get("order")
    if order not in (None, "", "asc", "desc"):
        raise bad("order")
    after = q.get("after") or None
    if after is not None:
        try:
            parse_cursor(sort, after)
        except ValueError:
            raise bad("after") from None
    today = date.today()
    page = queue_page(db, flt, sort=sort, descending=None if not order else order == "desc", after=after,
                      limit=config_of(request).page_size, today=today, columns=PAGE_COLUMNS)
    count, total = totals(request, db, flt, today)
    keep = {k: v for k, v in q.items() if k != "after" and v}
    choices = _choices(request, db)
    audit(db, actor_of(request, user), "view_queue", "queue", None, f"{len(page.items)} rows")   # the write, last
    rows = _rows(page.items, today, user.role == "lead")
    return render(request, "queue.html", user, rows=rows, page=page, count=count, total=total,
                  filters=keep, categories=CATEGORIES, statuses=STATUSES, windows=DEADLINE_WINDOWS,
                  sorts=list(SORTS), choices=choices, search=False,
                  message=MESSAGES.get(q.get("done") or "", ""))


def _search_ids(db: Session, term: str, user: SessionUser) -> list[int]:
    from remits.claimview import names_match

    claim_ids: set[str] = set()
    hits = db.scalars(select(WorkItem.id).where((WorkItem.claim_id == term) | (WorkItem.payer_claim_number == term))
                      .limit(500))
    ids = set(hits)
    if len(term) >= 2:
        like = f"%{term.upper()}%"
        for sub in db.scalars(select(SubmittedClaim).where(func.upper(SubmittedClaim.x12).like(like)).limit(200)):
            if names_match(sub, term):
                claim_ids.add(sub.claim_id)
    if claim_ids:
        ids.update(db.scalars(select(WorkItem.id).where(WorkItem.claim_id.in_(sorted(claim_ids))).limit(500)))
    return sorted(ids)


@router.post("/queue/search")
async def search(request: Request, db: Db, user: Worker, _csrf: CsrfUser) -> Response:
    form = await request.form()
    term = _text(form, "q", 60)
    if term is None:
        raise bad("q", "type a claim id, payer claim number or patient name")
    ids = _search_ids(db, term, user)
    flt = QueueFilter(status="all", ids=ids, visible_to=None if user.role == "lead" else user.name)
    today = date.today()
    page = queue_page(db, flt, limit=200, today=today, columns=PAGE_COLUMNS)
    count, total = queue_totals(db, flt, today=today)
    choices = _choices(request, db)
    audit(db, actor_of(request, user), "search", "queue", None, f"{len(page.items)} results")  # never the term
    rows = _rows(page.items, today, user.role == "lead")
    return render(request, "queue.html", user, rows=rows, page=page, count=count, total=total,
                  filters={}, categories=CATEGORIES, statuses=STATUSES, windows=DEADLINE_WINDOWS, sorts=list(SORTS),
                  choices=choices, search=True, message="")


@router.post("/queue/next")
async def next_(request: Request) -> Response:
    return await run_in_threadpool(_next, request, await form_or_error(request))


def _next(request: Request, form: Any) -> Response:
    with request_session(request) as db:
        user = authorized(request, db, WORKERS, form)
        item_id = take_next(engine_of(request), actor_of(request, user))
    if item_id is None:
        return RedirectResponse("/queue?done=empty", status_code=303)
    return RedirectResponse(f"/items/{item_id}", status_code=303)


@router.post("/queue/assign")
async def assign(request: Request, db: Db, user: Lead, _csrf: CsrfUser) -> Response:
    form = await request.form()
    owner = _text(form, "assign_to")
    if owner is None:
        raise bad("assign_to")
    from dermedi.web.accounts import AccountError, get_user

    try:
        target = get_user(db, owner)
    except AccountError:
        raise bad("assign_to", "no such user") from None
    if target.disabled or target.role not in ("biller", "lead"):
        raise bad("assign_to", "not an active biller or lead")
    ids: list[int] = []
    if form.get("all_filtered") == "1":
        flt = parse_filter(form, user)
        ids = list(db.scalars(select(WorkItem.id).where(*flt.conditions(date.today())).limit(5000)))
    else:
        for v in form.getlist("ids"):
            if not isinstance(v, str) or not v.isdigit():
                raise bad("ids")
            ids.append(int(v))
    if not ids:
        raise bad("ids", "select at least one item")
    n = bulk_assign(db, ids, owner, actor_of(request, user))
    request.app.state.totals_cache.clear()
    _ = n
    return RedirectResponse("/queue?done=assigned", status_code=303)
