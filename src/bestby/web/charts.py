"""Charts as inline SVG, drawn on the server (no JavaScript chart library, no CDN; works offline).

Pure functions: numbers in, markup out. Every chart carries a ``<title>`` and
``aria-label`` so that it reads without sight, and its numbers stay in
``data-*`` attributes that tests (and curious users) can read.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from django.utils.safestring import SafeString, mark_safe

__all__ = ["backtest_chart", "bar_chart", "interval_chart", "line_chart"]

WIDTH, HEIGHT = 560, 240
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 44, 16, 14, 40


def _nice_step(span: float, ticks: int = 5) -> float:
    """A round step (1, 2, 2.5 or 5 x 10^k) that cuts ``span`` into about ``ticks`` parts."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * power >= raw:
            return m * power
    return 10 * power


def _fmt(v: float) -> str:
    return f"{v:.0f}" if abs(v - round(v)) < 1e-9 else f"{v:.1f}"


def line_chart(xs: Sequence[float], ys: Sequence[float], *, title: str, x_label: str, y_label: str,
               marker: tuple[float, float] | None = None, marker_label: str = "",
               y_percent: bool = True, css_class: str = "chart") -> SafeString:
    """A step-free polyline of ``ys`` against ``xs`` (y in 0..1 when ``y_percent``), with an optional marker."""
    if len(xs) != len(ys) or not xs:
        raise ValueError("xs and ys must be non-empty and of the same length")
    x_max = max(max(xs), marker[0] if marker else 0.0) or 1.0
    y_max = 1.0 if y_percent else (max(max(ys), marker[1] if marker else 0.0) or 1.0)
    iw, ih = WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_TOP - PAD_BOTTOM

    def px(x: float) -> float:
        return PAD_LEFT + iw * (x / x_max)

    def py(y: float) -> float:
        return PAD_TOP + ih * (1 - min(max(y / y_max, 0.0), 1.0))

    out = [f'<svg class="{escape(css_class)}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
           f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">', f"<title>{escape(title)}</title>"]
    step_y = 0.25 if y_percent else _nice_step(y_max, 4)
    y = 0.0
    while y <= y_max + 1e-9:
        label = f"{y * 100:.0f}%" if y_percent else _fmt(y)
        out.append(f'<line class="grid" x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{py(y):.1f}" y2="{py(y):.1f}"/>'
                   f'<text class="tick" x="{PAD_LEFT - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{label}</text>')
        y += step_y
    step_x = _nice_step(x_max)
    x = 0.0
    while x <= x_max + 1e-9:
        out.append(f'<text class="tick" x="{px(x):.1f}" y="{HEIGHT - PAD_BOTTOM + 14}" '
                   f'text-anchor="middle">{_fmt(x)}</text>')
        x += step_x
    out.append(f'<text class="axis" x="{PAD_LEFT + iw / 2:.1f}" y="{HEIGHT - 4}" '
               f'text-anchor="middle">{escape(x_label)}</text>')
    out.append(f'<text class="axis" x="12" y="{PAD_TOP + ih / 2:.1f}" text-anchor="middle" '
               f'transform="rotate(-90 12 {PAD_TOP + ih / 2:.1f})">{escape(y_label)}</text>')
    points = " ".join(f"{px(a):.1f},{py(b):.1f}" for a, b in zip(xs, ys))
    out.append(f'<polyline class="line" fill="none" points="{points}"/>')
    if marker is not None:
        mx, my = marker
        text = escape(marker_label or (f"{my * 100:.0f}%" if y_percent else _fmt(my)))
        anchor = "end" if px(mx) > PAD_LEFT + iw * 0.7 else "start"
        dx = -8 if anchor == "end" else 8
        out.append(f'<g class="marker" data-x="{mx:.2f}" data-y="{my:.4f}">'
                   f'<line x1="{px(mx):.1f}" x2="{px(mx):.1f}" y1="{PAD_TOP}" y2="{PAD_TOP + ih}"/>'
                   f'<circle cx="{px(mx):.1f}" cy="{py(my):.1f}" r="5"/>'
                   f'<text x="{px(mx) + dx:.1f}" y="{py(my) - 8:.1f}" text-anchor="{anchor}">{text}</text></g>')
    out.append("</svg>")
    return mark_safe("".join(out))


STANDALONE_STYLE = (
    "<style>text{font:11px sans-serif;fill:#333}.grid{stroke:#ddd}.band{fill:#9ecae1;opacity:.7}"
    ".forecast{fill:#08519c}.actual{fill:none;stroke:#d62728;stroke-width:2}.axis{font-weight:bold}</style>")


def interval_chart(labels: Sequence[str], lows: Sequence[float], mids: Sequence[float], highs: Sequence[float],
                   actuals: Sequence[float | None], *, title: str, y_label: str, standalone: bool = False,
                   legend: str = "band: P10 to P90 · dot: forecast · ring: actual",
                   links: Sequence[str | None] | None = None) -> SafeString:
    """Per category: a band from ``lows`` to ``highs`` (P10-P90), a dot at ``mids`` (the forecast) and a
    ring at ``actuals`` (what happened, or the goal: ``legend`` says; None draws no ring). ``links``: an
    address per category that its label opens. ``standalone`` adds the styles, for an .svg file on its own."""
    n = len(labels)
    if not n or not (len(lows) == len(mids) == len(highs) == len(actuals) == n):
        raise ValueError("labels, lows, mids, highs and actuals must be non-empty and of the same length")
    width = max(WIDTH, PAD_LEFT + PAD_RIGHT + 72 * n)
    rings = [a for a in actuals if a is not None]
    y_max = 1.05 * max(max(highs), max(rings, default=0.0), max(mids)) or 1.0  # headroom above the highest mark
    iw, ih = width - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_TOP - PAD_BOTTOM
    slot = iw / n

    def py(y: float) -> float:
        return PAD_TOP + ih * (1 - min(max(y / y_max, 0.0), 1.0))

    out = [f'<svg class="chart interval" viewBox="0 0 {width} {HEIGHT}" role="img" aria-label="{escape(title)}" '
           f'xmlns="http://www.w3.org/2000/svg">', f"<title>{escape(title)}</title>"]
    if standalone:
        out.append(STANDALONE_STYLE)
    step = _nice_step(y_max, 4)
    y = 0.0
    while y <= y_max + 1e-9:
        tick = f"{y / 1e6:.1f}M" if y_max >= 1e6 else f"{y / 1e3:.0f}k" if y_max >= 1e4 else _fmt(y)
        out.append(f'<line class="grid" x1="{PAD_LEFT}" x2="{width - PAD_RIGHT}" y1="{py(y):.1f}" y2="{py(y):.1f}"/>'
                   f'<text class="tick" x="{PAD_LEFT - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{tick}</text>')
        y += step
    for i, label in enumerate(labels):
        cx = PAD_LEFT + slot * (i + 0.5)
        top, bottom = py(highs[i]), py(lows[i])
        actual = actuals[i]
        ring = "" if actual is None else f'<circle class="actual" cx="{cx:.1f}" cy="{py(actual):.1f}" r="6"/>'
        text = (f'<text class="tick" x="{cx:.1f}" y="{HEIGHT - PAD_BOTTOM + 12}" text-anchor="middle">'
                + "".join(f'<tspan x="{cx:.1f}" dy="{0 if k == 0 else 11}">{escape(part)}</tspan>'
                          for k, part in enumerate(label.split(" ", 1))) + "</text>")
        if links is not None and links[i]:
            text = f'<a href="{escape(links[i])}">{text}</a>'
        out.append(f'<g class="slot" data-label="{escape(label)}" data-low="{lows[i]:.2f}" data-mid="{mids[i]:.2f}" '
                   f'data-high="{highs[i]:.2f}" data-actual="{"" if actual is None else f"{actual:.2f}"}">'
                   f'<rect class="band" x="{cx - slot * 0.3:.1f}" y="{top:.1f}" width="{slot * 0.6:.1f}" '
                   f'height="{max(bottom - top, 1.0):.1f}"/>'
                   f'<circle class="forecast" cx="{cx:.1f}" cy="{py(mids[i]):.1f}" r="4"/>{ring}{text}</g>')
    out.append(f'<text class="axis" x="12" y="{PAD_TOP + ih / 2:.1f}" text-anchor="middle" '
               f'transform="rotate(-90 12 {PAD_TOP + ih / 2:.1f})">{escape(y_label)}</text>')
    out.append(f'<text class="axis" x="{PAD_LEFT + iw / 2:.1f}" y="{HEIGHT - 4}" text-anchor="middle">'
               f"{escape(legend)}</text>")
    out.append("</svg>")
    return mark_safe("".join(out))


def backtest_chart(periods: Sequence[dict], *, standalone: bool = False) -> SafeString:
    """The backtest document's snapshots (``periods`` of :func:`bestby.goals.reports.shape_backtest`) drawn
    as forecast, P10-P90 and actual per snapshot: the one picture of the backtest, for the CLI's file and the page."""
    return interval_chart([f"{s['period']} +{s['weeks_in']}w" for s in periods], [s["p10"] for s in periods],
                          [s["forecast"] for s in periods], [s["p90"] for s in periods],
                          [s["actual"] for s in periods], title="Forecast, P10-P90 and actual per snapshot",
                          y_label="won amount", standalone=standalone)


def _money_tick(y: float, y_max: float) -> str:
    return f"{y / 1e6:.1f}M" if y_max >= 1e6 else f"{y / 1e3:.0f}k" if y_max >= 1e4 else _fmt(y)


def bar_chart(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], *, title: str,
              y_label: str, unit: str = "x", markers: Sequence[float | None] | None = None,
              marker_label: str = "") -> SafeString:
    """Grouped bars: per label, one bar per series (``(name, values)``; None draws no bar), and an optional
    marker per label (a horizontal tick across the group, e.g. the coverage needed). ``unit``: "x" (a
    multiple, ticks 1.5x), "%" (values 0..1, ticks 50%) or "" (amounts)."""
    n, k = len(labels), len(series)
    if not n or not k or any(len(values) != n for _, values in series) or (markers is not None and len(markers) != n):
        raise ValueError("labels, every series and markers must be non-empty and of the same length")
    width = max(WIDTH, PAD_LEFT + PAD_RIGHT + (18 * k + 24) * n)
    marks = [m for m in (markers or ()) if m is not None]
    values = [v for _, vs in series for v in vs if v is not None]
    y_max = (1.0 if unit == "%" else 1.05 * max([*values, *marks, 0.0])) or 1.0
    iw, ih = width - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_TOP - PAD_BOTTOM
    slot = iw / n
    bar = slot * 0.8 / k

    def py(y: float) -> float:
        return PAD_TOP + ih * (1 - min(max(y / y_max, 0.0), 1.0))

    def tick(y: float) -> str:
        return f"{y * 100:.0f}%" if unit == "%" else f"{_fmt(y)}x" if unit == "x" else _money_tick(y, y_max)

    out = [f'<svg class="chart bars" viewBox="0 0 {width} {HEIGHT}" role="img" aria-label="{escape(title)}" '
           f'xmlns="http://www.w3.org/2000/svg">', f"<title>{escape(title)}</title>"]
    step = 0.25 if unit == "%" else _nice_step(y_max, 4)
    y = 0.0
    while y <= y_max + 1e-9:
        out.append(f'<line class="grid" x1="{PAD_LEFT}" x2="{width - PAD_RIGHT}" y1="{py(y):.1f}" y2="{py(y):.1f}"/>'
                   f'<text class="tick" x="{PAD_LEFT - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{tick(y)}</text>')
        y += step
    for i, label in enumerate(labels):
        x0 = PAD_LEFT + slot * i + slot * 0.1
        out.append(f'<g class="group" data-label="{escape(label)}">')
        for j, (name, vs) in enumerate(series):
            v = vs[i]
            if v is None:
                continue
            top = py(v)
            out.append(f'<rect class="col s{j}" data-series="{escape(name)}" data-value="{v:.6g}" '
                       f'x="{x0 + bar * j:.1f}" y="{top:.1f}" width="{max(bar - 1, 1):.1f}" '
                       f'height="{max(PAD_TOP + ih - top, 0):.1f}"><title>{escape(name)}: {tick(v)}</title></rect>')
        if markers is not None and markers[i] is not None:
            m = markers[i]
            out.append(f'<line class="needed" data-value="{m:.6g}" x1="{x0 - 2:.1f}" x2="{x0 + slot * 0.8 + 2:.1f}" '
                       f'y1="{py(m):.1f}" y2="{py(m):.1f}"><title>{escape(marker_label)}: {tick(m)}</title></line>')
        cx = x0 + slot * 0.4
        out.append(f'<text class="tick" x="{cx:.1f}" y="{HEIGHT - PAD_BOTTOM + 12}" text-anchor="middle">'
                   + "".join(f'<tspan x="{cx:.1f}" dy="{0 if k == 0 else 11}">{escape(part[:18])}</tspan>'
                             for k, part in enumerate(label.split(" ", 1))) + "</text></g>")
    legend = " ".join(f'<tspan class="s{j}">\u25a0</tspan> {escape(name)}' for j, (name, _) in enumerate(series))
    if marker_label:
        legend += f' <tspan class="needed">\u2014</tspan> {escape(marker_label)}'
    out.append(f'<text class="axis legend" x="{PAD_LEFT + iw / 2:.1f}" y="{HEIGHT - 4}" text-anchor="middle">'
               f"{legend}</text>")
    out.append(f'<text class="axis" x="12" y="{PAD_TOP + ih / 2:.1f}" text-anchor="middle" '
               f'transform="rotate(-90 12 {PAD_TOP + ih / 2:.1f})">{escape(y_label)}</text>')
    out.append("</svg>")
    return mark_safe("".join(out))
