"""999 acknowledgment reader.

tests/data/999 (hand-written, pyx12-valid under the 999 5010X231A1 map):
- accepted.999: group 17456 accepted, one transaction set 0001 accepted.
- partial.999: group 17457 partially accepted (AK9 P, 3 included, 2 accepted): ST 0001 rejected
  (NM1 NM109 missing in 2010 for claim DERM1001; DTP03 invalid date in 2400 for DERM1002,
  with a situational-trigger CTX), ST 0002 accepted, ST 0003 accepted with errors (I4).
"""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
from x12util import pyx12_errors

from edi.errors import WrongTransactionError, X12Error
from edi.x999 import FunctionalGroupAck, iter_999, read_999

DATA = Path(__file__).parent / "data" / "999"
ROOT_DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("name", ["accepted.999", "partial.999"])
def test_test_files_are_valid_999s(name: str) -> None:
    assert pyx12_errors(DATA / name) == []


def test_accepted() -> None:
    [group] = read_999(DATA / "accepted.999")
    assert isinstance(group, FunctionalGroupAck)
    assert (group.functional_id, group.group_control_number, group.version) == ("HC", "17456", "005010X222A1")
    assert group.accepted and not group.rejected and group.status_text == "accepted"
    assert (group.sets_included, group.sets_received, group.sets_accepted) == (1, 1, 1)
    [t] = group.transactions
    assert (t.transaction_set_id, t.control_number, t.status, t.accepted) == ("837", "0001", "A", True)
    assert t.segment_errors == [] and t.error_codes == []
    assert group.ack_control_number == "0001" and group.interchange_control_number == "000000501"
    assert group.sender_id == "CLEARINGHOUSE" and group.date is not None


def test_partial_acceptance_with_error_details() -> None:
    [group] = read_999(DATA / "partial.999")
    assert group.status == "P" and group.partially_accepted and not group.accepted and not group.rejected
    assert group.group_control_number == "17457"
    assert (group.sets_included, group.sets_received, group.sets_accepted) == (3, 3, 2)
    assert [(t.control_number, t.status) for t in group.transactions] == [("0001", "R"), ("0002", "A"),
                                                                          ("0003", "E")]
    rejected = group.transaction("0001")
    assert rejected is not None and rejected.rejected and rejected.error_codes == ["5"]
    assert [t.control_number for t in group.rejected_sets] == ["0001"]
    assert [t.control_number for t in group.accepted_sets] == ["0002", "0003"]
    nm1, dtp = rejected.segment_errors
    assert (nm1.segment_id, nm1.position, nm1.loop_id, nm1.error_code) == ("NM1", 14, "2010", "8")
    assert nm1.claim_ids == ["DERM1001"]
    [e] = nm1.elements
    assert (e.position, e.component_position, e.reference_number, e.error_code) == (9, None, "67", "1")
    assert e.description == "required data element missing"
    assert (dtp.segment_id, dtp.position, dtp.loop_id) == ("DTP", 31, "2400")
    assert [c.name for c in dtp.context] == ["CLM01", "SITUATIONAL TRIGGER"]
    trigger = dtp.context[1]
    assert (trigger.segment_id, trigger.segment_position, trigger.loop_id, trigger.element_position) == (
        "SV1", 29, "2400", "1:2")
    [bad_date] = dtp.elements
    assert (bad_date.position, bad_date.error_code, bad_date.bad_value) == (3, "8", "20261301")
    assert rejected.claim_ids == ["DERM1001", "DERM1002"]
    with_errors = group.transaction("0003")
    assert with_errors is not None and with_errors.accepted
    assert with_errors.segment_errors[0].error_code == "I4"
    assert group.transaction("9999") is None


def test_describe_and_json_carry_no_data_values() -> None:
    [group] = read_999(DATA / "partial.999")
    t = group.transaction("0001")
    assert t is not None
    text = t.describe()
    assert "NM1 at position 14 (loop 2010): segment has data element errors [8]" in text
    assert "DTP03: invalid date [8]" in text
    assert "20261301" not in text and "20261301" not in repr(t)
    blob = json.dumps(group.as_json())
    assert "20261301" not in blob and '"claim_ids": ["DERM1001", "DERM1002"]' in blob


def test_lead_sample_ack_and_pyx12_generated_999(tmp_path: Path) -> None:
    [group] = read_999(ROOT_DATA / "minimal.837.997")
    assert group.accepted and group.transactions[0].control_number == "0001"
    # a 999 written by pyx12 for an 837 with a missing subscriber id
    import pyx12.params
    import pyx12.x12n_document

    bad = tmp_path / "bad.837"
    bad.write_text((ROOT_DATA / "minimal.837").read_text().replace("****MI*1EG4TE5MK73~", "****MI*~"))
    ack = io.StringIO()
    logging.getLogger("pyx12").setLevel(logging.CRITICAL)
    pyx12.x12n_document.x12n_document(pyx12.params.params(), str(bad), ack, None, None)
    [group] = read_999(ack.getvalue().encode(), "pyx12.999")
    assert group.rejected and group.group_control_number == "1"
    [t] = group.transactions
    assert t.status == "R" and t.segment_errors[0].segment_id == "NM1"
    assert t.segment_errors[0].elements[0].position == 9


def test_997_is_read_with_the_same_models() -> None:
    text = (
        "ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*SKINSUNDERM    *260302*1016*^*00501*000000503*0*T*:~"
        "GS*FA*CLEARINGHOUSE*SKINSUNDERM*20260302*1016*503*X*005010~ST*997*0001~AK1*HC*88~AK2*837*0001~"
        "AK3*CLM*21*2300*8~AK4*2**8*X~AK5*R*5~AK9*R*1*1*0~SE*8*0001~GE*1*503~IEA*1*000000503~"
    )
    [group] = read_999(text.encode())
    assert group.ack_type == "997" and group.rejected
    [t] = group.transactions
    assert t.status == "R" and t.segment_errors[0].segment_id == "CLM"
    assert t.segment_errors[0].elements[0].position == 2 and t.segment_errors[0].elements[0].error_code == "8"


def test_streaming_iter_999() -> None:
    groups = list(iter_999((DATA / "accepted.999").read_bytes()))
    assert [g.group_control_number for g in groups] == ["17456"]


def test_835_is_wrong_transaction() -> None:
    with pytest.raises(WrongTransactionError) as exc:
        read_999(ROOT_DATA / "835" / "lfh__managed-care.835")
    assert (exc.value.segment_id, exc.value.element, exc.value.segment_number) == ("GS", "GS01", 2)


def test_wrong_st01() -> None:
    text = (DATA / "accepted.999").read_text().replace("ST*999*0001", "ST*998*0001")
    with pytest.raises(WrongTransactionError) as exc:
        read_999(text.encode(), "x.999")
    assert (exc.value.element, exc.value.file) == ("ST01", "x.999")


def test_truncated_999() -> None:
    data = (DATA / "partial.999").read_bytes()
    with pytest.raises(X12Error) as exc:
        read_999(data[: data.index(b"AK9")])
    assert exc.value.segment_id == "SE" and "truncated" in str(exc.value)


def test_bad_ack_code_and_missing_ak9() -> None:
    text = (DATA / "accepted.999").read_text()
    with pytest.raises(X12Error) as exc:
        read_999(text.replace("IK5*A", "IK5*Q").encode())
    assert (exc.value.segment_id, exc.value.element) == ("IK5", "IK501")
    with pytest.raises(X12Error) as exc:
        read_999(text.replace("AK9*A*1*1*1~\n", "").replace("SE*6*", "SE*5*").encode())
    assert exc.value.element == "AK901"
    with pytest.raises(X12Error) as exc:
        read_999(text.replace("IK5*A~\n", "").encode())
    assert exc.value.segment_id == "AK9"


def test_ack_status_ties_back_to_gs06_and_st02() -> None:
    from edi.x999 import ack_status

    groups = read_999(DATA / "partial.999")
    assert ack_status(groups, "17457") == "P"
    assert ack_status(groups, "000017457", "1") == "R"
    assert ack_status(groups, "17457", "0003") == "E"
    assert ack_status(groups, "17456") is None
