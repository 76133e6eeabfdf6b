"""The range and precision every stored number, date and text must keep, checked where input enters.

Pure rules, no Django: the web forms, the API, the importers, the command
line and the policy file all call these before anything reaches the
database, so a value the store cannot hold, or a page cannot render, is
refused with the field named and nothing changed. (:mod:`bestby.columns`
derives the bound of a model column from its Django field, so the numbers
here are never copied by hand from ``models.py``.)

Why each rule exists:

* **Decimals** (``DecimalBound``): a column ``DECIMAL(max_digits, places)``
  holds at most ``max_digits - places`` digits before the point. PostgreSQL
  refuses a larger value with an error (a 500 if nothing checked it first);
  SQLite stores it anyway, as a float, and every later read of the row fails
  in Django's decimal converter, taking down each page that lists the deal.
  SQLite keeps every decimal as a 64-bit float, exact to 15 significant
  digits (:data:`EXACT_DIGITS`): ``9999999999999999.99`` came back as
  ``1.00000000000000E+16``. So a money column takes at most 15 digits in
  all, on both databases (the same store moves between them by backup and
  export without a digit changing): ``amount`` (``DECIMAL(18, 2)``) keeps up
  to 9,999,999,999,999.99, ten trillion, far above any deal. ``1e20`` is refused; more
  decimal places than the column keeps are refused from people (they typed
  something the store would silently round) and rounded half-even from files
  (``rounding=True``: a CRM export of ``1234.5678`` means that amount, to the
  cent). ``minimum`` is the smallest value that makes sense (0 for money a
  deal or quota carries: a negative deal amount is not a refund).
* **Integers** (``IntBound``): the column's range (32-bit ``IntegerField``:
  -2,147,483,648..2,147,483,647; ``PositiveSmallIntegerField``: 0..32,767),
  or a narrower one that makes sense for the field (``le=3650`` days of
  payment terms).
* **Floats** (``FloatBound``): finite, within ``[lo, hi]`` (a probability
  is 0..1), or ``(lo, hi]`` with ``above=True`` (a quantile is above 0 and
  at most 1: the 0 quantile is no figure at all).
* **Dates and timestamps** (``DATES``): 1900-01-01 to 2199-12-31. Python's
  ``date`` ends at 9999-12-31, so a quota ending on that day overflowed the
  first ``+ 1 day`` in coverage and forecast, and the engine's timestamps
  (nanoseconds in 64 bits, as pandas and Arrow keep them) end in April
  2262. The window leaves a margin of sixty years for horizons and periods
  computed from a stored date, and goes back far enough for any company's
  records.
* **Options and settings that are not columns** (command-line options,
  policy settings, report parameters) get a range that makes sense for what
  they count, far inside what the code after them can compute with:

  - ``SPAN_DAYS``, 1..3,650: a window of days back from a date (a
    lookback, a funnel's window). Ten years is more history than any team
    reviews, and a date minus the span stays inside the calendar
    (``1e308`` days overflowed ``timedelta`` with a traceback).
  - ``THRESHOLD_DAYS``, 0..100,000: a policy's day thresholds (no touch for
    N days, a close date N days past). People turn a signal off with a
    large value, and 100,000 days (274 years) is "never" for any deal, since
    every date lies in the 300 years of ``DATES``; ``1e308`` or ``2**63``
    is a typo or a probe, not a setting.
  - ``LOOKBACK_DAYS``, above 0 up to 3,650: the same span as a fraction of
    days (a policy's or ``shelf-life``'s lookback).
  - ``QUANTILE``, above 0 and at most 1.
  - ``PUSHES``, 1..1,000: close-date pushes before a deal counts as stalled
    (a count the engine keeps in 64 bits; no deal is pushed a thousand times).
  - ``SEED``, 0..4,294,967,295: the random seed of a simulation or a
    synthetic data set (what NumPy's generators take).
  - ``ROW_ID``, 1..2**63-1: a row's id (Django's ``BigAutoField``); a larger
    one overflowed SQLite's integer with a traceback.
  - ``POSITION`` (below), 0..1,000,000,000: a count, offset or page number.
* **Text** (:func:`check_text`): no NUL (U+0000). PostgreSQL cannot store it
  (the import failed with a raw traceback) and SQLite stores it, after which
  the API's answers failed to validate.

A whole column at once (:func:`check_column`, what the importers use on a
file of a million rows): the same rules, with the common case made cheap. A
window or range is an interval, so when a column's smallest and largest
values are inside it every value is; only then are decimal places looked
at, cell by cell but with one comparison each. A column with a value out of
range is walked cell by cell to name each row at fault.

Every refusal is an :class:`OutOfBounds` (a ``ValueError``) whose ``field`` is
the name of the input at fault and whose text reads ``"field: what to do"``,
the convention every adapter already maps to its own error (form field, 422,
CLI exit 2, import problem with file and row).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation


#: the significant digits SQLite keeps exactly (a 64-bit float's 15; see the module docstring)
EXACT_DIGITS = 15


class OutOfBounds(ValueError):
    """A value outside what its column keeps. ``str()`` is ``"field: message"``."""

    def __init__(self, field: str, message: str) -> None:
        self.field, self.message = field, message
        super().__init__(f"{field}: {message}")


def _group(number: int | Decimal) -> str:
    return f"{number:,}"


@dataclass(frozen=True)
class DecimalBound:
    """``DECIMAL(max_digits, places)``, optionally no smaller than ``minimum``."""

    max_digits: int
    places: int
    minimum: Decimal | None = None

    @property
    def largest(self) -> Decimal:
        """The largest value the column keeps: 10^(max_digits - places) - 10^-places."""
        return Decimal(10) ** (self.max_digits - self.places) - Decimal(10) ** -self.places

    def check(self, field: str, value, *, rounding: bool = False) -> Decimal:
        """``value`` as a Decimal the column keeps exactly, or :class:`OutOfBounds` naming ``field``.

        ``value`` may be a Decimal, an int, a float (taken by its shortest
        repr, so 0.1 is 0.1) or a string. With ``rounding`` more decimal places
        are rounded half-even to ``places``; without, they are refused.
        """
        if isinstance(value, bool):
            raise OutOfBounds(field, f"{value!r} is not a number")
        try:
            number = value if isinstance(value, Decimal) else Decimal(repr(value) if isinstance(value, float)
                                                                      else str(value).strip())
        except (InvalidOperation, ValueError):
            raise OutOfBounds(field, f"{value!r} is not a number") from None
        if not number.is_finite():
            raise OutOfBounds(field, f"{value!r} is not a finite number")
        exponent = number.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > self.places:
            if not rounding:
                raise OutOfBounds(field, f"{value} has more than {self.places} decimal places; "
                                         f"round it to {self.places}")
            number = number.quantize(Decimal(1).scaleb(-self.places), rounding=ROUND_HALF_EVEN)
        if abs(number) > self.largest:
            raise OutOfBounds(field, f"{value} is too large: at most {_group(self.largest)} "
                                     f"({self.max_digits - self.places} digits before the decimal point)")
        if self.minimum is not None and number < self.minimum:
            raise OutOfBounds(field, "must not be negative" if self.minimum == 0 else
                              f"{value} is below the smallest allowed value, {self.minimum}")
        return number

    def holds(self, value) -> bool:
        """Whether a stored value is one this column could have been given (for showing bad rows)."""
        if value is None:
            return True
        try:
            self.check("value", value, rounding=True)
        except OutOfBounds:
            return False
        return True


@dataclass(frozen=True)
class IntBound:
    lo: int
    hi: int

    def check(self, field: str, value) -> int:
        """``value`` as an int in ``[lo, hi]``, or :class:`OutOfBounds`; a float must be whole."""
        if isinstance(value, bool):
            raise OutOfBounds(field, f"{value!r} is not a whole number")
        if isinstance(value, float):
            if not value.is_integer():
                raise OutOfBounds(field, f"{value!r} is not a whole number")
            value = int(value)
        elif not isinstance(value, int):
            text = str(value).strip()
            try:
                value = int(text)
            except ValueError:
                raise OutOfBounds(field, f"{text!r} is not a whole number") from None
        if value < 0 <= self.lo:
            raise OutOfBounds(field, f"must not be negative: give a whole number from {_group(self.lo)} to "
                                     f"{_group(self.hi)}")
        if not self.lo <= value <= self.hi:
            raise OutOfBounds(field, f"{value} is out of range: give a whole number from "
                                     f"{_group(self.lo)} to {_group(self.hi)}")
        return value


@dataclass(frozen=True)
class FloatBound:
    """Finite, in ``[lo, hi]``; in ``(lo, hi]`` when ``above``."""

    lo: float
    hi: float
    above: bool = False

    def check(self, field: str, value) -> float:
        if isinstance(value, bool):
            raise OutOfBounds(field, f"{value!r} is not a number")
        try:
            number = float(value.strip() if isinstance(value, str) else value)
        except (TypeError, ValueError):
            raise OutOfBounds(field, f"{value!r} is not a number") from None
        if not math.isfinite(number):
            raise OutOfBounds(field, f"{value!r} is not a finite number")
        if self.above and not self.lo < number <= self.hi:
            raise OutOfBounds(field, f"{value!r} is out of range: give a number above {self.lo:g} and at most "
                                     f"{self.hi:g}")
        if not self.lo <= number <= self.hi:
            raise OutOfBounds(field, f"{value!r} is out of range: give a number from {self.lo:g} to {self.hi:g}")
        return number


@dataclass(frozen=True)
class DateWindow:
    first: date
    last: date

    def check(self, field: str, value: date | datetime):
        """``value`` (a date or an aware/naive datetime) unchanged, or :class:`OutOfBounds`."""
        day = value.date() if isinstance(value, datetime) else value
        if not self.first <= day <= self.last:  # isoformat: strftime's %Y writes the year 1 as "1"
            raise OutOfBounds(field, f"{day.isoformat()} is out of range: give a date from "
                                     f"{self.first.isoformat()} to {self.last.isoformat()}")
        return value

    def holds(self, value) -> bool:
        if value is None:
            return True
        day = value.date() if isinstance(value, datetime) else value
        return self.first <= day <= self.last


#: every date and timestamp bestby stores (see the module's docstring for why these years)
DATES = DateWindow(date(1900, 1, 1), date(2199, 12, 31))
#: a 32-bit signed column (Django's IntegerField on every backend)
INT32 = IntBound(-2_147_483_648, 2_147_483_647)
#: a row count, offset or page number a request may ask for: far above any store, far below 2**63
POSITION = IntBound(0, 1_000_000_000)
#: a probability
PROBABILITY = FloatBound(0.0, 1.0)
#: a quantile (a best-by's q, a fraction of a shelf life)
QUANTILE = FloatBound(0.0, 1.0, above=True)
#: a window of whole days back from a date (see the module's docstring for these ranges)
SPAN_DAYS = IntBound(1, 3650)
#: a lookback in days, a fraction allowed
LOOKBACK_DAYS = FloatBound(0.0, 3650.0, above=True)
#: a policy's day threshold
THRESHOLD_DAYS = FloatBound(0.0, 100_000.0)
#: close-date pushes before a deal is stalled
PUSHES = IntBound(1, 1000)
#: a random seed
SEED = IntBound(0, 2**32 - 1)
#: a row's id (BigAutoField)
ROW_ID = IntBound(1, 2**63 - 1)

FIRST_INSTANT = datetime(DATES.first.year, 1, 1, tzinfo=timezone.utc)


def check_text(field: str, value: str) -> str:
    """``value`` unchanged, or :class:`OutOfBounds` when it holds a NUL character."""
    if isinstance(value, str) and "\x00" in value:
        raise OutOfBounds(field, "must not contain NUL (0x00) characters; remove them and try again")
    return value


def check_date(field: str, value):
    """``value`` (a date or datetime, or None) unchanged when inside :data:`DATES`."""
    return value if value is None else DATES.check(field, value)


def check_value(bound, field: str, value, *, rounding: bool = False):
    """``bound.check(field, value)``; ``rounding`` applies to a :class:`DecimalBound` only (see its ``check``)."""
    if isinstance(bound, DecimalBound):
        return bound.check(field, value, rounding=rounding)
    return bound.check(field, value)


def check_column(bound, field: str, values: list, *, rounding: bool = False) -> tuple[list, list[tuple[int, OutOfBounds]]]:
    """Check every value of a column (None passes) against ``bound``; return the values and the refusals.

    The values come back as ``bound.check`` returns them (a decimal rounded
    half-even with ``rounding``; every other value unchanged, and the list
    itself when nothing changed); each refusal is ``(index, OutOfBounds)``, in
    index order. ``field`` names the column in the refusals.
    """
    present = [v for v in values if v is not None]
    if not present:
        return values, []
    decimal = isinstance(bound, DecimalBound)

    def check(v):
        return check_value(bound, field, v, rounding=rounding)

    try:
        low, high = min(present), max(present)
        inside = True
        for end in (low, high):
            if decimal:
                bound.check(field, end, rounding=True)  # the range only: places are looked at below
            else:
                check(end)
    except (OutOfBounds, TypeError):  # TypeError: values of mixed types, which only the walk can judge
        inside = False
    if inside and not decimal:
        return values, []
    if inside:
        # every value is in range, so quantizing cannot overflow the context's precision
        step = Decimal(1).scaleb(-bound.places)
        bad_places = [i for i, v in enumerate(values) if v is not None and v != v.quantize(step)]
        if not bad_places:
            return values, []
        walk = bad_places
    else:
        walk = [i for i, v in enumerate(values) if v is not None]
    out, refused = list(values), []
    for i in walk:
        try:
            out[i] = check(values[i])
        except OutOfBounds as exc:
            refused.append((i, exc))
    return out, refused
