"""Cadence adherence: steps done on time, overdue and skipped; touches before the seller stopped; where buyers engage.

Pure: plain rows in, figures out; no Django, no I/O (the store adapter is
:mod:`bestby.cadences.adherence_store`). Every figure is computed per seller
(``owner``), per team and for everyone (level ``all``) over a period
``[start, end)`` of calendar dates, as of a date: only what was known at the
end of the as-of date counts (``as_of_for`` gives each seller their own
as-of date, the date on their wall clock; ``as_of`` is the date of everyone
else).

Steps (one row per task: owner, team, due_on, status, done_on, ended_on)
    A task is a step the seller planned on a date: a cadence step or a "one
    more call". A step is **due** in the period when ``start <= due_on < end``
    and ``due_on <= as_of``, unless it was cancelled (the cadence ended on a
    reply, a booked meeting or the lead went back to nurture: nobody had to
    do it). Its state at the as-of date decides its class:

    * **on time**: done on or before its due date (``done_on <= due_on``);
    * **late**: done after its due date (``due_on < done_on <= as_of``);
    * **skipped**: recorded as skipped on or before the as-of date;
    * **overdue**: still open at the as-of date and due before it
      (``due_on < as_of``);
    * **due today**: still open and due on the as-of date itself: the day is
      not over, so it is neither kept nor missed yet.

    A step done, skipped or cancelled (``ended_on``, the date its cadence
    ended) *after* the as-of date was still open then, and is classed as
    open. The five classes add up to the steps due; ``on_time_share``,
    ``late_share``, ``overdue_share`` and ``skipped_share`` are each over the
    steps due (None when none is due). ``due_on`` is the task's current due
    date: a step moved by a late earlier step is judged against its moved
    date, so one late call is not counted again on every later step (the
    store keeps no history of moves, so a move made after the as-of date is
    not undone either).

Runs of attempts (one row per touch: person, owner, team, on, channel, direction, outcome)
    Touches are grouped per person (a lead or a contact), in time order (by
    ``on``, the seller's local date; rows of one day keep the order given).
    Social touches (a like, a follow) are dropped first: they never count as
    a touch and never keep a run alive. Each remaining touch is

    * an **attempt** when it is the seller reaching out: direction ``out`` or
      blank (imported touches often have none), on any channel but
      ``meeting``;
    * an **engagement** when the buyer answered: direction ``in``, or an
      outcome ``replied`` or ``meeting_booked``, or a ``meeting`` held; it is
      a **meeting** when the outcome is ``meeting_booked`` or the channel
      ``meeting``. An outbound call whose outcome is ``replied`` is both:
      attempt k, and the buyer engaging right after it.

    A **run** is one persistent try to reach a person. It starts with an
    attempt; each attempt before the run's first engagement is numbered 1,
    2, 3...; the engagement comes "right after touch k" when k attempts
    came at or before it. Touches after the first engagement are the
    conversation: they keep the run going but are not attempts. The run ends
    when the person goes quiet both ways for more than ``STOP_AFTER``
    business days: the next attempt after such a gap starts a new run (a lead
    re-contacted from nurture is tried afresh). A run that has engaged is
    **engaged**; one that has not is **stopped** (the seller stopped) once
    more than ``STOP_AFTER`` business days have passed since its last touch,
    or once the lead's cadence ended without engagement (``cadence_ends``:
    person, ended_on, on or after the last attempt and on or before the
    as-of date: the seller's last planned step is behind them). Until then
    it is still being worked and counts nowhere. An inbound touch that comes
    when no run is going (the buyer wrote first) opens a conversation that is
    not a run: nobody attempted anything, so it counts nowhere either.

    A run counts in the period when it ended in it: an engaged run on the
    date of its first engagement, a stopped run on the date of its last
    attempt. A person counts once per run. The run belongs to the owner of its
    first attempt (and to that owner's team).

    * ``leads``: runs that ended in the period (engaged + stopped);
    * ``touches_before_stop``: how many stopped runs had n attempts, per n;
      ``mean_touches_before_stop`` their mean;
    * ``abandoned``: stopped runs with ``ABANDON_AT`` attempts or fewer;
      ``abandoned_share`` = abandoned / leads (None without leads);
    * ``by_touch``, for k = 1 up to the most attempts of a run: ``reached`` =
      runs with k attempts or more; ``replied`` = runs whose first engagement
      (a reply; a meeting booked straight away is a reply too) came right
      after touch k; ``meetings`` = those of them that got a meeting in the
      run (booked with the first answer or later in the conversation it
      opened); ``reply_rate`` = replied / reached, ``meeting_rate`` =
      meetings / reached.

Why the constants have their values
    ``STOP_AFTER = 5`` business days: the default cadence's longest planned
    gap between two touches is 3 business days (days 3 to 6 and 6 to 9), so a
    seller who follows it is never "stopped" by mistake; 5 leaves two days
    for a late step and is one working week without an attempt, which no
    cadence the team would call persistent allows. Much longer would merge a
    re-contact into the run before it (nurture waits 90 days, so anything
    from 5 to 60 gives the same runs on cadence data; 5 calls a stop soonest).
    ``ABANDON_AT = 3``: most sellers quit after three attempts while buyers
    need four to seven (DESIGN.md, idea 4); three or fewer is giving up before
    the buyer was likely to answer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from bestby.cadences.schedule import ENGAGED, BusinessCalendar

__all__ = ["ABANDON_AT", "STOP_AFTER", "AdherenceError", "Run", "adherence", "runs_of"]

#: business days without any touch after which a run has stopped (see the module doc)
STOP_AFTER = 5
#: a stopped run with this many attempts or fewer was abandoned (see the module doc)
ABANDON_AT = 3
TASK_STATUSES = ("open", "done", "skipped", "cancelled")
_STEP_CLASSES = ("on_time", "late", "skipped", "overdue", "due_today")


class AdherenceError(ValueError):
    """A row that cannot be read; ``param`` names the row and field."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param
        self.message = message


@dataclass
class Run:
    """One run of attempts to reach one person (see the module doc)."""

    person: str
    owner: str | None
    team: str
    first_on: date
    last_on: date                 # the last touch of any kind in the run
    last_attempt_on: date
    attempts: int = 0
    engaged_at: int | None = None  # k: the first engagement came right after attempt k
    engaged_on: date | None = None
    meeting: bool = False
    buyer_first: bool = False
    state: str = "active"          # active, engaged or stopped at the as-of date
    ended_on: date | None = None


def _date(row: Mapping, field: str, where: str, *, required: bool = True) -> date | None:
    value = row.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, date) or isinstance(value, datetime):
        raise AdherenceError(f"{where}.{field}", f"{value!r} is not a date (a calendar date, not a timestamp)")
    return value


def _step_class(row: Mapping, where: str, as_of: date) -> str | None:
    """The class of one task at ``as_of`` (module doc), or None when it is not due."""
    due = _date(row, "due_on", where)
    status = row.get("status")
    if status not in TASK_STATUSES:
        raise AdherenceError(f"{where}.status", f"{status!r} is not one of {', '.join(TASK_STATUSES)}")
    if due > as_of:
        return None
    if status == "cancelled":
        ended = _date(row, "ended_on", where, required=False)
        if ended is None or ended <= as_of:
            return None
        status = "open"  # cancelled after the as-of date: open then
    elif status in ("done", "skipped"):
        done = _date(row, "done_on", where, required=status == "done")
        if done is not None and done > as_of:
            status = "open"
        elif status == "done":
            return "on_time" if done <= due else "late"
        else:
            return "skipped"
    return "overdue" if due < as_of else "due_today"


def _kinds(row: Mapping) -> tuple[bool, bool, bool]:
    """(attempt, engagement, meeting) of one non-social touch (module doc)."""
    direction, channel, outcome = row.get("direction") or "", row.get("channel") or "", row.get("outcome") or ""
    attempt = direction != "in" and channel != "meeting"
    meeting = outcome == "meeting_booked" or channel == "meeting"
    engagement = direction == "in" or outcome in ENGAGED or meeting
    return attempt, engagement, meeting


def runs_of(touches: Iterable[Mapping], *, as_of: date, as_of_for: Mapping[str, date] | None = None,
            cadence_ends: Iterable[Mapping] = (), calendar: BusinessCalendar | None = None,
            stop_after: int = STOP_AFTER) -> list[Run]:
    """Every run of attempts (buyer-first conversations included, flagged) with its state at the as-of date."""
    cal = calendar or BusinessCalendar(None)
    as_of_for = as_of_for or {}
    by_person: dict[str, list[tuple[date, Mapping]]] = defaultdict(list)
    for i, row in enumerate(touches):
        where = f"touches[{i}]"
        on = _date(row, "on", where)
        if not row.get("person"):
            raise AdherenceError(f"{where}.person", "a touch needs the lead or contact it reached")
        if row.get("channel") == "social" or on > as_of_for.get(row.get("owner"), as_of):
            continue
        by_person[row["person"]].append((on, row))
    ends: dict[str, list[date]] = defaultdict(list)
    for i, row in enumerate(cadence_ends):
        ends[row["person"]].append(_date(row, "ended_on", f"cadence_ends[{i}]"))

    out: list[Run] = []
    for person, rows in by_person.items():
        rows.sort(key=lambda pair: pair[0])  # stable: a day's touches keep the order given
        run: Run | None = None
        for on, row in rows:
            attempt, engagement, meeting = _kinds(row)
            if run is not None and cal.business_days_between(run.last_on, on) > stop_after:
                _close(run)
                out.append(run)
                run = None
            if run is None:
                run = Run(person, row.get("owner"), row.get("team") or "", on, on, on, buyer_first=not attempt)
                if not attempt:
                    run.engaged_at, run.engaged_on = 0, on
            run.last_on = on
            if run.engaged_at is None:
                if attempt:
                    run.attempts += 1
                    run.last_attempt_on = on
                if engagement:
                    run.engaged_at, run.engaged_on = run.attempts, on
            run.meeting = run.meeting or meeting
        if run is not None:
            today = as_of_for.get(run.owner, as_of)
            quiet = cal.business_days_between(run.last_on, today) > stop_after
            ended = any(run.last_attempt_on <= e <= today for e in ends.get(person, ()))
            _close(run, final=quiet or ended)
            out.append(run)
    return out


def _close(run: Run, *, final: bool = True) -> None:
    if run.engaged_at is not None:
        run.state, run.ended_on = "engaged", run.engaged_on
    elif final:
        run.state, run.ended_on = "stopped", run.last_attempt_on


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _empty() -> dict:
    return {"steps": dict.fromkeys(_STEP_CLASSES, 0), "runs": []}


def _figures(acc: dict) -> dict:
    steps = acc["steps"]
    due = sum(steps.values())
    runs = acc["runs"]
    stopped = [r for r in runs if r.state == "stopped"]
    engaged = [r for r in runs if r.state == "engaged"]
    hist: dict[int, int] = defaultdict(int)
    for r in stopped:
        hist[r.attempts] += 1
    most = max((r.attempts for r in runs), default=0)
    by_touch = []
    for k in range(1, most + 1):
        reached = sum(1 for r in runs if r.attempts >= k)
        replied = sum(1 for r in engaged if r.engaged_at == k)
        meetings = sum(1 for r in engaged if r.engaged_at == k and r.meeting)
        by_touch.append({"touch": k, "reached": reached, "replied": replied, "meetings": meetings,
                         "reply_rate": _share(replied, reached), "meeting_rate": _share(meetings, reached)})
    abandoned = sum(1 for r in stopped if r.attempts <= ABANDON_AT)
    return {
        "due": due, **steps,
        **{f"{c}_share": _share(steps[c], due) for c in ("on_time", "late", "overdue", "skipped")},
        "leads": len(runs), "engaged": len(engaged), "stopped": len(stopped), "abandoned": abandoned,
        "abandoned_share": _share(abandoned, len(runs)),
        "touches_before_stop": [{"touches": n, "leads": hist[n]} for n in sorted(hist)],
        "mean_touches_before_stop": (sum(r.attempts for r in stopped) / len(stopped)) if stopped else None,
        "by_touch": by_touch,
    }


def adherence(tasks: Iterable[Mapping], touches: Iterable[Mapping], *, start: date, end: date, as_of: date,
              as_of_for: Mapping[str, date] | None = None, cadence_ends: Iterable[Mapping] = (),
              calendar: BusinessCalendar | None = None, stop_after: int = STOP_AFTER) -> list[dict]:
    """The figures of the module doc, one row per ``{level, key}``: ``all`` first, then teams, then sellers.

    Owner rows also carry ``team``. A seller or team with neither a step due
    nor a run ended in the period has no row; ``all`` is always there.
    Raises AdherenceError naming the row (``tasks[3].status``) on a bad row.
    """
    if not isinstance(start, date) or not isinstance(end, date) or end <= start:
        raise AdherenceError("period", f"{start!r} to {end!r} is not a range of dates (the end comes after the start)")
    as_of_for = as_of_for or {}
    groups: dict[tuple[str, str], dict] = defaultdict(_empty)
    teams: dict[str, str] = {}

    def add(owner: str | None, team: str, kind: str, value) -> None:
        keys = [("all", "all")]
        if team:
            keys.append(("team", team))
        if owner is not None:
            keys.append(("owner", owner))
            teams[owner] = team
        for key in keys:
            if kind == "step":
                groups[key]["steps"][value] += 1
            else:
                groups[key]["runs"].append(value)

    for i, row in enumerate(tasks):
        where = f"tasks[{i}]"
        due = _date(row, "due_on", where)
        owner = row.get("owner")
        klass = _step_class(row, where, as_of_for.get(owner, as_of))
        if klass is not None and start <= due < end:
            add(owner, row.get("team") or "", "step", klass)
    for run in runs_of(touches, as_of=as_of, as_of_for=as_of_for, cadence_ends=cadence_ends, calendar=calendar,
                       stop_after=stop_after):
        if not run.buyer_first and run.state != "active" and start <= run.ended_on < end:
            add(run.owner, run.team, "run", run)
    groups[("all", "all")]  # noqa: B018 - the workspace row exists even when empty
    order = {"all": 0, "team": 1, "owner": 2}
    out = []
    for (level, key) in sorted(groups, key=lambda k: (order[k[0]], k[1])):
        row = {"level": level, "key": key, **_figures(groups[(level, key)])}
        if level == "owner":
            row["team"] = teams.get(key, "")
        out.append(row)
    return out
