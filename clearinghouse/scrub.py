"""The one place where transport calls the scrubber (so it is easy to wire).

The scrubber (:class:`scrubber.engine.Scrubber`) is built once per process and day.  If its
package is not importable yet, every claim without parser problems is treated as clean and a
warning is logged (TODO(lead): remove the fallback once the scrubber ships with its tables).
A scrubber that is importable but fails to build is an error: nothing is sent unscrubbed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from config.settings import Settings
from edi.x837 import Claim

log = logging.getLogger("dermedi.clearinghouse.scrub")

_CACHE: dict[date, Any] = {}


@dataclass(slots=True)
class ScrubOutcome:
    claim: Claim
    held: bool
    findings: list[dict[str, Any]] = field(default_factory=list)


def make_scrubber(settings: Settings) -> Any | None:
    """The scrubber to use today, or None when the scrubber package is not there yet."""
    today = date.today()
    if today in _CACHE:
        return _CACHE[today]
    try:
        from scrubber.engine import Scrubber
    except ModuleNotFoundError as exc:
        log.warning("scrubber not available (%s): claims without parser problems are treated as clean", exc.name)
        return None
    scrubber = Scrubber(today=today)
    _CACHE.clear()
    _CACHE[today] = scrubber
    return scrubber


def scrub_claims(claims: Iterable[Claim], settings: Settings) -> Iterator[ScrubOutcome]:
    """Scrub each claim as it streams by; ``held`` means it must not be sent."""
    scrubber = make_scrubber(settings)
    for claim in claims:
        if scrubber is not None:
            result = scrubber.scrub(claim)
            yield ScrubOutcome(claim, bool(result.held), [f.as_dict() for f in result.findings])
            continue
        problems = [{"rule": "X12", "severity": "error", **p.as_dict()} for p in claim.problems]
        yield ScrubOutcome(claim, bool(problems), problems)
