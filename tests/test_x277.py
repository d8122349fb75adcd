"""277CA claim acknowledgment reader.

tests/data/277/mixed.277 (hand-written, pyx12-valid under the 277 005010X214 map): payer
ACME (60054) acknowledges 4 claims of billing provider NPI 1234567893.  DERM1001 (A1:20)
and DERM1004 (A2:20) accepted with payer claim numbers; DERM1002 rejected A7:562 (NPI,
entity 1P) with a second composite A6:128 and a free-form message; DERM1003 returned A3:21
with two rejected service lines (REF*FJ line control numbers).  2200B/2200C summaries:
2 accepted for 390.00, 2 rejected for 400.00.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from x12util import pyx12_errors

from edi.errors import WrongTransactionError, X12Error
from edi.x277 import ClaimStatus, Parser277CA, StatusCode, read_277ca, summarize

DATA = Path(__file__).parent / "data" / "277"
D = Decimal


def claims() -> list[ClaimStatus]:
    return list(read_277ca(DATA / "mixed.277"))


def test_file_is_a_valid_277ca() -> None:
    assert pyx12_errors(DATA / "mixed.277") == []


def test_statuses_per_claim() -> None:
    got = [(c.claim_id, c.accepted, c.category, c.status_code, c.entity, c.charge) for c in claims()]
    assert got == [
        ("DERM1001", True, "A1", "20", "", D("350")),
        ("DERM1004", True, "A2", "20", "", D("40")),
        ("DERM1002", False, "A7", "562", "1P", D("150")),
        ("DERM1003", False, "A3", "21", "", D("250")),
    ]


def test_accepted_claim_details() -> None:
    c = claims()[0]
    assert c.payer_claim_number == "2026061000123" and c.clearinghouse_trace == "CH000111"
    assert c.action_code == "WQ" and c.status_date is not None and c.status_date.isoformat() == "2026-03-02"
    start, end = c.service_period
    assert start == end and start is not None and start.isoformat() == "2026-02-10"
    assert (c.payer_name, c.payer_id, c.receiver_id, c.provider_npi) == (
        "ACME HEALTH PLAN", "60054", "SKINSUNDERM", "1234567893")
    assert c.transaction.reference == "TRACE277001" and c.transaction.control_number == "0001"
    assert c.transaction.received_date is not None
    assert c.lines == [] and not c.rejected


def test_rejection_with_two_composites_and_message() -> None:
    c = claims()[2]
    assert c.rejected and c.payer_claim_number == ""
    assert c.codes == [StatusCode("A7", "562", "1P"), StatusCode("A6", "128")]
    assert c.messages == ["NPI NOT ON FILE"]
    assert c.primary.category_text == "acknowledged, rejected for invalid information"


def test_rejected_service_lines() -> None:
    c = claims()[3]
    assert [(ln.code, ln.modifiers, ln.charge, ln.control_number, ln.rejected) for ln in c.lines] == [
        ("17110", [], D("200"), "DERM1003-1", True), ("11102", ["59"], D("50"), "DERM1003-2", True)]
    assert [ln.statuses[0].codes[0].code for ln in c.lines] == ["454", "145"]
    start, end = c.service_period
    assert (start and start.isoformat(), end and end.isoformat()) == ("2026-02-25", "2026-02-26")


def test_summary_and_levels() -> None:
    s = summarize(claims())
    assert (s.accepted, s.rejected, s.total) == (2, 2, 4)
    assert (s.accepted_charge, s.rejected_charge) == (D("390"), D("400"))
    assert s.rejected_claim_ids == ["DERM1002", "DERM1003"]
    parser = Parser277CA(DATA / "mixed.277")
    list(parser.claims())
    receiver, provider = parser.levels
    assert (receiver.level, receiver.entity_id, receiver.trace) == ("receiver", "SKINSUNDERM", "17456")
    assert (provider.level, provider.entity_qualifier, provider.entity_id) == ("provider", "XX", "1234567893")
    for lv in (receiver, provider):
        assert (lv.accepted_quantity, lv.rejected_quantity) == (D("2"), D("2"))
        assert (lv.accepted_amount, lv.rejected_amount) == (D("390"), D("400"))
    # the payer's counts agree with ours
    assert receiver.accepted_amount == s.accepted_charge and receiver.rejected_amount == s.rejected_charge


def test_json_and_repr_have_no_phi() -> None:
    text = (DATA / "mixed.277").read_text()
    blob = json.dumps([c.as_json() for c in claims()])
    for secret in ("TESTPATIENT", "XW100000001"):
        assert secret in text and secret not in blob
        assert all(secret not in repr(c) for c in claims())
    assert json.loads(blob)[3]["lines"][0]["control_number"] == "DERM1003-1"


def test_wrong_transaction_types() -> None:
    with pytest.raises(WrongTransactionError) as exc:
        list(read_277ca(Path(__file__).parent / "data" / "835" / "lfh__managed-care.835"))
    assert (exc.value.segment_id, exc.value.element) == ("GS", "GS08")
    text = (DATA / "mixed.277").read_text().replace("ST*277*0001*005010X214", "ST*276*0001*005010X214")
    with pytest.raises(WrongTransactionError) as exc:
        list(read_277ca(text.encode(), "x.277"))
    assert (exc.value.element, exc.value.segment_number, exc.value.file) == ("ST01", 3, "x.277")


def test_truncated_and_broken_files() -> None:
    data = (DATA / "mixed.277").read_bytes()
    with pytest.raises(X12Error) as exc:
        list(read_277ca(data[: data.index(b"HL*6")]))
    assert exc.value.segment_id == "SE" and "truncated" in str(exc.value)
    text = data.decode()
    with pytest.raises(X12Error) as exc:
        list(read_277ca(text.replace("STC*A3:21*20260302*U*250", "STC*A3*20260302*U*250").encode()))
    assert (exc.value.segment_id, exc.value.element) == ("STC", "STC01")
    with pytest.raises(X12Error) as exc:
        list(read_277ca(text.replace("STC*A2:20*20260302*WQ*40", "STC*A2:20*20260302*WQ*4O").encode()))
    assert exc.value.element == "STC04" and "4O" not in str(exc.value)


def test_batch_rejected_at_receiver_level_has_no_claims() -> None:
    text = (DATA / "mixed.277").read_text()
    head = text[: text.index("HL*3*2*19*1")]
    head = head.replace("STC*A1:19:PR*20260302*WQ*790", "STC*A3:24:PR*20260302*U*790")
    body = head + "SE*16*0001~\nGE*1*701~\nIEA*1*000000701~\n"
    parser = Parser277CA(body.encode(), "batch.277")
    assert list(parser.claims()) == []
    [receiver] = parser.levels
    assert receiver.statuses[0].rejected and receiver.statuses[0].codes[0] == StatusCode("A3", "24", "PR")
    assert parser.findings == []


def test_a_later_rejecting_stc_rejects_the_claim() -> None:
    text = (DATA / "mixed.277").read_text().replace(
        "STC*A1:20*20260302*WQ*350~\n", "STC*A1:20*20260302*WQ*350~\nSTC*A8:513*20260302*U*350~\n")
    first = next(iter(read_277ca(text.encode())))
    assert first.category == "A1" and first.rejected and not first.accepted
    assert [c.category for c in first.codes] == ["A1", "A8"]
