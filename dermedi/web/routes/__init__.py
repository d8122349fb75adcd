"""One router per resource; :func:`render` renders a page template with the common context."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from dermedi.web.accounts import SessionUser


def render(request: Request, name: str, user: SessionUser | None, status_code: int = 200, **ctx: Any) -> Response:
    templates = request.app.state.templates
    context = {"user": user, "csrf": user.csrf if user is not None else "", **ctx}
    response: Response = templates.TemplateResponse(request, name, context, status_code=status_code)
    return response


def conflict(request: Request, user: SessionUser, message: str) -> Response:
    return render(request, "error.html", user, status_code=409, status=409, message=message)
