"""The backtest document, cached: a replay takes seconds to minutes, its figures change only with the data.

Key: the periods, the snapshots, the draws and the seed, the stored policy,
how many of the periods had ended (a period is scored only once ended), and
the data's revision tokens (:mod:`bestby.pipeline.revision`: ``open-deals``
changes with every write of a deal, stage or pipeline and every import;
``people`` with every user, whose team moves deals between keys). A write
of the data gives a new token, hence a new key: an old document is never
served for new data, and old entries expire by themselves (Django's cache,
the database cache of settings.CACHES, shared by every worker process).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from django.core.cache import cache

from bestby import clock
from bestby.engine.coverage import midnight
from bestby.engine.periods import Period

__all__ = ["REPORT_TIMEOUT", "WEB_SIMS", "backtest_key", "cached_backtest", "cached_report", "report_key"]

WEB_SIMS = 1_000  # the page's and the API's draws: P10/P90 within about 0.01 in probability, 10x faster
TIMEOUT = 7 * 24 * 3600
# a forecast, coverage or funnel at a given as_of: the tokens move with every deal and people write, not with a
# touch logged alone (touches set days-since-touch, hence freshness states); ten minutes bounds that staleness
REPORT_TIMEOUT = 600


def _policy_text() -> str:
    from bestby.clearance.settings import stored_mapping

    return json.dumps(stored_mapping(), sort_keys=True, default=str)


def backtest_key(*, periods: list[Period], weeks_in: tuple[int, ...], sims: int, seed: int | None,
                 now: datetime) -> str:
    """The cache key of a backtest of ``periods`` at ``now`` over the store as it is."""
    from bestby.pipeline import revision

    ended = sum(midnight(p.end) <= now for p in periods)
    parts = {"periods": [p.label for p in periods], "first_month": periods[0].first_month if periods else None,
             "weeks_in": list(weeks_in), "sims": sims, "seed": seed, "ended": ended,
             "tokens": list(revision.tokens(revision.OPEN_DEALS, revision.PEOPLE)), "policy": _policy_text()}
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
    return f"bestby:backtest:{digest}"


def cached_backtest(*, periods: list[Period], weeks_in: tuple[int, ...], sims: int = WEB_SIMS,
                    seed: int | None = None, now: datetime | None = None) -> tuple[dict, bool]:
    """The backtest document and whether it came from the cache."""
    from bestby.goals.params import report_policy
    from bestby.goals.reports import backtest_report

    now = now or clock.now()
    key = backtest_key(periods=periods, weeks_in=weeks_in, sims=sims, seed=seed, now=now)
    doc = cache.get(key)
    if doc is not None:
        return doc, True
    doc = backtest_report(periods=periods, weeks_in=weeks_in, now=now, policy=report_policy(), sims=sims, seed=seed)
    cache.set(key, doc, TIMEOUT)
    return doc, False


def report_key(name: str, params: dict) -> str:
    """The cache key of report ``name`` with ``params`` (periods by label, the policy by its repr) over the
    store as it is (the revision tokens)."""
    from bestby.pipeline import revision

    def plain(v):
        if isinstance(v, Period):
            return [v.label, v.first_month]
        if isinstance(v, datetime):
            return v.astimezone(UTC).isoformat()
        return repr(v)

    parts = {"report": name, "params": {k: plain(v) if not isinstance(v, (int, float, str, type(None), list, tuple))
                                        else v for k, v in sorted(params.items())},
             "tokens": list(revision.tokens(revision.OPEN_DEALS, revision.PEOPLE))}
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=repr).encode()).hexdigest()
    return f"bestby:report:{name}:{digest}"


def cached_report(report, **params):
    """``report(**params)`` (a :mod:`bestby.goals.reports` function), cached on its parameters and the data's
    revision for ``REPORT_TIMEOUT`` seconds: the drill-down of a forecast page, which carries the page's as_of,
    and a second look at a page then cost no recomputation. Returns (document, from_cache)."""
    key = report_key(report.__name__, params)
    doc = cache.get(key)
    if doc is not None:
        return doc, True
    doc = report(**params)
    cache.set(key, doc, REPORT_TIMEOUT)
    return doc, False
