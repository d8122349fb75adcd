"""edi.x837: parse -> write_events byte for byte; ClaimWriter subsets stay valid 837Ps."""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from x12util import ClaimSpec, LineSpec, build_837

from edi.errors import WrongTransactionError, X12Error
from edi.reader import SegmentReader
from edi.x837 import Claim, ClaimWriter, Parser837, TransactionHeader, write_events

ROOT = Path(__file__).resolve().parent.parent

CLAIMS = [
    ClaimSpec(claim_id="K1", diagnoses=["L570", "D485"], lines=[LineSpec(), LineSpec(code="17003",
                                                                                      units=Decimal("2"))]),
    ClaimSpec(claim_id="K2", pos="22", frequency="7", rendering_npi="",
              lines=[LineSpec(code="J3301", modifiers=["JZ"], charge=Decimal("12.50"), ndc="00003029305",
                              ndc_quantity=Decimal("1"), ndc_unit="ML")]),
    ClaimSpec(claim_id="K3", filing="CI", payer_id="60054", payer_name="ACME HEALTH PLAN",
              lines=[LineSpec(code="11102", modifiers=["59", "XS"], pointers=[1, 2])], diagnoses=["D485", "L821"]),
]

VARIANTS: dict[str, dict[str, Any]] = {
    "tilde-newline": {},
    "tilde-crlf": {"newline": "\r\n"},
    "no-newline": {"newline": ""},
    "pipe-gt-newline-terminator": {"element": "|", "component": ">", "segment": "\n", "newline": ""},
    "three-transactions": {"transactions": 3},
}


def roundtrip(data: bytes) -> bytes:
    parser = Parser837(data, "rt.837")
    events = list(parser.events())          # the trailer is known once the file is read
    out = io.BytesIO()
    write_events(events, parser.delimiters, out, parser.reader.trailer)
    return out.getvalue()


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_write_events_reproduces_the_bytes(variant: str) -> None:
    data = build_837(CLAIMS, **VARIANTS[variant])  # type: ignore[arg-type]
    assert roundtrip(data) == data


@pytest.mark.parametrize("path", [ROOT / "tests/data/minimal.837", *sorted((ROOT / "samples").glob("*.837"))],
                         ids=lambda p: p.name)
def test_write_events_reproduces_real_files(path: Path) -> None:
    data = path.read_bytes()
    assert roundtrip(data) == data


def test_fields_are_parsed() -> None:
    claims = list(Parser837(build_837(CLAIMS), "f.837").claims())
    k1, k2, k3 = claims
    assert k1.claim_id == "K1" and k1.total_charge == Decimal("200.00")
    assert k1.diagnosis_codes == ["L57.0", "D48.5"]
    assert [ln.code for ln in k1.lines] == ["17000", "17003"] and k1.lines[1].units == Decimal("2")
    assert k1.rendering_npi == "1245319599" and k1.billing_npi == "1234567893"
    assert (k2.place_of_service, k2.frequency_code, k2.rendering_npi) == ("22", "7", "")
    assert (k2.lines[0].ndc, k2.lines[0].ctp_quantity, k2.lines[0].ctp_unit) == ("00003029305", Decimal(1), "ML")
    assert k2.lines[0].modifiers == ["JZ"] and k2.lines[0].charge == Decimal("12.50")
    assert (k3.payer_id, k3.payer_name, k3.claim_filing_indicator) == ("60054", "ACME HEALTH PLAN", "CI")
    assert k3.lines[0].pointers == [1, 2] and k3.lines[0].modifiers == ["59", "XS"]


def test_multi_transaction_files() -> None:
    data = build_837(CLAIMS, transactions=3)
    parser = Parser837(data, "m.837")
    events = list(parser.events())
    headers = [e for e in events if isinstance(e, TransactionHeader)]
    claims = [e for e in events if isinstance(e, Claim)]
    assert [h.control_number for h in headers] == ["0001", "0002", "0003"]
    assert [c.claim_id for c in claims] == ["K1", "K2", "K3"] * 3
    assert {c.header.control_number for c in claims[3:6]} == {"0002"}
    assert parser.findings == []


def write_subset(data: bytes, keep: Callable[[int, Claim], bool], **kw: object) -> tuple[bytes, ClaimWriter]:
    parser = Parser837(data, "src.837")
    out = io.BytesIO()
    claims = parser.claims()
    first = next(claims)                     # the delimiters are known after the ISA
    writer = ClaimWriter(out, parser.delimiters, **kw)  # type: ignore[arg-type]
    writer.origins = []
    for i, claim in enumerate(itertools.chain([first], claims)):
        if keep(i, claim):
            writer.write(claim)
    writer.close()
    return out.getvalue(), writer


@pytest.mark.parametrize("variant", ["tilde-newline", "pipe-gt-newline-terminator", "three-transactions"])
def test_claimwriter_subsets_validate(variant: str, assert_pyx12_valid: Callable[..., None]) -> None:
    data = build_837(CLAIMS, **VARIANTS[variant])  # type: ignore[arg-type]
    written, writer = write_subset(data, lambda i, c: i % 3 != 1)      # drop every K2
    assert_pyx12_valid(written, "subset.837")
    claims = list(Parser837(written, "subset.837").claims())
    n_sets = VARIANTS[variant].get("transactions", 1)
    assert [c.claim_id for c in claims] == ["K1", "K3"] * int(n_sets)  # type: ignore[call-overload]
    # HL numbers recomputed 1..n inside each transaction set, parents point to the 2000A
    hls = [s for s in SegmentReader(written) if s.id == "HL"]
    assert [h.get(1) for h in hls] == ["1", "2", "3"] * int(n_sets)  # type: ignore[call-overload]
    assert [h.get(2) for h in hls] == ["", "1", "1"] * int(n_sets)  # type: ignore[call-overload]
    # every written segment maps to a source segment with the same id (0 = made-up trailer)
    src = list(SegmentReader(data))
    out = list(SegmentReader(written))
    assert writer.origins is not None and len(writer.origins) == len(out)
    for seg, origin in zip(out, writer.origins, strict=True):
        if origin == 0:
            assert seg.id in ("SE", "GE", "IEA")
        else:
            assert src[origin - 1].id == seg.id


def test_claimwriter_single_claim_and_control_number(assert_pyx12_valid: Callable[..., None]) -> None:
    data = build_837(CLAIMS)
    written, _ = write_subset(data, lambda i, c: c.claim_id == "K3", isa_control=42)
    assert_pyx12_valid(written)
    segs = list(SegmentReader(written))
    assert segs[0].get(13) == "000000042" and segs[-1].get(2) == "000000042"
    assert [c.claim_id for c in Parser837(written).claims()] == ["K3"]


def test_claimwriter_writes_nothing_without_claims() -> None:
    written, writer = write_subset(build_837(CLAIMS), lambda i, c: False)
    assert written == b"" and writer.claims_written == 0


def test_an_835_is_a_wrong_transaction_for_the_837_parser() -> None:
    path = ROOT / "tests/data/835/derm_paid.835"
    with pytest.raises(WrongTransactionError) as exc:
        list(Parser837(path).events())
    assert exc.value.segment_id == "GS" and exc.value.element == "GS08" and exc.value.segment_number == 2


def test_structure_errors_are_located() -> None:
    data = build_837(CLAIMS)
    bad = data.replace(b"HL*2*1*22*0", b"HL*2*9*22*0", 1)       # parent that does not exist
    with pytest.raises(X12Error) as exc:
        list(Parser837(bad, "hl.837").claims())
    assert (exc.value.segment_id, exc.value.element, exc.value.file) == ("HL", "HL02", "hl.837")
    n = exc.value.segment_number
    assert n is not None and list(SegmentReader(data))[n - 1].id == "HL"


# --- one-claim interchanges and the content hash taken while writing (issue #10) ---------------

def _interchange_inputs() -> list[tuple[str, bytes]]:
    from test_tolerant_reader import CASES_837

    from edi.build import build_837

    root = Path(__file__).resolve().parent.parent
    inputs = [(p.name, p.read_bytes()) for p in sorted((root / "samples").glob("*.837"))]
    specs = [{"claim_id": f"T{i}", "diagnoses": ["L57.0", "C44.311"],
              "lines": [{"code": "17000"}, {"code": "17003", "units": 2}]} for i in range(1, 4)]
    base = build_837(specs, newlines=False)
    inputs += [(case, fn(base).encode()) for case, (fn, _) in sorted(CASES_837.items())]
    inputs.append(("newlines", build_837(specs, newlines=True).encode("latin-1")))
    return inputs


@pytest.mark.parametrize("name,data", _interchange_inputs(), ids=lambda v: v if isinstance(v, str) else "")
def test_claim_interchange_is_what_a_one_claim_writer_writes(name: str, data: bytes) -> None:
    from edi.x837 import claim_interchange

    parser = Parser837(data, name)
    n = 0
    for claim in parser.claims():
        buf = io.BytesIO()
        writer = ClaimWriter(buf, parser.delimiters)
        writer.write(claim)
        writer.close()
        assert claim_interchange(claim, parser.delimiters) == buf.getvalue().decode("latin-1"), claim.claim_id
        n += 1
    assert n > 0


@pytest.mark.parametrize("name,data", _interchange_inputs(), ids=lambda v: v if isinstance(v, str) else "")
def test_canonical_hash_is_the_hash_of_the_file_written_with_control_number_zero(name: str, data: bytes) -> None:
    import hashlib

    parser = Parser837(data, name)
    claims = list(parser.claims())
    zero, real = io.BytesIO(), io.BytesIO()
    h = hashlib.sha256()
    w0 = ClaimWriter(zero, parser.delimiters, isa_control=0, usage_indicator="T", merge_envelopes=True)
    w1 = ClaimWriter(real, parser.delimiters, isa_control=123456789, usage_indicator="T", merge_envelopes=True,
                     canonical_hash=h)
    for claim in claims:
        w0.write(claim)
        w1.write(claim)
        assert w1.canonical_size == len(zero.getvalue()) + sum(map(len, w0._buf))
    w0.close()
    w1.close()
    assert b"123456789" in real.getvalue() and real.getvalue() != zero.getvalue()
    assert h.hexdigest() == hashlib.sha256(zero.getvalue()).hexdigest()
    assert w1.size == len(real.getvalue()) and w1.canonical_size == len(zero.getvalue())
