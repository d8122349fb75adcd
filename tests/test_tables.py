"""Code tables and payer profiles: sources, effective dates, lookups, validation."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from config.payers import PayerConfigError, load_payer_profiles
from config.tables import TABLES_DIR, TableError, build_code_tables, load_code_tables
from edi.build import build_claim

MINE = ["derm_codes.csv", "ncci_ptp_derm_2024-07-01.csv", "mue_derm_2024-07-01.csv", "ncci_aoc_derm_2024-06.csv",
        "pfs_global_days_2025.csv",
        "icd10cm_derm_site_map.csv"]


def test_tables_load_once_and_are_complete() -> None:
    t = load_code_tables()
    assert t is load_code_tables()
    assert len(t.codes) > 150 and len(t.ptp) > 7000 and len(t.mue) > 150 and len(t.icd_sites) > 200


def test_every_table_states_its_source() -> None:
    sources = (TABLES_DIR / "SOURCES.md").read_text()
    for name in MINE:
        first = (TABLES_DIR / name).read_text().splitlines()[0]
        assert first.startswith("# Source:"), name
        assert name in sources, name
    header = (TABLES_DIR / "derm_codes.csv").read_text()
    assert "cms_short_desc" not in header, "CMS/AMA short descriptors must not be shipped"


def test_deleted_and_new_codes_have_dates() -> None:
    t = load_code_tables()
    assert t.codes["11100"].effective_to == date(2018, 12, 31)
    assert t.codes["11101"].effective_to == date(2018, 12, 31)
    assert t.codes["99201"].effective_to == date(2020, 12, 31)
    assert not t.codes["11100"].active_on(date(2019, 1, 1)) and t.codes["11100"].active_on(date(2018, 12, 31))
    assert not t.codes["11102"].active_on(date(2018, 12, 31)) and t.codes["11102"].active_on(date(2019, 1, 1))
    assert not t.codes["99201"].active_on(date(2021, 1, 1))


def test_ptp_lookups_and_dates() -> None:
    t = load_code_tables()
    e = t.ptp_edit("17004", "17000", date(2024, 9, 10))
    assert e is not None and e.modifier_indicator == 0
    assert t.ptp_edit("11602", "12001").modifier_indicator == 1  # type: ignore[union-attr]
    assert t.ptp_edit("11602", "12032") is None and t.ptp_edit("11602", "13101") is None
    assert t.ptp_edit("17311", "13151") is None
    assert t.ptp_edit("11106", "11102", date(2018, 6, 1)) is None, "biopsy pair not active before 2019"


def test_mue_aoc_and_globals() -> None:
    t = load_code_tables()
    assert (t.mue["17003"].mue_units, t.mue["17003"].mai) == (13, 2)
    assert t.primaries("11107") == {"11106"}
    assert t.primaries("11105") == {"11104", "11106"}
    assert t.primaries("17315") == {"17311", "17312", "17313", "17314"}
    assert t.primaries("11102") is None
    assert t.global_days("11602") == "010" and t.global_days("14040") == "090" and t.global_days("17311") == "000"
    assert t.code("11642").site_group == "C" and t.code("11306").site_group == "B"  # type: ignore[union-attr]


@pytest.mark.parametrize(("icd", "family", "site"), [
    ("C44.311", "malignant", ("C", "17311")),
    ("C44.41", "malignant", ("B", "17311")),
    ("C44.519", "malignant", ("A", "TRUNK")),
    ("C44.510", "malignant", (None, None)),       # anal skin: CPT group not stated
    ("C43.61", "malignant", ("LIMB", "LIMB")),
    ("C44.1121", "malignant", ("C", "17311")),    # FY2026 6-character eyelid code, by rule
    ("D04.5", "malignant", ("A", "TRUNK")),
    ("D22.5", "benign", ("A", None)),
    ("D48.5", "uncertain", (None, None)),
    ("D49.2", "unspecified", (None, None)),
    ("L57.0", "premalignant", (None, None)),
    ("L82.1", "benign", (None, None)),
    ("B07.0", "benign", ("B", None)),
    ("L91.8", "skin_tag", (None, None)),
    ("C51.9", "malignant", ("B", "17311")),
    ("Z85.828", None, (None, None)),
])
def test_icd_family_and_site(icd: str, family: str | None, site: tuple[str | None, str | None]) -> None:
    t = load_code_tables()
    assert t.dx_family(icd) == family
    assert t.dx_site(icd) == site


def test_invalid_table_is_a_clear_error(tmp_path: Path) -> None:
    for name in MINE:
        shutil.copy(TABLES_DIR / name, tmp_path / name)
    mue = tmp_path / "mue_derm_2024-07-01.csv"
    mue.write_text(mue.read_text().replace("11102,1,2,", "11102,1,7,"))
    with pytest.raises(TableError, match="mai"):
        build_code_tables(tmp_path)
    (tmp_path / "derm_codes.csv").unlink()
    with pytest.raises(TableError, match="missing"):
        build_code_tables(tmp_path)


def test_payer_profiles_by_filing_indicator_and_override() -> None:
    p = load_payer_profiles({"99999": {"ndc_required": True}, "55555": {"payer_type": "medicaid"}})
    mb = build_claim({"payer": "medicare", "lines": [{"code": "17000"}]})
    mc = build_claim({"payer": "medicaid", "lines": [{"code": "17000"}]})
    ci = build_claim({"payer": "BL", "lines": [{"code": "17000"}]})
    assert p.for_claim(mb).payer_type == "medicare" and p.for_claim(mb).jw_jz_required
    assert p.for_claim(mb).distinct_modifier == "X{EPSU}"
    assert p.for_claim(mc).payer_type == "medicaid" and p.for_claim(mc).ndc_required
    assert p.for_claim(ci).payer_type == "commercial" and not p.for_claim(ci).ndc_required
    over = build_claim({"payer": "medicare", "payer_id": "99999", "lines": [{"code": "17000"}]})
    prof = p.for_claim(over)
    assert prof.payer_type == "medicare" and prof.ndc_required and prof.payer_id == "99999"
    forced = build_claim({"payer": "CI", "payer_id": "55555", "lines": [{"code": "17000"}]})
    assert p.for_claim(forced).payer_type == "medicaid"
    assert p.for_payer("87726", "CI").ndc_required    # shipped payer-id override (UHC)


def test_bad_payer_override_is_rejected() -> None:
    with pytest.raises(PayerConfigError, match="bogus"):
        load_payer_profiles({"1": {"bogus": 1}})
    with pytest.raises(PayerConfigError, match="payer_type"):
        load_payer_profiles({"1": {"payer_type": "martian"}})


def test_global_days_fall_back_to_the_pfs() -> None:
    t = load_code_tables()
    assert t.global_days("10060") == "010" and t.global_days("20610") == "000"   # not in derm_codes.csv
    assert t.global_days("99213") == "XXX" and t.global_days("J3247") is None
