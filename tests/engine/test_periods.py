"""Fiscal periods and goals: hand-worked calendars, and every day of several years checked by brute force.

The brute-force reference walks the calendar a day at a time, counting months
from the fiscal year's first month, with no date arithmetic shared with the
code under test.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from bestby.engine.goals import goal, goals_by_owner
from bestby.engine.periods import Period, PeriodError, parse_period, period_of, periods_between


@pytest.mark.parametrize("first_month, day, year, quarter, month", [
    (7, date(2025, 7, 1), 2026, 1, 1),    # July starts FY2026 (named by the year it ends in)
    (7, date(2026, 6, 30), 2026, 4, 12),
    (7, date(2025, 12, 31), 2026, 2, 6),
    (4, date(2026, 3, 31), 2026, 4, 12),  # April-March (UK, Japan, India)
    (4, date(2026, 4, 1), 2027, 1, 1),
    (1, date(2026, 2, 15), 2026, 1, 2),   # the calendar year
    (10, date(2025, 10, 1), 2026, 1, 1),  # October (US federal)
    (2, date(2026, 1, 31), 2026, 4, 12),  # February: January closes the year
])
def test_hand_worked_calendars(first_month, day, year, quarter, month):
    q = period_of(day, "quarter", first_month=first_month)
    m = period_of(day, "month", first_month=first_month)
    y = period_of(day, "year", first_month=first_month)
    assert (q.fiscal_year, q.number, m.number, y.fiscal_year) == (year, quarter, month, year)
    assert day in q and day in m and day in y


def test_fy2026_from_july_runs_july_to_june_and_its_quarters_and_labels():
    y = parse_period("FY2026", first_month=7)
    assert (y.start, y.last_day, y.days) == (date(2025, 7, 1), date(2026, 6, 30), 365)
    q2 = parse_period("FY2026-Q2", first_month=7)
    assert (q2.start, q2.end, q2.label) == (date(2025, 10, 1), date(2026, 1, 1), "FY2026-Q2")
    assert parse_period("fy2026-m03", first_month=7).start == date(2025, 9, 1)
    assert parse_period("2025-09", first_month=7).label == "FY2026-M03"  # a calendar month, fiscal name
    assert parse_period("2026-Q1").start == date(2026, 1, 1)  # with January, the calendar quarter
    assert datetime(2025, 9, 30, 23, 59, tzinfo=timezone.utc) in parse_period("FY2026-Q1", first_month=7)
    assert str(q2.next()) == "FY2026-Q3" and str(q2.next(3)) == "FY2027-Q1" and str(q2.previous()) == "FY2026-Q1"


def _reference(day: date, first_month: int) -> tuple[int, int]:
    """(fiscal year, fiscal month): walk back a day at a time to the 1st of ``first_month``, counting the
    month boundaries crossed; the year is named by the calendar year of the fiscal year's last day."""
    d, month = day, 1
    while not (d.month == first_month and d.day == 1):
        before = d - timedelta(days=1)
        if before.month != d.month:
            month += 1
        d = before
    last_day = date(d.year + 1, d.month, 1) - timedelta(days=1)
    return last_day.year, month


@pytest.mark.parametrize("first_month", range(1, 13))
def test_every_day_of_three_years_against_a_day_by_day_reference(first_month):
    day = date(2023, 6, 1)  # through the leap day of 2024
    seen_quarters = []
    while day < date(2026, 6, 1):
        m = period_of(day, "month", first_month=first_month)
        q = period_of(day, "quarter", first_month=first_month)
        ref_year, ref_month = _reference(day, first_month)
        assert (m.fiscal_year, m.number) == (ref_year, ref_month), day
        assert (q.fiscal_year, q.number) == (ref_year, (ref_month - 1) // 3 + 1), day
        assert m.start <= day < m.end and q.start <= day < q.end and m.start.day == 1
        if day.day == 1:
            assert parse_period(m.label, first_month=first_month) == m
            assert parse_period(q.label, first_month=first_month) == q
        if not seen_quarters or seen_quarters[-1] != q:
            assert not seen_quarters or seen_quarters[-1].end == q.start  # they tile: no gap, no overlap
            seen_quarters.append(q)
        day += timedelta(days=1)
    assert periods_between(seen_quarters[0], seen_quarters[-1]) == seen_quarters


@pytest.mark.parametrize("text, needle", [
    ("2026-Q5", "not a period"), ("FY2026-M13", "M01 to M12"), ("2026-13", "01 to 12"), ("Q1", "not a period"),
    ("", "not a period"),
])
def test_bad_periods_name_the_text(text, needle):
    with pytest.raises(PeriodError, match=needle):
        parse_period(text)


def test_bad_fiscal_start_and_mixed_ranges():
    with pytest.raises(PeriodError, match="fiscal_year_start: 13"):
        parse_period("FY2026", first_month=13)
    with pytest.raises(PeriodError, match="not of the same kind"):
        periods_between(parse_period("FY2026"), parse_period("FY2026-Q1"))
    with pytest.raises(PeriodError, match="comes before"):
        periods_between(parse_period("FY2026-Q2"), parse_period("FY2026-Q1"))


def test_goals_spread_quotas_by_days():
    q1 = parse_period("FY2026-Q1")  # Jan-Mar 2026: 31 + 28 + 31 = 90 days
    rows = [
        ("ana", date(2026, 1, 1), date(2026, 1, 31), Decimal(100)),     # January
        ("ana", date(2026, 2, 1), date(2026, 2, 28), Decimal(200)),     # February
        ("ana", date(2026, 3, 1), date(2026, 3, 31), Decimal(300)),     # March
        ("ben", date(2026, 1, 1), date(2026, 12, 31), Decimal(36500)),  # a year: 100 a day
        ("cat", date(2026, 4, 1), date(2026, 6, 30), Decimal(999)),     # another quarter
        ("team:North", date(2025, 12, 17), date(2026, 1, 15), Decimal(3000)),  # 30 days, 15 in Q1
    ]
    assert goal(rows, q1, "ana") == Decimal("600.00")  # monthly quotas add up exactly
    assert goal(rows, q1, "ben") == Decimal("9000.00")  # 90 days x 100
    assert goal(rows, parse_period("2026-02"), "ben") == Decimal("2800.00")
    assert goal(rows, q1, "cat") is None  # no day in the period
    assert goal(rows, q1, "team:North") == Decimal("1500.00")
    assert goal(rows, parse_period("2026-01"), "ana") == Decimal("100.00")
    # a third of a 3-day quota of 100: 33.333... rounds once at the end
    assert goal([("dan", date(2026, 1, 30), date(2026, 2, 1), Decimal(100))], parse_period("2026-01"), "dan") \
        == Decimal("66.67")
    assert goals_by_owner(rows, q1) == {"ana": Decimal("600.00"), "ben": Decimal("9000.00"),
                                        "team:North": Decimal("1500.00")}
