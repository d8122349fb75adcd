"""Business days: weekdays that are not US federal holidays (with observed-day shifting).

The holidays come from the ``holidays`` package (``country_holidays("US")``, the federal public holidays:
New Year's Day, Martin Luther King Jr. Day, Washington's Birthday, Memorial Day, Juneteenth,
Independence Day, Labor Day, Columbus Day, Veterans Day, Thanksgiving, Christmas; a holiday on
a Saturday is observed the Friday before, on a Sunday the Monday after).  Pure: no clock is
read here, every function takes the dates it works on.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=64)
def federal_holidays(year: int) -> frozenset[date]:
    """The US federal holidays of ``year`` (observed days included)."""
    return frozenset(holidays.country_holidays("US", years=year, observed=True).keys())


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and day not in federal_holidays(day.year)


def add_business_days(start: date, n: int) -> date:
    """The ``n``-th business day after ``start`` (``n`` = 0: ``start`` itself)."""
    day = start
    left = n
    while left > 0:
        day += timedelta(days=1)
        if is_business_day(day):
            left -= 1
    return day


def latest_start_due_before(as_of: date, n: int) -> date:
    """The latest day ``d`` with ``add_business_days(d, n) < as_of``: anything sent on ``d`` or
    earlier is overdue on ``as_of`` (``add_business_days`` never decreases as ``d`` grows)."""
    day = as_of - timedelta(days=1)
    while add_business_days(day, n) >= as_of:
        day -= timedelta(days=1)
    return day


def business_days_between(start: date, end: date) -> int:
    """Business days after ``start`` up to and including ``end`` (0 when ``end <= start``)."""
    n = 0
    day = start
    while day < end:
        day += timedelta(days=1)
        if is_business_day(day):
            n += 1
    return n
