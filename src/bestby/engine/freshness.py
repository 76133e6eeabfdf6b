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
from datetime import date, datetime, timedelta

import ibis
import numpy as np

from bestby.engine.clock import add_days, business_time_array
from bestby.engine.entries import stage_entries
from bestby.engine.facts import facts_expr, policies_of, second_meeting_allowance, second_meeting_gaps
from bestby.engine.policy import ClearancePolicy
from bestby.engine.rules import STATES, Policies, classify, clearance_list, policy_for, staleness
from bestby.engine.shelf_life import segment_expr, shelf_life
from bestby.engine.sources import as_utc
from bestby.engine.win import WinModel, win_model

# the rules and facts live in their own modules; they are re-exported here, where they are specified
__all__ = ["STATES", "classify", "clearance_list", "facts_expr", "freshness", "second_meeting_gaps", "staleness"]

_DAY = 86_400.0
_SAME_MEETING = timedelta(days=1)  # a meeting touch within a day of the first meeting is that meeting


def _shelf_index(rows: list[dict]) -> dict[tuple, float]:
    """(pipeline, segment, stage) -> days; stage None is the whole cycle, segment None the whole pipeline."""
    return {(r["pipeline"], r.get("segment"), r["stage"]): float(r["days"]) for r in rows if r.get("days") is not None}


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


def _elapsed(start: np.ndarray, end: float, business: bool) -> np.ndarray:
    if business:
        return business_time_array(np.full_like(start, end)) - business_time_array(start)
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
    as_of = as_utc(as_of)
    now = as_of.timestamp()
    entries = stage_entries(tables)
    facts = facts_expr(tables, policy=policy, entries=entries).to_pyarrow()
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
    for by in {p.segment for p in policies_of(policy)} - {None}:
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
            "second_meeting_days": second_meeting_allowance(pol, gaps.get(pipeline)),
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
