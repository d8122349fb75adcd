"""Drug tables, NDC helpers, the ICD-10-CM set, and VAL/DRG checks on input a builder cannot make."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from config.drugs import (
    DrugTableError,
    format_ndc11,
    is_cpt_form,
    is_level2_form,
    is_ndc11,
    load_drug_tables,
    ndc11,
)
from config.icd10cm import load_icd10cm
from edi.build import build_837
from edi.x837 import Parser837
from scrubber.engine import Scrubber, ScrubFinding, get_rule


# ---- NDC helpers ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("label", "expected"), [
    ("0002-7597-01", "00002759701"),      # 4-4-2: leading zero on the labeler
    ("50242-040-62", "50242004062"),      # 5-3-2: zero before the product
    ("60575-4112-1", "60575411201"),      # 5-4-1: zero before the package
    ("71336-1000-01", "71336100001"),     # already 5-4-2
    ("00002759701", "00002759701"),       # 11 digits as is
    (" 0002-7597-01 ", "00002759701"),
])
def test_ndc11_converts_label_forms(label: str, expected: str) -> None:
    assert ndc11(label) == expected


@pytest.mark.parametrize("value", [
    "0002759701",          # bare 10 digits: ambiguous
    "000275970",           # too short
    "0002-75970-1",        # 4-5-1 is no NDC layout
    "00002-7597-011",
    "abcde-fghi-jk",
    "",
])
def test_ndc11_refuses_ambiguous_or_malformed(value: str) -> None:
    assert ndc11(value) is None


def test_ndc_shape_helpers() -> None:
    assert is_ndc11("71336100001") and not is_ndc11("7133610000") and not is_ndc11("71336-1000-01")
    assert format_ndc11("71336100001") == "71336-1000-01"
    assert is_level2_form("J0222") and not is_level2_form("j0222") and not is_level2_form("W1234")
    assert is_cpt_form("11102") and is_cpt_form("1100F") and is_cpt_form("0479T") and not is_cpt_form("1110")


# ---- drug tables ----------------------------------------------------------------------------------
def test_tables_load_and_cite_sources() -> None:
    t = load_drug_tables()
    assert load_drug_tables() is t                                     # cached per process
    assert "January 2026" in t.sources["crosswalk"] and "2026-03-31" in t.sources["crosswalk"]
    assert "July 2026" in t.sources["hcpcs"]
    assert "PPRRVU2025_Oct" in t.sources["pfs2025"]
    assert len(t.hcpcs_current) == 8725
    assert sum(len(v) for v in t.crosswalk.values()) == 7124
    for code in ("J0222", "J3357", "J3358", "J3247", "J2327", "J0135", "J7308", "J7345", "J7309", "J3590"):
        assert t.drug(code) is not None, code
        assert code in t.hcpcs_current, code


def test_drug_facts_from_the_domain() -> None:
    t = load_drug_tables()
    j0222 = t.drug("J0222")
    assert j0222 is not None and j0222.billing_unit == "0.1 mg" and j0222.mue == 300
    assert j0222.indicated_for("E85.1") and not j0222.indicated_for("L20.9")
    assert j0222.indication_severity == "error"
    j0135 = t.drug("J0135")
    assert j0135 is not None and j0135.self_administered and j0135.billing_unit == "20 mg"
    j3301 = t.drug("J3301")
    assert j3301 is not None and j3301.single_dose is None           # mixed single/multi-dose vials
    assert t.is_noc("J3590") and t.is_noc("J3490") and not t.is_noc("J3357")
    assert t.is_drug_code("J1234") and t.is_drug_code("Q5103") and not t.is_drug_code("96372")
    assert not t.is_drug_code("90371")                                 # CPT vaccine with NDCs: not a drug line here
    assert not t.separately_payable("J0135") and not t.separately_payable("J3357")


def test_crosswalk_lookups() -> None:
    t = load_drug_tables()
    pkg = t.package("J0222", "71336100001")
    assert pkg is not None and pkg.bill_units_pkg == Decimal(100) and pkg.drug_name == "Onpattro"
    assert t.ndc_matches("J0222", "71336100001") is True
    assert t.ndc_matches("J3301", "71336100001") is False
    assert t.ndc_matches("J3357", "57894006003") is None                # J3357 has no crosswalk rows
    assert t.hcpcs_for_ndc("71336100001") == frozenset({"J0222"})
    assert t.hcpcs_for_ndc("00000000000") == frozenset()
    kerastick = t.package("J7308", "67308010106")
    assert kerastick is not None and kerastick.bill_units_pkg == Decimal(6)
    assert t.package("J2327", "00074501501") is not None
    assert t.package("J3247", "00078116861") is not None


@pytest.mark.parametrize(("code", "dos", "status"), [
    ("J2682", date(2024, 9, 10), "nonexistent"),
    ("J2600", date(2030, 1, 1), "nonexistent"),
    ("J0222", date(2024, 9, 10), "current"),
    ("J9876", date(2024, 9, 10), "unknown"),
    ("J9876", date(2026, 11, 2), "unknown_new"),
])
def test_level2_status(code: str, dos: date, status: str) -> None:
    assert load_drug_tables().level2_status(code, dos) == status


def test_level2_deleted_codes_depend_on_date() -> None:
    t = load_drug_tables()
    gone = sorted(c for c in t.pfs2025 if is_level2_form(c) and c not in t.hcpcs_current)
    assert gone, "PFS 2025 has letter codes missing from the July 2026 list"
    assert t.level2_status(gone[0], date(2025, 6, 1)) == "current"
    assert t.level2_status(gone[0], date(2026, 7, 1)) == "deleted"


def test_missing_table_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DrugTableError, match="missing"):
        load_drug_tables(str(tmp_path))


# ---- ICD-10-CM ------------------------------------------------------------------------------------
def test_icd10cm_fy2026_set() -> None:
    icd = load_icd10cm()
    assert len(icd.billable) == 74719                                  # CMS FY2026 April list
    for code in ("C44.311", "L57.0", "D22.5", "C43.59", "C44.1121", "C4A.9", "D03.59", "D04.39", "D23.5",
                 "D48.5", "L82.0", "L82.1", "B07.0", "B07.8", "B07.9", "L570", "E85.1"):
        assert icd.status(code) == "billable", code
    for code in ("C44.9", "C44.31", "C449", "L40", "D22"):
        assert icd.status(code) == "header", code
    assert icd.status("L20.99") == "unknown_in_category"
    assert icd.status("U99.9") == "invalid"
    assert icd.status("XYZ") == "invalid"
    assert icd.children_hint("C44.31") == ["C44.310", "C44.311", "C44.319"]


# ---- rules on input the builder cannot produce ------------------------------------------------------
def _scrub(text: str, rule_id: str, today: date = date(2024, 10, 1)) -> list[ScrubFinding]:
    claim = next(Parser837(text.encode("latin-1"), "t.837").claims())
    return Scrubber(rules=[get_rule(rule_id)], today=today).scrub(claim).findings


def _text(**spec: Any) -> str:
    spec.setdefault("diagnoses", ["L40.0"])
    return build_837([spec])


def test_ndc_without_ctp_is_held() -> None:
    text = _text(payer="medicaid", lines=[{"code": "J3357", "units": 45, "ndc": "57894006003"},
                                          {"code": "96372"}])
    text = "".join(seg for seg in text.splitlines(keepends=True) if not seg.startswith("CTP*"))
    out = _scrub(text, "DRG003")
    assert [f.severity for f in out] == ["error"] and "without CTP" in out[0].message


def test_ctp_unit_outside_code_list_is_held() -> None:
    text = _text(payer="medicaid", lines=[{"code": "J3357", "units": 45, "ndc": "57894006003",
                                           "ctp": {"quantity": 1, "unit": "ML"}}, {"code": "96372"}])
    out = _scrub(text.replace("CTP****1*ML", "CTP****1*EA"), "DRG003")
    assert len(out) == 1 and "EA" in out[0].message


def test_line_without_pointer_and_bad_qualifier() -> None:
    text = _text(diagnoses=["L57.0"], lines=[{"code": "17000", "charge": 100}])
    no_ptr = text.replace("SV1*HC:17000*100.00*UN*1***1", "SV1*HC:17000*100.00*UN*1")
    assert "no diagnosis pointer" in _scrub(no_ptr, "VAL020")[0].message
    bad_q = text.replace("SV1*HC:17000", "SV1*ZZ:17000")
    assert any("qualifier" in f.message for f in _scrub(bad_q, "VAL004"))


def test_dotted_diagnosis_in_hi_is_held() -> None:
    text = _text(diagnoses=["L57.0"], lines=[{"code": "17000"}]).replace("ABK:L570", "ABK:L57.0")
    out = _scrub(text, "VAL010")
    assert len(out) == 1 and "decimal point" in out[0].message


def test_missing_billing_npi_and_tax_id() -> None:
    text = _text(lines=[{"code": "96372"}])
    no_npi = text.replace("*XX*1234567893", "")
    assert any("no NPI" in f.message for f in _scrub(no_npi, "VAL040"))
    no_tin = "".join(s for s in text.splitlines(keepends=True) if not s.startswith("REF*EI"))
    assert any("no tax id" in f.message for f in _scrub(no_tin, "VAL041"))


def test_referring_npi_is_checked() -> None:
    text = _text(lines=[{"code": "96372"}])
    ref = "NM1*DN*1*DOE*JOHN****XX*1234567890~\n"
    text = text.replace("NM1*82*", ref + "NM1*82*", 1)
    out = _scrub(text, "VAL040")
    assert any("referring" in f.message for f in out)


def test_icd10cm_codes_retired_in_fy2026_are_billable_before() -> None:
    icd = load_icd10cm()
    assert len(icd.retired) == 28
    assert icd.status("B88.0") == "header"                              # expanded on 2025-10-01
    assert icd.status("B88.0", date(2025, 9, 30)) == "billable"
    assert icd.status("B88.0", date(2025, 10, 1)) == "header"
    assert icd.status("T78.1XXA", date(2024, 5, 1)) == "billable"
    assert icd.status("T78.1XXA", date(2026, 1, 5)) == "unknown_in_category"
