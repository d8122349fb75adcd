"""DRG: drugs -- NDC reporting (2410 LIN/CTP), units and MUE, JW/JZ, administration, indications."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from config.drugs import DrugInfo, format_ndc11, is_ndc11, load_drug_tables, ndc11
from edi.x837 import ServiceLine
from scrubber.engine import ClaimContext, Rule, ScrubFinding
from scrubber.rules._common import is_drug_code

CTP_UNITS = frozenset({"F2", "GR", "ME", "ML", "UN"})
JW_SINCE = date(2017, 1, 1)
JZ_VALID_FROM = date(2023, 1, 1)
JZ_REQUIRED = date(2023, 7, 1)

# Administration codes (CPT ranges named in domain coding-reference §5 and data/drugs.yaml).
_INJECTION = frozenset({
    "96365", "96366", "96367", "96368", "96369", "96370", "96371", "96372", "96373", "96374", "96375",
    "96376", "96377", "96379", "96401", "96402", "96405", "96406", "96409", "96411", "96413", "96415",
    "96416", "96417", "11900", "11901",
})
_JOINT_SOFT_TISSUE = frozenset({"20550", "20551", "20552", "20553", "20600", "20604", "20605", "20606", "20610",
                                "20611", "20526"})
_CHEMODENERVATION = frozenset({"64612", "64615", "64616", "64617", "64642", "64643", "64644", "64645", "64646",
                               "64647", "64650", "64653"})
_PDT = frozenset({"96567", "96573", "96574"})
ADMIN_CODES: dict[str, frozenset[str]] = {
    "sc": _INJECTION, "iv": _INJECTION, "sc_iv": _INJECTION,
    "im_il": _INJECTION | _JOINT_SOFT_TISSUE,
    "chemodenervation": _CHEMODENERVATION | _INJECTION,
    "topical_pdt": _PDT,
    "any": _INJECTION | _JOINT_SOFT_TISSUE | _CHEMODENERVATION | _PDT,
}
ALL_ADMIN = ADMIN_CODES["any"]
_CHEMO_SC_IM = frozenset({"96401", "96402"})


def _drug_triggers() -> frozenset[str]:
    """Every drug code of the shipped tables (engine fast path: DRG rules about drug lines run only on
    claims billing one).  An unknown J code (J9876) does not trigger them; VAL002 holds it anyway."""
    t = load_drug_tables()
    pool = t.hcpcs_current | frozenset(t.pfs2025) | frozenset(t.crosswalk) | frozenset(t.drugs)
    return frozenset(c for c in pool if t.is_drug_code(c))


DRUG_TRIGGERS = _drug_triggers()


def drug_lines(ctx: ClaimContext) -> list[ServiceLine]:
    """The claim's drug lines (J codes, drug-table codes, letter codes with NDCs), computed once."""
    hit = ctx.extra.get("_drug_lines")
    if hit is None:
        if all(c[:1].isdigit() for c in ctx.codes):            # CPT-only claim (most dermatology claims)
            hit = []
        else:
            hit = [ln for ln in ctx.lines if is_drug_code(ctx, ln.code)]
        ctx.extra["_drug_lines"] = hit
    return hit  # type: ignore[no-any-return]


def ndc_lines(ctx: ClaimContext) -> list[ServiceLine]:
    """The claim's lines with a 2410 LIN segment, computed once."""
    hit = ctx.extra.get("_ndc_lines")
    if hit is None:
        hit = [ln for ln in ctx.lines if ln.ndc or ln.ndc_qualifier]
        ctx.extra["_ndc_lines"] = hit
    return hit  # type: ignore[no-any-return]


def _has_lin(ln: ServiceLine) -> bool:
    return bool(ln.ndc or ln.ndc_qualifier)


def _dx_for(ctx: ClaimContext, ln: ServiceLine) -> list[str]:
    """The line's pointed diagnoses, else every claim diagnosis."""
    return ctx.line_diagnoses(ln) or ctx.claim.diagnosis_codes


class NdcMissing(Rule):
    """Drug line without an NDC where the payer requires one.

    ## What it checks
    When the payer profile requires NDCs (every Medicaid program; commercial payers flagged
    ``ndc_required``, e.g. UnitedHealthcare), every drug line (J codes, drug-table codes, letter codes
    with NDCs in the CMS ASP crosswalk) needs loop 2410: `LIN**N4*<11-digit NDC>` and `CTP`.

    ## Why it is denied
    Medicaid cannot invoice the manufacturer rebate without the NDC (DRA 2005 §6002): the line is
    denied (CARC 16 with M119 "missing/incomplete/invalid NDC").

    ## Example
    Medicaid claim with `J3301` ×4 and no LIN segment.

    ## Correct coding
    `SV1*HC:J3301*...*UN*4` then `LIN**N4*00003029305` and `CTP****1*ML`.

    ## Source
    CMS SMDL 06-016 (DRA 2005 §6002, Medicaid NDC for physician-administered drugs); UHC NDC policy
    (2017-01-01); payer profiles `config/payers.yaml`; domain data/jw_jz_ndc_837p.yaml.
    """

    id = "DRG001"
    triggers = DRUG_TRIGGERS
    name = "ndc-missing"
    family = "DRG"
    severity = "error"
    carc = "16"

    def check(self, ctx: ClaimContext) -> Iterable[ScrubFinding]:
        if not (ctx.payer.ndc_required or ctx.is_medicaid):
            return ()
        return self._run(ctx)

    def _run(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        if not (ctx.payer.ndc_required or ctx.is_medicaid):
            return out
        for ln in drug_lines(ctx):
            if not _has_lin(ln):
                out.append(self.finding(ctx, f"{ln.code}: the payer requires the NDC (2410 LIN/CTP) on drug lines",
                                        line=ln, correct="LIN**N4*<11-digit NDC> and CTP****<quantity>*<unit>"))
        return out


class NdcFormat(Rule):
    """NDC not reported as LIN02 = N4 with an 11-digit (5-4-2) NDC.

    ## What it checks
    A 2410 LIN segment must carry LIN02 = N4 and LIN03 = the NDC as 11 digits, no hyphens (5-4-2).
    A hyphenated 10-digit label NDC is converted in the hint (4-4-2, 5-3-2, 5-4-1 get their zero); a
    bare 10-digit NDC is ambiguous and must be looked up on the package.

    ## Why it is denied
    Payers match the NDC to their drug files; a 10-digit, hyphenated or otherwise malformed NDC does not
    match (CARC 16 with M119).

    ## Example
    `LIN**N4*0002-7597-01`, `LIN**N4*5024204062` (10 digits), `LIN**EN*...`.

    ## Correct coding
    `LIN**N4*00002759701`.

    ## Source
    ASC X12 005010X222A1 2410 LIN02/LIN03 (N4 = NDC in 5-4-2 format); DaisyBill and datainsight.health
    10-to-11-digit conversion (domain data/jw_jz_ndc_837p.yaml).
    """

    id = "DRG002"
    name = "ndc-format"
    family = "DRG"
    severity = "error"
    carc = "16"

    def check(self, ctx: ClaimContext) -> Iterable[ScrubFinding]:
        if not ndc_lines(ctx):
            return ()
        return self._run(ctx)

    def _run(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        for ln in ndc_lines(ctx):
            if ln.ndc_qualifier != "N4":
                out.append(self.finding(ctx, f"{ln.code}: LIN02 is {ln.ndc_qualifier!r}; NDCs are reported with N4",
                                        line=ln, correct="LIN**N4*<11-digit NDC>"))
                continue
            if is_ndc11(ln.ndc):
                continue
            fixed = ndc11(ln.ndc)
            if fixed is not None:
                out.append(self.finding(ctx, f"{ln.code}: NDC {ln.ndc} must be 11 digits without hyphens", line=ln,
                                        correct=fixed))
            elif len(ln.ndc) == 10 and ln.ndc.isdigit():
                out.append(self.finding(ctx, f"{ln.code}: NDC {ln.ndc} has 10 digits; the 11-digit form depends on the "
                                        "label's 4-4-2 / 5-3-2 / 5-4-1 layout", line=ln,
                                        correct="the 11-digit 5-4-2 NDC from the package label"))
            else:
                out.append(self.finding(ctx, f"{ln.code}: NDC {ln.ndc!r} is not an 11-digit NDC", line=ln))
        return out


class NdcQuantity(Rule):
    """NDC quantity (CTP04) missing or not positive, or an invalid unit (CTP05-1).

    ## What it checks
    A line with LIN must carry CTP with CTP04 > 0 and CTP05-1 one of F2 (international unit), GR (gram),
    ME (milligram), ML (milliliter), UN (unit).

    ## Why it is denied
    The NDC quantity is required with the NDC; without it (or with an unknown unit) the drug cannot be
    priced or rebated (CARC 16 with M119).

    ## Example
    `LIN**N4*00003029305` with no CTP; `CTP****0*ML`; `CTP****1*EA`.

    ## Correct coding
    `CTP****1*ML` (the NDC quantity, which differs from the HCPCS units in SV104).

    ## Source
    ASC X12 005010X222A1 2410 CTP04/CTP05 (X12 RFI #2151, #591); ResDAC NDC unit of measure codes.
    """

    id = "DRG003"
    name = "ndc-quantity"
    family = "DRG"
    severity = "error"
    carc = "16"

    def check(self, ctx: ClaimContext) -> Iterable[ScrubFinding]:
        if not ndc_lines(ctx):
            return ()
        return self._run(ctx)

    def _run(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        for ln in ndc_lines(ctx):
            has_ctp = any(s.elements[0] == "CTP" for s in ln.segments)
            if not has_ctp:
                out.append(self.finding(ctx, f"{ln.code}: NDC without CTP (quantity and unit)", line=ln,
                                        correct="CTP****<quantity>*<F2|GR|ME|ML|UN>"))
                continue
            q = ln.ctp_quantity
            if q is None or q <= 0:
                out.append(self.finding(ctx, f"{ln.code}: NDC quantity (CTP04) must be a number above 0", line=ln))
            if ln.ctp_unit not in CTP_UNITS:
                out.append(self.finding(
                    ctx, f"{ln.code}: NDC unit (CTP05-1) {ln.ctp_unit!r} is not F2, GR, ME, ML or UN",
                    line=ln))
        return out


class NdcNotInCrosswalk(Rule):
    """NDC not listed for the HCPCS code in the CMS ASP NDC-HCPCS crosswalk (warning).

    ## What it checks
    For a valid 11-digit NDC on a line whose HCPCS code has NDCs in the CMS January 2026 crosswalk, the
    NDC should be one of them.  When the NDC is listed under another HCPCS code the message says which.

    ## Why it is denied
    An NDC that does not belong to the HCPCS code suggests the wrong code or the wrong NDC (CARC 16 / M119
    at payers that edit NDC-HCPCS pairs).  The crosswalk is not a complete list of NDCs, so this is never
    an error.

    ## Example
    `J3590` with NDC 71336-1000-01 (Onpattro, crosswalked to J0222).

    ## Correct coding
    The NDC of the package actually used, under the HCPCS code the crosswalk gives for it.

    ## Source
    CMS January 2026 ASP NDC-HCPCS crosswalk (`config/tables/asp_ndc_hcpcs_crosswalk_2026q1.csv`).
    """

    id = "DRG004"
    name = "ndc-not-in-crosswalk"
    family = "DRG"
    severity = "warning"
    carc = "16"

    def check(self, ctx: ClaimContext) -> Iterable[ScrubFinding]:
        if not ndc_lines(ctx):
            return ()
        return self._run(ctx)

    def _run(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        drugs = ctx.drugs
        for ln in ndc_lines(ctx):
            if ln.ndc_qualifier != "N4" or not is_ndc11(ln.ndc):
                continue
            listed = drugs.ndc_matches(ln.code, ln.ndc)
            others = sorted(drugs.hcpcs_for_ndc(ln.ndc) - {ln.code})
            if listed is True or (listed is None and not others):
                continue
            where = f"; the crosswalk lists it under {', '.join(others)}" if others else ""
            out.append(self.finding(ctx, f"NDC {format_ndc11(ln.ndc)} is not listed for {ln.code} in the CMS ASP "
                                    f"crosswalk (January 2026){where}", line=ln))
        return out


class DrugUnits(Rule):
    """Drug units not a positive whole number, or above the MUE for the date of service.

    ## What it checks
    SV104 of a drug line must be a whole number of HCPCS billing units above 0; the units of all lines of
    the code on one date of service (administered + JW discarded) must not exceed the code's MUE (MAI 1:
    per line).

    ## Why it is denied
    Units follow the HCPCS descriptor (e.g. J3357 = 1 mg: 45 mg = 45 units); fractional units are not
    accepted and units above the MUE are denied (CARC 151).

    ## Example
    `J3357` ×45.5; `J7308` ×4 on one day (MUE 3); `J0222` ×400 (MUE 300).

    ## Correct coding
    Round to whole units per the descriptor; bill a JW line for the discarded amount inside the MUE.

    ## Source
    CMS NCCI practitioner MUE 2024-07-01 (drug rows); HCPCS descriptors (billing unit, drug table
    `config/tables/drugs_derm.yaml`).
    """

    id = "DRG005"
    triggers = DRUG_TRIGGERS
    name = "drug-units"
    family = "DRG"
    severity = "error"
    carc = "151"

    def check(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        lines = drug_lines(ctx)
        if not lines:
            return out
        totals: dict[tuple[date | None, str], list[ServiceLine]] = {}
        for ln in lines:
            u = ln.units
            if u is None:
                continue
            if u <= 0 or u != u.to_integral_value():
                out.append(self.finding(
                    ctx, f"{ln.code}: units {u} must be a whole number above 0 (HCPCS billing units)",
                    line=ln))
                continue
            totals.setdefault((ctx.line_date(ln), ln.code), []).append(ln)
        mue_table = ctx.tables.mue
        for (_d, code), group in totals.items():
            edit = mue_table.get(code)
            info = ctx.drugs.drug(code)
            if edit is not None:
                mue, mai = edit.mue_units, edit.mai
            elif info is not None and info.mue is not None:
                mue, mai = info.mue, info.mai or 3
            else:
                continue
            if mai == 1:
                for ln in group:
                    if ctx.units(ln) > mue:
                        out.append(self.finding(ctx, f"{code}: {ctx.units(ln)} units on one line; the MUE is {mue}",
                                                line=ln))
                continue
            total = sum(ctx.units(ln) for ln in group)
            if total > mue:
                out.append(self.finding(
                    ctx, f"{code}: {total} units on one date of service (administered + discarded); "
                    f"the MUE is {mue} (MAI {mai})", line=group[-1], lines=group))
        return out


class JwJzModifier(Rule):
    """JW/JZ discarded-drug modifiers missing, contradictory or early.

    ## What it checks
    Medicare (payer profiles with ``jw_jz_required``), dates of service from 2023-07-01: a drug from a
    single-dose container (drug table ``single_dose: true``) needs JZ on its line when nothing was
    discarded, or a separate JW line (same code, same date) for the discarded amount; the administered
    line of a drug with a JW line needs no JZ.  Every payer: JZ and JW never together for one drug on one
    date (nor both on one line), a JW line needs an administered line of the same code and date, and JZ
    does not exist before 2023-01-01.  Drugs with mixed or multi-dose packaging (single_dose null) are not
    checked for a missing modifier.

    ## Why it is denied
    From 2023-10-01 Medicare returns single-dose-container drug claims without JW/JZ as unprocessable
    (CARC 16 with N365/M-remarks); JW and JZ together are contradictory; a JW line alone bills waste of
    a dose never given.

    ## Example
    Medicare `J3357` ×45 with no modifier; `J0222-JZ` ×300 plus `J0222-JW` ×10.

    ## Correct coding
    `J3357-JZ` ×45 when nothing was discarded; `J0222` ×300 + `J0222-JW` ×10 when 1 mg was discarded.

    ## Source
    CMS JW/JZ policy: FCSO, Noridian JZ page, CGS (JZ optional 2023-01-01, required 2023-07-01, returned
    from 2023-10-01); ACR advocacy news 2023-09; Priority Health (not for multi-dose vials).  Domain
    data/jw_jz_ndc_837p.yaml.
    """

    id = "DRG006"
    triggers = DRUG_TRIGGERS
    name = "jw-jz-modifier"
    family = "DRG"
    severity = "error"
    carc = "16"

    def check(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        lines = drug_lines(ctx)
        if not lines:
            return out
        required = bool(ctx.payer.jw_jz_required)
        groups: dict[tuple[date | None, str], list[ServiceLine]] = {}
        for ln in lines:
            d = ctx.line_date(ln)
            groups.setdefault((d, ln.code), []).append(ln)
            if "JZ" in ln.modifiers and d is not None and d < JZ_VALID_FROM:
                out.append(self.finding(ctx, f"{ln.code}: modifier JZ is only valid from 2023-01-01", line=ln))
        for (d, code), group in groups.items():
            jw = [ln for ln in group if "JW" in ln.modifiers]
            jz = [ln for ln in group if "JZ" in ln.modifiers]
            given = [ln for ln in group if "JW" not in ln.modifiers]
            both = [ln for ln in group if "JW" in ln.modifiers and "JZ" in ln.modifiers]
            for ln in both:
                out.append(self.finding(ctx, f"{code}: JW and JZ on the same line", line=ln,
                                        correct="JZ when nothing was discarded; JW only on the discarded-amount line"))
            if jw and jz and not both:
                out.append(self.finding(ctx, f"{code}: JZ (nothing discarded) and a JW line (amount discarded) for the "
                                        "same drug on one date", line=jz[0], lines=jw + jz,
                                        correct=f"drop JZ from the administered {code} line and keep the JW line, or "
                                        "drop the JW line"))
            if jw and not given:
                out.append(self.finding(ctx, f"{code}: JW (discarded amount) line without a line for the administered "
                                        "amount", line=jw[0], correct=f"add the administered {code} line"))
            if not required or jw or d is None or d < JZ_REQUIRED:
                continue
            info = ctx.drugs.drug(code)
            if info is None or info.single_dose is not True:
                continue
            for ln in given:
                if "JZ" not in ln.modifiers:
                    out.append(self.finding(ctx, f"{code} is a single-dose-container drug: Medicare needs JZ (nothing "
                                            "discarded) or a separate JW line for the discarded amount", line=ln,
                                            correct=f"{code}-JZ, or {code} + {code}-JW (discarded units)"))
        return out


class DrugWithoutAdministration(Rule):
    """Injectable or photosensitizing drug billed without an administration code.

    ## What it checks
    A drug of the drug table billed without any administration service on the claim: injections and
    infusions need 96372, 96365-96379, 96401-96402 (or another chemotherapy administration code) or
    intralesional 11900/11901; triamcinolone may also go with joint/soft-tissue injections (20550-20611);
    onabotulinumtoxinA with chemodenervation (64612-64653); the photosensitizers J7308/J7345/J7309 with
    photodynamic therapy 96567/96573/96574.  Other J codes, NOC codes and self-administered drugs only get
    a warning.

    ## Why it is denied
    A physician-administered drug implies its administration; a claim with the drug and no
    administration is incomplete (payers deny or pend the drug: CARC 16/B15-style), and the practice
    loses the administration payment.

    ## Example
    `J3357-JZ` ×45 alone; `J7308` with `17000` but no PDT code.

    ## Correct coding
    `J3357-JZ` ×45 + `96372`; `J7308` + `96567` (or 96573/96574).

    ## Source
    ACAAI (biologic administration 96372); domain data/drugs.yaml (J7308 pairs with 96567/96573/96574);
    CPT administration code ranges (codes only).
    """

    id = "DRG007"
    triggers = DRUG_TRIGGERS
    name = "drug-without-administration"
    family = "DRG"
    severity = "error"
    carc = "16"

    def check(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        lines = drug_lines(ctx)
        if not lines:
            return out
        codes = ctx.codes
        seen: set[str] = set()
        for ln in lines:
            if ln.code in seen or "JW" in ln.modifiers:
                continue
            seen.add(ln.code)
            info = ctx.drugs.drug(ln.code)
            if info is None:
                if ln.code[:1] == "J" and ln.code[:2] not in ("J7", "J8") and codes.isdisjoint(ALL_ADMIN):
                    out.append(self.finding(ctx, f"{ln.code} is billed without an administration code", line=ln,
                                            severity="warning"))
                continue
            admin = ADMIN_CODES.get(info.route, ALL_ADMIN)
            if not codes.isdisjoint(admin):
                continue
            weak = info.noc or info.self_administered or info.route == "any"
            kind = "photodynamic therapy (96567, 96573 or 96574)" if info.route == "topical_pdt" else (
                "an administration code (e.g. 96372, 96365, 11900)")
            out.append(self.finding(ctx, f"{ln.code} ({info.name}) is billed without {kind}", line=ln,
                                    severity="warning" if weak else None,
                                    correct=("96567/96573/96574" if info.route == "topical_pdt" else
                                             "96372 (SC/IM) or 96365 (IV infusion)")))
        return out


class DrugDiagnosisMismatch(Rule):
    """Drug billed for a diagnosis it is not labeled for.

    ## What it checks
    For drugs of the drug table with labeled indications, at least one diagnosis of the line (its
    pointers, else the claim's) must fall under them.  Error where a dermatology use is impossible --
    J0222 (patisiran, hATTR amyloidosis E85) billed for atopic dermatitis or psoriasis is the seeds'
    "J0222 = dupilumab" mistake; warning where another product is the likely intent (J2327 and J3358 are
    IV induction for Crohn's/UC, J3247 IV secukinumab is for PsA/axSpA).

    ## Why it is denied
    The diagnosis does not support the drug (CARC 11 "diagnosis inconsistent with the procedure") -- and
    the code is usually the wrong drug.

    ## Example
    `J0222` ×300 with L20.9 (seed E06: dupilumab is not J0222).

    ## Correct coding
    Dupilumab (Dupixent) has no product-specific code: `J3590` with its NDC and a description (ACAAI);
    Skyrizi SC for psoriasis: J3590; ustekinumab SC: J3357.

    ## Source
    FDA labels (Onpattro, Skyrizi IV, Stelara IV, Cosentyx IV); HCPCS descriptors (domain data/drugs.yaml);
    ACAAI biologic coding; seed_errors.yaml E06, E09.
    """

    id = "DRG008"
    triggers = DRUG_TRIGGERS
    name = "drug-diagnosis-mismatch"
    family = "DRG"
    severity = "error"
    carc = "11"

    def check(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        for ln in drug_lines(ctx):
            info = ctx.drugs.drug(ln.code)
            if info is None or not info.indications:
                continue
            dx = _dx_for(ctx, ln)
            if not dx or any(info.indicated_for(c) for c in dx):
                continue
            out.append(self.finding(ctx, f"{ln.code} ({info.name}) is labeled for {_fmt_ind(info)}, not for "
                                    f"{', '.join(dx)}" + (f". {info.note}" if info.note else ""), line=ln,
                                    severity=info.indication_severity,
                                    correct="J3590 (unclassified biologic) with NDC and drug name when the drug has no "
                                    "specific code"))
        return out


def _fmt_ind(info: DrugInfo) -> str:
    return "/".join(info.indications)


def _line_description(ln: ServiceLine) -> str:
    """SV101-7 (procedure description) or a line NTE."""
    sv1 = ln.sv1
    if sv1 is not None:
        raw = sv1.get(1)
        if len(raw) > 2 and not raw[2].isalnum():
            comp = raw.split(raw[2])
            if len(comp) > 6 and comp[6].strip():
                return comp[6]
    for s in ln.segments:
        if s.elements[0] == "NTE" and s.get(2).strip():
            return s.get(2)
    return ""


class NocDrugWithoutDescription(Rule):
    """Not-otherwise-classified drug code without a drug description (and NDC).

    ## What it checks
    A NOC drug code (J3490, J3590, J9999, J7999, J8499, C9399 ...) needs the drug's name, dose and route
    in SV101-7 or a line NTE.  Error when the line has neither a description nor an NDC; warning when the
    NDC identifies the drug but no description is given.

    ## Why it is denied
    The payer cannot tell what was given: NOC lines without a description are returned as unprocessable
    (CARC 16 with M20/M124-style remarks).

    ## Example
    `J3590` ×1 for dupilumab with no NDC and no description.

    ## Correct coding
    `SV1*HC:J3590:::::DUPILUMAB 300MG SC*...` with `LIN**N4*<NDC>` and `CTP`.

    ## Source
    CMS Claims Processing Manual ch. 26 (NOC codes need a description in item 19 / 2400 NTE or SV101-7);
    ACAAI (Dupixent billed J3590 with NDC); IBX NDC policy for NOC codes.
    """

    id = "DRG009"
    triggers = DRUG_TRIGGERS
    name = "noc-drug-without-description"
    family = "DRG"
    severity = "error"
    carc = "16"

    def check(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        for ln in drug_lines(ctx):
            if not ctx.drugs.is_noc(ln.code) or _line_description(ln):
                continue
            if _has_lin(ln):
                out.append(self.finding(ctx, f"{ln.code} (unclassified drug): give the drug name, dose and route in "
                                        "SV101-7 or a line NTE", line=ln, severity="warning"))
            else:
                out.append(self.finding(ctx, f"{ln.code} (unclassified drug) has neither a drug description nor an NDC",
                                        line=ln, correct="SV101-7 description (name, dose, route) and LIN**N4 + CTP"))
        return out


class SelfAdministeredDrugMedicare(Rule):
    """Usually self-administered drug billed to Medicare Part B (warning).

    ## What it checks
    A drug the drug table marks as usually self-administered (J0135 adalimumab) on a Medicare claim.

    ## Why it is denied
    MAC Self-Administered Drug exclusion lists exclude these drugs from Part B (CARC 96 / N-remarks); the
    drug belongs to the Part D / pharmacy benefit.

    ## Example
    Medicare `J0135` ×2 + `96372`.

    ## Correct coding
    Bill the pharmacy benefit; bill Part B only with documentation the drug was not self-administrable.

    ## Source
    CMS Medicare Benefit Policy Manual ch. 15 §50.2; MAC SAD lists (articles A52571, A52527).
    """

    id = "DRG010"
    triggers = DRUG_TRIGGERS
    name = "self-administered-drug-medicare"
    family = "DRG"
    severity = "warning"
    carc = "96"

    def check(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        if not ctx.is_medicare:
            return out
        for ln in drug_lines(ctx):
            info = ctx.drugs.drug(ln.code)
            if info is not None and info.self_administered and "JW" not in ln.modifiers:
                out.append(self.finding(ctx, f"{ln.code} ({info.name}) is usually self-administered: excluded from "
                                        "Medicare Part B by the MAC SAD lists", line=ln))
        return out


class ChemoAdminForBiologic(Rule):
    """Chemotherapy SC/IM administration (96401/96402) for a drug that is not anti-neoplastic.

    ## What it checks
    96401 or 96402 on a claim whose drugs are all in the drug table and none is anti-neoplastic:
    triamcinolone, onabotulinumtoxinA, patisiran, and also the monoclonal antibodies / fusion proteins
    (ustekinumab, adalimumab, omalizumab ...) that seed E23 bills with 96401.  J3590 (unclassified
    biologics: dupilumab, SC secukinumab, ixekizumab per the domain) counts as non-anti-neoplastic when
    the claim has no neoplasm diagnosis (C00-D49); other NOC codes are skipped.  (CMS Claims Processing
    Manual ch. 12 §30.5 lets some MACs accept chemotherapy administration for biologic response
    modifiers; the domain reference does not, and treats seed E23 as an error.)

    ## Why it is denied
    96401/96402 describe chemotherapy (anti-neoplastic) SC/IM administration; a therapeutic SC/IM
    injection is 96372 and the payer denies or recodes 96401 (CARC 11/4).

    ## Example
    `96401` + `J3301` ×4 for an IM triamcinolone injection (seed E23 "96401 for non-chemotherapy
    injections"): error.  `J3357-JZ` ×45 + `96401`, or `J3590` (dupilumab) + `96401` for L20.9: error.

    ## Correct coding
    `96372` + `J3301` ×4; `96372` + `J3357-JZ` ×45.

    ## Source
    CPT 96401/96402 vs 96372 (paraphrased, domain data/drugs.yaml); CMS Claims Processing Manual ch. 12
    §30.5 (chemotherapy administration also for certain monoclonal antibodies / biologic response
    modifiers); ACAAI (Dupixent administration 96372); seed_errors.yaml E23.
    """

    id = "DRG011"
    triggers = _CHEMO_SC_IM
    name = "chemo-admin-for-non-antineoplastic"
    family = "DRG"
    severity = "error"
    carc = "11"

    def check(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        if ctx.codes.isdisjoint(_CHEMO_SC_IM):
            return out
        lines = drug_lines(ctx)
        neoplasm = any(c[:1] == "C" or (c[:1] == "D" and c[1:3].isdigit() and int(c[1:3]) <= 49)
                       for c in ctx.claim.diagnosis_codes)
        infos = [ctx.drugs.drug(ln.code) for ln in lines]
        known = [i for i, ln in zip(infos, lines, strict=True)
                 if i is not None and not (ln.code == "J3590" and not neoplasm)]
        if not known and not (lines and all(ln.code == "J3590" for ln in lines) and not neoplasm):
            return out
        if None in infos or any(i.antineoplastic or i.noc for i in known):
            return out
        names = ", ".join(sorted({ln.code for ln in lines}))
        for ln in ctx.lines:
            if ln.code in _CHEMO_SC_IM:
                out.append(self.finding(
                    ctx, f"{ln.code} is chemotherapy (anti-neoplastic) administration; {names} is not "
                    "anti-neoplastic: a SC/IM injection is 96372", line=ln, correct="96372"))
        return out
