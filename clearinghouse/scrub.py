"""The one place where transport calls the scrubber (so it is easy to wire).

TODO(lead): the scrubber is being written by other helpers.  When :class:`scrubber.engine.Scrubber`
cannot be built yet (its code tables are missing), every claim without parser problems is treated
as clean and a warning is logged once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from config.settings import Settings
from edi.x837 import Claim

log = logging.getLogger("dermedi.clearinghouse.scrub")


@dataclass(slots=True)
class ScrubOutcome:
    claim: Claim
    held: bool
    findings: list[dict[str, Any]] = field(default_factory=list)


def _make_scrubber(settings: Settings) -> Any | None:
    try:
        from scrubber.engine import Scrubber

        return Scrubber()
    except ModuleNotFoundError as exc:
        log.warning("scrubber not available yet (%s): claims without parser problems are treated as clean",
                    exc.name)
        return None


def scrub_claims(claims: Iterable[Claim], settings: Settings) -> Iterator[ScrubOutcome]:
    """Scrub each claim as it streams by; ``held`` means it must not be sent."""
    scrubber = _make_scrubber(settings)
    for claim in claims:
        if scrubber is not None:
            result = scrubber.scrub(claim)
            yield ScrubOutcome(claim, bool(result.held), [f.as_dict() for f in result.findings])
            continue
        problems = [{"rule": "X12", "severity": "error", **p.as_dict()} for p in claim.problems]
        yield ScrubOutcome(claim, bool(problems), problems)
