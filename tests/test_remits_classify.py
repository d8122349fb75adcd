"""Denial classification: group + CARC + RARC (+ line facts), versioned code tables."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from remits.classify import ACTIONS, CATEGORIES, ROUTES, classify
from remits.codes import carc_table, rarc_table
from remits.priority import deadline_for, payer_type_for, priority, urgency


@pytest.mark.parametrize(
    ("group", "carc", "rarcs", "proc", "mods", "category", "action"),
    [
        ("CO", "97", ["M15"], "99213", [], "bundling", "correct_and_resubmit"),
        ("CO", "97", ["M15"], "99213", ["25"], "bundling", "appeal"),
        ("CO", "97", ["M15"], "17000", [], "bundling", "review"),
        ("CO", "234", ["N20"], "11105", [], "bundling", "review"),
        ("CO", "50", ["N115"], "17110", [], "medical_necessity", "appeal"),
        ("CO", "16", ["MA130"], "11102", [], "submission_error", "correct_and_resubmit"),
        ("CO", "16", ["N290"], "11102", [], "submission_error", "correct_and_resubmit"),
        ("CO", "16", [], "11102", [], "submission_error", "review"),
        ("CO", "4", [], "17000", ["59"], "coding_modifier", "correct_and_resubmit"),
        ("CO", "29", [], "99214", [], "timely_filing", "write_off"),
        ("CO", "197", [], "17311", [], "authorization", "obtain_authorization"),
        ("CO", "96", ["N383"], "11200", [], "non_covered", "write_off"),
        ("CO", "96", ["N115"], "11200", [], "medical_necessity", "appeal"),
        ("OA", "18", [], "11102", [], "duplicate", "review"),
        ("CO", "11", [], "11400", [], "coding_dx", "correct_and_resubmit"),
        ("CO", "22", ["MA04"], "99213", [], "cob", "update_coverage"),
        ("CO", "27", [], "99213", [], "eligibility", "update_coverage"),
        ("CO", "252", ["M127"], "11102", [], "other", "review"),
        ("CO", "62", [], "17311", [], "authorization", "obtain_authorization"),   # deactivated -> 197
        ("CO", "Z99", [], "", [], "other", "review"),                              # unknown code
        ("CO", "A1", ["N383"], "11200", [], "non_covered", "write_off"),          # RARC decides
    ],
)
def test_routes(group: str, carc: str, rarcs: list[str], proc: str, mods: list[str], category: str,
                action: str) -> None:
    c = classify(group, carc, rarcs, amount=Decimal("100"), procedure=proc, modifiers=mods,
                 remit_date=date(2026, 11, 20))
    assert c.kind == "denial"
    assert (c.category, c.action) == (category, action)
    assert c.category in CATEGORIES and c.action in ACTIONS


def test_ma130_is_never_appealed() -> None:
    for carc in ("16", "50", "97", "96"):
        c = classify("CO", carc, ["MA130"], amount=Decimal(1), procedure="99213")
        assert c.action == "correct_and_resubmit", carc


def test_only_certain_fix_is_modifier_25_on_em() -> None:
    assert classify("CO", "97", ["M15"], procedure="99213").fix is not None
    assert classify("CO", "97", ["M15"], procedure="99213", modifiers=["25"]).fix is None
    assert classify("CO", "97", ["M15"], procedure="11102").fix is None
    assert [r.id for r in ROUTES if r.fix is not None] == ["bundling/em-no-25"]


@pytest.mark.parametrize(("group", "carc", "kind"), [
    ("CO", "45", "contractual"), ("CO", "59", "contractual"), ("CO", "253", "contractual"),
    ("PR", "1", "patient"), ("PR", "2", "patient"), ("PR", "3", "patient"), ("PR", "96", "patient"),
    ("CO", "42", "contractual"), ("CO", "A2", "contractual"),   # deactivated, mapped to 45
    ("OA", "23", "informational"),
])
def test_not_denials(group: str, carc: str, kind: str) -> None:
    c = classify(group, carc, [], amount=Decimal("10"), remit_date=date(2026, 11, 20))
    assert c.kind == kind and not c.is_denial and c.category == ""


def test_negative_amount_is_never_a_denial() -> None:
    assert classify("CO", "97", ["M15"], amount=Decimal("-120"), procedure="99213").kind == "informational"


def test_versioned_tables() -> None:
    t = carc_table()
    r = t.resolve("42", date(2026, 1, 1))
    assert (r.code, r.deactivated, r.mapped) == ("45", True, True)
    # before its stop date 42 is still itself
    r = t.resolve("42", date(2006, 1, 1))
    assert (r.code, r.deactivated) == ("42", False)
    assert t.resolve("97", date(2026, 1, 1)).code == "97"
    assert not t.resolve("Z99").known
    e = t.get("253")
    assert e is not None and e.start == date(2013, 6, 2) and e.active_on(date(2020, 1, 1))
    assert not e.active_on(date(2012, 1, 1))
    assert rarc_table().get("MA130") is not None


def test_table_files_cite_their_source() -> None:
    from remits.codes import TABLES_DIR

    for name in ("carc.csv", "rarc.csv"):
        head = [ln for ln in (TABLES_DIR / name).read_text().splitlines() if ln.startswith("#")]
        text = " ".join(head)
        assert "snapshot" in text and "2016-03-07" in text and "own" in text


def test_deadlines_and_priority() -> None:
    remit = date(2026, 11, 20)
    # Medicare: 120 days after the 5-day receipt presumption
    assert deadline_for(remit, "01112", "medicare") == date(2027, 3, 25)
    assert deadline_for(remit, "60054", "commercial") == date(2027, 5, 19)
    # Medicare correction: timely filing (12 months from the date of service)
    assert deadline_for(remit, "01112", "medicare", action="correct_and_resubmit",
                        service_date=date(2026, 10, 18)) == date(2027, 10, 18)

    from config.settings import RemitsSettings, Settings

    s = Settings(remits=RemitsSettings(payer_deadline_days={"87726": 65}),
                 payers={"87726": {"payer_type": "commercial"}})
    assert deadline_for(remit, "87726", "commercial", settings=s) == date(2027, 1, 24)
    assert payer_type_for("87726", "MB", s) == "commercial"
    assert payer_type_for("01112", "MB", s) == "medicare" and payer_type_for("X", "12", None) == "commercial"
    today = date(2026, 11, 21)
    assert urgency(date(2026, 11, 25), today) > urgency(date(2027, 5, 1), today)
    assert urgency(date(2026, 11, 1), today) < 1
    # same dollars: a correctable error outranks a cosmetic exclusion
    assert priority(Decimal(100), "submission_error", None, today) > priority(Decimal(100), "non_covered", None, today)
    assert priority(Decimal(100), "bundling", None, today) == Decimal("55.0000")


def test_payer_profile_deadlines() -> None:
    from config.settings import Settings

    # a payer id listed in config/payers.yaml (UHC, commercial) and an override in dermedi.toml
    s = Settings(payers={"99999": {"payer_type": "medicaid", "appeal_deadline_days": 30}})
    assert payer_type_for("87726", "MB", None) == "commercial"
    assert payer_type_for("99999", "12", s) == "medicaid"
    assert deadline_for(date(2026, 11, 20), "99999", "medicaid", settings=s) == date(2026, 12, 20)


def test_recoverability_learns_from_outcomes() -> None:
    from remits.priority import RECOVERABILITY, blended_recoverability

    base = RECOVERABILITY["bundling"]
    assert blended_recoverability("bundling") == base
    # a payer where bundling denials are nearly always won moves up, one where they are lost moves down
    assert blended_recoverability("bundling", resolved=19, written_off=1) > base
    assert blended_recoverability("bundling", resolved=0, written_off=20) < base
    # at most half of the weight comes from history
    assert blended_recoverability("bundling", resolved=0, written_off=1000) > base / 2 - Decimal("0.01")
