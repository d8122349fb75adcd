"""The web workspace over HTTP (FastAPI TestClient), on SQLite and PostgreSQL: the authorization
matrix (each role x each route, another biller's item by id), CSRF, idle and absolute timeouts,
failed-login back-off, security headers, the audit row of every view and change, bad input,
stale forms, and that no server log line carries sample PHI."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from dbfixtures import db_url  # noqa: F401
from fastapi.testclient import TestClient
from phi import phi_in
from sqlalchemy import Engine, select, update
from typer.testing import CliRunner

from config.settings import DatabaseSettings, Settings
from dermedi.web.accounts import add_user, new_api_token
from dermedi.web.app import create_app
from dermedi.web.deps import WebConfig
from remits.actions import Actor
from remits.ingest import ingest_835_file
from remits.worklist import record_submitted_file, update_item
from store import open_database, session_scope
from store.accounts import AppealLetter, WebSession, WebUser
from store.audit import AuditEvent
from store.remits import RemitFile, RemitPayment, WorkItem

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
UNBALANCED = ROOT / "tests" / "data" / "835" / "derm_unbal.835"
TODAY = date(2026, 11, 21)
PASSWORDS = {"lead1": "lead-password-1", "bill1": "biller-password-1", "bill2": "biller-password-2",
             "admin1": "admin-password-1"}
ROLES = {"lead1": "lead", "bill1": "biller", "bill2": "biller", "admin1": "admin"}
CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')
VERSION_RE = re.compile(r'name="version" value="([^"]+)"')


@dataclass
class World:
    engine: Engine
    app: Any
    own: int           # an in-progress item owned by bill1
    free: int          # an unassigned new item
    spare: int         # another unassigned item (bulk assign target)
    payment: int
    quarantined: int
    tokens: dict[str, str]


def _fill(engine: Engine) -> tuple[int, int, int, int, int]:
    with session_scope(engine) as s:
        for f in ("medicare-mb.837", "commercial-ci-bl.837"):
            record_submitted_file(s, SAMPLES / f)
    for f in (SAMPLES / "remit-medicare-mb.835", SAMPLES / "remit-commercial.835", UNBALANCED):
        ingest_835_file(engine, f, today=TODAY)
    with session_scope(engine) as s:
        items = list(s.scalars(select(WorkItem).where(WorkItem.submitted_claim_id.is_not(None))
                               .order_by(WorkItem.id)))
        own, free, spare = items[0].id, items[1].id, items[2].id
        update_item(s, own, status="in_progress", user="bill1")
        payment = s.scalars(select(RemitPayment.id).order_by(RemitPayment.id)).first()
        q = s.scalars(select(RemitFile.id).where(RemitFile.status == "quarantined")).first()
        assert payment is not None and q is not None
    return own, free, spare, payment, q


@pytest.fixture
def world(db_url: str, caplog: pytest.LogCaptureFixture) -> Iterator[World]:  # noqa: F811
    caplog.set_level(logging.INFO)
    engine = open_database(db_url)
    own, free, spare, payment, q = _fill(engine)
    tokens: dict[str, str] = {}
    with session_scope(engine) as s:
        for name, role in ROLES.items():
            add_user(s, name, role, PASSWORDS[name], Actor("setup", "cli"))
            tokens[name] = new_api_token(s, name, Actor("setup", "cli"))[1]
    app = create_app(Settings(database=DatabaseSettings(url=db_url)), WebConfig(), engine=engine)
    try:
        yield World(engine, app, own, free, spare, payment, q, tokens)
    finally:
        # no server log line of any web test carries a patient name, member id or birth date
        leaked = phi_in("\n".join(r.getMessage() for r in caplog.records))
        engine.dispose()
        assert not leaked, f"PHI in the server log: {len(leaked)} values"


class Client:
    """One browser: its own cookie jar, logged in as ``name`` (or anonymous)."""

    def __init__(self, app: Any, name: str | None = None) -> None:
        self.http = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
        self.name = name
        self.csrf = ""
        if name is not None:
            r = self.login(name, PASSWORDS[name])
            assert r.status_code == 303 and r.headers["location"] == "/queue", r.text[:300]
            page = self.http.get("/queue" if ROLES[name] != "admin" else "/admin/users")
            self.csrf = CSRF_RE.search(page.text).group(1)  # type: ignore[union-attr]

    def login(self, name: str, password: str) -> Any:
        page = self.http.get("/login")
        token = CSRF_RE.search(page.text).group(1)  # type: ignore[union-attr]
        return self.http.post("/login", data={"username": name, "password": password, "csrf": token})

    def get(self, path: str) -> Any:
        return self.http.get(path)

    def post(self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True) -> Any:
        form = dict(data or {})
        if csrf:
            form["csrf"] = self.csrf
        return self.http.post(path, data=form)


def _version(engine: Engine, item_id: int) -> str:
    from remits.actions import version_of

    with session_scope(engine) as s:
        item = s.get(WorkItem, item_id)
        assert item is not None
        return version_of(item)


def _audit(engine: Engine, **where: Any) -> list[AuditEvent]:
    with session_scope(engine) as s:
        q = select(AuditEvent)
        for k, v in where.items():
            q = q.where(getattr(AuditEvent, k) == v)
        return list(s.scalars(q.order_by(AuditEvent.id)))


def _letter(w: World) -> int:
    with session_scope(w.engine) as s:
        got = s.scalars(select(AppealLetter.id).where(AppealLetter.item_id == w.own)).first()
    if got is None:
        Client(w.app, "bill1").post(f"/items/{w.own}/appeal", {"body": "Dear reviewer,\n\nPlease pay.",
                                                               "template": "reconsideration"})
        with session_scope(w.engine) as s:
            got = s.scalars(select(AppealLetter.id).where(AppealLetter.item_id == w.own)).first()
    assert got is not None
    return got


ANON, ADMIN, OTHER, OWNER, LEAD = "anon", "admin1", "bill2", "bill1", "lead1"
WORKERS = {OTHER, OWNER, LEAD}


def _matrix(w: World) -> list[tuple[str, str, Any, set[str], int]]:
    """(method, path, form data or callable, roles allowed, success status)."""
    own, free, spare = w.own, w.free, w.spare
    return [
        ("GET", "/queue", None, WORKERS, 200),
        ("GET", "/queue?status=all&sort=amount", None, WORKERS, 200),
        ("GET", f"/items/{own}", None, {OWNER, LEAD}, 200),
        ("GET", f"/items/{free}", None, WORKERS, 200),
        ("GET", f"/items/{own}/appeal", None, {OWNER, LEAD}, 200),
        ("POST", f"/items/{own}/note", lambda: {"note": "called", "version": _version(w.engine, own)},
         {OWNER, LEAD}, 303),
        ("POST", f"/items/{own}/status", lambda: {"status": "in_progress", "version": _version(w.engine, own)},
         {OWNER, LEAD}, 303),
        ("POST", f"/items/{own}/assign", lambda: {"owner": "bill1", "version": _version(w.engine, own)}, {LEAD}, 303),
        ("POST", f"/items/{own}/priority", lambda: {"priority": "500", "version": _version(w.engine, own)},
         {LEAD}, 303),
        ("POST", f"/items/{own}/corrected", {}, {OWNER, LEAD}, 200),
        ("POST", f"/items/{own}/appeal", {"body": "Dear reviewer,\n\nPlease pay.", "template": "reconsideration"},
         {OWNER, LEAD}, 303),
        ("GET", "/letters/{letter}.pdf", None, {OWNER, LEAD}, 200),
        ("POST", "/queue/search", {"q": "P3-260001"}, WORKERS, 200),
        ("GET", "/remits", None, WORKERS, 200),
        ("GET", f"/remits/{w.payment}", None, WORKERS, 200),
        ("GET", f"/quarantine/{w.quarantined}", None, WORKERS, 200),
        ("GET", "/dashboard", None, WORKERS, 200),
        ("GET", "/dashboard?owner=bill1", None, {OWNER, LEAD}, 200),
        ("GET", "/admin/users", None, {ADMIN}, 200),
        ("POST", "/admin/users", {"op": "role", "name": "bill2", "role": "biller"}, {ADMIN}, 303),
        ("POST", "/queue/next", {}, WORKERS, 303),
        ("POST", "/queue/assign", {"assign_to": "bill2", "ids": str(spare)}, {LEAD}, 303),
        ("POST", f"/quarantine/{w.quarantined}/release", {}, {LEAD}, 303),
    ]


def test_authorization_matrix_pages(world: World) -> None:
    w = world
    clients = {name: Client(w.app, None if name == ANON else name) for name in (ANON, ADMIN, OTHER, OWNER, LEAD)}
    letter = _letter(w)
    for method, path, data, allowed, ok in _matrix(w):
        path = path.replace("{letter}", str(letter))
        for role, c in clients.items():      # the denied roles come first: a denied change changes nothing
            form = data() if callable(data) else data
            r = c.get(path) if method == "GET" else c.post(path, form)
            where = f"{role} {method} {path}"
            if role == ANON:
                assert r.status_code == 303 and r.headers["location"] == "/login", where
            elif role in allowed:
                assert r.status_code == ok, f"{where}: {r.status_code} {r.text[:300]}"
            else:
                assert r.status_code == 403, f"{where}: {r.status_code}"
                assert "Traceback" not in r.text


def test_biller_cannot_open_or_change_another_billers_item(world: World) -> None:
    w = world
    other = Client(w.app, "bill2")
    before = _version(w.engine, w.own)
    assert other.get(f"/items/{w.own}").status_code == 403
    r = other.post(f"/items/{w.own}/status", {"status": "new", "version": before})
    assert r.status_code == 403
    api = TestClient(w.app, raise_server_exceptions=False)
    h = {"Authorization": f"Bearer {w.tokens['bill2']}"}
    assert api.get(f"/api/items/{w.own}", headers=h).status_code == 403
    assert api.post(f"/api/items/{w.own}", json={"status": "new", "version": before}, headers=h).status_code == 403
    assert _version(w.engine, w.own) == before
    # nor does the queue list it, or the search find it
    listed = api.get("/api/items?status=all&limit=500", headers=h).json()["items"]
    assert w.own not in {i["id"] for i in listed}
    assert not any(v.object_id == str(w.own) and v.user == "bill2" for v in _audit(w.engine, action="view_item"))


def test_api_matrix_and_audit(world: World) -> None:
    w = world
    api = TestClient(w.app, raise_server_exceptions=False)
    for path in ("/api/items", f"/api/items/{w.own}", "/api/export", "/api/me"):
        r = api.get(path)
        assert r.status_code == 401 and r.json() == {"error": "authentication required"}
    assert api.get("/api/items", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert api.post("/api/next").status_code == 401
    for name, allowed in (("admin1", False), ("bill1", True), ("lead1", True)):
        h = {"Authorization": f"Bearer {w.tokens[name]}"}
        assert api.get("/api/me", headers=h).json()["role"] == ROLES[name]
        for method, path in (("GET", "/api/items"), ("GET", f"/api/items/{w.own}"), ("GET", "/api/export")):
            r = api.request(method, path, headers=h)
            assert (r.status_code == 200) == allowed, (name, path, r.status_code)
    h = {"Authorization": f"Bearer {w.tokens['bill1']}"}
    got = api.get(f"/api/items/{w.own}", headers=h).json()
    r = api.post(f"/api/items/{w.own}", headers=h, json={"note": "api note", "version": got["version"]})
    assert r.status_code == 200
    # a biller cannot assign through the API
    r = api.post(f"/api/items/{w.own}", headers=h, json={"owner": "bill2", "version": r.json()["version"]})
    assert r.status_code == 403
    # the stale version is refused, nothing overwritten
    r = api.post(f"/api/items/{w.own}", headers=h, json={"status": "new", "version": got["version"]})
    assert r.status_code == 409 and "changed by someone else" in r.json()["error"]
    r = api.post("/api/next", headers=h)
    assert r.status_code == 200 and r.json()["item"]["owner"] == "bill1"
    rows = _audit(w.engine, channel="api", user="bill1")
    assert [e.action for e in rows][:3] == ["view_queue", "view_item", "export"]
    assert {"note", "take_next"} <= {e.action for e in rows}
    assert all(e.client == "testclient" for e in rows)
    # OpenAPI documents the API
    assert "/api/items/{item_id}" in api.get("/api/openapi.json").json()["paths"]
    # a revoked token is refused
    from dermedi.web.accounts import revoke_api_token
    from store.accounts import ApiToken

    with session_scope(w.engine) as s:
        tok = s.scalars(select(ApiToken).join(WebUser).where(WebUser.name == "bill1")).one()
        revoke_api_token(s, tok.id, Actor("admin1", "cli"))
    assert api.get("/api/me", headers=h).status_code == 401


def test_csrf_is_required_on_every_state_change(world: World) -> None:
    w = world
    lead = Client(w.app, "lead1")
    v = _version(w.engine, w.own)
    posts = [(f"/items/{w.own}/status", {"status": "new", "version": v}), (f"/items/{w.own}/note", {"note": "x",
             "version": v}), (f"/items/{w.own}/assign", {"owner": "bill2", "version": v}), ("/queue/next", {}),
             ("/queue/assign", {"assign_to": "bill2", "ids": str(w.free)}), (f"/items/{w.own}/corrected", {}),
             (f"/quarantine/{w.quarantined}/release", {}), ("/logout", {})]
    before = len(_audit(w.engine))
    for path, data in posts:
        assert lead.post(path, data, csrf=False).status_code == 403, path
        assert lead.post(path, {**data, "csrf": "forged"}, csrf=False).status_code == 403, path
    assert _version(w.engine, w.own) == v
    assert len(_audit(w.engine)) == before          # nothing happened, so nothing was recorded
    # the login form has its own token (double-submit cookie)
    anon = Client(w.app)
    r = anon.http.post("/login", data={"username": "lead1", "password": PASSWORDS["lead1"], "csrf": "x"})
    assert r.status_code == 403 and "dermedi_session" not in r.cookies


def test_session_cookie_flags_and_logout(world: World) -> None:
    c = Client(world.app)
    r = c.login("bill1", PASSWORDS["bill1"])
    cookie = r.headers["set-cookie"]
    assert "dermedi_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Secure" not in cookie
    app = create_app(world.app.state.settings, WebConfig(https_only=True), engine=world.engine)
    r = Client(app).login("bill1", PASSWORDS["bill1"])
    assert "Secure" in r.headers["set-cookie"]
    c2 = Client(world.app, "bill1")
    assert c2.post("/logout").status_code == 303
    assert c2.get("/queue").headers["location"] == "/login"


def test_idle_and_absolute_timeout(world: World) -> None:
    w = world
    c = Client(w.app, "bill1")
    assert c.get("/queue").status_code == 200
    with session_scope(w.engine) as s:
        s.execute(update(WebSession).values(last_seen_at=datetime.now(UTC) - timedelta(minutes=16)))
    r = c.get("/queue")
    assert r.status_code == 303 and r.headers["location"] == "/login"
    with session_scope(w.engine) as s:
        assert s.scalars(select(WebSession)).all() == []     # the expired session is gone
    c = Client(w.app, "bill1")
    with session_scope(w.engine) as s:
        s.execute(update(WebSession).values(created_at=datetime.now(UTC) - timedelta(hours=9)))
    assert c.get("/queue").status_code == 303
    # a configured idle timeout: 5 minutes
    app = create_app(w.app.state.settings, WebConfig(idle_timeout=timedelta(minutes=5)), engine=w.engine)
    c = Client(app, "bill1")
    with session_scope(w.engine) as s:
        s.execute(update(WebSession).values(last_seen_at=datetime.now(UTC) - timedelta(minutes=6)))
    assert c.get("/queue").status_code == 303


def test_failed_logins_back_off(world: World) -> None:
    w = world
    c = Client(w.app)
    for _ in range(5):
        r = c.login("bill1", "wrong-password")
        assert r.status_code == 401 and "dermedi_session" not in r.cookies
    # locked now: even the right password is refused
    r = c.login("bill1", PASSWORDS["bill1"])
    assert r.status_code == 401
    with session_scope(w.engine) as s:
        u = s.scalars(select(WebUser).where(WebUser.name == "bill1")).one()
        assert u.failed_logins == 5 and u.locked_until is not None
        s.execute(update(WebUser).where(WebUser.name == "bill1").values(
            locked_until=datetime.now(UTC) - timedelta(seconds=1)))
    assert c.login("bill1", PASSWORDS["bill1"]).status_code == 303
    fails = _audit(w.engine, action="login_failed", object_id="bill1")
    assert len(fails) == 6 and fails[-1].detail == "locked" and fails[0].client == "testclient"
    assert len(_audit(w.engine, action="login", object_id="bill1")) == 1
    # unknown users and disabled accounts fail the same way
    assert c.login("nobody", "whatever-password").status_code == 401
    from dermedi.web.accounts import disable_user

    with session_scope(w.engine) as s:
        disable_user(s, "bill2", Actor("admin1", "cli"))
    assert c.login("bill2", PASSWORDS["bill2"]).status_code == 401


def test_security_headers_on_every_answer(world: World) -> None:
    c = Client(world.app, "bill1")
    api = TestClient(world.app, raise_server_exceptions=False)
    for r in (c.get("/queue"), c.get("/login"), c.get("/static/style.css"), c.get("/items/999999"),
              api.get("/api/items"), c.get(f"/items/{world.own}")):
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assert "unsafe-inline" not in r.headers["content-security-policy"]
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
    page = c.get("/queue").text
    assert "<script>" not in page and "<script src=\"/static/app.js\"" in page and "style=" not in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "") and "https://" not in page
    assert c.get(f"/items/{world.own}").headers["cache-control"] == "no-store"


def test_every_view_and_change_writes_its_audit_row(world: World) -> None:
    w = world
    c = Client(w.app, "bill1")
    page = c.get(f"/items/{w.own}")
    assert page.status_code == 200
    # the patient's identity is on the item page (the view is audited) ...
    assert phi_in(page.text)
    v = VERSION_RE.search(page.text).group(1)  # type: ignore[union-attr]
    assert c.post(f"/items/{w.own}/status", {"status": "new", "note": "back to the pool", "version": v}
                  ).status_code == 303
    c.get(f"/remits/{w.payment}")
    c.get("/dashboard")
    r = c.post("/queue/next")
    taken = int(r.headers["location"].rsplit("/", 1)[1])
    c.post(f"/items/{taken}/corrected")
    c.post(f"/items/{taken}/appeal", {"body": "Dear reviewer,\n\nPlease pay.", "template": "reconsideration"})
    with session_scope(w.engine) as s:
        letter = s.scalars(select(AppealLetter).where(AppealLetter.item_id == taken)).one()
    assert letter.pdf.startswith(b"%PDF")
    c.get(f"/letters/{letter.id}.pdf")
    assert c.post(f"/letters/{letter.id}/send").status_code == 303
    lead = Client(w.app, "lead1")
    lead.post(f"/quarantine/{w.quarantined}/release")
    rows = [(e.user, e.action, e.object_id) for e in _audit(w.engine) if e.user in ("bill1", "lead1")]
    for expected in [("bill1", "login", "bill1"), ("bill1", "view_item", str(w.own)), ("bill1", "status", str(w.own)),
                     ("bill1", "view_remit", str(w.payment)), ("bill1", "view_dashboard", "bill1"),
                     ("bill1", "take_next", str(taken)), ("bill1", "corrected_claim", str(taken)),
                     ("bill1", "appeal_letter", str(taken)), ("bill1", "view_appeal", str(letter.id)),
                     ("bill1", "appeal_sent", str(letter.id)), ("lead1", "release_remit", str(w.quarantined))]:
        assert expected in rows, expected
    with session_scope(w.engine) as s:
        item = s.get(WorkItem, taken)
        sent = s.get(AppealLetter, letter.id)
        assert item is not None and sent is not None
        assert item.status == "appealed" and sent.follow_up == item.deadline and sent.follow_up is not None
    # ... but never in the audit rows
    assert not phi_in("\n".join(f"{e.detail} {e.object_id}" for e in _audit(w.engine)))


def test_bad_input_names_the_field_and_unknown_ids_are_404(world: World) -> None:
    c = Client(world.app, "lead1")
    for path, field in (("/queue?category=nope", "category"), ("/queue?amount_min=abc", "amount_min"),
                        ("/queue?status=done", "status"), ("/queue?sort=patient", "sort"),
                        ("/queue?after=zzz", "after"), ("/queue?deadline=soon", "deadline"),
                        ("/items/abc", "item_id")):
        r = c.get(path)
        assert r.status_code == 400 and f"invalid value for {field}" in r.text, path
        assert "Traceback" not in r.text
    assert c.get("/items/999999").status_code == 404
    assert c.get("/remits/999999").status_code == 404
    assert c.get("/letters/999999.pdf").status_code == 404
    assert c.post("/items/999999/note", {"note": "x", "version": "v"}).status_code == 404
    r = c.post(f"/items/{world.own}/status", {"status": "resolved"})
    assert r.status_code == 400 and "version" in r.text
    r = c.post(f"/items/{world.own}/priority", {"priority": "NaN", "version": _version(world.engine, world.own)})
    assert r.status_code == 400 and "priority" in r.text
    api = TestClient(world.app, raise_server_exceptions=False)
    h = {"Authorization": f"Bearer {world.tokens['lead1']}"}
    r = api.get("/api/items?limit=0", headers=h)
    assert r.status_code == 400 and "limit" in r.json()["error"]
    r = api.post(f"/api/items/{world.own}", headers=h, json={"status": "new"})
    assert r.status_code == 400 and "version" in r.json()["error"]


def test_stale_form_is_a_conflict(world: World) -> None:
    w = world
    a, b = Client(w.app, "bill1"), Client(w.app, "lead1")
    va = VERSION_RE.search(a.get(f"/items/{w.own}").text).group(1)  # type: ignore[union-attr]
    vb = VERSION_RE.search(b.get(f"/items/{w.own}").text).group(1)  # type: ignore[union-attr]
    assert a.post(f"/items/{w.own}/status", {"status": "resolved", "version": va}).status_code == 303
    r = b.post(f"/items/{w.own}/status", {"status": "written_off", "version": vb})
    assert r.status_code == 409 and "changed by someone else" in unescape(r.text)
    with session_scope(w.engine) as s:
        item = s.get(WorkItem, w.own)
        assert item is not None and item.status == "resolved"


def test_queue_filters_keyset_pages_and_totals(world: World) -> None:
    w = world
    lead = Client(w.app, "lead1")
    app = create_app(w.app.state.settings, WebConfig(page_size=3), engine=w.engine)
    small = Client(app, "lead1")
    seen: list[int] = []
    path = "/queue?status=all"
    while True:
        page = small.get(path).text
        ids = [int(x) for x in re.findall(r'href="/items/(\d+)"', page)]
        assert len(ids) <= 3
        seen += ids
        nxt = re.search(r'id="next-page" href="([^"]+)"', page)
        if not nxt:
            break
        path = unescape(nxt.group(1))
        assert "offset" not in path
    with session_scope(w.engine) as s:
        everything = list(s.scalars(select(WorkItem.id).order_by(WorkItem.priority.desc(), WorkItem.id)))
    assert seen == everything
    page = lead.get("/queue?category=bundling&status=all").text
    n = int(re.search(r'id="totals"><strong>(\d+)</strong>', page).group(1))  # type: ignore[union-attr]
    with session_scope(w.engine) as s:
        assert n == len(s.scalars(select(WorkItem.id).where(WorkItem.category == "bundling")).all())
    # a biller's queue shows only unassigned items and their own, in the same order, page by page
    with session_scope(w.engine) as s:
        update_item(s, w.spare, status="in_progress", user="bill2")
    for sort in ("priority", "amount", "deadline", "id"):
        bill2 = Client(app, "bill2")
        seen, path = [], f"/queue?status=all&sort={sort}"
        while path:
            page = bill2.get(path).text
            seen += [int(x) for x in re.findall(r'href="/items/(\d+)"', page)]
            nxt = re.search(r'id="next-page" href="([^"]+)"', page)
            path = unescape(nxt.group(1)) if nxt else ""
        from remits.queue import SORTS, QueueFilter, queue_page

        with session_scope(w.engine) as s:
            visible = [i.id for i in s.scalars(select(WorkItem).where(
                (WorkItem.owner.is_(None)) | (WorkItem.owner == "bill2")).order_by(
                SORTS[sort][0].desc() if SORTS[sort][1] else SORTS[sort][0].asc(),
                WorkItem.id.desc() if sort == "id" else WorkItem.id.asc()))]
            assert [i.id for i in queue_page(s, QueueFilter(status="all"), sort=sort, limit=1000).items] != []
        assert seen == visible, sort
        assert w.own not in seen and w.free in seen and w.spare in seen
    # search is a POST: the patient name never lands in a URL
    r = bill2.post("/queue/search", {"q": "P3-260001"})
    assert r.status_code == 200


def test_cli_worklist_actions_are_audited(db_url: str, tmp_path: Path) -> None:  # noqa: F811
    from dermedi.cli.app import app

    engine = open_database(db_url)
    own, *_ = _fill(engine)
    cfg = tmp_path / "dermedi.toml"
    cfg.write_text(f'[database]\nurl = "{db_url}"\n')
    runner = CliRunner()

    def run(*args: str) -> str:
        from dermedi.cli import commands  # noqa: F401

        r = runner.invoke(app, [*args, "--config", str(cfg)])
        assert r.exit_code == 0, r.output
        return r.output

    run("worklist", "show", str(own), "--user", "carol")
    run("worklist", "update", str(own), "--note", "from the terminal", "--user", "carol")
    run("worklist", "next", "--user", "carol")
    run("worklist", "export", "--csv", str(tmp_path / "w.csv"), "--user", "carol")
    rows = [(e.action, e.channel) for e in _audit(engine, user="carol")]
    assert rows == [("view_item", "cli"), ("note", "cli"), ("take_next", "cli"), ("export", "cli")]
    out = run("audit", "list", "--user", "carol")
    assert "view_item" in out and "take_next" in out
    run("audit", "export", "--csv", str(tmp_path / "audit.csv"))
    assert (tmp_path / "audit.csv").stat().st_mode & 0o777 == 0o600
    assert "carol" in (tmp_path / "audit.csv").read_text()
    engine.dispose()


def test_users_cli(db_url: str, tmp_path: Path) -> None:  # noqa: F811
    from dermedi.cli import commands  # noqa: F401
    from dermedi.cli.app import app

    open_database(db_url).dispose()
    cfg = tmp_path / "dermedi.toml"
    cfg.write_text(f'[database]\nurl = "{db_url}"\n')
    runner = CliRunner()
    r = runner.invoke(app, ["users", "add", "dana", "--role", "lead", "--config", str(cfg)], input="a-long-password\n")
    assert r.exit_code == 0, r.output
    assert "a-long-password" not in r.output
    r = runner.invoke(app, ["users", "add", "dana", "--role", "lead", "--config", str(cfg)], input="a-long-password\n")
    assert r.exit_code == 1 and "exists already" in r.output
    r = runner.invoke(app, ["users", "add", "eve", "--role", "boss", "--config", str(cfg)], input="a-long-password\n")
    assert r.exit_code == 1 and "unknown role" in r.output
    r = runner.invoke(app, ["users", "add", "eve", "--role", "biller", "--config", str(cfg)], input="short\n")
    assert r.exit_code == 1 and "at least 10" in r.output
    for args in (["set-role", "dana", "admin"], ["disable", "dana"], ["enable", "dana"], ["reset-password", "dana"]):
        r = runner.invoke(app, ["users", *args, "--config", str(cfg)], input="another-password\n")
        assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["users", "token", "dana", "--config", str(cfg)])
    assert r.exit_code == 0 and "dmd_" in r.output
    r = runner.invoke(app, ["users", "list", "--config", str(cfg)])
    assert "dana" in r.output and "admin" in r.output
    engine = open_database(db_url)
    actions = [e.action for e in _audit(engine, object_type="user")]
    assert actions == ["account_add", "account_role", "account_disable", "account_enable", "account_password"]
    with session_scope(engine) as s:
        u = s.scalars(select(WebUser).where(WebUser.name == "dana")).one()
        assert u.password_hash.startswith("$argon2") and "another-password" not in u.password_hash
    engine.dispose()


def test_no_code_path_updates_or_deletes_audit_rows() -> None:
    pattern = re.compile(r"(update|delete)\s*\(\s*AuditEvent|(UPDATE|DELETE\s+FROM)\s+audit_events|"
                         r"session\.delete\([^)]*audit", re.IGNORECASE)
    offenders = []
    for pkg in ("edi", "config", "scrubber", "store", "remits", "clearinghouse", "dermedi"):
        for f in (ROOT / pkg).rglob("*.py"):
            if "migrations" in f.parts:
                continue
            if pattern.search(f.read_text()):
                offenders.append(str(f.relative_to(ROOT)))
    assert offenders == []
    import store.audit

    assert not [n for n in dir(store.audit) if n.startswith(("update", "delete", "remove", "purge"))]


def test_unauthenticated_pages_redirect_to_login(world: World) -> None:
    anon = Client(world.app)
    for route in world.app.routes:
        path = getattr(route, "path", "")
        if path.startswith(("/static", "/api/docs", "/api/openapi")) or path in ("/login", "/"):
            continue
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        for method in sorted(getattr(route, "methods", set()) - {"HEAD"}):
            r = anon.http.request(method, concrete)
            if path.startswith("/api"):
                assert r.status_code == 401, (method, path, r.status_code)
            else:
                assert r.status_code == 303 and r.headers["location"] == "/login", (method, path, r.status_code)


def test_two_server_processes_share_sessions(world: World) -> None:
    """A session opened through one app (process) is valid in another with its own engine, and
    a logout in the second ends it in the first: no session state lives in process memory."""
    second_engine = open_database(world.app.state.settings.database.url)
    second = create_app(world.app.state.settings, WebConfig(), engine=second_engine)
    try:
        a = Client(world.app, "bill1")
        b = Client(second)
        b.http.cookies.set("dermedi_session", a.http.cookies["dermedi_session"])
        b.csrf = a.csrf
        assert b.get("/queue").status_code == 200
        assert b.post("/logout").status_code == 303
        assert a.get("/queue").headers["location"] == "/login"
    finally:
        second_engine.dispose()


def test_dashboard_banner_lists_late_answers_and_the_learned_patterns(world: World, tmp_path: Path) -> None:
    """Issue 13's watch and issue 12's learned table on the team's dashboard."""
    import shutil

    from clearinghouse import ledger
    from config.settings import LearningSettings

    w = world
    sid, _ = ledger.queue_submission(
        w.engine, clearinghouse="acme", content_sha256="c" * 64, file_sha256="f" * 64, source_sha256=None,
        source_name="batch.837", size=100, isa13=77, remote_dir="up", remote_name="batch_000000077.x12",
        local_path="/nonexistent", claims=[ledger.ClaimRef("LATE-1", "a" * 64, "0001")])
    ledger.mark_sent(w.engine, sid, when=datetime.now(UTC) - timedelta(days=10))
    table = tmp_path / "learned.json"
    shutil.copyfile(Path(__file__).parent / "fixtures" / "rules" / "LRN001-table.json", table)
    settings = Settings(database=DatabaseSettings(url=str(w.engine.url)), learning=LearningSettings(table=str(table)))
    app = create_app(settings, WebConfig(), engine=w.engine)
    page = unescape(Client(app, "lead1").get("/dashboard").text)
    assert "Answers that did not come" in page and "1 file(s) without a 999" in page
    assert "batch_000000077.x12" in page
    assert "Payer-learned edits" in page and "17110" in page and "8 / 10" in page
    mine = unescape(Client(app, "bill1").get("/dashboard").text)
    assert "Answers that did not come" in mine and "Payer-learned edits" not in mine   # the team's view only
