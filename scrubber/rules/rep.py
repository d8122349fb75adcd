"""REP: repairs with excisions and biopsies."""

from __future__ import annotations

from collections.abc import Iterator

from scrubber.engine import ClaimContext, Rule, ScrubFinding, register
from scrubber.rules._common import date_groups, distinct_pair

_SIMPLE = frozenset({"12001", "12002", "12004", "12005", "12006", "12007",
                     "12011", "12013", "12014", "12015", "12016", "12017", "12018"})
_INCLUDES_CLOSURE = frozenset({"excision_benign", "excision_malignant"})
_CLOSING_BIOPSY = frozenset({"11104", "11105", "11106", "11107"})


@register
class SimpleRepairWithExcision(Rule):
    """Simple repair (12001-12018) billed with an excision or punch/incisional biopsy on the same date.

    ## What it checks
    A simple repair line on the same date as an excision (11400-11646) or a punch/incisional biopsy
    (11104-11107) needs a distinct-procedure modifier (59, XS, XE, XU, XP), a session modifier or
    differing anatomic modifiers (on either line) showing the repair closed a separate wound.
    Intermediate (12031-12057) and complex (13100-13160) repairs are never flagged: they are
    separately reportable with excisions.  (A complex repair under 1.1 cm cannot be seen on a claim.)

    ## Why it is denied
    Simple closure is included in the excision and in punch/incisional biopsies (NCCI pairs
    11602/12001, 11104/12001 ... with modifier indicator 1): the repair is bundled.

    ## Example
    `11602` + `12001` for the closure of the excision wound.

    ## Correct coding
    Drop the simple repair; if it closed a different wound, append XS (or 59) to the repair.
    Layered or complex closures are coded 12031-12057 / 13100-13153 and billed with the excision.

    ## Source
    NCCI PTP 2024-07-01 (11602/12001, 11602/12002, 11402/12001, 11642/12011, 11104/12001 indicator 1;
    no edit for 11602/12032 or 11602/13101); AAD 2019 FAQ; seed error E01.
    """

    id = "REP001"
    name = "simple-repair-bundled"
    family = "REP"
    severity = "error"
    carc = "97"

    def check(self, ctx: ClaimContext) -> Iterator[ScrubFinding]:
        tables = ctx.tables
        for _d, lines, codes in date_groups(ctx):
            if _SIMPLE.isdisjoint(codes):
                continue
            hosts = [ln for ln in lines
                     if ln.code in _CLOSING_BIOPSY or tables.family(ln.code) in _INCLUDES_CLOSURE]
            if not hosts:
                continue
            for rep in lines:
                if rep.code not in _SIMPLE:
                    continue
                unseparated = [h for h in hosts if not distinct_pair(rep, h)]
                if unseparated:
                    h = unseparated[0]
                    yield self.finding(
                        ctx, f"simple repair {rep.code} billed with {h.code} on the same date without a "
                        "distinct-site modifier; simple closure is included", line=rep, lines=[rep, *unseparated],
                        correct=f"drop {rep.code}, or {rep.code}-XS (59) if it closed a separate wound")
