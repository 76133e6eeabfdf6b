"""Coverage, forecast, funnel and backtest reports over the store, in the shapes the CLI, the API and the web share.

The figures are the engine's (:mod:`bestby.engine.coverage`,
:mod:`bestby.engine.forecast`, :mod:`bestby.engine.funnel`,
:mod:`bestby.engine.reverse_funnel`, :mod:`bestby.engine.backtest`); this
module binds the store at ``as_of`` (goals from its quota rows), runs them,
and shapes the results as the issue's JSON documents, so an adapter only
parses its options and renders. Values are JSON-ready (ISO dates, floats,
None for "no figure").

Shapes (``groups`` are the rows of the levels asked for with ``by``; the top
level is the whole workspace):

* coverage: ``{period, start, end, as_of, goal, won, to_go, raw, fresh, weighted, needed, win_rate,
  raw_coverage, fresh_coverage, weighted_coverage, groups: [{level, key, ...same fields, open_n...}]}``
* forecast: ``{period, start, end, as_of, won, expected, p10, p50, p90, goal, groups: [{level, key, won, expected,
  p10, p50, p90, goal, ...}], deals: [{deal_id, owner_id, team, pipeline, amount, probability, contribution}]}``
* backtest: ``{periods: [{period, weeks_in, as_of, forecast, p10, p50, p90, actual, error, baselines}],
  summary: {mape, interval_coverage, brier}, baselines: {stage|win_rate|raw: {mape, brier}}, calibration,
  skipped}``
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Callable, Iterable, Mapping

from bestby import clock
from bestby.engine.periods import Period

__all__ = ["BASELINES", "LEVEL_NAMES", "backtest_report", "coverage_report", "fiscal_period", "forecast_report",
           "funnel_report", "reverse_funnel_report", "shape_backtest", "shape_coverage", "shape_forecast"]

LEVEL_NAMES = ("owner", "team", "pipeline")
BASELINES = {"stage": "stage probabilities", "win_rate": "in period x win rate", "raw": "raw in period"}


def fiscal_period(text: str | None, when: datetime) -> Period:
    """``text`` on the workspace's fiscal calendar, or the fiscal quarter holding ``when`` (PeriodError if bad)."""
    from bestby import config
    from bestby.engine.periods import parse_period, period_of

    first_month = config.load().fiscal_year_start
    return parse_period(text, first_month=first_month) if text else period_of(when, "quarter", first_month=first_month)


def _iso(v):
    return v.isoformat() if hasattr(v, "isoformat") else v


def _clean(row: dict) -> dict:
    return {k: _iso(v) for k, v in row.items()}


def _head(period: Period, as_of: datetime) -> dict:
    return {"period": period.label, "start": period.start.isoformat(), "end": period.last_day.isoformat(),
            "as_of": as_of.isoformat()}


def _split(rows: list[dict], levels: Iterable[str]) -> tuple[dict | None, list[dict]]:
    top = next((r for r in rows if r["level"] == "all"), None)
    wanted = tuple(levels)
    return top, [_clean(r) for r in rows if r["level"] in wanted]


# ------------------------------------------------------------------ shapes (pure)

_COVERAGE_TOP = ("goal", "won", "to_go", "raw", "fresh", "weighted", "needed", "win_rate", "raw_coverage",
                 "fresh_coverage", "weighted_coverage", "open_n", "raw_n", "fresh_n", "unweighted_n", "closed_n")


def shape_coverage(rows: list[dict], *, period: Period, as_of: datetime, by: Iterable[str] = ()) -> dict:
    """The coverage document from :func:`bestby.engine.coverage.coverage` rows (which include level ``all``)."""
    top, groups = _split(rows, by)
    top = top or {}
    return {**_head(period, as_of), **{k: top.get(k) for k in _COVERAGE_TOP}, "groups": groups}


_FORECAST_TOP = ("won", "open_expected", "new_expected", "expected", "p10", "p50", "p90", "open_n", "unmodelled_n")


def shape_forecast(result: dict, *, period: Period, as_of: datetime, by: Iterable[str] = (),
                   deals: int | None = None, goals: Mapping[str, Decimal] | None = None) -> dict:
    """The forecast document from :func:`bestby.engine.forecast.forecast` (rows including level ``all``).

    With ``goals`` (owner ids and ``team:NAME`` keys, as :func:`bestby.engine.coverage.period_goals`) the
    workspace and each group also carry ``goal``, the same goal coverage shows (None for a pipeline).
    """
    top, groups = _split(result["rows"], by)
    top = top or {k: 0.0 for k in _FORECAST_TOP}
    listed = result["deals"] if deals is None else result["deals"][:deals]
    goal = {}
    if goals is not None:
        from bestby.engine.coverage import _goal

        def as_float(level, key):
            g = _goal(goals, level, key)
            return None if g is None else float(g)

        goal = {"goal": as_float("all", "all")}
        groups = [{**g, "goal": as_float(g["level"], g["key"])} for g in groups]
    return {**_head(period, as_of), **{k: top.get(k) for k in _FORECAST_TOP}, **goal, "groups": groups,
            "deals": [{"deal_id": d["deal_id"], "owner_id": d["owner_id"], "team": d["team"],
                       "pipeline": d["pipeline"], "amount": d["amount"], "probability": d["p"],
                       "contribution": d["contribution"]} for d in listed]}


def shape_backtest(result: dict) -> dict:
    """The backtest document from :func:`bestby.engine.backtest.backtest`."""
    periods = []
    for s in result["snapshots"]:
        error = None if not s["actual"] else (s["model"] - s["actual"]) / s["actual"]
        periods.append({"period": s["period"], "weeks_in": s["weeks_in"], "as_of": s["as_of"].isoformat(),
                        "forecast": s["model"], "p10": s["p10"], "p50": s["p50"], "p90": s["p90"],
                        "actual": s["actual"], "error": error, "won_so_far": s["won_so_far"], "open_n": s["open_n"],
                        "unmodelled_n": s["unmodelled_n"], "baselines": {m: s[m] for m in BASELINES}})
    model = result["summary"]["model"]
    return {"periods": periods,
            "summary": {"mape": model["mape"], "interval_coverage": model.get("inside"), "brier": model["brier"],
                        "deals": model["deals"], "zero_actuals": model["zero_actuals"]},
            "baselines": {m: {"mape": result["summary"][m]["mape"], "brier": result["summary"][m]["brier"]}
                          for m in BASELINES},
            "calibration": result["calibration"], "skipped": result["skipped"]}


# ------------------------------------------------------------------ over the store (Django set up)

def _source(when: datetime, store):
    """The store cut at ``when`` through ``store`` (a reader); on PostgreSQL copied into a local DuckDB once cut.

    The cut runs in the database; the analytics after it make dozens of
    round-trips (freshness, the win model, four calibration replays), which
    PostgreSQL plans one by one: on the demo workspace a forecast took 12.8 s
    reading PostgreSQL and 5.3 s from the copy (1.9 s of it the copy), with
    the same figures. The SQLite store is already read by DuckDB (from the
    reader's private copy of the file).
    """
    from bestby.engine.sources import local_copy

    return local_copy(store.tables(when))


def _reader():
    from bestby.pipeline.analytics import store_reader

    return store_reader()


def coverage_report(*, period: Period, as_of: datetime, by: Iterable[str] = (), policy=None,
                    lookback_days: int = 365) -> dict:
    """Coverage of ``period`` at ``as_of`` over the store (goals: the quota rows)."""
    from bestby.engine.coverage import coverage

    levels = (*by, "all")
    with _reader() as store:
        rows = coverage(_source(as_of, store), as_of=as_of, period=period, policy=policy,
                        lookback_days=lookback_days, levels=levels)
    return shape_coverage(rows, period=period, as_of=as_of, by=by)


def forecast_report(*, period: Period, as_of: datetime, by: Iterable[str] = (), policy=None,
                    lookback_days: int = 365, sims: int | None = None, seed: int | None = None,
                    deals: int | None = None) -> dict:
    """The forecast of ``period`` at ``as_of`` over the store, every deal's contribution (or the ``deals`` largest)."""
    from bestby.engine.coverage import period_goals
    from bestby.engine.forecast import SEED, SIMS, forecast

    levels = (*by, "all")
    with _reader() as store:
        tables = _source(as_of, store)
        result = forecast(tables, as_of=as_of, period=period, policy=policy, levels=levels,
                          lookback_days=lookback_days, sims=sims or SIMS, seed=SEED if seed is None else seed)
        goals = period_goals(tables, period)
    return shape_forecast(result, period=period, as_of=as_of, by=by, deals=deals, goals=goals)


def funnel_report(*, as_of: datetime, window_days: int = 180, by: str | None = None) -> list[dict]:
    """Funnel rows (see :func:`bestby.engine.funnel.funnel`) for deals entering stages in the window."""
    from bestby.engine.funnel import funnel

    with _reader() as store:
        return funnel(_source(as_of, store), as_of=as_of, since=as_of - timedelta(days=window_days), by=by)


def reverse_funnel_report(*, period: Period, as_of: datetime, by: Iterable[str] = ("owner", "team"), policy=None,
                          lookback_days: int = 365) -> list[dict]:
    """Reverse-funnel rows per key with a goal (see :func:`bestby.engine.reverse_funnel.reverse_funnel`)."""
    from bestby.engine.reverse_funnel import reverse_funnel

    with _reader() as store:
        return reverse_funnel(_source(as_of, store), as_of=as_of, period=period, policy=policy,
                              lookback_days=lookback_days, levels=tuple(by))


def backtest_report(*, periods: list[Period], weeks_in=(0, 4, 8), now: datetime | None = None, policy=None,
                    sims: int = 2_000, seed: int | None = None,
                    on_snapshot: Callable[[Period, int], None] | None = None) -> dict:
    """Replay the forecast over the store's past (one reader, one copy of the store, for every snapshot) and shape it."""
    from bestby.engine.backtest import backtest
    from bestby.engine.forecast import SEED

    with _reader() as store:
        result = backtest(lambda t: _source(t, store), periods=periods, weeks_in=weeks_in,
                          now=now or clock.now(), policy=policy, sims=sims,
                          seed=SEED if seed is None else seed, on_snapshot=on_snapshot)
    return shape_backtest(result)
