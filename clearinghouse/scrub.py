"""The one place where transport calls the scrubber (so it is easy to wire).

The scrubber (:class:`scrubber.engine.Scrubber`) is built once per process and day, with the
payer-profile overrides of dermedi.toml ``[payers]``.  A scrubber that fails to build is an
error: nothing is ever sent unscrubbed.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from config.settings import Settings
from edi.x837 import Claim

log = logging.getLogger("dermedi.clearinghouse.scrub")

_CACHE: dict[tuple[date, str, int, str, int], Any] = {}


def _stamp(path: str | None) -> int:
    """The learned table's modification time (a new table built by `dermedi learn` is picked up)."""
    if not path:
        return 0
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1


@dataclass(slots=True)
class ScrubOutcome:
    claim: Claim
    held: bool
    findings: list[dict[str, Any]] = field(default_factory=list)
    result: Any = None  # the scrubber's ClaimResult (recorded for the denial worklists)


def make_scrubber(settings: Settings) -> Any:
    """The scrubber to use today (built once per process, day, payer overrides, MCD table and learned table).

    A learned table that cannot be read raises :class:`config.learned.LearnedTableError`: nothing is sent
    scrubbed by less than the configuration says."""
    from config.coverage import coverage_for_data_dir
    from config.learned import load_learned_table
    from config.payers import load_payer_profiles
    from scrubber.engine import Scrubber

    today = date.today()
    coverage = coverage_for_data_dir(settings.data_dir)       # the MCD table of `dermedi tables import-mcd`
    learned_path = settings.learning.table                    # the payer-learned table of `dermedi learn`
    learned_stamp = _stamp(learned_path)
    key = (today, repr(sorted(settings.payers.items())), id(coverage), learned_path or "", learned_stamp)
    if key in _CACHE:
        return _CACHE[key]
    learned = load_learned_table(learned_path) if learned_path else None
    scrubber = Scrubber(today=today, payers=load_payer_profiles(overrides=settings.payers or None), coverage=coverage,
                        learned=learned)
    _CACHE.clear()
    _CACHE[key] = scrubber
    # The scrubber's code tables live as long as the process (cached above): move them out of the
    # cyclic collector's reach, or every full collection walks their entries again (on a 20,000-claim
    # send that was over a third of the CPU time; docs/performance.md).
    gc.freeze()
    return scrubber


def scrub_claims(claims: Iterable[Claim], settings: Settings) -> Iterator[ScrubOutcome]:
    """Scrub each claim as it streams by; ``held`` means it must not be sent."""
    scrubber = make_scrubber(settings)
    for claim in claims:
        if scrubber is not None:
            result = scrubber.scrub(claim)
            held = bool(result.held)    # the findings as dicts are for the held claims' report only
            yield ScrubOutcome(claim, held, [f.as_dict() for f in result.findings] if held else [], result)
            continue
        problems = [{"rule": "X12", "severity": "error", **p.as_dict()} for p in claim.problems]
        yield ScrubOutcome(claim, bool(problems), problems)
