"""VAL: validity of codes, diagnoses, pointers, charges, provider identifiers and dates."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import cast

from stdnum import luhn
from stdnum.us import ein as _ein
from stdnum.us import ssn as _ssn

from config.drugs import DrugTables, is_cpt_form, is_level2_form
from config.icd10cm import FY_END, load_icd10cm
from config.tables import CodeTables
from edi.x837 import HLNode, dotted_icd
from scrubber.engine import ClaimContext, Rule, ScrubFinding
from scrubber.rules._common import table_derived

# Replacements for codes deleted from CPT (what to bill instead), for the correct-coding hint.
_REPLACED_BY = {
    "99201": "99202-99205 (new patient office visit by MDM or time)",
    "11100": "11102 (tangential), 11104 (punch) or 11106 (incisional): the highest technique as primary",
    "11101": "the add-on of the technique used: 11103, 11105 or 11107",
}
_SV101_QUALIFIERS = frozenset({"HC", "ER", "IV", "WK"})


class _Sets:
    """Code sets derived from one (CodeTables, DrugTables) pair (kept in its ``TableDerived``):
    ``lifetime`` = derm-table codes with effective dates; ``known`` = every code of the derm table,
    PFS 2025 and the July 2026 HCPCS list."""

    def __init__(self, tables: CodeTables, drugs: DrugTables) -> None:
        self.lifetime = frozenset(c for c, i in tables.codes.items()
                                  if i.effective_from is not None or i.effective_to is not None)
        self.known = frozenset(tables.codes) | frozenset(drugs.pfs2025) | drugs.hcpcs_current
        # known codes VAL002 never reports at any date
        self.safe_level2 = (drugs.hcpcs_current - frozenset(drugs.nonexistent)) | frozenset(
            c for c in self.known if not is_level2_form(c))


# Dermatology families whose every code is listed in config/tables/derm_codes.csv (domain codes.csv,
# coding-reference.md 1.1-1.7): a code inside one of these ranges that is not in the tables does not exist.
_CLOSED_DERM_RANGES: tuple[tuple[int, int], ...] = (
    (11102, 11107), (11300, 11313), (11400, 11446), (11600, 11646), (12001, 12057), (13100, 13160),
    (17000, 17004), (17110, 17111), (17260, 17286), (17311, 17315))


def _sets(ctx: ClaimContext) -> _Sets:
    extra = table_derived(ctx).extra
    sets = extra.get("val_sets")
    if sets is None:
        sets = extra["val_sets"] = _Sets(ctx.tables, ctx.drugs)
    return cast(_Sets, sets)


_BILLING: dict[int, tuple[HLNode, tuple[str, str, str]]] = {}


def _billing_ids(node: HLNode) -> tuple[str, str, str]:
    """(NPI, tax id qualifier, tax id) of a billing provider node; cached per node (claims share it)."""
    hit = _BILLING.get(id(node))
    if hit is not None and hit[0] is node:
        return hit[1]
    q, value = node.tax_id
    ids = (node.npi, q, value)
    if len(_BILLING) > 256:
        _BILLING.clear()
    _BILLING[id(node)] = (node, ids)
    return ids


def _iso(d: date | None) -> str:
    return d.isoformat() if d is not None else "?"


class CodeNotEffective(Rule):
    """Procedure code deleted, or not yet in effect, on the date of service.

    ## What it checks
    Every line's CPT/HCPCS code that dermedi's code table (`config/tables/derm_codes.csv`) gives a
    lifetime for (effective_from / effective_to) must be in force on the line's date of service.

    ## Why it is denied
    A code that does not exist on the date of service is an invalid procedure code (CARC 181 "procedure
    code was invalid on the date of service"); the claim is rejected or the line denied.

    ## Example
    `99201` on 2024-09-10 (deleted 2021-01-01, seed error E29); `11100` on 2024-09-10 (deleted
    2019-01-01; seed E15 dates the biopsy change to 2021, wrongly); `11102` on 2018-11-05 (the new biopsy
    codes start 2019-01-01).

    ## Correct coding
    99202-99205 for a new-patient office visit; 11102/11104/11106 (+ add-ons 11103/11105/11107) for skin
    biopsies from 2019 on.

    ## Source
    Palmetto GBA (99201 deleted 2021-01-01); AAD DCC 2018 (11100/11101 deleted, 11102-11107 effective
    2019-01-01); CMS PFS 2025 (neither 99201 nor 11100 listed).  Domain coding-reference §1.1, §1.11.
    """

    id = "VAL001"
    name = "code-not-effective-on-dos"
    family = "VAL"
    severity = "error"
    carc = "181"

    def check(self, ctx: ClaimContext) -> Iterable[ScrubFinding]:
        if ctx.codes.isdisjoint(_sets(ctx).lifetime):
            return ()
        return self._run(ctx)

    def _run(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        lifetime = _sets(ctx).lifetime
        if ctx.codes.isdisjoint(lifetime):
            return out
        tables = ctx.tables
        for ln in ctx.lines:
            if ln.code not in lifetime:
                continue
            info = tables.code(ln.code)
            if info is None:
                continue
            dos = ctx.line_date(ln)
            if info.active_on(dos):
                continue
            if info.effective_to is not None and dos is not None and dos > info.effective_to:
                msg = (f"{ln.code} was deleted after {_iso(info.effective_to)}; it is not valid on the date of "
                       f"service {_iso(dos)}")
            else:
                msg = f"{ln.code} is only effective from {_iso(info.effective_from)}; date of service {_iso(dos)}"
            out.append(self.finding(ctx, msg, line=ln, correct=_REPLACED_BY.get(ln.code)))
        return out


class LevelIINotExisting(Rule):
    """HCPCS Level II code that does not exist (or no longer exists) on the date of service.

    ## What it checks
    Every letter code (A-V + four digits: J, Q, G, A ... codes) must be in the CMS HCPCS Level II code
    list of July 2026, or, for dates of service before 2026-07-01, in the CMS 2025 PFS or the January
    2026 ASP files (codes deleted since).  D codes (ADA dental, not in the CMS list) are not checked.
    Codes known never to have existed (J2682, J2600) are held at
    any date.  A code unknown to us on a date after 2026-09-30 (a later quarterly update may have added
    it) only gets a warning.

    ## Why it is denied
    An invalid HCPCS code is rejected by the payer's front end or denied (CARC 181/16).

    ## Example
    `J2682` billed for Skyrizi (seed E09): no such code, risankizumab IV is J2327.  `J2600` for
    ixekizumab (seed E08): no such code.

    ## Correct coding
    Use the product-specific code when one exists (J2327 risankizumab IV, J3247 secukinumab IV, J3357
    ustekinumab SC), otherwise the not-otherwise-classified code J3590 (biologics) / J3490 with NDC and a
    drug description.

    ## Source
    CMS HCPCS Level II code list July 2026 (`config/tables/hcpcs_level2_2026q3.csv`), CMS PFS PPRRVU2025_Oct,
    CMS ASP files January 2026; domain data/drugs.yaml and seed_errors.yaml E08/E09.
    """

    id = "VAL002"
    name = "hcpcs-level2-not-existing"
    family = "VAL"
    severity = "error"
    carc = "181"

    def check(self, ctx: ClaimContext) -> Iterable[ScrubFinding]:
        if ctx.codes <= _sets(ctx).safe_level2:
            return ()
        return self._run(ctx)

    def _run(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        drugs = ctx.drugs
        odd = ctx.codes - drugs.hcpcs_current
        if not odd:
            return out
        for ln in ctx.lines:
            code = ln.code
            if code not in odd or not is_level2_form(code) or code[0] == "D":     # D = ADA dental (CDT) codes
                continue
            dos = ctx.line_date(ln)
            status = drugs.level2_status(code, dos)
            if status == "current":
                continue
            if status == "nonexistent":
                out.append(self.finding(ctx, f"{code} is not a HCPCS code ({drugs.nonexistent[code]})", line=ln,
                                        correct="J3590 (unclassified biologic) with NDC and drug description, or the "
                                        "product's own J code"))
            elif status == "deleted":
                out.append(self.finding(ctx, f"{code} is not in the July 2026 HCPCS Level II code set (deleted); date "
                                        f"of service {_iso(dos)}", line=ln))
            elif status == "unknown_new":
                out.append(self.finding(ctx, f"{code} is not in dermedi's HCPCS Level II list (July 2026); it may be a "
                                        f"code added later, check the current HCPCS file", line=ln, severity="warning"))
            else:
                out.append(self.finding(ctx, f"{code} is not a HCPCS Level II code (not in the CMS July 2026 list, "
                                        "PFS 2025 or ASP January 2026)", line=ln))
        return out


class CodeNotInTables(Rule):
    """CPT code unknown to dermedi's tables (warning; error inside a fully listed derm family).

    ## What it checks
    A CPT-shaped code (five digits, or four digits + F/T/U) that is neither in dermedi's dermatology
    table nor in the CMS 2025 PFS code list.

    ## Why it is denied
    It may be a typo or a code that does not exist; it may also be a new CPT code (2026 or later) or a
    code outside dermatology.  dermedi cannot tell, so this is a warning, except inside a dermatology
    family whose every code the domain reference lists (biopsy 11102-11107, shave 11300-11313,
    excision 11400-11446 / 11600-11646, repair 12001-12057 / 13100-13160, destruction 17000-17004,
    17110-17111, 17260-17286, Mohs 17311-17315): there a missing code does not exist (e.g. the
    excision xxx05 codes), an error.  Likewise an unknown Category II code (four digits + F; the PFS
    list carries every Category II code) billed with a charge above $0.01: Category II codes are
    $0 tracking codes, so a charged one stands for a procedure that was miscoded (seed E04's shave
    "1102F series").

    ## Example
    `11399` (not a CPT code, warning); `1102F` billed $100 for a shave (seed E04, error); `11605` or
    `17265` (no such excision/destruction size tier, error).

    ## Correct coding
    Check the code against the current CPT book; shave removals are 11300-11313.

    ## Source
    CMS PFS PPRRVU2025_Oct code list (`config/tables/hcpcs_pfs2025_status.csv`, codes only);
    `config/tables/derm_codes.csv`.
    """

    id = "VAL003"
    name = "code-not-in-tables"
    family = "VAL"
    severity = "warning"
    carc = "181"

    def check(self, ctx: ClaimContext) -> Iterable[ScrubFinding]:
        if ctx.codes <= _sets(ctx).known:
            return ()
        return self._run(ctx)

    def _run(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        odd = ctx.codes - _sets(ctx).known
        if not odd:
            return out
        for ln in ctx.lines:
            code = ln.code
            if code not in odd or not is_cpt_form(code):
                continue
            if code[-1:] == "F" and ln.charge is not None and ln.charge > Decimal("0.01"):
                out.append(self.finding(ctx, f"{code} is not a Category II code (and those are $0 tracking codes, not "
                                        "billable procedures)", line=ln, severity="error",
                                        correct="the procedure's CPT code, e.g. shave removal 11300-11313"))
                continue
            if code.isdigit() and any(lo <= int(code) <= hi for lo, hi in _CLOSED_DERM_RANGES):
                out.append(self.finding(ctx, f"{code} does not exist: it is not among the listed codes of its "
                                        "dermatology family", line=ln, severity="error"))
                continue
            out.append(self.finding(ctx, f"{code} is not in dermedi's dermatology table nor in the CMS 2025 PFS code "
                                    "list; check that it exists on the date of service", line=ln))
        return out


class MalformedProcedureCode(Rule):
    """Procedure code that is not shaped like a CPT or HCPCS code, or a wrong SV101-1 qualifier.

    ## What it checks
    SV101-1 must be HC (or ER, IV, WK where a payer asks for them); with HC, SV101-2 must be a CPT code
    (five digits, or four digits + F/T/U) or a HCPCS Level II code (a letter A-V and four digits).

    ## Why it is denied
    The payer cannot read the procedure (CARC 16 / 181): the claim is rejected at the front end.

    ## Example
    `SV1*HC:1110:...` (four characters), `SV1*HC:j0222` (lower case), `SV1*N4:...`.

    ## Correct coding
    `SV1*HC:11102*...`.

    ## Source
    ASC X12 005010X222A1 SV101 (composite medical procedure identifier); CPT/HCPCS code formats.
    """

    id = "VAL004"
    name = "malformed-procedure-code"
    family = "VAL"
    severity = "error"
    carc = "16"

    def check(self, ctx: ClaimContext) -> Iterable[ScrubFinding]:
        if ctx.codes <= _sets(ctx).known and all(ln.qualifier == "HC" for ln in ctx.lines):
            return ()
        return self._run(ctx)

    def _run(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        known = _sets(ctx).known
        for ln in ctx.lines:
            if ln.qualifier != "HC" and ln.qualifier not in _SV101_QUALIFIERS:
                out.append(self.finding(ctx, f"SV101-1 qualifier {ln.qualifier!r} is not HC", line=ln,
                                        correct="HC (CPT/HCPCS)"))
            if ln.qualifier == "HC" and ln.code not in known and not (is_cpt_form(ln.code) or is_level2_form(ln.code)):
                out.append(self.finding(ctx, f"procedure code {ln.code!r} is not a CPT or HCPCS code", line=ln))
        return out


def _dx_status(ctx: ClaimContext) -> list[tuple[str, str]]:
    """(raw HI code, ICD-10-CM status) of the ICD-10-CM diagnoses (ABK, ABF), computed once per claim."""
    hit = ctx.extra.get("_dx_status")
    if hit is None:
        icd = load_icd10cm()
        billable = icd.billable         # the common case, without a call into config/icd10cm.py
        hit = []
        last: date | None = None
        last_known = False
        for q, code in ctx.claim.diagnoses:
            if q != "ABK" and q != "ABF":
                continue
            if code in billable:
                hit.append((code, "billable"))
                continue
            if not last_known:
                dates = list(ctx.lines_by_date)
                last = None if None in dates or not dates else max(d for d in dates if d is not None)
                last_known = True
            hit.append((code, icd.status(code, last)))
        ctx.extra["_dx_status"] = hit
    return hit  # type: ignore[no-any-return]


def _after_code_set(ctx: ClaimContext) -> bool:
    """Every date of service is after the FY2026 ICD-10-CM code set's last day."""
    dates = list(ctx.lines_by_date)
    return bool(dates) and all(d is not None and d > FY_END for d in dates)


class InvalidDiagnosis(Rule):
    """ICD-10-CM code that does not exist (FY2026 code set), or sent with a dot.

    ## What it checks
    Every HI diagnosis (ABK/ABF) must be an ICD-10-CM code of the FY2026 set (April 2026 update) and be
    sent without the decimal point.  A code whose category exists but which is unknown is still an error,
    except when every date of service is after 2026-09-30 (a later code set may have added it): then a
    warning.  The 28 FY2025 codes retired on 2025-10-01 are accepted up to 2025-09-30.

    ## Why it is denied
    Invalid diagnosis codes are rejected (CARC 146 "diagnosis was invalid for the date(s) of service").

    ## Example
    `L20.99` (no such code; atopic dermatitis ends at L20.9 / L20.8x), `C44.99`, `HI*ABK:L57.0` (dot).

    ## Correct coding
    A billable FY2026 code, e.g. L20.9, L20.89, C44.91, sent as `HI*ABK:L570`.

    ## Source
    CMS ICD-10-CM FY2026 (April 1 2026 update) code list as shipped by simple-icd-10-cm 1.5.0 (74,719
    billable codes, identical to the CMS list); ASC X12 005010X222A1 HI segment (no decimal point).
    """

    id = "VAL010"
    name = "invalid-diagnosis-code"
    family = "VAL"
    severity = "error"
    carc = "146"

    def check(self, ctx: ClaimContext) -> Iterable[ScrubFinding]:
        if all(st == "billable" and "." not in raw for raw, st in _dx_status(ctx)):
            return ()
        return self._run(ctx)

    def _run(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        icd = load_icd10cm()
        for raw, status in _dx_status(ctx):
            if status == "billable" and "." not in raw:
                continue
            if "." in raw:
                out.append(self.finding(ctx, f"diagnosis {raw} is sent with a decimal point; HI codes carry none",
                                        correct=raw.replace(".", "")))
            if status == "invalid":
                out.append(self.finding(ctx, f"diagnosis {dotted_icd(raw)} is not an ICD-10-CM code ({icd.version})"))
            elif status == "unknown_in_category":
                if _after_code_set(ctx):
                    out.append(self.finding(
                        ctx, f"diagnosis {dotted_icd(raw)} is not in {icd.version}; it may be a code "
                        "added after 2026-09-30", severity="warning"))
                else:
                    out.append(self.finding(
                        ctx, f"diagnosis {dotted_icd(raw)} is not an ICD-10-CM code ({icd.version})"))
        return out


class NonBillableDiagnosis(Rule):
    """ICD-10-CM header code (category/subcategory with children) used as a diagnosis.

    ## What it checks
    Every HI diagnosis must be billable: coded to the highest specificity (a leaf of the FY2026 tabular
    list).  C44.9, C44.31, L40 or D22 are valid headers, not billable codes.

    ## Why it is denied
    Codes not carried to the required specificity are denied (CARC 146 / M76 missing or invalid
    diagnosis).

    ## Example
    `C44.31` (BCC/SCC/other of other parts of face: needs C44.310, C44.311, C44.319 or a 6th/7th character
    code); `C44.9`; `L40`.

    ## Correct coding
    The most specific code, e.g. C44.311 (basal cell carcinoma of skin of nose), C44.91, L40.0.

    ## Source
    CMS ICD-10-CM FY2026 Official Guidelines I.A.2/I.B.2 (code to the highest number of characters);
    simple-icd-10-cm 1.5.0 code list (leaf = billable).
    """

    id = "VAL011"
    name = "non-billable-diagnosis"
    family = "VAL"
    severity = "error"
    carc = "146"

    def check(self, ctx: ClaimContext) -> Iterable[ScrubFinding]:
        if all(st != "header" for _raw, st in _dx_status(ctx)):
            return ()
        return self._run(ctx)

    def _run(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        icd = load_icd10cm()
        for raw, status in _dx_status(ctx):
            if status == "header":
                hint = icd.children_hint(raw)
                out.append(self.finding(
                    ctx, f"diagnosis {dotted_icd(raw)} is a header code, not billable; code it to the "
                    "highest specificity", correct=("e.g. " + ", ".join(hint)) if hint else None))
        return out


class DiagnosisQualifier(Rule):
    """No principal ICD-10-CM diagnosis, or ICD-9-CM qualifiers.

    ## What it checks
    The claim must carry its diagnoses in HI with ICD-10-CM qualifiers: ABK for the principal, ABF for
    the others.  BK/BF (ICD-9-CM) are not accepted for dates of service from 2015-10-01, and a claim
    without an ABK diagnosis has no principal diagnosis.

    ## Why it is denied
    Rejected as missing/invalid diagnosis (CARC 16 with M76, or 146).

    ## Example
    `HI*BK:7020`; a claim without HI.

    ## Correct coding
    `HI*ABK:L570*ABF:D485`.

    ## Source
    ASC X12 005010X222A1 HI (2300 health care diagnosis code); CMS ICD-10 transition (HHS final rule,
    45 CFR 162.1002: ICD-10-CM from 2015-10-01).
    """

    id = "VAL012"
    name = "diagnosis-qualifier"
    family = "VAL"
    severity = "error"
    carc = "16"

    def check(self, ctx: ClaimContext) -> Iterable[ScrubFinding]:
        quals = {q for q, _c in ctx.claim.diagnoses}
        if "ABK" in quals and "BK" not in quals and "BF" not in quals:
            return ()
        return self._run(ctx)

    def _run(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        quals = [q for q, _c in ctx.claim.diagnoses]
        icd9 = [c for q, c in ctx.claim.diagnoses if q in ("BK", "BF")]
        if icd9:
            out.append(self.finding(ctx, f"ICD-9-CM diagnoses (BK/BF) are not accepted: {', '.join(icd9)}",
                                    correct="ICD-10-CM codes with ABK/ABF"))
        if "ABK" not in quals:
            out.append(self.finding(ctx, "the claim has no principal ICD-10-CM diagnosis (HI*ABK)"))
        return out


class DiagnosisPointer(Rule):
    """Service line without a diagnosis pointer, or a pointer to no diagnosis.

    ## What it checks
    Every line's SV107 must hold at least one pointer, and each pointer (1-12) must point at a diagnosis
    present in HI (pointer n = the n-th ICD-10-CM code).

    ## Why it is denied
    Without a valid pointer the line has no diagnosis: rejected (CARC 16 with M76) or denied as not
    medically necessary.

    ## Example
    Two diagnoses in HI and `SV1*...***3` (pointer 3); `SV1*HC:17000*100*UN*1` without SV107.

    ## Correct coding
    Point each line at the diagnosis it treats: `SV1*HC:17000*100*UN*1***1`.

    ## Source
    ASC X12 005010X222A1 SV107 (diagnosis code pointer, required; values 1-12 pointing into HI).
    """

    id = "VAL020"
    name = "diagnosis-pointer"
    family = "VAL"
    severity = "error"
    carc = "16"

    def check(self, ctx: ClaimContext) -> Iterable[ScrubFinding]:
        n = len(ctx.diagnosis_codes)
        if all(ln.pointers and min(ln.pointers) >= 1 and max(ln.pointers) <= n for ln in ctx.lines):
            return ()
        return self._run(ctx)

    def _run(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        n = len(ctx.claim.diagnosis_codes)
        for ln in ctx.lines:
            if not ln.pointers:
                out.append(self.finding(ctx, f"line {ln.number} ({ln.code}) has no diagnosis pointer", line=ln,
                                        correct="SV107 pointing at the line's diagnosis"))
                continue
            if min(ln.pointers) >= 1 and max(ln.pointers) <= n:
                continue
            bad = [p for p in ln.pointers if p < 1 or p > n]
            if bad:
                out.append(self.finding(ctx, f"line {ln.number} ({ln.code}) points at diagnosis "
                                        f"{', '.join(map(str, bad))} but the claim has {n}", line=ln))
        return out


class TotalChargeMismatch(Rule):
    """Claim total charge (CLM02) differs from the sum of the line charges (SV102).

    ## What it checks
    CLM02 must equal the sum of every line's SV102.

    ## Why it is denied
    The TR3 requires CLM02 to be the sum of the service line charges; front ends reject the claim (CARC 16).

    ## Example
    CLM02 = 250.00 with lines 100.00 + 100.00.

    ## Correct coding
    CLM02 = 200.00.

    ## Source
    ASC X12 005010X222A1 CLM02 note ("the total claim charge amount must balance to the sum of all service
    line charge amounts reported in SV102").
    """

    id = "VAL030"
    name = "total-charge-mismatch"
    family = "VAL"
    severity = "error"
    carc = "16"

    def check(self, ctx: ClaimContext) -> Iterable[ScrubFinding]:
        total = ctx.claim.total_charge
        if total is None:
            return ()
        s = Decimal(0)
        for ln in ctx.lines:
            if ln.charge is None:
                return ()
            s += ln.charge
        if s == total:
            return ()
        return [self.finding(ctx, f"CLM02 {total} is not the sum of the line charges {s}", correct=f"CLM02 = {s}")]


_NPI_OK: dict[str, bool] = {}      # NPI -> valid (the same providers recur on every claim)


def npi_valid(npi: str) -> bool:
    """10 digits, first 1 or 2, Luhn check digit over the 80840 prefix (CMS NPI check digit)."""
    ok = _NPI_OK.get(npi)
    if ok is None:
        ok = len(npi) == 10 and npi.isdigit() and npi[0] in "12" and luhn.is_valid("80840" + npi)
        if len(_NPI_OK) >= 4096:
            _NPI_OK.clear()
        _NPI_OK[npi] = ok
    return ok


_NPI_ROLES = {"82": "rendering", "DN": "referring", "P3": "primary care", "DK": "ordering", "DQ": "supervising",
              "77": "service facility"}


class InvalidNPI(Rule):
    """Provider NPI missing (billing) or with a wrong check digit.

    ## What it checks
    The billing provider (2010AA NM1*85) must carry an NPI (NM108 = XX); every NPI on the claim (billing,
    rendering 2310B/2420A, referring 2310A/2420F, ordering, supervising, service facility) must be 10
    digits starting with 1 or 2 whose last digit is the Luhn check digit computed with the 80840 prefix.

    ## Why it is denied
    An invalid or missing NPI is rejected at the front end (CARC 16 with N257/N290 missing/invalid
    billing/rendering provider identifier).

    ## Example
    `NM1*85*2*SKIN CLINIC PA*****XX*1234567890` (check digit should be 3).

    ## Correct coding
    The provider's NPI from NPPES, e.g. 1234567893.

    ## Source
    CMS NPI check digit standard (ISO/IEC 7812 Luhn with prefix 80840; 45 CFR 162.406); ASC X12
    005010X222A1 2010AA NM109 (NPI required).
    """

    id = "VAL040"
    name = "invalid-npi"
    family = "VAL"
    severity = "error"
    carc = "16"

    def check(self, ctx: ClaimContext) -> Iterable[ScrubFinding]:
        claim = ctx.claim
        out: list[ScrubFinding] = []
        billing = claim.billing
        if billing is not None:
            npi = _billing_ids(billing)[0]
            if not npi:
                out.append(self.finding(ctx, "the billing provider (2010AA) has no NPI (NM108 XX)"))
            elif not npi_valid(npi):
                out.append(self.finding(ctx, f"billing provider NPI {npi} is not a valid NPI (check digit)"))
        for s in claim.segments:
            el = s.elements
            if el[0] == "NM1" and len(el) > 9 and el[8] == "XX" and el[1] in _NPI_ROLES and not npi_valid(el[9]):
                out.append(self.finding(ctx, f"{_NPI_ROLES[el[1]]} provider NPI {el[9]} is not a valid NPI"))
        for ln in ctx.lines:
            if len(ln.segments) < 4:         # LX, SV1, DTP: no 2420 provider loop
                continue
            for s in ln.segments:
                el = s.elements
                if el[0] == "NM1" and len(el) > 9 and el[8] == "XX" and el[1] in _NPI_ROLES and not npi_valid(el[9]):
                    out.append(self.finding(ctx, f"line {ln.number}: {_NPI_ROLES[el[1]]} provider NPI {el[9]} is "
                                            "not a valid NPI", line=ln))
        return out


_TAX_ID: dict[tuple[str, str], tuple[str, str] | None] = {}     # (qualifier, value) -> problem


def _tax_id_problem(qualifier: str, value: str) -> tuple[str, str] | None:
    """(severity, message) for a malformed tax id, or None when it looks right (memoized: the same
    billing providers recur)."""
    key = (qualifier, value)
    if key in _TAX_ID:
        return _TAX_ID[key]
    if len(_TAX_ID) >= 1024:
        _TAX_ID.clear()
    problem = _TAX_ID[key] = _tax_id_check(qualifier, value)
    return problem


def _tax_id_check(qualifier: str, value: str) -> tuple[str, str] | None:
    kind = "EIN" if qualifier == "EI" else "SSN"
    if len(value) != 9 or not value.isdigit():
        return "error", f"billing provider {kind} is not nine digits without a hyphen"
    if len(set(value)) == 1:
        return "error", f"billing provider {kind} {value[0]}... is a placeholder (one digit repeated)"
    ok = _ein.is_valid(value) if qualifier == "EI" else _ssn.is_valid(value)
    if not ok:
        what = "an IRS campus prefix" if qualifier == "EI" else "a valid area/group/serial"
        return "warning", f"billing provider {kind} does not start with {what}; check the number"
    return None


class InvalidTaxId(Rule):
    """Billing provider tax id (2010AA REF*EI / REF*SY) missing or malformed.

    ## What it checks
    2010AA must carry REF*EI (employer identification number) or REF*SY (SSN) with nine digits, no
    hyphen, not one digit repeated: errors.  An EIN whose two-digit prefix the IRS never assigned, or an
    SSN with an impossible area/group/serial (python-stdnum us.ein / us.ssn), is a warning: payers match
    the tax id against enrollment, not against the IRS prefix list.

    ## Why it is denied
    The tax id is required to pay the billing provider; a missing or malformed one is rejected (CARC 16
    with N290-style remarks).

    ## Example
    `REF*EI*12-3456789` (hyphen), no REF*EI at all: errors.  `REF*EI*001234567` (prefix 00): warning.

    ## Correct coding
    `REF*EI*123456789`.

    ## Source
    ASC X12 005010X222A1 2010AA REF (billing provider tax identification, required: EI or SY, AN 9);
    IRS EIN prefixes (python-stdnum us.ein).
    """

    id = "VAL041"
    name = "invalid-tax-id"
    family = "VAL"
    severity = "error"
    carc = "16"

    def check(self, ctx: ClaimContext) -> Iterable[ScrubFinding]:
        billing = ctx.claim.billing
        if billing is None:
            return ()
        _npi, q, value = _billing_ids(billing)
        if not q:
            return [self.finding(ctx, "the billing provider (2010AA) has no tax id (REF*EI or REF*SY)")]
        problem = _tax_id_problem(q, value)
        if problem is None:
            return ()
        sev, msg = problem
        return [self.finding(ctx, msg, severity="warning" if sev == "warning" else None,
                             correct="nine digits, no hyphen")]


class ServiceDateInvalid(Rule):
    """Date of service missing or in the future (error); after the file's creation date (warning).

    ## What it checks
    Every line needs a date of service (DTP*472) that is not after today (the scrub date): errors.  A
    date of service after the file's creation date (BHT04) but not after today is a warning.

    ## Why it is denied
    Services cannot be billed before they are rendered: future dates are rejected (CARC 16 / N329-style
    invalid date); a missing date of service is rejected by the front end.

    ## Why BHT04 only warns
    Payers judge the date of service against their receipt date, not BHT04; a date after BHT04 but not
    after today usually means a stale or hard-coded header date (the claim itself is right), which the
    biller should fix in the header rather than hold the claim for.

    ## Example
    BHT04 = 2024-09-12 with a line dated 2024-09-20.

    ## Correct coding
    The date the service was performed; bill after it.

    ## Source
    ASC X12 005010X222A1 2400 DTP*472 (required) and BHT04 (creation date).
    """

    id = "VAL050"
    name = "service-date-invalid"
    family = "VAL"
    severity = "error"
    carc = "16"

    def check(self, ctx: ClaimContext) -> Iterable[ScrubFinding]:
        today, fd = ctx.today, ctx.file_date
        limit = today if fd is None or fd > today else fd
        if all(d is not None and d <= limit for d in ctx.lines_by_date):
            return ()
        return self._run(ctx)

    def _run(self, ctx: ClaimContext) -> list[ScrubFinding]:
        out: list[ScrubFinding] = []
        fd = ctx.file_date
        limit = ctx.today if fd is None or fd > ctx.today else fd
        bad = [d for d in ctx.lines_by_date if d is None or d > limit]
        if not bad:
            return out
        for ln in ctx.lines:
            dos = ctx.line_date(ln)
            if dos is None:
                out.append(self.finding(ctx, f"line {ln.number} has no date of service (DTP*472)", line=ln))
            elif dos > ctx.today:
                out.append(self.finding(ctx, f"line {ln.number} date of service {dos.isoformat()} is in the future "
                                        f"(today {ctx.today.isoformat()})", line=ln))
            elif fd is not None and dos > fd:
                out.append(self.finding(ctx, f"line {ln.number} date of service {dos.isoformat()} is after the file's "
                                        f"creation date {fd.isoformat()} (BHT04)", line=ln, severity="warning"))
        return out


class TimelyFiling(Rule):
    """Date of service older than the payer's timely-filing limit (warning).

    ## What it checks
    The oldest date of service against the payer profile's ``timely_filing_days`` (Medicare 365 days,
    i.e. one calendar year), counted to the file's creation date (BHT04), else today.  Replacement and
    void claims (CLM05-3 = 7 or 8) are skipped.

    ## Why it is denied
    Claims received after the filing limit are denied (CARC 29 "the time limit for filing has expired").

    ## Why a warning, not an error
    The limit counts to the payer's receipt date, which dermedi does not know, and exceptions exist
    (retroactive eligibility, secondary claims after the primary's remittance, administrative error).
    A held claim would stay unbilled; a warning lets the biller decide the same day.

    ## Example
    Medicare, DOS 2023-06-01, file created 2024-09-12.

    ## Correct coding
    Submit promptly; document the exception when one applies.

    ## Source
    42 CFR 424.44 and CMS Claims Processing Manual ch. 1 §70 (Medicare one calendar year); payer
    profiles (`config/payers.yaml`).
    """

    id = "VAL051"
    name = "timely-filing"
    family = "VAL"
    severity = "warning"
    carc = "29"

    def check(self, ctx: ClaimContext) -> Iterable[ScrubFinding]:
        if ctx.claim.frequency_code in ("7", "8"):
            return ()
        dates = [d for d in ctx.lines_by_date if d is not None]
        if not dates:
            return ()
        ref = ctx.file_date or ctx.today
        oldest = min(dates)
        limit = int(ctx.payer.timely_filing_days)
        age = (ref - oldest).days
        if age <= limit:
            return ()
        return [self.finding(ctx, f"date of service {oldest.isoformat()} is {age} days before "
                             f"{ref.isoformat()}: past the payer's {limit}-day filing limit")]
