"""Seeded generator of large, realistic dermatology 837P files for the benchmark.

Used by ``bench/run.py`` when ``samples/generate.py`` (the project's own sample
generator) is not available.  Fast text templates, so a 100k-claim file is written in
a few seconds; every claim id is unique (``D`` + sequence), the envelope counts are
right, NPIs carry valid Luhn check digits, and the mix is typical of a dermatology
practice: E/M with -25, actinic keratosis destruction (17000/17003/17004), biopsies
(11102-11107), shave removals, benign and malignant excisions with repairs, Mohs
(17311/17312), intralesional injections with triamcinolone (J3301 + NDC in 2410),
phototherapy, patch tests, and dependants under a 2000C patient loop.

    python bench/gen_claims.py --claims 100000 --out bench/data/claims-100000.837 [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

CLAIMS_PER_ST = 5000

# (procedure code, modifiers, unit charge, units range, pointer count, with NDC)
Line = tuple[str, str, Decimal, tuple[int, int], int, bool]

_SCENARIOS: list[tuple[int, list[str], list[Line]]] = [
    # weight, diagnoses, lines
    (20, ["L570", "L821"], [
        ("99213", "25", Decimal("118.00"), (1, 1), 2, False),
        ("17000", "", Decimal("96.00"), (1, 1), 1, False),
        ("17003", "", Decimal("9.50"), (2, 13), 1, False),
    ]),
    (10, ["L570"], [
        ("17004", "", Decimal("265.00"), (1, 1), 1, False),
    ]),
    (14, ["D485", "L821"], [
        ("99203", "25", Decimal("165.00"), (1, 1), 2, False),
        ("11102", "", Decimal("132.00"), (1, 1), 1, False),
        ("11103", "", Decimal("74.00"), (1, 3), 1, False),
    ]),
    (8, ["D485"], [
        ("11104", "", Decimal("158.00"), (1, 1), 1, False),
        ("11105", "", Decimal("88.00"), (1, 2), 1, False),
    ]),
    (10, ["C44311", "D485"], [
        ("17311", "", Decimal("1150.00"), (1, 1), 1, False),
        ("17312", "", Decimal("620.00"), (1, 1), 1, False),
        ("13132", "51", Decimal("780.00"), (1, 1), 1, False),
    ]),
    (8, ["C4441", "D225"], [
        ("11602", "", Decimal("410.00"), (1, 1), 1, False),
        ("12032", "51", Decimal("390.00"), (1, 1), 1, False),
    ]),
    (6, ["D2239", "L720"], [
        ("11402", "", Decimal("295.00"), (1, 1), 2, False),
    ]),
    (6, ["L821"], [
        ("11300", "", Decimal("110.00"), (1, 1), 1, False),
        ("11301", "59", Decimal("135.00"), (1, 1), 1, False),
    ]),
    (8, ["L700", "L900"], [
        ("99214", "25", Decimal("182.00"), (1, 1), 2, False),
        ("11900", "", Decimal("98.00"), (1, 1), 1, False),
        ("J3301", "", Decimal("4.25"), (1, 4), 1, True),
    ]),
    (5, ["L400"], [
        ("96910", "", Decimal("94.00"), (1, 1), 1, False),
    ]),
    (5, ["L239", "L309"], [
        ("95044", "", Decimal("11.00"), (20, 80), 2, False),
    ]),
    (10, ["L209", "L219"], [
        ("99212", "", Decimal("78.00"), (1, 1), 2, False),
    ]),
]
_WEIGHTS = [w for w, _, _ in _SCENARIOS]
_NDC = "00003029305"  # Kenalog-10 (triamcinolone acetonide 10 mg/mL, 5 mL vial)

_PAYERS = [
    ("MEDICARE PART B", "04412", "MB", ""),
    ("BLUE CROSS", "00590", "BL", "GRP44120"),
    ("AETNA", "60054", "CI", "GRP77310"),
    ("UNITEDHEALTHCARE", "87726", "CI", "GRP10055"),
    ("MEDICAID", "77027", "MC", ""),
]
_LAST = ["SMITH", "JOHNSON", "WILLIAMS", "BROWN", "JONES", "GARCIA", "MILLER", "DAVIS", "LOPEZ",
         "WILSON", "ANDERSON", "THOMAS", "TAYLOR", "MOORE", "JACKSON", "MARTIN", "LEE", "WALKER"]
_FIRST = ["MARY", "JAMES", "PATRICIA", "ROBERT", "LINDA", "MICHAEL", "BARBARA", "DAVID", "SUSAN",
          "WILLIAM", "KAREN", "RICHARD", "NANCY", "JOSEPH", "LISA", "THOMAS", "BETTY", "DANIEL"]
_STREETS = ["OAK ST", "MAPLE AVE", "PINE RD", "CEDAR LN", "ELM ST", "LAKE DR", "HILL RD"]
_CITIES = [("SPRINGFIELD", "IL", "62701"), ("PEORIA", "IL", "61602"), ("MADISON", "WI", "53703"),
           ("DAVENPORT", "IA", "52801"), ("ROCKFORD", "IL", "61101")]


def npi_with_check(base9: str) -> str:
    """A 10-digit NPI with its Luhn check digit (prefix 80840)."""
    digits = [int(c) for c in "80840" + base9]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return base9 + str((10 - total % 10) % 10)


def generate(claims: int, seed: int = 1, claims_per_st: int = CLAIMS_PER_ST) -> Iterator[str]:
    """Yield the file as text chunks (one transaction set's pieces at a time)."""
    rng = random.Random(seed)
    billing_npi = npi_with_check("123456789")
    renderers = [npi_with_check(f"{150000000 + i * 7919:09d}") for i in range(8)]
    start = date(2026, 1, 5)
    isa_ctl = f"{seed % 1000000000:09d}"
    isa = (f"ISA*00*          *00*          *ZZ*{'DERMCLINIC':<15}*ZZ*{'CLEARINGHOUSE':<15}*260110*1200*^*00501*"
           f"{isa_ctl}*0*T*:~\n")
    yield isa
    yield "GS*HC*DERMCLINIC*CLEARINGHOUSE*20260110*1200*1*X*005010X222A1~\n"
    seq = 0
    st_count = 0
    while seq < claims:
        st_count += 1
        n_here = min(claims_per_st, claims - seq)
        st_ctl = f"{st_count:04d}"
        out: list[str] = [
            f"ST*837*{st_ctl}*005010X222A1~",
            f"BHT*0019*00*B{seed}{st_ctl}*20260110*1200*CH~",
            "NM1*41*2*SKIN AND MOHS CENTER*****46*DERMCLINIC~",
            "PER*IC*BILLING OFFICE*TE*2175550100~",
            "NM1*40*2*CLEARINGHOUSE INC*****46*CLEARINGHOUSE~",
            "HL*1**20*1~",
            "PRV*BI*PXC*207N00000X~",
            f"NM1*85*2*SKIN AND MOHS CENTER*****XX*{billing_npi}~",
            "N3*200 MEDICAL PLAZA~",
            "N4*SPRINGFIELD*IL*627011234~",
            "REF*EI*371234567~",
        ]
        hl = 1
        for _ in range(n_here):
            seq += 1
            payer, payer_id, filing, group = _PAYERS[rng.randrange(len(_PAYERS))]
            dependent = filing != "MB" and rng.random() < 0.15
            last = _LAST[rng.randrange(len(_LAST))]
            city, state, zipc = _CITIES[rng.randrange(len(_CITIES))]
            addr = f"{rng.randint(1, 9999)} {_STREETS[rng.randrange(len(_STREETS))]}"
            member = f"M{rng.randint(10**9, 10**10 - 1)}"
            sub_hl = hl + 1
            hl = sub_hl
            out.append(f"HL*{sub_hl}*1*22*{1 if dependent else 0}~")
            out.append(f"SBR*{'P'}*{'' if dependent else '18'}*{group}******{filing}~")
            sub_first = _FIRST[rng.randrange(len(_FIRST))]
            out.append(f"NM1*IL*1*{last}*{sub_first}****MI*{member}~")
            out.append(f"N3*{addr}~")
            out.append(f"N4*{city}*{state}*{zipc}~")
            birth = date(1930, 1, 1) + timedelta(days=rng.randrange(365 * (60 if filing == "MB" else 70)))
            if filing == "MB":
                birth = date(1930, 1, 1) + timedelta(days=rng.randrange(365 * 25))
            out.append(f"DMG*D8*{birth:%Y%m%d}*{'F' if rng.random() < 0.5 else 'M'}~")
            out.append(f"NM1*PR*2*{payer}*****PI*{payer_id}~")
            if dependent:
                hl += 1
                out.append(f"HL*{hl}*{sub_hl}*23*0~")
                out.append("PAT*19~")
                out.append(f"NM1*QC*1*{last}*{_FIRST[rng.randrange(len(_FIRST))]}~")
                out.append(f"N3*{addr}~")
                out.append(f"N4*{city}*{state}*{zipc}~")
                dob = date(2008, 1, 1) + timedelta(days=rng.randrange(365 * 15))
                out.append(f"DMG*D8*{dob:%Y%m%d}*{'F' if rng.random() < 0.5 else 'M'}~")
            _w, dx, lines = rng.choices(_SCENARIOS, weights=_WEIGHTS)[0]
            dos = start + timedelta(days=rng.randrange(120))
            dos_s = f"{dos:%Y%m%d}"
            body: list[str] = []
            total = Decimal(0)
            for n, (code, mod, unit_charge, (lo, hi), nptr, ndc) in enumerate(lines, start=1):
                units = rng.randint(lo, hi)
                charge = unit_charge * units
                total += charge
                proc = f"HC:{code}:{mod}" if mod else f"HC:{code}"
                ptr = ":".join(str(i) for i in range(1, min(nptr, len(dx)) + 1))
                body.append(f"LX*{n}~")
                body.append(f"SV1*{proc}*{charge}*UN*{units}***{ptr}~")
                body.append(f"DTP*472*D8*{dos_s}~")
                if ndc:
                    body.append(f"LIN**N4*{_NDC}~")
                    body.append(f"CTP****{units}*ML~")
            claim_id = f"D{seed:02d}{seq:09d}"
            out.append(f"CLM*{claim_id}*{total}***11:B:1*Y*A*Y*Y~")
            if rng.random() < 0.05:
                out.append(f"REF*G1*PA{rng.randint(100000, 999999)}~")
            out.append("HI*" + "*".join(("ABK:" if i == 0 else "ABF:") + c for i, c in enumerate(dx)) + "~")
            out.append(f"NM1*82*1*{_LAST[rng.randrange(len(_LAST))]}*{_FIRST[rng.randrange(len(_FIRST))]}****XX*"
                       f"{renderers[rng.randrange(len(renderers))]}~")
            out.append("PRV*PE*PXC*207ND0101X~")
            out.extend(body)
        out.append(f"SE*{len(out) + 1}*{st_ctl}~")
        yield "\n".join(out) + "\n"
    yield f"GE*{st_count}*1~\n"
    yield f"IEA*1*{isa_ctl}~\n"


def write_file(path: str | Path, claims: int, seed: int = 1, claims_per_st: int = CLAIMS_PER_ST) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with p.open("w", encoding="latin-1", newline="") as fh:
        for chunk in generate(claims, seed, claims_per_st):
            fh.write(chunk)
    return p


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--claims", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--claims-per-st", type=int, default=CLAIMS_PER_ST)
    args = ap.parse_args(argv)
    write_file(args.out, args.claims, args.seed, args.claims_per_st)
    return 0


if __name__ == "__main__":
    sys.exit(main())
