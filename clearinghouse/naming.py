"""Remote file names: sanitized, unique, never with spaces or shell metacharacters."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

# Optum/Change forbid these (plus spaces); we keep a stricter allow-list: letters, digits, '.', '_', '-'.
FORBIDDEN = set(" '\"()[]{}/,$@&=+*#!%`|?<>;\\\t\r\n")
_BAD = re.compile(r"[^A-Za-z0-9._-]+")
MAX_NAME = 120


def sanitize(name: str) -> str:
    """A safe remote name: other characters become '_', no leading dot/dash, at most 120 characters."""
    clean = _BAD.sub("_", name).strip("._-") or "file"
    return clean[:MAX_NAME]


def remote_name(template: str, *, name: str, control: int, when: datetime | None = None) -> str:
    """Render the profile's ``file_name_template`` ({name}, {control}, {timestamp}) and sanitize it."""
    when = when or datetime.now(UTC)
    try:
        rendered = template.format(name=sanitize(name), control=f"{control:09d}",
                                   timestamp=when.strftime("%Y%m%d%H%M%S"))
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"bad file_name_template {template!r}: {exc}") from None
    return sanitize(rendered)


def temp_name(final: str) -> str:
    """The dot-name a file is uploaded under before its atomic rename: ``.NAME.<uuid>.part``."""
    return f".{final}.{uuid.uuid4().hex}.part"


def is_temp_of(candidate: str, final: str) -> bool:
    return candidate.startswith(f".{final}.") and candidate.endswith(".part")


def is_temp(candidate: str) -> bool:
    return candidate.startswith(".") and candidate.endswith(".part")
