"""The benchmark script runs end to end on a tiny file (no timing is asserted).

Only the contenders of this venv run (bare split, dermedi parse, dermedi scrub); pyx12 and
the x12sdk / LinuxForHealth venvs are skipped so the test stays fast.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_runs_end_to_end_on_a_small_file(tmp_path: Path) -> None:
    doc = tmp_path / "performance.md"
    doc.write_text("# notes kept\n\n<!-- bench:begin (written by bench/run.py; edit outside these markers) -->\n"
                   "old table\n<!-- bench:end -->\n\ntrailing notes kept\n")
    raw = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--claims", "200", "--repeat", "1",
         "--skip", "pyx12,x12sdk,lfh", "--no-held", "--data-dir", str(tmp_path / "data"),
         "--doc", str(doc), "--json", str(raw)],
        capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(raw.read_text())["results"]
    by = {r["contender"]: r for r in results}
    assert by["dermedi-parse"]["status"] == "ok"
    assert by["dermedi-parse"]["runs"][0]["claims"] == 200      # the summary's claim count was read
    assert by["bare-split"]["runs"][0]["claims"] == 200
    assert by["dermedi-parse"]["rss"] > 1 and by["dermedi-parse"]["wall"] > 0
    if "dermedi-scrub" in by:
        assert by["dermedi-scrub"]["status"] == "ok", by["dermedi-scrub"]["note"]
    text = doc.read_text()
    assert text.startswith("# notes kept") and text.rstrip().endswith("trailing notes kept")
    assert "old table" not in text
    assert "| 200 |" in text and "dermedi parse --format summary" in text
