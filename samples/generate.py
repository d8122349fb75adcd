#!/usr/bin/env python3
"""Generate the bundled dermedi samples (synthetic dermatology 837P batches and 835 remits).

Everything here is SYNTHETIC: patients, members, providers, payers and addresses are made up
(surnames such as FAKERLY or SAMPLEMAN, street names such as "SYNTHETIC AVE").  NPIs and EINs
are well-formed (Luhn check with prefix 80840, valid EIN campus prefixes) but belong to nobody
we know of.

Usage::

    python samples/generate.py                      # rewrite samples/*.837, *.835, manifest.yaml
    python samples/generate.py --check              # exit 1 if the committed files differ
    python samples/generate.py --claims 100000 --out bench/data/derm-100k.837   # big file, streamed

The generator is seeded and deterministic: running it again reproduces the committed files
byte for byte (``tests/test_samples.py`` checks this).

Code facts used here come from /work/shared/domain (coding-reference.md, data/*.csv|yaml):
charges are 2.5 x the CMS PFS 2025 (Oct) non-facility total RVU x CF 32.3465; drug NDCs and
billing units from the CMS January 2026 ASP NDC-HCPCS crosswalk.
"""

from __future__ import annotations

import argparse
import functools
import io
import random
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import IO, Any

SEED = 20261120
HERE = Path(__file__).resolve().parent

# ------------------------------------------------------------------------------------------
# Code tables (sources in the module docstring)
# ------------------------------------------------------------------------------------------

CF = Decimal("32.3465")      # CMS PFS 2025 conversion factor (PPRRVU2025_Oct CONV FACTOR column)
MARKUP = Decimal("2.5")      # practice charge = 2.5 x Medicare non-facility amount

# Non-facility total RVU, CMS PPRRVU2025_Oct.csv.  99201/11100 are deleted codes (no RVU): a
# made-up value so a deliberately wrong claim still carries a plausible charge.
RVU: dict[str, str] = {
    "11102": "2.96", "11103": "1.48", "11104": "3.69", "11105": "1.78", "11106": "4.59", "11107": "2.10",
    "11300": "2.95", "11301": "3.59", "11302": "4.07", "11305": "3.10", "11306": "3.61", "11307": "4.08",
    "11310": "3.41", "11311": "4.07", "11312": "4.63", "11400": "3.84", "11401": "4.67", "11402": "5.16",
    "11403": "5.97", "11420": "3.80", "11421": "4.78", "11422": "5.39", "11440": "4.27", "11441": "5.20",
    "11442": "5.81", "11600": "5.91", "11601": "6.85", "11602": "7.35", "11603": "8.38", "11606": "13.48",
    "11620": "5.93", "11621": "6.89", "11622": "7.59", "11623": "8.89", "11640": "6.09", "11641": "7.11",
    "11642": "8.05", "11643": "9.49", "11900": "1.72", "11901": "2.10", "12001": "2.82", "12002": "3.43",
    "12031": "7.82", "12032": "9.09", "12041": "7.86", "12042": "9.26", "12051": "8.43", "12052": "9.42",
    "13100": "10.15", "13101": "11.79", "13102": "3.47", "13120": "10.57", "13121": "12.66",
    "13131": "11.58", "13132": "14.02", "13151": "12.62", "13152": "14.79", "13153": "5.56",
    "14040": "23.02", "14060": "23.24", "15260": "30.23", "17000": "2.05", "17003": "0.20",
    "17004": "5.00", "17110": "3.40", "17111": "3.99", "17261": "4.46", "17262": "5.35", "17263": "5.80",
    "17271": "5.01", "17281": "5.41", "17282": "6.18", "17311": "20.44", "17312": "12.35",
    "17313": "19.21", "17314": "11.82", "17315": "2.42", "88305": "2.15", "96365": "1.79",
    "96366": "0.60", "96372": "0.43", "96401": "2.05", "96567": "3.95", "96573": "6.58", "96574": "8.09",
    "96900": "0.75", "96910": "3.51", "96912": "2.98", "96920": "4.23", "96921": "4.52", "96922": "5.65",
    "99202": "2.16", "99203": "3.37", "99204": "5.05", "99205": "6.67", "99211": "0.70", "99212": "1.70",
    "99213": "2.75", "99214": "3.87", "99215": "5.43",
    "99201": "1.40", "11100": "2.96",
}

# PFS multiple-procedure indicator 2 (standard 50 % reduction) - PPRRVU2025_Oct MULT PROC column.
MULT_PROC_2 = frozenset(
    c for c in RVU if c[:2] in ("11", "12", "13", "14", "15", "17")
    and c not in ("11103", "11105", "11107", "13102", "13153", "17003", "17004", "17312", "17314", "17315")
) | {"96920", "96921", "96922"}


@dataclass(frozen=True)
class Drug:
    hcpcs: str
    name: str
    ndc: str            # 11 digits, 5-4-2 without hyphens
    unit_price: Decimal  # practice charge per HCPCS billing unit
    ctp_unit: str        # CTP05-1 unit of the NDC quantity
    per_ctp: Decimal     # NDC quantity (CTP04) per HCPCS billing unit
    single_dose: bool    # single-dose container -> JW/JZ for Medicare Part B


# NDCs: CMS Jan 2026 ASP NDC-HCPCS crosswalk (J7308, J3247, J2327, J3301, J0222);
# J3357 is not in the ASP file - Stelara 45 mg/0.5 mL prefilled syringe NDC 57894-0060-03.
DRUGS: dict[str, Drug] = {
    "J7308": Drug("J7308", "ALA 20% Kerastick 354 mg", "67308010106", Decimal("585.00"), "UN", Decimal(1), True),
    "J3247": Drug("J3247", "secukinumab IV 125 mg/5 mL", "00078116861", Decimal("27.00"), "ML",
                  Decimal("0.04"), True),
    "J2327": Drug("J2327", "risankizumab-rzaa IV 600 mg/10 mL", "00074501501", Decimal("22.40"), "ML",
                  Decimal("0.016666666667"), True),
    "J3357": Drug("J3357", "ustekinumab SC 45 mg/0.5 mL", "57894006003", Decimal("60.00"), "ML",
                  Decimal("0.011111111111"), True),
    "J3301": Drug("J3301", "triamcinolone acetonide 10 mg/mL multi-dose vial", "00003049420", Decimal("3.00"),
                  "ML", Decimal(1), False),
    # deliberate errors: J0222 is patisiran (not dupilumab); J2682 does not exist.  The NDC sent
    # with them is the one the biller meant (dupilumab 300 mg/2 mL PFS; risankizumab 150 mg/mL pen).
    "J0222": Drug("J0222", "billed as dupilumab (WRONG: J0222 is patisiran)", "00024591501", Decimal("9.50"),
                  "ML", Decimal("0.006666666667"), True),
    "J2682": Drug("J2682", "billed as Skyrizi (WRONG: J2682 does not exist)", "00074210001",
                  Decimal("160.00"), "ML", Decimal("0.006666666667"), True),
}


def money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@functools.cache
def fee(code: str) -> Decimal:
    """Practice charge for one unit of a CPT code (whole dollars)."""
    return (Decimal(RVU[code]) * CF * MARKUP).quantize(Decimal("1"), rounding=ROUND_HALF_UP)


def medicare_allowed(code: str) -> Decimal:
    if code in DRUGS:
        return money(DRUGS[code].unit_price / Decimal("1.5"))
    return money(Decimal(RVU[code]) * CF)


def amt(value: Decimal) -> str:
    """X12 R-type rendering: no exponent, no needless trailing zeros (120.50 -> 120.5)."""
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


# ------------------------------------------------------------------------------------------
# Identifiers
# ------------------------------------------------------------------------------------------


def luhn_digit(number: str) -> str:
    """Luhn check digit for ``number`` (the digit that makes number+digit valid)."""
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def make_npi(base9: str) -> str:
    """An NPI: 9 digits + Luhn check digit computed over '80840' + the 9 digits."""
    return base9 + luhn_digit("80840" + base9)


def bad_npi(npi: str) -> str:
    """The same NPI with a wrong check digit."""
    return npi[:9] + str((int(npi[9]) + 3) % 10)


def npi_is_valid(npi: str) -> bool:
    return len(npi) == 10 and npi.isdigit() and luhn_digit("80840" + npi[:9]) == npi[9]


_MBI_ALPHA = "ACDEFGHJKMNPQRTUVWXY"


def make_mbi(rng: random.Random) -> str:
    """A synthetic Medicare Beneficiary Identifier in the CMS 11-character format."""
    a, n = _MBI_ALPHA, "0123456789"
    an = a + n
    pattern = [("123456789"), a, an, n, a, an, n, a, a, n, n]
    return "".join(rng.choice(p) for p in pattern)


# ------------------------------------------------------------------------------------------
# People, providers, payers
# ------------------------------------------------------------------------------------------

LAST_NAMES = [
    "FAKERLY", "SAMPLEMAN", "DEMOWICZ", "TESTWOOD", "MOCKINGTON", "SYNTHEA", "PLACEHOLT", "DUMMITT",
    "EXEMPLAR", "FICTIONE", "NOTAREAL", "PRETENDO", "MADEUPSON", "TESTOVA", "SIMULATI", "FAUXMAN",
]
FIRST_NAMES = {
    "F": ["ALICE", "BEATRICE", "CAROL", "DIANA", "EVELYN", "FRANCES", "GRACE", "HELEN", "IRIS", "JUNE",
          "KAREN", "LINDA", "MAYA", "NORA", "OLIVE", "PAULA"],
    "M": ["ARTHUR", "BRUCE", "CALVIN", "DENNIS", "EDGAR", "FRANK", "GORDON", "HAROLD", "IVAN", "JEROME",
          "KEITH", "LEON", "MARTIN", "NEIL", "OSCAR", "PETER"],
}
STREETS = ["SYNTHETIC AVE", "SAMPLE ST", "EXAMPLE RD", "PLACEHOLDER LN", "FICTION BLVD", "TEST CT",
           "MOCK WAY", "DEMO DR"]


@dataclass(frozen=True)
class Address:
    street: str
    city: str
    state: str
    zip: str


@dataclass(frozen=True)
class Person:
    last: str
    first: str
    sex: str
    dob: date
    address: Address
    member_id: str = ""


@dataclass(frozen=True)
class Provider:
    last: str
    first: str
    npi: str
    taxonomy: str


@dataclass(frozen=True)
class Practice:
    key: str
    name: str
    npi: str
    ein: str
    address: Address
    renderers: tuple[Provider, ...]


@dataclass(frozen=True)
class Payer:
    key: str
    name: str
    payer_id: str
    sbr09: str     # 837 SBR09 claim filing indicator
    clp06: str     # 835 CLP06 claim filing indicator
    address: Address
    tin: str


DERM = "207N00000X"       # Dermatology
MOHS = "207ND0101X"       # MOHS-Micrographic Surgery

PRACTICES: dict[str, Practice] = {
    "P1": Practice(
        "P1", "SYNTHETIC DERMATOLOGY ASSOCIATES PA", make_npi("198765432"), "461234567",
        Address("100 SYNTHETIC AVE STE 200", "SPRINGFIELD", "IL", "627011234"),
        (Provider("ADAMSTEST", "ALICE", make_npi("165432109"), DERM),
         Provider("BRIGHTMOCK", "BORIS", make_npi("176543210"), MOHS)),
    ),
    "P2": Practice(
        "P2", "EXAMPLE SKIN AND MOHS CENTER LLC", make_npi("154321098"), "271234568",
        Address("2500 EXAMPLE RD", "COLUMBUS", "OH", "432151002"),
        (Provider("CARVERFAKE", "CELIA", make_npi("143210987"), MOHS),
         Provider("DOEPLACE", "DAVID", make_npi("132109876"), DERM)),
    ),
    "P3": Practice(
        "P3", "SAMPLE FAMILY DERMATOLOGY PC", make_npi("121098765"), "541234569",
        Address("77 PLACEHOLDER LN", "RICHMOND", "VA", "232194455"),
        (Provider("ELLISDEMO", "EMMA", make_npi("110987654"), DERM),),
    ),
}

PAYERS: dict[str, Payer] = {
    "MB": Payer("MB", "SYNTHETIC MEDICARE PART B MAC", "SYNMB0001", "MB", "MB",
                Address("PO BOX 1000", "INDIANAPOLIS", "IN", "462060001"), "1350000001"),
    "MC": Payer("MC", "SYNTHETIC STATE MEDICAID", "SYNMC0001", "MC", "MC",
                Address("PO BOX 2000", "RICHMOND", "VA", "232182000"), "1540000002"),
    "CI": Payer("CI", "SYNTHETIC COMMERCIAL HEALTH PLAN", "SYNCI0001", "CI", "12",
                Address("PO BOX 3000", "HARTFORD", "CT", "061013000"), "1060000003"),
    "BL": Payer("BL", "SYNTHETIC BLUE PLAN", "SYNBL0001", "BL", "12",
                Address("PO BOX 4000", "CHICAGO", "IL", "606014000"), "1360000004"),
}

SUBMITTER = ("DERMEDI SAMPLE BILLING SERVICE", "DMSAMPLE01", "SAM BILLER", "5555550100")
RECEIVER = ("SYNTHETIC CLEARINGHOUSE", "SYNCH01")

CITIES = {
    "IL": [("SPRINGFIELD", "627"), ("DECATUR", "625"), ("PEORIA", "616")],
    "OH": [("COLUMBUS", "432"), ("DAYTON", "454"), ("TOLEDO", "436")],
    "VA": [("RICHMOND", "232"), ("NORFOLK", "235"), ("ROANOKE", "240")],
}


def make_person(rng: random.Random, state: str, *, min_age: int, max_age: int, member_id: str = "",
                as_of: date = date(2026, 6, 30)) -> Person:
    sex = rng.choice("FM")
    city, zip3 = rng.choice(CITIES[state])
    age_days = rng.randint(min_age * 365 + 10, max_age * 365 + 300)
    dob = as_of - timedelta(days=age_days)
    zip_ = zip3 + f"{rng.randint(0, 99):02d}" + (f"{rng.randint(1, 9999):04d}" if rng.random() < 0.5 else "")
    addr = Address(f"{rng.randint(10, 9899)} {rng.choice(STREETS)}", city, state, zip_)
    return Person(rng.choice(LAST_NAMES), rng.choice(FIRST_NAMES[sex]), sex, dob, addr, member_id)


# ------------------------------------------------------------------------------------------
# Claim model
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    code: str
    units: Decimal = Decimal(1)
    mods: tuple[str, ...] = ()
    ptrs: tuple[int, ...] = (1,)
    drug: str = ""           # HCPCS of a Drug: add 2410 LIN/CTP
    ndc: bool = True          # False: drug line without NDC
    charge: Decimal | None = None

    def line_charge(self) -> Decimal:
        return _line_charge(self)


@functools.cache
def _line_charge(line: Line) -> Decimal:
    if line.charge is not None:
        return line.charge
    if line.code in DRUGS:
        return money(DRUGS[line.code].unit_price * line.units)
    return money(fee(line.code) * line.units)


def L(code: str, units: int | str = 1, mods: str = "", ptrs: str = "1", **kw: Any) -> Line:
    return Line(code, Decimal(units), tuple(m for m in mods.split("-") if m),
                tuple(int(p) for p in ptrs.split(":")), **kw)


@dataclass(frozen=True)
class Problem:
    check: str          # short tag for the rule that should fire
    text: str           # the problem in words
    seed_error: str = ""  # id in /work/shared/domain/data/seed_errors.yaml
    line: int = 0       # 1-based service line (0 = claim level)


@dataclass
class Scenario:
    key: str
    payers: str                    # payer keys this scenario suits, e.g. "MB" or "CI BL"
    dx: tuple[str, ...]
    lines: tuple[Line, ...]
    problems: tuple[Problem, ...] = ()
    note: str = ""
    mohs: bool = False             # rendered by the Mohs surgeon
    prior_auth: bool = False
    dependent: bool = False        # commercial: patient is a dependent (2000C)
    bad_npi: bool = False
    total_delta: Decimal = Decimal(0)
    dos: date | None = None
    min_age: int = 18

    @property
    def held(self) -> bool:
        return bool(self.problems)


@dataclass
class ClaimSpec:
    claim_id: str
    scenario: Scenario
    payer: Payer
    practice: Practice
    renderer: Provider
    subscriber: Person
    patient: Person | None          # None: the subscriber is the patient
    relationship: str                # PAT01 when a dependent
    dos: date
    lines: list[Line]
    prior_auth: str = ""
    group_number: str = ""

    @property
    def total(self) -> Decimal:
        return sum((ln.line_charge() for ln in self.lines), Decimal(0)) + self.scenario.total_delta

    @property
    def line_total(self) -> Decimal:
        return sum((ln.line_charge() for ln in self.lines), Decimal(0))

    @property
    def held(self) -> bool:
        return self.scenario.held


def drug_line(code: str, units: int, mods: str = "", ptrs: str = "1", ndc: bool = True) -> Line:
    return L(code, units, mods, ptrs, drug=code, ndc=ndc)


# ------------------------------------------------------------------------------------------
# Scenarios: every clean one follows coding-reference.md; every held one carries its problems.
# ------------------------------------------------------------------------------------------

P = Problem

CLEAN: list[Scenario] = [
    # --- biopsies, correctly tiered (one primary = highest technique; add-on of its own technique)
    Scenario("bx-tangential-3", "MB CI BL MC", ("D48.5",), (L("11102"), L("11103", 2))),
    Scenario("bx-punch-2", "MB CI BL", ("L43.9",), (L("11104"), L("11105"))),
    Scenario("bx-incisional+tangential", "MB CI", ("D48.5", "L82.1"), (L("11106"), L("11103", 1, ptrs="2"))),
    Scenario("bx-incisional-2", "BL MC", ("D48.5",), (L("11106"), L("11107"))),
    Scenario("bx-punch+tangential", "CI MB", ("L43.9", "D48.5"), (L("11104"), L("11103", 2, ptrs="2"))),
    # --- premalignant destruction
    Scenario("ak-5", "MB", ("L57.0",), (L("17000"), L("17003", 4))),
    Scenario("ak-14", "MB CI", ("L57.0",), (L("17000"), L("17003", 13))),
    Scenario("ak-20", "MB BL", ("L57.0",), (L("17004"),)),
    Scenario("ak-1+em25", "MB", ("L40.0", "L57.0"), (L("99213", mods="25"), L("17000", ptrs="2"))),
    # --- benign destruction
    Scenario("warts-17110", "CI BL MC", ("B07.8",), (L("17110"),), dependent=True, min_age=6),
    Scenario("isk-17111", "MB CI", ("L82.0",), (L("17111"),)),
    Scenario("molluscum-17110", "MC CI", ("B08.1",), (L("17110"),), dependent=True, min_age=4),
    # --- shave removal, site group matched to the diagnosis
    Scenario("shave-trunk", "CI BL MB", ("D22.5",), (L("11301", 2),)),
    Scenario("shave-scalp", "BL MC", ("D22.4",), (L("11306"),)),
    Scenario("shave-face", "MB CI", ("D22.39",), (L("11311"),)),
    # --- excisions with separately reportable intermediate/complex repairs
    Scenario("exc-benign-trunk+int", "CI BL", ("D23.5",), (L("11402"), L("12032"))),
    Scenario("exc-benign-face+int", "MB CI", ("D23.39",), (L("11442"), L("12051"))),
    Scenario("exc-bcc-trunk+int", "MB BL", ("C44.519",), (L("11602"), L("12032"))),
    Scenario("exc-bcc-face+cmplx", "MB CI", ("C44.319",), (L("11643"), L("13131"))),
    Scenario("exc-melanoma-back+cmplx", "MB BL", ("C43.59",), (L("11606"), L("13101"))),
    Scenario("exc-bcc-scalp+int", "MB MC", ("C44.41",), (L("11623"), L("12032"))),
    # --- Mohs with reconstruction (repairs, flaps and grafts are separately reportable)
    Scenario("mohs-nose+flap", "MB CI", ("C44.311",), (L("17311"), L("17312"), L("14060")), mohs=True),
    Scenario("mohs-cheek+flap", "MB BL", ("C44.319",), (L("17311"), L("14040")), mohs=True),
    Scenario("mohs-nose+ftsg", "MB", ("C44.311",), (L("17311"), L("17312", 2), L("17315", 3), L("15260")),
             mohs=True),
    Scenario("mohs-ear+cmplx", "MB CI", ("C44.212",), (L("17311"), L("13151")), mohs=True),
    Scenario("mohs-lip+cmplx", "MB", ("C44.01",), (L("17311"), L("17312"), L("13152"), L("13153")), mohs=True),
    Scenario("mohs-trunk+cmplx", "MB BL", ("C44.519",), (L("17313"), L("17314"), L("13101")), mohs=True),
    Scenario("mohs-arm+int", "MB CI", ("C44.612",), (L("17313"), L("12032")), mohs=True),
    # --- malignant destruction
    Scenario("ed-c-sccis-trunk", "MB", ("D04.5",), (L("17262"),)),
    # --- E/M, alone or with modifier 25 beside a procedure
    Scenario("em-new-acne", "CI BL MC", ("L70.0",), (L("99203"),), dependent=True, min_age=14),
    Scenario("em-est-rosacea", "MB CI", ("L71.9",), (L("99213"),)),
    Scenario("em-est-high", "MB", ("L40.0", "L40.50"), (L("99215", ptrs="1:2"),)),
    Scenario("em-new-sf", "CI BL MC", ("L21.9",), (L("99202"),), dependent=True, min_age=2),
    Scenario("em-new-high", "CI MB", ("L40.0", "L40.50"), (L("99205", ptrs="1:2"),)),
    Scenario("em-est-sf+il", "BL CI", ("L63.9", "L91.0"),
             (L("99212", mods="25"), L("11900", ptrs="2"), drug_line("J3301", 1, ptrs="2"))),
    Scenario("em25+bx", "MB CI BL", ("L40.0", "D48.5"), (L("99214", mods="25"), L("11102", ptrs="2"))),
    Scenario("em-new25+warts", "CI BL", ("L20.9", "B07.8"), (L("99204", mods="25"), L("17110", ptrs="2"))),
    # --- drugs with 2410 NDC, JW/JZ for Medicare single-dose containers
    Scenario("pdt-ala-jz", "MB", ("L57.0",), (L("96574"), drug_line("J7308", 1, "JZ"))),
    Scenario("pdt-ala", "CI BL", ("L57.0",), (L("96567"), drug_line("J7308", 1))),
    Scenario("pdt-ala-96573", "CI MB", ("L57.0",), (L("96573"), drug_line("J7308", 2))),
    Scenario("secukinumab-iv-jw", "MB", ("L40.50",),
             (L("96365"), drug_line("J3247", 123), drug_line("J3247", 2, "JW"))),
    Scenario("risankizumab-iv-jz", "MB", ("L40.0",), (L("96365"), drug_line("J2327", 600, "JZ")),
             note="coded correctly (J2327 = risankizumab IV 1 mg, 600 mg vial fully used, JZ), but IV "
                  "risankizumab is labeled for Crohn's/UC induction: the payer denies the drug for medical "
                  "necessity in remit-medicare-mb.835"),
    Scenario("ustekinumab-sc", "CI BL", ("L40.0",), (L("96372"), drug_line("J3357", 45)), prior_auth=True),
    Scenario("ustekinumab-sc+em25", "CI", ("L40.0", "L21.9"),
             (L("99213", mods="25", ptrs="2:1"), L("96372"), drug_line("J3357", 45)), prior_auth=True),
    Scenario("ustekinumab-sc-mdcd", "MC", ("L40.0",), (L("96372"), drug_line("J3357", 45)), prior_auth=True),
    # --- intralesional injections (triamcinolone multi-dose vial: no JW/JZ)
    Scenario("il-keloid", "CI BL", ("L91.0",), (L("11900"), drug_line("J3301", 2))),
    Scenario("il-alopecia-8", "MC", ("L63.9",), (L("11901"), drug_line("J3301", 4))),
    # --- phototherapy for psoriasis
    Scenario("nbuvb-96900", "MB CI MC", ("L40.0",), (L("96900"),)),
    Scenario("goeckerman-96910", "CI", ("L40.0",), (L("96910"),)),
    Scenario("puva-96912", "BL", ("L40.8",), (L("96912"),)),
    Scenario("excimer-96920", "MB CI", ("L40.0",), (L("96920"),)),
    Scenario("excimer-96921", "BL", ("L40.0",), (L("96921"),)),
    Scenario("excimer-96922", "MB", ("L40.4",), (L("96922"),)),
]

HELD: list[Scenario] = [
    Scenario("err-17004-stacked", "MB", ("L57.0",), (L("17000"), L("17003", 13), L("17004")), (
        P("ptp_mod0", "17004 (15 or more AKs) billed with 17000/17003; 17004 is reported alone "
          "(NCCI PTP 17004/17000 and 17004/17003, modifier indicator 0)", "E12", 3),)),
    Scenario("err-17110+17111", "CI", ("B07.8",), (L("17110"), L("17111")), (
        P("ptp_mod0", "17110 and 17111 billed together; 15 or more benign lesions = 17111 alone "
          "(NCCI PTP 17111/17110, indicator 0)", "E13", 1),)),
    Scenario("err-two-primary-bx", "MB", ("D48.5", "L82.1"), (L("11102", ptrs="2"), L("11106")), (
        P("ptp_mod0", "two primary biopsy codes 11102 + 11106; only the highest technique is primary, the "
          "tangential biopsy is 11103 (NCCI PTP 11106/11102, indicator 0)", "E11", 1),)),
    Scenario("err-99201", "CI", ("L30.9",), (L("99201"),), (
        P("deleted_code", "99201 was deleted 2021-01-01; new-patient visits are 99202-99205", "E29", 1),)),
    Scenario("err-11100", "BL", ("D48.5",), (L("11100"),), (
        P("deleted_code", "11100 was deleted 2018-12-31; skin biopsies are 11102-11107 by technique", "E15", 1),)),
    Scenario("err-j0222-dupilumab", "CI", ("L20.9",), (L("96372"), drug_line("J0222", 300)), (
        P("drug_code_mismatch", "J0222 is patisiran 0.1 mg (Onpattro), not dupilumab; the NDC sent does not "
          "crosswalk to J0222 and atopic dermatitis does not fit patisiran", "E06", 2),), prior_auth=True),
    Scenario("err-j2682", "BL", ("L40.0",), (L("96372"), drug_line("J2682", 150)), (
        P("invalid_code", "J2682 does not exist in HCPCS (Skyrizi IV is J2327; SC risankizumab has no "
          "specific code)", "E09", 2),), prior_auth=True),
    Scenario("err-17000-benign", "MB", ("L82.1",), (L("17000"),), (
        P("dx_mismatch", "17000 (premalignant destruction) billed for a benign diagnosis (L82.1 seborrheic "
          "keratosis); benign destruction is 17110/17111", "E31", 1),)),
    Scenario("err-11403-malignant", "MB", ("C44.519",), (L("11403"),), (
        P("dx_mismatch", "benign excision 11403 billed with a malignant diagnosis (C44.519 BCC); malignant "
          "excisions are 11600-11646 (11603 for 2.1-3.0 cm trunk)", "", 1),)),
    Scenario("err-12001-no-mod", "MB", ("C44.519",), (L("11602"), L("12001")), (
        P("ptp_mod1_no_modifier", "simple repair 12001 billed with excision 11602 and no modifier; simple "
          "closure is included in the excision (NCCI PTP 11602/12001, indicator 1)", "E01", 2),)),
    Scenario("err-em-no-25", "MB", ("L40.0", "D48.5"), (L("99213"), L("11102", ptrs="2")), (
        P("modifier_25_missing", "E/M 99213 on the day of biopsy 11102 without modifier 25 (NCCI PTP "
          "11102/99213, indicator 1)", "E20", 1),)),
    Scenario("err-17313-face", "MB", ("C44.311",), (L("17313"), L("17314"), L("13151")), (
        P("site_mismatch", "Mohs 17313/17314 (trunk/arms/legs) billed for a nose lesion (C44.311); head, neck, "
          "hands, feet and genitalia are always 17311/17312 (17311 also covers deep-structure involvement at "
          "any site, so the reverse error - 17311 on the trunk - is not certain from the claim)", "E26", 1),),
             mohs=True),
    Scenario("err-addon-alone", "CI", ("D48.5",), (L("11103"),), (
        P("addon_without_primary", "add-on 11103 billed without a primary biopsy code (11102, 11104 or "
          "11106; NCCI add-on code edit)", "E14", 1),)),
    Scenario("err-mue-17003", "MB", ("L57.0",), (L("17000"), L("17003", 14)), (
        P("mue_exceeded", "17003 x 14 exceeds the MUE of 13 units (MAI 2); 15 or more AKs = 17004 alone",
          "E34", 2),)),
    Scenario("err-jwjz-missing", "MB", ("L40.50",), (L("96365"), drug_line("J3247", 125)), (
        P("jw_jz_missing", "Medicare Part B single-dose vial drug J3247 billed without JW or JZ (required "
          "since 2023-07-01; claims returned as unprocessable from 2023-10-01)", "", 2),)),
    Scenario("err-medicaid-no-ndc", "MC", ("L57.0",), (L("96567"), drug_line("J7308", 1, ndc=False)), (
        P("ndc_missing", "Medicaid physician-administered drug J7308 billed without the 2410 LIN NDC "
          "(DRA 2005 s.6002)", "", 2),)),
    Scenario("err-bad-npi", "CI", ("D22.5",), (L("11300"),), (
        P("npi_invalid", "rendering provider NPI (2310B NM109) fails the Luhn check digit (prefix 80840)", "",
          0),), bad_npi=True),
    Scenario("err-pointer-nothing", "BL", ("L57.0", "L82.0"), (L("17000"), L("17003", 2), L("17110", ptrs="3")), (
        P("dx_pointer_invalid", "line 3 diagnosis pointer 3 points to no diagnosis (the claim has 2)", "", 3),
        P("ptp_mod1_no_modifier", "17110 billed with 17000/17003 without 59/XS (NCCI PTP 17110/17000 and "
          "17110/17003, indicator 1: mutually exclusive unless separate lesions)", "", 3))),
    Scenario("err-total-mismatch", "MB", ("D22.5",), (L("11301"),), (
        P("claim_total_mismatch", "CLM02 total charge does not equal the sum of the SV102 line charges", "", 0),),
             total_delta=Decimal("25")),
    Scenario("err-future-dos", "CI", ("L70.0",), (L("99213"),), (
        P("future_dos", "date of service is after the claim was created (future date)", "", 1),),
             dos=date(2027, 2, 16)),
    Scenario("err-96401-steroid", "CI", ("L20.9",), (L("96401"), drug_line("J3301", 4)), (
        P("wrong_admin_code", "96401 (chemotherapy administration, non-hormonal anti-neoplastic) used for an "
          "intramuscular triamcinolone injection; a therapeutic SC/IM injection is 96372", "E23", 1),)),
    Scenario("err-57-minor", "BL", ("C44.319",), (L("99214", mods="57"), L("11643"), L("13131")), (
        P("modifier_57_invalid", "modifier 57 on an E/M with a 010-day excision; 57 is for 090-day "
          "procedures, a significant separate E/M uses 25", "E16", 1),)),
    Scenario("err-shave-site", "MB", ("D22.39",), (L("11301"),), (
        P("site_mismatch", "shave 11301 (trunk/arms/legs) billed for a facial nevus (D22.39); face is "
          "11310-11313", "", 1),)),
    Scenario("err-jw-and-jz", "MB", ("L40.50",),
             (L("96365"), drug_line("J3247", 123, "JZ"), drug_line("J3247", 2, "JW")), (
        P("jw_jz_conflict", "JZ (nothing discarded) on the administered J3247 line while a JW line reports "
          "2 mg discarded from the same vial; the administered line carries no JZ when waste is billed", "", 2),)),
    Scenario("err-99211-96372", "CI", ("L40.0",), (L("99211"), L("96372"), drug_line("J3357", 45)), (
        P("ptp_mod0", "99211 billed with injection 96372; 99211 is never payable with 96372 (NCCI PTP "
          "96372/99211, indicator 0)", "", 1),), prior_auth=True),
    Scenario("err-11107-wrong-primary", "CI", ("D48.5",), (L("11104"), L("11107")), (
        P("addon_without_primary", "add-on 11107 (incisional) billed with primary 11104; 11107 is allowed only "
          "with 11106 - an additional incisional biopsy makes 11106 the primary (11106 + 11105)", "E10", 2),)),
    Scenario("err-mohs-path", "MB", ("C44.311",), (L("17311"), L("88305"), L("13151")), (
        P("ptp_mod1_no_modifier", "88305 billed by the Mohs surgeon with 17311; Mohs includes the pathology "
          "of its own sections (NCCI PTP 17311/88305, indicator 1)", "", 2),), mohs=True),
    Scenario("err-flap+excision", "MB", ("C44.319",), (L("11642"), L("14040")), (
        P("ptp_mod1_no_modifier", "excision 11642 billed with adjacent tissue transfer 14040 at the same site; "
          "the excision is included in the flap (NCCI PTP 14040/11642, indicator 1)", "", 1),)),
    Scenario("err-17312-with-17313", "MB", ("C44.519",), (L("17313"), L("17312"), L("13101")), (
        P("addon_without_primary", "add-on 17312 (additional stage, head/neck sites) billed with 17313 (trunk); "
          "17312 requires 17311, additional trunk stages are 17314", "E26", 2),), mohs=True),
    Scenario("err-repair-site", "CI", ("C44.311",), (L("11642"), L("13131")), (
        P("site_mismatch", "complex repair 13131 (forehead/cheeks/chin/mouth/neck/axillae/genitalia/hands/feet) "
          "for a nose defect (C44.311); nose repairs are 13151-13153", "", 2),)),
    Scenario("err-excision-site", "BL", ("D23.39",), (L("11402"),), (
        P("site_mismatch", "benign excision 11402 (trunk/arms/legs) for a facial lesion (D23.39); face is "
          "11440-11446", "", 1),)),
    Scenario("err-17262-benign", "CI", ("D22.5",), (L("17262"),), (
        P("dx_mismatch", "malignant destruction 17262 billed for a benign nevus (D22.5); malignant "
          "destruction needs C43/C44/D03/D04", "", 1),)),
    Scenario("err-11901+11900", "BL", ("L63.9",), (L("11900"), L("11901"), drug_line("J3301", 4)), (
        P("ptp_mod0", "11900 (up to 7 lesions) and 11901 (more than 7) billed together; only 11901 "
          "(NCCI PTP 11901/11900, indicator 0)", "", 1),)),
    Scenario("err-two-primary-punch", "BL", ("D48.5",), (L("11102"), L("11104")), (
        P("ptp_mod0", "two primary biopsy codes 11104 + 11102; the tangential biopsy is 11103 (NCCI PTP "
          "11104/11102, indicator 0)", "E11", 1),)),
]

SCENARIOS = {s.key: s for s in CLEAN + HELD}


# ------------------------------------------------------------------------------------------
# Sample file plan: (scenario key, payer key, practice key) per claim, per transaction set
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Style:
    element: str = "*"
    component: str = ":"
    repetition: str = "^"
    segment: str = "~"
    newline: str = "\n"


@dataclass
class TxPlan:
    practice: str
    claims: list[tuple[str, ...]]   # (scenario key, payer key[, ISO date of service])


@dataclass
class FilePlan:
    name: str
    style: Style
    interchanges: list[list[TxPlan]]   # interchange -> transaction sets (one GS each)
    file_date: date
    note: str


PLAN: list[FilePlan] = [
    FilePlan("medicare-mb.837", Style(newline="\n"), [[TxPlan("P1", [
        ("ak-5", "MB"), ("ak-1+em25", "MB"), ("err-17004-stacked", "MB"), ("bx-tangential-3", "MB"),
        ("err-two-primary-bx", "MB"), ("exc-bcc-trunk+int", "MB"), ("err-12001-no-mod", "MB"),
        ("shave-face", "MB"), ("err-shave-site", "MB"), ("pdt-ala-jz", "MB"), ("em25+bx", "MB"),
        ("err-em-no-25", "MB"), ("secukinumab-iv-jw", "MB"), ("err-jwjz-missing", "MB"),
        ("risankizumab-iv-jz", "MB"), ("err-17000-benign", "MB"), ("excimer-96922", "MB"),
        ("err-11403-malignant", "MB"), ("err-jw-and-jz", "MB"), ("err-mohs-path", "MB"),
        ("ed-c-sccis-trunk", "MB"), ("err-total-mismatch", "MB"), ("em-est-high", "MB"),
    ])]], date(2026, 11, 18), "Medicare Part B (SBR09=MB); '~' + LF after each segment"),
    FilePlan("commercial-ci-bl.837", Style(element="|", component=">", newline="\r\n"), [[
        TxPlan("P2", [
            ("bx-punch-2", "CI"), ("err-17110+17111", "CI"), ("exc-benign-trunk+int", "CI"),
            ("em-new-acne", "CI"), ("err-99201", "CI"), ("ustekinumab-sc", "CI"), ("err-j0222-dupilumab", "CI"),
            ("err-addon-alone", "CI"), ("goeckerman-96910", "CI"), ("err-bad-npi", "CI"),
            ("ustekinumab-sc+em25", "CI"), ("err-future-dos", "CI"), ("err-96401-steroid", "CI"),
            ("em-new25+warts", "CI"), ("isk-17111", "CI", "2026-07-20"), ("err-99211-96372", "CI"),
            ("err-11107-wrong-primary", "CI"),
        ]),
        TxPlan("P2", [
            ("shave-trunk", "BL"), ("err-11100", "BL"), ("exc-melanoma-back+cmplx", "BL"), ("pdt-ala", "BL"),
            ("err-j2682", "BL"), ("puva-96912", "BL"), ("err-pointer-nothing", "BL"), ("il-keloid", "BL"),
            ("err-57-minor", "BL"), ("excimer-96921", "BL"), ("err-two-primary-punch", "BL"),
            ("ak-20", "BL"),
        ]),
    ]], date(2026, 11, 19), "Commercial CI and Blue plan BL, two transaction sets; '|' element, '>' component, "
        "CRLF after each segment"),
    FilePlan("medicaid-mc.837", Style(newline=""), [[TxPlan("P3", [
        ("warts-17110", "MC"), ("molluscum-17110", "MC"), ("shave-scalp", "MC"), ("bx-incisional-2", "MC"),
        ("err-medicaid-no-ndc", "MC"), ("il-alopecia-8", "MC"), ("ustekinumab-sc-mdcd", "MC"),
        ("nbuvb-96900", "MC"), ("exc-bcc-scalp+int", "MC"), ("em-new-acne", "MC"),
    ])]], date(2026, 11, 19), "Medicaid (SBR09=MC), no line breaks at all"),
    FilePlan("mohs-two-interchanges.837", Style(newline="\n"), [
        [TxPlan("P2", [
            ("mohs-nose+flap", "MB"), ("mohs-cheek+flap", "MB"), ("mohs-nose+ftsg", "MB"),
            ("mohs-ear+cmplx", "MB"), ("err-17313-face", "MB"), ("mohs-lip+cmplx", "MB"),
            ("mohs-trunk+cmplx", "MB"), ("err-mue-17003", "MB"), ("mohs-arm+int", "MB"),
            ("exc-bcc-face+cmplx", "MB"), ("exc-benign-face+int", "MB"), ("err-flap+excision", "MB"),
            ("err-17312-with-17313", "MB"),
        ])],
        [TxPlan("P1", [
            ("mohs-nose+flap", "CI"), ("mohs-ear+cmplx", "CI"), ("exc-bcc-face+cmplx", "CI"),
            ("em-est-rosacea", "CI"), ("ak-14", "CI"), ("excimer-96920", "CI"),
            ("bx-incisional+tangential", "CI"), ("warts-17110", "BL"), ("mohs-cheek+flap", "BL"),
            ("em-new-sf", "CI"), ("err-repair-site", "CI"), ("em-est-sf+il", "BL"), ("err-excision-site", "BL"),
            ("em-new-high", "CI"), ("err-17262-benign", "CI"), ("pdt-ala-96573", "CI"), ("err-11901+11900", "BL"),
        ])],
    ], date(2026, 11, 20), "Two interchanges (Mohs center to Medicare; general practice to commercial); "
        "LF after each segment"),
]

# 835 scenario plan: claim id -> adjudication instruction (built after claim ids are known).


# ------------------------------------------------------------------------------------------
# Building claims
# ------------------------------------------------------------------------------------------


# How long before the batch date a service may be, by payer: commercial plans file within their
# 180-day default (config/payers.yaml), Medicaid and Medicare within a year - all in 2026.
DOS_WINDOW_DAYS = {"CI": 150, "BL": 150, "MC": 300, "MB": 320}


def service_date(rng: random.Random, payer: str, file_date: date) -> date:
    """A weekday in 2026, 5 to DOS_WINDOW_DAYS[payer] days before the batch date."""
    latest = file_date - timedelta(days=5)
    earliest = max(date(2026, 1, 5), file_date - timedelta(days=DOS_WINDOW_DAYS[payer]))
    span = (latest - earliest).days
    while True:
        d = earliest + timedelta(days=rng.randint(0, span))
        if d.weekday() < 5:
            return d


def member_id_for(rng: random.Random, payer: Payer) -> str:
    if payer.key == "MB":
        return make_mbi(rng)
    if payer.key == "MC":
        return "SYN" + "".join(rng.choice("0123456789") for _ in range(9))
    prefix = "XCI" if payer.key == "CI" else "XBL"
    return prefix + "".join(rng.choice("0123456789") for _ in range(9)) + "01"


def build_claim(rng: random.Random, claim_id: str, scenario: Scenario, payer: Payer, practice: Practice,
                dos: date | None = None, file_date: date = date(2026, 11, 20)) -> ClaimSpec:
    state = practice.address.state
    renderers = practice.renderers
    if scenario.mohs:
        renderer = next((r for r in renderers if r.taxonomy == MOHS), renderers[0])
    else:
        renderer = next((r for r in renderers if r.taxonomy == DERM), renderers[0])
    if scenario.bad_npi:
        renderer = replace(renderer, npi=bad_npi(renderer.npi))
    member = member_id_for(rng, payer)
    dependent = scenario.dependent and payer.key in ("CI", "BL")
    min_age = scenario.min_age
    if payer.key == "MB":
        subscriber = make_person(rng, state, min_age=66, max_age=90, member_id=member)
        patient = None
        rel = ""
    elif dependent:
        subscriber = make_person(rng, state, min_age=35, max_age=55, member_id=member)
        child = make_person(rng, state, min_age=min_age, max_age=17)
        patient = replace(child, last=subscriber.last, address=subscriber.address)
        rel = "19"
    else:
        low = max(min_age, 18) if payer.key != "MC" else min_age
        subscriber = make_person(rng, state, min_age=low, max_age=64, member_id=member)
        patient = None
        rel = ""
    when = scenario.dos or dos or service_date(rng, payer.key, file_date)
    lines = list(scenario.lines)
    group = "" if payer.key in ("MB", "MC") else f"GRP{rng.randint(10000, 99999)}"
    auth = f"PA{rng.randint(1000000, 9999999)}" if scenario.prior_auth and payer.key != "MB" else ""
    return ClaimSpec(claim_id, scenario, payer, practice, renderer, subscriber, patient, rel, when, lines,
                     auth, group)


def build_samples() -> tuple[list[tuple[FilePlan, list[list[list[ClaimSpec]]]]], dict[str, ClaimSpec]]:
    rng = random.Random(SEED)
    out: list[tuple[FilePlan, list[list[list[ClaimSpec]]]]] = []
    by_id: dict[str, ClaimSpec] = {}
    counters: dict[str, int] = {}
    for plan in PLAN:
        inter_list: list[list[list[ClaimSpec]]] = []
        for interchange in plan.interchanges:
            tx_list: list[list[ClaimSpec]] = []
            for tx in interchange:
                practice = PRACTICES[tx.practice]
                claims: list[ClaimSpec] = []
                for key, payer_key, *fixed in tx.claims:
                    counters[tx.practice] = counters.get(tx.practice, 0) + 1
                    cid = f"{tx.practice}-26{counters[tx.practice]:04d}"
                    dos = date.fromisoformat(fixed[0]) if fixed else None
                    spec = build_claim(rng, cid, SCENARIOS[key], PAYERS[payer_key], practice, dos, plan.file_date)
                    claims.append(spec)
                    by_id[cid] = spec
                tx_list.append(claims)
            inter_list.append(tx_list)
        out.append((plan, inter_list))
    return out, by_id


# ------------------------------------------------------------------------------------------
# 837P rendering
# ------------------------------------------------------------------------------------------

Seg = list[str]


def d8(d: date) -> str:
    return f"{d.year:04d}{d.month:02d}{d.day:02d}"


def isa(style: Style, sender: str, receiver: str, when: date, hhmm: str, control: int, usage: str = "T") -> Seg:
    rep = style.repetition
    return ["ISA", "00", " " * 10, "00", " " * 10, "ZZ", f"{sender:<15}", "ZZ", f"{receiver:<15}",
            when.strftime("%y%m%d"), hhmm, rep, "00501", f"{control:09d}", "0", usage, style.component]


def claim_segments(spec: ClaimSpec, c: str) -> list[Seg]:
    """2000B (+2000C) and 2300/2310B/2400 for one claim, HL numbers filled in by the caller."""
    segs: list[Seg] = []
    cl = spec
    total = cl.total
    segs.append(["CLM", cl.claim_id, amt(total), "", "", f"11{c}B{c}1", "Y", "A", "Y", "Y"])
    if cl.prior_auth:
        segs.append(["REF", "G1", cl.prior_auth])
    hi = ["HI"]
    for i, code in enumerate(cl.scenario.dx):
        hi.append(("ABK" if i == 0 else "ABF") + c + code.replace(".", ""))
    segs.append(hi)
    r = cl.renderer
    segs.append(["NM1", "82", "1", r.last, r.first, "", "", "", "XX", r.npi])
    segs.append(["PRV", "PE", "PXC", r.taxonomy])
    for n, ln in enumerate(cl.lines, start=1):
        segs.append(["LX", str(n)])
        proc = c.join(["HC", ln.code, *ln.mods])
        segs.append(["SV1", proc, amt(ln.line_charge()), "UN", amt(ln.units), "", "", c.join(map(str, ln.ptrs))])
        segs.append(["DTP", "472", "D8", d8(cl.dos)])
        segs.append(["REF", "6R", f"{cl.claim_id}L{n}"])
        if ln.drug and ln.ndc:
            drug = DRUGS[ln.drug]
            qty = (drug.per_ctp * ln.units).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
            segs.append(["LIN", "", "N4", drug.ndc])
            segs.append(["CTP", "", "", "", amt(qty), drug.ctp_unit])
    return segs


def subscriber_segments(spec: ClaimSpec) -> tuple[list[Seg], list[Seg] | None]:
    p = spec.payer
    s = spec.subscriber
    dependent = spec.patient is not None
    sbr = ["SBR", "P", "" if dependent else "18", spec.group_number, "", "", "", "", "", p.sbr09]
    while sbr[-1] == "" and len(sbr) > 2:
        sbr.pop()
    b: list[Seg] = [sbr, ["NM1", "IL", "1", s.last, s.first, "", "", "", "MI", s.member_id],
                    ["N3", s.address.street], ["N4", s.address.city, s.address.state, s.address.zip]]
    if not dependent:
        b.append(["DMG", "D8", d8(s.dob), s.sex])
    b.append(["NM1", "PR", "2", p.name, "", "", "", "", "PI", p.payer_id])
    if not dependent:
        return b, None
    pt = spec.patient
    assert pt is not None
    c2 = [["PAT", spec.relationship], ["NM1", "QC", "1", pt.last, pt.first],
          ["N3", pt.address.street], ["N4", pt.address.city, pt.address.state, pt.address.zip],
          ["DMG", "D8", d8(pt.dob), pt.sex]]
    return b, c2


FLUSH_CHARS = 1 << 18   # write to the file once this many characters are buffered


class SegmentWriter:
    """Render segments with one style and stream them to a binary file; counts per ST."""

    def __init__(self, out: IO[bytes], style: Style) -> None:
        self.out = out
        self.style = style
        self.buf: list[str] = []
        self.size = 0
        self.st_count = 0
        self.first = True

    def write(self, seg: Seg) -> None:
        st = self.style
        text = st.element.join(seg) + st.segment + st.newline
        self.buf.append(text)
        self.size += len(text)
        self.st_count += 1
        if self.size > FLUSH_CHARS:
            self.flush()

    def flush(self) -> None:
        if self.buf:
            self.out.write("".join(self.buf).encode("ascii"))
            self.buf.clear()
            self.size = 0


class Writer837:
    """Stream an 837P: interchanges / groups / transaction sets / billing providers / claims."""

    def __init__(self, out: IO[bytes], style: Style, file_date: date, hhmm: str = "0930") -> None:
        self.w = SegmentWriter(out, style)
        self.style = style
        self.file_date = file_date
        self.hhmm = hhmm
        self.c = style.component
        self._isa_control = 0
        self._gs_count = 0
        self._st_in_gs = 0
        self._st_number = 0
        self._hl = 0
        self._billing_hl = 0
        self._practice: Practice | None = None

    def open_interchange(self, control: int) -> None:
        self._isa_control = control
        self._gs_count = 0
        self.w.write(isa(self.style, SUBMITTER[1], RECEIVER[1], self.file_date, self.hhmm, control))

    def open_group(self, control: int) -> None:
        self._gs_control = control
        self._gs_count += 1
        self._st_in_gs = 0
        self.w.write(["GS", "HC", SUBMITTER[1], RECEIVER[1], d8(self.file_date), self.hhmm, str(control), "X",
                      "005010X222A1"])

    def open_transaction(self, batch_id: str) -> None:
        self._st_number += 1
        self._st_in_gs += 1
        self.w.st_count = 0
        self._hl = 0
        self._practice = None
        name, sid, contact, phone = SUBMITTER
        self.w.write(["ST", "837", f"{self._st_number:04d}", "005010X222A1"])
        self.w.write(["BHT", "0019", "00", batch_id, d8(self.file_date), self.hhmm, "CH"])
        self.w.write(["NM1", "41", "2", name, "", "", "", "", "46", sid])
        self.w.write(["PER", "IC", contact, "TE", phone, "EM", "BILLING@EXAMPLE.COM"])
        self.w.write(["NM1", "40", "2", RECEIVER[0], "", "", "", "", "46", RECEIVER[1]])

    def billing_provider(self, practice: Practice) -> None:
        self._hl += 1
        self._billing_hl = self._hl
        self._practice = practice
        a = practice.address
        self.w.write(["HL", str(self._hl), "", "20", "1"])
        self.w.write(["PRV", "BI", "PXC", DERM])
        self.w.write(["NM1", "85", "2", practice.name, "", "", "", "", "XX", practice.npi])
        self.w.write(["N3", a.street])
        self.w.write(["N4", a.city, a.state, a.zip])
        self.w.write(["REF", "EI", practice.ein])

    def claim(self, spec: ClaimSpec) -> None:
        if self._practice is not spec.practice:
            self.billing_provider(spec.practice)
        b, c2 = subscriber_segments(spec)
        self._hl += 1
        sub_hl = self._hl
        self.w.write(["HL", str(sub_hl), str(self._billing_hl), "22", "1" if c2 else "0"])
        for s in b:
            self.w.write(s)
        if c2:
            self._hl += 1
            self.w.write(["HL", str(self._hl), str(sub_hl), "23", "0"])
            for s in c2:
                self.w.write(s)
        for s in claim_segments(spec, self.c):
            self.w.write(s)

    def close_transaction(self) -> None:
        self.w.write(["SE", str(self.w.st_count + 1), f"{self._st_number:04d}"])

    def close_group(self) -> None:
        self.w.write(["GE", str(self._st_in_gs), str(self._gs_control)])

    def close_interchange(self) -> None:
        self.w.write(["IEA", str(self._gs_count), f"{self._isa_control:09d}"])
        self.w.flush()


def render_837(plan: FilePlan, interchanges: list[list[list[ClaimSpec]]], base_control: int) -> bytes:
    out = io.BytesIO()
    wr = Writer837(out, plan.style, plan.file_date)
    control = base_control
    for n_inter, txs in enumerate(interchanges):
        control += 1
        wr.open_interchange(control)
        wr.open_group(control)
        for n_tx, claims in enumerate(txs):
            wr.open_transaction(f"{plan.name.split('.')[0].upper()[:20]}{n_inter + 1}{n_tx + 1}")
            for spec in claims:
                wr.claim(spec)
            wr.close_transaction()
        wr.close_group()
        wr.close_interchange()
    return out.getvalue()


# ------------------------------------------------------------------------------------------
# Manifest
# ------------------------------------------------------------------------------------------


def claim_manifest_entry(file: str, spec: ClaimSpec) -> dict[str, Any]:
    sc = spec.scenario
    entry: dict[str, Any] = {
        "file": file,
        "claim_id": spec.claim_id,
        "status": "held" if sc.held else "clean",
        "scenario": sc.key,
        "payer": spec.payer.sbr09,
        "billing_npi": spec.practice.npi,
        "dos": spec.dos.isoformat(),
        "total_charge": amt(spec.total),
        "dx": list(sc.dx),
        "lines": [
            ("-".join([ln.code, *ln.mods]) + (f" x{amt(ln.units)}" if ln.units != 1 else ""))
            for ln in spec.lines
        ],
    }
    if sc.held:
        entry["problems"] = [
            {k: v for k, v in (("check", p.check), ("line", p.line or None), ("problem", p.text),
                               ("seed_error", p.seed_error or None)) if v is not None}
            for p in sc.problems
        ]
    if sc.note:
        entry["note"] = sc.note
    if spec.patient is not None:
        entry["patient_is_dependent"] = True
    if spec.prior_auth:
        entry["prior_auth"] = True
    return entry


def dump_yaml(data: Any) -> str:
    import yaml

    class _Dumper(yaml.SafeDumper):
        pass

    def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value)

    _Dumper.add_representer(str, _str)
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, width=110, allow_unicode=False)


MANIFEST_HEADER = """\
# dermedi samples manifest - GENERATED by samples/generate.py (do not edit by hand).
# All data is SYNTHETIC.  Every claim in samples/*.837 is listed exactly once.
# status: clean = passes the dermatology coding rules in /work/shared/domain (coding-reference.md wins
#   over the seeds); held = a scrubber must hold it, for the problem(s) listed.
# problems[].check is a short tag for the rule that should fire; seed_error is the id in
#   /work/shared/domain/data/seed_errors.yaml when the error is one of the seeds' mistakes.
# remits: every CLP in samples/*.835 with its adjustments; category is null for adjustments that
#   are not denials (CO-45/59/253, PR-1/2/3), else one of: bundling, coding_modifier, coding_dx,
#   medical_necessity, non_covered, authorization, eligibility, cob, duplicate, timely_filing,
#   submission_error, front_end_rejection, other.
"""


def generate_all() -> dict[str, bytes]:
    """Build every sample file; returns {relative path: bytes} (nothing written)."""
    files: dict[str, bytes] = {}
    built, by_id = build_samples()
    claims_manifest: list[dict[str, Any]] = []
    file_entries: list[dict[str, Any]] = []
    base = 260000
    for plan, interchanges in built:
        data = render_837(plan, interchanges, base)
        base += 10
        files[plan.name] = data
        n_claims = sum(len(tx) for inter in interchanges for tx in inter)
        st = plan.style
        file_entries.append({
            "file": plan.name, "kind": "837P", "note": plan.note,
            "delimiters": {"element": st.element, "component": st.component, "repetition": st.repetition,
                           "segment": st.segment, "after_segment": st.newline},
            "interchanges": len(interchanges),
            "transaction_sets": sum(len(i) for i in interchanges),
            "claims": n_claims,
        })
        for inter in interchanges:
            for tx in inter:
                for spec in tx:
                    claims_manifest.append(claim_manifest_entry(plan.name, spec))
    remit_files, remit_entries, remit_file_entries = build_remits(by_id)
    files.update(remit_files)
    file_entries.extend(remit_file_entries)
    clean = sum(1 for c in claims_manifest if c["status"] == "clean")
    plb_entries = [e for e in remit_entries if "plb" in e]
    remit_entries = [e for e in remit_entries if "plb" not in e]
    manifest = {
        "generator": "samples/generate.py",
        "seed": SEED,
        "synthetic": True,
        "summary": {"claims": len(claims_manifest), "clean": clean, "held": len(claims_manifest) - clean,
                    "remit_claims": sum(1 for e in remit_entries if "plb" not in e)},
        "files": file_entries,
        "claims": claims_manifest,
        "remits": remit_entries,
        "remit_plb": plb_entries,
    }
    files["manifest.yaml"] = (MANIFEST_HEADER + dump_yaml(manifest)).encode("ascii")
    return files


# ------------------------------------------------------------------------------------------
# 835 remits answering the sample claims
# ------------------------------------------------------------------------------------------

# CARC -> worklist category (remits-reference.md section 2); None = not a denial.
CARC_CATEGORY: dict[tuple[str, str], str | None] = {
    ("CO", "45"): None, ("CO", "59"): None, ("CO", "253"): None,
    ("PR", "1"): None, ("PR", "2"): None, ("PR", "3"): None,
    ("CO", "97"): "bundling", ("CO", "234"): "bundling", ("CO", "16"): "submission_error",
    ("CO", "50"): "medical_necessity", ("CO", "4"): "coding_modifier", ("CO", "29"): "timely_filing",
    ("CO", "197"): "authorization", ("CO", "96"): "non_covered", ("OA", "18"): "duplicate",
}


@dataclass(frozen=True)
class Deny:
    group: str
    carc: str
    rarcs: tuple[str, ...] = ()
    line: int = 0      # 0 = every line


@dataclass(frozen=True)
class Adjudication:
    scenario: str
    payer: str
    kind: str = "paid"          # paid | denied | duplicate | reversal_correction
    deny: Deny | None = None
    deductible: Decimal = Decimal(0)
    note: str = ""


@dataclass
class RemitPlan:
    name: str
    style: Style
    payer: str
    practice: str
    source: str                 # 837 sample file the claims come from
    claims: list[Adjudication]
    plb: list[tuple[str, str, Decimal]] = field(default_factory=list)   # (code, reference, amount)
    pay_date: date = date(2026, 11, 22)


A = Adjudication
REMIT_PLAN: list[tuple[str, Style, list[RemitPlan]]] = [
    ("remit-medicare-mb.835", Style(newline="\n"), [
        RemitPlan("mb-p1", Style(), "MB", "P1", "medicare-mb.837", [
            A("ak-5", "MB", deductible=Decimal("150.00"), note="paid; part of the Part B deductible applied"),
            A("ak-1+em25", "MB", deny=Deny("CO", "97", ("M15",), line=1),
              note="E/M-25 bundled into the AK destruction by the payer; destruction paid"),
            A("bx-tangential-3", "MB"),
            A("exc-bcc-trunk+int", "MB", note="multiple-procedure reduction (CO-59) on the repair"),
            A("shave-face", "MB", kind="reversal_correction",
              note="earlier payment reversed (CLP02=22, negated) and corrected at the right fee"),
            A("pdt-ala-jz", "MB"),
            A("secukinumab-iv-jw", "MB", note="JW waste line paid"),
            A("risankizumab-iv-jz", "MB", deny=Deny("CO", "50", ("N115",), line=2),
              note="drug denied as not medically necessary under an LCD; administration paid"),
            A("ed-c-sccis-trunk", "MB", kind="denied", deny=Deny("CO", "16", ("MA130",)),
              note="returned as unprocessable (CO-16/MA130): correct and send a new claim, no appeal"),
            A("em-est-high", "MB"),
            A("excimer-96922", "MB"),
        ], plb=[("WO", "MB2260900012345", Decimal("35.20")), ("L6", "P1-INTEREST", Decimal("-4.12"))]),
        RemitPlan("mb-p2", Style(), "MB", "P2", "mohs-two-interchanges.837", [
            A("mohs-nose+flap", "MB", note="multiple-procedure reduction on Mohs first stage"),
            A("mohs-cheek+flap", "MB"),
            A("mohs-nose+ftsg", "MB"),
            A("mohs-ear+cmplx", "MB", kind="duplicate",
              note="paid once; the same claim received again is denied OA-18 under a second payer claim number"),
            A("mohs-lip+cmplx", "MB"),
            A("mohs-trunk+cmplx", "MB"),
            A("mohs-arm+int", "MB"),
            A("exc-bcc-face+cmplx", "MB"),
            A("exc-benign-face+int", "MB"),
        ]),
    ]),
    ("remit-commercial.835", Style(newline="\r\n"), [
        RemitPlan("ci-p2", Style(), "CI", "P2", "commercial-ci-bl.837", [
            A("bx-punch-2", "CI"),
            A("exc-benign-trunk+int", "CI", deny=Deny("CO", "234", ("N20",), line=2),
              note="intermediate repair not paid separately by this payer (N20)"),
            A("em-new-acne", "CI"),
            A("goeckerman-96910", "CI", kind="denied", deny=Deny("CO", "197"),
              note="phototherapy course needs precertification with this payer"),
            A("ustekinumab-sc+em25", "CI"),
            A("ustekinumab-sc", "CI"),
            A("em-new25+warts", "CI", deny=Deny("CO", "4", line=1),
              note="payer rejects modifier 25 on the new-patient visit; destruction paid"),
            A("isk-17111", "CI", kind="denied", deny=Deny("CO", "29"),
              note="this payer's filing limit is 90 days from the date of service (the default commercial "
                   "profile allows 180, so the scrubber passes it)"),
        ]),
        RemitPlan("bl-p2", Style(), "BL", "P2", "commercial-ci-bl.837", [
            A("shave-trunk", "BL", kind="denied", deny=Deny("CO", "96", ("N383",)),
              note="nevus shave removals judged cosmetic"),
            A("exc-melanoma-back+cmplx", "BL"),
            A("pdt-ala", "BL"),
            A("puva-96912", "BL"),
            A("il-keloid", "BL"),
            A("excimer-96921", "BL"),
            A("ak-20", "BL"),
        ], pay_date=date(2026, 11, 21)),
    ]),
    ("remit-medicaid-mc.835", Style(newline=""), [
        RemitPlan("mc-p3", Style(), "MC", "P3", "medicaid-mc.837", [
            A("warts-17110", "MC"), A("molluscum-17110", "MC"), A("shave-scalp", "MC"),
            A("bx-incisional-2", "MC"), A("il-alopecia-8", "MC"), A("ustekinumab-sc-mdcd", "MC"),
            A("nbuvb-96900", "MC"), A("exc-bcc-scalp+int", "MC"), A("em-new-acne", "MC"),
        ], pay_date=date(2026, 11, 21)),
    ]),
]

EM_CODES = frozenset({"99202", "99203", "99204", "99205", "99211", "99212", "99213", "99214", "99215"})


@dataclass
class LineResult:
    number: int
    line: Line
    charge: Decimal
    paid: Decimal
    allowed: Decimal | None
    cas: list[tuple[str, str, Decimal]]     # (group, carc, amount)
    rarcs: tuple[str, ...] = ()


def allowed_for(payer: str, code: str, units: Decimal, rate: Decimal = Decimal(1)) -> Decimal:
    base = medicare_allowed(code) * units
    factor = {"MB": Decimal(1), "MC": Decimal("0.75"), "CI": Decimal("1.25"), "BL": Decimal("1.2")}[payer]
    return money(base * factor * rate)


def adjudicate(spec: ClaimSpec, adj: Adjudication, *, rate: Decimal = Decimal(1)) -> list[LineResult]:
    """Line results for one claim; every line balances: charge - sum(CAS) = paid."""
    payer = spec.payer.key
    results: list[LineResult] = []
    deductible_left = adj.deductible
    # multiple-procedure ranking: highest allowed indicator-2 procedure at 100 %, the rest 50 %
    ranked = sorted((i for i, ln in enumerate(spec.lines) if ln.code in MULT_PROC_2),
                    key=lambda i: -allowed_for(payer, spec.lines[i].code, spec.lines[i].units))
    reduced = set(ranked[1:]) if payer == "MB" else set()
    copay_left = Decimal(40) if payer == "CI" else Decimal(0)
    for i, ln in enumerate(spec.lines):
        number = i + 1
        charge = ln.line_charge()
        d = adj.deny
        if d is not None and (d.line == 0 or d.line == number):
            results.append(LineResult(number, ln, charge, Decimal(0), None, [(d.group, d.carc, charge)],
                                      d.rarcs))
            continue
        cas: list[tuple[str, str, Decimal]] = []
        allowed = min(allowed_for(payer, ln.code, ln.units, rate), charge)
        if charge > allowed:
            cas.append(("CO", "45", charge - allowed))
        if i in reduced:
            cut = money(allowed / 2)
            cas.append(("CO", "59", cut))
            allowed -= cut
        remaining = allowed
        if payer == "MB":
            ded = min(deductible_left, remaining)
            if ded:
                cas.append(("PR", "1", ded))
                deductible_left -= ded
                remaining -= ded
            coins = money(remaining * Decimal("0.2"))
            if coins:
                cas.append(("PR", "2", coins))
                remaining -= coins
            seq = money(remaining * Decimal("0.02"))
            if seq:
                cas.append(("CO", "253", seq))
                remaining -= seq
        elif payer == "CI":
            copay = min(copay_left, remaining)
            if copay and (ln.code in EM_CODES or not any(x.code in EM_CODES for x in spec.lines)):
                cas.append(("PR", "3", copay))
                copay_left -= copay
                remaining -= copay
        elif payer == "BL":
            coins = money(remaining * Decimal("0.1"))
            if coins:
                cas.append(("PR", "2", coins))
                remaining -= coins
        results.append(LineResult(number, ln, charge, remaining, allowed, cas))
    for r in results:
        assert r.charge - sum(a for _, _, a in r.cas) == r.paid, "line out of balance"
    return results


def _merge_cas(cas: Iterable[tuple[str, str, Decimal]]) -> list[Seg]:
    by_group: dict[str, list[tuple[str, Decimal]]] = {}
    for g, code, a in cas:
        by_group.setdefault(g, []).append((code, a))
    segs: list[Seg] = []
    for g in ("CO", "OA", "PI", "PR"):
        items = by_group.get(g)
        if not items:
            continue
        for k in range(0, len(items), 6):
            seg = ["CAS", g]
            for code, a in items[k:k + 6]:
                seg += [code, amt(a), ""]
            while seg[-1] == "":
                seg.pop()
            segs.append(seg)
    return segs


def clp_segments(spec: ClaimSpec, results: list[LineResult], status: str, pcn: str, received: date,
                 c: str, sign: int = 1) -> tuple[list[Seg], Decimal]:
    s = Decimal(sign)
    charge = sum((r.charge for r in results), Decimal(0)) * s
    paid = sum((r.paid for r in results), Decimal(0)) * s
    pr = sum((a for r in results for g, _, a in r.cas if g == "PR"), Decimal(0)) * s
    segs: list[Seg] = [["CLP", spec.claim_id, status, amt(charge), amt(paid), amt(pr) if pr else "",
                        spec.payer.clp06, pcn, "11", "1"]]
    patient = spec.patient or spec.subscriber
    segs.append(["NM1", "QC", "1", patient.last, patient.first, "", "", "", "MI", spec.subscriber.member_id])
    if spec.patient is not None:
        segs.append(["NM1", "IL", "1", spec.subscriber.last, spec.subscriber.first, "", "", "", "MI",
                     spec.subscriber.member_id])
    segs.append(["NM1", "82", "1", spec.renderer.last, spec.renderer.first, "", "", "", "XX", spec.renderer.npi])
    segs.append(["DTM", "050", d8(received)])
    for r in results:
        ln = r.line
        proc = c.join(["HC", ln.code, *ln.mods])
        svc = ["SVC", proc, amt(r.charge * s), amt(r.paid * s)]
        if ln.units != 1:
            svc += ["", amt(ln.units)]
        segs.append(svc)
        segs.append(["DTM", "472", d8(spec.dos)])
        segs.extend(_merge_cas((g, code, a * s) for g, code, a in r.cas))
        segs.append(["REF", "6R", f"{spec.claim_id}L{r.number}"])
        if r.allowed is not None:
            segs.append(["AMT", "B6", amt(r.allowed * s)])
        for rarc in r.rarcs:
            segs.append(["LQ", "HE", rarc])
    return segs, paid


def _pcn(payer: str, n: int) -> str:
    return {"MB": f"22632{n:08d}", "MC": f"MCD26{n:07d}", "CI": f"CI26{n:08d}", "BL": f"BL26{n:08d}"}[payer]


def build_remits(by_id: dict[str, ClaimSpec]) -> tuple[dict[str, bytes], list[dict[str, Any]],
                                                        list[dict[str, Any]]]:
    files: dict[str, bytes] = {}
    entries: list[dict[str, Any]] = []
    file_entries: list[dict[str, Any]] = []
    used: set[str] = set()
    pcn_counter = 1000
    control = 270000
    for name, style, plans in REMIT_PLAN:
        out = io.BytesIO()
        w = SegmentWriter(out, style)
        c = style.component
        control += 1
        first_payer = PAYERS[plans[0].payer]
        w.write(isa(style, first_payer.payer_id, SUBMITTER[1], plans[0].pay_date, "0800", control, "T"))
        w.write(["GS", "HP", first_payer.payer_id, SUBMITTER[1], d8(plans[0].pay_date), "0800", str(control), "X",
                 "005010X221A1"])
        n_st = 0
        for plan in plans:
            payer = PAYERS[plan.payer]
            practice = PRACTICES[plan.practice]
            n_st += 1
            body: list[Seg] = []
            total = Decimal(0)
            for adj in plan.claims:
                spec = next(s for s in by_id.values()
                            if s.scenario.key == adj.scenario and s.payer.key == adj.payer
                            and s.practice.key == plan.practice and s.claim_id not in used)
                used.add(spec.claim_id)
                received = plan.pay_date - timedelta(days=2)
                blocks: list[tuple[str, str, list[LineResult], int, str]] = []
                if adj.kind == "reversal_correction":
                    pcn_counter += 1
                    original = adjudicate(spec, adj, rate=Decimal("0.8"))
                    blocks.append(("22", _pcn(payer.key, pcn_counter), original, -1, "reversal"))
                    pcn_counter += 1
                    blocks.append(("1", _pcn(payer.key, pcn_counter), adjudicate(spec, adj), 1, "correction"))
                elif adj.kind == "duplicate":
                    pcn_counter += 1
                    blocks.append(("1", _pcn(payer.key, pcn_counter), adjudicate(spec, replace(adj, deny=None)), 1,
                                   "paid"))
                    pcn_counter += 1
                    dup = adjudicate(spec, replace(adj, deny=Deny("OA", "18")))
                    blocks.append(("4", _pcn(payer.key, pcn_counter), dup, 1, "duplicate"))
                else:
                    pcn_counter += 1
                    res = adjudicate(spec, adj)
                    status = "4" if adj.kind == "denied" else "1"
                    blocks.append((status, _pcn(payer.key, pcn_counter), res, 1, adj.kind))
                for status, pcn, res, sign, kind in blocks:
                    segs, paid = clp_segments(spec, res, status, pcn, received, c, sign)
                    body.extend(segs)
                    total += paid
                    entries.append(remit_entry(name, spec, status, pcn, res, sign, kind, adj.note))
            plb_total = sum((a for _, _, a in plan.plb), Decimal(0))
            payment = total - plb_total
            w.st_count = 0
            w.write(["ST", "835", f"{n_st:04d}"])
            check = f"{plan.pay_date:%y%m%d}{n_st:02d}{control % 10000:04d}"
            if payment > 0:
                w.write(["BPR", "I", amt(payment), "C", "CHK", *([""] * 11), d8(plan.pay_date)])
            else:
                w.write(["BPR", "H", amt(payment), "C", "NON", *([""] * 11), d8(plan.pay_date)])
            w.write(["TRN", "1", check, payer.tin])
            w.write(["DTM", "405", d8(plan.pay_date)])
            pa = payer.address
            w.write(["N1", "PR", payer.name])
            w.write(["N3", pa.street])
            w.write(["N4", pa.city, pa.state, pa.zip])
            w.write(["REF", "2U", payer.payer_id])
            w.write(["PER", "BL", "PROVIDER SERVICES", "TE", "8005550199"])
            ra = practice.address
            w.write(["N1", "PE", practice.name, "XX", practice.npi])
            w.write(["N3", ra.street])
            w.write(["N4", ra.city, ra.state, ra.zip])
            w.write(["REF", "TJ", practice.ein])
            w.write(["LX", "1"])
            for seg in body:
                w.write(seg)
            if plan.plb:
                plb = ["PLB", practice.npi, f"{plan.pay_date.year}1231"]
                for code, ref, a in plan.plb:
                    plb += [f"{code}{c}{ref}", amt(a)]
                w.write(plb)
            w.write(["SE", str(w.st_count + 1), f"{n_st:04d}"])
            file_entries_plb = [{"code": code, "reference": ref, "amount": amt(a)} for code, ref, a in plan.plb]
            if file_entries_plb:
                entries.append({"file": name, "plb": file_entries_plb, "payee_npi": practice.npi,
                                "note": "provider-level adjustments: WO overpayment recovery, L6 interest"})
        w.write(["GE", str(n_st), str(control)])
        w.write(["IEA", "1", f"{control:09d}"])
        w.flush()
        files[name] = out.getvalue()
        file_entries.append({"file": name, "kind": "835", "transaction_sets": n_st,
                             "answers": sorted({p.source for p in plans}),
                             "delimiters": {"element": style.element, "component": style.component,
                                            "segment": style.segment, "after_segment": style.newline}})
    files["bad/unbalanced.835"] = unbalanced_835(by_id)
    file_entries.append({"file": "bad/unbalanced.835", "kind": "835", "balanced": False,
                         "note": "deliberately UNBALANCED (CLP04 is 10.00 more than CLP03 minus the adjustments, "
                                 "and BPR02 follows CLP04) - a remit processor must quarantine it; "
                                 "structurally valid X12"})
    return files, entries, file_entries


def remit_entry(file: str, spec: ClaimSpec, status: str, pcn: str, results: list[LineResult], sign: int,
                kind: str, note: str) -> dict[str, Any]:
    s = Decimal(sign)
    adjustments = []
    for r in results:
        for g, code, a in r.cas:
            adjustments.append({
                "line": r.number, "code": r.line.code, "group": g, "carc": code, "amount": amt(a * s),
                "rarcs": list(r.rarcs) if r.rarcs else [],
                "denial": CARC_CATEGORY[(g, code)] is not None and kind != "reversal",
                "category": CARC_CATEGORY[(g, code)] if kind != "reversal" else None,
            })
    entry: dict[str, Any] = {
        "file": file, "claim_id": spec.claim_id, "payer_claim_number": pcn, "clp02": status, "kind": kind,
        "charge": amt(sum((r.charge for r in results), Decimal(0)) * s),
        "paid": amt(sum((r.paid for r in results), Decimal(0)) * s),
    }
    if note:
        entry["note"] = note
    entry["adjustments"] = adjustments
    return entry


def unbalanced_835(by_id: dict[str, ClaimSpec]) -> bytes:
    spec = next(s for s in by_id.values() if s.scenario.key == "puva-96912" and s.payer.key == "BL")
    res = adjudicate(spec, Adjudication("puva-96912", "BL"))
    style = Style(newline="\n")
    out = io.BytesIO()
    w = SegmentWriter(out, style)
    payer = PAYERS["BL"]
    practice = spec.practice
    when = date(2026, 11, 21)
    segs, paid = clp_segments(spec, res, "1", "BL2699999999", when - timedelta(days=2), style.component)
    bad_paid = paid + Decimal(10)
    segs[0][4] = amt(bad_paid)
    w.write(isa(style, payer.payer_id, SUBMITTER[1], when, "0800", 279999))
    w.write(["GS", "HP", payer.payer_id, SUBMITTER[1], d8(when), "0800", "279999", "X", "005010X221A1"])
    w.st_count = 0
    w.write(["ST", "835", "0001"])
    w.write(["BPR", "I", amt(bad_paid), "C", "CHK", *([""] * 11), d8(when)])
    w.write(["TRN", "1", "26112199", payer.tin])
    w.write(["DTM", "405", d8(when)])
    w.write(["N1", "PR", payer.name])
    w.write(["N3", payer.address.street])
    w.write(["N4", payer.address.city, payer.address.state, payer.address.zip])
    w.write(["PER", "BL", "PROVIDER SERVICES", "TE", "8005550199"])
    w.write(["N1", "PE", practice.name, "XX", practice.npi])
    w.write(["N3", practice.address.street])
    w.write(["N4", practice.address.city, practice.address.state, practice.address.zip])
    w.write(["REF", "TJ", practice.ein])
    w.write(["LX", "1"])
    for seg in segs:
        w.write(seg)
    w.write(["SE", str(w.st_count + 1), "0001"])
    w.write(["GE", "1", "279999"])
    w.write(["IEA", "1", "000279999"])
    w.flush()
    return out.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--claims", type=int, help="big-file mode: number of claims to stream")
    ap.add_argument("--out", type=Path, help="big-file mode: output 837P path")
    ap.add_argument("--seed", type=int, default=SEED, help="big-file mode: random seed")
    ap.add_argument("--held-rate", type=float, default=0.03, help="big-file mode: share of held claims")
    ap.add_argument("--claims-per-st", type=int, default=5000, help="big-file mode: claims per transaction set")
    ap.add_argument("--dir", type=Path, default=HERE, help="sample directory (default: samples/)")
    ap.add_argument("--check", action="store_true", help="compare with the files on disk; exit 1 if different")
    args = ap.parse_args(argv)
    if args.claims is not None:
        if args.out is None:
            ap.error("--claims needs --out")
        n = write_big(args.out, args.claims, seed=args.seed, held_rate=args.held_rate,
                      claims_per_transaction=args.claims_per_st)
        print(f"wrote {n} claims to {args.out}", file=sys.stderr)
        return 0
    files = generate_all()
    differ = []
    for rel, data in sorted(files.items()):
        path = args.dir / rel
        if args.check:
            if not path.exists() or path.read_bytes() != data:
                differ.append(rel)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    if args.check:
        for rel in differ:
            print(f"differs: {rel}", file=sys.stderr)
        return 1 if differ else 0
    print(f"wrote {len(files)} files to {args.dir}", file=sys.stderr)
    return 0


EIN_PREFIXES = ("20", "27", "36", "46", "54", "61", "74", "83", "91")


def synthetic_practice(rng: random.Random, number: int) -> Practice:
    """A made-up billing provider for the big file (valid NPI/EIN forms, fake names)."""
    state = rng.choice(sorted(CITIES))
    city, zip3 = rng.choice(CITIES[state])
    renderers = tuple(
        Provider(rng.choice(LAST_NAMES), rng.choice(FIRST_NAMES[rng.choice("FM")]),
                 make_npi("1" + "".join(rng.choice("0123456789") for _ in range(8))), tax)
        for tax in (DERM, MOHS, DERM)
    )
    return Practice(
        f"B{number}", f"SYNTHETIC DERMATOLOGY GROUP {number:04d} PC",
        make_npi("1" + "".join(rng.choice("0123456789") for _ in range(8))),
        rng.choice(EIN_PREFIXES) + "".join(rng.choice("0123456789") for _ in range(7)),
        Address(f"{rng.randint(100, 9999)} {rng.choice(STREETS)}", city, state,
                zip3 + f"{rng.randint(0, 99):02d}{rng.randint(1, 9999):04d}"),
        renderers,
    )


def write_big(out: Path, n: int, *, seed: int = SEED, held_rate: float = 0.03,
              claims_per_transaction: int = 5000) -> int:
    """Stream an 837P of ``n`` synthetic derm claims to ``out``; returns the number written.

    Claims are drawn from the same scenarios as the samples (mostly clean, ``held_rate`` held),
    several hundred per billing provider, up to ``claims_per_transaction`` per ST/SE.  Nothing
    is kept in memory beyond the claim being written.
    """
    rng = random.Random(seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    file_date = date(2026, 11, 20)
    written = 0
    with out.open("wb") as fh:
        wr = Writer837(fh, Style(newline="\n"), file_date, "0200")
        wr.open_interchange(900001)
        wr.open_group(900001)
        practice = synthetic_practice(rng, 1)
        practice_left = rng.randint(300, 600)
        n_practice = 1
        in_tx = 0
        while written < n:
            if in_tx == 0:
                wr.open_transaction(f"BENCH{wr._st_number + 1:05d}")
            if practice_left == 0:
                n_practice += 1
                practice = synthetic_practice(rng, n_practice)
                practice_left = rng.randint(300, 600)
            scenario = rng.choice(HELD) if rng.random() < held_rate else rng.choice(CLEAN)
            payer = PAYERS[rng.choice(scenario.payers.split())]
            written += 1
            spec = build_claim(rng, f"BX{written:08d}", scenario, payer, practice, None, file_date)
            wr.claim(spec)
            practice_left -= 1
            in_tx += 1
            if in_tx == claims_per_transaction or written == n:
                wr.close_transaction()
                in_tx = 0
                wr._practice = None
        wr.close_group()
        wr.close_interchange()
    return written


if __name__ == "__main__":
    sys.exit(main())
