"""Report endpoints: coverage, forecast, funnel, reverse funnel and backtest (the engine over the store, seconds).

Each returns the document of :mod:`bestby.goals.reports` (the same JSON as
``bestby coverage --json`` and friends) cut to what the caller may see
(:mod:`bestby.goals.scope`): admins get everything; others get their own
rows, deals and (managers) their team's row, with the workspace figures null.
``by`` defaults to the workspace alone for admins (as the CLI) and to the
caller's rows (``owner,team``) for everyone else. Parameters are read by
:mod:`bestby.goals.params`: a bad one is a 422 naming it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Optional

from ninja import Query, Router

from bestby import clock
from bestby.api.errors import FieldError
from bestby.api.schemas import Error, Text
from bestby.api.schemas_reports import BacktestDoc, CoverageDoc, ForecastDoc, FunnelRow, ReverseFunnelRow
from bestby.goals import scope as scoping
from bestby.goals.params import as_of_param, backtest_periods, levels_param, period_param, report_policy, weeks_param
from bestby.goals.reports import LEVEL_NAMES

router = Router(tags=["reports"])

Errors = {400: Error, 403: Error, 422: Error}


def _levels(text: Optional[str], scope: scoping.Scope, allowed=LEVEL_NAMES) -> tuple[str, ...]:
    return levels_param(text, allowed, default=() if scope.everything else ("owner", "team"))


def _when(as_of: Optional[str]) -> datetime:
    return as_of_param(as_of, now=clock.now().replace(microsecond=0))


@router.get("/coverage", response={200: CoverageDoc, **Errors},
            summary="Coverage of a period's goal: raw, fresh and weighted, and the coverage needed")
def coverage(request, period: Optional[Text] = None, as_of: Optional[Text] = None, by: Optional[Text] = None):
    """`period`: FY2026-Q1, 2026-Q1, 2025-07... (default: the fiscal quarter of `as_of`); `as_of`: an ISO date
    or timestamp (default: now); `by`: owner, team, pipeline, comma-separated."""
    from bestby.goals.reports import coverage_report

    scope = scoping.scope_for(request.auth)
    when = _when(as_of)
    chosen, levels = period_param(period, when), _levels(by, scope)
    doc = coverage_report(period=chosen, as_of=when, by=levels, policy=report_policy())
    return scoping.coverage_doc(doc, scope)


@router.get("/forecast", response={200: ForecastDoc, **Errors},
            summary="The forecast of a period's won amount (expected, P10, P50, P90) and each deal's contribution")
def forecast(request, period: Optional[Text] = None, as_of: Optional[Text] = None, by: Optional[Text] = None,
             deals: Optional[int] = Query(None, ge=0, le=100_000, description="list the N largest contributions "
                                                                               "(default: every open deal)")):
    from bestby.goals.reports import forecast_report

    scope = scoping.scope_for(request.auth)
    when = _when(as_of)
    chosen, levels = period_param(period, when), _levels(by, scope)
    doc = scoping.forecast_doc(forecast_report(period=chosen, as_of=when, by=levels, policy=report_policy()), scope)
    if deals is not None:
        doc["deals"] = doc["deals"][:deals]
    return doc


@router.get("/funnel", response={200: list[FunnelRow], **Errors},
            summary="Conversion from each stage to the next and to won, for deals that entered it in a window")
def funnel(request, as_of: Optional[Text] = None, window: int = Query(180, ge=1, le=3650),
           by: Optional[Literal["owner", "team"]] = None):
    """`by` none: the pipelines (admins only: a workspace total); others default to `owner`."""
    from bestby.goals.reports import funnel_report

    scope = scoping.scope_for(request.auth)
    by = by or (None if scope.everything else "owner")
    rows = funnel_report(as_of=_when(as_of), window_days=window, by=by)
    return scoping.funnel_rows(rows, scope, by)


@router.get("/reverse-funnel", response={200: list[ReverseFunnelRow], **Errors},
            summary="New deals and first meetings a week each goal still needs, against what is done now")
def reverse_funnel(request, period: Optional[Text] = None, as_of: Optional[Text] = None, by: Optional[Text] = None):
    """`by`: owner, team, all (the workspace), comma-separated (default: owner,team)."""
    from bestby.goals.reports import reverse_funnel_report

    scope = scoping.scope_for(request.auth)
    when = _when(as_of)
    chosen = period_param(period, when)
    levels = levels_param(by, ("owner", "team", "all"), default=("owner", "team"))
    rows = reverse_funnel_report(period=chosen, as_of=when, by=levels, policy=report_policy())
    return scoping.reverse_funnel_rows(rows, scope)


@router.get("/backtest", response={200: BacktestDoc, **Errors},
            summary="The forecast replayed on past periods against what was won "
                    "(admins; cached until the data changes)")
def backtest(request, first: Optional[Text] = Query(None, alias="from", description="the first period "
                                                                                       "(default: 4 quarters ago)"),
             to: Optional[Text] = Query(None, description="the last period (default: the last finished quarter)"),
             weeks_in: Optional[Text] = Query(None, description="snapshots, weeks after each period starts "
                                                                "(default 0,4,8)")):
    from bestby.goals.cache import cached_backtest
    from bestby.people import access

    if not access.is_admin(request.auth):
        raise FieldError(403, None, "the backtest's figures are workspace totals: admins only")
    now = clock.now()
    periods = backtest_periods(first, to, now=now)
    weeks = weeks_param(weeks_in)
    doc, _hit = cached_backtest(periods=periods, weeks_in=weeks, now=now)
    return doc
