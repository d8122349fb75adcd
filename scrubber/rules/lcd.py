"""LCD: Medicare Part B medical necessity by MAC (local coverage determinations).

The MAC is the one of the state where the service was rendered: the service facility (2310C N4),
else the billing provider (2010AA N4), mapped by ``config/tables/mac_jurisdictions.csv``.  LCDs bind
original Medicare only (SBR09 = MB), never Medicare Advantage or commercial payers.  The coverage
facts behind these rules are partly UNCONFIRMED (the articles' ICD-10 lists were not retrieved), so
they warn; a payer profile with ``coverage_severity: error`` makes them errors.
"""

from __future__ import annotations

from collections.abc import Iterable

from config.coverage import CoverageTables, Lcd
from edi.x837 import ServiceLine
from scrubber.engine import ClaimContext, Rule, ScrubFinding
from scrubber.rules._common import MOHS_ALL

# Lines with a liability modifier already tell the payer the beneficiary was told (GA, GX) or that a
# denial is expected (GY, GZ): no coverage warning.
_LIABILITY = frozenset({"GA", "GX", "GY", "GZ"})
_BENIGN_CODES = frozenset({
    "11200", "11201", "11300", "11301", "11302", "11303", "11305", "11306", "11307", "11308", "11310", "11311",
    "11312", "11313", "11400", "11401", "11402", "11403", "11404", "11406", "11420", "11421", "11422", "11423",
    "11424", "11426", "11440", "11441", "11442", "11443", "11444", "11446", "17106", "17107", "17108", "17110",
    "17111",
})
_INDICATIONS = {
    "L35498": "bleeding, itching or pain, change in appearance, recent enlargement, increase in number, "
              "inflammation, obstruction of an orifice, restricted vision, diagnostic uncertainty, a prior biopsy "
              "suggesting malignancy, documented recurrent trauma, or the wart rules",
    "L33445": "bleeding, intense itching, pain, inflammation, obstruction of an orifice or of vision, clinical "
              "uncertainty with a realistic concern of malignancy, documented recurrent trauma, or the wart rules",
    "L34233": "bleeding, intense itching or pain, inflammation, obstruction of an orifice or of vision, uncertain "
              "diagnosis, a prior biopsy suggesting (pre)malignancy, documented recurrent trauma, or the wart rules",
    "L34200": "bleeding, itching, pain, inflammation or infection, change in appearance, recent enlargement, "
              "increase in number, obstruction of an orifice, restricted eye function, diagnostic uncertainty, a prior "
              "biopsy suggesting malignancy, documented recurrent trauma, or the wart rules",
    "L34938": "bleeding, intense itching or pain, inflammation, obstruction of an orifice or of vision, uncertain "
              "diagnosis, a prior biopsy suggesting malignancy, trauma with pain, itching or bleeding, or the wart "
              "rules (list UNCONFIRMED)",
}


# the 2010AA state of the last billing provider loop seen (claims of one provider share the node)
_BILLING: list[object] = [None, ""]


def claim_state(ctx: ClaimContext) -> str:
    """The state where the service was rendered: 2310C service facility N4, else 2010AA billing N4."""
    inside = False
    for s in ctx.claim.segments:
        sid = s.elements[0]
        if sid == "NM1":
            inside = s.get(1) == "77"
        elif inside and sid == "N4":
            return s.get(2)
    billing = ctx.claim.billing
    if billing is None:
        return ""
    memo = _BILLING
    if memo[0] is billing:
        return str(memo[1])
    state = ""
    for s in billing.loop("85"):
        if s.elements[0] == "N4":
            state = s.get(2)
            break
    memo[0], memo[1] = billing, state
    return state


def _mac(ctx: ClaimContext) -> str:
    """The A/B MAC of an original Medicare Part B claim (SBR09 = MB), else ""."""
    cov = ctx.coverage
    if cov is None or not ctx.is_medicare or ctx.claim.claim_filing_indicator != "MB":
        return ""
    return cov.mac(claim_state(ctx))


def _lcd_for(ctx: ClaimContext, kind: str) -> tuple[CoverageTables, str, Lcd] | None:
    """(coverage tables, MAC, its LCD of this ``kind``) for an original Medicare claim, else None."""
    mac = _mac(ctx)
    if not mac:
        return None
    cov = ctx.coverage
    assert cov is not None
    lcd = cov.lcd(mac, kind)
    if lcd is None:
        return None
    return cov, mac, lcd


class BenignLesionIndication(Rule):
    """Medicare removal of a benign skin lesion without a covered indication on the line (MAC LCD).

    ## What it checks
    Original Medicare Part B claims (SBR09 = MB) whose MAC (state of the service facility, else the
    billing provider) has a benign-lesion LCD: WPS L35498, Palmetto L33445, Noridian L34233, CGS L34200,
    and Novitas L34938 (inferred: its contractor and code list are UNCONFIRMED; the codes every
    confirmed article shares are used).
    For a line billing a code of that LCD's Billing & Coding article (skin tags 11200/11201 where
    listed, shaves 11300-11313, benign excisions 11400-11446, 17106-17108 for WPS and CGS, 17110/17111),
    when every diagnosis the line points at is a benign lesion in the LCD's scope (e.g. L82.1, D22.x,
    L72.x, L91.8, B07.x) and none codes an indication (inflamed SK L82.0, itching L29.x, bleeding R58,
    pain, skin changes R23.x, enlargement R22.x, infection, uncertain behaviour D48.5/D49.2, injury,
    eyelid or vision problems, immunosuppression for warts, ...), it warns, naming the LCD.  Lines with
    GA, GX, GY or GZ are not flagged (the patient was told, or a denial is expected).  No warning for
    NGS (no such LCD), First Coast (whether it shares L34938 is UNCONFIRMED), a code outside the
    article (e.g. 11200 under Palmetto or Novitas), Medicare Advantage or commercial payers.  Actinic keratosis
    destruction (17000-17004, NCD 250.4) is never restricted.  When a CMS MCD article download is loaded
    (`dermedi tables import-mcd`), the article's covered / non-covered ICD-10 list replaces the
    indication mapping for that LCD.

    ## Why it is denied
    Removal of a benign lesion that neither threatens health nor function is cosmetic: the LCDs cover
    it only when a listed indication is present and documented; otherwise CO-50 with N115 (decision
    based on an LCD), and the beneficiary is liable only with an ABN.

    ## Example
    CGS (Ohio billing provider), `17110` pointing at `L82.1` alone.

    ## Correct coding
    Code the documented indication (e.g. `L82.0`, `L29.8`, `R58`, `D48.5`) and point the line at it; if
    there is none, give the patient an ABN and bill with GA (or GY/GX when the removal is cosmetic).

    ## Source
    Confirmed: LCD texts and article CPT lists of L35498 (WPS, rev. 2023-10-26), L33445 (Palmetto),
    L34233 (Noridian), L34200 (CGS, rev. 2024-08-08) from the CMS Coverage API; L34938 exists (MCD page,
    rev. 2019-09-26) but its contractor (Novitas) is inferred and its code list not seen; MAC by state from the
    CMS A/B MAC map (`config/tables/lcd_derm.csv`, `mac_jurisdictions.csv`).  UNCONFIRMED: the ICD-10
    codes standing for each indication (our mapping, `config/tables/lcd_benign_dx.csv`: the articles'
    ICD-10 lists were not retrieved), hence a warning only; a payer profile with `coverage_severity:
    error` makes it an error.
    """

    id = "LCD001"
    name = "benign-lesion-indication"
    family = "LCD"
    severity = "warning"
    carc = "50"
    triggers = _BENIGN_CODES

    def check(self, ctx: ClaimContext) -> Iterable[ScrubFinding]:
        found = _lcd_for(ctx, "benign")
        if found is None:
            return ()
        cov, mac, lcd = found
        out: list[ScrubFinding] = []
        article = cov.article(lcd)
        for ln in ctx.lines:
            code = ln.code
            if code not in _BENIGN_CODES or code not in lcd.codes or not _LIABILITY.isdisjoint(ln.modifiers):
                continue
            dxs = ctx.line_diagnoses(ln)
            if not dxs:
                continue
            if article is not None and (not article.hcpcs or code in article.hcpcs):
                answers = [article.covers(d) for d in dxs]
                if any(a is True for a in answers) and not any(a is False for a in answers):
                    continue
                out.append(self.finding(
                    ctx, f"{lcd.lcd_id} ({mac}): {code} for {', '.join(dxs)} - no diagnosis on the line is in "
                    f"article {article.article_id}'s covered ICD-10 list; code the covered indication or expect "
                    "CO-50/N115, or bill with GA/GY if the patient was told", line=ln,
                    severity=ctx.payer.coverage_severity,
                    correct=f"point {code} at a diagnosis covered by {article.article_id}, or add GA/GY"))
                continue
            roles = [cov.dx_role(lcd.lcd_id, d) for d in dxs]
            who = mac if lcd.status == "confirmed" else f"{mac}, UNCONFIRMED"
            if "indication" in roles or any(r != "benign" for r in roles):
                continue
            out.append(self.finding(
                ctx, f"{lcd.lcd_id} ({who}): {code} for {', '.join(dxs)} alone — removal of a benign lesion is "
                f"covered only with a documented indication: {_INDICATIONS.get(lcd.lcd_id, 'see the LCD')}; code "
                "the indication or expect CO-50/N115, or bill with GA/GY if the patient was told", line=ln,
                severity=ctx.payer.coverage_severity,
                correct=f"point {code} at the documented indication (e.g. L82.0, L29.8, R58, D48.5), or add GA/GY"))
        return out


# Mohs appropriate-use area of a diagnosis site, by the site character of C43/C44/C4A/D03/D04 (the 4th
# character: 0 lip, 1 eyelid, 2 ear, 3 other face, 4 scalp and neck, 5 trunk, 6 upper limb, 7 lower limb):
# lip, eyelid and ear are H; scalp and neck M; other face is H (nose, chin, temple) or M (cheek,
# forehead): undetermined; trunk is L (anal skin, coded .51 / C44.50-, is H; perianal skin and the
# nipple/areola are H: named in the message); a limb is L only when billed with 17313 (hands and feet
# are 17311 sites; pretibial skin (M) and the ankle (H) are named in the message).
_AREA_BY_4TH = {"0": "H", "1": "H", "2": "H", "4": "M", "5": "L", "6": "L?", "7": "L?"}
_EXCEPT = {"5": ", unless perianal or nipple/areola (H)", "7": ", unless pretibial (M) or the ankle (H)"}
# Tumours whose primary form the AUC covers on area L rarely / only on redetermination / only when
# large (the claim shows neither size nor subtype): (ICD-10-CM prefix, name, what the LCD says).
_L_LIMITED = (
    ("D04", "squamous cell carcinoma in situ (Bowen)",
     "in situ SCC on area L is not covered up to 1 cm, rarely covered at 1.1-2 cm, covered above 2 cm"),
    ("D03", "melanoma in situ / lentigo maligna",
     "primary lentigo maligna / melanoma in situ is covered on areas H and M; area L only on redetermination"),
    ("C4A", "Merkel cell carcinoma", "Merkel cell carcinoma is covered on H and M; area L only on redetermination"),
)


class MohsAppropriateUse(Rule):
    """Medicare Mohs surgery on area L for a tumour the appropriate-use LCD rarely or does not cover.

    ## What it checks
    Original Medicare Part B claims (SBR09 = MB) in the MACs whose Mohs LCD follows the 2012 appropriate
    use criteria: Noridian L35702 and WPS L35494.  The area of the diagnosis site is derived from the
    ICD-10-CM code: H (mask face, lips, eyelids, ears, genitalia, hands, feet), M (scalp, neck; cheeks
    and forehead when coded), L (trunk and extremities; a limb counts as L when billed with 17313,
    since hands and feet are 17311 sites; the message names the H/M exceptions: perianal skin and the
    nipple/areola on the trunk, pretibial skin and the ankle on the leg).  A warning for the settings
    the LCD marks "not covered", "rarely covered" or "on redetermination only" that a claim can show:
    in-situ SCC (D04.x), lentigo maligna / melanoma in situ (D03.x) and Merkel cell carcinoma (C4A.x)
    on area L.  Invasive BCC and SCC on L depend on size and histology, which the claim does not
    carry: no warning.  No warning for other MACs (CGS L34195 and Palmetto L33436 use indication
    lists, not areas), Medicare Advantage or commercial payers.  A loaded MCD article download
    replaces this with the article's covered
    ICD-10 list.

    ## Why it is denied
    Mohs in a setting the AUC call inappropriate is denied as not reasonable and necessary (CO-50 with
    N115); the LCDs say such tumours should be treated (and billed) by standard excision.

    ## Example
    Noridian (California), `17313` for `D04.5` (SCC in situ of the trunk).

    ## Correct coding
    Document why Mohs was chosen (size above 2 cm, recurrence, immunosuppression, ill-defined borders)
    and expect a redetermination, or bill a standard excision (116xx) with margins; an ABN with GA when
    the patient accepts liability.

    ## Source
    Confirmed: Noridian L35702 (v32) and WPS L35494 (v28) texts, areas H/M/L and coverage grid (CMS
    Coverage API; domain coverage-reference section 2.1).  UNCONFIRMED: the ICD-10 codes the articles
    (A56514, A57477) list (not retrieved) and our site-to-area mapping, hence a warning only; a payer
    profile with `coverage_severity: error` makes it an error.
    """

    id = "LCD002"
    name = "mohs-appropriate-use"
    family = "LCD"
    severity = "warning"
    carc = "50"
    triggers = MOHS_ALL

    def check(self, ctx: ClaimContext) -> Iterable[ScrubFinding]:
        found = _lcd_for(ctx, "mohs_auc")
        if found is None:
            return ()
        cov, mac, lcd = found
        article = cov.article(lcd)
        out: list[ScrubFinding] = []
        for ln in ctx.lines:
            if ln.code not in ("17311", "17313") or not _LIABILITY.isdisjoint(ln.modifiers):
                continue
            dxs = ctx.line_diagnoses(ln)
            if not dxs:
                continue
            if article is not None and (not article.hcpcs or ln.code in article.hcpcs):
                answers = [article.covers(d) for d in dxs]
                if any(a is True for a in answers) and not any(a is False for a in answers):
                    continue
                out.append(self.finding(
                    ctx, f"{lcd.lcd_id} ({mac}): Mohs {ln.code} for {', '.join(dxs)} - no diagnosis on the line is "
                    f"in article {article.article_id}'s covered ICD-10 list (expect CO-50/N115)", line=ln,
                    severity=ctx.payer.coverage_severity, correct="a covered diagnosis, or a standard excision"))
                continue
            hit = self._limited(ln, dxs)
            if hit is not None:
                dx, name, why = hit
                out.append(self.finding(
                    ctx, f"{lcd.lcd_id} ({mac}): Mohs {ln.code} for {dx} ({name}) on area L (trunk/extremities"
                    f"{_EXCEPT.get(dx[4:5], '')}): {why};"
                    " document size/recurrence or expect CO-50/N115", line=ln,
                    severity=ctx.payer.coverage_severity,
                    correct="document the feature that makes Mohs appropriate, or bill a standard excision (116xx)"))
        return out

    @staticmethod
    def _limited(line: ServiceLine, dxs: list[str]) -> tuple[str, str, str] | None:
        for dx in dxs:
            for prefix, name, why in _L_LIMITED:
                if dx.startswith(prefix):
                    if _area(dx, line.code) == "L":
                        return dx, name, why
                    break
        return None


def _area(dx: str, code: str) -> str:
    """H, M or L of a diagnosis site ("" when the code does not tell)."""
    if len(dx) < 5 or dx[3] != ".":
        return ""
    if (dx[:3] in ("C43", "C4A", "D03") and dx[4:6] == "51") or dx[:6] == "C44.50":
        return "H"                          # anal skin
    area = _AREA_BY_4TH.get(dx[4], "")
    if area == "L?":
        return "L" if code == "17313" else ""
    return area
