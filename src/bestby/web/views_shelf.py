"""Shelf life page: each open stage's best-by (and the whole cycle's) drawn against its distribution.

Computed per request with the engine over the store (a few seconds on a large
store: fine for a chart page, not for the board). The figures are the
engine's own (:func:`bestby.engine.shelf_life.shelf_life`); the distribution
behind each is the same visits (:func:`bestby.engine.shelf_life.forward_visits_expr`)
or won cycles. The quantile, lookback and business-day clock default to the
stored clearance policy's (Settings), so the page shows what the freshness
cache uses; ``?q=`` and ``?by=`` override the quantile and the segment.

Visible to every signed-in user: shelf lives are the team's learned figures
(aggregates over the whole history, the same ones every deal card's best-by
comes from), never a deal. Figures by ``owner`` or ``team`` name people, so
they are cut by :func:`bestby.people.access.segment_rows_for` (a rep sees
their own and their team's, a manager their team's sellers), as in the API.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import ibis
import numpy as np
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.html import escape
from django.utils.safestring import mark_safe

from bestby import clock
from bestby.engine.clock import days_expr
from bestby.engine.policy import ClearancePolicy
from bestby.engine.shelf_life import SEGMENTS, forward_visits_expr, segment_expr, shelf_life
from bestby.people import access

BINS = 30
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 640, 70, 8, 8, 14, 18


# ------------------------------------------------------------------ query

def _default_policy() -> ClearancePolicy:
    from bestby.clearance.settings import stored_policy

    policy = stored_policy()
    if policy is None:
        return ClearancePolicy()
    return policy if isinstance(policy, ClearancePolicy) else policy.default


def shelf_figures(*, as_of: datetime, q: float, by: str | None, since: datetime | None,
                  business_days: bool) -> list[dict]:
    """The engine's shelf-life rows, each with ``values``: the durations (days) its figure is the quantile of."""
    from bestby.pipeline.analytics import store_reader

    with store_reader() as store:
        tables = store.tables(as_of)
        rows = shelf_life(tables, q=q, by=by, since=since, business_days=business_days)
        visits = forward_visits_expr(tables, by=by, since=since, business_days=business_days).execute()
        d = segment_expr(tables, by)
        won = d.filter((d.status == "won") & d.created_at.notnull() & d.closed_at.notnull())
        if since is not None:
            won = won.filter(won.closed_at >= ibis.literal(since.astimezone(UTC), type="timestamp('UTC')"))
        cycles = won.select("pipeline", "segment",
                            days=days_expr(won.created_at, won.closed_at, business=business_days)).execute()
    for row in rows:
        frame = visits if row["stage"] is not None else cycles
        pick = frame["pipeline"] == row["pipeline"]
        if row["stage"] is not None:
            pick &= frame["stage"] == row["stage"]
        if row["segment"] is not None:
            pick &= frame["segment"] == row["segment"]
        row["values"] = frame.loc[pick, "days"].astype(float).to_numpy()
    return rows


# ------------------------------------------------------------------ chart (pure)

def _x(value: float, top: float) -> float:
    return LEFT + (WIDTH - LEFT - RIGHT) * min(value, top) / top


def _tick_step(top: float) -> float:
    raw = top / 5
    power = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def histogram_svg(values: np.ndarray, best_by: float | None, *, label: str, fallback: bool = False) -> str:
    """An inline SVG: a histogram of ``values`` (days) with a vertical line at ``best_by``."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    top = max([float(np.quantile(values, 0.98)) if values.size else 0.0, (best_by or 0.0) * 1.25, 1.0])
    counts, _ = np.histogram(np.minimum(values, top), bins=BINS, range=(0.0, top))
    peak = max(int(counts.max()) if counts.size else 0, 1)
    inner_h = HEIGHT - TOP - BOTTOM
    bar_w = (WIDTH - LEFT - RIGHT) / BINS
    parts = [f'<svg class="shelf-chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
             f'role="img" aria-label="{escape(label)}">']
    for i, c in enumerate(counts):
        if not c:
            continue
        h = inner_h * c / peak
        parts.append(f'<rect class="bin" x="{LEFT + i * bar_w:.1f}" y="{TOP + inner_h - h:.1f}" '
                     f'width="{max(bar_w - 1, 1):.1f}" height="{h:.1f}"><title>{c} visits</title></rect>')
    step = _tick_step(top)
    tick = 0.0
    while tick <= top + 1e-9:
        x = _x(tick, top)
        parts.append(f'<line class="tick" x1="{x:.1f}" x2="{x:.1f}" y1="{HEIGHT - BOTTOM}" y2="{HEIGHT - BOTTOM + 3}"/>'
                     f'<text class="axis" x="{x:.1f}" y="{HEIGHT - 4}" text-anchor="middle">{tick:g}</text>')
        tick += step
    parts.append(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{HEIGHT - BOTTOM}" y2="{HEIGHT - BOTTOM}"/>')
    if best_by is not None:
        x = _x(best_by, top)
        cls = "best-by fallback" if fallback else "best-by"
        parts.append(f'<line class="{cls}" data-best-by="{best_by:.4f}" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP - 4}" '
                     f'y2="{HEIGHT - BOTTOM}"><title>best-by {best_by:.1f} days</title></line>'
                     f'<text class="best-by-label" x="{min(x + 3, WIDTH - 60):.1f}" y="{TOP - 4}">'
                     f'best-by {best_by:.1f} d</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))


# ------------------------------------------------------------------ page

def _parse(request, policy: ClearancePolicy) -> tuple[float, str | None, list[str]]:
    errors = []
    q, by = policy.quantile, policy.segment
    raw_q = request.GET.get("q", "").strip()
    if raw_q:
        try:
            q = float(raw_q)
            if not 0.0 < q <= 1.0:
                raise ValueError
        except ValueError:
            errors.append(f"q: must be a number in (0, 1], got {raw_q!r}")
            q = policy.quantile
    if "by" in request.GET:
        raw_by = request.GET["by"].strip()
        if raw_by and raw_by not in SEGMENTS:
            errors.append(f"by: must be one of {', '.join(SEGMENTS)}, got {raw_by!r}")
        else:
            by = raw_by or None
    return q, by, errors


@login_required
def shelf_life_page(request):
    """Shelf life per pipeline: whole cycle and each open stage, the best-by against its distribution."""
    try:
        policy = _default_policy()
    except ValueError as exc:  # a stored policy saved before its bounds were checked
        policy, stored_error = ClearancePolicy(), [f"policy: {exc}; fix it on the Settings page"]
    else:
        stored_error = []
    q, by, errors = _parse(request, policy)
    errors = stored_error + errors
    as_of = clock.now()
    since = None if policy.lookback_days is None else as_of - timedelta(days=policy.lookback_days)
    # a bad parameter is answered with the form and its error (400), and nothing is computed
    rows = [] if errors else access.segment_rows_for(request.user, by, shelf_figures(
        as_of=as_of, q=q, by=by, since=since, business_days=policy.business_days))
    pipelines: dict[str, list[dict]] = {}
    for row in rows:
        label = row["stage"] or "Whole cycle (won deals)"
        if row["segment"] is not None:
            label = f"{label} · {row['segment']}"
        row["chart"] = histogram_svg(row["values"], row["days"], label=f"{label}: best-by",
                                     fallback=bool(row.get("fallback")))
        row["count"] = len(row["values"])
        pipelines.setdefault(row["pipeline"], []).append(row)
    return render(request, "web/shelf.html", {
        "pipelines": pipelines, "q": q, "by": by or "", "segments": SEGMENTS, "errors": errors,
        "as_of": as_of, "policy": policy,
    }, status=400 if errors else 200)
