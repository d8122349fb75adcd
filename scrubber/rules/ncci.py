"""NCCI: procedure-to-procedure (PTP) edits from the shipped CMS table."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from edi.x837 import ServiceLine
from scrubber.engine import ClaimContext, Rule, ScrubFinding
from scrubber.rules._common import date_groups, distinct_hint, distinct_pair, is_em, line_npi

if TYPE_CHECKING:
    from config.tables import CodeTables
    from config.tables import PTPEdit as PTP


def _other_provider(ctx: ClaimContext, a: ServiceLine, b: ServiceLine) -> bool:
    """PTP edits apply to one provider: lines of different rendering providers are not paired."""
    if not a.rendering_npi and not b.rendering_npi:
        return False
    return line_npi(ctx, a) != line_npi(ctx, b)


def _bypassed(ctx: ClaimContext, col1: ServiceLine, col2: ServiceLine) -> bool:
    if distinct_pair(col1, col2) or _other_provider(ctx, col1, col2):
        return True
    # 25 (or 57) on a column-two E/M is the NCCI-associated modifier for E/M edits
    return is_em(col2.code) and ("25" in col2.modifiers or "57" in col2.modifiers)


class PTPEdit(Rule):
    """An NCCI procedure-to-procedure pair is billed on the same date without a valid bypass.

    ## What it checks
    For every pair of codes on lines with the same date of service that is in the shipped NCCI PTP
    table (practitioner, active on that date): modifier indicator 0 is always an error; indicator 1
    is an error unless an NCCI-associated modifier separates the two lines — 59, XE, XS, XP or XU
    on **either** line (CMS asks for it on the column-two code; either is accepted to avoid holding
    a correctly documented claim), 24/27/58/78/79/91, differing anatomic modifiers (LT/RT, F*, T*,
    E*), or 25/57 on a column-two E/M.  Indicator 9 means the edit does not apply.  Lines of
    different rendering providers (2420A) are not paired: PTP edits apply to one provider.

    ## Why it is denied
    The column-two code is denied as bundled into or mutually exclusive with the column-one code.

    ## Example
    `11600` + `11102` (biopsy of the excised lesion, indicator 1, no modifier);
    `96372` + `99211` (indicator 0).

    ## Correct coding
    Drop the column-two code, or — when documentation shows a separate lesion, site or session —
    append XS/XE (or 59) to the column-two code; for an E/M, 25 when significant and separately
    identifiable.

    ## Source
    CMS NCCI PTP edits, practitioner, effective 2024-07-01 (dermatology subset,
    `config/tables/ncci_ptp_derm_2024-07-01.csv`); NCCI modifier indicator definitions (medlearn);
    domain modifiers.yaml.
    """

    id = "NCCI001"
    name = "ncci-ptp"
    family = "NCCI"
    severity = "error"
    carc = "236"

    def __init__(self) -> None:
        self._tables: CodeTables | None = None
        self._memo: dict[frozenset[str], list[PTP]] = {}

    def _pairs(self, tables: CodeTables, codes: frozenset[str]) -> list[PTP]:
        """The PTP edits among a set of codes (any date), memoized per code set."""
        if tables is not self._tables:
            self._tables, self._memo = tables, {}
        hit = self._memo.get(codes)
        if hit is None:
            ptp = tables.ptp
            ordered = sorted(codes)      # a set's order changes with the hash seed; findings must not
            hit = [e for c1 in ordered for c2 in ordered if c1 != c2 and (e := ptp.get((c1, c2))) is not None]
            if len(self._memo) > 50_000:
                self._memo.clear()
            self._memo[codes] = hit
        return hit

    def check(self, ctx: ClaimContext) -> Iterable[ScrubFinding]:
        ptp_codes = ctx.tables.ptp_codes
        n = 0
        for c in ctx.codes:
            if c in ptp_codes:
                n += 1
        if n < 2:               # no date of service can hold a pair
            return ()
        return self._run(ctx)

    def _run(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        tables = ctx.tables
        ptp_codes = tables.ptp_codes
        for dos, lines, codes in date_groups(ctx):
            cand = frozenset(c for c in codes if c in ptp_codes)
            if len(cand) < 2:
                continue
            for edit in self._pairs(tables, cand):
                if not edit.active_on(dos) or edit.modifier_indicator == 9:
                    continue
                c1, c2 = edit.column1, edit.column2
                l1 = [ln for ln in lines if ln.code == c1]
                l2 = [ln for ln in lines if ln.code == c2]
                if edit.modifier_indicator == 0:
                    l2 = [b for b in l2 if any(not _other_provider(ctx, a, b) for a in l1)]
                    if not l2:
                        continue
                    out.append(self.finding(
                        ctx, f"NCCI edit {c1}/{c2} (modifier indicator 0): {c2} is not payable with {c1} on "
                        "the same date; no modifier bypasses it", line=l2[0], lines=[*l2, *l1],
                        correct=f"drop {c2} (or report the single code that describes the service)"))
                    continue
                bad = [b for b in l2 if any(not _bypassed(ctx, a, b) for a in l1)]
                if bad:
                    carc = "97" if is_em(c2) else self.carc
                    hint = (f"{c2}-25 if significant and separately identifiable" if is_em(c2)
                            else f"{c2}-{distinct_hint(ctx)} if a separate lesion/site/session")
                    out.append(self.finding(
                        ctx, f"NCCI edit {c1}/{c2} (modifier indicator 1): {c2} billed with {c1} on the "
                        "same date without an NCCI-associated modifier", line=bad[0], lines=[*bad, *l1],
                        carc=carc, correct=f"drop {c2}, or {hint}"))
        return out
