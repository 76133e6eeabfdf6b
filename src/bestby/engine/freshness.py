"""Freshness of every open deal at ``as_of``, and the clearance list (DESIGN.md, ideas 1 and 2).

``freshness(tables, as_of=..., policy=...)`` takes the tables of a source
(:func:`bestby.engine.sources.folder_tables`, already cut at ``as_of``) and
returns one row per deal OPEN at ``as_of`` (``status`` not ``won``/``lost``),
sorted by ``deal_id``. Durations are fractional days (seconds / 86 400).
``policy`` is one :class:`~bestby.engine.policy.ClearancePolicy` for every
pipeline or a mapping ``{pipeline: policy}`` (a pipeline missing from it gets
the defaults). ``win_probability`` is a mapping ``deal_id -> chance`` in
[0, 1], or a :class:`~bestby.engine.win.WinModel`; None (the default) learns
the model from ``tables`` with :func:`bestby.engine.win.win_model`, and an
empty mapping turns the probability off. A deal without a probability (no
model for its pipeline: too little history) has ``win_probability`` None and
the probability rule does not fire for it.

Facts (reduced per deal by one Ibis expression on the tables' backend)
    ``age_days``          as_of - created_at
    ``stage_age_days``    as_of - the last stage event INTO the current stage
                          (``stage_entered_at``), else created_at
    ``days_since_touch``  as_of - the last touch linked to the deal whose
                          channel is not ``social``; None if never touched
    ``close_date_pushes`` close-date events with new_close_date > old_close_date
                          (a first setting, old NULL, and a pull-in are not pushes)
    ``close_date_pushes_in_stage`` those pushes made at or after the deal
                          entered its current stage (``stage_entered_at``, else
                          created_at)
    ``close_date_parked`` the last close-date event is a push and the close
                          date (at as_of) is the last day of its month
    ``close_date_past``   close_date < as_of's (UTC) date
    first meeting         the first stage event into the policy's
                          ``first_meeting_stage``; the second meeting is held if,
                          since then, the deal entered ``second_meeting_stage``,
                          or its current stage sits at or after that stage's
                          position, or a ``meeting`` touch was logged more than
                          one day after the first meeting (the first meeting's
                          own touch is often logged on the day the stage is set).
                          The gap allowed before "no second meeting" fires is
                          the policy's, or learned (:func:`second_meeting_gaps`)
Best-by
    ``best_by`` = min(stage_entered_at + stage shelf life,
    created_at + cycle shelf life), over the figures that exist (a stage or
    pipeline without history has none; with neither, ``best_by`` is None and
    no best-by rule applies). Shelf lives come from ``shelf`` (rows as
    :func:`bestby.engine.shelf_life.shelf_life` returns them) or, when it is
    None, from ``shelf_life(tables, q=policy.quantile, by=policy.segment,
    since=as_of - policy.lookback_days, business_days=policy.business_days)``.
    With a segment, a deal uses its segment's figures (``segment`` in the
    row). On the business clock (``policy.business_days``) the stage and cycle
    ages compared with the shelf lives, the staleness and the best-by instant
    are on that clock (:mod:`bestby.engine.clock`); the row's ``age_days`` and
    ``stage_age_days`` stay calendar days and ``shelf_unit`` says which unit
    the shelf lives are in.

State (:func:`classify`, pure; every reason that applies is listed)
    1. ``stalled`` if any progress signal fires: no real touch for more than
       ``no_touch_days`` (a never-touched deal counts from its creation);
       ``close_date_pushes_in_stage >= stalled_after_pushes``; no second
       meeting more than the allowed gap after a first; win probability (when
       known) below ``win_probability_floor``. Progress, not time, kills
       deals: these outrank the clock.
    2. else ``expired`` if as_of is past the best-by (stage age > stage shelf
       life or age > cycle shelf life; at exactly the best-by it is not yet)
       AND the deal is idle: no real touch for more than ``expired_idle_days``
       (never touched: counted from creation).
    3. else ``aging`` if past the best-by but not idle (reason codes as in 2,
       the text says it is still worked), or stage age > ``aging_fraction`` x
       stage shelf life, or age > ``aging_fraction`` x cycle shelf life, or
       the expected close date is more than ``close_date_grace_days`` in the
       past, or the close date is parked at a month end by a push.
    4. else ``fresh``.

Staleness and the clearance list
    ``staleness`` = the largest of stage_age / stage shelf life and
    age / cycle shelf life ("how many shelf lives it has sat"; > 1 exactly when
    expired; a zero shelf life is taken as one day here to stay finite; None
    with no shelf life). :func:`clearance_list` keeps the ``expired`` and
    ``stalled`` rows and sorts them by amount x max(1, staleness) descending
    (a stalled deal inside its best-by weighs its full amount; a missing
    amount weighs 0), ties by ``deal_id``: what inflates the pipeline most
    comes first.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta

import ibis
import numpy as np

from bestby.engine.entries import stage_entries
from bestby.engine.policy import DEFAULT_NO_SECOND_MEETING_DAYS, MIN_SECOND_MEETING_HISTORY, ClearancePolicy
from bestby.engine.clock import add_days
from bestby.engine.shelf_life import segment_expr, shelf_life
from bestby.engine.win import WinModel, win_model

__all__ = ["STATES", "classify", "clearance_list", "facts_expr", "freshness", "staleness"]

STATES = ("fresh", "aging", "expired", "stalled")
_DAY = 86_400.0
_SAME_MEETING = timedelta(days=1)  # a meeting touch within a day of the first meeting is that meeting

Policies = ClearancePolicy | Mapping[str, ClearancePolicy]


def policy_for(policy: Policies, pipeline: str) -> ClearancePolicy:
    """Return the policy of ``pipeline`` (a mapping's missing pipeline gets the defaults)."""
    if isinstance(policy, ClearancePolicy):
        return policy
    return policy.get(pipeline) or ClearancePolicy()


# ---------------------------------------------------------------- reduce (Ibis)

def _per_pipeline(pipeline, policy: Policies, field: str):
    if isinstance(policy, ClearancePolicy):
        return ibis.literal(getattr(policy, field))
    default = getattr(getattr(policy, "default", None) or ClearancePolicy(), field)
    if not policy:
        return ibis.literal(default)
    return ibis.cases(*((pipeline == p, getattr(pol, field)) for p, pol in policy.items()), else_=default)


def facts_expr(tables: dict[str, ibis.Table], *, policy: Policies) -> ibis.Table:
    """Build: one row per open deal with its stage entry, meetings, last touches and push count."""
    d = tables["deals"]
    deals = d.filter(d.status.isnull() | ~d.status.isin(["won", "lost"]))
    out = deals.select("deal_id", "owner_id", "pipeline", "stage", "amount", "created_at", "close_date")
    ts = out.created_at.type()

    if "stage_events" in tables:
        ev = tables["stage_events"]
        keys = out.select(e_deal="deal_id", e_stage="stage",
                          e_first=_per_pipeline(out.pipeline, policy, "first_meeting_stage"),
                          e_second=_per_pipeline(out.pipeline, policy, "second_meeting_stage"))
        j = ev.join(keys, ev.deal_id == keys.e_deal)
        agg = j.group_by("e_deal").agg(
            stage_entered_at=j.at.max(where=j.to_stage == j.e_stage),
            first_meeting_at=j.at.min(where=j.to_stage == j.e_first),
            second_meeting_at=j.at.max(where=j.to_stage == j.e_second),
        )
        out = out.left_join(agg, out.deal_id == agg.e_deal).drop("e_deal")
    else:
        out = out.mutate(stage_entered_at=ibis.null(ts), first_meeting_at=ibis.null(ts),
                         second_meeting_at=ibis.null(ts))

    if "close_date_events" in tables:
        c = tables["close_date_events"]
        entry = out.select(c_deal="deal_id", c_since=out.stage_entered_at.coalesce(out.created_at))
        c = c.join(entry, c.deal_id == entry.c_deal)
        push = c.new_close_date > c.old_close_date
        agg = c.group_by("c_deal").agg(
            pushes=c.c_deal.count(where=push),
            pushes_in_stage=c.c_deal.count(where=push & (c.at >= c.c_since)),
            last_push_at=c.at.max(where=push),
            last_change_at=c.at.max(),
        )
        out = out.left_join(agg, out.deal_id == agg.c_deal).drop("c_deal")
        out = out.mutate(pushes=out.pushes.fill_null(0), pushes_in_stage=out.pushes_in_stage.fill_null(0))
    else:
        out = out.mutate(pushes=ibis.literal(0, type="int64"), pushes_in_stage=ibis.literal(0, type="int64"),
                         last_push_at=ibis.null(ts), last_change_at=ibis.null(ts))
    if "touches" in tables:
        t = tables["touches"]
        open_ids = deals.select(t_open="deal_id")
        t = t.semi_join(open_ids, t.deal_id == open_ids.t_open)  # only open deals' touches are grouped
        agg = t.group_by(t_deal=t.deal_id).agg(
            last_touch_at=t.at.max(where=t.channel != "social"),
            last_meeting_touch_at=t.at.max(where=t.channel == "meeting"),
        )
        out = out.left_join(agg, out.deal_id == agg.t_deal).drop("t_deal")
    else:
        out = out.mutate(last_touch_at=ibis.null(ts), last_meeting_touch_at=ibis.null(ts))

    return out.order_by("deal_id")


def second_meeting_gaps(tables: dict[str, ibis.Table], *, policy: Policies,
                        entries: ibis.Table | None = None) -> dict[str, tuple[float, int]]:
    """Per pipeline: the policy quantile of days from first to second meeting stage entry, and n.

    Per deal, the last entry into each of the pipeline policy's two meeting
    stages; deals whose second entry is after the first count; the quantile
    is type 7 (as :mod:`bestby.engine.shelf_life`). Pipelines without such a
    deal are absent. ``entries`` is :func:`bestby.engine.entries.stage_entries`
    of the tables, when the caller already has it.
    """
    if "stage_events" not in tables:
        return {}
    entries = stage_entries(tables) if entries is None else entries
    names = sorted({n for pol in _policies(policy) for n in (pol.first_meeting_stage, pol.second_meeting_stage)})
    e = entries.filter(entries.stage.isin(names))
    d = tables["deals"]
    keys = d.select(k_deal="deal_id", k_pipeline="pipeline",
                    k_first=_per_pipeline(d.pipeline, policy, "first_meeting_stage"),
                    k_second=_per_pipeline(d.pipeline, policy, "second_meeting_stage"))
    j = e.join(keys, e.deal_id == keys.k_deal)
    per = j.group_by("k_deal", "k_pipeline").agg(
        first=j.last_at.max(where=j.stage == j.k_first), second=j.last_at.max(where=j.stage == j.k_second))
    per = per.filter(per.first.notnull() & per.second.notnull() & (per.second > per.first))
    per = per.mutate(days=(per.second.epoch_seconds() - per.first.epoch_seconds()).cast("float64") / _DAY)
    out: dict[str, tuple[float, int]] = {}
    frame = per.select("k_pipeline", "days").to_pyarrow().to_pylist()
    groups: dict[str, list[float]] = {}
    for r in frame:
        groups.setdefault(r["k_pipeline"], []).append(float(r["days"]))
    for pipeline, days in groups.items():
        q = policy_for(policy, pipeline).quantile
        out[pipeline] = (float(np.quantile(np.asarray(days, dtype=float), q)), len(days))
    return out


def _second_meeting_allowance(pol: ClearancePolicy, learned: tuple[float, int] | None) -> float:
    if pol.no_second_meeting_days is not None:
        return float(pol.no_second_meeting_days)
    if learned is not None and learned[1] >= MIN_SECOND_MEETING_HISTORY:
        return learned[0]
    return DEFAULT_NO_SECOND_MEETING_DAYS


# ---------------------------------------------------------------- rules (pure)

def _fmt(days: float) -> str:
    return f"{days:.0f}" if abs(days - round(days)) < 0.05 else f"{days:.1f}"


def _reason(code: str, text: str) -> dict:
    return {"code": code, "text": text}


def classify(facts: Mapping, policy: ClearancePolicy) -> tuple[str, list[dict]]:
    """Decide a deal's state and list every reason that applies (rules in the module docstring).

    ``facts`` keys (None where unknown): ``stage``, ``age_days``, ``stage_age_days``,
    ``stage_shelf_days``, ``cycle_shelf_days``, ``days_since_touch``,
    ``close_date_pushes_in_stage`` (falls back to ``close_date_pushes``),
    ``close_date_days_past`` (as_of date - close date, in days), ``close_date_parked``,
    ``days_since_first_meeting``, ``second_meeting_held``, ``second_meeting_days``
    (the allowed gap; falls back to the policy's, else 30), ``win_probability``.
    """
    pct = f"{policy.quantile * 100:.0f}%"
    unit = "business days" if policy.business_days else "days"
    stage, age, stage_age = facts.get("stage"), facts["age_days"], facts["stage_age_days"]
    stage_shelf, cycle_shelf = facts.get("stage_shelf_days"), facts.get("cycle_shelf_days")
    since_touch = facts.get("days_since_touch")
    idle_days = facts.get("calendar_age_days", age) if since_touch is None else since_touch
    idle = idle_days > policy.expired_idle_days
    worked = "" if idle else (f"; still worked (touched {_fmt(idle_days)} days ago)" if since_touch is not None
                              else "; still new")
    expired, aging, stalled = [], [], []

    past = []
    if stage_shelf is not None:
        if stage_age > stage_shelf:
            past.append(_reason("past_stage_best_by", f"in {stage} for {_fmt(stage_age)} {unit}; "
                                                      f"{pct} leave within {_fmt(stage_shelf)}{worked}"))
        elif stage_age > policy.aging_fraction * stage_shelf:
            aging.append(_reason("stage_aging",
                                 f"in {stage} for {_fmt(stage_age)} of its {_fmt(stage_shelf)} best-by {unit}"))
    if cycle_shelf is not None:
        if age > cycle_shelf:
            past.append(_reason("past_cycle_best_by", f"open for {_fmt(age)} {unit}; "
                                                      f"{pct} of wins close within {_fmt(cycle_shelf)}{worked}"))
        elif age > policy.aging_fraction * cycle_shelf:
            aging.append(_reason("cycle_aging", f"open for {_fmt(age)} of its {_fmt(cycle_shelf)} best-by {unit}"))
    (expired if idle else aging)[:0] = past
    past_days = facts.get("close_date_days_past")
    if past_days is not None and past_days > policy.close_date_grace_days:
        aging.append(_reason("close_date_past", f"expected close date passed {_fmt(past_days)} days ago"))
    if facts.get("close_date_parked"):
        aging.append(_reason("close_date_parked", "close date pushed to a month end (a placeholder, not a plan)"))

    if since_touch is None:
        if idle_days > policy.no_touch_days:
            stalled.append(_reason("no_touch", f"never touched in {_fmt(idle_days)} days"))
    elif since_touch > policy.no_touch_days:
        stalled.append(_reason("no_touch", f"no touch for {_fmt(since_touch)} days"))
    pushes = facts.get("close_date_pushes_in_stage", facts.get("close_date_pushes")) or 0
    if pushes >= policy.stalled_after_pushes:
        where = f" while in {stage}" if stage else ""
        stalled.append(_reason("close_date_pushed", f"close date pushed {pushes} times{where}"))
    since_first = facts.get("days_since_first_meeting")
    allowed = facts.get("second_meeting_days")
    if allowed is None:
        allowed = policy.no_second_meeting_days if policy.no_second_meeting_days is not None \
            else DEFAULT_NO_SECOND_MEETING_DAYS
    if since_first is not None and since_first > allowed and not facts.get("second_meeting_held"):
        stalled.append(_reason("no_second_meeting", f"first meeting {_fmt(since_first)} days ago and no second "
                                                    f"(allowed: {_fmt(allowed)})"))
    p = facts.get("win_probability")
    if p is not None and p < policy.win_probability_floor:
        stalled.append(_reason("low_win_probability",
                               f"win probability {p:.1%}, below the {policy.win_probability_floor:.0%} floor"))

    state = "stalled" if stalled else "expired" if expired else "aging" if aging else "fresh"
    return state, expired + aging + stalled


def staleness(facts: Mapping) -> float | None:
    """Return how many shelf lives the deal has sat (the larger of stage and cycle), None without one."""
    ratios = [facts[age] / (facts[shelf] if facts[shelf] > 0 else 1.0)
              for age, shelf in (("stage_age_days", "stage_shelf_days"), ("age_days", "cycle_shelf_days"))
              if facts.get(shelf) is not None]
    return max(ratios) if ratios else None


def clearance_list(rows: list[dict]) -> list[dict]:
    """Keep expired and stalled rows, most inflating first: amount x max(1, staleness), then deal_id."""
    def weight(r: dict) -> float:
        return (r.get("amount") or 0.0) * max(1.0, r.get("staleness") or 0.0)

    keep = [r for r in rows if r["state"] in ("expired", "stalled")]
    return sorted(keep, key=lambda r: (-weight(r), str(r["deal_id"])))


# ---------------------------------------------------------------- run and shape

def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _shelf_index(rows: list[dict]) -> dict[tuple, float]:
    """(pipeline, segment, stage) -> days; stage None is the whole cycle, segment None the whole pipeline."""
    return {(r["pipeline"], r.get("segment"), r["stage"]): float(r["days"]) for r in rows if r.get("days") is not None}


def _policies(policy: Policies) -> list[ClearancePolicy]:
    return [policy] if isinstance(policy, ClearancePolicy) else [*policy.values(), ClearancePolicy()]


def _month_end(day: date) -> bool:
    return (day + timedelta(days=1)).day == 1


# Columns come back as Arrow and are turned into NumPy arrays (epoch seconds, NaN for NULL) and Python
# lists once per column: the per-deal loop below then only reads plain floats, and a million open deals
# do not pay for a pandas Timestamp per cell.

def _seconds(col) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.compute as pc

    us = pc.cast(col, pa.timestamp("us", tz="UTC")).cast(pa.int64())
    return us.to_numpy(zero_copy_only=False).astype(float) / 1e6 if us.null_count == 0 else \
        np.asarray(pc.fill_null(us, 0).to_numpy(zero_copy_only=False), dtype=float) / 1e6 + \
        np.where(us.is_null().to_numpy(zero_copy_only=False), np.nan, 0.0)


def _business(seconds: np.ndarray) -> np.ndarray:
    """B(t) of :mod:`bestby.engine.clock`, vectorised (NaN stays NaN)."""
    k = (seconds - _MONDAY) / _DAY
    weeks = np.floor(k / 7)
    return weeks * 5 + np.minimum(k - weeks * 7, 5.0)


_MONDAY = datetime(1970, 1, 5, tzinfo=UTC).timestamp()


def _elapsed(start: np.ndarray, end: float, business: bool) -> np.ndarray:
    if business:
        return _business(np.full_like(start, end)) - _business(start)
    return (end - start) / _DAY


def _probabilities(pipelines: list, stages: list, age: np.ndarray, stage_age: np.ndarray,
                   model: WinModel) -> np.ndarray:
    """Each open deal's P(eventual win | still open), NaN without a model; vectorised per (pipeline, stage)."""
    out = np.full(len(pipelines), np.nan)
    groups: dict[tuple, list[int]] = {}
    for i, key in enumerate(zip(pipelines, stages)):
        groups.setdefault(key, []).append(i)
    for (pipeline, stage), rows in groups.items():
        idx = np.asarray(rows)
        p = model.chances_many(pipeline, stage, age_days=age[idx], stage_age_days=stage_age[idx])
        if p is not None:
            out[idx] = p
    return out


def freshness(tables: dict[str, ibis.Table], *, as_of: datetime, policy: Policies,
              shelf: list[dict] | None = None,
              win_probability: Mapping[str, float] | WinModel | None = None) -> list[dict]:
    """Compute the freshness row of every deal open at ``as_of`` (rules in the module docstring)."""
    as_of = _utc(as_of)
    now = as_of.timestamp()
    facts = facts_expr(tables, policy=policy).to_pyarrow()
    col = {name: facts[name].to_pylist() for name in
           ("deal_id", "owner_id", "pipeline", "stage", "amount", "close_date", "pushes", "pushes_in_stage")}
    sec = {name: _seconds(facts[name]) for name in
           ("created_at", "stage_entered_at", "last_touch_at", "first_meeting_at", "second_meeting_at",
            "last_meeting_touch_at", "last_push_at", "last_change_at")}
    sec["stage_entered_at"] = np.where(np.isnan(sec["stage_entered_at"]), sec["created_at"], sec["stage_entered_at"])
    age = np.round((now - sec["created_at"]) / _DAY, 6)
    stage_age = np.round((now - sec["stage_entered_at"]) / _DAY, 6)
    since_touch = np.round((now - sec["last_touch_at"]) / _DAY, 6)
    since_first = np.round((now - sec["first_meeting_at"]) / _DAY, 6)
    held = ~np.isnan(sec["first_meeting_at"]) & (
        (sec["second_meeting_at"] >= sec["first_meeting_at"])
        | (sec["last_meeting_touch_at"] > sec["first_meeting_at"] + _SAME_MEETING.total_seconds()))
    last_push_is_last = ~np.isnan(sec["last_push_at"]) & (sec["last_push_at"] == sec["last_change_at"])
    business_age = np.round(_elapsed(sec["created_at"], now, True), 6)
    business_stage_age = np.round(_elapsed(sec["stage_entered_at"], now, True), 6)

    stages = tables["stages"].select("pipeline", "stage", "position").to_pyarrow().to_pylist()
    position = {(r["pipeline"], r["stage"]): r["position"] for r in stages}
    entries = stage_entries(tables)
    if win_probability is None:
        win_probability = win_model(tables, as_of=as_of, entries=entries)
    if isinstance(win_probability, WinModel):
        probs = _probabilities(col["pipeline"], col["stage"], age, stage_age, win_probability)
        chances = {d: (None if math.isnan(p) else float(p)) for d, p in zip(col["deal_id"], probs)}
    else:
        chances = win_probability
    gaps = second_meeting_gaps(tables, policy=policy, entries=entries)

    shelves: dict[tuple, dict[tuple, float]] = {}

    def shelf_of(pol: ClearancePolicy) -> dict[tuple, float]:
        key = () if shelf is not None else (pol.quantile, pol.segment, pol.lookback_days, pol.business_days)
        if key in shelves:
            return shelves[key]
        if shelf is not None:
            shelves[key] = _shelf_index(shelf)
            return shelves[key]
        if key not in shelves:
            since = None if pol.lookback_days is None else as_of - timedelta(days=pol.lookback_days)
            shelves[key] = _shelf_index(shelf_life(tables, q=pol.quantile, by=pol.segment, since=since,
                                                   business_days=pol.business_days))
        return shelves[key]

    segment_of: dict[str, dict[str, str]] = {}
    for by in {p.segment for p in _policies(policy)} - {None}:
        seg = segment_expr(tables, by)
        seg = seg.filter(seg.status.isnull() | ~seg.status.isin(["won", "lost"])).select("deal_id", "segment")
        segment_of[by] = dict(seg.execute().itertuples(index=False, name=None))

    as_of_date = as_of.date()
    created_list = facts["created_at"].to_pylist()  # Arrow builds the datetimes (UTC) in C
    entered_list = [e if e is not None else c for e, c in zip(facts["stage_entered_at"].to_pylist(), created_list)]
    age_l, stage_age_l = age.tolist(), stage_age.tolist()
    b_age_l, b_stage_age_l = business_age.tolist(), business_stage_age.tolist()
    touch_l = [None if math.isnan(x) else x for x in since_touch.tolist()]
    first_l = [None if math.isnan(x) else x for x in since_first.tolist()]
    held_l, parked_l = held.tolist(), last_push_is_last.tolist()
    cols = (col["deal_id"], col["owner_id"], col["pipeline"], col["stage"], col["amount"], col["close_date"],
            col["pushes"], col["pushes_in_stage"])
    rows: list[dict] = []
    for i, (deal_id, owner_id, pipeline, stage, amount, close_date, pushes, pushes_in_stage) in enumerate(zip(*cols)):
        pol = policy_for(policy, pipeline)
        known = shelf_of(pol)
        seg = segment_of[pol.segment].get(deal_id) if pol.segment else None
        stage_shelf = known.get((pipeline, seg, stage))
        cycle_shelf = known.get((pipeline, seg, None))
        business = pol.business_days
        created, entered = created_list[i], entered_list[i]
        candidates = [add_days(start, days, business=business)
                      for start, days in ((entered, stage_shelf), (created, cycle_shelf)) if days is not None]
        first = first_l[i] is not None
        meeting_held = held_l[i]
        if first and not meeting_held:
            second_position = position.get((pipeline, pol.second_meeting_stage))
            current_position = position.get((pipeline, stage))
            meeting_held = (second_position is not None and current_position is not None
                            and current_position >= second_position)
        p = chances.get(deal_id)
        p = None if p is None or (isinstance(p, float) and math.isnan(p)) else float(p)
        parked = close_date is not None and parked_l[i] and _month_end(close_date)
        f = {
            "stage": stage,
            "age_days": b_age_l[i] if business else age_l[i],
            "stage_age_days": b_stage_age_l[i] if business else stage_age_l[i],
            "calendar_age_days": age_l[i],
            "stage_shelf_days": stage_shelf,
            "cycle_shelf_days": cycle_shelf,
            "days_since_touch": touch_l[i],
            "close_date_pushes": pushes,
            "close_date_pushes_in_stage": pushes_in_stage,
            "close_date_days_past": (as_of_date - close_date).days if close_date else None,
            "close_date_parked": parked,
            "days_since_first_meeting": first_l[i],
            "second_meeting_held": meeting_held,
            "second_meeting_days": _second_meeting_allowance(pol, gaps.get(pipeline)),
            "win_probability": p,
        }
        state, reasons = classify(f, pol)
        rows.append({
            "deal_id": deal_id,
            "owner_id": owner_id,
            "pipeline": pipeline,
            "stage": stage,
            "amount": None if amount is None else float(amount),
            "created_at": created,
            "stage_entered_at": entered,
            "age_days": age_l[i],
            "stage_age_days": stage_age_l[i],
            "days_since_touch": f["days_since_touch"],
            "close_date": close_date,
            "close_date_pushes": pushes,
            "close_date_pushes_in_stage": pushes_in_stage,
            "close_date_past": close_date is not None and close_date < as_of_date,
            "close_date_parked": parked,
            "segment": seg,
            "stage_shelf_days": stage_shelf,
            "cycle_shelf_days": cycle_shelf,
            "shelf_unit": "business days" if business else "days",
            "best_by": min(candidates) if candidates else None,
            "win_probability": p,
            "staleness": staleness(f),
            "state": state,
            "reasons": reasons,
        })
    return rows
