#!/usr/bin/env python3
"""Instructions per claim of ``dermedi scrub``, counted by valgrind (callgrind): a figure that does not
drift with the machine's speed, for comparing two versions of the code.

    .venv/bin/python bench/instructions.py [--claims 3000] [--held-rate 0.03]

Generates (once, in bench/data/) a seeded file of N claims and a 1-claim file with
``samples/generate.py``, runs ``dermedi scrub`` on each under ``valgrind --tool=callgrind`` and
prints the instructions of the whole run, the start-up (the 1-claim run) and the instructions per
claim, (N-claim run - 1-claim run) / (N - 1).  The table cache is warmed first (one untimed run),
as ``bench/run.py`` does.  The same build, inputs and environment give the same counts (within a
few thousandths); time per instruction is not constant (allocation-heavy code runs at fewer
instructions per cycle), so the rates in docs/performance.md still come from ``bench/run.py``.
Needs valgrind (Debian package ``valgrind``); runs the installed build (``dermedi --version``).
About 1 minute for 3,000 claims.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = ROOT / ".venv" / "bin" / "python"
DERMEDI = ROOT / ".venv" / "bin" / "dermedi"
DATA = ROOT / "bench" / "data"


def _file(claims: int, held_rate: float) -> Path:
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"derm-{claims}-held{round(held_rate * 100)}.837"
    if not path.exists():
        subprocess.run([str(PY), str(ROOT / "samples" / "generate.py"), "--claims", str(claims), "--out", str(path),
                        "--held-rate", str(held_rate)], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return path


def _scrub(path: Path, out: Path) -> list[str]:
    return [str(DERMEDI), "scrub", str(path), "--clean-out", str(out / "clean.837"), "--held-out",
            str(out / "held.837"), "--report", str(out / "report.json"), "--quiet"]


def _instructions(path: Path, out: Path) -> int:
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out / 'callgrind.out'}", *_scrub(path, out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"dermedi scrub failed under valgrind (exit {proc.returncode}): {proc.stderr[-500:]}")
    m = re.search(r"Collected : (\d+)", proc.stderr)
    if m is None:
        raise SystemExit("no instruction count in valgrind's output")
    return int(m.group(1))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--claims", type=int, default=3000)
    ap.add_argument("--held-rate", type=float, default=0.03)
    args = ap.parse_args()
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    big, one = _file(args.claims, args.held_rate), _file(1, 0.0)
    build = subprocess.run([str(DERMEDI), "--version"], capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="dermedi-instr-") as tmp:
        out = Path(tmp)
        subprocess.run(_scrub(one, out), capture_output=True, cwd=ROOT)        # warm the table cache
        start = _instructions(one, out)
        total = _instructions(big, out)
    per_claim = (total - start) / (args.claims - 1)
    print(f"{build}; {big.name}")
    print(f"  whole run        {total:>15,} instructions")
    print(f"  start-up         {start:>15,} instructions (1-claim run)")
    print(f"  per claim        {per_claim:>15,.0f} instructions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
