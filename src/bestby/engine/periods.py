"""Fiscal periods: years, quarters and months on a calendar whose year starts in a chosen month.

Definitions (``first_month`` m0 in 1..12, the calendar month the fiscal year starts in):

* **Fiscal year label.** A fiscal year is named by the calendar year in which
  it *ends*: with m0 = 7, FY2026 runs from 2025-07-01 to 2026-06-30; with
  m0 = 4, FY2026 runs from 2025-04-01 to 2026-03-31; with m0 = 1 it is the
  calendar year 2026. Why: it is the convention of most published fiscal
  calendars (US federal government, Microsoft, Apple), and with m0 = 1 it
  reduces to the calendar year, so "2026-Q1" means the same under both.
* **Start of FY y**: 1 January y when m0 = 1, else the 1st of month m0 of year y - 1.
* **Fiscal month k** (1..12) of FY y starts k - 1 calendar months after the
  year's start; **quarter q** (1..4) is fiscal months 3q - 2 .. 3q.
* A period is the half-open range of dates ``[start, end)``: ``end`` is the
  first day of the next period, so consecutive periods tile the calendar with
  no gap and no overlap, and ``days = end - start``.

For a date d: fiscal year y = d.year when m0 = 1 or d.month < m0, else d.year + 1;
fiscal month k = (d.month - m0) mod 12 + 1; quarter q = (k - 1) // 3 + 1.

Written forms (:func:`parse_period`, :attr:`Period.label`): ``FY2026`` (a
year), ``FY2026-Q1`` (a quarter), ``FY2026-M03`` (the third fiscal month).
Also accepted: ``2026-Q1`` (the same as ``FY2026-Q1``) and ``2025-07`` (a
calendar month, named by its fiscal label). Anything else is a
:class:`PeriodError` naming the text and the accepted forms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

__all__ = ["KINDS", "Period", "PeriodError", "parse_period", "period_of", "periods_between"]

KINDS = ("year", "quarter", "month")
_MONTHS = {"year": 12, "quarter": 3, "month": 1}


class PeriodError(ValueError):
    """A period that cannot be read; the message names the text and says what is accepted."""


def _check_first_month(first_month: int) -> None:
    if not isinstance(first_month, int) or not 1 <= first_month <= 12:
        raise PeriodError(f"fiscal_year_start: {first_month!r} is not a month number (1 to 12)")


def _add_months(d: date, months: int) -> date:
    """The first of the month ``months`` after ``d``'s month (``d`` is a first of month)."""
    years, month0 = divmod(d.month - 1 + months, 12)
    return date(d.year + years, month0 + 1, 1)


def _year_start(fiscal_year: int, first_month: int) -> date:
    return date(fiscal_year, 1, 1) if first_month == 1 else date(fiscal_year - 1, first_month, 1)


@dataclass(frozen=True, order=True)
class Period:
    """One fiscal year, quarter or month: ``[start, end)``."""

    start: date
    end: date
    kind: str
    fiscal_year: int
    number: int  # the quarter (1..4) or fiscal month (1..12); 1 for a year
    first_month: int

    @classmethod
    def of(cls, kind: str, fiscal_year: int, number: int = 1, *, first_month: int = 1) -> Period:
        """The ``number``-th ``kind`` of fiscal year ``fiscal_year``."""
        _check_first_month(first_month)
        if kind not in KINDS:
            raise PeriodError(f"period kind: {kind!r} is not one of {', '.join(KINDS)}")
        count = 12 // _MONTHS[kind]
        if not 1 <= number <= count:
            raise PeriodError(f"period: {kind} {number} does not exist (a fiscal year has {count})")
        start = _add_months(_year_start(fiscal_year, first_month), (number - 1) * _MONTHS[kind])
        return cls(start, _add_months(start, _MONTHS[kind]), kind, fiscal_year, number, first_month)

    @property
    def label(self) -> str:
        if self.kind == "year":
            return f"FY{self.fiscal_year}"
        return f"FY{self.fiscal_year}-" + (f"Q{self.number}" if self.kind == "quarter" else f"M{self.number:02d}")

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    def __contains__(self, when) -> bool:
        d = when.date() if isinstance(when, datetime) else when
        return self.start <= d < self.end

    def next(self, steps: int = 1) -> Period:
        """The period of the same kind ``steps`` later (earlier when negative)."""
        return period_of(_add_months(self.start, steps * _MONTHS[self.kind]), self.kind, first_month=self.first_month)

    def previous(self) -> Period:
        return self.next(-1)

    def __str__(self) -> str:
        return self.label


def period_of(when, kind: str = "quarter", *, first_month: int = 1) -> Period:
    """The fiscal ``kind`` holding the date (or datetime) ``when``."""
    _check_first_month(first_month)
    d = when.date() if isinstance(when, datetime) else when
    fiscal_year = d.year if first_month == 1 or d.month < first_month else d.year + 1
    month = (d.month - first_month) % 12 + 1
    if kind not in KINDS:
        raise PeriodError(f"period kind: {kind!r} is not one of {', '.join(KINDS)}")
    number = 1 if kind == "year" else (month - 1) // 3 + 1 if kind == "quarter" else month
    return Period.of(kind, fiscal_year, number, first_month=first_month)


_FORMS = "FY2026, FY2026-Q1, FY2026-M03, 2026-Q1 or 2025-07"
_FISCAL = re.compile(r"^FY(\d{4})(?:-(?:Q([1-4])|M(\d{2})))?$", re.I)
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.I)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_period(text: str, *, first_month: int = 1) -> Period:
    """Read a written period (see the module docstring); errors name the text and the accepted forms."""
    _check_first_month(first_month)
    raw = (text or "").strip()
    if m := _FISCAL.match(raw):
        year = int(m.group(1))
        if m.group(2):
            return Period.of("quarter", year, int(m.group(2)), first_month=first_month)
        if m.group(3):
            month = int(m.group(3))
            if not 1 <= month <= 12:
                raise PeriodError(f"period: {text!r} names fiscal month {month}; use M01 to M12")
            return Period.of("month", year, month, first_month=first_month)
        return Period.of("year", year, first_month=first_month)
    if m := _QUARTER.match(raw):
        return Period.of("quarter", int(m.group(1)), int(m.group(2)), first_month=first_month)
    if m := _MONTH.match(raw):
        month = int(m.group(2))
        if not 1 <= month <= 12:
            raise PeriodError(f"period: {text!r} is not a month (01 to 12)")
        return period_of(date(int(m.group(1)), month, 1), "month", first_month=first_month)
    raise PeriodError(f"period: {text!r} is not a period; write {_FORMS}")


def periods_between(first: Period, last: Period) -> list[Period]:
    """``first``, the periods after it, up to ``last`` included (the same kind; ``last`` not before ``first``)."""
    if first.kind != last.kind or first.first_month != last.first_month:
        raise PeriodError(f"periods: {first.label} and {last.label} are not of the same kind and calendar")
    if last.start < first.start:
        raise PeriodError(f"periods: {last.label} comes before {first.label}")
    out = [first]
    while out[-1] != last:
        out.append(out[-1].next())
    return out
