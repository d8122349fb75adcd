"""ICD-10-CM code set (FY2026, April 1 2026 update) for validity and billability checks.

The code list comes from the data shipped in the ``simple-icd-10-cm`` package (1.5.0:
``code-list-April-2026.txt``, CMS FY2026 April update).  We read that file directly instead of
importing the package (whose import parses the 30 MB tabular XML, ~4 s): a code is *billable* when
no other code extends it (a leaf), a *header* when it is a category or subcategory that has
children (C44.9, C44.31: valid but not billable).  74,719 billable codes, identical to the CMS
FY2026 April code list (domain/data/icd10cm_python_packages.yaml).  Loading takes ~0.3 s once per
process; lookups are set accesses.  ``config/tables/icd10cm_fy2025_retired.csv`` lists the 28 codes
billable in FY2025 but not in FY2026; they stay billable for dates of service up to 2025-09-30.
"""

from __future__ import annotations

import importlib.util
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Literal

CODE_LIST = "code-list-April-2026.txt"
RETIRED_FILE = Path(__file__).parent / "tables" / "icd10cm_fy2025_retired.csv"
VERSION = "ICD-10-CM FY2026 (April 1 2026 update)"
FY_START = date(2025, 10, 1)        # FY2026 code set in force 2025-10-01 ...
FY_END = date(2026, 9, 30)          # ... through 2026-09-30

IcdStatus = Literal["billable", "header", "unknown_in_category", "invalid"]


class Icd10Error(Exception):
    """The ICD-10-CM code list could not be read."""


def undotted(code: str) -> str:
    return code.replace(".", "").strip().upper()


@dataclass(frozen=True, slots=True)
class Icd10CM:
    billable: frozenset[str]        # undotted leaf codes
    headers: frozenset[str]         # undotted categories/subcategories with children
    categories: frozenset[str]      # 3-character categories
    ordered: tuple[str, ...] = ()   # billable codes, sorted (prefix searches)
    retired: Mapping[str, date] = field(default_factory=dict)   # FY2025 codes gone in FY2026 -> last day
    version: str = VERSION

    def status(self, code: str, dos: date | None = None) -> IcdStatus:
        """``billable``, ``header`` (valid, not billable), ``unknown_in_category`` (the 3-character
        category exists but the code does not) or ``invalid``.  Dotted or undotted input.  With a date
        of service, codes retired on 2025-10-01 count as billable up to their last day."""
        if code in self.billable:       # already undotted and upper case (the common case)
            return "billable"
        c = undotted(code)
        if c in self.billable:
            return "billable"
        if dos is not None and c in self.retired and dos <= self.retired[c]:
            return "billable"
        if c in self.headers:
            return "header"
        if c[:3] in self.categories:
            return "unknown_in_category"
        return "invalid"

    def is_billable(self, code: str) -> bool:
        return undotted(code) in self.billable

    def is_valid(self, code: str) -> bool:
        c = undotted(code)
        return c in self.billable or c in self.headers

    def children_hint(self, code: str, limit: int = 4) -> list[str]:
        """A few billable codes under a header (for messages); sorted, dotted."""
        c = undotted(code)
        out: list[str] = []
        if c in self.headers:
            i = bisect_left(self.ordered, c)
            while i < len(self.ordered) and len(out) < limit and self.ordered[i].startswith(c):
                out.append(self.ordered[i])
                i += 1
        return [x if len(x) <= 3 else f"{x[:3]}.{x[3:]}" for x in out]


def _code_list_path() -> Path:
    spec = importlib.util.find_spec("simple_icd_10_cm")
    if spec is None or not spec.submodule_search_locations:
        raise Icd10Error("the simple-icd-10-cm package is not installed")
    base = Path(next(iter(spec.submodule_search_locations)))
    path = base / "data" / CODE_LIST
    if not path.exists():
        raise Icd10Error(f"ICD-10-CM code list {path} is missing (simple-icd-10-cm version?)")
    return path


@cache
def load_icd10cm(path: str | None = None) -> Icd10CM:
    """The FY2026 ICD-10-CM code set (cached per process; the packaged list also across runs,
    ``config/cache.py``)."""
    if path:
        return _read_code_set(Path(path))
    from config.cache import cached

    p = _code_list_path()
    return cached("icd10cm", [p, RETIRED_FILE, Path(__file__)], Icd10CM, lambda: _read_code_set(p))


def _read_code_set(p: Path) -> Icd10CM:
    codes: set[str] = set()
    with p.open(encoding="utf-8") as fh:
        for line in fh:
            c = line.strip()
            if c and "-" not in c and not c.isdigit():      # skip chapters (1..22) and blocks (A00-A09)
                codes.add(c.replace(".", ""))
    # Sorted, every extension of a code directly follows it: a code is a header when the next one
    # extends it, a billable leaf otherwise.
    ordered = sorted(codes)
    parents = [c for c, nxt in pairwise(ordered) if nxt.startswith(c)]
    headers = frozenset(parents)
    billable = tuple(c for c in ordered if c not in headers)
    retired: dict[str, date] = {}
    if RETIRED_FILE.exists():
        with RETIRED_FILE.open(encoding="utf-8") as fh:
            for line in fh:
                if line.startswith(("#", "code,")) or not line.strip():
                    continue
                code, until = line.strip().split(",")[:2]
                retired[code] = date.fromisoformat(until)
    return Icd10CM(billable=frozenset(billable), headers=headers,
                   categories=frozenset(c for c in ordered if len(c) == 3), ordered=billable, retired=retired)
