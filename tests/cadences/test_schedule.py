"""Cadence scheduling, worked by hand on the 2026 calendar (no database).

March/April 2026: Fri 27 Mar; Sun 29 Mar Europe switches to summer time; Fri 3 Apr Good Friday and
Mon 6 Apr Easter Monday are German public holidays; the US switched on Sun 8 Mar.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from bestby.cadences.schedule import (DEFAULT_STEPS, NURTURE_DAYS, BusinessCalendar, ScheduleError, Step, check_steps,
                                      default_is_valid, due_dates, local_today, recontact_date, shift_after_late)

DE = BusinessCalendar("DE")
NONE = BusinessCalendar(None)
D = date


def test_weekend_is_skipped():
    assert NONE.add_business_days(D(2026, 3, 27), 1) == D(2026, 3, 30)       # Friday + 1 = Monday
    assert NONE.add_business_days(D(2026, 3, 28), 0) == D(2026, 3, 30)       # a Saturday start rolls to Monday
    assert NONE.business_days_between(D(2026, 3, 27), D(2026, 3, 30)) == 1


def test_public_holidays_are_skipped():
    assert DE.holiday(D(2026, 4, 3)) == "Good Friday" and DE.holiday(D(2026, 4, 6)) == "Easter Monday"
    # Thursday 2 April + 1 business day: Good Friday, the weekend and Easter Monday are skipped
    assert DE.add_business_days(D(2026, 4, 2), 1) == D(2026, 4, 7)
    assert NONE.add_business_days(D(2026, 4, 2), 1) == D(2026, 4, 3)
    assert DE.business_days_between(D(2026, 4, 2), D(2026, 4, 7)) == 1


def test_default_cadence_over_easter():
    # offsets 0, 0, 1, 3, 6, 9 from Thursday 2 April 2026, counted by hand on the German calendar:
    # 1 -> Tue 7, 2 -> Wed 8, 3 -> Thu 9, 4 -> Fri 10, 5 -> Mon 13, 6 -> Tue 14, 7 -> Wed 15, 8 -> Thu 16, 9 -> Fri 17
    assert due_dates(D(2026, 4, 2), DEFAULT_STEPS, DE) == [
        D(2026, 4, 2), D(2026, 4, 2), D(2026, 4, 7), D(2026, 4, 9), D(2026, 4, 14), D(2026, 4, 17)]
    # without holidays: 1 -> Fri 3, 3 -> Tue 7, 6 -> Fri 10, 9 -> Wed 15
    assert due_dates(D(2026, 4, 2), DEFAULT_STEPS, NONE) == [
        D(2026, 4, 2), D(2026, 4, 2), D(2026, 4, 3), D(2026, 4, 7), D(2026, 4, 10), D(2026, 4, 15)]


def test_daylight_saving_change_moves_no_task():
    # enrolled Friday 27 March in Berlin; the clocks go forward on Sunday 29 March
    due = due_dates(D(2026, 3, 27), DEFAULT_STEPS, DE)
    assert due == [D(2026, 3, 27), D(2026, 3, 27), D(2026, 3, 30), D(2026, 4, 1), D(2026, 4, 8), D(2026, 4, 13)]
    berlin, new_york = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")
    # 22:30 UTC on Sunday 29 March is 00:30 on Monday in Berlin (UTC+2 since 01:00 UTC that day) ...
    assert local_today(datetime(2026, 3, 29, 22, 30, tzinfo=timezone.utc), berlin) == D(2026, 3, 30)
    # ... while 22:30 UTC on Saturday 28 March was still Saturday 23:30 there (UTC+1)
    assert local_today(datetime(2026, 3, 28, 22, 30, tzinfo=timezone.utc), berlin) == D(2026, 3, 28)
    # two sellers, one instant: 03:30 UTC Monday 30 March is Monday in Berlin, still Sunday 23:30 in New York
    instant = datetime(2026, 3, 30, 3, 30, tzinfo=timezone.utc)
    assert local_today(instant, berlin) == D(2026, 3, 30) and local_today(instant, new_york) == D(2026, 3, 29)
    with pytest.raises(ValueError):
        local_today(datetime(2026, 3, 30, 3, 30), berlin)


def test_late_completion_shifts_later_open_steps_keeping_spacing():
    due = due_dates(D(2026, 3, 27), DEFAULT_STEPS, DE)
    # step 3 (index 2, due Mon 30 March) done on Thu 2 April: 3 business days late
    open_ = [False, False, False, True, True, True]
    moved = shift_after_late(due, open_, 2, D(2026, 4, 2), DE)
    # Wed 1 Apr + 3 = Tue 7 (Fri 3 and Mon 6 are holidays: 2 -> 1, 7 -> 2, 8 -> 3) = Wed 8 Apr
    assert moved[3] == D(2026, 4, 8)
    # Wed 8 Apr + 3 = Mon 13 Apr; Mon 13 Apr + 3 = Thu 16 Apr
    assert moved[4:] == [D(2026, 4, 13), D(2026, 4, 16)]
    assert moved[:3] == due[:3]
    # the spacing in business days between the open steps is kept
    assert DE.business_days_between(moved[3], moved[4]) == DE.business_days_between(due[3], due[4])
    # on time or early: nothing moves; a closed later step never moves
    assert shift_after_late(due, open_, 2, D(2026, 3, 30), DE) == due
    assert shift_after_late(due, [False, False, False, False, True, True], 2, D(2026, 4, 2), DE)[3] == due[3]


def test_recontact_and_default_promise():
    assert recontact_date(D(2026, 4, 13)) == D(2026, 7, 12) and NURTURE_DAYS == 90
    assert default_is_valid()
    assert len(DEFAULT_STEPS) == 6 and max(s.offset for s in DEFAULT_STEPS) == 9
    assert len({s.channel for s in DEFAULT_STEPS}) == 4
    assert not default_is_valid((Step(0, "phone"),) * 6)


@pytest.mark.parametrize("steps, param", [
    ([], "steps"),
    ([Step(0, "phone"), Step(-1, "email")], "steps[2].offset"),
    ([Step(3, "phone"), Step(2, "email")], "steps[2].offset"),
    ([Step(0, "social")], "steps[1].channel"),
    ([Step(0, "meeting")], "steps[1].channel"),
    ([Step(131, "phone")], "steps[1].offset"),
])
def test_bad_steps_are_refused_naming_the_step(steps, param):
    with pytest.raises(ScheduleError) as exc:
        check_steps(steps)
    assert exc.value.param == param


def test_unknown_country_is_refused():
    with pytest.raises(ScheduleError) as exc:
        BusinessCalendar("XX")
    assert exc.value.param == "country"
