"""Payer-learned edits: the learned table (configuration) and the line features it is made of.

``dermedi learn`` (:mod:`remits.learn`) reads the store and writes a versioned JSON table of the
line patterns each payer has been denying; the scrubber loads it as configuration
(``[learning] table = "learned.json"`` in dermedi.toml, or ``dermedi scrub --learned FILE``) and
rule ``LRN001`` warns when a claim line matches a pattern of its payer.  Pure: no database here.

A line is described by a set of *items* (strings ``kind=value``), computed the same way when
learning and when scrubbing (:func:`claim_line_items`):

``proc``    the procedure code, and ``J*`` (its letter family) for HCPCS level II codes
``mod``     each modifier
``dx``      each diagnosis the line points at (dotted ICD-10-CM); ``dxcat`` its 3-character category
``pos``     the place of service (SV105, else CLM05-1)
``with``    every other procedure billed on the claim for the same date of service
``samedx``  those of them that point at one of the same diagnoses as this line
``ndc``     drug lines (letter codes with an NDC, or J codes): the NDC unit (CTP05-1), ``none`` without NDC

A pattern is one ``proc`` item (its *anchor*) and at most two other items; a line matches when it
has every item of the pattern.

Table format (``kind`` and ``format`` are checked; unknown keys are refused)::

    {"kind": "dermedi-learned-edits", "format": 1,
     "version": "2026-12-03T14:05:00Z",            # when it was learned
     "source": {"database": "sqlite:///dermedi.db", "period_from": "2026-01-01", "period_to": "2026-09-30",
                "claims": 12000, "lines": 30000, "denied_lines": 1500, "payers": 4},
     "thresholds": {"min_claims": 5, "min_rate": 0.5},
     "patterns": [{"payer_id": "87726", "procedure": "17110", "conditions": ["dx=L82.1"],
                   "group": "CO", "carc": "50", "rarcs": ["N115"], "claims": 10, "denied": 8,
                   "overturned": 1, "rate": 0.8, "first_date": "2026-01-04", "last_date": "2026-09-28"}],
     "explained": [... same fields and "rules": ["DRG001"] ...],   # already caught by a published rule
     "note": ""}                                                      # why the table is empty, if it is
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

if TYPE_CHECKING:
    from edi.x837 import Claim, ServiceLine

KIND = "dermedi-learned-edits"
FORMAT = 1
ITEM_KINDS = ("proc", "mod", "dx", "dxcat", "pos", "with", "samedx", "ndc")
LearnedMode = Literal["warning", "error", "off"]


class LearnedTableError(ValueError):
    """The learned table file is missing, unreadable or invalid (one line)."""


class LearnedPattern(BaseModel):
    """One payer's denied line pattern, with its evidence."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    payer_id: str
    procedure: str                      # the anchor: a code, or a letter family such as "J*"
    conditions: tuple[str, ...] = ()    # other items, sorted ("mod=25", "dx=L82.1", ...)
    group: str = ""
    carc: str = ""
    rarcs: tuple[str, ...] = ()
    claims: int = Field(ge=1)           # claims billing the pattern
    denied: int = Field(ge=0)           # of them denied (and not paid later)
    overturned: int = Field(default=0, ge=0)   # denied at first, paid later on appeal or resubmission
    rate: float = Field(ge=0, le=1)
    first_date: str | None = None
    last_date: str | None = None
    rules: tuple[str, ...] = ()         # explained patterns: the published rules that flagged them

    @property
    def items(self) -> frozenset[str]:
        return frozenset(self.conditions)

    @property
    def denial(self) -> str:
        """``CO-50/N115``."""
        code = f"{self.group}-{self.carc}" if self.group else self.carc
        return code + ("/" + ",".join(self.rarcs) if self.rarcs else "")

    def describe(self) -> str:
        """``17110 with L82.1``, ``99213-25 with 11102 on the same diagnosis``, ``J codes with NDC unit UN``."""
        proc = self.procedure if not self.procedure.endswith("*") else self.procedure[:-1] + " codes"
        mods = [c.split("=", 1)[1] for c in self.conditions if c.startswith("mod=")]
        if mods:
            proc += "-" + "-".join(mods)
        parts: list[str] = []
        for c in self.conditions:
            kind, _, value = c.partition("=")
            if kind == "dx":
                parts.append(f"with {value}")
            elif kind == "dxcat":
                parts.append(f"with a {value}.x diagnosis")
            elif kind == "pos":
                parts.append(f"in place of service {value}")
            elif kind == "with":
                parts.append(f"with {value} the same day")
            elif kind == "samedx":
                parts.append(f"with {value} on the same diagnosis")
            elif kind == "ndc":
                parts.append("without an NDC" if value == "none" else f"with NDC unit {value}")
        return " ".join([proc, *parts])

    def message(self, since: str | None) -> str:
        msg = (f"payer {self.payer_id} denied {self.describe()} as {self.denial} in {self.denied} of "
               f"{self.claims} claims" + (f" since {since}" if since else ""))
        if self.overturned:
            msg += f"; paid later on appeal or resubmission {self.overturned} of {self.denied + self.overturned}"
        return msg


class LearnedSource(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    database: str = ""
    period_from: str | None = None
    period_to: str | None = None
    claims: int = 0
    lines: int = 0
    denied_lines: int = 0
    payers: int = 0


class LearnedThresholds(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    min_claims: int = Field(default=5, ge=1)
    min_rate: float = Field(default=0.5, gt=0, le=1)


class LearnedTable(BaseModel):
    """The learned table; :meth:`for_payer` is what rule LRN001 asks."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["dermedi-learned-edits"] = "dermedi-learned-edits"
    format: Literal[1] = 1
    version: str
    source: LearnedSource = Field(default_factory=LearnedSource)
    thresholds: LearnedThresholds = Field(default_factory=LearnedThresholds)
    patterns: tuple[LearnedPattern, ...] = ()
    explained: tuple[LearnedPattern, ...] = ()
    note: str = ""
    _index: dict[str, dict[str, list[LearnedPattern]]] = PrivateAttr(default_factory=dict)

    def model_post_init(self, _context: Any) -> None:
        index: dict[str, dict[str, list[LearnedPattern]]] = {}
        for p in self.patterns:
            index.setdefault(p.payer_id, {}).setdefault("proc=" + p.procedure, []).append(p)
        self._index = index

    def for_payer(self, payer_id: str) -> Mapping[str, Sequence[LearnedPattern]]:
        """Anchor item (``proc=17110``, ``proc=J*``) -> that payer's patterns."""
        return self._index.get(payer_id, {})

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=1) + "\n"


def load_learned_table(path: str | Path) -> LearnedTable:
    """Read and validate a learned table file; :class:`LearnedTableError` (one line) when it is bad."""
    p = Path(path)
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LearnedTableError(f"{p}: cannot read the learned table: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LearnedTableError(f"{p}: the learned table is not JSON: {exc}") from None
    return parse_learned_table(raw, str(p))


def parse_learned_table(raw: Any, where: str = "learned table") -> LearnedTable:
    if not isinstance(raw, dict) or raw.get("kind") != KIND:
        raise LearnedTableError(f"{where}: not a dermedi learned table (kind must be {KIND!r})")
    try:
        table = LearnedTable.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        raise LearnedTableError(f"{where}: {loc}: {err['msg']}") from None
    for p in (*table.patterns, *table.explained):
        for c in p.conditions:
            if c.partition("=")[0] not in ITEM_KINDS or "=" not in c:
                raise LearnedTableError(f"{where}: pattern condition {c!r} is not kind=value with a known kind")
    return table


# ------------------------------------------------------------------------------------------
# Line features (the same at learning and at scrub time)
# ------------------------------------------------------------------------------------------


def _is_drug(line: ServiceLine) -> bool:
    code = line.code
    return bool(code) and (code[0] == "J" or (bool(line.ndc) and code[0].isalpha()))


def line_items(claim: Claim, line: ServiceLine, same_date: Iterable[ServiceLine], dx: Sequence[str]) -> set[str]:
    """The items of one line (see the module docstring); ``same_date`` are the claim's lines of the
    line's date of service (the line itself may be among them), ``dx`` the claim's dotted codes."""
    code = line.code
    items = {"proc=" + code}
    if code and code[0].isalpha():
        items.add("proc=" + code[0] + "*")
    for m in line.modifiers:
        items.add("mod=" + m)
    mine = {dx[p - 1] for p in line.pointers if 0 < p <= len(dx)}
    for d in mine:
        items.add("dx=" + d)
        items.add("dxcat=" + d[:3])
    pos = line.place_of_service or claim.place_of_service
    if pos:
        items.add("pos=" + pos)
    for other in same_date:
        if other is line or other.code == code:
            continue
        items.add("with=" + other.code)
        if mine and any(0 < p <= len(dx) and dx[p - 1] in mine for p in other.pointers):
            items.add("samedx=" + other.code)
    if _is_drug(line):
        items.add("ndc=" + ((line.ctp_unit or "nounit") if line.ndc else "none"))
    return items


def claim_line_items(claim: Claim) -> list[tuple[ServiceLine, set[str]]]:
    """Every line of the claim with its items."""
    dx = claim.diagnosis_codes
    fallback = claim.date("431") or claim.date("472")
    by_date: dict[Any, list[ServiceLine]] = {}
    for ln in claim.lines:
        by_date.setdefault(ln.service_date or fallback, []).append(ln)
    return [(ln, line_items(claim, ln, by_date[ln.service_date or fallback], dx)) for ln in claim.lines]


def anchors(items: Iterable[str]) -> list[str]:
    return [i for i in items if i.startswith("proc=")]


def matching_patterns(table: LearnedTable, payer_id: str, items: set[str]) -> list[LearnedPattern]:
    """The payer's patterns a line with ``items`` matches (most specific first, then highest rate)."""
    by_anchor = table.for_payer(payer_id)
    if not by_anchor:
        return []
    hits: list[LearnedPattern] = []
    for a in anchors(items):
        for p in by_anchor.get(a, ()):
            if items.issuperset(p.conditions):
                hits.append(p)
    hits.sort(key=lambda p: (-len(p.conditions), -p.rate, p.procedure))
    return hits
