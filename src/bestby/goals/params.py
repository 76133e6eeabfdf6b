"""The report pages' and endpoints' parameters read from text: each error names the parameter at fault.

Shared by the web pages (:mod:`bestby.web.views_forecast` and friends) and
the API (:mod:`bestby.api.reports`), so that ``period=2026-Q9`` is refused in
the same words by both. Everything here is parsing; the figures are
:mod:`bestby.goals.reports`'.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Iterable

from bestby import clock
from bestby.bounds import DATES, SPAN_DAYS, OutOfBounds
from bestby.engine.periods import Period, PeriodError

__all__ = ["MAX_PERIODS", "ParamError", "as_of_param", "as_of_value", "backtest_periods", "levels_param",
           "one_period", "period_param", "report_policy", "weeks_param", "window_param"]

MAX_PERIODS = 12  # a backtest replays the forecast per snapshot: 12 periods x 3 snapshots is already minutes
#: the calendar every date a report takes lies in: :data:`bestby.bounds.DATES` (a quota ending 9999-12-31 overflowed
#: the first "+ 1 day"; the engine's timestamps end in 2262)
EARLIEST, LATEST = DATES.first, DATES.last
_RANGE = f"from {EARLIEST:%Y-%m-%d} to {LATEST:%Y-%m-%d}"


class ParamError(OutOfBounds):
    """A parameter that cannot be read; ``field`` names it, ``message`` says why (``str()``: "field: message")."""


def _bare(exc: PeriodError) -> str:
    """A PeriodError's message without its own "period: " / "periods: " prefix."""
    head, sep, rest = str(exc).partition(": ")
    return rest if sep and head in ("period", "periods") else str(exc)


def as_of_param(text: str | None, *, field: str = "as_of", now: datetime | None = None) -> datetime:
    """An ISO date or timestamp (naive: UTC), or ``now`` when blank."""
    raw = (text or "").strip()
    if not raw:
        return now or clock.now()
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise ParamError(field, f"{raw!r} is not an ISO date or timestamp (e.g. 2026-03-31 or "
                                "2026-03-31T12:00:00+02:00)") from None
    return as_of_value(parsed, field=field)


def as_of_value(value: datetime, *, field: str = "as_of") -> datetime:
    """A moment in UTC (naive: UTC), refused outside :data:`bestby.bounds.DATES`."""
    try:
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 has no UTC time
        raise ParamError(field, f"{value.isoformat()} is out of range: give a date {_RANGE}") from None
    if not EARLIEST <= value.date() <= LATEST:
        raise ParamError(field, f"{value.date().isoformat()} is out of range: give a date {_RANGE}")
    return value


def _first_month() -> int:
    from bestby import config

    return config.load().fiscal_year_start


def period_param(text: str | None, when: datetime, *, field: str = "period") -> Period:
    """A fiscal period's text (FY2026-Q1, 2026-Q1, 2025-07...), or the fiscal quarter holding ``when``."""
    from bestby.goals.reports import fiscal_period

    raw = (text or "").strip()
    try:
        period = fiscal_period(raw or None, when)
    except PeriodError as exc:
        raise ParamError(field, _bare(exc)) from None
    except (ValueError, OverflowError):  # a year the calendar cannot hold (FY0000, 9999-Q4's next)
        raise ParamError(field, f"{raw!r} is out of range: give a period {_RANGE}") from None
    if not (EARLIEST <= period.start and period.last_day <= LATEST):
        raise ParamError(field, f"{period.label} is out of range: give a period {_RANGE}")
    return period


def one_period(text: str, *, field: str) -> Period:
    """A period's text (FY2026-Q1, 2026-Q1, 2025-07...) on the fiscal calendar, inside the calendar's window."""
    from bestby.engine.periods import parse_period

    raw = (text or "").strip()
    try:
        period = parse_period(raw, first_month=_first_month())
    except PeriodError as exc:
        raise ParamError(field, _bare(exc)) from None
    except (ValueError, OverflowError):
        raise ParamError(field, f"{raw!r} is out of range: give a period {_RANGE}") from None
    if not (EARLIEST <= period.start and period.last_day <= LATEST):
        raise ParamError(field, f"{period.label} is out of range: give a period {_RANGE}")
    return period


def levels_param(text: str | None, allowed: Iterable[str], *, field: str = "by",
                 default: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Levels, comma-separated, each one of ``allowed``; blank: ``default``."""
    allowed = tuple(allowed)
    levels = tuple(dict.fromkeys(v.strip() for v in (text or "").split(",") if v.strip()))
    if not levels:
        return default
    bad = [v for v in levels if v not in allowed]
    if bad:
        raise ParamError(field, f"{bad[0]!r} is not one of {', '.join(allowed)} (several: comma-separated)")
    return levels


def weeks_param(text: str | None, *, field: str = "weeks_in", default: tuple[int, ...] = (0, 4, 8)) -> tuple[int, ...]:
    """Whole weeks from 0 to 52, comma-separated; blank: ``default``."""
    raw = (text or "").strip()
    if not raw:
        return default
    try:
        weeks = tuple(sorted({int(v) for v in raw.split(",") if v.strip()}))
    except ValueError:
        weeks = ()
    if not weeks or any(w < 0 or w > 52 for w in weeks):
        raise ParamError(field, f"{raw!r} is not a list of whole weeks from 0 to 52 (e.g. 0,4,8)")
    return weeks


def window_param(text: str | None, *, field: str = "window", default: int = 180) -> int:
    """A number of days from 1 to 3650 (:data:`bestby.bounds.SPAN_DAYS`); blank: ``default``."""
    raw = (text or "").strip()
    if not raw:
        return default
    try:
        return SPAN_DAYS.check(field, raw)
    except OutOfBounds as exc:
        raise ParamError(field, f"{exc.message} (days)") from None


def backtest_periods(first: str | None, last: str | None, *, now: datetime) -> list[Period]:
    """``first`` to ``last`` (the same kind); blank: the last four fiscal quarters finished by ``now``.

    At most :data:`MAX_PERIODS` periods (a page or a request must end in minutes).
    """
    from bestby.engine.periods import period_of, periods_between

    current = period_of(now, "quarter", first_month=_first_month())

    def read(text, field, fallback):
        return one_period(text, field=field) if (text or "").strip() else fallback

    a = read(first, "from", current.next(-4))
    b = read(last, "to", current.previous() if a.kind == "quarter" else a)
    try:
        periods = periods_between(a, b)
    except PeriodError as exc:
        raise ParamError("to", _bare(exc)) from None
    if len(periods) > MAX_PERIODS:
        raise ParamError("to", f"{a.label} to {b.label} is {len(periods)} periods; at most {MAX_PERIODS} at once")
    return periods


def report_policy():
    """The clearance policy the reports use: the one stored on the Settings page, else the defaults.

    A stored policy that no longer validates (saved before its bounds were checked) is a ParamError naming
    ``policy``, so that a page answers 400 and the API 422 saying where to fix it, instead of a 500.
    """
    from bestby.clearance.settings import stored_policy
    from bestby.engine.policy import ClearancePolicy

    try:
        return stored_policy() or ClearancePolicy()
    except ValueError as exc:
        raise ParamError("policy", f"{exc}; fix it on the Settings page") from None
