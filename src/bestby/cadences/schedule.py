"""Cadence scheduling rules: business days, due dates, late completion, engagement. Pure: no Django, no I/O.

Business days
    A business day is a Monday to Friday that is not a public holiday of the
    workspace country (the ``holidays`` package, chosen because it keeps the
    tables of some 150 countries and their regions up to date, movable feasts
    included; hand-kept lists go stale). Without a country only weekends are
    skipped. Days are *calendar dates in the seller's time zone*: a task is
    due on a date, not at an instant, so a daylight-saving change (a 23- or
    25-hour day) can never move it to another day, and "today" for a seller is
    the date on their own wall clock (``local_today``).

    ``add_business_days(d, n)`` for n >= 0 is the n-th business day after
    ``d`` counting ``d``'s own next business day as 1; for n = 0 it is ``d``
    when ``d`` is a business day, else the next business day (``roll``).
    ``business_days_between(a, b)`` counts the business days in (a, b] (0 when
    b <= a), so ``business_days_between(d, add_business_days(d, n)) == n`` for a
    business day ``d``.

Due dates
    A cadence is an ordered list of steps, each with a business-day offset
    from the start (non-decreasing, from 0), a channel and an instruction.
    Step k of an enrolment started on ``s`` is due on
    ``add_business_days(roll(s), offset_k)``.

Late completion
    When step i is done on ``done`` after its due date, every later step that
    is still open moves by the same number of business days the step was late
    (``business_days_between(due_i, done)``), so the spacing between steps in
    business days is kept: a lead who got the first call three days late still
    gets the second touch two business days after it, not the same afternoon.
    Done early or on time moves nothing. A skipped step moves nothing either:
    it is recorded as skipped, and the cadence goes on as planned.

Engagement
    A step completed with outcome ``replied`` or ``meeting_booked`` ends the
    cadence: the lead is engaged, and the open steps are cancelled. A cadence
    whose last step is done or skipped without engagement returns the lead to
    nurture with a re-contact date ``NURTURE_DAYS`` calendar days after the
    last step (a quarter: long enough not to pester, short enough that the
    lead's situation may have changed).

The default cadence
    Six touches in ten business days across four channels (phone, email,
    voicemail, text), front-loaded: buyers answer early attempts most, and the
    first two days carry three touches; the last touch on day 9 is the tenth
    business day counting the start as the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from functools import lru_cache

#: channels a cadence step may use (a meeting is an outcome, and social is never a touch)
STEP_CHANNELS = ("phone", "voicemail", "email", "mail", "text", "other")
#: outcomes that end a cadence: the buyer engaged
ENGAGED = frozenset({"replied", "meeting_booked"})
#: calendar days from the last step to the re-contact date of a lead returned to nurture (see module doc)
NURTURE_DAYS = 90
#: the longest offset a step may have: half a year of business days; longer is a nurture plan, not a cadence
MAX_OFFSET = 130


@dataclass(frozen=True)
class Step:
    offset: int
    channel: str
    instruction: str = ""


DEFAULT_STEPS = (
    Step(0, "phone", "Call: introduce yourself and the reason for calling; no voicemail yet."),
    Step(0, "email", "Send the introduction email with one clear question."),
    Step(1, "voicemail", "Call again; leave a short voicemail that points to the email."),
    Step(3, "phone", "Call at another time of day than the first call."),
    Step(6, "text", "Send a short text (or a LinkedIn message) with one new point of value."),
    Step(9, "email", "Send the break-up email: ask whether to close the file or talk later."),
)


class ScheduleError(ValueError):
    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param
        self.message = message


def check_steps(steps: list[Step] | tuple[Step, ...]) -> None:
    """Refuse an empty cadence, offsets that go back or out of range, unknown channels (ScheduleError names the step)."""
    if not steps:
        raise ScheduleError("steps", "a cadence needs at least one step")
    previous = 0
    for k, step in enumerate(steps, start=1):
        if not isinstance(step.offset, int) or step.offset < 0 or step.offset > MAX_OFFSET:
            raise ScheduleError(f"steps[{k}].offset", f"{step.offset!r} is not a whole number of business days "
                                f"from 0 to {MAX_OFFSET}")
        if step.offset < previous:
            raise ScheduleError(f"steps[{k}].offset", f"{step.offset} is before the previous step's {previous}; "
                                "steps are in order")
        if step.channel not in STEP_CHANNELS:
            raise ScheduleError(f"steps[{k}].channel", f"{step.channel!r} is not one of {', '.join(STEP_CHANNELS)}")
        previous = step.offset


class BusinessCalendar:
    """Business days of one country (None: weekends only); see the module doc."""

    def __init__(self, country: str | None = None, subdiv: str | None = None) -> None:
        self.country = country
        self.subdiv = subdiv
        if country:
            import holidays

            try:
                self._holidays = holidays.country_holidays(country, subdiv=subdiv)
            except NotImplementedError:
                raise ScheduleError("country", f"{country!r} (region {subdiv!r}) is not a country the holidays "
                                    "package knows; use an ISO 3166 code such as DE or US") from None
        else:
            self._holidays = {}

    def holiday(self, d: date) -> str | None:
        """The name of the public holiday on ``d``, or None."""
        return self._holidays.get(d) if self.country else None

    def is_business_day(self, d: date) -> bool:
        return d.weekday() < 5 and (not self.country or d not in self._holidays)

    def roll(self, d: date) -> date:
        while not self.is_business_day(d):
            d += timedelta(days=1)
        return d

    def add_business_days(self, d: date, n: int) -> date:
        if n < 0:
            raise ValueError("n must be >= 0")
        d = self.roll(d)
        for _ in range(n):
            d = self.roll(d + timedelta(days=1))
        return d

    def business_days_between(self, a: date, b: date) -> int:
        """Business days in (a, b]; 0 when b <= a."""
        count, d = 0, a
        while d < b:
            d += timedelta(days=1)
            if self.is_business_day(d):
                count += 1
        return count


@lru_cache(maxsize=64)
def calendar_for(country: str | None, subdiv: str | None = None) -> BusinessCalendar:
    return BusinessCalendar(country, subdiv)


def local_today(now: datetime, zone: tzinfo) -> date:
    """The date on the seller's wall clock at the instant ``now`` (aware)."""
    if now.tzinfo is None:
        raise ValueError("now must be zone-aware")
    return now.astimezone(zone).date()


def due_dates(start: date, steps: list[Step] | tuple[Step, ...], cal: BusinessCalendar) -> list[date]:
    first = cal.roll(start)
    return [cal.add_business_days(first, s.offset) for s in steps]


def shift_after_late(due: list[date], open_: list[bool], index: int, done: date, cal: BusinessCalendar) -> list[date]:
    """New due dates after step ``index`` (due ``due[index]``) was done on ``done`` (see module doc).

    ``open_[j]`` says whether step j is still to do; only open steps after
    ``index`` move. Returns the whole list (unchanged entries kept).
    """
    late = cal.business_days_between(due[index], done)
    if late <= 0:
        return list(due)
    out = list(due)
    for j in range(index + 1, len(due)):
        if open_[j]:
            out[j] = cal.add_business_days(due[j], late)
    return out


def recontact_date(last_step_on: date) -> date:
    return last_step_on + timedelta(days=NURTURE_DAYS)


def default_is_valid(steps=DEFAULT_STEPS) -> bool:
    """The default's promise: six touches or more, within ten business days, across three channels or more."""
    return len(steps) >= 6 and max(s.offset for s in steps) <= 9 and len({s.channel for s in steps}) >= 3


#: how far before or after today a person may start a cadence: a year back records a run done on paper; years
#: back is a typo that would make all six touches overdue at once (and a year ahead is past any plan)
START_WINDOW = timedelta(days=366)


def start_problem(start: date, today: date) -> str | None:
    """Why ``start`` is no start date a person means (more than :data:`START_WINDOW` from ``today``), or None."""
    if start < today - START_WINDOW:
        return f"{start.isoformat()} is more than a year ago; a cadence starts today or recently: choose a later date"
    if start > today + START_WINDOW:
        return f"{start.isoformat()} is more than a year ahead; choose an earlier date"
    return None
