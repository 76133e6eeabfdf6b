"""The freshness rules: a deal's state and reasons from its facts, staleness, the clearance order (pure).

No I/O and no Ibis: plain values in, plain values out. The rules themselves
are specified in :mod:`bestby.engine.freshness` (the module that gathers the
facts and runs them) and the thresholds in :mod:`bestby.engine.policy`.
"""

from __future__ import annotations

from collections.abc import Mapping

from bestby.engine.policy import DEFAULT_NO_SECOND_MEETING_DAYS, ClearancePolicy

__all__ = ["STATES", "Policies", "classify", "clearance_list", "clearance_weight", "policy_for", "staleness"]

STATES = ("fresh", "aging", "expired", "stalled")

Policies = ClearancePolicy | Mapping[str, ClearancePolicy]


def policy_for(policy: Policies, pipeline: str) -> ClearancePolicy:
    """Return the policy of ``pipeline`` (a mapping's missing pipeline gets the defaults)."""
    if isinstance(policy, ClearancePolicy):
        return policy
    return policy.get(pipeline) or ClearancePolicy()


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


def clearance_weight(row: Mapping) -> float:
    """How much a deal inflates the pipeline: amount x max(1, staleness) (a missing amount weighs 0)."""
    return (row.get("amount") or 0.0) * max(1.0, row.get("staleness") or 0.0)


def clearance_list(rows: list[dict]) -> list[dict]:
    """Keep expired and stalled rows, most inflating first (:func:`clearance_weight`), then deal_id."""
    keep = [r for r in rows if r["state"] in ("expired", "stalled")]
    return sorted(keep, key=lambda r: (-clearance_weight(r), str(r["deal_id"])))
