"""BX: skin biopsy technique hierarchy (11102-11107, effective 2019-01-01)."""

from __future__ import annotations

from typing import ClassVar

from scrubber.engine import ClaimContext, Rule, ScrubFinding
from scrubber.rules._common import BIOPSY_ADDON, BIOPSY_NAME, BIOPSY_PRIMARY, date_groups


class OneBiopsyPrimary(Rule):
    """More than one primary skin-biopsy code on the same date of service.

    ## What it checks
    On one date, at most one of the primary biopsy codes 11102 (tangential), 11104 (punch) and
    11106 (incisional) may be billed.  The finding is on the lower-technique line(s).

    ## Why it is denied
    Only one primary biopsy code is reported per encounter: the highest technique used
    (incisional > punch > tangential).  NCCI pairs 11104/11102, 11106/11102 and 11106/11104 have
    modifier indicator 0, so no modifier (59, XS ...) makes the second primary payable.

    ## Example
    `11102` + `11106` (tangential and incisional biopsies on one day, seed error E11);
    `11102` + `11104`.

    ## Correct coding
    Keep the highest technique as the primary and report every other biopsy with the add-on of its
    own technique: 11106 + 11103 (incisional + tangential), 11104 + 11103 (punch + tangential),
    11106 + 11105 (incisional + punch).

    ## Source
    AAD DCC 2018 "new skin biopsy codes"; karenzupko.com skin biopsy codes; NCCI PTP 2024-07-01
    (indicator 0 pairs); NCCI AOC 2024-06 (domain coding-reference §1.1, selection_rules.yaml).
    """

    id = "BX001"
    triggers = frozenset(BIOPSY_PRIMARY)
    name = "one-biopsy-primary"
    family = "BX"
    severity = "error"
    carc = "236"

    def check(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        for _d, lines, codes in date_groups(ctx):
            present = [c for c in BIOPSY_PRIMARY if c in codes]
            if len(present) < 2:
                continue
            top = present[0]
            for lower in present[1:]:
                bad = [ln for ln in lines if ln.code == lower]
                top_lines = [ln for ln in lines if ln.code == top]
                add = BIOPSY_ADDON[lower]
                out.append(self.finding(
                    ctx, f"{lower} ({BIOPSY_NAME[lower]}) billed as a second primary biopsy with {top} "
                    f"({BIOPSY_NAME[top]}); only one primary biopsy per encounter",
                    line=bad[0], lines=[*bad, *top_lines],
                    correct=f"{top} + {add} (the {BIOPSY_NAME[lower]} biopsy as the add-on of its own technique)"))
        return out


class BiopsyAddOnTechnique(Rule):
    """A biopsy add-on code without an eligible primary of its technique hierarchy.

    ## What it checks
    On each date: 11103 (tangential add-on) needs 11102, 11104 or 11106; 11105 (punch add-on) needs
    11104 or 11106; 11107 (incisional add-on) needs 11106.

    ## Why it is denied
    The add-on is only payable with its listed primaries (NCCI AOC edit type 1).  A punch or
    incisional add-on under a tangential primary means the hierarchy was inverted: the higher
    technique must be the primary.

    ## Example
    `11102` + `11105` (punch biopsy reported as add-on to a tangential primary); `11104` + `11107`;
    `11103` alone.

    ## Correct coding
    Make the highest technique the primary: 11102 + 11105 becomes 11104 + 11103; 11104 + 11107
    becomes 11106 + 11105.

    ## Source
    CMS NCCI add-on code edits 2024-06 (11103 ← 11102/11104/11106; 11105 ← 11104/11106;
    11107 ← 11106); AAD DCC 2018; karenzupko.com skin biopsy codes.
    """

    id = "BX002"
    triggers = frozenset({"11103", "11105", "11107"})
    name = "biopsy-add-on-technique"
    family = "BX"
    severity = "error"
    carc = "107"

    _NEEDS: ClassVar[dict[str, tuple[str, ...]]] = {
        "11103": ("11102", "11104", "11106"), "11105": ("11104", "11106"), "11107": ("11106",)}

    def check(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        for _d, lines, codes in date_groups(ctx):
            for ln in lines:
                need = self._NEEDS.get(ln.code)
                if need is None or any(c in codes for c in need):
                    continue
                prim = next((c for c in BIOPSY_PRIMARY if c in codes), None)
                own = {"11103": "11102", "11105": "11104", "11107": "11106"}[ln.code]
                if prim is None:
                    correct = f"{own} for the first {BIOPSY_NAME[ln.code]} biopsy, {ln.code} for further ones"
                else:
                    correct = (f"{own} as the primary and {BIOPSY_ADDON[prim]} for the {BIOPSY_NAME[prim]} "
                               f"biopsy (the highest technique is the primary)")
                out.append(self.finding(
                    ctx, f"{ln.code} ({BIOPSY_NAME[ln.code]} add-on) needs {' or '.join(need)} on the same date",
                    line=ln, correct=correct))
        return out


def _mucosal(code: str) -> bool:
    """Lip vermilion / oral mucosa diagnoses (ICD-10-CM FY2026): not skin."""
    c = code.replace(".", "")
    return (c.startswith(("C00", "D000", "D100", "D101", "D102", "D103", "K130", "K132", "K137"))
            or c == "C060")


class BiopsyOfMucosa(Rule):
    """Skin biopsy code (11102-11107) for a lip-vermilion or oral-mucosa lesion.

    ## What it checks
    A biopsy line 11102-11107 whose diagnosis pointers all point at lip-vermilion or oral-mucosa
    diagnoses: C00 (malignant neoplasm of lip: vermilion and mucosa; skin of lip is C43.0/C44.0),
    C06.0, D00.0 (carcinoma in situ of lip/oral cavity), D10.0-D10.3 (benign neoplasm of lip and
    mouth; skin of lip is D22.0/D23.0), K13.0, K13.2, K13.7 (diseases of lips and oral mucosa).

    ## Why it is denied
    11102-11107 are skin biopsies.  A biopsy of the lip vermilion or the mucosa is coded by site
    (e.g. 40490 lip, 40808 vestibule of mouth), so the skin code does not match the diagnosis.

    ## Example
    `11102` pointing at C00.0 (malignant neoplasm of external upper lip).

    ## Correct coding
    `40490` (biopsy of lip); 11102-11107 only for the skin of the lip (C44.0x, D22.0, D23.0, L57.0 ...).

    ## Source
    AAD Dermatology World Dec 2018 "Biopsy coding in 2019, part 2" (domain coding-reference.md 1.1);
    ICD-10-CM FY2026 tabular (C00, D10.0 excludes skin of lip).
    """

    id = "BX003"
    triggers = frozenset({"11102", "11103", "11104", "11105", "11106", "11107"})
    name = "skin-biopsy-for-mucosa"
    family = "BX"
    severity = "error"
    carc = "11"

    def check(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        for ln in ctx.lines:
            if ln.code not in self.triggers:
                continue
            dx = ctx.line_diagnoses(ln)
            if dx and all(_mucosal(d) for d in dx):
                out.append(self.finding(ctx, f"{ln.code} is a skin biopsy but points only at lip-vermilion/mucosa "
                                        f"diagnoses ({', '.join(dx)})", line=ln, correct="40490 (lip) or the mucosal "
                                        "site's biopsy code"))
        return out
