"""Dermatology code tables shipped in ``config/tables/`` (sources in ``config/tables/SOURCES.md``).

Loaded once per process (:func:`load_code_tables` is cached) and validated with pydantic; every
lookup a rule makes is a dict or set access.  Tables:

* ``derm_codes.csv``   CPT/HCPCS dermatology codes: family, site group A/B/C, size tier, add-on and
  allowed primaries, global days, MUE + MAI, effective_from / effective_to.
* ``ncci_ptp_derm_2024-07-01.csv``  NCCI procedure-to-procedure pairs (practitioner, derm subset).
* ``mue_derm_2024-07-01.csv``       NCCI medically unlikely edits (practitioner).
* ``ncci_aoc_derm_2024-06.csv``     NCCI add-on code edits (allowed primaries).
* ``icd10cm_derm_site_map.csv``     ICD-10-CM -> site axis, CPT site group, Mohs code, dx family.
* ``pfs_global_days_2025.csv``      global days (000/010/090) of every CMS PFS code, no descriptors.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import date
from functools import cache, cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

TABLES_DIR = Path(__file__).parent / "tables"

Family = Literal[
    "biopsy", "skin_tag", "shave", "excision_benign", "excision_malignant", "repair_simple", "repair_other",
    "repair_intermediate", "repair_complex", "att", "graft", "destruction_premalignant", "destruction_benign",
    "destruction_malignant", "mohs", "pathology", "phototherapy", "pdt", "drug_admin", "intralesional", "em",
    "em_addon",
]
SiteGroup = Literal["A", "B", "C", "LIMB"]
DxFamily = Literal["malignant", "benign", "premalignant", "uncertain", "unspecified", "skin_tag", "vascular"]
MohsSite = Literal["17311", "17313", "LIMB", "TRUNK"]


class TableError(Exception):
    """A shipped or imported code table is missing or invalid."""


def _opt_date(v: object) -> object:
    return None if v in ("", None) else v


class CodeInfo(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=r"^[0-9A-Z]{5}$")
    family: Family
    paraphrase: str
    site_group: Literal["A", "B", "C"] | None = None
    size_tier: str = ""
    add_on: bool = False
    primaries: frozenset[str] = frozenset()
    global_days: Literal["000", "010", "090", "XXX", "ZZZ"] | None = None
    mue: int | None = None
    mai: int | None = Field(default=None, ge=1, le=3)
    effective_from: date | None = None
    effective_to: date | None = None

    _blank_none = field_validator("site_group", "global_days", "mue", "mai", "effective_from", "effective_to",
                                  mode="before")(lambda v: _opt_date(v))

    @field_validator("primaries", mode="before")
    @classmethod
    def _split(cls, v: object) -> object:
        return frozenset(str(v).split()) if isinstance(v, str) else v

    @field_validator("add_on", mode="before")
    @classmethod
    def _yes(cls, v: object) -> object:
        return v == "yes" if isinstance(v, str) else v

    def active_on(self, dos: date | None) -> bool:
        if dos is None:
            return True
        if self.effective_from is not None and dos < self.effective_from:
            return False
        return not (self.effective_to is not None and dos > self.effective_to)


class PTPEdit(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    column1: str
    column2: str
    modifier_indicator: int
    effective_from: date | None = None
    effective_to: date | None = None
    rationale: str = ""

    _blank_none = field_validator("effective_from", "effective_to", mode="before")(lambda v: _opt_date(v))

    @field_validator("modifier_indicator")
    @classmethod
    def _indicator(cls, v: int) -> int:
        if v not in (0, 1, 9):
            raise ValueError("modifier indicator must be 0, 1 or 9")
        return v

    def active_on(self, dos: date | None) -> bool:
        if dos is None:
            return True
        if self.effective_from is not None and dos < self.effective_from:
            return False
        return not (self.effective_to is not None and dos > self.effective_to)


class MUE(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    mue_units: int = Field(ge=0)
    mai: int = Field(ge=1, le=3)
    rationale: str = ""


class AddOnEdit(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    add_on_code: str
    aoc_edit_type: Literal["1", "2", "3"]
    primary_codes: frozenset[str]

    @field_validator("primary_codes", mode="before")
    @classmethod
    def _split(cls, v: object) -> object:
        return frozenset(str(v).split()) if isinstance(v, str) else v


class SiteInfo(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    icd10cm: str
    dx_family: DxFamily | None = None
    site_axis: str = ""
    site_group: SiteGroup | None = None
    mohs: MohsSite | None = None

    _blank_none = field_validator("dx_family", "site_group", "mohs", mode="before")(lambda v: _opt_date(v))


# ICD-10-CM families outside the site map, by category (3 characters) -------------------------------
_SITE_FAMILIES = ("C43", "C44", "C4A", "D03", "D04", "D22", "D23")
_SITE_BY_4TH: dict[str, tuple[SiteGroup | None, MohsSite | None]] = {
    "0": ("C", "17311"), "1": ("C", "17311"), "2": ("C", "17311"), "3": ("C", "17311"), "4": ("B", "17311"),
    "5": ("A", "TRUNK"), "6": ("LIMB", "LIMB"), "7": ("LIMB", "LIMB"), "8": (None, None), "9": (None, None),
}
# Genital skin is coded outside C43/C44 (C51 vulva, C60 penis, C63.2 scrotum; in situ D07.1/D07.4/D07.61):
# CPT site group B and Mohs 17311 (CPT lesion groups; AAPC Mohs).
_GENITAL = ("C51", "C60", "C63.2", "D07.1", "D07.4", "D07.61")


class CodeTables(BaseModel):
    """All dermatology code tables with O(1) lookups."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    codes: dict[str, CodeInfo]
    ptp: dict[tuple[str, str], PTPEdit]
    mue: dict[str, MUE]
    aoc: dict[str, AddOnEdit]
    icd_sites: dict[str, SiteInfo]
    pfs_global: dict[str, str] = Field(default_factory=dict)   # code -> 000/010/090 (all PFS codes)
    ptp_codes: frozenset[str] = frozenset()
    sources: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> CodeTables:
        for code, info in self.codes.items():
            if info.add_on and code not in self.aoc and not info.primaries:
                raise ValueError(f"add-on code {code} has no allowed primaries")
        return self

    # ---- CPT/HCPCS -------------------------------------------------------------------------------
    @cached_property
    def addon_codes(self) -> frozenset[str]:
        """Every add-on code (AOC table plus codes flagged add-on)."""
        return frozenset(self.aoc) | frozenset(c for c, i in self.codes.items() if i.add_on)

    def code(self, code: str) -> CodeInfo | None:
        return self.codes.get(code)

    def family(self, code: str) -> str | None:
        info = self.codes.get(code)
        return info.family if info is not None else None

    def global_days(self, code: str) -> str | None:
        """Global period of a code: the dermatology table, else the CMS PFS (000/010/090 codes)."""
        info = self.codes.get(code)
        if info is not None:
            return info.global_days
        return self.pfs_global.get(code)

    def primaries(self, add_on: str) -> frozenset[str] | None:
        """Allowed primaries of an add-on code (None when the code is not an add-on)."""
        edit = self.aoc.get(add_on)
        if edit is not None:
            return edit.primary_codes
        info = self.codes.get(add_on)
        if info is not None and info.add_on:
            return info.primaries
        return None

    def ptp_edit(self, column1: str, column2: str, dos: date | None = None) -> PTPEdit | None:
        edit = self.ptp.get((column1, column2))
        if edit is None or not edit.active_on(dos):
            return None
        return edit

    # ---- ICD-10-CM ------------------------------------------------------------------------------
    @cached_property
    def _dx_memo(self) -> dict[str, tuple[DxFamily | None, tuple[SiteGroup | None, MohsSite | None]]]:
        return {}

    def _dx(self, icd: str) -> tuple[DxFamily | None, tuple[SiteGroup | None, MohsSite | None]]:
        memo = self._dx_memo
        hit = memo.get(icd)
        if hit is None:
            hit = (_dx_family(self, icd), _dx_site(self, icd))
            if len(memo) < 100_000:
                memo[icd] = hit
        return hit

    def dx_family(self, icd: str) -> DxFamily | None:
        return self._dx(icd)[0]

    def dx_site(self, icd: str) -> tuple[SiteGroup | None, MohsSite | None]:
        """(CPT site group, Mohs site) of a dotted ICD-10-CM code; (None, None) = undetermined."""
        return self._dx(icd)[1]


def _dx_family(tables: CodeTables, icd: str) -> DxFamily | None:
    info = tables.icd_sites.get(icd)
    if info is not None and info.dx_family is not None:
        return info.dx_family
    cat = icd[:3]
    if icd.startswith("D18.0"):
        return "vascular"               # hemangioma: cutaneous vascular proliferative lesion (17106-17108)
    if cat[:1] == "C":
        return "malignant"
    if cat[:1] == "D" and cat[1:3].isdigit():
        n = int(cat[1:3])
        if n <= 9:
            return "malignant"          # in situ neoplasms are treated as malignant (AAD: Bowen's -> 172xx)
        if n <= 36:
            return "benign"
        if n <= 48:
            return "uncertain"
        if n == 49:
            return "unspecified"
        return None
    if icd.startswith("L57.0"):
        return "premalignant"
    if icd.startswith("L91.8"):
        return "skin_tag"
    if cat in ("L82", "B07", "L72") or icd.startswith("B08.1"):
        return "benign"
    return None


def _dx_site(tables: CodeTables, icd: str) -> tuple[SiteGroup | None, MohsSite | None]:
    info = tables.icd_sites.get(icd)
    if info is not None:
        return info.site_group, info.mohs
    if icd.startswith(_GENITAL):
        return "B", "17311"
    if icd[:3] in _SITE_FAMILIES and len(icd) >= 5 and icd[3] == ".":
        if (icd[:3] in ("C43", "C4A", "D03") and icd[4:6] == "51") or (icd[:5] == "C44.5" and icd[6:7] == "0"):
            return None, None           # anal skin: CPT site group not stated (UNCONFIRMED) -> undetermined
        group, mohs = _SITE_BY_4TH.get(icd[4], (None, None))
        if icd[:3] in ("D22", "D23"):
            mohs = None
        return group, mohs
    return None, None


def _read_csv(path: Path) -> Iterator[dict[str, str]]:
    if not path.exists():
        raise TableError(f"code table {path} is missing")
    with path.open(newline="", encoding="utf-8") as fh:
        yield from csv.DictReader(line for line in fh if not line.startswith("#"))


def _header(path: Path) -> str:
    with path.open(encoding="utf-8") as fh:
        return " ".join(line[1:].strip() for line in fh if line.startswith("#"))


_PTP_DATES = ("effective_from", "effective_to")


def _pooled(pool: dict[object, object], key: str | None, value: object) -> object:
    """A PTP cell as handed to validation, one shared object per distinct value (ISO dates as ``date``)."""
    if not isinstance(value, str):
        return value            # missing or extra cells: left to validation, which reports them
    if key in _PTP_DATES:
        hit = pool.get((key, value))
        if hit is None:
            try:
                hit = date.fromisoformat(value) if len(value) == 10 else value
            except ValueError:
                hit = value     # left to validation, which reports it
            pool[(key, value)] = hit
        return hit
    return pool.setdefault(value, value)


def _build(directory: Path, extra_ptp: Iterable[PTPEdit] = (), extra_mue: Iterable[MUE] = ()) -> CodeTables:
    from pydantic import ValidationError

    files = {
        "codes": directory / "derm_codes.csv",
        "ptp": directory / "ncci_ptp_derm_2024-07-01.csv",
        "mue": directory / "mue_derm_2024-07-01.csv",
        "aoc": directory / "ncci_aoc_derm_2024-06.csv",
        "icd": directory / "icd10cm_derm_site_map.csv",
        "pfs": directory / "pfs_global_days_2025.csv",
    }
    try:
        codes = {r["code"]: CodeInfo.model_validate(r) for r in _read_csv(files["codes"])}
        ptp: dict[tuple[str, str], PTPEdit] = {}
        pool: dict[object, object] = {}     # one object per distinct code/date/rationale (7,000+ rows)
        for r in _read_csv(files["ptp"]):
            e = PTPEdit.model_validate({k: _pooled(pool, k, v) for k, v in r.items()})
            ptp[(e.column1, e.column2)] = e
        for e in extra_ptp:
            ptp[(e.column1, e.column2)] = e
        mue = {r["code"]: MUE.model_validate(r) for r in _read_csv(files["mue"])}
        for m in extra_mue:
            mue[m.code] = m
        aoc = {r["add_on_code"]: AddOnEdit.model_validate(r) for r in _read_csv(files["aoc"])
               if r["aoc_edit_type"] in ("1", "2", "3")}
        icd = {r["icd10cm"]: SiteInfo.model_validate(r) for r in _read_csv(files["icd"])}
        pfs: dict[str, str] = {}
        for r in _read_csv(files["pfs"]):
            if r["global_days"] not in ("000", "010", "090"):
                raise TableError(f"{files['pfs']}: {r['code']}: global days {r['global_days']!r} not 000/010/090")
            pfs[r["code"]] = r["global_days"]
    except ValidationError as exc:
        raise TableError(f"invalid code table in {directory}: {exc.errors()[0]}") from None
    ptp_codes = frozenset(c for pair in ptp for c in pair)
    return CodeTables(codes=codes, ptp=ptp, mue=mue, aoc=aoc, icd_sites=icd, pfs_global=pfs, ptp_codes=ptp_codes,
                      sources={k: _header(p) for k, p in files.items()})


@cache
def load_code_tables(directory: str | None = None) -> CodeTables:
    """The shipped tables (or those in ``directory``), validated; cached per process, and the shipped
    ones also across runs (``config/cache.py``)."""
    if directory:
        return _build(Path(directory))
    from config.cache import cached

    return cached("code-tables", [*TABLES_DIR.iterdir(), Path(__file__)], CodeTables, lambda: _build(TABLES_DIR))


def build_code_tables(directory: str | Path | None = None, *, extra_ptp: Iterable[PTPEdit] = (),
                      extra_mue: Iterable[MUE] = ()) -> CodeTables:
    """Uncached: the shipped tables plus extra PTP/MUE rows (e.g. a full CMS quarter from the database)."""
    return _build(Path(directory) if directory else TABLES_DIR, extra_ptp, extra_mue)
