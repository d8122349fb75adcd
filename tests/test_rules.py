"""The single runner of tests/fixtures/rules/<RULE_ID>.yml (format in that folder's README.md)."""

from __future__ import annotations

import io
import logging
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from edi.build import build_837, build_837_bytes
from edi.x837 import Parser837
from scrubber.engine import Rule, Scrubber, ScrubFinding, all_rules, get_rule

CASES_DIR = Path(__file__).parent / "fixtures" / "rules"
DEFAULT_TODAY = date(2024, 10, 1)
EXPECTS = {"pass", "fail", "warn", "held", "clean"}


def _load_files() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted(CASES_DIR.glob("*.yml")):
        data = yaml.safe_load(path.read_text())
        out.append((path.stem, data))
    return out


def _cases() -> list[Any]:
    params = []
    for stem, data in _load_files():
        for case in data.get("cases") or []:
            params.append(pytest.param(stem, data.get("rule", stem), case, id=f"{stem}-{case.get('name')}"))
    return params


@cache
def _resources() -> tuple[Any, Any, Any]:
    from config.drugs import load_drug_tables
    from config.payers import load_payer_profiles
    from config.tables import load_code_tables

    return load_code_tables(), load_drug_tables(), load_payer_profiles()


def _scrubber(rules: list[type[Rule]], today: date, case: dict[str, Any] | None = None) -> Scrubber:
    tables, drugs, payers = _resources()
    learned = None
    if case and case.get("learned"):        # a learned table (JSON) beside the case file (LRN rules)
        from config.learned import load_learned_table

        learned = load_learned_table(CASES_DIR / case["learned"])
    if case and case.get("payers"):         # payer-id overrides, as dermedi.toml [payers."<id>"]
        from config.payers import load_payer_profiles

        payers = load_payer_profiles(case["payers"])
    return Scrubber(tables=tables, drugs=drugs, payers=payers, rules=rules, today=today, learned=learned)


def run_case(rule_id: str, case: dict[str, Any]) -> tuple[list[ScrubFinding], bool]:
    expect = case.get("expect")
    today = case.get("today") or DEFAULT_TODAY
    if isinstance(today, str):
        today = date.fromisoformat(today)
    rules = all_rules() if expect in ("held", "clean") else [get_rule(rule_id)]
    claim = next(Parser837(build_837_bytes([case["claim"]]), f"{rule_id}.837").claims())
    result = _scrubber(rules, today, case).scrub(claim)
    return result.findings, result.held


def _fmt(findings: list[ScrubFinding]) -> str:
    return "; ".join(f"{f.rule}/{f.severity}@{f.line}: {f.message}" for f in findings) or "no findings"


@pytest.mark.parametrize(("stem", "rule_id", "case"), _cases())
def test_rule_case(stem: str, rule_id: str, case: dict[str, Any]) -> None:
    assert stem == rule_id, f"{stem}.yml must hold cases of rule {stem}, not {rule_id}"
    expect = case.get("expect")
    assert expect in EXPECTS, f"expect must be one of {sorted(EXPECTS)}"
    findings, held = run_case(rule_id, case)
    mine = [f for f in findings if f.rule == rule_id]
    if expect == "pass":
        assert not mine, f"{rule_id} should not fire: {_fmt(mine)}"
        return
    if expect == "clean":
        assert not held, f"claim should stay clean: {_fmt(findings)}"
        return
    if expect == "held":
        assert held, f"claim should be held: {_fmt(findings)}"
        return
    severity = case.get("severity") or ("error" if expect == "fail" else "warning")
    hits = [f for f in mine if f.severity == severity]
    assert hits, f"{rule_id} should report a {severity}: {_fmt(findings)}"
    if expect == "warn":
        assert all(f.severity == "warning" for f in mine), _fmt(mine)
    if "line" in case:
        want = str(case["line"])
        assert any(f.line == want or want in f.lines for f in hits), f"expected on line {want}: {_fmt(hits)}"
    if "message_contains" in case:
        want = case["message_contains"]
        assert any(want in f.message or want in (f.correct_coding or "") for f in hits), _fmt(hits)


def test_every_rule_has_cases() -> None:
    files = {stem: data for stem, data in _load_files()}
    missing = []
    for rule in all_rules():
        data = files.get(rule.id)
        expects = {c.get("expect") for c in (data or {}).get("cases") or []}
        if data is None or not (expects & {"pass", "clean"}) or not (expects & {"fail", "warn", "held"}):
            missing.append(rule.id)
    assert not missing, f"rules without a passing and a failing case file: {missing}"


def test_case_names_unique() -> None:
    for stem, data in _load_files():
        names = [c.get("name") for c in data.get("cases") or []]
        assert len(names) == len(set(names)), f"{stem}.yml has duplicate case names"
        assert all(names), f"{stem}.yml has a case without a name"


def test_case_claims_are_valid_x12(tmp_path: Path) -> None:
    """Every case claim, built into one 837P, validates under pyx12."""
    import pyx12.params
    import pyx12.x12n_document

    specs = []
    for _stem, data in _load_files():
        for case in data.get("cases") or []:
            if case.get("x12_invalid"):
                continue
            spec = dict(case["claim"])
            spec["claim_id"] = f"K{len(specs) + 1:05d}"
            specs.append(spec)
    if not specs:
        pytest.skip("no cases yet")
    path = tmp_path / "cases.837"
    path.write_text(build_837(specs))
    logging.disable(logging.CRITICAL)
    try:
        ok = pyx12.x12n_document.x12n_document(pyx12.params.params(), str(path), io.StringIO(), None)
    finally:
        logging.disable(logging.NOTSET)
    assert ok, "case claims do not validate under pyx12"
