"""A small 837P (005010X222A1) builder from plain claim specs (dicts or YAML).

Used by the rule-case runner and the tests, and handy for demos: every file it writes
validates under pyx12's 5010 maps.  One billing provider (2000A) holds every claim; each
claim gets its own subscriber loop (2000B, the patient is the subscriber).  Patient and
subscriber data are synthetic placeholders, never real PHI.

Claim spec keys (all optional except ``lines``)::

    claim_id: "C001"                 # CLM01 (default C0001, C0002, ...)
    payer: medicare                  # medicare | medicaid | commercial | an SBR09 code (MB, MC, CI, BL, ...)
    payer_id: "12345"                # NM1*PR 09
    payer_name: "MEDICARE"
    dos: 2024-09-10                  # default date of service for lines without ``date``
    diagnoses: [L57.0, C44.311]      # ICD-10-CM, with or without the dot; the first is ABK
    dx_qualifier: ABK                # BK = send the codes with ICD-9 qualifiers BK/BF (tests)
    pos: "11"                        # place of service (CLM05-1)
    frequency: "1"                   # CLM05-3
    original_claim_ref: "PCN123"     # REF*F8 payer claim control number (any frequency; tests)
    billing_state: "IL"              # 2010AA N4 state (first claim of a file; default IL)
    facility_state: "CA"             # 2310C service facility N4 state (loop omitted by default)
    total_charge: 150.00             # CLM02 (default: the sum of the line charges)
    billing_npi: "1234567893"
    ein: "123456789"
    rendering_npi: "1245319599"      # 2310B (omitted when empty)
    lines:
      - code: "17000"                # SV101-2
        qualifier: HC                # SV101-1
        modifiers: ["25"]            # SV101-3..6
        units: 1                     # SV104
        charge: 100.00               # SV102
        pointers: [1]                # SV107 (default [1])
        date: 2024-09-10             # DTP*472 (default: the claim's dos)
        pos: "11"                    # SV105 (omitted by default)
        ndc: "00002143380"           # LIN*N4 (2410)
        ndc_qualifier: N4            # LIN02 (default N4)
        description: "DRUG 10 MG"    # SV101-7 (NOC drug description)
        ctp: {quantity: 1, unit: ML} # CTP04 / CTP05-1
        rendering_npi: "..."         # 2420A
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

DEFAULT_DOS = date(2024, 9, 10)
_PAYERS: dict[str, tuple[str, str, str]] = {
    # payer keyword -> (SBR09, payer name, payer id)
    "medicare": ("MB", "MEDICARE PART B", "MCR01"),
    "medicaid": ("MC", "STATE MEDICAID", "MCD01"),
    "commercial": ("CI", "ACME HEALTH PLAN", "COM01"),
}


def _money(value: Any) -> str:
    d = value if isinstance(value, Decimal) else Decimal(str(value))
    d = d.quantize(Decimal("0.01"))
    return format(d, "f")


def _number(value: Any) -> str:
    d = value if isinstance(value, Decimal) else Decimal(str(value))
    if d == d.to_integral_value():
        return str(int(d))
    return format(d.normalize(), "f")


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    s = str(value)
    if len(s) == 8 and s.isdigit():
        return date(int(s[:4]), int(s[4:6]), int(s[6:]))
    return date.fromisoformat(s)


def _d8(value: date) -> str:
    return value.strftime("%Y%m%d")


def _icd(code: Any) -> str:
    return str(code).replace(".", "").strip().upper()


def claim_segments(spec: Mapping[str, Any], index: int = 1, component: str = ":") -> list[list[str]]:
    """The 2300/2400 segments (as element lists) of one claim spec."""
    lines: Sequence[Mapping[str, Any]] = spec.get("lines") or []
    if not lines:
        raise ValueError("a claim spec needs at least one line")
    dos = _date(spec.get("dos", DEFAULT_DOS))
    charges = [Decimal(str(ln.get("charge", "100.00"))) for ln in lines]
    total = spec.get("total_charge")
    total_s = _money(total if total is not None else sum(charges, Decimal("0")))
    claim_id = str(spec.get("claim_id") or f"C{index:04d}")
    pos = str(spec.get("pos", "11"))
    freq = str(spec.get("frequency", "1"))
    segs: list[list[str]] = [
        ["CLM", claim_id, total_s, "", "", component.join([pos, "B", freq]), "Y", "A", "Y", "Y"],
    ]
    if spec.get("original_claim_ref"):
        segs.append(["REF", "F8", str(spec["original_claim_ref"])])
    dx = [_icd(c) for c in (spec.get("diagnoses") or ["L570"])]
    if len(dx) > 12:
        raise ValueError("at most 12 diagnoses")
    icd9 = str(spec.get("dx_qualifier", "ABK")).upper() == "BK"       # BK/BF (ICD-9-CM) for tests
    hi = ["HI"] + [component.join([("BK" if icd9 else "ABK") if i == 0 else ("BF" if icd9 else "ABF"), c])
                   for i, c in enumerate(dx)]
    segs.append(hi)
    rnpi = spec.get("rendering_npi", "1245319599")
    if rnpi:
        segs.append(["NM1", "82", "1", "SMITH", "ANNA", "", "", "", "XX", str(rnpi)])
        segs.append(["PRV", "PE", "PXC", "207N00000X"])
    if spec.get("facility_state"):                                  # 2310C service facility location
        segs.append(["NM1", "77", "2", "SKIN CLINIC SATELLITE", "", "", "", "", "XX", "1234567893"])
        segs.append(["N3", "200 OAK ST"])
        segs.append(["N4", "SOMETOWN", str(spec["facility_state"]).upper(), "000011234"])
    for n, (ln, charge) in enumerate(zip(lines, charges, strict=True), start=1):
        code = str(ln["code"]).strip().upper()
        mods = [str(m).strip().upper() for m in (ln.get("modifiers") or [])][:4]
        proc = component.join([str(ln.get("qualifier", "HC")), code, *mods])
        if ln.get("description"):                                   # SV101-7
            proc = component.join([str(ln.get("qualifier", "HC")), code, *(mods + [""] * (4 - len(mods))),
                                   str(ln["description"])])
        pointers = ln.get("pointers")
        if pointers is None:
            pointers = [1]
        ptr = component.join(str(p) for p in pointers)
        sv1 = ["SV1", proc, _money(charge), str(ln.get("unit_basis", "UN")), _number(ln.get("units", 1)),
               str(ln.get("pos", "")), "", ptr]
        while sv1 and sv1[-1] == "":
            sv1.pop()
        segs.append(["LX", str(n)])
        segs.append(sv1)
        segs.append(["DTP", "472", "D8", _d8(_date(ln.get("date", dos)))])
        if ln.get("ndc"):
            segs.append(["LIN", "", str(ln.get("ndc_qualifier", "N4")), str(ln["ndc"])])
            ctp = ln.get("ctp") or {"quantity": 1, "unit": "UN"}
            segs.append(["CTP", "", "", "", _number(ctp.get("quantity", 1)), str(ctp.get("unit", "UN"))])
        if ln.get("rendering_npi"):
            segs.append(["NM1", "82", "1", "JONES", "PAT", "", "", "", "XX", str(ln["rendering_npi"])])
    return segs


def build_837(claims: Iterable[Mapping[str, Any]], *, sender: str = "SUBMITTERID", receiver: str = "RECEIVERID",
              control: int = 1, file_date: date | None = None, usage: str = "T", newlines: bool = True,
              billing_npi: str = "1234567893", ein: str = "123456789") -> str:
    """An 837P interchange (one ISA/GS/ST) holding every claim spec, as text."""
    fd = file_date or date(2024, 9, 12)
    sep = "~\n" if newlines else "~"
    out: list[list[str]] = []
    isa = ["ISA", "00", " " * 10, "00", " " * 10, "ZZ", sender.ljust(15), "ZZ", receiver.ljust(15),
           fd.strftime("%y%m%d"), "1200", "^", "00501", f"{control:09d}", "0", usage, ":"]
    st_body: list[list[str]] = [
        ["ST", "837", "0001", "005010X222A1"],
        ["BHT", "0019", "00", f"B{control}", _d8(fd), "1200", "CH"],
        ["NM1", "41", "2", "DERM BILLING CO", "", "", "", "", "46", "SUB123"],
        ["PER", "IC", "BILLING OFFICE", "TE", "5555551234"],
        ["NM1", "40", "2", "ACME CLEARINGHOUSE", "", "", "", "", "46", "RECV01"],
    ]
    claims = list(claims)
    first = claims[0] if claims else {}
    hl = 1
    st_body += [
        ["HL", "1", "", "20", "1"],
        ["PRV", "BI", "PXC", "207N00000X"],
        ["NM1", "85", "2", "SKIN CLINIC PA", "", "", "", "", "XX", str(first.get("billing_npi", billing_npi))],
        ["N3", "100 MAIN ST"],
        ["N4", "SPRINGFIELD", str(first.get("billing_state", "IL")).upper(), "627011234"],
        ["REF", "EI", str(first.get("ein", ein))],
    ]
    for i, spec in enumerate(claims, start=1):
        hl += 1
        payer = str(spec.get("payer", "medicare"))
        sbr09, pname, pid = _PAYERS.get(payer.lower(), (payer.upper(), "OTHER PAYER", "OTH01"))
        pname = str(spec.get("payer_name", pname))
        pid = str(spec.get("payer_id", pid))
        st_body += [
            ["HL", str(hl), "1", "22", "0"],
            ["SBR", "P", "18", "", "", "", "", "", "", sbr09],
            ["NM1", "IL", "1", "PATIENT", "TEST", "", "", "", "MI", f"TEST{i:06d}"],
            ["N3", "1 TEST ST"],
            ["N4", "SPRINGFIELD", "IL", "62701"],
            ["DMG", "D8", "19500101", "U"],
            ["NM1", "PR", "2", pname, "", "", "", "", "PI", pid],
        ]
        st_body += claim_segments(spec, i)
    st_body.append(["SE", str(len(st_body) + 1), "0001"])
    out = [isa, ["GS", "HC", sender, receiver, _d8(fd), "1200", str(control), "X", "005010X222A1"], *st_body,
           ["GE", "1", str(control)], ["IEA", "1", f"{control:09d}"]]
    return sep.join("*".join(s) for s in out) + sep


def build_837_bytes(claims: Iterable[Mapping[str, Any]], **kwargs: Any) -> bytes:
    return build_837(claims, **kwargs).encode("latin-1")


def build_from_yaml(path: str | Path, **kwargs: Any) -> str:
    """Build from a YAML file holding either one claim spec or ``{claims: [...]}``."""
    import yaml

    data = yaml.safe_load(Path(path).read_text())
    claims = data["claims"] if isinstance(data, dict) and "claims" in data else [data]
    return build_837(claims, **kwargs)


def build_claim(spec: Mapping[str, Any]) -> Any:
    """Parse one claim spec into an :class:`edi.x837.Claim` (handy in tests)."""
    from edi.x837 import Parser837

    return next(Parser837(build_837_bytes([spec]), "spec.837").claims())
