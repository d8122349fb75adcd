"""Login, logout and the root redirect."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from dermedi.web.accounts import login, logout
from dermedi.web.deps import LOGIN_CSRF_COOKIE, SESSION_COOKIE, CsrfUser, Db, actor_of, client_of, config_of
from dermedi.web.routes import render
from dermedi.web.security import new_token, same

router = APIRouter(include_in_schema=False)


@router.get("/")
def root() -> Response:
    return RedirectResponse("/queue", status_code=303)


def _login_page(request: Request, message: str = "", status_code: int = 200) -> Response:
    token = new_token()
    resp = render(request, "login.html", None, status_code=status_code, login_csrf=token, message=message)
    resp.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=config_of(request).https_only,
                    path="/login")
    return resp


@router.get("/login")
def login_page(request: Request) -> Response:
    return _login_page(request)


@router.post("/login")
def login_post(request: Request, db: Db, username: Annotated[str, Form(max_length=80)],
               password: Annotated[str, Form(max_length=1024)], csrf: Annotated[str, Form(max_length=100)]) -> Response:
    if not same(csrf, request.cookies.get(LOGIN_CSRF_COOKIE)):
        return _login_page(request, "the login form expired: please try again", 403)
    cfg = config_of(request)
    result = login(db, username.strip(), password, client_of(request), threshold=cfg.lockout_threshold,
                   base_seconds=cfg.backoff_seconds)
    if result.session_token is None:
        db.commit()          # keep the failed-login count and its audit row
        return _login_page(request, result.message, 401)
    resp = RedirectResponse("/queue", status_code=303)
    resp.set_cookie(SESSION_COOKIE, result.session_token, httponly=True, samesite="strict", secure=cfg.https_only,
                    path="/")
    resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return resp


@router.post("/logout")
def logout_post(request: Request, db: Db, user: CsrfUser) -> Response:
    raw = request.cookies.get(SESSION_COOKIE, "")
    logout(db, raw, actor_of(request, user))
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp
