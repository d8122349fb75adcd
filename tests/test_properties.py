"""Property tests (hypothesis): generated claims round-trip; mutated bytes only ever raise X12Error."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from x12util import ClaimSpec, LineSpec, build_837

from edi.errors import X12Error
from edi.reader import SegmentReader
from edi.validate import validate_bytes
from edi.x837 import Claim, Parser837, dotted_icd, write_events

MINIMAL = (Path(__file__).resolve().parent / "data/minimal.837").read_bytes()

DELIMITERS = [
    {"element": "*", "component": ":", "repetition": "^", "segment": "~", "newline": "\n"},
    {"element": "*", "component": ":", "repetition": "^", "segment": "~", "newline": ""},
    {"element": "|", "component": ">", "repetition": "^", "segment": "~", "newline": "\r\n"},
    {"element": "|", "component": ">", "repetition": "^", "segment": "\n", "newline": ""},
    {"element": "!", "component": "}", "repetition": "{", "segment": "'", "newline": "\n"},
]

ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2)
icd = st.builds(lambda a, b, rest: a + b + rest,
                st.sampled_from("ACDLQRZ"), st.text("0123456789", min_size=2, max_size=2),
                st.text(ALNUM, min_size=0, max_size=4))
dates = st.dates(dt.date(2020, 1, 1), dt.date(2026, 12, 31)).map(lambda d: d.strftime("%Y%m%d"))


@st.composite
def lines(draw: st.DrawFn, n_dx: int) -> LineSpec:
    drug = draw(st.booleans())
    return LineSpec(
        code=draw(st.sampled_from(["J3301", "J1040", "J9040"]) if drug else
                  st.sampled_from(["11102", "11103", "17000", "17003", "17110", "99213", "96910", "11600"])),
        modifiers=draw(st.lists(st.sampled_from(["25", "59", "XS", "RT", "LT", "JZ", "79"]), max_size=4)),
        charge=draw(money),
        units=Decimal(draw(st.integers(1, 99))),
        pointers=draw(st.lists(st.integers(1, n_dx), min_size=1, max_size=min(4, n_dx), unique=True)),
        date=draw(dates),
        ndc=draw(st.text("0123456789", min_size=11, max_size=11)) if drug else "",
        ndc_quantity=Decimal(draw(st.integers(1, 999))) if drug else None,
        ndc_unit=draw(st.sampled_from(["UN", "ML", "GR"])),
    )


@st.composite
def claims(draw: st.DrawFn) -> ClaimSpec:
    dx = draw(st.lists(icd, min_size=1, max_size=12))
    return ClaimSpec(
        claim_id=draw(st.text(ALNUM, min_size=1, max_size=20)),
        pos=draw(st.sampled_from(["11", "22", "19", "24", "31", "02", "10"])),
        frequency=draw(st.sampled_from(["1", "7", "8"])),
        diagnoses=dx,
        payer_id=draw(st.text(ALNUM, min_size=2, max_size=10)),
        payer_name=draw(st.sampled_from(["MEDICARE", "ACME HEALTH PLAN", "STATE MEDICAID"])),
        filing=draw(st.sampled_from(["MB", "MC", "CI", "BL", "HM"])),
        rendering_npi=draw(st.sampled_from(["", "1245319599"])),
        lines=draw(st.lists(lines(len(dx)), min_size=1, max_size=5)),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=st.lists(claims(), min_size=1, max_size=4), delims=st.sampled_from(DELIMITERS),
       transactions=st.integers(1, 2))
def test_generated_claims_round_trip(specs: list[ClaimSpec], delims: dict[str, str], transactions: int) -> None:
    data = build_837(specs, transactions=transactions, **delims)  # type: ignore[arg-type]
    parser = Parser837(data, "gen.837")
    events = list(parser.events())
    got = [e for e in events if isinstance(e, Claim)]
    assert len(got) == len(specs) * transactions
    assert parser.findings == []
    for spec, claim in zip(specs * transactions, got, strict=True):
        assert claim.claim_id == spec.claim_id
        assert claim.total_charge == spec.total
        assert (claim.place_of_service, claim.frequency_code) == (spec.pos, spec.frequency)
        assert claim.diagnosis_codes == [dotted_icd(c) for c in spec.diagnoses]
        assert (claim.payer_id, claim.payer_name, claim.claim_filing_indicator) == (
            spec.payer_id, spec.payer_name, spec.filing)
        assert claim.rendering_npi == spec.rendering_npi and claim.billing_npi == "1234567893"
        assert len(claim.lines) == len(spec.lines)
        for n, (ls, line) in enumerate(zip(spec.lines, claim.lines, strict=True), start=1):
            assert line.number == str(n)
            assert (line.code, line.modifiers, line.charge, line.units) == (
                ls.code, list(ls.modifiers), ls.charge, ls.units)
            assert line.pointers == list(ls.pointers)
            assert line.service_date is not None and line.service_date.strftime("%Y%m%d") == ls.date
            assert line.ndc == ls.ndc
            if ls.ndc:
                assert (line.ctp_quantity, line.ctp_unit) == (ls.ndc_quantity, ls.ndc_unit)
    out = io.BytesIO()
    write_events(events, parser.delimiters, out, parser.reader.trailer)
    assert out.getvalue() == data


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=st.lists(claims(), min_size=1, max_size=3), delims=st.sampled_from(DELIMITERS))
def test_generated_claims_validate_clean(specs: list[ClaimSpec], delims: dict[str, str]) -> None:
    result = validate_bytes(build_837(specs, **delims), "gen.837")  # type: ignore[arg-type]
    assert result.valid, [f.format() for f in result.findings]
    assert result.claims == len(specs)


mutation = st.tuples(st.sampled_from(["flip", "insert", "delete"]), st.integers(0, len(MINIMAL) - 1),
                     st.integers(0, 255))


def mutate(data: bytes, ops: list[tuple[str, int, int]]) -> bytes:
    buf = bytearray(data)
    for op, pos, value in ops:
        pos = min(pos, max(len(buf) - 1, 0))
        if op == "flip" and buf:
            buf[pos] ^= 1 << (value % 8)
        elif op == "insert":
            buf.insert(pos, value)
        elif op == "delete" and buf:
            del buf[pos]
    return bytes(buf)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(mutation, min_size=1, max_size=4))
def test_mutated_bytes_raise_only_x12_errors(ops: list[tuple[str, int, int]]) -> None:
    data = mutate(MINIMAL, ops)
    for step in (lambda: list(SegmentReader(data, "m.837")),
                 lambda: list(Parser837(data, "m.837").events()),
                 lambda: validate_bytes(data, "m.837")):
        try:
            step()
        except X12Error as exc:
            assert exc.file == "m.837"
            assert str(exc).startswith("m.837")


PAR_SOURCE = build_837([ClaimSpec(claim_id=f"R{i}", lines=[LineSpec(), LineSpec(code="17003")]) for i in range(5)],
                       transactions=2)
PAR_SEGMENTS = PAR_SOURCE.split(b"~\n")


def _result_or_error(data: bytes, **kw: object) -> list[str]:
    try:
        return [f.format() for f in validate_bytes(data, "r.837", **kw).findings]  # type: ignore[arg-type]
    except X12Error as exc:
        return ["error", str(exc)]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(drop=st.sets(st.integers(3, len(PAR_SEGMENTS) - 5), min_size=1, max_size=3),
       chunk=st.integers(1, 4))
def test_parallel_and_sequential_agree_on_damaged_files(drop: set[int], chunk: int) -> None:
    data = b"~\n".join(s for i, s in enumerate(PAR_SEGMENTS) if i not in drop)
    seq = _result_or_error(data, parallel=False)
    par = _result_or_error(data, parallel=True, workers=2, chunk_claims=chunk)
    assert par == seq
