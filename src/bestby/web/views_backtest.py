"""Backtest page (admins): the forecast replayed on past periods against what was won, beside three baselines.

The document is :func:`bestby.goals.reports.backtest_report` through
:func:`bestby.goals.cache.cached_backtest` (1,000 draws; cached until the data
changes), drawn with :func:`bestby.web.charts.backtest_chart`. Every figure
of a backtest is a workspace total (the whole team's forecast against the
whole team's won amount), so the page is for admins, as the workspace lines
of the other report pages are.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from bestby.goals.params import backtest_periods, weeks_param
from bestby.people import access
from bestby.web.charts import backtest_chart
from bestby.web.reporting import Params, render_report


def _defaults(params: Params):
    periods = backtest_periods(None, None, now=params.now)
    return periods[0], periods[-1]


@login_required
def backtest_page(request):
    """Accuracy of the forecast on the last periods: chart, scores against the baselines, calibration."""
    if not access.is_admin(request.user):
        raise PermissionDenied("The backtest's figures are workspace totals: admins only.")
    params = Params(request)
    periods = params.read(backtest_periods, params.raw("from"), params.raw("to"), now=params.now)
    weeks = params.read(weeks_param, params.raw("weeks_in"))
    first, last = _defaults(params)
    context = {"first": first, "last": last}
    if params.errors:
        return render_report(request, "web/backtest.html", context, params)

    from bestby.goals.cache import WEB_SIMS, cached_backtest
    from bestby.goals.reports import BASELINES

    doc, hit = cached_backtest(periods=periods, weeks_in=weeks, now=params.now)
    methods = [{"name": "bestby forecast", "key": "model", "mape": doc["summary"]["mape"],
                "inside": doc["summary"]["interval_coverage"], "brier": doc["summary"]["brier"]}]
    methods += [{"name": name, "key": key, "mape": doc["baselines"][key]["mape"], "inside": None,
                 "brier": doc["baselines"][key]["brier"]} for key, name in BASELINES.items()]
    context.update({"doc": doc, "cached": hit, "sims": WEB_SIMS, "methods": methods, "periods": periods,
                    "weeks": weeks, "chart": backtest_chart(doc["periods"]) if doc["periods"] else None,
                    "calibration": [b for b in doc["calibration"] if b["n"]], "computed": True})
    return render_report(request, "web/backtest.html", context, params)
