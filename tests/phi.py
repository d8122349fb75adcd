"""The PHI of the sample claims (patient and subscriber names, member ids, birth dates from
NM1*IL / NM1*QC / DMG of ``samples/*.837``), for tests that check logs and output carry none."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


@lru_cache(maxsize=1)
def sample_phi() -> frozenset[str]:
    found: set[str] = set()
    for f in sorted(SAMPLES.glob("*.837")):
        text = f.read_text("latin-1")
        for seg in re.split(r"~\s*", text):
            els = seg.split("*")
            if els[0] == "NM1" and len(els) > 3 and els[1] in ("IL", "QC"):
                last, first = els[3], els[4] if len(els) > 4 else ""
                if first:
                    found.add(f"{first} {last}")
                    found.add(f"{last}, {first}")
                if len(last) >= 5:
                    found.add(last)
                if len(els) > 9 and len(els[9]) >= 6:
                    found.add(els[9])
            elif els[0] == "DMG" and len(els) > 2 and len(els[2]) == 8:
                d = els[2]
                found.add(d)
                found.add(f"{d[:4]}-{d[4:6]}-{d[6:]}")
    return frozenset(found)


def phi_in(text: str) -> list[str]:
    """The sample PHI values that occur in ``text`` (case-insensitive for names)."""
    upper = text.upper()
    return sorted(v for v in sample_phi() if v.upper() in upper)
