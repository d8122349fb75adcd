"""Account administration for admins: list, add, disable/enable, change role, reset password."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from dermedi.web.accounts import (
    AccountError,
    add_user,
    disable_user,
    enable_user,
    reset_password,
    set_role,
)
from dermedi.web.deps import Admin, CsrfUser, Db, actor_of
from dermedi.web.routes import render
from dermedi.web.routes.queue import _text, bad
from dermedi.web.security import PasswordPolicyError
from remits.actions import audit
from store.accounts import ROLES, WebUser

router = APIRouter(include_in_schema=False)


@router.get("/admin/users")
def users(request: Request, db: Db, user: Admin) -> Response:
    rows = list(db.scalars(select(WebUser).order_by(WebUser.name)))
    audit(db, actor_of(request, user), "view_accounts", "user", None)
    return render(request, "users.html", user, users=rows, roles=ROLES)


@router.post("/admin/users")
async def users_post(request: Request, db: Db, user: Admin, _csrf: CsrfUser) -> Response:
    form = await request.form()
    op = _text(form, "op", 20)
    name = _text(form, "name")
    if name is None:
        raise bad("name")
    actor = actor_of(request, user)
    try:
        if op == "add":
            pw = form.get("password")
            add_user(db, name, _text(form, "role", 10) or "", pw if isinstance(pw, str) else "", actor)
        elif op == "role":
            set_role(db, name, _text(form, "role", 10) or "", actor)
        elif op == "disable":
            if name == user.name:
                raise bad("name", "you cannot disable yourself")
            disable_user(db, name, actor)
        elif op == "enable":
            enable_user(db, name, actor)
        elif op == "password":
            pw = form.get("password")
            reset_password(db, name, pw if isinstance(pw, str) else "", actor)
        else:
            raise bad("op")
    except (AccountError, PasswordPolicyError) as exc:
        raise HTTPException(400, str(exc)) from None
    return RedirectResponse("/admin/users", status_code=303)
