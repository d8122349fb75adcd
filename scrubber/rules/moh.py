"""MOH: Mohs micrographic surgery 17311-17315."""

from __future__ import annotations

from typing import ClassVar

from edi.x837 import ServiceLine
from scrubber.engine import ClaimContext, Rule, ScrubFinding
from scrubber.rules._common import (
    MOHS_PRIMARY,
    all_known_and_none_in,
    date_groups,
    distinct_hint,
    distinct_pair,
    dx_families,
    dx_site,
    family,
    line_npi,
)

_PATHOLOGY = frozenset({"88300", "88302", "88304", "88305", "88307", "88309", "88311", "88312", "88313", "88314",
                        "88331", "88332", "88342"})
_SAME_LESION = frozenset({"excision_benign", "excision_malignant", "destruction_malignant"})
_BIOPSY = frozenset({"11102", "11104", "11106"})


def _npi(ctx: ClaimContext, line: ServiceLine) -> str:
    return line_npi(ctx, line)


class MohsWithPathology(Rule):
    """Mohs surgery billed with surgical pathology by the same provider on the same date.

    ## What it checks
    On a date with 17311 or 17313, a pathology line that the NCCI table pairs with that Mohs code
    (88300-88309, 88311-88314, 88331/88332, 88342) by the same rendering provider needs a distinct
    modifier (59/XS ... on either line):
    the only accepted case is a separate diagnostic biopsy with frozen section when there is no
    prior pathology.  Lines of another rendering provider (e.g. a dermatopathologist) are ignored.

    ## Why it is denied
    In Mohs surgery one physician is surgeon and pathologist; the Mohs codes include the pathology
    of the Mohs sections (NCCI 17311/88305, 17311/88331 ... indicator 1).

    ## Example
    `17311` + `17312` + `88305` (the Mohs surgeon billing pathology on the Mohs specimens).

    ## Correct coding
    Bill the Mohs codes only.  A same-day diagnostic biopsy with frozen section of a lesion without
    prior pathology: biopsy-59 (XS) and 88331-59.

    ## Source
    NCCI PTP 2024-07-01 (17311/17313 vs 88304, 88305, 88331, 88332, 88312, 88342, indicator 1);
    CMS LCD L35494 / A56514; codingintel.com Mohs coding; Ellzey Coding Solutions.
    """

    id = "MOH001"
    triggers = MOHS_PRIMARY
    name = "mohs-with-pathology"
    family = "MOH"
    severity = "error"
    carc = "97"

    def check(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        ptp = ctx.tables.ptp_edit
        for dos, lines, codes in date_groups(ctx):
            if _PATHOLOGY.isdisjoint(codes):
                continue
            mohs = [ln for ln in lines if ln.code in MOHS_PRIMARY]
            for ln in lines:
                if ln.code not in _PATHOLOGY:
                    continue
                bad = [m for m in mohs if ptp(m.code, ln.code, dos) is not None and _npi(ctx, m) == _npi(ctx, ln)
                       and not distinct_pair(m, ln)]
                if bad:
                    out.append(self.finding(
                        ctx, f"{ln.code} (surgical pathology) billed with Mohs {bad[0].code} by the same provider; "
                        "Mohs includes the pathology of its sections", line=ln, lines=[ln, *bad],
                        correct=f"drop {ln.code}; only a separate diagnostic biopsy/frozen section takes 59/XS"))
        return out


class MohsWithSameLesionProcedure(Rule):
    """Mohs surgery with an excision, biopsy or malignant destruction on the same date and no distinct modifier.

    ## What it checks
    On a date with 17311 or 17313, a line for an excision, a primary biopsy (11102/11104/11106) or a
    malignant destruction that the NCCI table pairs with that Mohs code (17311: 11420-11446,
    11600-11646, 172xx; 17313: 11400-11406, 11600-11646, 172xx) by the same rendering provider must
    carry a distinct-procedure modifier (59/XS/XE/XU/XP) or a differing anatomic modifier (on
    either line).  Repairs, flaps, grafts and shaves are never flagged (no NCCI edit).

    ## Why it is denied
    Excision, destruction or biopsy of the lesion treated by Mohs is part of the Mohs procedure
    (NCCI 17311/11600, 17311/11640, 17311/17260, 17311/11102 ... indicator 1).  A biopsy of a
    different lesion, or a diagnostic biopsy without prior pathology, takes 59/XS.

    ## Example
    `17311` + `11642` on the same day for the same basal cell carcinoma.

    ## Correct coding
    Bill the Mohs stages only; a procedure on a separate lesion: append XS (or 59).

    ## Source
    NCCI PTP 2024-07-01 (17311 col. 1 vs 11102/11104/11106, 11600, 11640, 17260, 17280, indicator 1);
    codingintel.com Mohs coding.
    """

    id = "MOH002"
    triggers = MOHS_PRIMARY
    name = "mohs-with-same-lesion-procedure"
    family = "MOH"
    severity = "error"
    carc = "97"

    def check(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        ptp = ctx.tables.ptp_edit
        for dos, lines, _codes in date_groups(ctx):
            mohs = [ln for ln in lines if ln.code in MOHS_PRIMARY]
            for ln in lines:
                if ln.code not in _BIOPSY and family(ctx, ln.code) not in _SAME_LESION:
                    continue
                bad = [m for m in mohs if ptp(m.code, ln.code, dos) is not None and _npi(ctx, m) == _npi(ctx, ln)
                       and not distinct_pair(m, ln)]
                if bad:
                    out.append(self.finding(
                        ctx, f"{ln.code} billed with Mohs {bad[0].code} on the same date without a distinct "
                        "modifier; it is included when done on the Mohs lesion", line=ln, lines=[ln, *bad],
                        correct=f"drop {ln.code}, or {ln.code}-{distinct_hint(ctx)} if it treated a separate lesion"))
        return out


class MohsAddOnChain(Rule):
    """Mohs add-on stage or block code without its primary on the same date.

    ## What it checks
    17312 (additional stage, head/neck/hands/feet/genitalia) needs 17311; 17314 (additional stage,
    trunk/arms/legs) needs 17313; 17315 (additional block) needs one of 17311-17314.

    ## Why it is denied
    The add-on stages belong to the first-stage code of the same site set (NCCI AOC); a 17312 with
    17313 mixes the two site sets.

    ## Example
    `17313` + `17312`; `17314` alone.

    ## Correct coding
    17311 + 17312 (head, neck, hands, feet, genitalia, deep structures) or 17313 + 17314
    (trunk, arms, legs); 17315 for blocks beyond 5 in any stage.

    ## Source
    CMS NCCI add-on code edits 2024-06; AAPC "Don't marginalize Mohs".
    """

    id = "MOH003"
    triggers = frozenset({"17312", "17314", "17315"})
    name = "mohs-add-on-chain"
    family = "MOH"
    severity = "error"
    carc = "107"
    _NEEDS: ClassVar[dict[str, tuple[str, ...]]] = {
        "17312": ("17311",), "17314": ("17313",), "17315": ("17311", "17312", "17313", "17314")}

    def check(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        for _d, lines, codes in date_groups(ctx):
            for ln in lines:
                need = self._NEEDS.get(ln.code)
                if need is not None and not any(c in codes for c in need):
                    out.append(self.finding(ctx, f"Mohs add-on {ln.code} needs {' or '.join(need)} on the same date",
                                            line=ln, correct="17311 + 17312 (head/neck/hands/feet/genitalia) or "
                                            "17313 + 17314 (trunk/arms/legs)"))
        return out


class MohsSiteVsDiagnosis(Rule):
    """Mohs first-stage code contradicts the site of the diagnosis.

    ## What it checks
    17311 is for head, neck, hands, feet, genitalia, or any site where the surgery involves muscle,
    cartilage, bone, tendon, major nerves or vessels; 17313 for trunk, arms and legs.  17313 whose
    every pointed diagnosis is a head/neck site (C4x/D0x .0-.4, genital skin C51/C60/C63.2) is an
    error.  17311 whose every pointed diagnosis is trunk (.5) or limb (.6/.7) is a WARNING only: a
    hand/foot lesion or deep-structure involvement makes 17311 correct and the claim cannot show it.
    Overlapping/unspecified sites never trigger it.

    ## Why it is denied
    Site and diagnosis disagree (diagnosis inconsistent with procedure).

    ## Example
    `17313` pointing at C44.311 (basal cell carcinoma of nose) — error.
    `17311` pointing at C44.519 (trunk) — warning: check for deep-structure involvement.

    ## Correct coding
    Nose, face, scalp, neck, hands, feet, genitalia → 17311 (+17312); trunk/arms/legs without deep
    structures → 17313 (+17314).

    ## Source
    CMS PFS 2025 descriptors (paraphrased); AAPC "Don't marginalize Mohs"; ICD-10-CM FY2026 site
    axis; seed errors E26, E32.
    """

    id = "MOH004"
    triggers = MOHS_PRIMARY
    name = "mohs-site-vs-diagnosis"
    family = "MOH"
    severity = "error"
    carc = "11"

    def check(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        for ln in ctx.lines:
            if ln.code not in MOHS_PRIMARY:
                continue
            dxs = ctx.line_diagnoses(ln)
            if not dxs:
                continue
            sites = [dx_site(ctx, dx)[1] for dx in dxs]
            if any(s is None for s in sites):
                continue
            listing = ", ".join(dxs)
            if ln.code == "17313" and all(s == "17311" for s in sites):
                out.append(self.finding(ctx, f"17313 (trunk/arms/legs) billed for a head/neck/genital site ({listing})",
                                        line=ln, correct="17311 (+17312 for additional stages)"))
            elif ln.code == "17311" and all(s in ("TRUNK", "LIMB") for s in sites):
                out.append(self.finding(
                    ctx, f"17311 billed for a trunk/limb diagnosis ({listing}); correct only for a hand/foot "
                    "lesion or surgery involving deep structures", line=ln, severity="warning",
                    correct="17313 (+17314) for trunk/arms/legs without deep-structure involvement"))
        return out


class MohsDiagnosis(Rule):
    """Mohs surgery without a malignant diagnosis.

    ## What it checks
    Each 17311/17313 line must point at a malignant diagnosis (C codes, in-situ D00-D09).  It fires
    only when every pointed diagnosis is classified and none is malignant (benign, premalignant,
    uncertain behaviour, skin tag, vascular).

    ## Why it is denied
    Mohs micrographic surgery is covered for skin cancers (LCD L35494 indications); a benign,
    premalignant or uncertain diagnosis does not support it.

    ## Example
    `17311` pointing at D22.39 (melanocytic nevus of face) or L57.0.

    ## Correct coding
    Point the Mohs lines at the malignant diagnosis (e.g. C44.311); benign lesions are excised
    (11400-11446) or shaved (11300-11313).

    ## Source
    CMS LCD L35494 Mohs micrographic surgery; A56514.
    """

    id = "MOH005"
    triggers = MOHS_PRIMARY
    name = "mohs-diagnosis"
    family = "MOH"
    severity = "error"
    carc = "11"
    _OK = frozenset({"malignant", "unspecified"})

    def check(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        for ln in ctx.lines:
            if ln.code in MOHS_PRIMARY:
                fams = dx_families(ctx, ln)
                if all_known_and_none_in(fams, self._OK):
                    out.append(self.finding(ctx, f"{ln.code} (Mohs) points at {', '.join(ctx.line_diagnoses(ln))}, "
                                            "not a malignant diagnosis", line=ln,
                                            correct="point the Mohs line at the skin cancer diagnosis"))
        return out
