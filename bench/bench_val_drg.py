"""Throughput of the VAL and DRG rule families (CPU time, best of three passes).

    python bench/bench_val_drg.py [FILE.837] [--claims 20000]

Without a file, a realistic dermatology file is generated with ``bench/gen_claims.py`` into a
temporary folder.  Reports parse-only, VAL+DRG rules only, every rule, and parse + every rule, in
claims per second of one core; also the one-time table load.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from edi.x837 import Parser837
from scrubber.engine import Rule, Scrubber, all_rules


def _best(fn: object, passes: int = 3) -> float:
    best = float("inf")
    for _ in range(passes):
        t = time.process_time()
        fn()  # type: ignore[operator]
        best = min(best, time.process_time() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("file", nargs="?")
    ap.add_argument("--claims", type=int, default=20000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.file
        if path is None:
            path = str(Path(tmp) / "derm.837")
            subprocess.run([sys.executable, str(Path(__file__).parent / "gen_claims.py"), "--claims",
                            str(args.claims), "--out", path], check=True)
        t = time.process_time()
        from config.drugs import load_drug_tables
        from config.icd10cm import load_icd10cm

        load_drug_tables()
        load_icd10cm()
        print(f"table load (drugs + ICD-10-CM): {(time.process_time() - t) * 1000:.0f} ms")
        claims = list(Parser837(path).claims())
        n = len(claims)
        tp = _best(lambda: sum(1 for _ in Parser837(path).claims()))
        print(f"claims: {n}; parse only: {n / tp:,.0f} claims/s")
        today = date.today()
        mine: list[type[Rule]] = [r for r in all_rules() if r.family in ("VAL", "DRG")]
        base = Scrubber(rules=[], today=today)
        for label, rules in (("no rules (engine)", []), ("VAL+DRG", mine), ("all rules", all_rules())):
            s = Scrubber(tables=base.tables, drugs=base.drugs, payers=base.payers, rules=rules, today=today)
            tr = _best(lambda s=s: [s.scrub(c) for c in claims])
            print(f"{label} ({len(rules)} rules): {n / tr:,.0f} claims/s ({tr / n * 1e6:.1f} us/claim); "
                  f"parse + these rules: {n / (tp + tr):,.0f} claims/s")


if __name__ == "__main__":
    main()
