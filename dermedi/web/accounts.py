"""Account operations shared by ``dermedi users ...`` and the web (login, sessions, tokens).

Every change to an account and every login or failed login writes an audit row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from dermedi.web.security import backoff, hash_password, new_token, token_hash, verify_password
from remits.actions import Actor, audit
from store.accounts import ROLES, ApiToken, WebSession, WebUser


class AccountError(Exception):
    """Unknown user, duplicate name, bad role ... (one line)."""


def now() -> datetime:
    return datetime.now(UTC)


def aware(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def get_user(session: Session, name: str) -> WebUser:
    user = session.scalar(select(WebUser).where(WebUser.name == name))
    if user is None:
        raise AccountError(f"no user {name!r}")
    return user


def _role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r} (one of {', '.join(ROLES)})")
    return role


def add_user(session: Session, name: str, role: str, password: str, actor: Actor) -> WebUser:
    if not name or len(name) > 80 or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise AccountError("a user name is 1-80 letters, digits, '-', '_' or '.'")
    if session.scalar(select(WebUser.id).where(WebUser.name == name)) is not None:
        raise AccountError(f"user {name!r} exists already")
    user = WebUser(name=name, role=_role(role), password_hash=hash_password(password), disabled=False,
                   created_at=now(), failed_logins=0)
    session.add(user)
    session.flush()
    audit(session, actor, "account_add", "user", name, f"role {role}")
    return user


def set_role(session: Session, name: str, role: str, actor: Actor) -> WebUser:
    user = get_user(session, name)
    old = user.role
    user.role = _role(role)
    audit(session, actor, "account_role", "user", name, f"{old} -> {role}")
    return user


def disable_user(session: Session, name: str, actor: Actor) -> WebUser:
    user = get_user(session, name)
    user.disabled = True
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    for tok in session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))):
        tok.revoked_at = now()
    audit(session, actor, "account_disable", "user", name)
    return user


def enable_user(session: Session, name: str, actor: Actor) -> WebUser:
    user = get_user(session, name)
    user.disabled = False
    user.failed_logins = 0
    user.locked_until = None
    audit(session, actor, "account_enable", "user", name)
    return user


def reset_password(session: Session, name: str, password: str, actor: Actor) -> WebUser:
    user = get_user(session, name)
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    audit(session, actor, "account_password", "user", name)
    return user


def new_api_token(session: Session, name: str, actor: Actor, label: str = "") -> tuple[ApiToken, str]:
    user = get_user(session, name)
    raw = "dmd_" + new_token()
    tok = ApiToken(user_id=user.id, token_hash=token_hash(raw), label=label[:80], created_at=now())
    session.add(tok)
    session.flush()
    audit(session, actor, "token_add", "api_token", tok.id, f"user {name}")
    return tok, raw


def revoke_api_token(session: Session, token_id: int, actor: Actor) -> ApiToken:
    tok = session.get(ApiToken, token_id)
    if tok is None:
        raise AccountError(f"no API token {token_id}")
    tok.revoked_at = tok.revoked_at or now()
    audit(session, actor, "token_revoke", "api_token", token_id)
    return tok


@dataclass(frozen=True, slots=True)
class LoginResult:
    user: WebUser | None
    session_token: str | None
    csrf_token: str | None
    message: str


def login(session: Session, name: str, password: str, client: str, *, threshold: int = 5,
          base_seconds: int = 30) -> LoginResult:
    """Check a password; on success open a DB session (cookie token returned once, stored hashed).

    Failed logins in a row lock the account for a growing time (:func:`security.backoff`);
    while locked even the right password is refused.  Every attempt is audited.
    """
    t = now()
    user = session.scalar(select(WebUser).where(WebUser.name == name)) if name else None
    actor = Actor(name[:80] or "(none)", "web", client)
    refused = "wrong user name or password, or the account is locked for a while"
    if user is not None and user.locked_until is not None and aware(user.locked_until) > t:
        verify_password(None, password)          # same cost as a real check
        audit(session, actor, "login_failed", "user", name, "locked")
        return LoginResult(None, None, None, refused)
    ok = verify_password(user.password_hash if user is not None else None, password)
    if user is None or not ok or user.disabled:
        if user is not None:
            user.failed_logins += 1
            wait = backoff(user.failed_logins, threshold=threshold, base_seconds=base_seconds)
            user.locked_until = t + wait if wait is not None else None
        audit(session, actor, "login_failed", "user", name,
              "disabled" if user is not None and user.disabled and ok else "bad credentials")
        return LoginResult(None, None, None, refused)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = t
    raw = new_token()
    csrf = new_token()
    session.add(WebSession(token_hash=token_hash(raw), user_id=user.id, csrf_token=csrf, created_at=t,
                           last_seen_at=t, client=client[:64]))
    audit(session, actor, "login", "user", name)
    return LoginResult(user, raw, csrf, "")


def logout(session: Session, raw_token: str, actor: Actor) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == token_hash(raw_token)))
    audit(session, actor, "logout", "user", actor.user)


@dataclass(frozen=True, slots=True)
class SessionUser:
    id: int
    name: str
    role: str
    csrf: str
    token_hash: str
    channel: str = "web"
    touch: datetime | None = None     # a new last-seen time to write at the end of the request


def session_user(session: Session, raw_token: str, *, idle: timedelta, absolute: timedelta,
                 touch_every: timedelta = timedelta(seconds=20)) -> SessionUser | None:
    """The user of a live session, or None (expired sessions are deleted)."""
    h = token_hash(raw_token)
    row = session.connection().execute(_SESSION_LOOKUP, {"h": h}).first()
    if row is None:
        return None
    t = now()
    if row.disabled or aware(row.last_seen_at) + idle < t or aware(row.created_at) + absolute < t:
        session.execute(delete(WebSession).where(WebSession.token_hash == h))
        return None
    touch = t if aware(row.last_seen_at) + touch_every < t else None
    return SessionUser(row.id, row.name, row.role, row.csrf_token, h, touch=touch)


# the one query of every page request: Core columns (no ORM objects), one cached statement
_SESSION_LOOKUP = (select(WebSession.last_seen_at, WebSession.created_at, WebSession.csrf_token, WebUser.id,
                          WebUser.name, WebUser.role, WebUser.disabled)
                   .join(WebUser, WebUser.id == WebSession.user_id)
                   .where(WebSession.token_hash == bindparam("h")))


def token_user(session: Session, raw_token: str) -> SessionUser | None:
    row = session.execute(select(ApiToken, WebUser).join(WebUser, WebUser.id == ApiToken.user_id)
                          .where(ApiToken.token_hash == token_hash(raw_token))).first()
    if row is None:
        return None
    tok, user = row
    if tok.revoked_at is not None or user.disabled:
        return None
    return SessionUser(user.id, user.name, user.role, "", "", "api")


def expire_sessions(session: Session, *, idle: timedelta, absolute: timedelta) -> int:
    t = now()
    res = session.execute(delete(WebSession).where(
        (WebSession.last_seen_at < t - idle) | (WebSession.created_at < t - absolute)))
    return int(getattr(res, "rowcount", 0) or 0)


__all__ = ["AccountError", "LoginResult", "SessionUser", "add_user", "disable_user", "enable_user", "get_user",
           "login", "logout", "new_api_token", "reset_password", "revoke_api_token", "session_user", "set_role",
           "token_user"]
