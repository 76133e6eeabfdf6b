"""Coverage page: raw, fresh and weighted coverage of the goal against the coverage each row needs.

Figures: :func:`bestby.goals.reports.coverage_report` (by seller, team and,
for admins, pipeline), cut by role with :mod:`bestby.goals.scope`; the chart
draws each row's three coverage multiples beside the one it needs (1 / its
win rate).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required

from bestby.goals import scope as scoping
from bestby.goals.cache import cached_report
from bestby.goals.params import as_of_param, period_param, report_policy
from bestby.web.charts import bar_chart
from bestby.web.reporting import Params, label_rows, owner_names, render_report, workspace_row


@login_required
def coverage_page(request):
    """Coverage of a fiscal period's goal at a moment, per seller, team and pipeline."""
    params = Params(request)
    as_of = params.read(as_of_param, params.raw("as_of"), now=params.now, fallback=params.now)
    period = params.read(period_param, params.raw("period"), as_of)
    policy = params.read(report_policy)
    context = {"period": period, "as_of": as_of}
    if params.errors:
        return render_report(request, "web/coverage.html", context, params)

    from bestby.goals.reports import coverage_report

    scope = scoping.scope_for(request.user)
    levels = ("owner", "team", "pipeline") if scope.everything else ("owner", "team")
    doc, _cached = cached_report(coverage_report, period=period, as_of=as_of, by=levels, policy=policy)
    doc = scoping.coverage_doc(doc, scope)
    rows = ([workspace_row(doc)] if scope.everything else []) + doc["groups"]
    rows = label_rows(rows, owner_names(r["key"] for r in rows if r["level"] == "owner"))
    charted = [r for r in rows if any(r[k] is not None for k in ("raw_coverage", "fresh_coverage",
                                                                "weighted_coverage", "needed"))]
    chart = None
    if charted:
        chart = bar_chart([r["label"] for r in charted],
                          [(name, [r[f"{name}_coverage"] for r in charted]) for name in ("raw", "fresh", "weighted")],
                          title=f"Coverage of the goal still to go in {period.label}, against the coverage needed",
                          y_label="times the goal to go", unit="x", markers=[r["needed"] for r in charted],
                          marker_label="needed (1 / win rate)")
    context.update({"doc": doc, "rows": rows, "chart": chart, "everything": scope.everything})
    return render_report(request, "web/coverage.html", context, params)
