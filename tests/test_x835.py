"""835 remittance parser: public samples, synthetic dermatology remits, balancing, errors.

Synthetic files in tests/data/835 (hand-written, fictitious patients):
- derm_paid.835: one payment, four claims.
  DERM1001 paid claim whose E/M line 99213 is denied CO-97 with LQ M15 + N20 (two LQ
  on one line) while the biopsy 11102 is paid with CO-45 and PR-2; DERM1002 PR-1/2/3,
  a CAS with three triplets (CO 45/253/59) and a CAS quantity; DERM1003 denied (CLP02 4)
  CO-16 with MOA MA130/N290; DERM1004 CO-50 with LQ N115 + N383.  PLB L6 interest (-3.50)
  and WO overpayment recovery (50.00).  Balances: 356.00 - 46.50 = 309.50.
- derm_reversal.835: two transaction sets.  ST 0001: reversal (CLP02 22, amounts negated)
  of DERM2001 and its correction.  ST 0002: reversal of DERM2002 with no correction yet;
  the payer holds it with PLB WO -95 so BPR02 is 0.
- derm_unbal.835: a line off by 5.00 (also unbalancing its claim), a claim off by 10.00
  (claim-level CAS), and BPR02 off by 1.00.
"""

from __future__ import annotations

import io
import json
import tracemalloc
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from x12util import pyx12_errors

from edi.errors import NotX12Error, WrongTransactionError, X12Error
from edi.x835 import (
    Adjustment,
    BalanceFinding,
    ClaimGroup,
    ClaimPayment,
    Parser835,
    RemitHeader,
    RemitTrailer,
    check_balance,
    iter_claim_payments,
    write_events_835,
)

DATA = Path(__file__).parent / "data" / "835"
D = Decimal

PUBLIC = [
    "keiron__blue_cross_nc_sample.wrapped.835",
    "keiron__emedny_sample.835",
    "keiron__united_healthcare_legacy_sample.835",
    "lfh__cob-contractural-adjustment.835",
    "lfh__managed-care.835",
    "lfh__medicare-part-a.835",
    "lfh__secondary-payment.835",
    "lfh__tertiary-payment.835",
]
SYNTHETIC = ["derm_paid.835", "derm_reversal.835", "derm_unbal.835"]

# file -> (claims, BPR02, sum of CLP04)
EXPECTED_TOTALS = {
    "keiron__blue_cross_nc_sample.wrapped.835": (1, D("1922.86"), D("1922.86")),
    "keiron__emedny_sample.835": (3, D("45.75"), D("45.75")),
    "keiron__united_healthcare_legacy_sample.835": (2, D("349.99"), D("349.99")),
    "lfh__cob-contractural-adjustment.835": (1, D("34.00"), D("34.00")),
    "lfh__managed-care.835": (2, D("945.00"), D("945.00")),
    "lfh__medicare-part-a.835": (2, D("150000.00"), D("149998.73")),
    "lfh__secondary-payment.835": (2, D("1222.00"), D("1222.00")),
    "lfh__tertiary-payment.835": (1, D("187.50"), D("187.50")),
}


def parse(name: str) -> tuple[Parser835, list[Any]]:
    parser = Parser835(DATA / name)
    return parser, list(parser.events())


def claims_of(events: list[Any]) -> list[ClaimPayment]:
    return [e for e in events if isinstance(e, ClaimPayment)]


# ------------------------------------------------------------------------------------------
# Public samples
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PUBLIC + SYNTHETIC)
def test_round_trip_byte_for_byte(name: str) -> None:
    parser, events = parse(name)
    out = io.BytesIO()
    write_events_835(events, parser.delimiters, out, parser.trailer)
    assert out.getvalue() == (DATA / name).read_bytes()


@pytest.mark.parametrize("name", PUBLIC)
def test_public_sample_totals_and_balance(name: str) -> None:
    parser, events = parse(name)
    claims = claims_of(events)
    n, bpr, paid = EXPECTED_TOTALS[name]
    assert len(claims) == n
    headers = [e for e in events if isinstance(e, RemitHeader)]
    trailers = [e for e in events if isinstance(e, RemitTrailer)]
    assert len(headers) == len(trailers) == 1
    assert headers[0].total_payment == bpr
    assert trailers[0].claims_paid == paid
    assert trailers[0].balanced
    if name.startswith("keiron__blue_cross"):
        # the original sample's SE01 says 33; the transaction set has 34 segments
        assert [(f.segment_id, f.element) for f in parser.findings] == [("SE", "SE01")]
    else:
        assert parser.findings == []  # envelopes are consistent
    if name == "lfh__tertiary-payment.835":
        # SVC*HC*24599.00*1766.50*187.50: no code in the composite, amounts shifted by one
        assert parser.balance_findings == [f for f in parser.balance_findings if f.rule == "line"]
        [f] = parser.balance_findings
        assert (f.rule, f.claim_id, f.line_number) == ("line", "0001000054", 1)
        assert (f.expected, f.actual, f.difference) == (D("23020.00"), D("1766.50"), D("-21253.50"))
        assert f.amounts == {"SVC02": D("24599.00"), "CAS": D("1579.00"), "SVC03": D("1766.50")}
        assert f.segment_number == 20 and f.segment_id == "SVC"
        assert claims[0].lines[0].code == ""
        assert any(p.element == "SVC01-2" for p in claims[0].problems)
        # the claim itself still balances (1766.50 - 1579.00 = 187.50)
        assert [f.rule for f in claims[0].balance_findings] == ["line"]
    else:
        assert parser.balance_findings == []
        assert all(c.balanced for c in claims)


def test_bare_transaction_without_isa_is_a_typed_error() -> None:
    with pytest.raises(NotX12Error) as exc:
        list(Parser835(DATA / "keiron__blue_cross_nc_sample.835").events())
    assert exc.value.segment_number == 1 and exc.value.segment_id == "ST"
    assert "ISA" in str(exc.value)


def test_blue_cross_nc_wrapped_details() -> None:
    _, events = parse("keiron__blue_cross_nc_sample.wrapped.835")
    [claim] = claims_of(events)
    assert claim.claim_id == "200200964A52"
    assert (claim.charge, claim.paid, claim.patient_responsibility) == (D("2100"), D("1922.86"), D("142.54"))
    assert claim.filing_indicator == "15" and claim.payer_claim_number == "94151100100"
    first = claim.lines[0]
    assert (first.code, first.original_code, first.allowed, first.control_number) == (
        "59430", "59410", D("1175.4"), "0001")
    assert [a.code for a in first.adjustments] == ["CO-42", "PR-2"]
    third = claim.lines[2]
    assert third.charge is None and third.paid is None
    assert {p.element for p in third.problems} == {"SVC02", "SVC03"}
    header = claim.header
    assert header.payee_npi == "0987654321" and header.payee_tin == "123456789"
    assert header.production_date is not None and header.production_date.isoformat() == "2011-01-04"
    assert header.ref("F2") == "LCLA438D"


def test_component_separator_mismatch_is_read_with_a_warning() -> None:
    _, events = parse("lfh__secondary-payment.835")
    claims = claims_of(events)
    assert [ln.code for ln in claims[1].lines] == ["12345", "66543"]
    assert claims[1].lines[0].modifiers == ["26"]
    warn = [p for p in claims[1].problems if p.element == "SVC01"]
    assert len(warn) == 2 and all(p.severity == "warning" for p in warn)
    # CAS*PR*1*150.00**2*70.00: two triplets in one segment
    assert [(a.code, a.amount) for a in claims[1].lines[1].adjustments] == [
        ("PR-1", D("150.00")), ("PR-2", D("70.00")), ("CO-42", D("85.00"))]
    # the first claim has no service lines: claim-level CAS only
    assert claims[0].lines == [] and [a.code for a in claims[0].adjustments] == ["OA-23"]
    assert claims[0].status == "2" and claims[0].processed_as == "secondary"


def test_medicare_part_a_remarks_groups_and_plb() -> None:
    _, events = parse("lfh__medicare-part-a.835")
    groups = [e for e in events if isinstance(e, ClaimGroup)]
    assert [g.number for g in groups] == ["110212", "130212"]
    assert groups[0].ts3 is not None and groups[0].ts2 is not None
    claims = claims_of(events)
    assert claims[0].group is groups[0] and claims[1].group is groups[1]
    assert claims[1].remarks[0].code == "MA02" and claims[1].remarks[0].source == "MOA"
    assert claims[0].quantity("CA") == D("8.00")
    [trailer] = [e for e in events if isinstance(e, RemitTrailer)]
    [plb] = trailer.provider_adjustments
    assert (plb.provider_id, plb.reason, plb.reference, plb.amount) == ("6543210903", "CV", "CP", D("-1.27"))
    assert plb.fiscal_period_date is not None and plb.fiscal_period_date.isoformat() == "2002-12-31"
    assert trailer.plb_total == D("-1.27")


def test_negative_oa_94_and_emedny_remarks() -> None:
    _, events = parse("lfh__cob-contractural-adjustment.835")
    [claim] = claims_of(events)
    assert [(a.code, a.amount) for a in claim.lines[0].adjustments] == [("OA-23", D("516.00")),
                                                                        ("OA-94", D("-9.00"))]
    _, events = parse("keiron__emedny_sample.835")
    claims = claims_of(events)
    assert [ln.rarcs for ln in claims[2].lines] == [[], [], ["N206"], ["N206"]]
    assert [a.code for a in claims[1].line_adjustments] == ["CO-29", "CO-29"]


def test_uhc_sample_multi_triplet_cas() -> None:
    _, events = parse("keiron__united_healthcare_legacy_sample.835")
    claims = claims_of(events)
    line = claims[1].lines[2]
    assert [(a.code, a.amount, a.quantity) for a in line.adjustments] == [
        ("PR-2", D("5.13"), None), ("PR-1", D("110"), None), ("CO-45", D("184.32"), None)]
    assert line.code == "B4154" and line.units == D("178")
    assert claims[0].header.payer_id == "87726"


# ------------------------------------------------------------------------------------------
# Synthetic dermatology remits
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SYNTHETIC)
def test_synthetic_files_validate_under_pyx12(name: str) -> None:
    assert pyx12_errors(DATA / name) == []


def test_pyx12_check_can_fail(tmp_path: Path) -> None:
    bad = tmp_path / "bad.835"
    bad.write_text((DATA / "derm_paid.835").read_text().replace("PER*BL*EDI SUPPORT*TE*8005551313~\n", ""))
    assert pyx12_errors(bad) != []


def test_derm_paid_header() -> None:
    _, events = parse("derm_paid.835")
    [header] = [e for e in events if isinstance(e, RemitHeader)]
    assert header.handling_code == "I"
    assert header.total_payment == D("309.50")
    assert header.payment_method == "ACH" and header.credit_debit == "C"
    assert header.payment_date is not None and header.payment_date.isoformat() == "2026-03-02"
    assert header.trace_number == "EFT260301001" and header.trace_payer_id == "1512345678"
    assert header.payer_name == "ACME HEALTH PLAN" and header.payer_id == "60054"
    assert header.payee_npi == "1234567893" and header.payee_tin == "123456789"
    assert header.receiver_id == "SKINSUNDERM"
    assert len(header.payer_contacts) == 2
    assert header.control_number == "0001"


def test_em_line_bundled_co97_m15_on_paid_claim() -> None:
    claims = list(iter_claim_payments(DATA / "derm_paid.835"))
    c = claims[0]
    assert (c.claim_id, c.status, c.is_denied) == ("DERM1001", "1", False)
    em, biopsy = c.lines
    assert (em.code, em.paid, em.charge) == ("99213", D("0"), D("150"))
    assert em.adjustments == [Adjustment("CO", "97", D("150"), None, em.adjustments[0].segment_number)]
    assert em.rarcs == ["M15", "N20"]  # every LQ, not only the last
    assert em.control_number == "DERM1001-1"
    assert em.service_date is not None and em.service_date.isoformat() == "2026-02-10"
    assert (biopsy.code, biopsy.paid, biopsy.allowed) == ("11102", D("120"), D("150"))
    assert [a.code for a in biopsy.adjustments] == ["CO-45", "PR-2"]
    assert c.rendering_npi == "1234567893"
    assert c.received_date is not None and c.received_date.isoformat() == "2026-02-15"
    assert c.balanced


def test_patient_responsibility_and_multi_triplet_cas() -> None:
    c = list(iter_claim_payments(DATA / "derm_paid.835"))[1]
    assert c.lines[0].modifiers == ["25"]
    assert [(a.code, a.amount) for a in c.lines[1].adjustments] == [
        ("CO-45", D("30")), ("CO-253", D("2")), ("CO-59", D("8")), ("PR-1", D("60"))]
    assert c.lines[2].adjustments[0].quantity == D("2") and c.lines[2].units == D("2")
    pr = sorted(a.reason for a in c.all_adjustments if a.group == "PR")
    assert pr == ["1", "3"]
    assert c.patient_responsibility == D("100") == sum(
        (a.amount for a in c.all_adjustments if a.group == "PR"), D(0))


def test_denied_claim_co16_ma130_and_co50_n115() -> None:
    claims = list(iter_claim_payments(DATA / "derm_paid.835"))
    denied = claims[2]
    assert denied.is_denied and denied.status_text == "denied"
    assert [(r.code, r.source) for r in denied.remarks] == [("MA130", "MOA"), ("N290", "MOA")]
    assert [a.code for a in denied.all_adjustments] == ["CO-16"]
    lcd = claims[3]
    assert lcd.lines[0].code == "11401" and lcd.lines[0].paid == D("0")
    assert [a.code for a in lcd.lines[0].adjustments] == ["CO-50"]
    assert lcd.lines[0].rarcs == ["N115", "N383"]
    assert [r.code for r in lcd.all_remarks] == ["N115", "N383"]


def test_plb_interest_and_overpayment_recovery_balance() -> None:
    parser, events = parse("derm_paid.835")
    [trailer] = [e for e in events if isinstance(e, RemitTrailer)]
    assert [(p.reason, p.reference, p.amount) for p in trailer.provider_adjustments] == [
        ("L6", "DERM1004", D("-3.50")), ("WO", "PCN251201009", D("50"))]
    assert trailer.claims_paid == D("356") and trailer.plb_total == D("46.50")
    assert trailer.claim_count == 4
    assert trailer.balanced and parser.balance_findings == []


def test_reversal_and_correction_pair() -> None:
    parser, events = parse("derm_reversal.835")
    headers = [e for e in events if isinstance(e, RemitHeader)]
    assert [h.control_number for h in headers] == ["0001", "0002"]
    claims = claims_of(events)
    rev, corr, lone = claims
    assert rev.is_reversal and not corr.is_reversal and rev.claim_id == corr.claim_id == "DERM2001"
    assert (rev.charge, rev.paid, rev.patient_responsibility) == (D("-300"), D("-150"), D("-50"))
    assert [(a.code, a.amount) for a in rev.line_adjustments] == [("CO-45", D("-100")), ("PR-2", D("-50"))]
    assert rev.balanced and corr.balanced and not rev.problems
    assert rev.payer_claim_number != corr.payer_claim_number
    assert corr.remarks[0].code == "N689"
    assert lone.is_reversal and lone.header is headers[1]
    trailers = [e for e in events if isinstance(e, RemitTrailer)]
    assert [t.claims_paid for t in trailers] == [D("30"), D("-95")]
    assert trailers[1].provider_adjustments[0].reason == "WO"
    assert parser.balance_findings == []


def test_reversal_with_positive_amounts_is_flagged() -> None:
    text = (DATA / "derm_reversal.835").read_text().replace(
        "CLP*DERM2001*22*-300*-150*-50", "CLP*DERM2001*22*300*150*50")
    claims = list(iter_claim_payments(text.encode()))
    assert any(p.element == "CLP03" and "reversal" in p.message for p in claims[0].problems)


def test_unbalanced_file_reports_findings_with_amounts() -> None:
    findings = check_balance(DATA / "derm_unbal.835")
    assert [(f.rule, f.claim_id, f.line_number) for f in findings] == [
        ("line", "DERM3001", 1), ("claim", "DERM3001", None), ("claim", "DERM3002", None),
        ("transaction", None, None)]
    line, claim1, claim2, trn = findings
    assert (line.expected, line.actual, line.difference) == (D("75"), D("70"), D("-5"))
    assert line.line_control_number == "DERM3001-1" and line.segment_id == "SVC"
    assert claim2.amounts == {"CLP03": D("200"), "claim CAS": D("10"), "line CAS": D("50"), "CLP04": D("150")}
    assert (claim2.expected, claim2.actual, claim2.difference) == (D("140"), D("150"), D("10"))
    assert claim1.difference == D("-5")
    assert trn.amounts == {"sum CLP04": D("220"), "sum PLB": D("0"), "BPR02": D("221")}
    assert trn.difference == D("1") and trn.segment_id == "BPR" and trn.segment_number == 4
    finding = trn.as_finding()
    assert finding.code == "balance" and finding.element == "BPR02"
    assert "expected 220, reported 221, difference 1" in finding.message
    assert isinstance(line, BalanceFinding) and line.as_dict()["expected"] == "75"


def test_as_json_has_no_phi() -> None:
    text = (DATA / "derm_paid.835").read_text()
    blob = json.dumps([c.as_json() for c in iter_claim_payments(text.encode())])
    for secret in ("TESTPATIENT", "ALPHA", "XW10000000"):
        assert secret in text
        assert secret not in blob
    first = json.loads(blob)[0]
    assert first["claim_id"] == "DERM1001" and first["lines"][0]["remarks"][1]["code"] == "N20"
    assert first["lines"][0]["adjustments"][0] == {"group": "CO", "reason": "97", "amount": "150",
                                                   "quantity": None}


# ------------------------------------------------------------------------------------------
# Errors
# ------------------------------------------------------------------------------------------


def test_837_is_wrong_transaction() -> None:
    with pytest.raises(WrongTransactionError) as exc:
        list(Parser835(Path(__file__).parent / "data" / "minimal.837").events())
    assert exc.value.element == "GS08" and exc.value.segment_id == "GS" and exc.value.segment_number == 2


def test_wrong_st01_is_wrong_transaction() -> None:
    text = (DATA / "derm_unbal.835").read_text().replace("ST*835*0001", "ST*837*0001")
    with pytest.raises(WrongTransactionError) as exc:
        list(Parser835(text.encode(), "x.835").events())
    assert (exc.value.element, exc.value.segment_number, exc.value.file) == ("ST01", 3, "x.835")


def test_truncated_file_raises() -> None:
    data = (DATA / "derm_paid.835").read_bytes()
    cut = data[: data.index(b"CLP*DERM1003")]
    with pytest.raises(X12Error) as exc:
        list(Parser835(cut, "cut.835").events())
    assert exc.value.segment_id == "SE" and "truncated" in str(exc.value)


def test_malformed_amount_names_element_without_phi() -> None:
    text = (DATA / "derm_paid.835").read_text().replace("CLP*DERM1002*1*330*", "CLP*DERM1002*1*33O*")
    with pytest.raises(X12Error) as exc:
        list(Parser835(text.encode(), "bad.835").claims())
    err = exc.value
    assert (err.segment_id, err.element) == ("CLP", "CLP03")
    assert "TESTPATIENT" not in str(err) and "33O" not in str(err)


def test_segment_after_plb_raises() -> None:
    text = (DATA / "derm_paid.835").read_text().replace(
        "PLB*1234567893*20261231*L6:DERM1004*-3.50*WO:PCN251201009*50~\n",
        "PLB*1234567893*20261231*L6:DERM1004*-3.50*WO:PCN251201009*50~\nLX*2~\n")
    with pytest.raises(X12Error) as exc:
        list(Parser835(text.encode()).events())
    assert exc.value.segment_id == "LX"


def test_repr_has_no_phi() -> None:
    for c in iter_claim_payments(DATA / "derm_paid.835"):
        assert "TESTPATIENT" not in repr(c) and all("TESTPATIENT" not in repr(ln) for ln in c.lines)


# ------------------------------------------------------------------------------------------
# Streaming
# ------------------------------------------------------------------------------------------


def _big_835(path: Path, claims: int) -> None:
    head, _, _ = (DATA / "derm_paid.835").read_text().partition("LX*1~\n")
    block = ("CLP*DERM{n}*1*350*120*30*12*PCN{n}*11*1~\nNM1*QC*1*TESTPATIENT*X****MI*XW{n}~\n"
             "SVC*HC:99213*150*0**1~\nDTM*472*20260210~\nCAS*CO*97*150~\nREF*6R*L{n}~\nLQ*HE*M15~\n"
             "SVC*HC:11102*200*120**1~\nDTM*472*20260210~\nCAS*CO*45*50~\nCAS*PR*2*30~\n")
    with path.open("w") as f:
        f.write(head.replace("BPR*I*309.50", f"BPR*I*{120 * claims}") + "LX*1~\n")
        for n in range(claims):
            f.write(block.format(n=n))
        f.write("SE*1*0001~\nGE*1*101~\nIEA*1*000000101~\n")


def _peak(path: Path) -> tuple[int, int]:
    tracemalloc.start()
    try:
        parser = Parser835(path, chunk_size=16 * 1024)
        count = sum(1 for _ in parser.claims())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert parser.balance_findings == []
    return count, peak


def test_memory_is_flat_in_the_number_of_claims(tmp_path: Path) -> None:
    small, big = tmp_path / "small.835", tmp_path / "big.835"
    _big_835(small, 200)
    _big_835(big, 1_000)
    n_small, peak_small = _peak(small)
    n_big, peak_big = _peak(big)
    assert (n_small, n_big) == (200, 1_000)
    assert big.stat().st_size > 10 * 16 * 1024  # many reader chunks
    # holding the claims would cost several KB each (800 more claims: megabytes)
    assert peak_big < peak_small * 1.25


# ------------------------------------------------------------------------------------------
# Delimiters, several interchanges, generated remits
# ------------------------------------------------------------------------------------------


def _redelimit(text: str, element: str, component: str, segment: str, newline: str) -> str:
    lines = [ln for ln in text.split("~\n") if ln]
    out = []
    for ln in lines:
        els = ln.split("*")
        if els[0] == "ISA":
            els[16] = component
        else:
            els = [e.replace(":", component) for e in els]
        out.append(element.join(els))
    return segment.join(out) + segment + newline if newline else segment.join(out) + segment


def test_other_delimiters_give_the_same_claims() -> None:
    text = (DATA / "derm_paid.835").read_text()
    other = _redelimit(text, "|", ">", "\n", "")
    base = [c.as_json() for c in iter_claim_payments(text.encode())]
    parser = Parser835(other.encode(), "other.835")
    events = list(parser.events())
    assert [c.as_json() for c in claims_of(events)] == base
    assert parser.balance_findings == []
    out = io.BytesIO()
    write_events_835(events, parser.delimiters, out, parser.trailer)
    assert out.getvalue() == other.encode()


def test_several_interchanges_in_one_file() -> None:
    data = (DATA / "derm_paid.835").read_bytes() + (DATA / "derm_reversal.835").read_bytes()
    parser = Parser835(data, "two.835")
    events = list(parser.events())
    assert len([e for e in events if isinstance(e, RemitHeader)]) == 3
    assert [c.claim_id for c in claims_of(events)] == ["DERM1001", "DERM1002", "DERM1003", "DERM1004",
                                                       "DERM2001", "DERM2001", "DERM2002"]
    assert parser.transaction_count == 3 and parser.claim_count == 7 and parser.balance_findings == []
    out = io.BytesIO()
    write_events_835(events, parser.delimiters, out, parser.trailer)
    assert out.getvalue() == data


def test_phi_accessors_and_cas_overflow() -> None:
    c = next(iter(iter_claim_payments(DATA / "derm_paid.835")))
    assert c.patient_name == ("TESTPATIENT", "ALPHA") and c.member_id == "XW100000001"
    text = (DATA / "derm_paid.835").read_text().replace(
        "CAS*CO*97*150~", "CAS*CO*97*145**45*1**45*1**45*1**45*1**45*1**45*1~")
    c = next(iter(iter_claim_payments(text.encode())))
    assert len(c.lines[0].adjustments) == 6
    assert any(p.element == "CAS19" for p in c.problems)
    # the seventh triplet is not counted: 150 - (145 + 5 * 1) = 0 still balances
    assert c.lines[0].balanced


def _remit(lines: list[tuple[int, list[tuple[str, str, int]]]], plb: list[int], bpr_delta: int) -> str:
    """An 835 with one claim per entry: (paid cents, [(group, reason, cents), ...]) per line."""
    head, _, _ = (DATA / "derm_unbal.835").read_text().partition("LX*1~\n")
    body = ["LX*1"]
    total = 0
    for n, (paid, adjs) in enumerate(lines):
        charge = paid + sum(a for _, _, a in adjs)
        total += paid
        body.append(f"CLP*G{n}*1*{D(charge) / 100}*{D(paid) / 100}*0*12*P{n}*11*1")
        body.append(f"SVC*HC:17000*{D(charge) / 100}*{D(paid) / 100}**1")
        for g, r, a in adjs:
            body.append(f"CAS*{g}*{r}*{D(a) / 100}")
    if plb:
        body.append("PLB*1234567893*20261231*" + "*".join(f"WO:X{i}*{D(a) / 100}" for i, a in enumerate(plb)))
    bpr = D(total - sum(plb) + bpr_delta) / 100
    head = head.replace("BPR*I*221*", f"BPR*I*{bpr}*")
    return head + "~\n".join(body) + "~\nSE*1*0001~\nGE*1*103~\nIEA*1*000000103~\n"


try:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    adj = st.tuples(st.sampled_from(["CO", "PR", "OA"]), st.sampled_from(["45", "2", "97", "253"]),
                    st.integers(-50_000, 50_000))
    claim = st.tuples(st.integers(-100_000, 100_000), st.lists(adj, max_size=4))

    @settings(max_examples=40, deadline=None)
    @given(st.lists(claim, min_size=1, max_size=4), st.lists(st.integers(-10_000, 10_000), max_size=3),
           st.integers(-500, 500))
    def test_generated_remits_balance_exactly_when_built_balanced(
            claims: list[tuple[int, list[tuple[str, str, int]]]], plb: list[int], delta: int) -> None:
        findings = check_balance(_remit(claims, plb, delta).encode())
        if delta == 0:
            assert findings == []
        else:
            [f] = findings
            assert f.rule == "transaction" and f.difference == D(delta) / 100
except ImportError:  # pragma: no cover - hypothesis is a dev dependency
    pass


def test_parser_collects_problems_of_the_whole_file() -> None:
    parser, _ = parse("lfh__managed-care.835")
    assert [(p.segment_id, p.element) for p in parser.problems] == [("BPR", "BPR16")]  # 20002316
    parser, _ = parse("keiron__blue_cross_nc_sample.wrapped.835")
    assert [p.element for p in parser.problems] == ["SVC02", "SVC03"] and parser.problem_count == 2


def test_empty_binary_and_headless_input() -> None:
    with pytest.raises(NotX12Error):
        list(Parser835(b"", "empty.835").events())
    with pytest.raises(NotX12Error) as exc:
        list(Parser835(b"\x89PNG\r\n\x1a\n\x00\x00", "img.835").events())
    assert "binary" in str(exc.value)
    text = (DATA / "derm_unbal.835").read_text()
    no_bpr = "\n".join(ln for ln in text.split("\n") if not ln.startswith("BPR"))
    with pytest.raises(X12Error) as exc:
        list(Parser835(no_bpr.encode(), "nobpr.835").events())
    assert exc.value.segment_id == "ST" and "BPR" in exc.value.message
