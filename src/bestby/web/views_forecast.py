"""Forecast page: a period's won amount against the goal, per seller and team, with a drill-down to the deals.

Figures: :func:`bestby.goals.reports.forecast_report` (the engine's forecast
over the store, goals from the quota rows), cut by role with
:mod:`bestby.goals.scope`. ``?group=LEVEL:KEY`` lists that row's open deals
with amount, chance and contribution (the links in the table and the chart
carry the page's ``as_of``, so the drill-down shows the same figures).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.urls import reverse

from bestby.goals import scope as scoping
from bestby.goals.cache import cached_report
from bestby.goals.params import ParamError, as_of_param, period_param, report_policy
from bestby.people import access
from bestby.web.charts import interval_chart
from bestby.web.reporting import Params, label_rows, owner_names, render_report, workspace_row

LEVELS = ("owner", "team")
MAX_DEALS = 200  # a drill-down lists the largest contributions; the rest is counted


def _group(text: str) -> tuple[str, str] | None:
    """``?group=owner:U1`` (also ``team:North 1``, ``all:all``) as (level, key); None when blank."""
    if not text:
        return None
    level, sep, key = text.partition(":")
    if not sep or not key or level not in (*LEVELS, "all"):
        raise ParamError("group", f"{text!r} is not owner:ID, team:NAME or all:all")
    return level, key


def _in_group(deal: dict, level: str, key: str) -> bool:
    if level == "owner":
        return deal["owner_id"] == key
    if level == "team":
        return deal["team"] == key
    return True


def _drill(doc: dict, user, level: str, key: str) -> dict:
    """The group's deals (already cut to what the user sees), largest contribution first, with their names."""
    deals = [d for d in doc["deals"] if _in_group(d, level, key)]
    shown = deals[:MAX_DEALS]
    names = dict(access.deals_for(user).filter(external_id__in=[d["deal_id"] for d in shown])
                 .values_list("external_id", "name"))
    people = owner_names({d["owner_id"] for d in shown if d["owner_id"]})
    rows = [{**d, "name": names.get(d["deal_id"], ""), "url": reverse("deal", args=[d["deal_id"]]),
             "owner": people.get(d["owner_id"], d["owner_id"])} for d in shown if d["deal_id"] in names]
    return {"level": level, "key": key, "deals": rows, "more": len(deals) - len(shown),
            "contribution": sum(d["contribution"] or 0.0 for d in deals)}


@login_required
def forecast_page(request):
    """The forecast of a fiscal period at a moment, per seller and team, against each goal."""
    params = Params(request)
    as_of = params.read(as_of_param, params.raw("as_of"), now=params.now, fallback=params.now)
    period = params.read(period_param, params.raw("period"), as_of)
    group = params.read(_group, params.raw("group"))
    scope = scoping.scope_for(request.user)
    if group is not None and not scope.sees(*group):
        params.errors.append(f"group: {':'.join(group)!r} is not a row you may see")
        params.fields.add("group")
    policy = params.read(report_policy)
    context = {"period": period, "as_of": as_of}
    if params.errors:
        return render_report(request, "web/forecast.html", context, params)

    from bestby.goals.reports import forecast_report

    doc, _cached = cached_report(forecast_report, period=period, as_of=as_of, by=LEVELS, policy=policy)
    doc = scoping.forecast_doc(doc, scope)
    rows = ([workspace_row(doc)] if scope.everything else []) + doc["groups"]
    rows = label_rows(rows, owner_names(r["key"] for r in rows if r["level"] == "owner"))
    base = {"period": period.label, "as_of": as_of.isoformat()}
    for r in rows:
        r["group"] = f"{r['level']}:{r['key']}"
        r["url"] = "?" + urlencode({**base, "group": r["group"]}) + "#deals"
        r["selected"] = group == (r["level"], r["key"])
    chart = None
    if rows:
        chart = interval_chart([r["label"] for r in rows], [r["p10"] for r in rows], [r["expected"] for r in rows],
                               [r["p90"] for r in rows], [r["goal"] for r in rows],
                               title=f"Expected won amount in {period.label} with P10-P90, against the goal",
                               y_label="won amount", legend="band: P10 to P90 · dot: expected · ring: goal",
                               links=[r["url"] for r in rows])
    context.update({"doc": doc, "rows": rows, "chart": chart, "everything": scope.everything,
                    "drill": _drill(doc, request.user, *group) if group else None,
                    "drill_label": next((r["label"] for r in rows if r["selected"]), "")})
    return render_report(request, "web/forecast.html", context, params)
