"""Funnel page: conversion from each stage to the next and to won, and the reverse funnel of the period's goal.

Figures: :func:`bestby.goals.reports.funnel_report` (deals that entered each
stage in the ``window`` days before ``as_of``; ``by`` none, owner or team; ``who``
picks one seller or team) and :func:`bestby.goals.reports.reverse_funnel_report`
(new deals and first meetings a week the rest of each goal needs, against
what is done now), both cut by role with :mod:`bestby.goals.scope`. The
pipeline-wide funnel (``by`` none) is a workspace total: admins only; other
users see their own rows (``by`` defaults to owner for them).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required

from bestby.goals import scope as scoping
from bestby.goals.cache import cached_report
from bestby.goals.params import ParamError, as_of_param, period_param, report_policy, window_param
from bestby.web.charts import bar_chart
from bestby.web.reporting import Params, label_rows, owner_names, render_report

MAX_CHARTS = 30


def _by(text: str, everything: bool) -> str | None:
    allowed = ("", "owner", "team") if everything else ("owner", "team")
    if text and text not in allowed:
        raise ParamError("by", f"{text!r} is not one of {', '.join(a or '(the pipeline)' for a in allowed)}")
    return (text or (None if everything else "owner")) or None


def _segments(rows: list[dict], by: str | None, who: str) -> list[dict]:
    """The funnel rows grouped per pipeline and segment, each with its stages and a chart."""
    names = owner_names({r["segment"] for r in rows}) if by == "owner" else {}
    groups: dict[tuple, dict] = {}
    for r in rows:
        if who and r["segment"] != who:
            continue
        key = (r["pipeline"], r["segment"])
        if key not in groups:
            who_label = "" if by is None else names.get(r["segment"], r["segment"]) if by == "owner" else \
                f"Team {r['segment']}"
            groups[key] = {"pipeline": r["pipeline"], "segment": r["segment"] or "", "who": who_label, "stages": []}
        groups[key]["stages"].append(r)
    out = list(groups.values())[:MAX_CHARTS]
    for g in out:
        stages = g["stages"]
        g["chart"] = bar_chart([s["stage"] for s in stages], [("to next stage", [s["to_next"] for s in stages]),
                                                             ("to won", [s["to_won"] for s in stages])],
                               title=f"Conversion per stage, {g['pipeline']} {g['who']}".strip(),
                               y_label="share", unit="%")
    return out


@login_required
def funnel_page(request):
    """Conversion per stage in a window, per seller or team; the reverse funnel of a period's goals."""
    params = Params(request)
    scope = scoping.scope_for(request.user)
    as_of = params.read(as_of_param, params.raw("as_of"), now=params.now, fallback=params.now)
    window = params.read(window_param, params.raw("window"), fallback=180)
    by = params.read(_by, params.raw("by"), scope.everything)
    period = params.read(period_param, params.raw("period"), as_of)
    who = params.raw("who")
    policy = params.read(report_policy)
    by_choices = ([("", "the pipeline")] if scope.everything else []) + [("owner", "seller"), ("team", "team")]
    context = {"period": period, "as_of": as_of, "window": window, "by": by or "", "who": who,
               "by_choices": by_choices}
    if params.errors:
        return render_report(request, "web/funnel.html", context, params)

    from bestby.goals.reports import funnel_report, reverse_funnel_report

    rows = scoping.funnel_rows(cached_report(funnel_report, as_of=as_of, window_days=window, by=by)[0], scope, by)
    seen = sorted({r["segment"] for r in rows if r["segment"]})
    if who and who not in seen:
        params.errors.append(f"who: {who!r} is not a {'seller' if by == 'owner' else 'team'} with rows here")
        params.fields.add("who")
        return render_report(request, "web/funnel.html", context, params)
    names = owner_names(seen) if by == "owner" else {}
    levels = ("owner", "team", "all") if scope.everything else ("owner", "team")
    reverse = scoping.reverse_funnel_rows(
        cached_report(reverse_funnel_report, period=period, as_of=as_of, by=levels, policy=policy)[0], scope)
    reverse = label_rows(reverse, owner_names(r["key"] for r in reverse if r["level"] == "owner"))
    context.update({"segments": _segments(rows, by, who), "who_choices": [(s, names.get(s, s)) for s in seen],
                    "reverse": reverse, "weeks_left": reverse[0]["days_left"] / 7 if reverse else None,
                    "everything": scope.everything, "computed": True})
    return render_report(request, "web/funnel.html", context, params)
