"""Web workspace persistence: accounts, sessions, API tokens, stored appeal letters
(schema from migration ``0006_web``).

* ``web_users``          one row per person: name, role (biller | lead | admin), Argon2 hash,
                         disabled flag, failed-login counter and back-off time.
* ``web_sessions``       browser sessions, in the database so that several ``dermedi web``
                         processes can serve one PostgreSQL: the cookie holds a random token,
                         the table its SHA-256 (a stolen database does not yield live cookies).
* ``web_api_tokens``     per-user API tokens, stored as SHA-256, revocable.
* ``appeal_letters``     the text and PDF of each appeal letter written for a worklist item.

Hashing passwords and minting tokens is the web layer's job (``dermedi/web/security.py``);
this module only stores what it is given.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store import Base

ROLES: tuple[str, ...] = ("biller", "lead", "admin")


class WebUser(Base):
    __tablename__ = "web_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    role: Mapped[str] = mapped_column(String(10))
    password_hash: Mapped[str] = mapped_column(String(200))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class WebSession(Base):
    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    client: Mapped[str] = mapped_column(String(64), default="")


class ApiToken(Base):
    __tablename__ = "web_api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class AppealLetter(Base):
    __tablename__ = "appeal_letters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("work_items.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(80))
    template: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)                   # the letter as edited (PHI)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    follow_up: Mapped[date | None] = mapped_column(Date, nullable=True)
