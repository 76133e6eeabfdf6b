"""The reverse funnel: how many new deals and first meetings a week the rest of a period's goal needs.

"Opening is the new closing": the goal still open after what the current
pipeline is expected to bring has to come from deals not opened yet. For a
fiscal period P, a moment ``as_of`` and each owner (and team) with a goal:

``gap``
    ``max(to_go - weighted, 0)``, with ``to_go`` and ``weighted`` from
    :func:`bestby.engine.coverage.coverage`: what the open deals are not
    expected to bring before P ends.
``h``
    days from ``as_of`` to P's end; ``weeks_left = h / 7``.
``p_new``
    the key's share of deals created in the ``lookback_days`` (365) before
    ``as_of - h`` that were won within h days of their creation: the chance
    that a deal opened today closes won in time, at the key's own conversion
    rate *and* cycle time (only deals that have had h full days count, so
    recent ones do not drag it down).
``p_meeting``
    the same for deals whose first entry into the first-meeting stage
    (``ClearancePolicy.first_meeting_stage``) falls in that window: won within
    h days of that first meeting.
``won_amount``
    the mean amount of the key's deals won in the ``lookback_days`` before ``as_of``.
``deals_needed``, ``meetings_needed``
    ``gap / (p x won_amount)``; per week: divided by ``weeks_left`` (at least
    one week). None when the rate or the amount is unknown (no history) or 0:
    no number of new deals closes that gap in time, and the row says so.
``deals_per_week_now``, ``meetings_per_week_now``
    what the key is doing: deals created (first meetings held) in the 28 days
    before ``as_of``, divided by 4. Four weeks: a month of recent habit, long
    enough to smooth a holiday week.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Mapping

from bestby.engine.coverage import _keys, _teams, coverage, midnight
from bestby.engine.entries import stage_entries
from bestby.engine.periods import Period
from bestby.engine.policy import ClearancePolicy
from bestby.engine.rules import Policies
from bestby.engine.sources import as_utc

__all__ = ["RECENT_DAYS", "reverse_funnel"]

RECENT_DAYS = 28
_DAY = 86_400.0


def reverse_funnel(tables: dict, *, as_of: datetime, period: Period, goals: Mapping | None = None, policy: Policies | None = None,
                   lookback_days: int = 365, levels=("owner", "team"), coverage_rows: list[dict] | None = None,
                   first_meeting_stage: str | None = None) -> list[dict]:
    """Reverse-funnel rows per key with a goal (see the module docstring)."""
    as_of = as_utc(as_of)
    policy = policy or ClearancePolicy()
    meeting = first_meeting_stage or getattr(policy, "first_meeting_stage", None) or ClearancePolicy().first_meeting_stage
    if coverage_rows is None:
        coverage_rows = coverage(tables, as_of=as_of, period=period, goals=goals, policy=policy,
                                 lookback_days=lookback_days, levels=levels)
    h = max(0.0, (midnight(period.end) - as_of).total_seconds() / _DAY)
    horizon = timedelta(days=h)
    teams = _teams(tables)

    deals = tables["deals"].select("deal_id", "owner_id", "amount", "created_at", "status", "closed_at")
    deal_rows = deals.to_pyarrow().to_pylist()
    meetings: dict[str, datetime] = {}
    entries = stage_entries(tables)
    if entries is not None:
        e = entries.filter(entries.stage == meeting).select("deal_id", "first_at")
        meetings = {r["deal_id"]: as_utc(r["first_at"]) for r in e.to_pyarrow().to_pylist()}

    def keys(owner):  # the owner, team and workspace keys a deal counts for (pipelines have no goals)
        return [k for k in _keys(owner, "", teams) if k[0] in ("owner", "team", "all")]

    acc: dict[tuple[str, str], dict] = {}

    def bucket(key):
        return acc.setdefault(key, {"created": 0, "created_won": 0, "met": 0, "met_won": 0, "won_n": 0,
                                    "won_sum": 0.0, "recent_created": 0, "recent_met": 0})

    window_end = as_of - horizon
    window_start = window_end - timedelta(days=lookback_days)
    recent = as_of - timedelta(days=RECENT_DAYS)
    for d in deal_rows:
        created = as_utc(d["created_at"])
        closed = as_utc(d["closed_at"]) if d["closed_at"] is not None else None
        won_at = closed if d["status"] == "won" else None
        met = meetings.get(d["deal_id"])
        for key in keys(d["owner_id"]):
            b = bucket(key)
            if window_start <= created < window_end:
                b["created"] += 1
                b["created_won"] += int(won_at is not None and won_at - created <= horizon)
            if met is not None and window_start <= met < window_end:
                b["met"] += 1
                b["met_won"] += int(won_at is not None and won_at >= met and won_at - met <= horizon)
            if won_at is not None and as_of - timedelta(days=lookback_days) <= won_at <= as_of:
                b["won_n"] += 1
                b["won_sum"] += float(d["amount"] or 0.0)
            if recent <= created <= as_of:
                b["recent_created"] += 1
            if met is not None and recent <= met <= as_of:
                b["recent_met"] += 1

    weeks_left = max(1.0, h / 7.0)
    out = []
    for c in coverage_rows:
        if c["level"] not in levels or c["level"] == "pipeline" or c["goal"] is None:
            continue
        b = acc.get((c["level"], c["key"]), bucket((c["level"], c["key"])))
        gap = max((c["to_go"] or 0.0) - (c["weighted"] or 0.0), 0.0)
        p_new = b["created_won"] / b["created"] if b["created"] else None
        p_meeting = b["met_won"] / b["met"] if b["met"] else None
        amount = b["won_sum"] / b["won_n"] if b["won_n"] else None

        def needed(p):
            if gap == 0:
                return 0.0
            if not p or not amount:
                return None
            return gap / (p * amount)

        deals_needed, meetings_needed = needed(p_new), needed(p_meeting)
        out.append({
            "level": c["level"], "key": c["key"], "period": period.label, "goal": c["goal"], "to_go": c["to_go"],
            "weighted": c["weighted"], "gap": gap, "days_left": h, "p_new": p_new, "p_meeting": p_meeting,
            "won_amount": amount, "deals_needed": deals_needed, "meetings_needed": meetings_needed,
            "deals_per_week": None if deals_needed is None else deals_needed / weeks_left,
            "meetings_per_week": None if meetings_needed is None else meetings_needed / weeks_left,
            "deals_per_week_now": b["recent_created"] / (RECENT_DAYS / 7),
            "meetings_per_week_now": b["recent_met"] / (RECENT_DAYS / 7),
        })
    return out
