"""Clocks: how durations are counted, in calendar days or in business days (Monday to Friday).

Calendar days
    (end - start) in seconds / 86 400: fractional days.

Business days
    Only time on Monday to Friday counts, whole days (a working day is the
    whole weekday, not office hours: stage events land at any hour, and a deal
    entered on Friday evening has used a small part of Friday). Let

        k(t) = (t - R) / 86 400, in days, where R = 1970-01-05 00:00 UTC (a Monday)
        B(t) = 5 * floor(k / 7) + min(k - 7 * floor(k / 7), 5)

    B(t) is the business time elapsed from R to t: it grows at one day per
    day on weekdays and stays flat over Saturday and Sunday. The business
    days between two instants are B(end) - B(start). Examples: Friday 00:00
    to the next Monday 00:00 is 1; Saturday noon to Monday noon is 0.5;
    a whole week is 5. Its inverse, used for best-by dates, is

        T(b) = R + 86 400 * (7 * w + (b - 5 * w)),  w = ceil(b / 5) - 1

    which maps business time b back to the first instant with B = b (a
    best-by that falls at the end of a Friday is reported as Saturday 00:00,
    the instant the weekday ran out). Days are in UTC: the workspace time
    zone and public holidays are not applied yet (a holiday counts as a
    working day), so across a holiday the figure is one day high.

``business_days_expr`` is the Ibis form (it runs where the data lives, any
backend with floor and least); ``business_time``/``from_business_time`` are
the Python forms for single values, used by the pure rules.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import ibis

__all__ = ["add_days", "business_days_expr", "business_time", "business_time_array", "days_expr", "elapsed", "from_business_time"]

_DAY = 86_400.0
_REF = datetime(1970, 1, 5, tzinfo=UTC)  # a Monday
_REF_S = _REF.timestamp()


def _b_expr(ts):
    k = (ts.epoch_seconds().cast("float64") - _REF_S) / _DAY
    weeks = (k / 7).floor()
    return weeks * 5 + ibis.least(k - weeks * 7, 5)


def business_days_expr(start, end):
    """Ibis: the business days between two timestamp columns, B(end) - B(start)."""
    return _b_expr(end) - _b_expr(start)


def days_expr(start, end, *, business: bool = False):
    """Ibis: days between two timestamp columns, on the calendar or business clock."""
    if business:
        return business_days_expr(start, end)
    return (end.epoch_seconds() - start.epoch_seconds()).cast("float64") / _DAY


def business_time(t: datetime) -> float:
    """B(t): business days from the reference Monday to ``t`` (aware datetime)."""
    k = (t.timestamp() - _REF_S) / _DAY
    weeks = math.floor(k / 7)
    return weeks * 5 + min(k - weeks * 7, 5.0)


def business_time_array(seconds):
    """B(t) for a NumPy array of epoch seconds (NaN stays NaN)."""
    import numpy as np

    k = (np.asarray(seconds, dtype=float) - _REF_S) / _DAY
    weeks = np.floor(k / 7)
    return weeks * 5 + np.minimum(k - weeks * 7, 5.0)


def from_business_time(b: float) -> datetime:
    """T(b): the first instant whose business time is ``b``."""
    weeks = math.ceil(b / 5) - 1  # b - 5 * weeks is in (0, 5]: a weekday's end stays before the weekend
    return _REF + timedelta(days=7 * weeks + (b - 5 * weeks))


def elapsed(start: datetime, end: datetime, *, business: bool = False) -> float:
    """Days from ``start`` to ``end`` on the calendar or business clock."""
    if business:
        return business_time(end) - business_time(start)
    return (end - start).total_seconds() / _DAY


def add_days(start: datetime, days: float, *, business: bool = False) -> datetime:
    """The instant ``days`` after ``start`` on the calendar or business clock."""
    if business:
        return from_business_time(business_time(start) + days)
    return start + timedelta(days=days)
