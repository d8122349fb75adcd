#!/usr/bin/env python3
"""Where a scrub's time goes, in process: µs per claim for each stage, cumulative.

    .venv/bin/python bench/scrub_stages.py FILE.837 [--repeat N]

Stages, each run over the whole file and timed with CPU time (best of N):
reader (segments only), + parser (claims), + rules (``Scrubber.scrub``), + 837P writer
(every claim to one ``ClaimWriter`` in memory), + JSON report (``JsonReportWriter`` in memory).
No CLI start-up and no table loading in the figures; the garbage-collector settings are the
CLI's.  Runs whatever build is installed (``dermedi --version``).
"""

from __future__ import annotations

import argparse
import gc
import io
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dermedi.native import build  # noqa: E402
from edi.reader import SegmentReader  # noqa: E402
from edi.x837 import ClaimWriter, Parser837  # noqa: E402
from scrubber.engine import Scrubber  # noqa: E402
from scrubber.report import JsonReportWriter  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    path = str(args.file)
    gc.freeze()
    gc.set_threshold(20000, 20, 20)      # as dermedi.cli.app.main
    scrubber = Scrubber()
    gc.freeze()
    claims = sum(1 for _ in Parser837(path).claims())

    def run(stages: int) -> None:
        if stages == 0:
            for _ in SegmentReader(path):
                pass
            return
        parser = Parser837(path)
        writer: ClaimWriter | None = None
        report = JsonReportWriter(io.StringIO(), path)
        out = io.BytesIO()
        for claim in parser.claims():
            if stages < 2:
                continue
            result = scrubber.scrub(claim)
            if stages >= 3:
                if writer is None:
                    writer = ClaimWriter(out, parser.delimiters)
                writer.write(claim)
            if stages >= 4:
                report.add(result)
        if writer is not None:
            writer.close()

    def best(stages: int) -> float:
        times = []
        for _ in range(args.repeat):
            t0 = time.process_time()
            run(stages)
            times.append(time.process_time() - t0)
        return min(times) / claims * 1e6

    names = ("reader", "+ parser", "+ rules", "+ 837P writer", "+ JSON report")
    figures = [(name, best(n)) for n, name in enumerate(names)]
    print(f"{args.file.name}: {claims:,} claims, build {build()}, best of {args.repeat}")
    for name, us in figures:
        print(f"  {name:15s} {us:7.1f} µs/claim (cumulative)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
