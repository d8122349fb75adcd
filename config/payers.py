"""Payer profiles: Medicare, Medicaid and commercial defaults, chosen per claim.

``config/payers.yaml`` holds the three base profiles, the SBR09 claim filing indicator mapping
(MA/MB -> medicare, MC -> medicaid, anything else -> commercial) and payer-id overrides;
dermedi.toml ``[payers."<payer id>"]`` (``Settings.payers``) overrides any field per payer id.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

if TYPE_CHECKING:
    from edi.x837 import Claim

PAYERS_FILE = Path(__file__).parent / "payers.yaml"
PayerType = Literal["medicare", "medicaid", "commercial"]


class PayerConfigError(ValueError):
    """The payer profile file or a dermedi.toml [payers] override is invalid."""


class PayerProfile(BaseModel):
    """What the scrubber needs to know about one payer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    payer_type: PayerType
    name: str = ""
    payer_id: str = ""
    ndc_required: bool = False
    jw_jz_required: bool = False
    distinct_modifier: Literal["X{EPSU}", "59"] = "59"
    timely_filing_days: int = Field(default=180, gt=0)
    appeal_deadline_days: int = Field(default=180, gt=0)
    # severity of the coverage (LCD) findings, which warn by default because their facts are partly
    # UNCONFIRMED; a payer whose denials the practice has confirmed may make them errors (claim held)
    coverage_severity: Literal["warning", "error"] = "warning"
    # payer-learned edits (rule LRN001): warn (default), hold the claim ("error"), or ignore ("off")
    learned_edits: Literal["warning", "error", "off"] = "warning"

    @property
    def prefers_x_modifiers(self) -> bool:
        return self.distinct_modifier == "X{EPSU}"


class PayerProfiles:
    """Base profiles plus per-payer-id overrides; :meth:`for_claim` is what the engine calls."""

    def __init__(self, types: Mapping[str, PayerProfile], filing_indicators: Mapping[str, str],
                 payers: Mapping[str, Mapping[str, Any]]) -> None:
        self.types = dict(types)
        self.filing_indicators = dict(filing_indicators)
        self.payers = {pid: dict(body) for pid, body in payers.items()}   # payer id -> field overrides
        self._memo: dict[tuple[str, str], PayerProfile] = {}
        for pid in self.payers:                                            # validate every override now
            self.for_payer(pid, "")

    def for_payer(self, payer_id: str = "", filing_indicator: str = "") -> PayerProfile:
        key = (payer_id, filing_indicator)
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        ptype = self.filing_indicators.get(filing_indicator, "commercial")
        body = self.payers.get(payer_id) if payer_id else None
        if body is None:
            prof = self.types[ptype]
            if payer_id:
                prof = prof.model_copy(update={"payer_id": payer_id})
        else:
            ptype = body.get("payer_type", ptype)
            if ptype not in self.types:
                raise PayerConfigError(f"payer {payer_id}: payer_type {ptype!r} is not medicare, medicaid or "
                                       "commercial")
            prof = _profile({**self.types[ptype].model_dump(), **body, "payer_id": payer_id}, payer_id)
        if len(self._memo) < 10_000:
            self._memo[key] = prof
        return prof

    def for_claim(self, claim: Claim) -> PayerProfile:
        return self.for_payer(claim.payer_id, claim.claim_filing_indicator)


def _profile(data: Mapping[str, Any], where: str) -> PayerProfile:
    try:
        return PayerProfile.model_validate(dict(data))
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        raise PayerConfigError(f"payer profile {where}: {loc}: {err['msg']}") from None


@cache
def _read_file(path: str) -> dict[str, Any]:
    data = yaml.safe_load(Path(path).read_text())
    if not isinstance(data, dict) or "types" not in data:
        raise PayerConfigError(f"{path}: needs a 'types' mapping")
    return data


def load_payer_profiles(overrides: Mapping[str, Mapping[str, Any]] | None = None,
                        path: str | Path | None = None) -> PayerProfiles:
    """Profiles from ``config/payers.yaml`` with dermedi.toml ``[payers]`` overrides applied."""
    data = _read_file(str(path or PAYERS_FILE))
    types = {name: _profile(body, name) for name, body in data["types"].items()}
    for need in ("medicare", "medicaid", "commercial"):
        if need not in types:
            raise PayerConfigError(f"payer profile type {need!r} is missing")
    fi = {str(k): str(v) for k, v in (data.get("filing_indicators") or {}).items()}
    bad = [v for v in fi.values() if v not in types]
    if bad:
        raise PayerConfigError(f"filing indicator mapped to unknown payer type {bad[0]!r}")
    raw: dict[str, dict[str, Any]] = {str(k): dict(v) for k, v in (data.get("payers") or {}).items()}
    for pid, body in (overrides or {}).items():
        raw.setdefault(str(pid), {}).update(body)
    return PayerProfiles(types, fi, raw)
