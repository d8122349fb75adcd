"""The application factory: ``create_app(settings)`` builds the FastAPI app for ``dermedi web``.

State kept in the process is only what any process can rebuild: the engine, the templates and
a short-lived cache of queue totals.  Sessions, users, tokens and the audit trail are in the
database, so several ``dermedi web`` processes can serve one PostgreSQL.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dermedi.web.deps import LoginRequired, WebConfig, web_sessionmaker
from dermedi.web.security import SECURITY_HEADERS

HERE = Path(__file__).resolve().parent
log = logging.getLogger("dermedi.web")


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/api"


def _field(loc: Any) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "form", "header", "cookie")]
    return ".".join(parts) or "request"


class HeadersAndLog:
    """The outermost layer of the app (plain ASGI, no per-request task or stream): a request id,
    the security headers and ``Cache-Control: no-store`` (not on static files) on every
    response, an error page instead of a traceback, and one log line per request with ids only
    (the path has item/remit ids, never names, member ids or birth dates)."""

    def __init__(self, app: ASGIApp, error_page: Callable[[Request, int, str], Response]) -> None:
        self.app = app
        self.error_page = error_page
        self.headers = [(k.lower(), (k.lower().encode("latin-1"), v.encode("latin-1")))
                        for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = secrets.token_hex(6)
        state = scope.setdefault("state", {})
        state["request_id"] = rid
        start = time.perf_counter()
        static = scope["path"].startswith("/static/")
        status = 500
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = MutableHeaders(scope=message)
                for name, raw in self.headers:
                    if name not in headers:       # a route's own value wins (setdefault)
                        headers.raw.append(raw)
                if not static and "cache-control" not in headers:
                    headers.raw.append((b"cache-control", b"no-store"))
                headers["X-Request-Id"] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            # never let the server print a traceback: its SQL parameters may hold tokens or PHI
            log.error("%s internal error %s", rid, type(exc).__name__)
            if started:
                raise
            response = self.error_page(Request(scope), 500, "internal error (the request id is in the server log)")
            await response(scope, receive, send_with_headers)
        finally:
            user = state.get("user")
            log.info("%s %s %s %d %.1fms user=%s", rid, scope["method"], scope["path"], status,
                     (time.perf_counter() - start) * 1000, getattr(user, "id", "-"))


def create_app(settings: Any, web_config: WebConfig | None = None, *, engine: Engine | None = None) -> FastAPI:
    from store import make_engine

    cfg = web_config or WebConfig()
    app = FastAPI(title="dermedi denial workspace", version="1", docs_url=None, redoc_url=None,
                  swagger_ui_oauth2_redirect_url=None, openapi_url="/api/openapi.json",
                  description="The denial worklist: authenticate with `Authorization: Bearer <token>` "
                              "(`dermedi users token NAME`).")
    app.state.settings = settings
    app.state.web_config = cfg
    # one connection per worker thread (anyio's default pool has 40); SQL parameters never in messages
    app.state.engine = engine if engine is not None else make_engine(
        settings.database.url, pool_size=cfg.pool_size, max_overflow=10, pool_timeout=60, hide_parameters=True)
    app.state.sessionmaker = web_sessionmaker(app.state.engine)
    app.state.cache_locks = {}
    app.state.cache_guard = threading.Lock()
    app.state.totals_cache = {}
    app.state.choices = None              # the queue filter's payers and owners (routes/queue.py)
    app.state.choices_refreshing = False
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.autoescape = True
    templates.env.auto_reload = False       # compiled once per process (the templates ship with the package)
    app.state.templates = templates

    def error_page(request: Request, status: int, message: str) -> Response:
        if _wants_json(request):
            return JSONResponse({"error": message}, status_code=status)
        return templates.TemplateResponse(request, "error.html", {"status": status, "message": message,
                                                                  "user": getattr(request.state, "user", None)},
                                          status_code=status)

    app.add_middleware(HeadersAndLog, error_page=error_page)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, _exc: LoginRequired) -> Response:
        if _wants_json(request):
            return JSONResponse({"error": "authentication required"}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        msg = exc.detail if isinstance(exc.detail, str) else "error"
        if exc.status_code == 404 and msg == "Not Found":
            msg = "no such page"
        return error_page(request, exc.status_code, msg)

    @app.exception_handler(RequestValidationError)
    async def bad_input(request: Request, exc: RequestValidationError) -> Response:
        fields = sorted({_field(e.get("loc", ())) for e in exc.errors()})
        return error_page(request, 400, f"invalid value for {', '.join(fields)}")

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> Response:
        # the type only: a library's message may quote data (PHI)
        log.error("%s internal error %s", getattr(request.state, "request_id", "-"), type(exc).__name__)
        return error_page(request, 500, "internal error (the request id is in the server log)")

    from dermedi.web.routes import accounts, api, auth, dashboard, items, queue, remits

    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    _mount_api_docs(app, templates)
    for r in (auth.router, queue.router, items.router, remits.router, dashboard.router, accounts.router, api.router):
        app.include_router(r)
    return app


def _mount_api_docs(app: FastAPI, templates: Jinja2Templates) -> None:
    """The OpenAPI page at /api/docs with Swagger UI from the swagger-ui-bundle package (served
    by dermedi, no CDN; the page's start-up script is a static file, so the CSP holds)."""
    try:
        import swagger_ui_bundle
    except ImportError:
        return
    app.mount("/api/docs/assets", StaticFiles(directory=str(swagger_ui_bundle.swagger_ui_path)), name="swagger")

    @app.get("/api/docs", include_in_schema=False)
    def api_docs(request: Request) -> Response:
        resp: Response = templates.TemplateResponse(request, "api_docs.html", {})
        return resp


ENV_OPTIONS = "DERMEDI_WEB_OPTIONS"


def app_from_env() -> FastAPI:
    """The app of one uvicorn worker process (``dermedi web --workers N``): the configuration file
    and the web options come from the environment the parent process set."""
    import json
    import os
    from datetime import timedelta

    from config.settings import load_settings

    opts = json.loads(os.environ[ENV_OPTIONS])
    cfg = WebConfig(idle_timeout=timedelta(minutes=opts["idle_minutes"]),
                    absolute_timeout=timedelta(hours=opts["absolute_hours"]), https_only=opts["https_only"],
                    practice=opts["practice"])
    return create_app(load_settings(opts["config"]), cfg)


__all__ = ["ENV_OPTIONS", "app_from_env", "create_app"]
