"""Seed errors (domain/data/seed_errors.yaml) expressed as claims: the wrong coding is held by
some rule (any family), the correct coding stays clean.  More seed cases live in the rule case
files under tests/fixtures/rules (``seed:`` key)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from x12util import SHARED

from edi.build import build_claim
from scrubber.engine import Scrubber

TODAY = date(2024, 10, 1)
CASES_DIR = Path(__file__).parent / "fixtures" / "rules"

# seed id -> (wrong claim that must be held, correctly coded claim that must stay clean or None)
SEEDS: dict[str, tuple[dict[str, Any], dict[str, Any] | None]] = {
    "E01": ({"diagnoses": ["C44.519"], "lines": [{"code": "11602"}, {"code": "12001"}]},
            {"diagnoses": ["C44.519"], "lines": [{"code": "11602"}, {"code": "12032"}]}),
    "E06": ({"payer": "commercial", "diagnoses": ["L20.9"],
             "lines": [{"code": "J0222", "units": 300, "ndc": "00024591420", "ctp": {"quantity": 2, "unit": "ML"}},
                       {"code": "96372"}]}, None),
    "E08": ({"payer": "commercial", "diagnoses": ["L40.0"],
             "lines": [{"code": "J2600", "units": 80}, {"code": "96372"}]}, None),
    "E09": ({"payer": "commercial", "diagnoses": ["L40.0"],
             "lines": [{"code": "J2682", "units": 150}, {"code": "96372"}]}, None),
    "E11": ({"diagnoses": ["D48.5"], "lines": [{"code": "11102"}, {"code": "11106"}]},
            {"diagnoses": ["D48.5"], "lines": [{"code": "11106"}, {"code": "11103"}]}),
    "E12": ({"diagnoses": ["L57.0"], "lines": [{"code": "17000"}, {"code": "17003", "units": 13},
                                               {"code": "17004"}]},
            {"diagnoses": ["L57.0"], "lines": [{"code": "17004"}]}),
    "E13": ({"diagnoses": ["B07.8"], "lines": [{"code": "17110"}, {"code": "17111"}]},
            {"diagnoses": ["B07.8"], "lines": [{"code": "17111"}]}),
    "E15": ({"dos": "2021-03-02", "diagnoses": ["D48.5"], "lines": [{"code": "11100"}, {"code": "11101"}]}, None),
    "E16": ({"diagnoses": ["C43.59"], "lines": [{"code": "99214", "modifiers": ["57"]}, {"code": "11606"}]},
            {"diagnoses": ["C43.59", "L57.0"], "lines": [{"code": "99214", "modifiers": ["25"], "pointers": [2]},
                                                         {"code": "11606"}]}),
    "E20": ({"diagnoses": ["D48.5"], "lines": [{"code": "99213"}, {"code": "11102"}]},
            {"diagnoses": ["L40.0", "D48.5"], "lines": [{"code": "99213", "modifiers": ["25"]},
                                                        {"code": "11102", "pointers": [2]}]}),
    "E26": ({"diagnoses": ["C44.311"], "lines": [{"code": "17313"}, {"code": "17314"}]},
            {"diagnoses": ["C44.311"], "lines": [{"code": "17311"}, {"code": "17312"}]}),
    "E29": ({"dos": "2024-05-06", "diagnoses": ["L70.0"], "lines": [{"code": "99201"}]},
            {"dos": "2024-05-06", "diagnoses": ["L70.0"], "lines": [{"code": "99202"}]}),
    "E31": ({"diagnoses": ["L82.1"], "lines": [{"code": "17000"}]},
            {"diagnoses": ["L82.1"], "lines": [{"code": "17110"}]}),
    "E32": ({"diagnoses": ["C44.311"], "lines": [{"code": "17311"}, {"code": "13152"}, {"code": "88305"}]},
            {"diagnoses": ["C44.311"], "lines": [{"code": "17311"}, {"code": "13152"}]}),
    "E33": ({"diagnoses": ["C43.59"], "lines": [{"code": "88341"}]},
            {"diagnoses": ["C43.59"], "lines": [{"code": "88342"}, {"code": "88341"}]}),
}


@pytest.fixture(scope="module")
def scrubber() -> Scrubber:
    return Scrubber(today=TODAY)


@pytest.mark.parametrize("seed", sorted(SEEDS))
def test_seed_error_claim_is_held(seed: str, scrubber: Scrubber) -> None:
    wrong, _right = SEEDS[seed]
    result = scrubber.scrub(build_claim(dict(wrong, claim_id=f"{seed}W")))
    assert result.held, f"{seed}: wrong coding not held ({[(f.rule, f.message) for f in result.findings]})"


@pytest.mark.parametrize("seed", sorted(s for s, (_w, r) in SEEDS.items() if r is not None))
def test_seed_correct_coding_is_clean(seed: str, scrubber: Scrubber) -> None:
    _wrong, right = SEEDS[seed]
    assert right is not None
    result = scrubber.scrub(build_claim(dict(right, claim_id=f"{seed}R")))
    errors = [(f.rule, f.message) for f in result.findings if f.severity == "error"]
    assert not result.held, f"{seed}: correct coding held: {errors}"


def test_seed_ids_exist() -> None:
    seed_file = SHARED.joinpath("domain", "data", "seed_errors.yaml")
    known = {e["id"] for e in yaml.safe_load(seed_file.read_text())["errors"]} if seed_file.exists() else set(SEEDS)
    in_cases = {c["seed"] for p in CASES_DIR.glob("*.yml") for c in yaml.safe_load(p.read_text()).get("cases", [])
                if c.get("seed")}
    assert set(SEEDS) <= known and in_cases <= known
