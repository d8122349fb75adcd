"""The package layers hold: import-linter's contracts from pyproject.toml, run on the source tree.

Top to bottom: dermedi (CLI, web) > clearinghouse > remits > store > scrubber > config > edi; the
pure core (edi, config, scrubber) imports no database, network or scheduler library.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_are_kept() -> None:
    exe = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(exe), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "Contracts: 2 kept, 0 broken" in proc.stdout, proc.stdout[-2000:]


def test_nothing_below_the_shell_imports_dermedi() -> None:
    offenders = []
    for pkg in ("edi", "config", "scrubber", "store", "remits", "clearinghouse"):
        for path in sorted((ROOT / pkg).rglob("*.py")):
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                stripped = line.strip()
                if stripped.startswith(("from dermedi", "import dermedi")):
                    offenders.append(f"{path.relative_to(ROOT)}:{n}: {stripped}")
    assert not offenders, "\n".join(offenders)
