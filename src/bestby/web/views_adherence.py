"""Adherence page: cadence steps on time, overdue and skipped per seller and team; where buyers engage.

Figures: :func:`bestby.cadences.adherence_store.adherence_report`, already cut
by role (admins: everyone and the workspace; managers: their sellers and
team; reps: themselves and their team's total). Three charts: the step shares
per seller and team, and for one row (``who``, default: the workspace for
admins, else the user's team, else the user) the touches each stopped lead
got and the reply and meeting rates by touch number.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required

from bestby.cadences.adherence_params import ParamError, adherence_as_of, adherence_period
from bestby.web.charts import bar_chart
from bestby.web.reporting import Params, label_rows, owner_names, render_report

MAX_TOUCH_BARS = 12  # touch numbers charted one by one; a run with more attempts goes into the last bar ("12+")


def _rate_chart(row: dict):
    ks = row["by_touch"][:MAX_TOUCH_BARS]
    if not ks:
        return None
    return bar_chart([str(t["touch"]) for t in ks], [("reply rate", [t["reply_rate"] for t in ks]),
                                                     ("meeting rate", [t["meeting_rate"] for t in ks])],
                     title=f"Reply and meeting rate by touch number, {row['label']}", y_label="of leads reaching it",
                     unit="%")


def _stop_chart(row: dict):
    counts: dict[int, int] = {}
    for b in row["touches_before_stop"]:
        n = min(b["touches"], MAX_TOUCH_BARS)
        counts[n] = counts.get(n, 0) + b["leads"]
    if not counts:
        return None
    ns = range(1, max(counts) + 1)
    labels = [f"{n}+" if n == MAX_TOUCH_BARS else str(n) for n in ns]
    return bar_chart(labels, [("leads stopped after n touches", [float(counts.get(n, 0)) for n in ns])],
                     title=f"Touches before the seller stopped, {row['label']}", y_label="leads", unit="")


def _steps_chart(rows: list[dict]):
    shown = [r for r in rows if r["level"] != "all" and r["due"]]
    if not shown:
        return None
    return bar_chart([r["label"] for r in shown],
                     [(name, [r[f"{key}_share"] for r in shown]) for key, name in
                      (("on_time", "on time"), ("late", "late"), ("overdue", "overdue"), ("skipped", "skipped"))],
                     title="Steps due: on time, late, overdue and skipped", y_label="of the steps due", unit="%")


def _focus(rows: list[dict], who: str, user) -> dict | None:
    if who:
        for r in rows:
            if f"{r['level']}:{r['key']}" == who:
                return r
        raise ParamError("who", f"{who!r} is not a row you can see here")
    for wanted in (("all", "all"), ("team", user.team), ("owner", user.external_id)):
        for r in rows:
            if (r["level"], r["key"]) == wanted:
                return r
    return rows[0] if rows else None


@login_required
def adherence_page(request):
    """Cadence adherence over a period at an as-of date, per seller and team, with its charts."""
    params = Params(request)
    as_of = params.read(adherence_as_of, params.raw("as_of"), now=params.now, fallback=params.now)
    period = params.read(adherence_period, params.raw("period"), as_of)
    context = {"period": period, "as_of": as_of}
    if params.errors:
        return render_report(request, "web/adherence.html", context, params)

    from bestby.cadences.adherence_store import adherence_report

    doc = adherence_report(period=period, as_of=as_of, user=request.user)
    rows = label_rows(doc["rows"], owner_names(r["key"] for r in doc["rows"] if r["level"] == "owner"))
    who = params.raw("who")
    focus = params.read(_focus, rows, who, request.user)
    if params.errors:
        return render_report(request, "web/adherence.html", context, params)
    context.update({
        "doc": doc, "rows": rows, "focus": focus, "who": f"{focus['level']}:{focus['key']}" if focus else "",
        "who_choices": [(f"{r['level']}:{r['key']}", r["label"]) for r in rows],
        "as_of_text": as_of.isoformat() if not hasattr(as_of, "hour") else f"{as_of:%Y-%m-%d %H:%M} UTC",
        "steps_chart": _steps_chart(rows),
        "stop_chart": _stop_chart(focus) if focus else None,
        "rate_chart": _rate_chart(focus) if focus else None,
    })
    return render_report(request, "web/adherence.html", context, params)
