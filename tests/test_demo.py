"""The README's first command: ``dermedi demo`` runs the whole loop on the bundled samples."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_demo_runs_the_whole_loop_on_the_samples(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("dermedi")
    proc = subprocess.run([str(exe), "demo", "--workdir", str(tmp_path / "dermedi-demo"), "--samples",
                           str(ROOT / "samples")], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    for step in ("1. Scrub", "2.", "3.", "4."):
        assert f"== {step}" in out, out[-3000:]
    assert "internal error" not in proc.stderr
    db = tmp_path / "dermedi-demo" / "dermedi.db"
    assert db.is_file() and stat.S_IMODE(os.stat(db).st_mode) == 0o600
