"""The JSON API (``/api/...``, OpenAPI at ``/api/docs``): list, get, update, take next, export.

Authentication is a per-user API token (``dermedi users token NAME``) sent as
``Authorization: Bearer <token>``; authorization and audit are those of the pages.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from dermedi.web.deps import ApiUser, ApiWorker, Db, actor_of, config_of, engine_of, load_item
from dermedi.web.routes.queue import parse_filter
from remits.actions import StaleItemError, audit, change_item, take_next, version_of, view_item
from remits.queue import SORTS, parse_cursor, queue_page
from remits.worklist import WorklistError, csv_text, item_dict, item_history, scrub_flags

router = APIRouter(prefix="/api", tags=["worklist"])


class ItemUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: str | None = Field(default=None, max_length=16)
    note: str | None = Field(default=None, max_length=2000)
    owner: str | None = Field(default=None, max_length=80, description="re-assign (leads only); '' = nobody")
    version: str = Field(max_length=64, description="the item's `version` as last read (stale-write check)")


def _out(item: Any, flags: Any = None) -> dict[str, Any]:
    d = item_dict(item, flags)
    d["version"] = version_of(item)
    return d


@router.get("/me")
def me(user: ApiUser) -> dict[str, str]:
    return {"name": user.name, "role": user.role}


@router.get("/items")
def list_items(request: Request, db: Db, user: ApiWorker,
               sort: Annotated[Literal["priority", "deadline", "amount", "remit_date", "id"], Query()] = "priority",
               after: Annotated[str | None, Query(max_length=80)] = None,
               limit: Annotated[int, Query(ge=1, le=500)] = 50,
               category: str | None = None, carc: str | None = None, payer: str | None = None,
               status: str | None = None, owner: str | None = None, deadline: str | None = None,
               amount_min: str | None = None, amount_max: str | None = None,
               procedure: str | None = None) -> dict[str, Any]:
    flt = parse_filter(request.query_params, user)
    assert sort in SORTS
    if after:
        try:
            parse_cursor(sort, after)
        except ValueError:
            raise HTTPException(400, "invalid value for after") from None
    page = queue_page(db, flt, sort=sort, after=after, limit=limit, today=date.today())
    audit(db, actor_of(request, user), "view_queue", "queue", None, f"{len(page.items)} rows")
    return {"items": [_out(i) for i in page.items], "next": page.next_cursor}


@router.get("/items/{item_id}")
def get_item(request: Request, item_id: int, db: Db, user: ApiWorker) -> dict[str, Any]:
    item = load_item(db, item_id, user)
    flags = scrub_flags(db, [item.claim_id]).get(item.claim_id, [])
    d = _out(item, flags)
    d["history"] = [{"at": e.at.isoformat(), "user": e.actor, "event": e.event, "from": e.from_status,
                     "to": e.to_status, "note": e.note} for e in item_history(db, item_id)]
    view_item(db, item_id, actor_of(request, user))
    return d


@router.post("/items/{item_id}")
def update(request: Request, item_id: int, body: ItemUpdate, db: Db, user: ApiWorker) -> Response:
    load_item(db, item_id, user, lock=True)
    if body.owner is not None and user.role != "lead":
        raise HTTPException(403, "only leads assign items")
    if body.status is None and not body.note and body.owner is None:
        raise HTTPException(400, "invalid value for body: give status, note or owner")
    try:
        item = change_item(db, item_id, actor_of(request, user), status=body.status, note=body.note,
                           owner=body.owner, expected_version=body.version)
    except StaleItemError as exc:
        return JSONResponse({"error": str(exc)}, status_code=409)
    except WorklistError as exc:
        return JSONResponse({"error": str(exc)}, status_code=409)
    request.app.state.totals_cache.clear()
    return JSONResponse(_out(item))


@router.post("/next")
def next_item(request: Request, db: Db, user: ApiWorker) -> Response:
    item_id = take_next(engine_of(request), actor_of(request, user))
    if item_id is None:
        return JSONResponse({"item": None})
    item = load_item(db, item_id, user)
    return JSONResponse({"item": _out(item)})


@router.get("/export")
def export(request: Request, db: Db, user: ApiWorker,
           limit: Annotated[int, Query(ge=1, le=100000)] = 10000) -> Response:
    flt = parse_filter(request.query_params, user)
    page = queue_page(db, flt, limit=limit, today=date.today())
    rows = [item_dict(i) for i in page.items]
    audit(db, actor_of(request, user), "export", "queue", None, f"{len(rows)} rows")
    _ = config_of(request)
    return Response(csv_text(rows), media_type="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="worklist.csv"'})
