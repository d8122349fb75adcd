"""Dependencies (FastAPI ``Depends``): the database session, the current user (browser session
or API token), role checks, CSRF, the audit actor and object-level item access.

Authorization lives here and nowhere else: a route names what it needs (``Depends(lead)``,
``Depends(viewable_item)``) and the check runs on the server for every request.  The three
busiest pages (queue, item, take next) call the same checks in one function instead
(:func:`authorized` in :func:`request_session`), to spare FastAPI's per-dependency work.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

import anyio
from fastapi import Depends, HTTPException, Request
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from dermedi.web.accounts import SessionUser, session_user, token_user
from dermedi.web.security import same
from remits.actions import Actor
from store import session_maker
from store.accounts import WebSession
from store.audit import deferred, write_deferred_on_commit
from store.remits import WorkItem

SESSION_COOKIE = "dermedi_session"
LOGIN_CSRF_COOKIE = "dermedi_login"


@dataclass
class WebConfig:
    idle_timeout: timedelta = timedelta(minutes=15)
    absolute_timeout: timedelta = timedelta(hours=8)
    https_only: bool = False
    lockout_threshold: int = 5
    backoff_seconds: int = 30
    practice: str = ""
    page_size: int = 50
    totals_cache_seconds: float = 30.0
    pool_size: int = 40


class LoginRequired(Exception):
    """No valid session (or API token): a redirect to the login page, or 401 on the API."""


class Forbidden(HTTPException):
    def __init__(self, detail: str = "you are not allowed to do that") -> None:
        super().__init__(403, detail)


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def config_of(request: Request) -> WebConfig:
    cfg: WebConfig = request.app.state.web_config
    return cfg


def web_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """The app's sessions: audit rows are written when the request's transaction commits."""
    maker = session_maker(engine)
    write_deferred_on_commit(maker)
    return maker


async def get_db(request: Request) -> AsyncIterator[Session]:
    """One transaction per request: committed when the handler returns, rolled back on error.

    Reads come first and writes last, so that a request holds the database's write lock (on
    SQLite: the one writer) only for its last moments: the view's audit row (kept by the
    session until then, :func:`store.audit.deferred`) and the session's last-seen time (when
    due) are written just before the commit, in the same transaction.  The session is made
    without I/O on the event loop; the commit runs in the thread pool (one hop, shielded from
    cancellation so that a transaction is never left open).
    """
    maker: sessionmaker[Session] = request.app.state.sessionmaker
    session = deferred(maker())
    try:
        yield session
    except BaseException:
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(_end, session, None, False)
        raise
    with anyio.CancelScope(shield=True):
        await run_in_threadpool(_end, session, getattr(request.state, "touch_session", None), True)


def _end(session: Session, touch: tuple[str, Any] | None, commit: bool) -> None:
    try:
        if commit:
            if touch is not None:
                session.execute(update(WebSession).where(WebSession.token_hash == touch[0])
                                .values(last_seen_at=touch[1]))
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


# scope="function": the transaction commits before the response is sent (the next request sees it)
Db = Annotated[Session, Depends(get_db, scope="function")]


def client_of(request: Request) -> str:
    return request.client.host if request.client is not None else ""


def current_user(request: Request, db: Db) -> SessionUser:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        raise LoginRequired()
    cfg = config_of(request)
    user = session_user(db, raw, idle=cfg.idle_timeout, absolute=cfg.absolute_timeout)
    if user is None:
        db.commit()         # keep the deletion of the expired session
        raise LoginRequired()
    if user.touch is not None:
        request.state.touch_session = (user.token_hash, user.touch)
    request.state.user = user
    return user


def api_user(request: Request, db: Db) -> SessionUser:
    auth = request.headers.get("authorization", "")
    scheme, _, raw = auth.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise LoginRequired()
    user = token_user(db, raw.strip())
    if user is None:
        raise LoginRequired()
    request.state.user = user
    return user


User = Annotated[SessionUser, Depends(current_user)]
ApiUser = Annotated[SessionUser, Depends(api_user)]


def role_check(*roles: str) -> Callable[..., Coroutine[Any, Any, SessionUser]]:
    async def check(user: User) -> SessionUser:      # no I/O: run on the event loop, not in a thread
        if user.role not in roles:
            raise Forbidden()
        return user
    return check


def api_role_check(*roles: str) -> Callable[..., Coroutine[Any, Any, SessionUser]]:
    async def check(user: ApiUser) -> SessionUser:
        if user.role not in roles:
            raise Forbidden()
        return user
    return check


WORKERS = ("biller", "lead")
Worker = Annotated[SessionUser, Depends(role_check(*WORKERS))]
Lead = Annotated[SessionUser, Depends(role_check("lead"))]
Admin = Annotated[SessionUser, Depends(role_check("admin"))]
ApiWorker = Annotated[SessionUser, Depends(api_role_check(*WORKERS))]
ApiLead = Annotated[SessionUser, Depends(api_role_check("lead"))]


async def csrf_form(request: Request, user: User) -> SessionUser:
    """For every state-changing form: the hidden ``csrf`` field must match the session's token."""
    check_csrf(await request.form(), user)
    return user


def check_csrf(form: Any, user: SessionUser) -> None:
    token = form.get("csrf")
    if not same(token if isinstance(token, str) else None, user.csrf):
        raise HTTPException(403, "the form's security token is missing or stale: reload the page and try again")


CsrfUser = Annotated[SessionUser, Depends(csrf_form)]


# ---- the busiest pages (queue, item, take next) as one function in the thread pool ----------
#
# FastAPI's dependency resolution and a thread-pool hop per sync dependency were most of the CPU
# time of a page.  These routes run the same steps, with the same functions, in one call:
# the request's session (:func:`request_session`, the transaction of :func:`get_db`), the
# session user (:func:`current_user`), the role, and for a form its CSRF token, in that order.


@contextmanager
def request_session(request: Request) -> Iterator[Session]:
    """:func:`get_db` for a route that runs as one sync function: committed (with the kept audit
    rows and the session's last-seen time) when the block ends, rolled back on any exception."""
    maker: sessionmaker[Session] = request.app.state.sessionmaker
    session = deferred(maker())
    try:
        yield session
    except BaseException:
        _end(session, None, False)
        raise
    _end(session, getattr(request.state, "touch_session", None), True)


def authorized(request: Request, db: Session, roles: tuple[str, ...], form: Any = None) -> SessionUser:
    """``Depends(role_check(*roles))`` and, given the parsed ``form`` (or the exception its
    parsing raised), ``CsrfUser``: the user of the request's session, of one of ``roles``."""
    user = current_user(request, db)
    if user.role not in roles:
        raise Forbidden()
    if form is not None:
        if isinstance(form, Exception):
            raise form
        check_csrf(form, user)
    return user


async def form_or_error(request: Request) -> Any:
    """The request's form, or the exception reading it raised (raised by :func:`authorized`
    after the session and role checks, in the order of the dependencies)."""
    try:
        return await request.form()
    except Exception as exc:
        return exc


def actor_of(request: Request, user: SessionUser) -> Actor:
    return Actor(user.name, user.channel, client_of(request))


def can_view(user: SessionUser, item: WorkItem) -> bool:
    """Leads see every item; a biller unassigned items and their own; admins no items (no PHI)."""
    if user.role == "lead":
        return True
    if user.role == "biller":
        return item.owner is None or item.owner == user.name
    return False


def can_change(user: SessionUser, item: WorkItem) -> bool:
    return can_view(user, item)


def load_item(db: Session, item_id: int, user: SessionUser, *, lock: bool = False) -> WorkItem:
    item = db.get(WorkItem, item_id, with_for_update=lock and db.get_bind().dialect.name == "postgresql")
    if item is None:
        raise HTTPException(404, f"no worklist item {item_id}")
    if not can_view(user, item):
        raise Forbidden("this item belongs to someone else")
    return item


def template_context(request: Request, user: SessionUser | None, **kw: Any) -> dict[str, Any]:
    return {"request": request, "user": user, "csrf": user.csrf if user is not None else "", **kw}


__all__ = ["WORKERS", "Admin", "ApiLead", "ApiUser", "ApiWorker", "CsrfUser", "Db", "Forbidden", "Lead",
           "LoginRequired", "User", "WebConfig", "Worker", "actor_of", "authorized", "can_change", "can_view",
           "check_csrf", "client_of", "form_or_error", "load_item", "request_session", "template_context"]
