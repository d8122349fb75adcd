"""Versioned CARC / RARC tables (``config/tables/carc.csv`` and ``rarc.csv``).

Each row has a start and (for deactivated codes) a stop date and, where the X12 list names
one, a successor.  :meth:`CodeTable.resolve` answers "what does this code mean on this date":
a code used after its stop date is mapped to its successor (``CO-42`` -> ``CO-45``) and the
result says so, so the worklist can flag legacy codes still seen in remits.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

TABLES_DIR = Path(__file__).resolve().parent.parent / "config" / "tables"


@dataclass(frozen=True, slots=True)
class CodeEntry:
    code: str
    start: date | None
    stop: date | None
    successor: str
    description: str
    extra: str = ""  # carc: note; rarc: classifier signal

    def active_on(self, day: date | None) -> bool:
        if day is None:
            return self.stop is None
        if self.start is not None and day < self.start:
            return False
        return self.stop is None or day < self.stop


@dataclass(frozen=True, slots=True)
class Resolved:
    """A code as classified: ``code`` is what to route on (the successor for a deactivated code)."""

    sent: str
    code: str
    known: bool
    deactivated: bool
    description: str

    @property
    def mapped(self) -> bool:
        return self.code != self.sent


def _date(value: str) -> date | None:
    return date.fromisoformat(value) if value else None


class CodeTable:
    def __init__(self, entries: dict[str, CodeEntry], name: str) -> None:
        self.entries = entries
        self.name = name

    @classmethod
    def load(cls, path: Path, extra_column: str) -> CodeTable:
        entries: dict[str, CodeEntry] = {}
        with path.open(newline="") as fh:
            rows = csv.DictReader(line for line in fh if not line.startswith("#"))
            for row in rows:
                code = row["code"].strip().upper()
                entries[code] = CodeEntry(code, _date(row["start"]), _date(row["stop"]), row["successor"].strip(),
                                          row["description"].strip(), (row.get(extra_column) or "").strip())
        return cls(entries, path.name)

    def get(self, code: str) -> CodeEntry | None:
        return self.entries.get(code.upper())

    def resolve(self, code: str, day: date | None = None) -> Resolved:
        """The code to classify on for a remit dated ``day`` (successor chain followed)."""
        sent = code.upper()
        entry = self.entries.get(sent)
        if entry is None:
            return Resolved(sent, sent, False, False, "")
        current = entry
        seen = {sent}
        deactivated = entry.stop is not None and (day is None or day >= entry.stop)
        while (current.stop is not None and (day is None or day >= current.stop) and current.successor
               and current.successor not in seen):
            nxt = self.entries.get(current.successor)
            seen.add(current.successor)
            if nxt is None:
                return Resolved(sent, current.successor, False, True, entry.description)
            current = nxt
        return Resolved(sent, current.code, True, deactivated, entry.description)

    def description(self, code: str) -> str:
        e = self.get(code)
        return e.description if e is not None else ""


@lru_cache(maxsize=4)
def carc_table(path: str | None = None) -> CodeTable:
    return CodeTable.load(Path(path) if path else TABLES_DIR / "carc.csv", "note")


@lru_cache(maxsize=4)
def rarc_table(path: str | None = None) -> CodeTable:
    return CodeTable.load(Path(path) if path else TABLES_DIR / "rarc.csv", "signal")
