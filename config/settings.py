"""dermedi.toml: settings, clearinghouse profiles and payer-profile overrides.

Looked up in this order: ``--config PATH``, then ``$DERMEDI_CONFIG``, then ``./dermedi.toml``;
with none of them, the defaults apply (embedded SQLite ``dermedi.db`` in the current folder, no
clearinghouse).  Relative paths in the file are resolved against the folder of the file.
Secrets are never kept in the file: a key passphrase comes from ``$DERMEDI_KEY_PASSPHRASE``
(or the variable named by ``passphrase_env``), a password only from ``password_file`` or
``password_env``; none of them is ever printed.

Example (these keys exactly)::

    [database]
    url = "sqlite:///dermedi.db"          # or postgresql+psycopg://user@host/db

    [[clearinghouses]]
    name = "acme"
    transport = "sftp"                     # or "directory"
    host = "127.0.0.1"
    port = 2222
    username = "dermedi"
    key_file = "keys/id_ed25519"
    known_hosts = "keys/known_hosts"
    upload_dir = "to_payer"
    response_dir = "from_payer"
    schedule = "mon-fri 18:00"
    isa_receiver_id = "ACME"

    [learning]
    table = "learned.json"                 # payer-learned edits (`dermedi learn -o learned.json`)
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

ENV_CONFIG = "DERMEDI_CONFIG"
DEFAULT_CONFIG_NAME = "dermedi.toml"
_SAFE_NAME = re.compile(r"[A-Za-z0-9._-]+\Z")


class ConfigError(Exception):
    """The configuration file is missing, unreadable or invalid (CLI exit code 4)."""


class DatabaseSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = "sqlite:///dermedi.db"
    echo: bool = False


class ClearinghouseProfile(BaseModel):
    """One clearinghouse connection and its file conventions."""

    model_config = ConfigDict(extra="forbid")

    name: str
    transport: Literal["sftp", "directory"] = "sftp"
    host: str = "127.0.0.1"
    port: int = 22
    username: str = ""
    key_file: str | None = None
    known_hosts: str | None = None
    passphrase_env: str = "DERMEDI_KEY_PASSPHRASE"  # noqa: S105 - the name of a variable
    allow_password: bool = False
    password_file: str | None = None
    password_env: str | None = None
    upload_dir: str = "to_payer"
    response_dir: str = "from_payer"
    response_archive_dir: str | None = None   # remote folder to move picked-up responses to; None = delete
    schedule: str | None = None                # e.g. "mon-fri 18:00"
    isa_receiver_id: str = ""
    isa_receiver_qualifier: str = "ZZ"
    isa_sender_id: str | None = None
    isa_sender_qualifier: str = "ZZ"
    isa_usage_indicator: Literal["T", "P"] = "P"
    file_name_template: str = "{name}_{control}_{timestamp}.x12"
    max_file_size: int = 50 * 1024 * 1024
    posix_rename: bool = True
    connect_timeout: float = 15.0
    banner_timeout: float = 10.0
    auth_timeout: float = 15.0
    channel_timeout: float = 30.0
    keepalive: int = 30
    retries: int = 4
    backoff_seconds: float = 2.0
    # local folders (relative to the data dir when not absolute)
    outbox_dir: str | None = None
    archive_dir: str | None = None
    held_dir: str | None = None
    # answers expected (docs/acks.md): the 999 within N business days of sending (weekends and US
    # federal holidays not counted), the 277CA within N calendar days, the 835 within N days
    ack_999_business_days: int = Field(default=1, ge=0)
    ack_277ca_days: int = Field(default=3, ge=0)
    remit_days_medicare: int = Field(default=30, ge=1)
    remit_days_other: int = Field(default=45, ge=1)

    @field_validator("name")
    @classmethod
    def _safe_name(cls, v: str) -> str:
        if not _SAFE_NAME.match(v):
            raise ValueError("clearinghouse name may only hold letters, digits, '.', '_' and '-'")
        return v

    @model_validator(mode="after")
    def _sftp_needs(self) -> ClearinghouseProfile:
        if self.transport == "sftp":
            missing = [k for k in ("username", "known_hosts") if not getattr(self, k)]
            if not self.key_file and not self.allow_password:
                missing.append("key_file")
            if missing:
                raise ValueError(f"sftp clearinghouse {self.name!r} needs: {', '.join(missing)}")
        return self

    def password(self) -> str | None:
        """The SFTP password, from a file or an environment variable (never from the toml)."""
        if not self.allow_password:
            return None
        if self.password_file:
            return Path(self.password_file).read_text().strip()
        if self.password_env:
            return os.environ.get(self.password_env)
        return None

    def passphrase(self) -> str | None:
        return os.environ.get(self.passphrase_env) or None

    def windows(self) -> AnswerWindows:
        return AnswerWindows(self.ack_999_business_days, self.ack_277ca_days, self.remit_days_medicare,
                             self.remit_days_other)


@dataclass(frozen=True, slots=True)
class AnswerWindows:
    """How long to wait for each answer (see :class:`ClearinghouseProfile`; defaults here too, for a
    clearinghouse that is in the ledger but no longer in the configuration)."""

    ack_999_business_days: int = 1
    ack_277ca_days: int = 3
    remit_days_medicare: int = 30
    remit_days_other: int = 45

    def remit_days(self, payer_type: str) -> int:
        return self.remit_days_medicare if payer_type == "medicare" else self.remit_days_other


class RemitsSettings(BaseModel):
    """Appeal deadlines (days from the remit date) by payer type, overridable per payer id."""

    model_config = ConfigDict(extra="forbid")
    receipt_presumption_days: int = 5
    deadline_days: dict[str, int] = Field(default_factory=lambda: {
        "medicare": 120, "medicaid": 60, "commercial": 180})
    payer_deadline_days: dict[str, int] = Field(default_factory=dict)


class LearningSettings(BaseModel):
    """Payer-learned edits: the table the scrubber loads and the defaults of ``dermedi learn``."""

    model_config = ConfigDict(extra="forbid")
    table: str | None = None                  # learned table (JSON) written by `dermedi learn -o`
    min_claims: int = Field(default=5, ge=1)
    min_rate: float = Field(default=0.5, gt=0, le=1)


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    data_dir: str = "dermedi-data"
    clearinghouses: list[ClearinghouseProfile] = Field(default_factory=list)
    remits: RemitsSettings = Field(default_factory=RemitsSettings)
    learning: LearningSettings = Field(default_factory=LearningSettings)
    # payer id -> profile overrides for the scrubber (keys as in config/payers.yaml)
    payers: dict[str, dict[str, object]] = Field(default_factory=dict)
    source: str | None = None  # the file these settings came from

    def clearinghouse(self, name: str) -> ClearinghouseProfile:
        for ch in self.clearinghouses:
            if ch.name == name:
                return ch
        known = ", ".join(c.name for c in self.clearinghouses) or "none configured"
        raise ConfigError(f"no clearinghouse named {name!r} in the configuration ({known})")

    def windows_for(self, name: str) -> AnswerWindows:
        """The answer windows of clearinghouse ``name`` (the defaults when it is not configured)."""
        for ch in self.clearinghouses:
            if ch.name == name:
                return ch.windows()
        return AnswerWindows()

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)


def find_config(path: str | os.PathLike[str] | None = None) -> Path | None:
    if path:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"configuration file not found: {p}")
        return p
    env = os.environ.get(ENV_CONFIG)
    if env:
        p = Path(env)
        if not p.is_file():
            raise ConfigError(f"${ENV_CONFIG} points to a missing file: {p}")
        return p
    p = Path(DEFAULT_CONFIG_NAME)
    return p if p.is_file() else None


def _resolve(base: Path, value: str | None) -> str | None:
    if value is None or value == "":
        return value
    p = Path(value).expanduser()
    return str(p if p.is_absolute() else (base / p))


def _resolve_sqlite(base: Path, url: str) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith("sqlite:////") and url != "sqlite:///:memory:":
        return prefix + str(base / url[len(prefix):])
    return url


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Load settings (see the module docstring for the lookup order)."""
    cfg = find_config(path)
    if cfg is None:
        return Settings()
    try:
        raw = tomllib.loads(cfg.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{cfg}: cannot read configuration: {exc}") from None
    try:
        settings = Settings.model_validate({**raw, "source": str(cfg)})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_input=False))
        raise ConfigError(f"{cfg}: invalid configuration: {problems}") from None
    base = cfg.resolve().parent
    settings.database.url = _resolve_sqlite(base, settings.database.url)
    settings.data_dir = _resolve(base, settings.data_dir) or settings.data_dir
    settings.learning.table = _resolve(base, settings.learning.table)
    for ch in settings.clearinghouses:
        ch.key_file = _resolve(base, ch.key_file)
        ch.known_hosts = _resolve(base, ch.known_hosts)
        ch.password_file = _resolve(base, ch.password_file)
        if ch.transport == "directory":
            ch.upload_dir = _resolve(base, ch.upload_dir) or ch.upload_dir
            ch.response_dir = _resolve(base, ch.response_dir) or ch.response_dir
            ch.response_archive_dir = _resolve(base, ch.response_archive_dir)
        for attr in ("outbox_dir", "archive_dir", "held_dir"):
            value = getattr(ch, attr)
            if value is None:
                value = str(Path(settings.data_dir) / attr.removesuffix("_dir") / ch.name)
            setattr(ch, attr, _resolve(base, value))
    return settings
