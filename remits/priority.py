"""Deadlines and priority of worklist items.

Deadline
--------
``payer_type`` is the payer id's own entry (``payer_type`` in config/payers.yaml ``payers:`` or
dermedi.toml ``[payers."<id>"]``), else CLP06 (``MA``/``MB`` Medicare, ``MC`` Medicaid, the
payer-profile filing-indicator map for the rest, default commercial).  Days come from
``Settings.remits.payer_deadline_days[payer_id]``, else the payer id's own
``appeal_deadline_days`` (payers.yaml / dermedi.toml), else
``Settings.remits.deadline_days[payer_type]`` (defaults: Medicare 120 = redetermination window,
Medicaid 60, commercial 180).

* The window starts at the remit date (BPR16 payment date, else DTM*405 production date).
* Medicare counts from *receipt* of the remittance and presumes receipt 5 days after the date
  on it (CMS IOM 100-04 ch.29 s.240; ``Settings.remits.receipt_presumption_days``), so Medicare
  deadlines get those days added.  Other payers count from the remit date itself.
* A Medicare item whose action is ``correct_and_resubmit`` is a new claim, not an appeal
  (e.g. CO-16/MA130 has no appeal rights): its deadline is the timely-filing limit, 12 months
  from the date of service (42 CFR 424.44; the payer id's ``timely_filing_days`` if set), when
  the service date is known.

Priority
--------
``priority = amount at stake x recoverability(category) x urgency(days left)``

* ``recoverability`` (0..1) is how often a denial of the category is worth working: a
  correctable data error is usually recovered, a cosmetic exclusion or a missed filing limit
  almost never.  The defaults below can be blended with the team's own history per payer and
  category (:func:`blended_recoverability`: resolved / (resolved + written off), Laplace
  smoothed, weighted by the number of closed items up to 50%).
* ``urgency`` grows as the deadline nears: > 60 days left 1.0; 31-60 days 1.5; 8-30 days 2.0;
  0-7 days 3.0 (the "red" zone of denial tools); past the deadline 0.1 (little left to gain).
  No deadline: 1.0.

Priorities are stored on the item and recomputed for open items by
:func:`remits.worklist.refresh_priorities` (run by the first ingest of each day and by
``dermedi worklist reprioritize``), so urgency follows the calendar.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

RECOVERABILITY: dict[str, Decimal] = {
    "front_end_rejection": Decimal("0.95"),
    "submission_error": Decimal("0.90"),
    "coding_modifier": Decimal("0.85"),
    "coding_dx": Decimal("0.80"),
    "cob": Decimal("0.70"),
    "eligibility": Decimal("0.60"),
    "bundling": Decimal("0.55"),
    "authorization": Decimal("0.50"),
    "duplicate": Decimal("0.40"),
    "medical_necessity": Decimal("0.45"),
    "other": Decimal("0.40"),
    "non_covered": Decimal("0.20"),
    "timely_filing": Decimal("0.05"),
    "no_response": Decimal("0.90"),     # a claim never answered: usually paid once followed up
}

MEDICARE_TIMELY_FILING_DAYS = 365


_PROFILES: dict[str, Any] = {}


def payer_profile(payer_id: str, filing_indicator: str, settings: Any | None = None) -> Any | None:
    """The scrubber's payer profile (config/payers.yaml + dermedi.toml [payers]), or None."""
    overrides = getattr(settings, "payers", None) or {}
    key = repr(sorted((str(k), repr(v)) for k, v in overrides.items()))
    profiles = _PROFILES.get(key)
    if profiles is None:
        try:
            from config.payers import load_payer_profiles

            profiles = load_payer_profiles(overrides)
        except Exception:  # a missing or invalid profile file: fall back to CLP06 and Settings.remits
            return None
        if len(_PROFILES) < 32:
            _PROFILES[key] = profiles
    try:
        return profiles.for_payer(payer_id, filing_indicator)
    except Exception:
        return None


def _explicit_payer(payer_id: str, settings: Any | None) -> dict[str, Any]:
    """Fields set for this payer id in payers.yaml or dermedi.toml (not the type defaults)."""
    overrides = getattr(settings, "payers", None) or {}
    body = dict(overrides.get(payer_id) or {})
    try:
        from config.payers import PAYERS_FILE, _read_file

        listed = (_read_file(str(PAYERS_FILE)).get("payers") or {}).get(payer_id) or {}
    except Exception:  # no or invalid payers.yaml: dermedi.toml alone
        listed = {}
    return {**dict(listed), **body}


def payer_type_for(payer_id: str, filing_indicator: str, settings: Any | None = None) -> str:
    """medicare / medicaid / commercial: the payer's profile (payer id, then CLP06), else CLP06."""
    explicit = _explicit_payer(payer_id, settings).get("payer_type")
    if isinstance(explicit, str) and explicit:
        return explicit
    fi = (filing_indicator or "").upper()
    if fi in ("MA", "MB"):
        return "medicare"
    if fi == "MC":
        return "medicaid"
    prof = payer_profile(payer_id, fi, settings)
    if prof is not None and fi:
        return str(prof.payer_type)
    return "commercial"


def deadline_for(remit_date: date | None, payer_id: str, payer_type: str, *, action: str = "",
                 service_date: date | None = None, settings: Any | None = None) -> date | None:
    if remit_date is None:
        return None
    remits = getattr(settings, "remits", None)
    deadline_days: dict[str, int] = getattr(remits, "deadline_days", None) or {
        "medicare": 120, "medicaid": 60, "commercial": 180}
    payer_days: dict[str, int] = getattr(remits, "payer_deadline_days", None) or {}
    presumption: int = getattr(remits, "receipt_presumption_days", 5)
    explicit = _explicit_payer(payer_id, settings)
    if payer_type == "medicare" and action == "correct_and_resubmit" and service_date is not None:
        tf = explicit.get("timely_filing_days", MEDICARE_TIMELY_FILING_DAYS)
        return service_date + timedelta(days=int(tf))
    days = payer_days.get(payer_id)
    if days is None and "appeal_deadline_days" in explicit:
        days = int(explicit["appeal_deadline_days"])
    if days is None:
        days = deadline_days.get(payer_type, deadline_days.get("commercial", 180))
    start = remit_date + timedelta(days=presumption) if payer_type == "medicare" else remit_date
    return start + timedelta(days=days)


def urgency(deadline: date | None, today: date) -> Decimal:
    if deadline is None:
        return Decimal("1.0")
    left = (deadline - today).days
    if left < 0:
        return Decimal("0.1")
    if left <= 7:
        return Decimal("3.0")
    if left <= 30:
        return Decimal("2.0")
    if left <= 60:
        return Decimal("1.5")
    return Decimal("1.0")


def blended_recoverability(category: str, resolved: int = 0, written_off: int = 0) -> Decimal:
    base = RECOVERABILITY.get(category, RECOVERABILITY["other"])
    closed = resolved + written_off
    if closed == 0:
        return base
    observed = Decimal(resolved + 1) / Decimal(closed + 2)
    weight = min(Decimal(closed) / Decimal(20), Decimal("0.5"))
    return base * (1 - weight) + observed * weight


def priority(amount: Decimal, category: str, deadline: date | None, today: date,
             recoverability: Decimal | None = None) -> Decimal:
    r = recoverability if recoverability is not None else RECOVERABILITY.get(category, RECOVERABILITY["other"])
    value = max(amount, Decimal(0)) * r * urgency(deadline, today)
    return value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
