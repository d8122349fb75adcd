"""Shared helpers of the dermatology rule families (no rules here)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any, cast

from edi.x837 import ServiceLine
from scrubber.engine import ClaimContext

# NCCI distinct-procedure modifiers (59 and the X{EPSU} subset, effective 2015-01-01).
DISTINCT = frozenset({"59", "XE", "XS", "XP", "XU"})
X_MODIFIERS = frozenset({"XE", "XS", "XP", "XU"})
# Anatomic NCCI-associated modifiers (NCCI policy manual ch. I): they bypass an indicator-1 edit
# when the two lines carry different anatomic modifiers.
ANATOMIC = frozenset({"E1", "E2", "E3", "E4", "FA", "F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9",
                      "TA", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "LT", "RT", "LC", "LD",
                      "LM", "RC", "RI"})
# Global-surgery NCCI-associated modifiers (different session / postoperative period).
GLOBAL_SESSION = frozenset({"24", "27", "58", "78", "79", "91"})
OFFICE_EM = frozenset({"99202", "99203", "99204", "99205", "99211", "99212", "99213", "99214", "99215"})
_EM_OTHER = frozenset({"92002", "92004", "92012", "92014", "G0402", "G0438", "G0439", "G0463"})
BIOPSY_PRIMARY = ("11106", "11104", "11102")           # highest technique first
BIOPSY_ADDON = {"11102": "11103", "11104": "11105", "11106": "11107"}
BIOPSY_NAME = {"11102": "tangential", "11103": "tangential", "11104": "punch", "11105": "punch",
               "11106": "incisional", "11107": "incisional"}
MOHS_PRIMARY = frozenset({"17311", "17313"})
MOHS_ALL = frozenset({"17311", "17312", "17313", "17314", "17315"})
DRUG_PREFIXES = ("J", "Q", "C", "A", "S")


def is_em(code: str) -> bool:
    """Any evaluation and management code (office, hospital, nursing facility, eye exams, G codes)."""
    if code in _EM_OTHER:
        return True
    return len(code) == 5 and code.isdigit() and "99201" <= code <= "99499"


def is_office_em(code: str) -> bool:
    return code in OFFICE_EM


def mods(line: ServiceLine) -> frozenset[str]:
    return frozenset(line.modifiers)


def has_distinct(line: ServiceLine) -> bool:
    return not DISTINCT.isdisjoint(line.modifiers)


def distinct_pair(a: ServiceLine, b: ServiceLine) -> bool:
    """True when a distinct-procedure, session or differing anatomic modifier separates two lines."""
    ma, mb = mods(a), mods(b)
    if not DISTINCT.isdisjoint(ma) or not DISTINCT.isdisjoint(mb):
        return True
    if not GLOBAL_SESSION.isdisjoint(ma) or not GLOBAL_SESSION.isdisjoint(mb):
        return True
    aa, ab = ma & ANATOMIC, mb & ANATOMIC
    return bool(aa and ab and aa != ab)


def units_on(lines: Iterable[ServiceLine], code: str) -> int:
    total = 0
    for ln in lines:
        if ln.code == code and ln.units is not None:
            total += int(ln.units)
    return total


def date_groups(ctx: ClaimContext) -> list[tuple[date | None, list[ServiceLine], set[str]]]:
    """(date of service, lines, codes) per date, using the context's cached index (the cached list
    itself: iterate it, do not change it)."""
    cache = ctx.extra.get("_date_codes")
    if cache is None:
        cache = [(d, lines, {ln.code for ln in lines}) for d, lines in ctx.lines_by_date.items()]
        ctx.extra["_date_codes"] = cache
    return cache  # type: ignore[no-any-return]


def line_npi(ctx: ClaimContext, line: ServiceLine) -> str:
    """The rendering provider of a line: 2420A, else 2310B, else the billing provider (cached per claim)."""
    if line.rendering_npi:
        return line.rendering_npi
    default = ctx.extra.get("_npi")
    if default is None:
        default = ctx.claim.rendering_npi or ctx.claim.billing_npi
        ctx.extra["_npi"] = default
    return str(default)


def claim_modifiers(ctx: ClaimContext) -> frozenset[str]:
    """Every modifier on the claim (computed once per claim)."""
    mods_ = ctx.extra.get("_mods")
    if mods_ is None:
        mods_ = frozenset(m for ln in ctx.claim.lines for m in ln.modifiers)
        ctx.extra["_mods"] = mods_
    return mods_


class TableDerived:
    """What the rules derive from one (CodeTables, DrugTables) pair, kept until the pair changes.

    Per-code answers, memoized: rules ask them for every line, and the tables' own methods are
    interpreted Python (a call costs more than the lookup); each dict is emptied when it grows past
    ``_ANSWERS_MAX`` (codes from the input are unbounded).  ``extra`` holds what a rule module
    derives from the pair once (e.g. VAL's code sets)."""

    def __init__(self, tables: object, drugs: object) -> None:
        self.tables = tables
        self.drugs = drugs
        self.extra: dict[str, Any] = {}
        self.drug_code: dict[str, Any] = {}        # code -> bool
        self.global_days: dict[str, Any] = {}      # code -> str | None
        self.family: dict[str, Any] = {}           # code -> str | None
        self.dx_family: dict[str, Any] = {}        # ICD-10-CM -> str | None
        self.dx_site: dict[str, Any] = {}          # ICD-10-CM -> (site group, Mohs site)


_ANSWERS_MAX = 50_000
_DERIVED: TableDerived | None = None


def table_derived(ctx: ClaimContext) -> TableDerived:
    """The :class:`TableDerived` of the claim's tables."""
    global _DERIVED
    d = _DERIVED
    if d is None or d.tables is not ctx.tables or d.drugs is not ctx.drugs:
        d = _DERIVED = TableDerived(ctx.tables, ctx.drugs)
    return d


def _answer(memo: dict[str, Any], code: str, table: object, method: str) -> Any:
    """``table.method(code)``, through ``memo``."""
    if code in memo:
        return memo[code]
    if len(memo) >= _ANSWERS_MAX:
        memo.clear()
    hit = memo[code] = getattr(table, method)(code)
    return hit


def is_drug_code(ctx: ClaimContext, code: str) -> bool:
    """``DrugTables.is_drug_code``, memoized."""
    return cast(bool, _answer(table_derived(ctx).drug_code, code, ctx.drugs, "is_drug_code"))


def global_days(ctx: ClaimContext, code: str) -> str | None:
    """``CodeTables.global_days``, memoized."""
    return cast("str | None", _answer(table_derived(ctx).global_days, code, ctx.tables, "global_days"))


def family(ctx: ClaimContext, code: str) -> str | None:
    """``CodeTables.family``, memoized."""
    return cast("str | None", _answer(table_derived(ctx).family, code, ctx.tables, "family"))


def dx_family(ctx: ClaimContext, icd: str) -> str | None:
    """``CodeTables.dx_family``, memoized."""
    return cast("str | None", _answer(table_derived(ctx).dx_family, icd, ctx.tables, "dx_family"))


def dx_site(ctx: ClaimContext, icd: str) -> tuple[str | None, str | None]:
    """``CodeTables.dx_site``, memoized: (CPT site group, Mohs site)."""
    return cast("tuple[str | None, str | None]", _answer(table_derived(ctx).dx_site, icd, ctx.tables, "dx_site"))


def dx_families(ctx: ClaimContext, line: ServiceLine) -> list[str | None]:
    return [dx_family(ctx, dx) for dx in ctx.line_diagnoses(line)]


def all_known_and_none_in(families: list[str | None], allowed: frozenset[str]) -> bool:
    """True when every pointed diagnosis is classified and none is in ``allowed`` (precision first:
    an unclassified or missing diagnosis never produces a finding)."""
    return bool(families) and all(f is not None for f in families) and not any(f in allowed for f in families)


def distinct_hint(ctx: ClaimContext) -> str:
    """The distinct-procedure modifier the claim's payer prefers (payer profile distinct_modifier)."""
    return "XS" if ctx.payer.prefers_x_modifiers else "59"


def fmt_codes(codes: Iterable[str]) -> str:
    return ", ".join(sorted(set(codes)))
