"""UNT: units against the medically unlikely edits and add-on codes without their primary."""

from __future__ import annotations

from collections.abc import Iterable

from scrubber.engine import ClaimContext, Rule, ScrubFinding
from scrubber.rules._common import date_groups, fmt_codes

# Add-on codes that a family rule explains better (BX002, DES002, MOH003).
_FAMILY_ADDONS = frozenset({"11103", "11105", "11107", "17003", "17312", "17314", "17315"})


class UnitsOverMUE(Rule):
    """Units exceed the CMS medically unlikely edit (MUE) for the code.

    ## What it checks
    For every procedure code in the shipped MUE table (practitioner services): with MUE adjudication
    indicator (MAI) 1 the units of each line, with MAI 2 or 3 the units of all lines of the code on
    the same date of service, must not exceed the MUE value.  Drug codes (J/Q) are left to the DRG
    family.

    ## Why it is denied
    Units above the MUE are denied (the whole line with MAI 1; the units over the MUE for MAI 2/3,
    MAI 2 being an absolute policy limit).

    ## Example
    `17110` ×2 (MUE 1, MAI 2); `11102` on two lines the same day (MUE 1); `11103` ×8 (MUE 6).

    ## Correct coding
    Report the units the code allows: per-session codes once (17000, 17004, 17110, 17111, 11200), extra
    lesions as units of the add-on code (11103, 11105, 11107, 17003, 11201).

    ## Source
    CMS NCCI practitioner MUE table effective 2024-07-01 (`config/tables/mue_derm_2024-07-01.csv`);
    MAI meanings per Noridian MUE page (domain coding-reference §2).
    """

    id = "UNT001"
    name = "units-over-mue"
    family = "UNT"
    severity = "error"
    carc = "151"

    def check(self, ctx: ClaimContext) -> Iterable[ScrubFinding]:
        mue = ctx.tables.mue
        for c in ctx.codes:
            if c in mue:
                return self._run(ctx)
        return ()               # no code with an MUE

    def _run(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        mue = ctx.tables.mue
        for _d, lines, _codes in date_groups(ctx):
            totals: dict[str, int] = {}
            for ln in lines:
                code = ln.code
                if code in mue:
                    u = int(ln.units) if ln.units is not None else 0
                    totals[code] = totals.get(code, 0) + u
                    edit = mue[code]
                    if edit.mai == 1 and u > edit.mue_units and code[:1] not in ("J", "Q"):
                        out.append(self.finding(
                            ctx, f"{code} billed with {u} units on one line; the MUE is {edit.mue_units}",
                            line=ln, correct=f"at most {edit.mue_units} unit(s) of {code} per line"))
            for code, total in totals.items():
                edit = mue[code]
                if edit.mai == 1 or total <= edit.mue_units or code[:1] in ("J", "Q"):
                    continue
                mine = [ln for ln in lines if ln.code == code]
                out.append(self.finding(
                    ctx, f"{code} billed with {total} units on one date of service; the MUE is "
                    f"{edit.mue_units} (MAI {edit.mai})", line=mine[-1], lines=mine,
                    correct=f"at most {edit.mue_units} unit(s) of {code} per date of service"))
        return out


class AddOnWithoutPrimary(Rule):
    """An add-on code is billed without one of its allowed primary codes on the same date.

    ## What it checks
    Every add-on code in the NCCI add-on code table (e.g. 11201, 13102, 13122, 13133, 13153, 14302,
    15101, 15121, 15201 ... 15261, 88341, G2211) needs one of its listed primary codes on a line with
    the same date of service.  Biopsy, premalignant-destruction and Mohs add-ons are checked by
    BX002, DES002 and MOH003.

    ## Why it is denied
    An add-on code describes work in addition to a primary procedure; without an eligible primary on
    the same claim and date the payer denies it (related service not identified).

    ## Example
    `88341` (each additional IHC antibody) without `88342`; `11201` without `11200`; `13133` with
    `13131` (13133 is an add-on to 13132 only).

    ## Correct coding
    Bill the primary code first (e.g. 88342 for the first antibody, 11200 for the first 15 skin
    tags) and the add-on for the additional work.

    ## Source
    CMS NCCI add-on code edits 2024-06 (`config/tables/ncci_aoc_derm_2024-06.csv`); seed error E33
    (88341 is not stand-alone).
    """

    id = "UNT002"
    name = "add-on-without-primary"
    family = "UNT"
    severity = "error"
    carc = "107"

    def check(self, ctx: ClaimContext) -> Iterable[ScrubFinding]:
        if ctx.tables.addon_codes.isdisjoint(ctx.codes):
            return ()
        return self._run(ctx)

    def _run(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        tables = ctx.tables
        for _d, lines, codes in date_groups(ctx):
            for ln in lines:
                code = ln.code
                if code in _FAMILY_ADDONS:
                    continue
                prim = tables.primaries(code)
                if prim is None or not prim:
                    continue
                if prim.isdisjoint(codes):
                    out.append(self.finding(
                        ctx, f"add-on {code} has no allowed primary ({fmt_codes(prim)}) on the same date",
                        line=ln, correct=f"bill one of {fmt_codes(prim)} with {code}, or drop {code}"))
        return out
