"""A plain-Python reference of the engine's analytics, written from their docstrings only.

What it implements, and where the rules come from (the module docstrings are
the specification; this file does not import Ibis, DuckDB, pandas or any of
:mod:`bestby.engine` except the :class:`ClearancePolicy` dataclass):

* reading a FORMAT.md folder (``csv`` module, or ``pyarrow`` for Parquet) and
  typing its cells by :mod:`bestby.format` (``sources.py``, "Types");
* the stages derived when there is no stages file (``sources.py``, "Stages",
  and :mod:`bestby.importers.stages`' docstring);
* the as-of cut (``sources.py``, "Point in time");
* shelf life: whole cycle and time in each open stage, forward exits only
  (``shelf_life.py``), with a hand-written type-7 quantile;
* per-deal freshness facts (ages, last real touch, close-date pushes in all
  and since the current stage's entry, a close date parked at a month end by
  a push, meetings and the learned second-meeting gap), best-by, state
  (expired only when also idle), reason codes, staleness and the clearance
  list (``freshness.py`` and ``policy.py``);
* the win model (``win.py`` and ``survival.py``): per pipeline and per
  (pipeline, open stage) the durations and outcomes of the deals, an
  Aalen-Johansen fit (won and lost competing, open deals censored at as_of)
  as sorted event times with S and CIF_win, P(eventual win | open at age),
  and the group choice (stage, else the pipeline below N_MIN closed deals in
  the stage, else no model below N_MIN closed deals in the pipeline).
  ``freshness(snap, policy)`` leaves the probability off (None, as the
  engine's ``win_probability={}``); ``freshness(snap, policy, win=win_model(snap))``
  applies it, and the low win-probability rule with it.

Every rule is one small function named after it (``deal_visible``,
``status_at``, ``stage_at``, ``close_date_at``, ``is_forward_exit``,
``is_push``, ``rule_no_touch``, ``aalen_johansen``, ``p_win_eventually`` ...), so that when a rule changes in the
engine's docstring the matching function here is the one to change.

Durations are fractional days, ``seconds / 86 400``, unrounded (the engine
rounds freshness durations to 6 decimals; the tests compare with that
tolerance). Timestamps are timezone-aware UTC ``datetime``; a naive timestamp
or a bare date in a file is taken as UTC (``sources.py``).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bestby.engine.policy import DEFAULT_NO_SECOND_MEETING_DAYS, MIN_SECOND_MEETING_HISTORY, ClearancePolicy
from bestby.format import SPECS

DAY = 86_400.0
DEFAULT_PIPELINE = "default"
FILES = ("deals", "stages", "stage_events", "close_date_events", "touches")
NOT_A_TOUCH = "social"  # FORMAT.md: ``social`` is recorded but is not a touch
MEETING = "meeting"
SAME_MEETING = timedelta(days=1)  # a meeting touch within a day of the first meeting is that meeting
CLOSED = ("won", "lost")


# ---------------------------------------------------------------- reading a folder

def parse_ts(text: str | None) -> datetime | None:
    """ISO 8601 to an aware UTC datetime: an offset is converted, a naive time or bare date is UTC."""
    if text is None or text == "":
        return None
    if isinstance(text, datetime):
        value = text
    else:
        value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_date(text) -> date | None:
    if text is None or text == "":
        return None
    if isinstance(text, datetime):
        return text.date()
    if isinstance(text, date):
        return text
    return date.fromisoformat(text)


def _cell(value, column_type: str):
    if value is None or value == "":
        return None
    if column_type == "ts":
        return parse_ts(value)
    if column_type == "date":
        return parse_date(value)
    if column_type == "int":
        return int(value)
    if column_type in ("decimal", "float"):
        return float(value)
    return str(value)


def _typed_rows(name: str, raw_rows: list[dict]) -> list[dict]:
    spec = SPECS[name]
    out = []
    for raw in raw_rows:
        row = {c.name: _cell(raw.get(c.name), c.type) for c in spec.columns}
        out.append(row)
    return out


def read_file(folder: Path, name: str) -> list[dict] | None:
    """Rows of ``NAME.parquet`` (preferred) or ``NAME.csv``, typed; None when neither exists."""
    parquet, text = folder / f"{name}.parquet", folder / f"{name}.csv"
    if parquet.is_file():
        import pyarrow.parquet as pq

        raw = pq.read_table(parquet).to_pylist()
    elif text.is_file():
        with text.open(newline="", encoding="utf-8") as fh:
            raw = list(csv.DictReader(fh))
    else:
        return None
    return _typed_rows(name, raw)


@dataclass
class Folder:
    """A folder's whole history, typed (``None`` for a missing optional file)."""

    deals: list[dict]
    stages: list[dict]
    stage_events: list[dict] | None
    close_date_events: list[dict] | None
    touches: list[dict] | None


def read_folder(folder: Path) -> Folder:
    folder = Path(folder)
    files = {name: read_file(folder, name) for name in FILES}
    if files["deals"] is None:
        raise FileNotFoundError(f"{folder}: no deals file")
    for deal in files["deals"]:
        deal["pipeline"] = pipeline_of(deal)
    stages = files["stages"]
    if stages is None:
        stages = derived_stages(files["deals"], files["stage_events"])
    return Folder(files["deals"], stages, files["stage_events"], files["close_date_events"], files["touches"])


def pipeline_of(deal: dict) -> str:
    """An empty pipeline cell is the default pipeline (as the importer does)."""
    return deal.get("pipeline") or DEFAULT_PIPELINE


# ---------------------------------------------------------------- derived stages (no stages file)

def stages_by_first_appearance(deals: list[dict], events: list[dict] | None) -> dict[str, list[str]]:
    """Per pipeline, the stage names of stage_events (each row: from_stage, then to_stage; file order), then deals."""
    pipeline = {d["deal_id"]: d["pipeline"] for d in deals}
    seen: dict[str, list[str]] = {}
    for e in events or []:
        p = pipeline.get(e["deal_id"])
        if p is None:
            continue
        for col in ("from_stage", "to_stage"):
            if e[col] is not None:
                seen.setdefault(p, []).append(e[col])
    for d in deals:
        if d["stage"] is not None:
            seen.setdefault(d["pipeline"], []).append(d["stage"])
    return {p: list(dict.fromkeys(names)) for p, names in seen.items()}


def inferred_kind(name: str, statuses: set[str]) -> str:
    """Won (lost) if every deal sitting in it is won (lost); with no deal, if the name says so as a word."""
    if statuses == {"won"}:
        return "won"
    if statuses == {"lost"}:
        return "lost"
    if not statuses:
        words = "".join(ch.lower() if ch.isalnum() or ch == "_" else " " for ch in name).split()
        if "won" in words:
            return "won"
        if "lost" in words:
            return "lost"
    return "open"


def derived_stages(deals: list[dict], events: list[dict] | None) -> list[dict]:
    """Stages by first appearance, open ones first, then won and lost ones, positions 1, 2, ..."""
    statuses: dict[tuple[str, str], set[str]] = {}
    for d in deals:
        if d["stage"] is not None and d["status"] is not None:
            statuses.setdefault((d["pipeline"], d["stage"]), set()).add(d["status"])
    rows = []
    for pipeline, names in sorted(stages_by_first_appearance(deals, events).items()):
        kinds = {n: inferred_kind(n, statuses.get((pipeline, n), set())) for n in names}
        ordered = [n for n in names if kinds[n] == "open"] + [n for n in names if kinds[n] != "open"]
        rows += [{"pipeline": pipeline, "stage": n, "position": i + 1, "kind": kinds[n], "probability": None}
                 for i, n in enumerate(ordered)]
    return rows


# ---------------------------------------------------------------- the as-of cut

@dataclass
class Snapshot:
    """What was known at ``as_of`` (the tables of a source, as plain rows)."""

    as_of: datetime
    deals: list[dict]
    stages: list[dict]
    stage_events: list[dict] | None
    close_date_events: list[dict] | None
    touches: list[dict] | None
    position: dict[tuple[str, str], int] = field(default_factory=dict)
    kind: dict[tuple[str, str], str] = field(default_factory=dict)


def utc(value: datetime) -> datetime:
    """A naive ``as_of`` is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def deal_visible(deal: dict, as_of: datetime) -> bool:
    """A deal created after as_of does not exist."""
    return deal["created_at"] <= as_of


def event_visible(event: dict, as_of: datetime) -> bool:
    """Stage events, close-date events and touches with at > as_of do not exist."""
    return event["at"] <= as_of


def closed_later(deal: dict, as_of: datetime) -> bool:
    return deal["closed_at"] is not None and deal["closed_at"] > as_of


def status_at(deal: dict, as_of: datetime) -> tuple:
    """A deal closed after as_of is open then: (status, closed_at, lost_reason)."""
    if closed_later(deal, as_of):
        return "open", None, None
    return deal["status"], deal["closed_at"], deal["lost_reason"]


def is_open(status: str | None) -> bool:
    """Open: a status that is not won or lost (NULL included)."""
    return status not in CLOSED


def stage_at(deal: dict, status: str | None, events: list[dict], position: dict) -> str | None:
    """An open deal's stage is the to_stage of its last visible event (ties: higher position), else its stage.

    ``events`` are the deal's visible events. A deal closed at or before
    as_of keeps its ``stage``.
    """
    if not is_open(status) or not events:
        return deal["stage"]

    def key(e):
        p = position.get((deal["pipeline"], e["to_stage"]))
        return (e["at"], -math.inf if p is None else p)

    return max(events, key=key)["to_stage"]


def close_date_at(deal: dict, events: list[dict] | None, as_of: datetime) -> date | None:
    """The new_close_date of the last visible event, else the old_close_date of the first later event.

    With no close-date event at all for the deal (or no file) the deal's
    ``close_date`` is taken as given. Read as the point-in-time rule it is:
    when the first event after as_of exists, its ``old_close_date`` is what
    the close date was at as_of, NULL included (an expected close date first
    set after as_of was not known at as_of).
    """
    if not events:
        return deal["close_date"]
    seen = [e for e in events if event_visible(e, as_of)]
    if seen:
        return max(seen, key=lambda e: e["at"])["new_close_date"]
    return min(events, key=lambda e: e["at"])["old_close_date"]


def cut(folder: Folder, as_of: datetime) -> Snapshot:
    """The tables as known at ``as_of`` (sources.py, "Point in time")."""
    as_of = utc(as_of)
    position = {(s["pipeline"], s["stage"]): s["position"] for s in folder.stages}
    kind = {(s["pipeline"], s["stage"]): s["kind"] for s in folder.stages}
    deals = [dict(d) for d in folder.deals if deal_visible(d, as_of)]
    ids = {d["deal_id"] for d in deals}

    def by_deal(rows):
        out: dict[str, list[dict]] = {}
        for r in rows or []:
            out.setdefault(r["deal_id"], []).append(r)
        return out

    stage_events = None
    if folder.stage_events is not None:
        stage_events = [e for e in folder.stage_events if event_visible(e, as_of) and e["deal_id"] in ids]
    events_of = by_deal(stage_events)
    all_cde_of = by_deal(folder.close_date_events)
    for d in deals:
        d["status"], d["closed_at"], d["lost_reason"] = status_at(d, as_of)
        if stage_events is not None:
            d["stage"] = stage_at(d, d["status"], events_of.get(d["deal_id"], []), position)
        if folder.close_date_events is not None:
            d["close_date"] = close_date_at(d, all_cde_of.get(d["deal_id"]), as_of)
    cde = None
    if folder.close_date_events is not None:
        cde = [e for e in folder.close_date_events if event_visible(e, as_of) and e["deal_id"] in ids]
    touches = None
    if folder.touches is not None:
        touches = [t for t in folder.touches if event_visible(t, as_of)]
    return Snapshot(as_of, deals, list(folder.stages), stage_events, cde, touches, position, kind)


# ---------------------------------------------------------------- shelf life

def days_between(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / DAY


def quantile7(values: list[float], q: float) -> float | None:
    """Hyndman & Fan type 7: h = (n - 1) q, x[floor h] + (h - floor h)(x[floor h + 1] - x[floor h])."""
    if not values:
        return None
    xs = sorted(values)
    h = (len(xs) - 1) * q
    lo = math.floor(h)
    if lo + 1 >= len(xs):
        return xs[lo]
    return xs[lo] + (h - lo) * (xs[lo + 1] - xs[lo])


def cycle_days(snap: Snapshot) -> dict[str, list[float]]:
    """Per pipeline, won deals' closed_at - created_at (both present)."""
    out: dict[str, list[float]] = {}
    for d in snap.deals:
        if d["status"] == "won" and d["created_at"] is not None and d["closed_at"] is not None:
            out.setdefault(d["pipeline"], []).append(days_between(d["created_at"], d["closed_at"]))
    return out


def is_forward_exit(kind: str, position: int, next_kind: str, next_position: int) -> bool:
    """A visit of an open stage left FORWARD: to a won stage, or to an open stage with a higher position."""
    if kind != "open":
        return False
    return next_kind == "won" or (next_kind == "open" and next_position > position)


def stage_visits(snap: Snapshot) -> dict[tuple[str, str], list[float]]:
    """Per (pipeline, open stage), the days in stage of every visit that left it forward."""
    out: dict[tuple[str, str], list[float]] = {}
    pipeline = {d["deal_id"]: d["pipeline"] for d in snap.deals}
    per_deal: dict[str, list[dict]] = {}
    for e in snap.stage_events or []:
        p = pipeline.get(e["deal_id"])
        if p is None or (p, e["to_stage"]) not in snap.position:  # unknown stages are ignored
            continue
        per_deal.setdefault(e["deal_id"], []).append(e)
    for deal_id, events in per_deal.items():
        p = pipeline[deal_id]
        events.sort(key=lambda e: (e["at"], snap.position[(p, e["to_stage"])]))  # ties: lower position first
        for this, nxt in zip(events, events[1:]):
            a, b = (p, this["to_stage"]), (p, nxt["to_stage"])
            if is_forward_exit(snap.kind[a], snap.position[a], snap.kind[b], snap.position[b]):
                out.setdefault(a, []).append(days_between(this["at"], nxt["at"]))
    return out


def shelf_life(snap: Snapshot, q: float = 0.8) -> list[dict]:
    """Rows {pipeline, stage, segment, quantile, days, n}: cycle row (if any won deal) then open stages by position."""
    cycles = cycle_days(snap)
    visits = stage_visits(snap)
    open_stages = sorted((s for s in snap.stages if s["kind"] == "open"), key=lambda s: (s["pipeline"], s["position"]))
    rows = []
    for p in sorted(set(cycles) | {s["pipeline"] for s in open_stages}):
        if p in cycles:
            rows.append({"pipeline": p, "stage": None, "segment": None, "quantile": q,
                         "days": quantile7(cycles[p], q), "n": len(cycles[p])})
        for s in open_stages:
            if s["pipeline"] == p:
                xs = visits.get((p, s["stage"]), [])
                rows.append({"pipeline": p, "stage": s["stage"], "segment": None, "quantile": q,
                             "days": quantile7(xs, q), "n": len(xs)})
    return rows


# ---------------------------------------------------------------- freshness facts

def stage_entered_at(deal: dict, events: list[dict]) -> datetime:
    """The last stage event INTO the current stage, else created_at."""
    into = [e["at"] for e in events if e["to_stage"] == deal["stage"]]
    return max(into) if into else deal["created_at"]


def is_real_touch(touch: dict) -> bool:
    return touch["channel"] != NOT_A_TOUCH


def last_real_touch(touches: list[dict]) -> datetime | None:
    real = [t["at"] for t in touches if is_real_touch(t)]
    return max(real) if real else None


def is_push(event: dict) -> bool:
    """A push moves the expected close date later; a first setting (old NULL) or a pull-in is not one."""
    return event["old_close_date"] is not None and event["new_close_date"] > event["old_close_date"]


def close_date_pushes(events: list[dict]) -> int:
    return sum(1 for e in events if is_push(e))


def close_date_pushes_in_stage(events: list[dict], entered: datetime) -> int:
    """Pushes made at or after the deal entered its current stage (a push at the entry instant counts)."""
    return sum(1 for e in events if is_push(e) and e["at"] >= entered)


def is_month_end(day: date) -> bool:
    return (day + timedelta(days=1)).day == 1


def close_date_parked(close_date: date | None, events: list[dict]) -> bool:
    """The last close-date change is a push and the close date at as_of is a month's last day."""
    if close_date is None or not events:
        return False
    return is_push(max(events, key=lambda e: e["at"])) and is_month_end(close_date)


def close_date_is_past(close_date: date | None, as_of: datetime) -> bool:
    """close_date < as_of's (UTC) date."""
    return close_date is not None and close_date < as_of.date()


def first_meeting_at(events: list[dict], policy: ClearancePolicy) -> datetime | None:
    into = [e["at"] for e in events if e["to_stage"] == policy.first_meeting_stage]
    return min(into) if into else None


def second_meeting_held(deal: dict, first: datetime | None, events: list[dict], touches: list[dict],
                        snap: Snapshot, policy: ClearancePolicy) -> bool:
    """Since the first meeting: entered the second meeting stage, or sits at or after its position,
    or a meeting touch was logged more than a day after the first meeting."""
    if first is None:
        return False
    if any(e["to_stage"] == policy.second_meeting_stage and e["at"] >= first for e in events):
        return True
    second_pos = snap.position.get((deal["pipeline"], policy.second_meeting_stage))
    current_pos = snap.position.get((deal["pipeline"], deal["stage"]))
    if second_pos is not None and current_pos is not None and current_pos >= second_pos:
        return True
    return any(t["channel"] == MEETING and t["at"] > first + SAME_MEETING for t in touches)


def second_meeting_days(snap: Snapshot, pipeline: str, policy: ClearancePolicy) -> float:
    """The gap allowed after a first meeting: the policy's number, else learned, else 30 days.

    Learned: the policy quantile (type 7) of the days between each deal's LAST
    entry into the first and into the second meeting stage, over the
    pipeline's deals whose second entry is after the first, when at least
    MIN_SECOND_MEETING_HISTORY (20) deals did.
    """
    if policy.no_second_meeting_days is not None:
        return float(policy.no_second_meeting_days)
    last: dict[tuple[str, str], datetime] = {}
    pipeline_of = {d["deal_id"]: d["pipeline"] for d in snap.deals}
    for e in snap.stage_events or []:
        if pipeline_of.get(e["deal_id"]) != pipeline:
            continue
        for which in (policy.first_meeting_stage, policy.second_meeting_stage):
            if e["to_stage"] == which:
                key = (e["deal_id"], which)
                last[key] = max(last.get(key, e["at"]), e["at"])
    gaps = []
    for (deal_id, which), first in last.items():
        if which != policy.first_meeting_stage:
            continue
        second = last.get((deal_id, policy.second_meeting_stage))
        if second is not None and second > first:
            gaps.append(days_between(first, second))
    if len(gaps) >= MIN_SECOND_MEETING_HISTORY:
        return quantile7(gaps, policy.quantile)
    return DEFAULT_NO_SECOND_MEETING_DAYS


def best_by(entered: datetime, created: datetime, stage_shelf: float | None,
            cycle_shelf: float | None) -> datetime | None:
    """min(stage_entered_at + stage shelf life, created_at + cycle shelf life) over the figures that exist."""
    candidates = [start + timedelta(days=days) for start, days in ((entered, stage_shelf), (created, cycle_shelf))
                  if days is not None]
    return min(candidates) if candidates else None


# ---------------------------------------------------------------- win model (win.py, survival.py)

N_MIN = 20  # closed (won + lost) deals a group needs for its own fit: bestby.engine.survival.N_MIN (test_reference)
WON, LOST, CENSORED = "won", "lost", "censored"


def outcome_of(status: str | None) -> str:
    """Won and lost are competing outcomes; any other status (open, NULL) is censored at as_of."""
    return status if status in CLOSED else CENSORED


def days_to_close(start: datetime, deal: dict, as_of: datetime) -> float:
    """Days from ``start`` to the deal's closed_at, or to as_of when it has none (open: censored).

    A close before ``start`` (bad data) counts 0 days.
    """
    end = deal["closed_at"] if deal["closed_at"] is not None else as_of
    return max(0.0, days_between(start, end))


def pipeline_durations(snap: Snapshot) -> dict[str, list[tuple[float, str]]]:
    """Per pipeline, (days, outcome) of every deal: clock from created_at."""
    out: dict[str, list[tuple[float, str]]] = {}
    for d in snap.deals:
        out.setdefault(d["pipeline"], []).append((days_to_close(d["created_at"], d, snap.as_of),
                                                  outcome_of(d["status"])))
    return out


def last_entries(snap: Snapshot) -> dict[tuple[str, str], datetime]:
    """(deal_id, stage) -> the deal's LAST entry into the stage (visible events only: the cut)."""
    last: dict[tuple[str, str], datetime] = {}
    for e in snap.stage_events or []:
        key = (e["deal_id"], e["to_stage"])
        last[key] = max(last.get(key, e["at"]), e["at"])
    return last


def stage_durations(snap: Snapshot) -> dict[tuple[str, str], list[tuple[float, str]]]:
    """Per (pipeline, OPEN stage), (days, outcome) of every deal of the pipeline that entered it.

    Clock from the deal's last entry into the stage to its close (or as_of);
    the deal need not still sit in the stage.
    """
    deals = {d["deal_id"]: d for d in snap.deals}
    out: dict[tuple[str, str], list[tuple[float, str]]] = {}
    for (deal_id, stage), entered in last_entries(snap).items():
        d = deals.get(deal_id)
        if d is None or snap.kind.get((d["pipeline"], stage)) != "open":
            continue
        out.setdefault((d["pipeline"], stage), []).append((days_to_close(entered, d, snap.as_of),
                                                           outcome_of(d["status"])))
    return out


@dataclass(frozen=True)
class AalenJohansen:
    """Step functions at the distinct event times t_1 < ... < t_k: S and CIF_win at and after each t_j.

    Before t_1, S = 1 and CIF_win = 0. ``t_max`` is the longest duration (open or closed), 0 with no deals.
    """

    times: list[float]
    surv: list[float]
    cif: list[float]
    t_max: float
    n_won: int
    n_lost: int

    @property
    def closed(self) -> int:
        return self.n_won + self.n_lost


def aalen_johansen(rows: list[tuple[float, str]]) -> AalenJohansen:
    """S(t) = prod (1 - (d1_j + d2_j) / n_j), CIF_win(t) = sum S(t_j-) d1_j / n_j over t_j <= t.

    n_j counts the deals with duration >= t_j: a deal censored at t_j is still at risk there.
    Tied events of both kinds share n_j and S(t_j-).
    """
    times = sorted({t for t, o in rows if o != CENSORED})
    surv, cif = [], []
    s, c = 1.0, 0.0
    for t in times:
        n = sum(1 for u, _ in rows if u >= t)
        won = sum(1 for u, o in rows if u == t and o == WON)
        lost = sum(1 for u, o in rows if u == t and o == LOST)
        c += s * won / n          # S(t_j-): s before this step
        s *= 1.0 - (won + lost) / n
        surv.append(s)
        cif.append(c)
    return AalenJohansen(times, surv, cif, max((t for t, _ in rows), default=0.0),
                         sum(1 for _, o in rows if o == WON), sum(1 for _, o in rows if o == LOST))


def step_value(fit: AalenJohansen, values: list[float], before: float, t: float) -> float:
    """A right-continuous step function's value at t: at the last event time <= t, ``before`` before t_1."""
    k = sum(1 for u in fit.times if u <= t)
    return values[k - 1] if k else before


def survival_at(fit: AalenJohansen, t: float) -> float:
    return step_value(fit, fit.surv, 1.0, t)


def cif_win_at(fit: AalenJohansen, t: float) -> float:
    return step_value(fit, fit.cif, 0.0, t)


def p_win_eventually(fit: AalenJohansen, age: float) -> float:
    """(CIF_win(t_max) - CIF_win(a)) / S(a), clipped to [0, 1]; 0 at or beyond t_max and where S(a) = 0."""
    if age >= fit.t_max:
        return 0.0  # beyond the data: no deal was observed this old
    s = survival_at(fit, age)
    if s <= 0.0:
        return 0.0
    return min(1.0, max(0.0, (cif_win_at(fit, fit.t_max) - cif_win_at(fit, age)) / s))


@dataclass
class WinModel:
    """The fits known at as_of: per pipeline (deal clock) and per (pipeline, open stage) (stage clock)."""

    pipelines: dict[str, AalenJohansen]
    stages: dict[tuple[str, str], AalenJohansen]


def win_model(snap: Snapshot) -> WinModel:
    return WinModel({p: aalen_johansen(rows) for p, rows in pipeline_durations(snap).items()},
                    {k: aalen_johansen(rows) for k, rows in stage_durations(snap).items()})


def win_curve(model: WinModel, pipeline: str, stage: str | None) -> tuple[AalenJohansen | None, str | None]:
    """The fit a deal in (pipeline, stage) uses and its clock ("stage" or "deal").

    The stage's own fit with at least N_MIN closed deals; else the pipeline's
    (fallback, on the deal's age); none when the pipeline has fewer than N_MIN closed deals.
    """
    wide = model.pipelines.get(pipeline)
    if wide is None or wide.closed < N_MIN:
        return None, None
    narrow = model.stages.get((pipeline, stage))
    if narrow is None or narrow.closed < N_MIN:
        return wide, "deal"
    return narrow, "stage"


def win_probability(model: WinModel, pipeline: str, stage: str | None, age_days: float,
                    stage_age_days: float) -> float | None:
    """P(eventual win | still open) for an open deal; None without a model for its pipeline."""
    fit, clock = win_curve(model, pipeline, stage)
    if fit is None:
        return None
    return p_win_eventually(fit, stage_age_days if clock == "stage" else age_days)


# ---------------------------------------------------------------- state rules (one per rule)

def idle_days(f: dict) -> float:
    """Days without a real touch; a never-touched deal counts from its creation."""
    return f["days_since_touch"] if f["days_since_touch"] is not None else f["age_days"]


def rule_no_touch(f: dict, policy: ClearancePolicy) -> bool:
    """No real touch for strictly more than no_touch_days (never touched: counted from creation)."""
    return idle_days(f) > policy.no_touch_days


def rule_close_date_pushed(f: dict, policy: ClearancePolicy) -> bool:
    """stalled_after_pushes or more pushes since the deal entered its current stage."""
    return f["close_date_pushes_in_stage"] >= policy.stalled_after_pushes


def rule_no_second_meeting(f: dict, policy: ClearancePolicy) -> bool:
    """The first meeting is more than the allowed gap ago and no second meeting was held."""
    since = f["days_since_first_meeting"]
    return since is not None and since > f["second_meeting_days"] and not f["second_meeting_held"]


def rule_low_win_probability(f: dict, policy: ClearancePolicy) -> bool:
    """A known win probability strictly below the floor (None: no model, the rule cannot fire)."""
    p = f.get("win_probability")
    return p is not None and p < policy.win_probability_floor


def rule_past_stage_best_by(f: dict, policy: ClearancePolicy) -> bool:
    """Strictly past the stage best-by (at exactly the best-by it is not yet)."""
    return f["stage_shelf_days"] is not None and f["stage_age_days"] > f["stage_shelf_days"]


def rule_past_cycle_best_by(f: dict, policy: ClearancePolicy) -> bool:
    return f["cycle_shelf_days"] is not None and f["age_days"] > f["cycle_shelf_days"]


def rule_idle(f: dict, policy: ClearancePolicy) -> bool:
    """Past the best-by is EXPIRED only when idle: no real touch for more than expired_idle_days; else aging."""
    return idle_days(f) > policy.expired_idle_days


def rule_stage_aging(f: dict, policy: ClearancePolicy) -> bool:
    """More than aging_fraction of the stage best-by used, and not past it (then the past rule speaks)."""
    shelf = f["stage_shelf_days"]
    return (shelf is not None and f["stage_age_days"] > policy.aging_fraction * shelf
            and not rule_past_stage_best_by(f, policy))


def rule_cycle_aging(f: dict, policy: ClearancePolicy) -> bool:
    shelf = f["cycle_shelf_days"]
    return (shelf is not None and f["age_days"] > policy.aging_fraction * shelf
            and not rule_past_cycle_best_by(f, policy))


def rule_close_date_past(f: dict, policy: ClearancePolicy) -> bool:
    """The expected close date is more than close_date_grace_days in the past (as_of date - close date)."""
    past = f["close_date_days_past"]
    return past is not None and past > policy.close_date_grace_days


def rule_close_date_parked(f: dict, policy: ClearancePolicy) -> bool:
    return bool(f["close_date_parked"])


STALLED_RULES = {"no_touch": rule_no_touch, "close_date_pushed": rule_close_date_pushed,
                 "no_second_meeting": rule_no_second_meeting, "low_win_probability": rule_low_win_probability}
PAST_BEST_BY_RULES = {"past_stage_best_by": rule_past_stage_best_by, "past_cycle_best_by": rule_past_cycle_best_by}
AGING_RULES = {"stage_aging": rule_stage_aging, "cycle_aging": rule_cycle_aging,
               "close_date_past": rule_close_date_past, "close_date_parked": rule_close_date_parked}


def classify(f: dict, policy: ClearancePolicy) -> tuple[str, list[str]]:
    """stalled > expired (past best-by AND idle) > aging (incl. past best-by but worked) > fresh.

    Returns the state and every reason code that applies, sorted.
    """
    stalled = [code for code, rule in STALLED_RULES.items() if rule(f, policy)]
    past = [code for code, rule in PAST_BEST_BY_RULES.items() if rule(f, policy)]
    aging = [code for code, rule in AGING_RULES.items() if rule(f, policy)]
    expired = past if rule_idle(f, policy) else []
    if not expired:
        aging += past
    state = "stalled" if stalled else "expired" if expired else "aging" if aging else "fresh"
    return state, sorted(stalled + expired + aging)


def staleness(f: dict) -> float | None:
    """The larger of stage_age / stage shelf and age / cycle shelf (a zero shelf life taken as one day)."""
    ratios = [age / (shelf if shelf > 0 else 1.0)
              for age, shelf in ((f["stage_age_days"], f["stage_shelf_days"]), (f["age_days"], f["cycle_shelf_days"]))
              if shelf is not None]
    return max(ratios) if ratios else None


def freshness(snap: Snapshot, policy: ClearancePolicy, win: WinModel | None = None) -> list[dict]:
    """One row per deal open at as_of, sorted by deal_id (shelf lives learned from the same snapshot).

    ``win``: the win model (:func:`win_model` of the same snapshot) or None, which leaves every
    ``win_probability`` None (the engine's ``win_probability={}``).
    """
    as_of = snap.as_of
    shelf = {(r["pipeline"], r["stage"]): r["days"] for r in shelf_life(snap, q=policy.quantile)
             if r["days"] is not None}

    def by_deal(rows):
        out: dict[str, list[dict]] = {}
        for r in rows or []:
            if r["deal_id"] is not None:
                out.setdefault(r["deal_id"], []).append(r)
        return out

    events, touches, cde = by_deal(snap.stage_events), by_deal(snap.touches), by_deal(snap.close_date_events)
    gaps: dict[str, float] = {}

    def gap_of(pipeline: str) -> float:
        if pipeline not in gaps:
            gaps[pipeline] = second_meeting_days(snap, pipeline, policy)
        return gaps[pipeline]

    rows = []
    for d in sorted((d for d in snap.deals if is_open(d["status"])), key=lambda d: d["deal_id"]):
        ev, to, cd = events.get(d["deal_id"], []), touches.get(d["deal_id"], []), cde.get(d["deal_id"], [])
        entered = stage_entered_at(d, ev)
        last_touch = last_real_touch(to)
        first = first_meeting_at(ev, policy)
        f = {
            "age_days": days_between(d["created_at"], as_of),
            "stage_age_days": days_between(entered, as_of),
            "stage_shelf_days": shelf.get((d["pipeline"], d["stage"])),
            "cycle_shelf_days": shelf.get((d["pipeline"], None)),
            "days_since_touch": None if last_touch is None else days_between(last_touch, as_of),
            "close_date_pushes": close_date_pushes(cd),
            "close_date_pushes_in_stage": close_date_pushes_in_stage(cd, entered),
            "close_date_parked": close_date_parked(d["close_date"], cd),
            "close_date_days_past": None if d["close_date"] is None else (as_of.date() - d["close_date"]).days,
            "days_since_first_meeting": None if first is None else days_between(first, as_of),
            "second_meeting_held": second_meeting_held(d, first, ev, to, snap, policy),
            "second_meeting_days": gap_of(d["pipeline"]),
        }
        f["win_probability"] = None if win is None else win_probability(
            win, d["pipeline"], d["stage"], f["age_days"], f["stage_age_days"])
        state, codes = classify(f, policy)
        rows.append({
            "deal_id": d["deal_id"], "owner_id": d["owner_id"], "pipeline": d["pipeline"], "stage": d["stage"],
            "amount": d["amount"], "created_at": d["created_at"], "stage_entered_at": entered,
            "age_days": f["age_days"], "stage_age_days": f["stage_age_days"],
            "days_since_touch": f["days_since_touch"], "close_date": d["close_date"],
            "close_date_pushes": f["close_date_pushes"], "close_date_pushes_in_stage": f["close_date_pushes_in_stage"],
            "close_date_parked": f["close_date_parked"], "close_date_past": close_date_is_past(d["close_date"], as_of),
            "stage_shelf_days": f["stage_shelf_days"], "cycle_shelf_days": f["cycle_shelf_days"],
            "best_by": best_by(entered, d["created_at"], f["stage_shelf_days"], f["cycle_shelf_days"]),
            "days_since_first_meeting": f["days_since_first_meeting"],
            "second_meeting_held": f["second_meeting_held"], "second_meeting_days": f["second_meeting_days"],
            "win_probability": f["win_probability"], "staleness": staleness(f), "state": state, "reason_codes": codes,
        })
    return rows


def clearance_order(rows: list[dict]) -> list[str]:
    """Expired and stalled deals, by amount x max(1, staleness) descending (no amount weighs 0), then deal_id."""
    keep = [r for r in rows if r["state"] in ("expired", "stalled")]

    def weight(r):
        return (r["amount"] or 0.0) * max(1.0, r["staleness"] or 0.0)

    return [r["deal_id"] for r in sorted(keep, key=lambda r: (-weight(r), r["deal_id"]))]
