"""REP: repairs with excisions and biopsies."""

from __future__ import annotations

from scrubber.engine import ClaimContext, Rule, ScrubFinding
from scrubber.rules._common import date_groups, distinct_hint, distinct_pair, family

_SIMPLE = frozenset({"12001", "12002", "12004", "12005", "12006", "12007",
                     "12011", "12013", "12014", "12015", "12016", "12017", "12018"})
_INCLUDES_CLOSURE = frozenset({"excision_benign", "excision_malignant"})
_CLOSING_BIOPSY = frozenset({"11104", "11105", "11106", "11107"})


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
    triggers = _SIMPLE
    triggers = _SIMPLE
    name = "simple-repair-bundled"
    family = "REP"
    severity = "error"
    carc = "97"

    def check(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        for _d, lines, codes in date_groups(ctx):
            if _SIMPLE.isdisjoint(codes):
                continue
            hosts = [ln for ln in lines
                     if ln.code in _CLOSING_BIOPSY or family(ctx, ln.code) in _INCLUDES_CLOSURE]
            if not hosts:
                continue
            for rep in lines:
                if rep.code not in _SIMPLE:
                    continue
                unseparated = [h for h in hosts if not distinct_pair(rep, h)]
                if unseparated:
                    h = unseparated[0]
                    out.append(self.finding(
                        ctx, f"simple repair {rep.code} billed with {h.code} on the same date without a "
                        "distinct-site modifier; simple closure is included", line=rep, lines=[rep, *unseparated],
                        correct=f"drop {rep.code}, or {rep.code}-{distinct_hint(ctx)} if it closed a separate wound"))
        return out


def _codes(*ranges: tuple[int, int]) -> frozenset[str]:
    return frozenset(str(c) for lo, hi in ranges for c in range(lo, hi + 1))


# Anatomic groups of repairs, adjacent tissue transfers and grafts (CMS PFS descriptors, paraphrased).
_GROUPS: dict[str, frozenset[str]] = {
    "simple-body": _codes((12001, 12007)),          # scalp/neck/axillae/ext genitalia/trunk/extremities
    "simple-face": _codes((12011, 12018)),          # face/ears/eyelids/nose/lips/mucous membranes
    "int-body": _codes((12031, 12037)),             # scalp/axillae/trunk/extremities (not hands/feet)
    "int-nhfg": _codes((12041, 12047)),             # neck/hands/feet/ext genitalia
    "int-face": _codes((12051, 12057)),             # face/ears/eyelids/nose/lips/mucous membranes
    "trunk": _codes((13100, 13102), (14000, 14001), (15200, 15201)),
    "sal": _codes((13120, 13122), (14020, 14021), (15220, 15221)),              # scalp/arms/legs
    "fccm": _codes((13131, 13133), (14040, 14041), (15240, 15241)),             # forehead/cheeks/chin/mouth/
    "enel": _codes((13151, 13153), (14060, 14061), (15260, 15261)),             # neck/axillae/genitalia/hands/feet
}
_GROUP_OF = {code: g for g, codes in _GROUPS.items() for code in codes}
_GROUP_TEXT = {
    "simple-body": "scalp/neck/axillae/genitalia/trunk/extremities", "simple-face": "face/ears/eyelids/nose/lips",
    "int-body": "scalp/axillae/trunk/extremities", "int-nhfg": "neck/hands/feet/genitalia",
    "int-face": "face/ears/eyelids/nose/lips", "trunk": "trunk", "sal": "scalp/arms/legs",
    "fccm": "forehead/cheeks/chin/mouth/neck/axillae/genitalia/hands/feet", "enel": "eyelids/nose/ears/lips",
}
_FACE = ("lip", "eyelid", "ear", "nose", "otherface", "face")
_E, _W = "error", "warning"
# diagnosis site -> group -> verdict (missing = compatible or undeterminable)
_VERDICT: dict[str, dict[str, str]] = {
    "lip": {"simple-body": _E, "int-body": _E, "int-nhfg": _E, "trunk": _E, "sal": _E},
    "eyelid": {"simple-body": _E, "int-body": _E, "int-nhfg": _E, "trunk": _E, "sal": _E, "fccm": _E},
    "ear": {"simple-body": _E, "int-body": _E, "int-nhfg": _E, "trunk": _E, "sal": _E, "fccm": _E},
    "nose": {"simple-body": _E, "int-body": _E, "int-nhfg": _E, "trunk": _E, "sal": _E, "fccm": _E},
    "otherface": {"simple-body": _E, "int-body": _E, "int-nhfg": _E, "trunk": _E, "sal": _E, "enel": _E},
    "face": {"simple-body": _E, "int-body": _E, "int-nhfg": _E, "trunk": _E, "sal": _E},
    "scalpneck": {"simple-face": _E, "int-face": _E, "trunk": _E, "enel": _E},
    "trunk": {"simple-face": _E, "int-nhfg": _E, "int-face": _E, "sal": _E, "enel": _E},
    # limb x trunk group: ICD puts the shoulder and hip in the limbs; coders may see them as trunk
    "limb": {"simple-face": _E, "int-nhfg": _W, "int-face": _E, "fccm": _W, "enel": _E},
    "genital": {"simple-face": _E, "int-body": _E, "int-face": _E, "trunk": _E, "sal": _E, "enel": _E},
    "foot": {"simple-face": _E, "int-body": _E, "int-face": _E, "trunk": _E, "sal": _E, "enel": _E},
}
_SITE_FAMILIES = ("C43", "C44", "C4A", "D03", "D04", "D22", "D23")
_GENITAL = ("C51", "C60", "C63.2", "D07.1", "D07.4", "D07.61")


def repair_site(icd: str) -> str | None:
    """The anatomic site of a diagnosis at the detail repairs need, or None when undeterminable."""
    if icd.startswith(_GENITAL):
        return "genital"
    if icd.startswith("B07.0"):
        return "foot"
    cat = icd[:3]
    if cat not in _SITE_FAMILIES or len(icd) < 5 or icd[3] != ".":
        return None
    ch = icd[4]
    if ch == "3":
        # C43.31 / C4A.31 nose, .39 other parts; C44.3<type><site>: C44.311 nose, C44.319 other parts
        pos = 6 if cat == "C44" else 5
        if cat in ("C43", "C44", "C4A") and len(icd) > pos:
            return {"1": "nose", "9": "otherface"}.get(icd[pos], "face")
        return "face"
    if ch == "5" and ((cat in ("C43", "C4A", "D03") and icd[5:6] == "1") or (cat == "C44" and icd[6:7] == "0")):
        return None                     # anal skin: no CPT group stated
    return {"0": "lip", "1": "eyelid", "2": "ear", "4": "scalpneck", "5": "trunk", "6": "limb",
            "7": "limb"}.get(ch)


class RepairSiteVsDiagnosis(Rule):
    """Repair, flap or graft code of an anatomic group that contradicts the diagnosis site.

    ## What it checks
    Repairs (12001-12057, 13100-13153), adjacent tissue transfers (14000-14061) and grafts
    (15200-15261) are chosen by the site of the wound.  For skin-neoplasm diagnoses whose 4th
    character is the site (C43, C44, C4A, D03, D04, D22, D23; genital skin C51/C60/C63.2) the
    pointed diagnosis must fit the code's group: e.g. a nose (C44.31x) defect is 13151-13153 /
    14060 / 15260, a cheek/forehead (C44.39x) defect 13131-13133 / 14040 / 15240, face repairs are
    never 12001-12007 or 12031-12037.  Error when every pointed diagnosis contradicts the group;
    WARNING when a limb diagnosis is billed with a hands/feet group (ICD-10-CM does not separate the
    hand or foot).  Ambiguous sites (unspecified face, lip vs mouth, scalp vs neck, axilla within
    the trunk, overlapping/unspecified sites, anal skin) never produce an error.

    ## Why it is denied
    The repair site and the diagnosis site disagree (diagnosis inconsistent with procedure); one of
    them is miscoded.

    ## Example
    `11642` + `13131` pointing at C44.311 (basal cell carcinoma of the nose): the nose is in the
    eyelids/nose/ears/lips group.

    ## Correct coding
    `11642` + `13151` (or 13152 by length).

    ## Source
    CMS PFS 2025 short descriptors (anatomic groups, paraphrased); domain coding-reference §1.4 and
    §1.8; ICD-10-CM FY2026 site axis.
    """

    id = "REP002"
    triggers = frozenset(_GROUP_OF)
    name = "repair-site-vs-diagnosis"
    family = "REP"
    severity = "error"
    carc = "11"

    def check(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        for ln in ctx.lines:
            group = _GROUP_OF.get(ln.code)
            if group is None:
                continue
            dxs = ctx.line_diagnoses(ln)
            if not dxs:
                continue
            verdicts = []
            for dx in dxs:
                site = repair_site(dx)
                v = _VERDICT.get(site, {}).get(group) if site is not None else None
                if v is None:
                    break
                verdicts.append(v)
            else:
                listing = ", ".join(dxs)
                if _W in verdicts:
                    out.append(self.finding(
                        ctx, f"{ln.code} ({_GROUP_TEXT[group]}) for a limb diagnosis ({listing}); correct only for "
                        "a hand or foot", line=ln, severity="warning",
                        correct="check the documented site: hand/foot vs rest of the limb"))
                else:
                    out.append(self.finding(
                        ctx, f"{ln.code} is a {_GROUP_TEXT[group]} code but the diagnosis site is {listing}", line=ln,
                        correct="use the repair/flap/graft code of the wound's anatomic group"))
        return out
