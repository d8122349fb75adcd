"""Streaming guarantees of the fast parse path (edi.reader / edi.x837), no timing asserted.

* a transaction set of any size: the parser's HL index is bounded, so memory does not grow
  with the claims of one ST, and every claim still gets its own subscriber;
* ClaimWriter keeps every HL loop when parsed nodes are freed (id() reuse);
* the block splitter gives the same segments whatever the whitespace after terminators.
"""

from __future__ import annotations

import importlib.util
import io
import tracemalloc
from pathlib import Path
from types import ModuleType

import pytest

from edi import x837
from edi.reader import SegmentReader
from edi.x837 import ClaimWriter, Parser837

ROOT = Path(__file__).resolve().parent.parent


def _gen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_claims", ROOT / "bench" / "gen_claims.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _one_st_file(claims: int) -> bytes:
    return "".join(_gen().generate(claims, seed=3, claims_per_st=claims)).encode("latin-1")


def _peak_parse_bytes(path: Path) -> tuple[int, int]:
    parser = Parser837(path, "big")
    parser.reader.chunk_size = 1 << 14      # several blocks for both sizes
    tracemalloc.start()
    try:
        n = sum(1 for _ in parser.claims())
        return n, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_claims_of_one_transaction_set(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a small HL index so that small files show the effect (tracemalloc is slow)
    monkeypatch.setattr(x837, "_HL_INDEX_MAX", 64)
    monkeypatch.setattr(x837, "_HL_INDEX_KEEP", 32)
    small, big = tmp_path / "small.837", tmp_path / "big.837"
    small.write_bytes(_one_st_file(150))
    big.write_bytes(_one_st_file(600))
    n_small, peak_small = _peak_parse_bytes(small)
    n_big, peak_big = _peak_parse_bytes(big)
    assert (n_small, n_big) == (150, 600)
    # 4x the claims in one ST: the peak stays about the same (it grew ~4x before the HL
    # index was bounded)
    assert peak_big < peak_small * 1.5, (peak_small, peak_big)


def test_every_claim_keeps_its_own_subscriber_in_a_large_transaction_set() -> None:
    data = _one_st_file(3000)
    seen_subscribers: set[int] = set()
    for claim in Parser837(data, "big").claims():
        assert claim.subscriber is not None and claim.billing is not None
        hl = claim.subscriber.hl
        assert hl.get(3) == "22" and hl.get(2) == claim.billing.hl.get(1)
        # the subscriber loop is the one right before the claim (or its patient's parent)
        seen_subscribers.add(hl.number)
    assert len(seen_subscribers) == 3000


def test_claimwriter_keeps_every_hl_loop_when_parsed_nodes_are_freed() -> None:
    # Writing every claim of a canonical file reproduces it exactly; the HL loops of early
    # subscribers are freed while parsing, and their id() values are reused by new nodes.
    data = _one_st_file(2500)
    parser = Parser837(data, "big")
    out = io.BytesIO()
    writer: ClaimWriter | None = None
    for claim in parser.claims():
        if writer is None:
            writer = ClaimWriter(out, parser.delimiters)
        writer.write(claim)
    assert writer is not None
    writer.close()
    assert out.getvalue() == data


@pytest.mark.parametrize("after", ["", "\n", "\r\n"])
@pytest.mark.parametrize("extra", ["", "\n", " ", "\r\n\n"])
def test_block_split_keeps_segments_and_whitespace(after: str, extra: str) -> None:
    base = _one_st_file(40).decode("latin-1").replace("~\n", "~")
    parts = base.split("~")
    # every 7th segment gets extra whitespace before it, all get `after`
    text = parts[0] + "".join("~" + after + (extra if i % 7 == 0 else "") + p for i, p in enumerate(parts[1:], 1))
    data = text.encode("latin-1")
    for chunk in (64, 1000, 1 << 20):
        reader = SegmentReader(data, "ws", chunk_size=chunk)
        segs = list(reader)
        assert len(segs) == len([p for p in parts if p.strip()])
        rebuilt = "".join(s.pre + "*".join(s.elements) + "~" for s in segs) + reader.trailer
        assert rebuilt == text
        for s in segs:
            assert text[s.offset:s.offset + 3].rstrip("*") == s.elements[0]


def test_non_ascii_digit_in_a_pointer_is_a_finding_not_a_crash(minimal_837: bytes) -> None:
    data = minimal_837.replace(b"SV1*HC:17003*50.00*UN*2***1~", b"SV1*HC:17003*50.00*UN*2***\xb2~")
    claim = next(iter(Parser837(data, "ptr").claims()))
    assert [f.element for f in claim.problems] == ["SV107"]
    assert claim.lines[1].pointers == []
