"""DES: destruction of premalignant (17000-17004), benign (17110/17111) and malignant (172xx) lesions."""

from __future__ import annotations

from scrubber.engine import ClaimContext, Rule, ScrubFinding
from scrubber.rules._common import all_known_and_none_in, date_groups, dx_families, units_on

_PREMALIGNANT = frozenset({"17000", "17003", "17004"})
_BENIGN = frozenset({"17110", "17111"})
_MALIGNANT_DESTRUCTION = frozenset({f"17{n}" for n in (260, 261, 262, 263, 264, 266, 270, 271, 272, 273, 274, 276,
                                                          280, 281, 282, 283, 284, 286)})


class PremalignantFirstLesion(Rule):
    """17000 billed with more than one unit on a date.

    ## What it checks
    The units of 17000 (destruction of the first premalignant lesion) summed over the lines of one
    date of service must be 1.

    ## Why it is denied
    17000 describes the first lesion only (MUE 1, MAI 2: an absolute per-day limit).

    ## Example
    `17000` ×5 for five actinic keratoses.

    ## Correct coding
    17000 ×1 + 17003 ×4 (lesions 2 to 14 are units of 17003); 15 or more lesions: 17004 ×1 alone.

    ## Source
    AAD 2011 "destruction codes for premalignant and malignant lesions"; CMS MUE 2024-07-01
    (17000 = 1, MAI 2).
    """

    id = "DES001"
    triggers = frozenset({"17000"})
    name = "17000-one-unit"
    family = "DES"
    severity = "error"
    carc = "151"

    def check(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        for _d, lines, codes in date_groups(ctx):
            if "17000" not in codes:
                continue
            n = units_on(lines, "17000")
            if n > 1:
                mine = [ln for ln in lines if ln.code == "17000"]
                extra = n - 1
                correct = (f"17000 ×1 + 17003 ×{extra}" if n <= 14 else "17004 ×1 alone (15 or more lesions)")
                out.append(self.finding(ctx, f"17000 billed with {n} units on one date; it is the first lesion only",
                                        line=mine[0], lines=mine, correct=correct))
        return out


class PremalignantAddOn(Rule):
    """17003 without 17000 on the same date, or more than 13 units of 17003.

    ## What it checks
    17003 (premalignant lesions 2 through 14, each) needs 17000 on the same date and at most 13
    units per date.

    ## Why it is denied
    17003 is an add-on to 17000 only (NCCI AOC); 14 lesions is 17000 + 17003 ×13, and 15 or more
    lesions are one unit of 17004 (MUE 17003 = 13, MAI 2).

    ## Example
    `17003` ×3 without `17000`; `17000` + `17003` ×19 for 20 actinic keratoses.

    ## Correct coding
    2-14 lesions: 17000 + 17003 × (lesions − 1).  15 or more: 17004 ×1 alone.

    ## Source
    CMS NCCI AOC 2024-06 (17003 ← 17000); CMS MUE 2024-07-01; AAD 2011 destruction codes.
    """

    id = "DES002"
    triggers = frozenset({"17003"})
    name = "17003-needs-17000"
    family = "DES"
    severity = "error"
    carc = "107"

    def check(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        for _d, lines, codes in date_groups(ctx):
            if "17003" not in codes:
                continue
            mine = [ln for ln in lines if ln.code == "17003"]
            if "17000" not in codes:
                out.append(self.finding(ctx, "17003 (premalignant lesions 2-14) billed without 17000 on the same date",
                                        line=mine[0], lines=mine,
                                        correct="17000 for the first lesion + 17003 for each of lesions 2-14"))
            n = units_on(lines, "17003")
            if n > 13:
                out.append(self.finding(ctx, f"17003 billed with {n} units; at most 13 (lesions 2-14)",
                                        line=mine[0], lines=mine, carc="151",
                                        correct="15 or more premalignant lesions: 17004 ×1 alone"))
        return out


class PremalignantFifteenAlone(Rule):
    """17004 (15 or more premalignant lesions) billed with 17000/17003 or with more than one unit.

    ## What it checks
    On a date with 17004, neither 17000 nor 17003 may be billed, and 17004 has one unit.

    ## Why it is denied
    17004 covers all lesions when there are 15 or more and is reported alone, once.  NCCI pairs
    17004/17000 and 17004/17003 have modifier indicator 0 (no modifier bypasses them); MUE 17004 = 1.

    ## Example
    `17000` + `17003` ×13 + `17004` for 20 actinic keratoses (seed error E12).

    ## Correct coding
    17004 ×1 alone.

    ## Source
    NCCI PTP 2024-07-01 (17004/17000, 17004/17003, indicator 0); CMS MUE 2024-07-01; AAD 2011;
    seed errors E12, E25.
    """

    id = "DES003"
    triggers = frozenset({"17004"})
    name = "17004-alone"
    family = "DES"
    severity = "error"
    carc = "236"

    def check(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        for _d, lines, codes in date_groups(ctx):
            if "17004" not in codes:
                continue
            mine = [ln for ln in lines if ln.code == "17004"]
            others = [ln for ln in lines if ln.code in ("17000", "17003")]
            if others:
                out.append(self.finding(
                    ctx, "17004 (15 or more premalignant lesions) billed with "
                    f"{'/'.join(sorted({o.code for o in others}))} on the same date; 17004 is reported alone",
                    line=others[0], lines=[*others, *mine], correct="17004 ×1 alone"))
            n = units_on(lines, "17004")
            if n > 1:
                out.append(self.finding(ctx, f"17004 billed with {n} units; it is one unit for 15 or more lesions",
                                        line=mine[0], lines=mine, carc="151", correct="17004 ×1"))
        return out


class BenignDestructionOnce(Rule):
    """17110 and 17111 on the same date, or either with more than one unit.

    ## What it checks
    On one date only one of 17110 (benign lesions, up to 14) and 17111 (15 or more) is billed, with
    one unit.

    ## Why it is denied
    17110 and 17111 describe the whole session by lesion count: 1-14 lesions = 17110 ×1; 15 or more
    = 17111 ×1.  NCCI 17111/17110 has indicator 0; MUE 1 each (MAI 2).

    ## Example
    `17110` + `17111` for 30 warts (seed error E13); `17110` ×3.

    ## Correct coding
    30 warts: 17111 ×1 alone.  3 warts: 17110 ×1.

    ## Source
    NCCI PTP 2024-07-01 (17111/17110 indicator 0); CMS MUE 2024-07-01; seed error E13.
    """

    id = "DES004"
    triggers = _BENIGN
    name = "17110-17111-once"
    family = "DES"
    severity = "error"
    carc = "236"

    def check(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        for _d, lines, codes in date_groups(ctx):
            if "17110" not in codes and "17111" not in codes:
                continue
            if "17110" in codes and "17111" in codes:
                a = [ln for ln in lines if ln.code == "17110"]
                b = [ln for ln in lines if ln.code == "17111"]
                out.append(self.finding(
                    ctx, "17110 and 17111 billed on the same date; one of them describes the session",
                    line=a[0], lines=[*a, *b],
                    correct="15 or more benign lesions: 17111 ×1 alone; 1-14: 17110 ×1"))
            for code in ("17110", "17111"):
                n = units_on(lines, code)
                if n > 1:
                    mine = [ln for ln in lines if ln.code == code]
                    out.append(self.finding(ctx, f"{code} billed with {n} units; it is one unit per session",
                                            line=mine[0], lines=mine, carc="151", correct=f"{code} ×1"))
        return out


class PremalignantDiagnosis(Rule):
    """Premalignant destruction (17000/17003/17004) pointing at a diagnosis that is not premalignant.

    ## What it checks
    Each 17000, 17003 or 17004 line must point at a premalignant diagnosis (actinic keratosis L57.0).
    The rule fires only when every pointed diagnosis is classified (benign, malignant, uncertain,
    skin tag, vascular) and none is premalignant; unclassified codes never trigger it.

    ## Why it is denied
    17000-17004 are for premalignant lesions only.  Benign lesions (warts, seborrheic keratoses,
    molluscum) are 17110/17111, malignant lesions 17260-17286: the diagnosis does not support the
    procedure.

    ## Example
    `17000` for a seborrheic keratosis (L82.1) — seed error E31 ("17000 = benign or premalignant").

    ## Correct coding
    Benign lesions: 17110 (1-14) or 17111 (15+).  Malignant (incl. Bowen's D04.x): 17260-17286 by
    site and size.

    ## Source
    CMS PFS 2025 (17000 "destruct premalg lesion"); AAD 2011 destruction codes; seed error E31.
    """

    id = "DES005"
    triggers = _PREMALIGNANT
    name = "premalignant-destruction-diagnosis"
    family = "DES"
    severity = "error"
    carc = "11"
    _OK = frozenset({"premalignant", "unspecified"})

    def check(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        for ln in ctx.lines:
            if ln.code in _PREMALIGNANT:
                fams = dx_families(ctx, ln)
                if all_known_and_none_in(fams, self._OK):
                    dx = ", ".join(ctx.line_diagnoses(ln))
                    out.append(self.finding(
                        ctx, f"{ln.code} (premalignant destruction) points at {dx} ({', '.join(set(map(str, fams)))}"
                        "), not a premalignant lesion", line=ln,
                        correct="benign lesions: 17110/17111; malignant: 17260-17286; skin tags: 11200"))
        return out


class BenignDestructionDiagnosis(Rule):
    """Benign destruction (17110/17111) pointing at a premalignant, malignant, skin-tag or vascular diagnosis.

    ## What it checks
    Each 17110/17111 line must not point only at diagnoses that belong to another code family:
    premalignant (L57.0 → 17000-17004), malignant (C43/C44/C4A/D03/D04 → 17260-17286), skin tags
    (L91.8 → 11200/11201) or cutaneous vascular proliferative lesions (D18.0x → 17106-17108).
    Warts, molluscum, seborrheic keratoses and other benign or unclassified diagnoses pass.

    ## Why it is denied
    17110/17111 cover benign lesions other than skin tags and cutaneous vascular proliferative
    lesions; the diagnosis does not support the procedure.

    ## Example
    `17110` pointing at L57.0 (actinic keratoses); `17110` for skin tags (L91.8).

    ## Correct coding
    AKs: 17000 + 17003 or 17004; skin tags: 11200 (+11201); malignant: 17260-17286.

    ## Source
    CMS PFS 2025 descriptors (paraphrased); iframe.ai 17110; seed error E03 (warts and SKs ARE
    17110/17111).
    """

    id = "DES006"
    triggers = _BENIGN
    name = "benign-destruction-diagnosis"
    family = "DES"
    severity = "error"
    carc = "11"
    _WRONG = frozenset({"premalignant", "malignant", "skin_tag", "vascular"})

    def check(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        for ln in ctx.lines:
            if ln.code in _BENIGN:
                fams = dx_families(ctx, ln)
                if fams and all(f in self._WRONG for f in fams):
                    dx = ", ".join(ctx.line_diagnoses(ln))
                    kinds = ", ".join(sorted(set(map(str, fams))))
                    out.append(self.finding(
                        ctx, f"{ln.code} (benign destruction) points only at {dx} ({kinds})",
                        line=ln, correct="premalignant: 17000-17004; malignant: 17260-17286; skin tags: 11200/11201; "
                        "vascular lesions: 17106-17108"))
        return out


class MalignantDestructionDiagnosis(Rule):
    """Malignant destruction (17260-17286) pointing at a diagnosis that is not malignant.

    ## What it checks
    Each 172xx line must point at a malignant diagnosis (C43, C44, C4A, other C codes, in-situ D00-D09
    incl. Bowen's disease D04.x).  It fires only when every pointed diagnosis is classified and none
    is malignant; D49.x (unspecified behaviour) and unclassified codes never trigger it.

    ## Why it is denied
    17260-17286 are for malignant lesions; a benign, premalignant or uncertain-behaviour diagnosis
    does not support them.

    ## Example
    `17262` pointing at L57.0 (actinic keratosis).

    ## Correct coding
    Premalignant: 17000-17004; benign: 17110/17111.

    ## Source
    AAD 2011 destruction codes (Bowen's coded as malignant destruction, example 17263); domain
    coding-reference §1.5 and §4.
    """

    id = "DES007"
    triggers = _MALIGNANT_DESTRUCTION
    name = "malignant-destruction-diagnosis"
    family = "DES"
    severity = "error"
    carc = "11"
    _OK = frozenset({"malignant", "unspecified"})

    def check(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        for ln in ctx.lines:
            info = ctx.tables.codes.get(ln.code)
            if info is not None and info.family == "destruction_malignant":
                fams = dx_families(ctx, ln)
                if all_known_and_none_in(fams, self._OK):
                    dx = ", ".join(ctx.line_diagnoses(ln))
                    out.append(self.finding(
                        ctx, f"{ln.code} (malignant destruction) points at {dx}, not a malignant lesion",
                        line=ln, correct="premalignant: 17000-17004; benign: 17110/17111"))
        return out
