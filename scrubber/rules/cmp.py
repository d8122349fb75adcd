"""CMP: claim completeness: units, claim frequency and the payer's claim number, ABN and cosmetic
modifiers on Medicare lines."""

from __future__ import annotations

from collections.abc import Iterable

from scrubber.engine import ClaimContext, Rule, ScrubFinding
from scrubber.rules._common import family, is_drug_code

# Code families whose units count things (lesions, tags, stages, blocks, specimens, sessions): a
# fractional count cannot be right.  Drug codes keep the DRG family's units rules.
_COUNTED = frozenset({
    "biopsy", "skin_tag", "shave", "excision_benign", "excision_malignant", "destruction_premalignant",
    "destruction_benign", "destruction_malignant", "mohs", "pathology", "intralesional", "repair_simple",
    "repair_intermediate", "repair_complex", "repair_other", "att", "graft", "em", "em_addon",
})
_ABN = ("GA", "GY", "GZ")
ABN_MODIFIERS = frozenset(_ABN)
COSMETIC_OK = frozenset({"GY", "GX"})
_ALL_MODS = frozenset({"GA", "GY", "GZ", "GX"})


class UnitsNotPositive(Rule):
    """A service line has zero (or negative) units, or a fractional count of lesions, tags, stages or blocks.

    ## What it checks
    SV104 (units) of every line must be greater than 0.  For the codes whose units count things
    (biopsies and lesions, skin tags, shave/excision/destruction lesions, Mohs stages and tissue blocks,
    pathology specimens, repairs, E/M visits) the units must also be a whole number.  Drug codes (J/Q
    and the other drug HCPCS) keep their own units rules (DRG family): fractional drug units are legal.

    ## Why it is denied
    A line with 0 units has nothing to pay and is rejected by the payer's front end (CARC 16, missing
    or invalid units); a fractional count (1.5 lesions) is invalid for a per-unit code and is denied.

    ## Example
    `SV1*HC:17110*150*UN*0***1`; `SV1*HC:17003*40*UN*2.5***1`.

    ## Correct coding
    Report the number of lesions, tags, stages or blocks as a whole number of units (at least 1).

    ## Source
    ASC X12 005010X222A1 SV104 (service unit count, a quantity that must be positive for a billed
    service); CPT per-lesion / per-stage / per-block unit definitions (domain coding-reference).
    """

    id = "CMP001"
    name = "units-not-positive"
    family = "CMP"
    severity = "error"
    carc = "16"

    def check(self, ctx: ClaimContext) -> Iterable[ScrubFinding]:
        for ln in ctx.lines:
            u = ln.units
            if u is not None and (u <= 0 or u != u.to_integral_value()):
                return self._run(ctx)
        return ()

    def _run(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        for ln in ctx.lines:
            u = ln.units
            if u is None:
                continue            # reported by the reader (SV104 missing or not a number)
            if u <= 0:
                out.append(self.finding(ctx, f"line {ln.number} ({ln.code}) has {u} units: SV104 must be "
                                        "greater than 0", line=ln, correct="the units actually performed (1 or more)"))
            elif u != u.to_integral_value() and not is_drug_code(ctx, ln.code) \
                    and family(ctx, ln.code) in _COUNTED:
                out.append(self.finding(ctx, f"line {ln.number} ({ln.code}) has {u} units: {ln.code} counts "
                                        "lesions, tags, stages or blocks, which cannot be fractional", line=ln,
                                        correct=f"a whole number of units of {ln.code}"))
        return out


class FrequencyReference(Rule):
    """A replacement or void claim without the payer's claim number, or an original claim carrying one.

    ## What it checks
    When CLM05-3 (claim frequency) is 7 (replacement of a prior claim) or 8 (void/cancel of a prior
    claim), the claim must carry REF*F8 with the payer's claim control number of the original claim
    (error).  REF*F8 on an original claim (frequency 1) is reported as a warning: the payer may treat
    the claim as a duplicate or a mis-keyed replacement.

    ## Why it is denied
    Without the payer claim control number the payer cannot find the claim to replace or void: the
    claim is rejected (CARC 16 with N150 or MA130) or, worse, processed as a new claim and denied as a
    duplicate (CARC 18).

    ## Example
    `CLM*C1*150***11:B:7*Y*A*Y*Y` without `REF*F8`; `CLM*C1*150***11:B:1...` with `REF*F8*2024123456`.

    ## Correct coding
    `CLM05-3 = 7` or `8` with `REF*F8*<payer claim control number from the 835 CLP07>`; no REF*F8 on a
    first submission (frequency 1).

    ## Source
    ASC X12 005010X222A1 2300 REF (payer claim control number, required when CLM05-3 is 7 or 8);
    NUBC claim frequency codes (1 original, 7 replacement, 8 void).
    """

    id = "CMP002"
    name = "frequency-reference"
    family = "CMP"
    severity = "error"
    carc = "16"

    def check(self, ctx: ClaimContext) -> Iterable[ScrubFinding]:
        freq = ctx.claim.frequency_code
        if freq in ("7", "8"):
            if ctx.claim.ref("F8"):
                return ()
            kind = "replacement" if freq == "7" else "void"
            return [self.finding(ctx, f"frequency {freq} ({kind}) claim without REF*F8: the payer's claim "
                                 "control number of the original claim is required",
                                 correct="REF*F8 with the payer claim control number (835 CLP07)")]
        if freq == "1" and ctx.claim.ref("F8"):
            return [self.finding(ctx, "original claim (frequency 1) carries REF*F8 (a payer claim number): "
                                 "a replacement needs frequency 7, a first submission no REF*F8",
                                 severity="warning", correct="drop REF*F8, or send CLM05-3 = 7")]
        return ()


class AbnModifiersExclusive(Rule):
    """GA, GY and GZ on the same Medicare line.

    ## What it checks
    On a line of a Medicare claim, at most one of GA (ABN on file, expected not-reasonable-and-necessary
    denial), GY (statutorily excluded service) and GZ (expected denial, no ABN) may be present.

    ## Why it is denied
    The modifiers contradict each other (an ABN is on file / no ABN is on file / the service is
    excluded by statute, where an ABN is not needed): the line is returned or denied (CARC 4, the
    modifier is inconsistent with the procedure) and the beneficiary's liability is undetermined.

    ## Example
    `SV1*HC:11300:GA:GZ*...`; `SV1*HC:17110:GY:GA*...`.

    ## Correct coding
    One liability modifier per line: GA when an ABN was signed, GZ when none was, GY (with GX for a
    voluntary notice) for a statutorily excluded (e.g. cosmetic) service.

    ## Source
    CMS IOM 100-04 ch. 30 (ABN modifiers; not read directly: definitions from secondary billing
    sources, domain coverage-reference section 1.4 - "GA, GY and GZ are not combined on one line").
    """

    id = "CMP003"
    name = "abn-modifiers-exclusive"
    family = "CMP"
    severity = "error"
    carc = "4"
    modifier_triggers = ABN_MODIFIERS

    def check(self, ctx: ClaimContext) -> Iterable[ScrubFinding]:
        if not ctx.is_medicare:
            return ()
        out: list[ScrubFinding] = []
        for ln in ctx.lines:
            found = [m for m in _ABN if m in ln.modifiers]
            if len(found) > 1:
                out.append(self.finding(ctx, f"line {ln.number} ({ln.code}) carries {' and '.join(found)}: GA, GY "
                                        "and GZ are mutually exclusive", line=ln,
                                        correct="keep the one modifier that states the beneficiary's liability"))
        return out


class CosmeticWithoutGY(Rule):
    """A Medicare line points at Z41.1 (cosmetic surgery) without GY or GX.

    ## What it checks
    On a Medicare claim, a line whose diagnoses include Z41.1 (encounter for cosmetic surgery) should
    carry GY (statutorily excluded) or GX (voluntary notice of liability given).  A warning: the
    line may be billed only so that the beneficiary receives a denial.

    ## Why it is denied
    Cosmetic services are excluded by statute (SSA 1862(a)(10)); without GY the denial comes as a
    medical-necessity / non-covered denial (CARC 96 or 50) and the notice of liability is unclear.

    ## Example
    `HI*ABK:Z411` with `SV1*HC:11300*...***1` on a Medicare Part B claim.

    ## Correct coding
    Add GY (and GX when the patient signed a voluntary notice): `SV1*HC:11300:GY:GX*...`; do not bill
    a non-covered cosmetic service at all unless the beneficiary asks for a denial.

    ## Source
    SSA 1862(a)(10); 42 CFR 411.15(h); WPS cosmetic billing guidance (Z41.1; secondary mirror, currency
    UNCONFIRMED); GY/GX definitions from secondary billing sources (domain coverage-reference 1.4).
    """

    id = "CMP004"
    name = "cosmetic-without-gy"
    family = "CMP"
    severity = "warning"
    carc = "96"

    def check(self, ctx: ClaimContext) -> Iterable[ScrubFinding]:
        if not ctx.is_medicare or "Z41.1" not in ctx.diagnosis_codes:
            return ()
        out: list[ScrubFinding] = []
        for ln in ctx.lines:
            if "Z41.1" in ctx.line_diagnoses(ln) and COSMETIC_OK.isdisjoint(ln.modifiers):
                out.append(self.finding(ctx, f"line {ln.number} ({ln.code}) is coded cosmetic (Z41.1) on a Medicare "
                                        "claim without GY or GX", line=ln,
                                        correct=f"{ln.code} with GY (and GX with a voluntary notice)"))
        return out
