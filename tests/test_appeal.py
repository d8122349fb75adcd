"""Appeal letter drafts: the template follows the denial (category and CARC) and the letter is
merged with the item's payer, claim, dates, codes, amounts and the claim as sent."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from remits.appeal import draft_letter
from store import open_database, session_scope
from store.remits import SubmittedClaim, WorkItem


def _item(**kw: object) -> WorkItem:
    base: dict[str, object] = dict(
        id=1, source="835", claim_id="CLM1", line_number=1, procedure="11102", modifiers="59", group_code="CO",
        carc="97", carc_sent="97", rarcs="M15", category="bundling", action="appeal", amount=Decimal("150.00"),
        charge=Decimal("150.00"), payer_id="P1", payer_name="SYNTHETIC PAYER", payer_claim_number="PCN9",
        service_date=date(2026, 10, 15), remit_date=date(2026, 11, 20), status="in_progress")
    base.update(kw)
    return WorkItem(**base)


CLAIM = {"patient": {"name": "ANN TESTPERSON", "birth_date": "1950-01-01", "member_id": "M1"},
         "diagnoses": ["L57.0", "D48.5"], "lines": [{"code": "11102", "diagnoses": ["D48.5"]}]}


@pytest.mark.parametrize(("kw", "template", "phrases"), [
    ({}, "bundling_distinct_site", ["distinct anatomic site", "59/XS", "CO-97", "11102 with modifier(s) 59"]),
    ({"carc": "50", "carc_sent": "50", "category": "medical_necessity"}, "medical_necessity",
     ["medical necessity", "D48.5"]),
    ({"carc": "16", "carc_sent": "16", "rarcs": "N290", "category": "submission_error"}, "missing_information",
     ["remark codes N290"]),
    ({"carc": "204", "carc_sent": "204", "category": "non_covered"}, "reconsideration", ["CO-204"]),
])
def test_template_follows_the_denial(tmp_path: Path, kw: dict[str, object], template: str,
                                     phrases: list[str]) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'd.db'}")
    with session_scope(engine) as s:
        d = draft_letter(s, _item(**kw), CLAIM, practice="Sample Dermatology PC", today=date(2026, 12, 1))
    assert d.template == template
    for p in [*phrases, "SYNTHETIC PAYER", "Claim CLM1", "PCN9", "ANN TESTPERSON", "1950-01-01", "M1",
              "2026-10-15", "denied 150.00", "Sample Dermatology PC", "2026-12-01"]:
        assert p in d.body, p
    engine.dispose()


def test_timely_filing_cites_the_submission(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'd.db'}")
    with session_scope(engine) as s:
        s.add(SubmittedClaim(claim_id="CLM1", file_sha256="ab" * 32, submitted_at=datetime(2026, 10, 20, tzinfo=UTC),
                             payer_id="P1", total_charge=Decimal(150), line_count=1, x12=""))
        s.flush()
        d = draft_letter(s, _item(carc="29", carc_sent="29", category="timely_filing"), None)
    assert d.template == "timely_filing"
    assert "submitted on 2026-10-20" in d.body and "filed late (CO-29)" in d.body
    engine.dispose()
