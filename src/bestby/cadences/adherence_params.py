"""The adherence report's parameters read from text (CLI and page alike); errors name the parameter. No Django.

Periods (:func:`adherence_period`): a fiscal period as on every other report
(``2026-Q1``, ``2026-03``, ``FY2026``..., :func:`bestby.goals.params.period_param`)
or a range of dates ``2026-03-02..2026-03-13`` (both days included), the
way a manager asks about "the last two weeks". As-of (:func:`adherence_as_of`):
a bare date is that date for every seller; a timestamp is an instant, which
becomes each seller's own date on their wall clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from bestby.goals.params import EARLIEST, LATEST, ParamError, as_of_param, period_param

__all__ = ["DateRange", "ParamError", "adherence_as_of", "adherence_period"]

MAX_RANGE_DAYS = 3660  # ten years: a longer range is a typo, and would read the whole history for nothing
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*\.\.\s*(\d{4}-\d{2}-\d{2})$")
_BARE_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class DateRange:
    """A period given as dates: ``[start, end)``, like :class:`bestby.engine.periods.Period`."""

    start: date
    end: date

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def label(self) -> str:
        return f"{self.start.isoformat()}..{self.last_day.isoformat()}"


def adherence_period(text: str | None, when, *, field: str = "period"):
    """``A..B`` (dates, both included) as a DateRange, else a fiscal period (blank: the quarter of ``when``)."""
    raw = (text or "").strip()
    m = _RANGE.match(raw)
    if not m:
        if ".." in raw:
            raise ParamError(field, f"{raw!r} is not a range of dates; write 2026-03-02..2026-03-13")
        return period_param(raw, when if isinstance(when, datetime) else datetime.combine(when, time(), UTC),
                            field=field)
    try:
        first, last = date.fromisoformat(m.group(1)), date.fromisoformat(m.group(2))
    except ValueError as exc:
        raise ParamError(field, f"{raw!r}: {exc}") from None
    if last < first:
        raise ParamError(field, f"{raw!r} ends before it starts")
    if not (EARLIEST <= first and last <= LATEST) or (last - first).days >= MAX_RANGE_DAYS:
        raise ParamError(field, f"{raw!r} is out of range: give dates from {EARLIEST.isoformat()} to "
                                f"{LATEST.isoformat()}, at most ten years apart")
    return DateRange(first, last + timedelta(days=1))


def adherence_as_of(text: str | None, *, now: datetime, field: str = "as_of") -> date | datetime:
    """A bare date (the same date for every seller), an instant (each seller's own date), or ``now``."""
    raw = (text or "").strip()
    if _BARE_DATE.match(raw):
        try:
            value = date.fromisoformat(raw)
        except ValueError as exc:
            raise ParamError(field, f"{raw!r}: {exc}") from None
        if not EARLIEST <= value <= LATEST:
            raise ParamError(field, f"{raw} is out of range: give a date from {EARLIEST.isoformat()} to "
                                    f"{LATEST.isoformat()}")
        return value
    return as_of_param(raw, field=field, now=now)
