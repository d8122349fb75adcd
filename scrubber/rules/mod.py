"""MOD: modifier validity (which modifier may go on which code)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from scrubber.engine import ClaimContext, Rule, ScrubFinding
from scrubber.rules._common import DISTINCT, DRUG_PREFIXES, X_MODIFIERS, claim_modifiers, is_em

_SYNTAX = re.compile(r"[0-9A-Z]{2}\Z")
# CPT level I modifiers and the HCPCS level II modifiers a dermatology practice meets (CMS HCPCS
# modifier list / AMA CPT appendix A, names only).  Not being listed gives a warning, never an error.
_CPT = {"22", "23", "24", "25", "26", "27", "32", "33", "47", "50", "51", "52", "53", "54", "55", "56", "57",
        "58", "59", "62", "63", "66", "73", "74", "76", "77", "78", "79", "80", "81", "82", "90", "91", "92",
        "93", "95", "96", "97", "99"}
_HCPCS = {"AI", "AQ", "AR", "AS", "CR", "CS", "CG", "CO", "CQ", "E1", "E2", "E3", "E4", "FA", "F1", "F2", "F3",
          "F4", "F5", "F6", "F7", "F8", "F9", "FS", "FT", "FX", "FY", "GA", "GC", "GE", "GG", "GJ", "GK", "GQ",
          "GT", "GU", "GV", "GW", "GX", "GY", "GZ", "JB", "JG", "JW", "JZ", "KX", "LC", "LD", "LM", "LT", "Q5",
          "Q6", "QW", "RC", "RI", "RT", "SA", "SB", "SL", "TA", "TB", "TC", "T1", "T2", "T3", "T4", "T5", "T6",
          "T7", "T8", "T9", "XE", "XP", "XS", "XU", "HA", "HB", "HC", "HD", "HE", "HF", "HG", "HH", "HI", "HJ",
          "HK", "HL", "HM", "HN", "HO", "HP", "HQ", "HR", "HS", "HT", "HU", "HV", "HW", "HX", "HY", "HZ", "U1",
          "U2", "U3", "U4", "U5", "U6", "U7", "U8", "U9", "UA", "UB", "UC", "UD", "TH", "TJ", "TS", "SC", "KS",
          "J1", "J2", "J3", "JA", "JC", "JD", "JE", "PO", "PN", "PD", "ER", "EP", "FB", "FC", "GN", "GO", "GP",
          "KB", "KP", "KQ", "XX", "93", "AF", "AG", "AK", "AM", "AO", "CA", "CB", "CC", "ET", "G0", "GR", "GS",
          "JK", "JL", "KO", "Q0", "Q1", "Q3", "Q4", "QJ", "QK", "QX", "QY", "QZ", "UN", "UP", "UQ", "UR", "US",
          "V1", "V2", "V3", "VM", "VP", "SY", "SE", "ST", "SU", "SW", "TE", "TD", "TF", "TG", "TK", "TL", "TM",
          "TN", "TP", "TQ", "TR", "TT", "TU", "TV", "TW", "M2", "GB", "GF", "GH", "GL", "GM", "GD", "K0", "K1",
          "K2", "K3", "K4", "KH", "KI", "KJ", "NU", "RR", "RA", "RB", "BU", "BP", "BO", "P1", "P2", "P3",
          "P4", "P5", "P6", "CT", "MA", "MB", "MC", "MD", "ME", "MF", "MG", "MH", "X1", "X2", "X3", "X4", "X5",
          "FP", "FQ", "FR", "EA", "EB", "EC", "ED", "EE", "EJ", "EM", "AA", "AD", "AE", "AH", "AJ", "AT", "AU",
          "AV", "AW", "AX", "AY", "AZ", "BA", "BL", "CD", "CE", "CF", "DA", "J4", "JX", "KD", "KE", "KF",
          "KG", "KR", "KT", "KU", "KV", "KW", "KY", "L1", "LL", "LR", "LS", "N1", "N2", "N3", "PA", "PB", "PC",
          "PI", "PL", "PM", "PS", "PT", "QC", "QD", "QE", "QF", "QG", "QH", "QL", "QM", "QN", "QP", "QQ", "QR",
          "QS", "QT", "RD", "RE", "SD", "SF", "SG", "SH", "SJ", "SK", "SM", "SN", "SQ", "SS", "SV", "SZ"}
KNOWN_MODIFIERS = frozenset(_CPT | _HCPCS)
_EM_MODS = frozenset({"25", "57"})
_DRUG_MODS = frozenset({"JW", "JZ"})


class EMOnlyModifier(Rule):
    """Modifier 25 or 57 on a code that is not an E/M.

    ## What it checks
    25 (significant, separately identifiable E/M) and 57 (decision for surgery) are E/M modifiers;
    they must not appear on procedure, pathology or drug lines.

    ## Why it is denied
    The modifier is invalid for the procedure code (CARC 4) — a frequent slip is 25 put on the
    procedure instead of the visit.

    ## Example
    `99213` + `11102-25`.

    ## Correct coding
    `99213-25` + `11102`.

    ## Source
    CMS / NCCI modifier 25 and 57 definitions (domain modifiers.yaml: "append_to: E/M line only").
    """

    id = "MOD001"
    modifier_triggers = _EM_MODS
    name = "25-57-only-on-em"
    family = "MOD"
    severity = "error"
    carc = "4"

    def check(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        if _EM_MODS.isdisjoint(claim_modifiers(ctx)):
            return out
        for ln in ctx.lines:
            if is_em(ln.code):
                continue
            for m in ("25", "57"):
                if m in ln.modifiers:
                    out.append(self.finding(
                        ctx, f"modifier {m} is for E/M codes, not {ln.code}", line=ln,
                        correct=f"remove {m} from {ln.code}; put 25 on the E/M line if one was billed"))
        return out


class DistinctModifierOnEM(Rule):
    """Modifier 59 or XE/XS/XP/XU on an E/M code.

    ## What it checks
    Distinct-procedural-service modifiers never go on an E/M line.

    ## Why it is denied
    59 and X{EPSU} are not valid on E/M services; a separately identifiable E/M takes 25.

    ## Example
    `99213-59` + `17000`.

    ## Correct coding
    `99213-25` + `17000`.

    ## Source
    CMS modifier 59 article / ACOG 2015 "Medicare coding changes for 2015 – modifier 59";
    domain modifiers.yaml.
    """

    id = "MOD002"
    modifier_triggers = DISTINCT
    name = "distinct-modifier-on-em"
    family = "MOD"
    severity = "error"
    carc = "4"

    def check(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        if DISTINCT.isdisjoint(claim_modifiers(ctx)):
            return out
        for ln in ctx.lines:
            if is_em(ln.code):
                bad = [m for m in ln.modifiers if m in DISTINCT]
                if bad:
                    out.append(self.finding(ctx, f"modifier {'/'.join(bad)} is not used on an E/M ({ln.code})", line=ln,
                                            correct=f"{ln.code}-25 if significant and separately identifiable"))
        return out


class FiftyNineWithX(Rule):
    """Modifier 59 and an X modifier (XE/XS/XP/XU) on the same line.

    ## What it checks
    A line carries 59 together with XE, XS, XP or XU.

    ## Why it is denied
    The X modifiers are more specific subsets of 59; payers reject a line that reports both.

    ## Example
    `11102-59-XS`.

    ## Correct coding
    One of them: the payer's preferred distinct modifier (Medicare: the X modifier, e.g. XS).

    ## Source
    CMS MLN MM8863 (X{EPSU} effective 2015-01-01); HMSA and Moda modifier policies (domain
    modifiers.yaml x_modifier_rules).
    """

    id = "MOD003"
    modifier_triggers = frozenset({"59"})
    name = "59-with-x-modifier"
    family = "MOD"
    severity = "error"
    carc = "4"

    def check(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        cm = claim_modifiers(ctx)
        if "59" not in cm or X_MODIFIERS.isdisjoint(cm):
            return out
        for ln in ctx.lines:
            if "59" in ln.modifiers and not X_MODIFIERS.isdisjoint(ln.modifiers):
                x = "/".join(m for m in ln.modifiers if m in X_MODIFIERS)
                pref = "the X modifier" if ctx.payer.prefers_x_modifiers else "one of them"
                out.append(self.finding(ctx, f"{ln.code} carries both 59 and {x}", line=ln,
                                        correct=f"keep {pref} only"))
        return out


class DrugModifierOnNonDrug(Rule):
    """JW or JZ on a line that is not a drug.

    ## What it checks
    JW (drug amount discarded) and JZ (no drug discarded) are only for drug lines.  A CPT procedure
    code (5 digits) or a G code carrying JW/JZ is an error.  (Whether a drug line needs JW/JZ is
    checked by the DRG family.)

    ## Why it is denied
    The modifier is invalid for the procedure code.

    ## Example
    `96372-JZ` (the administration, not the drug).

    ## Correct coding
    Put JZ (or JW on the discarded-amount line) on the drug's J/Q code line: `J3247-JZ` + `96372`.

    ## Source
    CMS JW/JZ policy FAQ; FCSO and Noridian JW/JZ pages (domain jw_jz_ndc_837p.yaml).
    """

    id = "MOD004"
    modifier_triggers = _DRUG_MODS
    name = "jw-jz-on-non-drug"
    family = "MOD"
    severity = "error"
    carc = "4"

    def check(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        if _DRUG_MODS.isdisjoint(claim_modifiers(ctx)):
            return out
        for ln in ctx.lines:
            if ln.code[:1] in DRUG_PREFIXES:
                continue
            bad = [m for m in ln.modifiers if m in ("JW", "JZ")]
            if bad and (ln.code[:1].isdigit() or ln.code[:1] == "G"):
                out.append(self.finding(ctx, f"drug modifier {'/'.join(bad)} on {ln.code}, which is not a drug code",
                                        line=ln, correct="put JW/JZ on the drug (J/Q code) line"))
        return out


class UnknownModifier(Rule):
    """A modifier that is malformed (error) or not a known CPT/HCPCS modifier (warning).

    ## What it checks
    Every modifier in SV101-3..6 must be two letters/digits.  A well-formed modifier that is not in
    dermedi's list of CPT and HCPCS level II modifiers gives a WARNING (the list is not exhaustive).

    ## Why it is denied
    An invalid modifier makes the line unprocessable or denied (CARC 4).

    ## Example
    `11102-5` or `11102-X S`; `11102-ZZ` (warning).

    ## Correct coding
    Use a valid two-character modifier, e.g. XS or 59.

    ## Source
    CMS HCPCS level II modifier list; AMA CPT appendix A (names only); 837P TR3 SV101-3..6.
    """

    id = "MOD005"
    name = "unknown-modifier"
    family = "MOD"
    severity = "error"
    carc = "4"

    def check(self, ctx: ClaimContext) -> Iterable[ScrubFinding]:
        if claim_modifiers(ctx) <= KNOWN_MODIFIERS:
            return ()
        return self._run(ctx)

    def _run(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        for ln in ctx.lines:
            for m in ln.modifiers:
                if not _SYNTAX.match(m):
                    out.append(self.finding(ctx, f"modifier {m!r} on {ln.code} is not two letters/digits", line=ln,
                                            correct="a valid two-character modifier"))
                elif m not in KNOWN_MODIFIERS:
                    out.append(self.finding(
                        ctx, f"modifier {m} on {ln.code} is not a known CPT/HCPCS modifier", line=ln,
                        severity="warning", correct="check the modifier"))
        return out


_GLOBAL_DAYS = {"010": 10, "090": 90}


class FiftyEightWithoutGlobal(Rule):
    """Modifier 58 when the claim shows no open postoperative period.

    ## What it checks
    A line with modifier 58 (staged or related procedure during the postoperative period) on date D.
    When the claim itself has procedures on earlier dates, at least one of them must have a global
    period still open on D (010 days: D within 10 days; 090: within 90).  It fires when every
    earlier procedure on the claim has a 000-day global (biopsies, Mohs, shaves, simple repairs)
    or its global has ended.  Without earlier procedures on the claim nothing is judged (the
    original surgery may be on another claim).

    ## Why it is denied
    58 only applies inside another procedure's global period; after a 000-day procedure there is
    no postoperative period, so the modifier is wrong (and payers reject the modifier/procedure
    combination).

    ## Example
    `11102` on 09-03 and `11602-58` on 09-10 (excision after a biopsy, seed error E24);
    `17311` on 09-03 and `13132-58` on 09-05 (repair the day after Mohs, seed error E17).

    ## Correct coding
    Bill the later procedure without 58 (a new global period starts).  58 is right for a
    re-excision of margins inside a 010-day excision global.

    ## Source
    CMS PFS global days (biopsy and Mohs 000); medicalbillingcptmodifiers.com global surgery
    modifiers; domain modifiers.yaml ("58"); seed errors E17, E24.
    """

    id = "MOD006"
    modifier_triggers = frozenset({"58"})
    name = "58-without-open-global"
    family = "MOD"
    severity = "error"
    carc = "4"

    def check(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        if "58" not in claim_modifiers(ctx):
            return out
        gd = ctx.tables.global_days
        for ln in ctx.lines:
            if "58" not in ln.modifiers:
                continue
            d = ctx.line_date(ln)
            if d is None:
                continue
            earlier = [(od, o) for o in ctx.lines if (od := ctx.line_date(o)) is not None and od < d
                       and gd(o.code) in ("000", "010", "090")]
            if not earlier:
                continue
            if any(gd(o.code) in _GLOBAL_DAYS and (d - od).days <= _GLOBAL_DAYS[str(gd(o.code))]
                   for od, o in earlier):
                continue
            names = ", ".join(sorted({o.code for _od, o in earlier}))
            out.append(self.finding(
                ctx, f"{ln.code}-58 but the earlier procedure(s) on the claim ({names}) leave no open "
                "postoperative period (000-day global or ended)", line=ln, lines=[ln, *(o for _od, o in earlier)],
                correct=f"{ln.code} without 58"))
        return out


class SeventySixNotSameDay(Rule):
    """Modifier 76 (repeat procedure, same day) without the same procedure on that day.

    ## What it checks
    A line with modifier 76 must repeat a procedure billed on the same date of service.  It fires
    when the claim has no other line with the same code on that date but does have a procedure of
    the same family on an earlier date (a re-excision or later session, not a same-day repeat).

    ## Why it is denied
    76 means the same procedure repeated the same day by the same physician.  A re-excision for
    positive margins is a different, more extensive procedure, reported with 58 when inside the
    original excision's 010-day global.

    ## Example
    `11602` on 09-03 and `11603-76` on 09-10 for a re-excision of margins (seed error E18).

    ## Correct coding
    `11603-58` (inside the 10-day global of 11602), or no modifier after the global ended.

    ## Source
    medicalbillingcptmodifiers.com global surgery modifiers (24, 25, 57, 58, 59, 78, 79);
    domain modifiers.yaml ("76"); seed error E18.
    """

    id = "MOD007"
    modifier_triggers = frozenset({"76"})
    name = "76-not-same-day"
    family = "MOD"
    severity = "error"
    carc = "4"

    def check(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        if "76" not in claim_modifiers(ctx):
            return out
        fam = ctx.tables.family
        for ln in ctx.lines:
            if "76" not in ln.modifiers:
                continue
            d = ctx.line_date(ln)
            f = fam(ln.code)
            if d is None or f is None:
                continue
            if any(o is not ln and o.code == ln.code and ctx.line_date(o) == d for o in ctx.lines):
                continue
            earlier = [o for o in ctx.lines if fam(o.code) == f and (od := ctx.line_date(o)) is not None and od < d]
            if earlier:
                out.append(self.finding(
                    ctx, f"{ln.code}-76 is not a same-day repeat (no {ln.code} on that date; "
                    f"{earlier[0].code} was on an earlier date)", line=ln, lines=[ln, *earlier],
                    correct=f"{ln.code}-58 if inside the earlier procedure's global period, else no modifier"))
        return out
