"""The freshness facts: the big tables reduced to one row per open deal, where the data lives (Ibis).

What each fact means is specified in :mod:`bestby.engine.freshness`;
``facts_expr`` builds one Ibis expression for all of them, and
``second_meeting_gaps`` learns the first-to-second meeting gap per pipeline.
"""

from __future__ import annotations

import ibis
import numpy as np

from bestby.engine.entries import stage_entries
from bestby.engine.policy import DEFAULT_NO_SECOND_MEETING_DAYS, MIN_SECOND_MEETING_HISTORY, ClearancePolicy
from bestby.engine.rules import Policies, policy_for

__all__ = ["facts_expr", "policies_of", "second_meeting_allowance", "second_meeting_gaps"]

_DAY = 86_400.0


def policies_of(policy: Policies) -> list[ClearancePolicy]:
    """Every policy in play (a mapping's, plus the default for pipelines it does not name)."""
    return [policy] if isinstance(policy, ClearancePolicy) else [*policy.values(), ClearancePolicy()]


def _per_pipeline(pipeline, policy: Policies, field: str):
    if isinstance(policy, ClearancePolicy):
        return ibis.literal(getattr(policy, field))
    default = getattr(getattr(policy, "default", None) or ClearancePolicy(), field)
    if not policy:
        return ibis.literal(default)
    return ibis.cases(*((pipeline == p, getattr(pol, field)) for p, pol in policy.items()), else_=default)


def facts_expr(tables: dict[str, ibis.Table], *, policy: Policies, entries: ibis.Table | None = None) -> ibis.Table:
    """Build: one row per open deal with its stage entry, meetings, last touches and push count.

    The stage entry and the meetings come from the per-(deal, stage) entries
    (:func:`bestby.engine.entries.stage_entries`; pass them when the caller has
    them, so the stage events are not reduced twice): the last entry into the
    current stage, the first entry into the first meeting stage, the last into
    the second.
    """
    d = tables["deals"]
    deals = d.filter(d.status.isnull() | ~d.status.isin(["won", "lost"]))
    out = deals.select("deal_id", "owner_id", "pipeline", "stage", "amount", "created_at", "close_date")
    ts = out.created_at.type()

    if "stage_events" in tables:
        entries = stage_entries(tables) if entries is None else entries
        keys = out.select(e_deal="deal_id", e_stage="stage",
                          e_first=_per_pipeline(out.pipeline, policy, "first_meeting_stage"),
                          e_second=_per_pipeline(out.pipeline, policy, "second_meeting_stage"))
        j = entries.join(keys, entries.deal_id == keys.e_deal)
        agg = j.group_by("e_deal").agg(
            stage_entered_at=j.last_at.max(where=j.stage == j.e_stage),
            first_meeting_at=j.first_at.min(where=j.stage == j.e_first),
            second_meeting_at=j.last_at.max(where=j.stage == j.e_second),
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
    names = sorted({n for pol in policies_of(policy) for n in (pol.first_meeting_stage, pol.second_meeting_stage)})
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


def second_meeting_allowance(pol: ClearancePolicy, learned: tuple[float, int] | None) -> float:
    if pol.no_second_meeting_days is not None:
        return float(pol.no_second_meeting_days)
    if learned is not None and learned[1] >= MIN_SECOND_MEETING_HISTORY:
        return learned[0]
    return DEFAULT_NO_SECOND_MEETING_DAYS
