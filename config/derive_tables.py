# ruff: noqa: E501
"""Derive the shipped dermatology code tables in ``config/tables/`` from the research drafts.

Run once (``python -m config.derive_tables /work/shared/domain/data``); the outputs are committed.
Each output file starts with ``#`` comment lines naming its source and effective dates, which
:mod:`config.tables` skips.  CMS/AMA short descriptors are NOT copied: only our own paraphrases.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

OUT = Path(__file__).parent / "tables"

FAMILY = {
    "biopsy": "biopsy", "biopsy-deleted": "biopsy", "skin tag removal": "skin_tag", "shave removal": "shave",
    "excision benign": "excision_benign", "excision malignant": "excision_malignant",
    "repair simple": "repair_simple", "repair other": "repair_other", "repair intermediate": "repair_intermediate",
    "repair complex": "repair_complex", "adjacent tissue transfer": "att", "graft": "graft",
    "destruction premalignant": "destruction_premalignant", "destruction benign": "destruction_benign",
    "destruction malignant": "destruction_malignant", "mohs": "mohs", "pathology": "pathology",
    "phototherapy": "phototherapy", "pdt": "pdt", "drug admin": "drug_admin", "intralesional": "intralesional",
    "E/M office": "em", "E/M-deleted": "em", "E/M add-on": "em_addon",
}
# Code lifetimes we know of (everything else: in force throughout the tables' range).
EFFECTIVE_FROM = {**{c: "2019-01-01" for c in ("11102", "11103", "11104", "11105", "11106", "11107")},
                  "96573": "2018-01-01", "96574": "2018-01-01", "G2211": "2024-01-01", "88341": "2015-01-01"}
EFFECTIVE_TO = {"11100": "2018-12-31", "11101": "2018-12-31", "99201": "2020-12-31"}
HEADER_SRC = ("# Source: CMS PFS relative value file PPRRVU2025_Oct (status, global days; checked against 2026 Jul),\n"
              "#   CMS NCCI practitioner MUE 2024-07-01 (mue, mai), CMS NCCI add-on code file 2024-06 (primaries),\n"
              "#   deletions: AAD DCC 2018 (11100/11101 deleted 2019-01-01), Palmetto GBA (99201 deleted 2021-01-01).\n"
              "#   Paraphrases are our own (no AMA CPT descriptors). Derived from /work/shared/domain/data/codes.csv.\n")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


def derive(src: Path) -> None:
    OUT.mkdir(exist_ok=True)
    codes = _rows(src / "codes.csv")
    with (OUT / "derm_codes.csv").open("w", newline="") as fh:
        fh.write(HEADER_SRC)
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["code", "family", "paraphrase", "site_group", "size_tier", "add_on", "primaries",
                    "global_days", "mue", "mai", "effective_from", "effective_to"])
        for r in codes:
            fam = FAMILY[r["family"]]
            sg = r["site_group"][:1] if fam in ("shave", "excision_benign", "excision_malignant",
                                                 "destruction_malignant") else ""
            glob = r["global_days_pfs_2025oct"] if r["global_days_pfs_2025oct"][:1] in "0XZ" else ""
            add_on = "yes" if r["add_on"] == "yes" else "no"
            prim = r["allowed_primaries_ncci_aoc_2024"]
            if r["code"] == "G2211":
                prim = "99202 99203 99204 99205 99211 99212 99213 99214 99215"
            w.writerow([r["code"], fam, r["paraphrase"], sg, r["size_tier"], add_on, prim, glob,
                        r["mue_units_2024q3"], r["mai"], EFFECTIVE_FROM.get(r["code"], ""),
                        EFFECTIVE_TO.get(r["code"], "")])
    eff_from = {r["code"]: EFFECTIVE_FROM.get(r["code"], "") for r in codes}
    with (OUT / "ncci_ptp_derm_2024-07-01.csv").open("w", newline="") as fh:
        fh.write("# Source: CMS NCCI procedure-to-procedure edits, practitioner services, file effective 2024-07-01\n"
                 "#   (dermatology subset). Indicator 0 = no modifier bypasses, 1 = NCCI-associated modifier may, 9 = n/a.\n"
                 "#   effective_from = the later start of the two codes where known; effective_to empty = in force.\n")
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["column1", "column2", "modifier_indicator", "effective_from", "effective_to", "rationale"])
        for r in _rows(src / "ncci_ptp_practitioner_derm_subset_2024-07-01.csv"):
            ef = max(eff_from.get(r["column1"], ""), eff_from.get(r["column2"], ""))
            w.writerow([r["column1"], r["column2"], r["modifier_indicator"], ef, "", r["rationale"]])
    with (OUT / "mue_derm_2024-07-01.csv").open("w", newline="") as fh:
        fh.write("# Source: CMS NCCI medically unlikely edits, practitioner services, effective 2024-07-01.\n"
                 "#   MAI 1 = per claim line, 2 = per date of service (policy, absolute), 3 = per date (clinical).\n")
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["code", "mue_units", "mai", "rationale"])
        for r in _rows(src / "mue_practitioner_derm_2024-07-01.csv"):
            w.writerow([r["code"], r["mue_units"], r["mai"], r["rationale"]])
    with (OUT / "ncci_aoc_derm_2024-06.csv").open("w", newline="") as fh:
        fh.write("# Source: CMS NCCI add-on code edits (2024-06-03 file), dermatology subset; edit type 1 = only the\n"
                 "#   listed primaries. G2211: not in the AOC file; primaries = office E/M (CMS PFS 2024 final rule).\n")
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["add_on_code", "aoc_edit_type", "primary_codes"])
        for r in _rows(src / "ncci_aoc_derm_2024-06.csv"):
            if r["add_on_code"] == "G2211":
                r = {**r, "aoc_edit_type": "1", "primary_codes": "99202 99203 99204 99205 99211 99212 99213 99214 99215"}
            w.writerow([r["add_on_code"], r["aoc_edit_type"], r["primary_codes"]])
    with (OUT / "icd10cm_derm_site_map.csv").open("w", newline="") as fh:
        fh.write("# Source: CMS ICD-10-CM FY2026 (April 2026 update) tabular structure, mapped to CPT site groups per\n"
                 "#   CPT lesion code groups (AAD/AAPC); 4th character = site for C43/C44/C4A/D03/D04/D22/D23.\n"
                 "#   site_group: A, B, C, LIMB (A unless hand/foot = B), or empty = undetermined (documented site).\n"
                 "#   mohs: 17311, 17313, LIMB (17313 unless hand/foot), TRUNK (17313 unless deep structures), empty.\n")
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["icd10cm", "dx_family", "site_axis", "site_group", "mohs"])
        for r in _rows(src / "icd10cm_derm_site_map.csv"):
            fam = r["family"]
            dxf = ("malignant" if fam in ("C43", "C44", "C4A", "D03", "D04") else
                   "benign" if fam in ("D22", "D23", "L82", "B07") else
                   "uncertain" if fam == "D48.5" else "unspecified" if fam == "D49.2" else
                   "premalignant" if fam == "L57.0" else "")
            g = r["cpt_site_group"]
            sg = "LIMB" if "EXCEPT hand/foot" in g else ("" if g.startswith(("UNDET", "n/a")) or "anal" in g
                                                         else g[:1] if g[:2] in ("A ", "B ", "C ") else "")
            m = r["mohs_code_if_malignant"]
            mohs = ("LIMB" if "if hand/foot" in m else "TRUNK" if m.startswith("17313") and sg == "A" else
                    "" if "anal" in g else m if m in ("17311", "17313") else "")
            w.writerow([r["icd10cm_code"], dxf, r["icd_site_axis"], sg, mohs])


def derive_pfs_globals(pfs_csv: Path) -> None:
    """Global days of every PFS code (no descriptors) from the CMS PPRRVU file."""
    rows = list(csv.reader(pfs_csv.open(encoding="latin-1")))
    start = next(i for i, r in enumerate(rows) if r and r[0] == "HCPCS") + 1
    out: dict[str, tuple[str, str]] = {}
    for r in rows[start:]:
        if len(r) < 15 or not r[0] or r[1]:
            continue
        code, status, glob = r[0].strip(), r[3].strip(), r[14].strip()
        if glob in ("000", "010", "090") and status in ("A", "R", "T", "C"):
            out[code] = (status, glob)
    with (OUT / "pfs_global_days_2025.csv").open("w", newline="") as fh:
        fh.write("# Source: CMS National Physician Fee Schedule Relative Value File PPRRVU2025_Oct (released 2025-09-11),\n"
                 "#   columns HCPCS, STATUS CODE and GLOB DAYS only (no descriptors); codes with a 000/010/090-day global\n"
                 "#   and status A/R/T/C, global (no-modifier) rows.  Effective 2025-10-01.  Used for E/M-with-procedure checks\n"
                 "#   on codes outside derm_codes.csv.\n")
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["code", "status", "global_days"])
        for code in sorted(out):
            w.writerow([code, *out[code]])


if __name__ == "__main__":
    domain = Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/domain/data")
    derive(domain)
    derive_pfs_globals(domain.parent / "cms" / "PPRRVU2025_Oct.csv")
