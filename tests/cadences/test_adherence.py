"""Adherence rules on a hand-built data set (no database): every expected figure is worked out in the comments.

Calendar: March 2026 (Sun 1; Mondays 2, 9, 16, 23, 30), weekends only unless a test says Germany (Good
Friday 3 April and Easter Monday 6 April are holidays there). Period: March, ``[1 Mar, 1 Apr)``. Sellers:
ana and ben (team North), cy (team South), dee (no team). STOP_AFTER = 5 business days, ABANDON_AT = 3.
"""

from __future__ import annotations

from datetime import date

import pytest

from bestby.cadences.adherence import ABANDON_AT, STOP_AFTER, AdherenceError, adherence, runs_of
from bestby.cadences.schedule import BusinessCalendar

D = date
MARCH = {"start": D(2026, 3, 1), "end": D(2026, 4, 1)}
TEAM = {"ana": "North", "ben": "North", "cy": "South", "dee": ""}


def task(owner, due, status="open", done=None, ended=None):
    return {"owner": owner, "team": TEAM[owner], "due_on": due, "status": status, "done_on": done, "ended_on": ended}


def touch(person, owner, on, channel="phone", direction="out", outcome=""):
    return {"person": person, "owner": owner, "team": TEAM.get(owner, ""), "on": on, "channel": channel,
            "direction": direction, "outcome": outcome}


TASKS = [
    # ana, as of Fri 20 March
    task("ana", D(2026, 3, 2), "done", D(2026, 3, 2)),          # on time
    task("ana", D(2026, 3, 3), "done", D(2026, 3, 2)),          # on time (early)
    task("ana", D(2026, 3, 4), "done", D(2026, 3, 6)),          # late
    task("ana", D(2026, 3, 5), "skipped", D(2026, 3, 5)),       # skipped
    task("ana", D(2026, 3, 10)),                                # overdue (open, due before 20 March)
    task("ana", D(2026, 3, 20)),                                # due today (open, due on the as-of date)
    task("ana", D(2026, 3, 23)),                                # not due yet
    task("ana", D(2026, 3, 9), "cancelled", ended=D(2026, 3, 9)),  # cancelled before as-of: not due
    task("ana", D(2026, 2, 27), "done", D(2026, 2, 27)),        # February: outside the period
    # ben: three steps closed after the as-of date were still open on 20 March
    task("ben", D(2026, 3, 11), "done", D(2026, 3, 25)),        # overdue then
    task("ben", D(2026, 3, 12), "cancelled", ended=D(2026, 3, 24)),  # overdue then
    task("ben", D(2026, 3, 13), "skipped", D(2026, 3, 26)),     # overdue then
    task("ben", D(2026, 3, 16), "done", D(2026, 3, 16)),        # on time
    # cy
    task("cy", D(2026, 3, 18), "done", D(2026, 3, 19)),         # late
    task("cy", D(2026, 4, 1)),                                  # April: outside the period
]


def by_key(rows):
    return {(r["level"], r["key"]): r for r in rows}


def steps(row):
    return {k: row[k] for k in ("due", "on_time", "late", "skipped", "overdue", "due_today")}


def test_steps_due_on_time_late_overdue_skipped():
    rows = by_key(adherence(TASKS, [], as_of=D(2026, 3, 20), **MARCH))
    # ana: 6 due (9 rows - not yet due - cancelled - February): 2 on time, 1 late, 1 skipped, 1 overdue, 1 today
    assert steps(rows[("owner", "ana")]) == {"due": 6, "on_time": 2, "late": 1, "skipped": 1, "overdue": 1,
                                             "due_today": 1}
    ana = rows[("owner", "ana")]
    assert (ana["on_time_share"], ana["late_share"], ana["overdue_share"], ana["skipped_share"]) == (
        pytest.approx(2 / 6), pytest.approx(1 / 6), pytest.approx(1 / 6), pytest.approx(1 / 6))
    # ben: 4 due: 1 on time, 3 overdue (done, cancelled and skipped only after 20 March)
    assert steps(rows[("owner", "ben")]) == {"due": 4, "on_time": 1, "late": 0, "skipped": 0, "overdue": 3,
                                             "due_today": 0}
    assert rows[("owner", "ben")]["overdue_share"] == pytest.approx(3 / 4)
    assert rows[("owner", "ben")]["team"] == "North"
    # cy: 1 due, late
    assert steps(rows[("owner", "cy")]) == {"due": 1, "on_time": 0, "late": 1, "skipped": 0, "overdue": 0,
                                            "due_today": 0}
    # team North = ana + ben: 10 due; everyone = 11
    assert steps(rows[("team", "North")]) == {"due": 10, "on_time": 3, "late": 1, "skipped": 1, "overdue": 4,
                                              "due_today": 1}
    assert steps(rows[("all", "all")]) == {"due": 11, "on_time": 3, "late": 2, "skipped": 1, "overdue": 4,
                                           "due_today": 1}
    assert steps(rows[("team", "South")]) == steps(rows[("owner", "cy")])
    # no runs: no leads, and shares over nothing are None
    assert rows[("all", "all")]["leads"] == 0 and rows[("all", "all")]["abandoned_share"] is None


def test_each_seller_has_their_own_as_of_date():
    # at 12 March for ben (say, a seller far west while it is already the 13th elsewhere):
    # 11 March open -> overdue; 12 March (cancelled on the 24th) -> due today; 13 and 16 not due yet
    rows = by_key(adherence(TASKS, [], as_of=D(2026, 3, 13), as_of_for={"ben": D(2026, 3, 12)}, **MARCH))
    assert steps(rows[("owner", "ben")]) == {"due": 2, "on_time": 0, "late": 0, "skipped": 0, "overdue": 1,
                                             "due_today": 1}


def test_no_step_due_gives_none_shares_and_the_workspace_row_anyway():
    [only] = adherence([], [], as_of=D(2026, 3, 20), **MARCH)
    assert (only["level"], only["key"], only["due"], only["on_time_share"]) == ("all", "all", 0, None)


TOUCHES = [
    # L1 (ana): attempts 2, 3, 4 March; the buyer replies on the 5th (inbound, no owner: imported) -> engaged right
    # after touch 3; a call on the 9th is the conversation, not an attempt; a meeting is booked on the 10th
    touch("L1", "ana", D(2026, 3, 2), outcome="no_answer"), touch("L1", "ana", D(2026, 3, 3), "email"),
    touch("L1", "ana", D(2026, 3, 4), "voicemail"), touch("L1", None, D(2026, 3, 5), "email", "in", "replied"),
    touch("L1", "ana", D(2026, 3, 9)), touch("L1", "ana", D(2026, 3, 10), "email", "in", "meeting_booked"),
    # L2 (ana): attempts 2, 3, 5 March, then nothing: stopped after 3 (abandoned); a like on the 27th is no touch
    # (counted, it would keep the run alive: 27 -> 31 March is 2 business days)
    touch("L2", "ana", D(2026, 3, 2)), touch("L2", "ana", D(2026, 3, 3), "email"), touch("L2", "ana", D(2026, 3, 5)),
    touch("L2", "ana", D(2026, 3, 27), "social"),
    # L3 (ana): two calls; the second books a meeting -> engaged right after touch 2, with a meeting
    touch("L3", "ana", D(2026, 3, 9)), touch("L3", "ana", D(2026, 3, 10), outcome="meeting_booked"),
    # L4 (ben): six attempts (imported: direction blank), gaps of at most 3 business days (6 -> 11: Mon 9, Tue 10,
    # Wed 11; 11 -> 16: Thu 12, Fri 13, Mon 16), last on the 16th, 11 business days before the 31st: stopped
    *[touch("L4", "ben", D(2026, 3, d), direction="") for d in (2, 3, 4, 6, 11, 16)],
    # L5 (ben): one call on 2 March, then 8 business days of silence (3,4,5,6,9,10,11,12 > 5): stopped after 1;
    # a new run on the 12th: call, email on the 13th, a reply the same day (inbound, no outcome) -> engaged at 2
    touch("L5", "ben", D(2026, 3, 2)), touch("L5", "ben", D(2026, 3, 12)), touch("L5", "ben", D(2026, 3, 13), "email"),
    touch("L5", "ben", D(2026, 3, 13), "email", "in"),
    # L6 (cy): attempts 24 and 26 March; only 3 business days by the 31st, but the cadence ended on the 27th:
    # stopped after 2 (abandoned)
    touch("L6", "cy", D(2026, 3, 24)), touch("L6", "cy", D(2026, 3, 26), "text"),
    # L7 (cy): attempts 27 and 30 March: still being worked on the 31st (an earlier cadence end, 20 March, is
    # before its last attempt and stops nothing): counts nowhere
    touch("L7", "cy", D(2026, 3, 27)), touch("L7", "cy", D(2026, 3, 30)),
    # L8 (cy): engaged on 26 February: ended before the period
    *[touch("L8", "cy", D(2026, 2, d)) for d in (23, 24, 25)],
    touch("L8", "cy", D(2026, 2, 26), "email", "in", "replied"),
    # C1 (dee, no team): the buyer wrote first on 2 March; the calls on the 3rd and 4th answer them: no run.
    # After 8 quiet business days a new run on the 16th and 17th, then nothing: stopped after 2 (abandoned)
    touch("C1", "dee", D(2026, 3, 2), "email", "in"), touch("C1", "dee", D(2026, 3, 3)),
    touch("C1", "dee", D(2026, 3, 4), "email"), touch("C1", "dee", D(2026, 3, 16)), touch("C1", "dee", D(2026, 3, 17)),
    # L9 (ana): a touch after the as-of date is not known yet (counted, L9 would be a stopped run of 1)
    touch("L9", "ana", D(2026, 4, 1)),
]
ENDS = [{"person": "L6", "ended_on": D(2026, 3, 27)}, {"person": "L7", "ended_on": D(2026, 3, 20)}]


def leads(row):
    return {k: row[k] for k in ("leads", "engaged", "stopped", "abandoned")}


def touch_rates(row):
    return [(t["touch"], t["reached"], t["replied"], t["meetings"]) for t in row["by_touch"]]


@pytest.fixture(scope="module")
def runs():
    return by_key(adherence([], TOUCHES, as_of=D(2026, 3, 31), cadence_ends=ENDS, **MARCH))


def test_leads_engaged_stopped_abandoned(runs):
    # ana: L1 engaged (3), L2 stopped (3, abandoned), L3 engaged (2)
    assert leads(runs[("owner", "ana")]) == {"leads": 3, "engaged": 2, "stopped": 1, "abandoned": 1}
    assert runs[("owner", "ana")]["abandoned_share"] == pytest.approx(1 / 3)
    # ben: L4 stopped (6), L5 first run stopped (1, abandoned), L5 second run engaged (2)
    assert leads(runs[("owner", "ben")]) == {"leads": 3, "engaged": 1, "stopped": 2, "abandoned": 1}
    # cy: L6 only (stopped by its cadence's end, 2, abandoned); L7 still worked, L8 in February
    assert leads(runs[("owner", "cy")]) == {"leads": 1, "engaged": 0, "stopped": 1, "abandoned": 1}
    assert runs[("owner", "cy")]["abandoned_share"] == 1.0
    # dee: C1's second run (2, abandoned); the buyer-first conversation counts nowhere; no team row
    assert leads(runs[("owner", "dee")]) == {"leads": 1, "engaged": 0, "stopped": 1, "abandoned": 1}
    assert ("team", "") not in runs
    assert leads(runs[("team", "North")]) == {"leads": 6, "engaged": 3, "stopped": 3, "abandoned": 2}
    # everyone: 8 leads, abandoned L2, L5 (1st), L6, C1 (2nd) = 4 of 8
    assert leads(runs[("all", "all")]) == {"leads": 8, "engaged": 3, "stopped": 5, "abandoned": 4}
    assert runs[("all", "all")]["abandoned_share"] == 0.5
    assert ("owner", None) not in runs   # L1's inbound reply had no owner: the run is ana's


def test_touches_before_the_seller_stopped(runs):
    assert runs[("owner", "ana")]["touches_before_stop"] == [{"touches": 3, "leads": 1}]
    assert runs[("owner", "ana")]["mean_touches_before_stop"] == 3.0
    assert runs[("owner", "ben")]["touches_before_stop"] == [{"touches": 1, "leads": 1}, {"touches": 6, "leads": 1}]
    assert runs[("owner", "ben")]["mean_touches_before_stop"] == 3.5
    # everyone: stopped runs of 3 (L2), 6 (L4), 1 (L5), 2 (L6), 2 (C1): mean 14 / 5
    assert runs[("all", "all")]["touches_before_stop"] == [{"touches": 1, "leads": 1}, {"touches": 2, "leads": 2},
                                                          {"touches": 3, "leads": 1}, {"touches": 6, "leads": 1}]
    assert runs[("all", "all")]["mean_touches_before_stop"] == pytest.approx(2.8)
    assert runs[("team", "South")]["touches_before_stop"] == [{"touches": 2, "leads": 1}]


def test_reply_and_meeting_rates_by_touch_number(runs):
    # ana: attempts L1 3, L2 3, L3 2. Touch 2: reached 3, L3 engaged there with a meeting;
    # touch 3: reached 2 (L1, L2), L1 replied there and got a meeting later in the conversation
    assert touch_rates(runs[("owner", "ana")]) == [(1, 3, 0, 0), (2, 3, 1, 1), (3, 2, 1, 1)]
    three = runs[("owner", "ana")]["by_touch"][2]
    assert (three["reply_rate"], three["meeting_rate"]) == (0.5, 0.5)
    assert runs[("owner", "ana")]["by_touch"][1]["reply_rate"] == pytest.approx(1 / 3)
    # ben: L4 6, L5a 1, L5b 2 (replied after touch 2, no meeting)
    assert touch_rates(runs[("owner", "ben")]) == [(1, 3, 0, 0), (2, 2, 1, 0), (3, 1, 0, 0), (4, 1, 0, 0),
                                                   (5, 1, 0, 0), (6, 1, 0, 0)]
    assert runs[("owner", "ben")]["by_touch"][1]["meeting_rate"] == 0.0
    # everyone: 8 runs; touch 2 reached by all but L5a (7): L3 and L5b engaged; touch 3 by L1, L2, L4
    assert touch_rates(runs[("all", "all")]) == [(1, 8, 0, 0), (2, 7, 2, 1), (3, 3, 1, 1), (4, 1, 0, 0),
                                                 (5, 1, 0, 0), (6, 1, 0, 0)]
    assert runs[("all", "all")]["by_touch"][1]["reply_rate"] == pytest.approx(2 / 7)


def test_stopped_after_more_than_five_business_days():
    assert STOP_AFTER == 5 and ABANDON_AT == 3
    calls = [touch("X", "ana", D(2026, 3, 2))]            # Monday 2 March
    # Mon 9 March is 5 business days later: still being worked; Tue 10 is 6: stopped
    [run] = runs_of(calls, as_of=D(2026, 3, 9))
    assert run.state == "active" and run.ended_on is None
    [run] = runs_of(calls, as_of=D(2026, 3, 10))
    assert (run.state, run.attempts, run.ended_on) == ("stopped", 1, D(2026, 3, 2))


def test_a_gap_is_counted_in_business_days_of_the_country():
    # Thu 2 April, then Mon 13 April: 7 weekdays apart (a new run), but in Germany Good Friday and Easter Monday
    # are holidays: 5 business days, the same run
    calls = [touch("X", "ana", D(2026, 4, 2)), touch("X", "ana", D(2026, 4, 13))]
    assert [r.attempts for r in runs_of(calls, as_of=D(2026, 4, 13))] == [1, 1]
    [run] = runs_of(calls, as_of=D(2026, 4, 13), calendar=BusinessCalendar("DE"))
    assert run.attempts == 2


def test_a_reply_not_known_yet_does_not_count():
    calls = [touch("X", "ana", D(2026, 3, 2)), touch("X", "ana", D(2026, 3, 3)),
             touch("X", None, D(2026, 3, 10), "email", "in", "replied")]
    [run] = runs_of(calls, as_of=D(2026, 3, 9))        # Tue 3 -> Mon 9 is 4 business days: still worked
    assert run.state == "active"
    [run] = runs_of(calls, as_of=D(2026, 3, 10))
    assert (run.state, run.engaged_at, run.ended_on, run.meeting) == ("engaged", 2, D(2026, 3, 10), False)


def test_social_touches_never_count():
    likes = [touch("X", "ana", D(2026, 3, d), "social") for d in (2, 3, 4)]
    assert runs_of(likes, as_of=D(2026, 3, 31)) == []
    assert adherence([], likes, as_of=D(2026, 3, 31), **MARCH)[0]["leads"] == 0


@pytest.mark.parametrize("rows, param", [
    ([task("ana", D(2026, 3, 2), "lost")], "tasks[0].status"),
    ([task("ana", "2026-03-02")], "tasks[0].due_on"),
    ([task("ana", D(2026, 3, 2)), task("ana", D(2026, 3, 2), "done")], "tasks[1].done_on"),
])
def test_bad_task_rows_are_named(rows, param):
    with pytest.raises(AdherenceError) as exc:
        adherence(rows, [], as_of=D(2026, 3, 20), **MARCH)
    assert exc.value.param == param


def test_bad_touch_rows_and_period_are_named():
    with pytest.raises(AdherenceError) as exc:
        adherence([], [touch("", "ana", D(2026, 3, 2))], as_of=D(2026, 3, 20), **MARCH)
    assert exc.value.param == "touches[0].person"
    with pytest.raises(AdherenceError) as exc:
        adherence([], [touch("X", "ana", None)], as_of=D(2026, 3, 20), **MARCH)
    assert exc.value.param == "touches[0].on"
    with pytest.raises(AdherenceError) as exc:
        adherence([], [], as_of=D(2026, 3, 20), start=D(2026, 3, 31), end=D(2026, 3, 1))
    assert exc.value.param == "period"
