"""Test helpers for X12 text: a tiny 837P text builder with any delimiters.

Used by the reader / x837 / validate / property tests.  The claims are synthetic (no real
PHI).  ``build_837`` returns bytes that validate clean under pyx12 for the default
arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

#: The shared reference material: ``../shared`` beside the checkout (as in CI), else /work/shared.
SHARED = next((p for p in (Path(__file__).resolve().parents[2] / "shared", Path("/work/shared")) if p.is_dir()),
              Path(__file__).resolve().parents[2] / "shared")


@dataclass
class LineSpec:
    code: str = "17000"
    modifiers: Sequence[str] = ()
    charge: Decimal = Decimal("100.00")
    units: Decimal = Decimal("1")
    pointers: Sequence[int] = (1,)
    date: str = "20240910"
    ndc: str = ""
    ndc_quantity: Decimal | None = None
    ndc_unit: str = "UN"


@dataclass
class ClaimSpec:
    claim_id: str = "C0001"
    pos: str = "11"
    frequency: str = "1"
    diagnoses: Sequence[str] = ("L570",)
    payer_id: str = "12345"
    payer_name: str = "MEDICARE"
    filing: str = "MB"
    rendering_npi: str = "1245319599"
    lines: Sequence[LineSpec] = field(default_factory=lambda: [LineSpec()])

    @property
    def total(self) -> Decimal:
        return sum((ln.charge for ln in self.lines), Decimal(0))


def money(d: Decimal) -> str:
    return format(d.quantize(Decimal("0.01")), "f")


def isa(element: str = "*", component: str = ":", repetition: str = "^", segment: str = "~",
        control: str = "000000001", version: str = "00501") -> str:
    e = element
    fields = ["ISA", "00", " " * 10, "00", " " * 10, "ZZ", "SUBMITTERID    ", "ZZ", "RECEIVERID     ",
              "240910", "1200", repetition, version, control, "0", "T", component]
    text = e.join(fields) + segment
    assert len(text) == 106
    return text


def transaction_segments(claims: Sequence[ClaimSpec], component: str = ":", st_control: str = "0001",
                         repetition: str = "^") -> list[list[str]]:
    c = component
    segs: list[list[str]] = [
        ["ST", "837", st_control, "005010X222A1"],
        ["BHT", "0019", "00", "BATCH1", "20240910", "1200", "CH"],
        ["NM1", "41", "2", "DERM BILLING CO", "", "", "", "", "46", "SUB123"],
        ["PER", "IC", "JANE BILLER", "TE", "5555551234"],
        ["NM1", "40", "2", "ACME CLEARINGHOUSE", "", "", "", "", "46", "RECV01"],
        ["HL", "1", "", "20", "1"],
        ["PRV", "BI", "PXC", "207N00000X"],
        ["NM1", "85", "2", "SKIN CLINIC PA", "", "", "", "", "XX", "1234567893"],
        ["N3", "100 MAIN ST"],
        ["N4", "SPRINGFIELD", "IL", "627011234"],
        ["REF", "EI", "123456789"],
    ]
    hl = 2
    for claim in claims:
        segs += [
            ["HL", str(hl), "1", "22", "0"],
            ["SBR", "P", "18", "", "", "", "", "", "", claim.filing],
            ["NM1", "IL", "1", "FAKERLY", "PAT", "", "", "", "MI", "MEMBER0001"],
            ["N3", "1 SYNTHETIC AVE"],
            ["N4", "SPRINGFIELD", "IL", "62701"],
            ["DMG", "D8", "19500101", "F"],
            ["NM1", "PR", "2", claim.payer_name, "", "", "", "", "PI", claim.payer_id],
            ["CLM", claim.claim_id, money(claim.total), "", "", c.join([claim.pos, "B", claim.frequency]),
             "Y", "A", "Y", "Y"],
        ]
        hl += 1
        hi = ["HI"] + [c.join(["ABK" if i == 0 else "ABF", dx]) for i, dx in enumerate(claim.diagnoses)]
        segs.append(hi)
        if claim.rendering_npi:
            segs += [["NM1", "82", "1", "SMITH", "ANNA", "", "", "", "XX", claim.rendering_npi],
                     ["PRV", "PE", "PXC", "207N00000X"]]
        for n, ln in enumerate(claim.lines, start=1):
            sv101 = c.join(["HC", ln.code, *ln.modifiers])
            segs += [
                ["LX", str(n)],
                ["SV1", sv101, money(ln.charge), "UN", format(ln.units.normalize(), "f"), "", "",
                 c.join(str(p) for p in ln.pointers)],
                ["DTP", "472", "D8", ln.date],
            ]
            if ln.ndc:
                segs.append(["LIN", "", "N4", ln.ndc])
                qty = ln.ndc_quantity if ln.ndc_quantity is not None else Decimal(1)
                segs.append(["CTP", "", "", "", format(qty.normalize(), "f"), ln.ndc_unit])
    segs.append(["SE", str(len(segs) + 1), st_control])
    return segs


def build_837(claims: Sequence[ClaimSpec] | None = None, *, element: str = "*", component: str = ":",
              repetition: str = "^", segment: str = "~", newline: str = "\n",
              control: str = "000000001", transactions: int = 1) -> bytes:
    """One interchange, one group, ``transactions`` transaction sets of ``claims`` each."""
    claims = list(claims) if claims is not None else [ClaimSpec()]
    out = [isa(element, component, repetition, segment, control)]
    body: list[list[str]] = [["GS", "HC", "SUBMITTERID", "RECEIVERID", "20240910", "1200", "1", "X",
                              "005010X222A1"]]
    for t in range(transactions):
        body += transaction_segments(claims, component, f"{t + 1:04d}", repetition)
    body += [["GE", str(transactions), "1"], ["IEA", "1", control]]
    for s in body:
        out.append(newline + element.join(s) + segment)
    return ("".join(out) + newline).encode("latin-1")


def pyx12_errors(source: str | Path | bytes, *, ack: bool = True) -> list[str]:
    """pyx12's 5010 verdict on an X12 file or text, plus dermedi's envelope findings, formatted;
    empty when valid.  The one pyx12 check of the tests (``ack`` is accepted for old callers:
    pyx12 validates without building an acknowledgment either way)."""
    from edi.validate import pyx12_check

    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    name = "<bytes>" if isinstance(source, bytes) else str(source)
    return [f.format() for f in pyx12_check(data, name)]
