"""`bestby backtest`: replay the forecast on the store's past and score it against what was won (a thin adapter).

Everything is :func:`bestby.engine.backtest.backtest` on the store (``store_reader``) cut
at each snapshot; this module reads the options, shows progress, prints the
tables and writes the chart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich import box
from rich.table import Table

from bestby import clock
from bestby.bounds import SEED
from bestby.cli import DbOption, _progress, app, bounded, console, setup
from bestby.cli_analytics import JsonOption, PolicyOption, resolve_policy
from bestby.cli_coverage import SIMS, _money


def _weeks(value: str) -> tuple[int, ...]:
    """``--weeks-in``: :func:`bestby.goals.params.weeks_param` (whole weeks from 0 to 52)."""
    from bestby.goals.params import ParamError, weeks_param

    try:
        return weeks_param(value if value.strip() else ",")
    except ParamError as exc:
        raise typer.BadParameter(exc.message, param_hint="'--weeks-in'") from None


def _periods(first: str, last: str):
    """``--from`` to ``--to``, each inside bounds.DATES (no cap on their number: an operator may wait)."""
    from bestby.engine.periods import PeriodError, periods_between
    from bestby.goals.params import ParamError, one_period

    try:
        a = one_period(first, field="--from")
        b = one_period(last, field="--to")
    except ParamError as exc:
        raise typer.BadParameter(exc.message, param_hint=f"'{exc.field}'") from None
    try:
        return periods_between(a, b)
    except PeriodError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--to'") from None


def _pct(v) -> str:
    return "-" if v is None else f"{v:.1f}%"


@app.command("backtest")
def backtest_cmd(
    first: Annotated[str, typer.Option("--from", help="The first period (FY2025-Q1, 2025-Q1, 2025-07...).")],
    last: Annotated[str, typer.Option("--to", help="The last period, of the same kind.")],
    weeks_in: Annotated[str, typer.Option("--weeks-in", help="Snapshots: weeks after each period starts.")]
        = "0,4,8",
    sims: Annotated[int, typer.Option("--sims", callback=bounded(SIMS),
                                      help="Simulated draws per forecast, 100 to 1,000,000.")] = 2_000,
    seed: Annotated[int, typer.Option("--seed", callback=bounded(SEED),
                                      help="The draws' seed, 0 to 4,294,967,295.")] = 2026,
    chart: Annotated[Optional[Path], typer.Option("--chart", help="Write an SVG chart of forecast, P10-P90 and "
                                                                  "actual per snapshot.", show_default=False)] = None,
    policy: PolicyOption = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Replay the forecast at each snapshot of each past period and compare it with what was won (read-only).

    Per snapshot: forecast, P10-P90, actual, and the baselines (stage probabilities, expected-in-period x win
    rate, raw expected-in-period). Overall: mean absolute percentage error, share of actuals inside P10-P90,
    Brier score of per-deal chances, and a calibration table. JSON: {periods: [{period, weeks_in, as_of, forecast,
    p10, p50, p90, actual, error, baselines: {stage, win_rate, raw}}], summary: {mape, interval_coverage, brier},
    baselines: {stage|win_rate|raw: {mape, brier}}, calibration, skipped}.
    """

    weeks = _weeks(weeks_in)
    periods = _periods(first, last)
    if chart is not None and chart.suffix.lower() != ".svg":
        raise typer.BadParameter(f"{str(chart)!r} does not end in .svg", param_hint="'--chart'")
    resolve_policy(policy, stored=False)  # a bad policy file is refused before the store is touched
    setup(db)
    chosen_policy = resolve_policy(policy)
    from bestby.goals.reports import BASELINES, backtest_report

    with _progress() as progress:
        task = progress.add_task("snapshots", total=len(periods) * len(weeks))

        def step(period, week):
            progress.update(task, description=f"{period.label} +{week} weeks")
            progress.advance(task)

        doc = backtest_report(periods=periods, weeks_in=weeks, now=clock.now(), policy=chosen_policy,
                              sims=sims, seed=seed, on_snapshot=step)
    snaps = doc["periods"]
    if chart is not None and snaps:
        from bestby.web.charts import backtest_chart

        chart.write_text(backtest_chart(snaps, standalone=True))
    if as_json:
        typer.echo(json.dumps(doc))
        return
    table = Table(title="Backtest: forecast at each snapshot against what was won", box=box.SIMPLE_HEAD,
                  show_edge=False, pad_edge=False)
    for col in ("snapshot", "forecast", "P10", "P90", "actual", "error", "raw"):
        table.add_column(col, justify="left" if col == "snapshot" else "right", no_wrap=True)
    for s in snaps:
        mark = "*" if s["unmodelled_n"] else ""
        table.add_row(f"{s['period']} +{s['weeks_in']}w", _money(s["forecast"]) + mark, _money(s["p10"]),
                      _money(s["p90"]), _money(s["actual"]), "-" if s["error"] is None else f"{100 * s['error']:+.0f}%",
                      _money(s["baselines"]["raw"]))
    console.print(table)
    if any(s["unmodelled_n"] for s in snaps):
        console.print("* some open deals had no win model then (under 20 closed deals in their pipeline): they add "
                      "nothing to the forecast.", highlight=False)
    summary = Table(title="Scores (lower MAPE and Brier are better)", box=box.SIMPLE_HEAD, show_edge=False,
                    pad_edge=False)
    for col in ("method", "MAPE", "inside P10-P90", "Brier"):
        summary.add_column(col, justify="left" if col == "method" else "right")
    s = doc["summary"]
    summary.add_row("bestby forecast", _pct(s["mape"]),
                    "-" if s["interval_coverage"] is None else _pct(100 * s["interval_coverage"]),
                    "-" if s["brier"] is None else f"{s['brier']:.3f}")
    for m, name in BASELINES.items():
        s = doc["baselines"][m]
        summary.add_row(name, _pct(s["mape"]), "-", "-" if s["brier"] is None else f"{s['brier']:.3f}")
    console.print(summary)
    calib = Table(title="Calibration of the per-deal chances", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for col in ("chance", "deals", "mean chance", "won"):
        calib.add_column(col, justify="right")
    for b in doc["calibration"]:
        if b["n"]:
            calib.add_row(f"{b['low']:.0%}-{b['high']:.0%}", f"{b['n']:,}", f"{b['mean_p']:.1%}", f"{b['won']:.1%}")
    console.print(calib)
    for s in doc["skipped"]:
        console.print(f"skipped {s['period']}{' +%sw' % s['weeks_in'] if 'weeks_in' in s else ''}: {s['why']}",
                      highlight=False)
    if chart is not None:
        console.print(f"Chart written to {chart}" if snaps else "No snapshot: no chart written.", highlight=False)
