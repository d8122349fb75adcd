"""EXC: excision series (benign 114xx vs malignant 116xx) and ICD-10-CM site vs CPT site group."""

from __future__ import annotations

from scrubber.engine import ClaimContext, Rule, ScrubFinding
from scrubber.rules._common import all_known_and_none_in, dx_families, dx_site

_GROUP_NAME = {"A": "trunk/arms/legs", "B": "scalp/neck/hands/feet/genitalia",
               "C": "face/ears/eyelids/nose/lips/mucous membrane", "LIMB": "upper/lower limb"}
_SITE_FAMILIES = frozenset({"shave", "excision_benign", "excision_malignant", "destruction_malignant"})
_SIZES6 = ("0", "1", "2", "3", "4", "6")
_BENIGN_EXCISION = frozenset(f"11{g}{s}" for g in ("40", "42", "44") for s in _SIZES6)
_MALIGNANT_EXCISION = frozenset(f"11{g}{s}" for g in ("60", "62", "64") for s in _SIZES6)
_SHAVES = frozenset({"11300", "11301", "11302", "11303", "11305", "11306", "11307", "11308", "11310", "11311",
                     "11312", "11313"})
_SITE_CODES = _BENIGN_EXCISION | _MALIGNANT_EXCISION | _SHAVES | frozenset(
    f"17{g}{s}" for g in ("26", "27", "28") for s in _SIZES6)


class BenignExcisionDiagnosis(Rule):
    """Benign-lesion excision (11400-11446) pointing only at malignant diagnoses.

    ## What it checks
    Each 114xx line must point at a benign, uncertain-behaviour or otherwise non-malignant diagnosis.
    It fires when every pointed diagnosis is malignant (C43, C44, C4A, other C codes, D00-D09).

    ## Why it is denied
    The excision series is chosen by final pathology: a malignant lesion is coded 11600-11646
    (paid at a higher rate, and the diagnosis contradicts the benign code).

    ## Example
    `11402` pointing at C44.519 (basal cell carcinoma of trunk skin).

    ## Correct coding
    11600-11646 of the same site group and excised diameter (11402 → 11602).

    ## Source
    AAPC "4 steps for improved excision coding" (pathology decides; uncertain behaviour → benign
    series); CMS PFS 2025 code families (domain coding-reference §1.3, §4).
    """

    id = "EXC001"
    triggers = _BENIGN_EXCISION
    name = "benign-excision-diagnosis"
    family = "EXC"
    severity = "error"
    carc = "11"

    def check(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        for ln in ctx.lines:
            info = ctx.tables.codes.get(ln.code)
            if info is None or info.family != "excision_benign":
                continue
            fams = dx_families(ctx, ln)
            if fams and all(f == "malignant" for f in fams):
                dx = ", ".join(ctx.line_diagnoses(ln))
                malign = "116" + ln.code[3:]
                out.append(self.finding(ctx, f"{ln.code} (benign excision) points only at malignant diagnosis {dx}",
                                        line=ln, correct=f"malignant excision series: {malign} (same site and size)"))
        return out


class MalignantExcisionDiagnosis(Rule):
    """Malignant-lesion excision (11600-11646) without a malignant diagnosis.

    ## What it checks
    Each 116xx line must point at a malignant diagnosis (C43, C44, C4A, other C codes, in-situ
    D00-D09).  It fires when every pointed diagnosis is classified and none is malignant: benign
    neoplasms (D10-D36, D22 nevi, D23), uncertain behaviour (D37-D48, e.g. D48.5), seborrheic
    keratosis, warts, cysts, actinic keratosis.  D49.x (behaviour unspecified) and unclassified
    codes do not trigger it.

    ## Why it is denied
    Malignant excision codes need a malignant pathology diagnosis; uncertain behaviour or atypia goes
    to the benign series.

    ## Example
    `11602` pointing at D48.5 (neoplasm of uncertain behaviour of skin) or D22.5 (nevus of trunk).

    ## Correct coding
    11400-11446 of the same site group and size (11602 → 11402).

    ## Source
    AAPC "4 steps for improved excision coding"; ICD-10-CM FY2026 tabular note at D37-D48;
    domain coding-reference §1.3, §4.
    """

    id = "EXC002"
    triggers = _MALIGNANT_EXCISION
    name = "malignant-excision-diagnosis"
    family = "EXC"
    severity = "error"
    carc = "11"
    _OK = frozenset({"malignant", "unspecified"})

    def check(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        for ln in ctx.lines:
            info = ctx.tables.codes.get(ln.code)
            if info is None or info.family != "excision_malignant":
                continue
            fams = dx_families(ctx, ln)
            if all_known_and_none_in(fams, self._OK):
                dx = ", ".join(ctx.line_diagnoses(ln))
                out.append(self.finding(
                    ctx, f"{ln.code} (malignant excision) points at {dx}, not a malignant diagnosis",
                    line=ln, correct=f"benign excision series: 114{ln.code[3:]} (same site and size)"))
        return out


class SiteGroupVsDiagnosis(Rule):
    """CPT site group of a shave, excision or malignant destruction contradicts the ICD-10-CM site.

    ## What it checks
    Shave removal (11300-11313), excisions (11400-11446, 11600-11646) and malignant destruction
    (17260-17286) come in site groups A (trunk/arms/legs), B (scalp/neck/hands/feet/genitalia) and
    C (face/ears/eyelids/nose/lips/mucous membrane).  For C43/C44/C4A/D03/D04/D22/D23 the 4th
    character of the diagnosis is the site: .0-.3 → C, .4 (scalp and neck) → B, .5 (trunk) → A,
    .6/.7 (limbs) → A, or B for a hand or foot.  Error when every pointed diagnosis has a site and
    none fits the code's group.  Limb diagnosis with a group-B code: WARNING only (ICD-10-CM does not
    separate the hand or foot).  No finding for overlapping/unspecified sites (.8/.9), anal skin,
    D48.5, D49.2, L57.0, L82, B07.8/B07.9 or any code without a site axis.

    ## Why it is denied
    The procedure site and the diagnosis site disagree: payers deny for diagnosis/procedure
    inconsistency, and one of the two is miscoded.

    ## Example
    `11602` (trunk/arms/legs) pointing at C44.311 (basal cell carcinoma of nose);
    `11310` (face) pointing at D22.5 (nevus of trunk).

    ## Correct coding
    Use the code of the documented site's group (C44.311 → 11640-11646), or correct the diagnosis.

    ## Source
    CMS PFS 2025 site groups (paraphrased); ICD-10-CM FY2026 site axis; domain coding-reference §4
    and `icd10cm_derm_site_map.csv`.
    """

    id = "EXC003"
    triggers = _SITE_CODES
    name = "site-group-vs-diagnosis"
    family = "EXC"
    severity = "error"
    carc = "11"

    def check(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        tables = ctx.tables
        for ln in ctx.lines:
            info = tables.codes.get(ln.code)
            if info is None or info.family not in _SITE_FAMILIES or info.site_group is None:
                continue
            dxs = ctx.line_diagnoses(ln)
            if not dxs:
                continue
            group = info.site_group
            sites = [dx_site(ctx, dx)[0] for dx in dxs]
            if any(s is None or s == group or (s == "LIMB" and group == "A") for s in sites):
                continue
            listing = ", ".join(f"{dx} ({_GROUP_NAME[str(s)]})" for dx, s in zip(dxs, sites, strict=True))
            if group == "B" and "LIMB" in sites:
                out.append(self.finding(
                    ctx, f"{ln.code} is a {_GROUP_NAME[group]} code but the diagnosis is a limb ({listing}); "
                    "correct only if the lesion is on the hand or foot", line=ln, severity="warning",
                    correct="check the documented site: hand/foot = group B, rest of the limb = group A"))
                continue
            out.append(self.finding(
                ctx, f"{ln.code} is a {_GROUP_NAME[group]} code but the diagnosis site is {listing}", line=ln,
                correct="use the code of the documented site's group (A trunk/arms/legs, B scalp/neck/hands/"
                "feet/genitalia, C face/ears/eyelids/nose/lips) or correct the diagnosis"))
        return out
