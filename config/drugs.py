"""Drug tables of the scrubber: derm drug table, CMS ASP NDC-HCPCS crosswalk, HCPCS Level II code set.

Loaded once per process (:func:`load_drug_tables` is cached, ~0.1 s); every lookup a rule makes
is a dict or set access.  Files in ``config/tables/`` (each names its source and dates in its
``#`` header lines):

* ``drugs_derm.yaml`` -- dermatology drug HCPCS codes: billing unit, route, single-dose container
  (JW/JZ), self-administered, MUE, labeled indications; codes known not to exist (J2682, J2600);
  not-otherwise-classified (NOC) codes.
* ``asp_ndc_hcpcs_crosswalk_2026q1.csv`` -- CMS January 2026 ASP NDC-HCPCS crosswalk (all 7,125
  rows: HCPCS, 11-digit NDC, drug name, billable units per package), effective 2026-01-01..03-31.
* ``asp_payment_limit_2026q1.csv`` -- CMS January 2026 Part B payment-limit file: the HCPCS codes
  of separately payable Part B drugs with their dosage and payment limit (letter codes only).
* ``hcpcs_level2_2026q3.csv`` -- the CMS HCPCS Level II code list of July 2026 (codes only).
* ``hcpcs_pfs2025_status.csv`` -- every code of the CMS PFS relative value file PPRRVU2025_Oct
  with its status indicator (codes and status only: no CPT descriptors).

The CSV files are derived from the CMS files by ``python -m config.drugs <cms dir>``
(:func:`derive_tables`); the YAML file is edited by hand.

NDC helpers: :func:`ndc11` converts a hyphenated 4-4-2 / 5-3-2 / 5-4-1 / 5-4-2 NDC (or an
11-digit string) to the 11-digit 5-4-2 form used in LIN03; a bare 10-digit string is ambiguous
and gives ``None``.
"""

from __future__ import annotations

import csv
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

TABLES_DIR = Path(__file__).parent / "tables"
DRUG_FILE = "drugs_derm.yaml"
CROSSWALK_FILE = "asp_ndc_hcpcs_crosswalk_2026q1.csv"
PAYMENT_FILE = "asp_payment_limit_2026q1.csv"
HCPCS_FILE = "hcpcs_level2_2026q3.csv"
PFS_FILE = "hcpcs_pfs2025_status.csv"

# Coverage of the code sets: the July 2026 HCPCS list is the newest we ship; a letter code missing
# from it with a date of service after the next quarterly update may be a newer code.
HCPCS_LIST_DATE = date(2026, 7, 1)
HCPCS_LIST_NEXT = date(2026, 10, 1)

Route = Literal["sc", "iv", "sc_iv", "im_il", "topical_pdt", "chemodenervation", "any"]
LevelIIStatus = Literal["current", "deleted", "unknown", "nonexistent", "unknown_new"]

_NDC_HYPHEN = re.compile(r"^(\d{4,5})-(\d{3,4})-(\d{1,2})$")
_LEVEL2 = re.compile(r"^[A-V]\d{4}$")
_CPT = re.compile(r"^\d{4}[0-9FTU]$")


class DrugTableError(Exception):
    """A shipped drug table is missing or invalid."""


def ndc11(value: str) -> str | None:
    """The 11-digit (5-4-2) NDC of ``value``, or None when it cannot be converted unambiguously.

    Accepts 11 digits (returned as is), hyphenated 5-4-2, and the 10-digit label forms 4-4-2
    (leading 0 on the labeler), 5-3-2 (0 before the product) and 5-4-1 (0 before the package).
    A bare 10-digit string is ambiguous (which segment to pad?) and gives None.
    """
    v = value.strip()
    if len(v) == 11 and v.isdigit():
        return v
    m = _NDC_HYPHEN.match(v)
    if m is None:
        return None
    lab, prod, pkg = m.groups()
    shape = (len(lab), len(prod), len(pkg))
    if shape == (5, 4, 2):
        return lab + prod + pkg
    if shape == (4, 4, 2):
        return "0" + lab + prod + pkg
    if shape == (5, 3, 2):
        return lab + "0" + prod + pkg
    if shape == (5, 4, 1):
        return lab + prod + "0" + pkg
    return None


def is_ndc11(value: str) -> bool:
    """True for 11 digits (the LIN03 form when LIN02 = N4)."""
    return len(value) == 11 and value.isdigit()


def format_ndc11(value: str) -> str:
    """11 digits -> 5-4-2 with hyphens (for messages)."""
    return f"{value[:5]}-{value[5:9]}-{value[9:]}" if is_ndc11(value) else value


def is_level2_form(code: str) -> bool:
    """A HCPCS Level II code shape: a letter A-V and four digits."""
    return _LEVEL2.match(code) is not None


def is_cpt_form(code: str) -> bool:
    """A CPT code shape: five digits, or four digits and F (category II), T (III) or U (PLA)."""
    return _CPT.match(code) is not None


@dataclass(frozen=True, slots=True)
class DrugInfo:
    """One drug HCPCS code of the dermatology drug table."""

    hcpcs: str
    name: str
    billing_unit: str
    route: Route
    single_dose: bool | None
    self_administered: bool = False
    mue: int | None = None
    mai: int | None = None
    noc: bool = False
    antineoplastic: bool = False
    biologic: bool = False
    indications: tuple[str, ...] = ()
    indication_severity: Literal["error", "warning"] = "warning"
    note: str = ""
    sources: tuple[str, ...] = ()

    def indicated_for(self, icd: str) -> bool:
        """True when a dotted ICD-10-CM code falls under one of the labeled indications."""
        return icd.startswith(self.indications)


@dataclass(frozen=True, slots=True)
class NdcPackage:
    """One crosswalk row: an NDC package billed under a HCPCS code."""

    hcpcs: str
    ndc11: str
    drug_name: str
    bill_units: Decimal            # billable units per item (BILLUNITS)
    bill_units_pkg: Decimal        # billable units per package (BILLUNITSPKG)


@dataclass(frozen=True)
class DrugTables:
    """All drug tables with O(1) lookups (build with :func:`load_drug_tables`)."""

    drugs: Mapping[str, DrugInfo]
    crosswalk: Mapping[str, Mapping[str, NdcPackage]]      # HCPCS -> NDC11 -> package
    ndc_index: Mapping[str, frozenset[str]]                # NDC11 -> HCPCS codes
    payment_limits: Mapping[str, tuple[str, Decimal | None]]   # HCPCS -> (dosage, payment limit)
    hcpcs_current: frozenset[str]                          # HCPCS Level II, July 2026
    pfs2025: Mapping[str, str]                             # code -> PFS status indicator (2025)
    nonexistent: Mapping[str, str]                         # code -> why (J2682, J2600)
    noc_codes: frozenset[str]
    sources: Mapping[str, str] = field(default_factory=dict)

    # ---- drug codes -------------------------------------------------------------------------------
    def drug(self, code: str) -> DrugInfo | None:
        return self.drugs.get(code)

    def is_drug_code(self, code: str) -> bool:
        """A drug HCPCS: any J code, a code of the drug table, or a letter code with NDCs in the ASP
        crosswalk (Q biosimilars, C/A drug codes; CPT vaccine codes are not counted)."""
        if not code:
            return False
        if code[0] == "J" or code in self.drugs:
            return True
        return code[0].isalpha() and code in self.crosswalk

    def is_noc(self, code: str) -> bool:
        return code in self.noc_codes

    def separately_payable(self, code: str) -> bool:
        """Listed in the January 2026 Part B payment-limit file."""
        return code in self.payment_limits

    # ---- NDC crosswalk ----------------------------------------------------------------------------
    def ndcs_for(self, hcpcs: str) -> Mapping[str, NdcPackage]:
        return self.crosswalk.get(hcpcs, {})

    def hcpcs_for_ndc(self, ndc: str) -> frozenset[str]:
        return self.ndc_index.get(ndc, frozenset())

    def package(self, hcpcs: str, ndc: str) -> NdcPackage | None:
        return self.crosswalk.get(hcpcs, {}).get(ndc)

    def ndc_matches(self, hcpcs: str, ndc: str) -> bool | None:
        """True/False when the crosswalk lists NDCs for ``hcpcs``; None when it lists none."""
        pkgs = self.crosswalk.get(hcpcs)
        if not pkgs:
            return None
        return ndc in pkgs

    # ---- HCPCS Level II existence -------------------------------------------------------------------
    def level2_status(self, code: str, dos: date | None) -> LevelIIStatus:
        """Whether a HCPCS Level II code existed at ``dos``.

        ``nonexistent``: a code known never to have existed (J2682, J2600).  ``current``: in the
        July 2026 list.  ``deleted``: known from PFS 2025 / ASP January 2026 but no longer in the July
        2026 list, and the date of service is on or after 2026-07-01.  ``unknown``: in none of our
        lists.  ``unknown_new``: in none of them but the date of service is after the list's coverage
        (could be a code added in a later quarter).
        """
        if code in self.nonexistent:
            return "nonexistent"
        if code in self.hcpcs_current:
            return "current"
        known_before = code in self.pfs2025 or code in self.crosswalk or code in self.payment_limits
        if known_before:
            return "deleted" if dos is not None and dos >= HCPCS_LIST_DATE else "current"
        if dos is not None and dos >= HCPCS_LIST_NEXT:
            return "unknown_new"
        return "unknown"

    def in_pfs2025(self, code: str) -> bool:
        return code in self.pfs2025


# ---------------------------------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------------------------------
def _rows(path: Path, *columns: str) -> Iterator[list[str]]:
    """Rows of a shipped CSV (``#`` lines skipped), checked against the expected header."""
    if not path.exists():
        raise DrugTableError(f"drug table {path} is missing")
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(line for line in fh if not line.startswith("#"))
        header = next(reader, None)
        if header is None or tuple(header[:len(columns)]) != columns:
            raise DrugTableError(f"{path}: header {header} is not {list(columns)}")
        for row in reader:
            if len(row) < len(columns):
                raise DrugTableError(f"{path}: short row {row}")
            yield row


def _header(path: Path) -> str:
    with path.open(encoding="utf-8") as fh:
        return " ".join(line[1:].strip() for line in fh if line.startswith("#"))


def _dec(value: str, where: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation:
        raise DrugTableError(f"{where}: {value!r} is not a number") from None


def _drug(code: str, body: Mapping[str, Any]) -> DrugInfo:
    try:
        sev = body.get("indication_severity", "warning")
        if sev not in ("error", "warning"):
            raise ValueError("indication_severity must be error or warning")
        return DrugInfo(
            hcpcs=code, name=str(body["name"]), billing_unit=str(body["billing_unit"]), route=body["route"],
            single_dose=body.get("single_dose"), self_administered=bool(body.get("self_administered", False)),
            mue=body.get("mue"), mai=body.get("mai"), noc=bool(body.get("noc", False)),
            antineoplastic=bool(body.get("antineoplastic", False)), biologic=bool(body.get("biologic", False)),
            indications=tuple(str(x) for x in body.get("indications") or ()),
            indication_severity=sev, note=str(body.get("note", "")),
            sources=tuple(str(x) for x in body.get("sources") or ()))
    except (KeyError, TypeError, ValueError) as exc:
        raise DrugTableError(f"{DRUG_FILE}: drug {code}: {exc}") from None


def _build(directory: Path) -> DrugTables:
    dpath = directory / DRUG_FILE
    if not dpath.exists():
        raise DrugTableError(f"drug table {dpath} is missing")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    data = yaml.load(dpath.read_text(encoding="utf-8"), Loader=loader) or {}  # noqa: S506 (safe loader)
    drugs = {str(k): _drug(str(k), v) for k, v in (data.get("drugs") or {}).items()}
    nonexistent = {str(k): str(v) for k, v in (data.get("nonexistent") or {}).items()}
    noc = frozenset(str(c) for c in data.get("noc_codes") or ()) | {c for c, d in drugs.items() if d.noc}

    xw: dict[str, dict[str, NdcPackage]] = {}
    idx: dict[str, set[str]] = {}
    xpath = directory / CROSSWALK_FILE
    # One shared object per distinct HCPCS code, drug name, unit count and HCPCS set (7,000+ rows).
    strs: dict[str, str] = {}
    decs: dict[str, Decimal] = {}
    for h, n, name, units, units_pkg in _rows(xpath, "hcpcs", "ndc11", "drug_name", "bill_units", "bill_units_pkg"):
        if not is_ndc11(n):
            raise DrugTableError(f"{xpath}: NDC {n!r} of {h} is not 11 digits")
        h = strs.setdefault(h, h)
        u = decs.get(units)
        if u is None:
            u = decs[units] = _dec(units, str(xpath))
        upkg = decs.get(units_pkg)
        if upkg is None:
            upkg = decs[units_pkg] = _dec(units_pkg, str(xpath))
        xw.setdefault(h, {})[n] = NdcPackage(h, n, strs.setdefault(name, name), u, upkg)
        idx.setdefault(n, set()).add(h)
    sets: dict[frozenset[str], frozenset[str]] = {}
    ndc_index = {k: sets.setdefault(fs, fs) for k, v in idx.items() for fs in (frozenset(v),)}
    ppath = directory / PAYMENT_FILE
    pay = {r[0]: (r[1], _dec(r[2], str(ppath)) if r[2] else None)
           for r in _rows(ppath, "hcpcs", "dosage", "payment_limit")}
    hpath = directory / HCPCS_FILE
    current = frozenset(r[0] for r in _rows(hpath, "code"))
    fpath = directory / PFS_FILE
    pfs = {r[0]: r[1] for r in _rows(fpath, "code", "status")}
    if not current or not xw:
        raise DrugTableError(f"drug tables in {directory} are empty")
    return DrugTables(
        drugs=drugs, crosswalk=xw, ndc_index=ndc_index, payment_limits=pay,
        hcpcs_current=current, pfs2025=pfs, nonexistent=nonexistent, noc_codes=noc,
        sources={"drugs": DRUG_FILE, "crosswalk": _header(xpath), "payment_limits": _header(ppath),
                 "hcpcs": _header(hpath), "pfs2025": _header(fpath)})


@cache
def load_drug_tables(directory: str | None = None) -> DrugTables:
    """The shipped drug tables (or those in ``directory``); cached per process, and the shipped ones
    also across runs (``config/cache.py``)."""
    if directory:
        return _build(Path(directory))
    from config.cache import cached

    return cached("drug-tables", [*TABLES_DIR.iterdir(), Path(__file__)], DrugTables, lambda: _build(TABLES_DIR))


# ---------------------------------------------------------------------------------------------------
# derivation from the CMS files (run once; outputs are committed)
# ---------------------------------------------------------------------------------------------------
def _cms_rows(path: Path, first: str) -> Iterator[list[str]]:
    with path.open(newline="", encoding="latin-1") as fh:
        started = False
        for row in csv.reader(fh):
            if not started:
                started = bool(row) and row[0].strip() == first
                continue
            if row and row[0].strip():
                yield [c.strip() for c in row]


def derive_tables(cms_dir: str | Path, out_dir: str | Path = TABLES_DIR) -> dict[str, int]:
    """Write the CSV tables from the CMS files in ``cms_dir``; returns the row count per file."""
    import gzip

    cms, out = Path(cms_dir), Path(out_dir)
    counts: dict[str, int] = {}
    # ASP NDC-HCPCS crosswalk: HCPCS, NDC, drug name, billable units (no short descriptors).
    rows = []
    for r in _cms_rows(cms / "Jan2026_ASP_NDC_HCPCS_Crosswalk_121725.csv", "_2026_CODE"):
        code, ndc = r[0], ndc11(r[3])
        if ndc is None:
            continue                       # one malformed NDC in the CMS file (J7331, 12 digits)
        rows.append((code, ndc, " ".join(r[4].split()), r[8], r[9]))
    with (out / CROSSWALK_FILE).open("w", newline="", encoding="utf-8") as fh:
        fh.write("# Source: CMS January 2026 ASP NDC-HCPCS Crosswalk for Medicare Part B Drugs (file 121725),\n"
                 "#   effective 2026-01-01 through 2026-03-31 (https://www.cms.gov/medicare/payment/all-fee-service-"
                 "providers/medicare-part-b-drug-average-sales-price/asp-pricing-files).\n"
                 "#   Columns: HCPCS, NDC (11-digit 5-4-2, from NDC2), drug name, BILLUNITS, BILLUNITSPKG.\n"
                 "#   CMS short descriptors dropped; one row with a malformed 12-digit NDC (J7331) dropped.\n")
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["hcpcs", "ndc11", "drug_name", "bill_units", "bill_units_pkg"])
        w.writerows(sorted(set(rows)))
    counts[CROSSWALK_FILE] = len(set(rows))
    # Part B payment limits: letter codes only (CPT rows carry AMA short descriptors; we keep none).
    pay = []
    for r in _cms_rows(cms / "Jan2026_PartB_Payment_Limit_121725.csv", "HCPCS Code"):
        if r[0][:1].isalpha():
            limit = r[3] if re.fullmatch(r"\d+(\.\d+)?", r[3]) else ""
            pay.append((r[0], r[2], limit))
    with (out / PAYMENT_FILE).open("w", newline="", encoding="utf-8") as fh:
        fh.write("# Source: CMS January 2026 Medicare Part B Drug Payment Limit File (121725), effective\n"
                 "#   2026-01-01 through 2026-03-31 (ASP pricing files page, cms.gov). HCPCS Level II codes only;\n"
                 "#   columns: code, HCPCS code dosage, payment limit (USD; empty where CMS gives N/A).\n"
                 "#   Presence = separately payable Part B drug.\n")
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["hcpcs", "dosage", "payment_limit"])
        w.writerows(sorted(set(pay)))
    counts[PAYMENT_FILE] = len(set(pay))
    # HCPCS Level II code list, July 2026.
    with gzip.open(cms / "hcpcs_level2_2026q3.txt.gz", "rt", encoding="latin-1") as fh:
        codes = sorted({line.strip() for line in fh if line.strip()})
    with (out / HCPCS_FILE).open("w", encoding="utf-8") as fh:
        fh.write("# Source: CMS HCPCS Level II code list, July 2026 quarterly update (codes only), as vendored in\n"
                 "#   github:arahman41/care-ops data/vocab/hcpcs_level2_2026q3.txt.gz\n"
                 "#   (decompressed sha256 d841e172...e9e2).\n"
                 "#   A code absent here did not exist on 2026-07-01 (e.g. J2682, J2600).\n")
        fh.write("code\n" + "\n".join(codes) + "\n")
    counts[HCPCS_FILE] = len(codes)
    # PFS 2025 (October release): code and status only.
    status: dict[str, str] = {}
    for r in _cms_rows(cms / "PPRRVU2025_Oct.csv", "HCPCS"):
        if len(r) > 3 and len(r[0]) == 5:
            status.setdefault(r[0], r[3])
    with (out / PFS_FILE).open("w", newline="", encoding="utf-8") as fh:
        fh.write("# Source: CMS National Physician Fee Schedule Relative Value File PPRRVU2025_Oct (released\n"
                 "#   2025-09-11, effective 2025-10-01): every code with its status indicator. Codes and status only;\n"
                 "#   no CPT descriptors (CPT codes and descriptions are copyright AMA).\n")
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["code", "status"])
        w.writerows(sorted(status.items()))
    counts[PFS_FILE] = len(status)
    return counts


if __name__ == "__main__":  # pragma: no cover - maintenance entry point
    src = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/domain/cms"
    for name, n in derive_tables(src).items():
        print(f"{name}: {n} rows")
