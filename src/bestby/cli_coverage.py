"""`bestby coverage` and `bestby forecast`: a period's goal against the pipeline (thin adapters over the engine).

Goals come from the store's quota rows (:mod:`bestby.engine.goals`), the
period from the fiscal calendar (``BESTBY_FISCAL_YEAR_START``), the clearance
policy as for ``bestby clearance``; everything else is
:func:`bestby.engine.coverage.coverage` and :func:`bestby.engine.forecast.forecast`.
"""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer
from rich import box
from rich.table import Table

from bestby.bounds import SEED, SPAN_DAYS, IntBound
from bestby.cli import DbOption, app, bounded, console, setup
from bestby.cli_analytics import AsOfOption, JsonOption, PolicyOption, _parse_as_of, resolve_policy
from bestby.goals.reports import LEVEL_NAMES

def _levels(value: Optional[str], allowed=LEVEL_NAMES) -> tuple[str, ...]:
    """``--by``: levels, comma-separated; None: the whole workspace only."""
    if value is None:
        return ()
    levels = tuple(v.strip() for v in value.split(",") if v.strip())
    bad = [v for v in levels if v not in allowed]
    if bad or not levels:
        raise typer.BadParameter(f"{(bad or [value])[0]!r} is not one of {', '.join(allowed)} "
                                 "(several: comma-separated)", param_hint="'--by'")
    return levels


def _times(value) -> str:
    return "-" if value is None else f"{value:.1f}x"


def _money(value) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _who(row: dict) -> str:
    return "workspace" if row.get("level", "all") == "all" else f"{row['level']} {row['key']}"


def coverage_table(rows: list[dict], title: str) -> Table:
    """Ratios side by side (the amounts behind them are in --json): what a manager compares."""
    table = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("who", no_wrap=True, overflow="fold")
    for col in ("goal", "to go", "raw", "fresh", "weighted", "needed", "win %"):
        table.add_column(col, justify="right", no_wrap=True)
    for r in rows:
        table.add_row(_who(r), _money(r["goal"]), _money(r["to_go"]), _times(r["raw_coverage"]),
                      _times(r["fresh_coverage"]), _times(r["weighted_coverage"]), _times(r["needed"]),
                      "-" if r["win_rate"] is None else f"{r['win_rate']:.0%}")
    return table


def _period(text: Optional[str], when):
    """``--period`` on the fiscal calendar, inside bounds.DATES; default: the fiscal quarter holding ``when``."""
    from bestby.goals.params import ParamError, period_param

    try:
        return period_param(text, when)
    except ParamError as exc:
        raise typer.BadParameter(exc.message, param_hint="'--period'") from None


LISTED_DEALS = IntBound(0, 100_000)  # as the API's forecast ?deals=
SIMS = IntBound(100, 1_000_000)  # fewer draws make P10/P90 noise; more take minutes and gigabytes

PeriodOption = Annotated[Optional[str], typer.Option(
    "--period", help="FY2026-Q1, FY2026-M03, FY2026, 2026-Q1 or 2025-07. Default: the fiscal quarter of --as-of.",
    show_default=False)]
ByOption = Annotated[Optional[str], typer.Option(
    "--by", help="Groups, comma-separated: owner, team, pipeline. Default: the whole workspace only.",
    show_default=False)]


@app.command("coverage")
def coverage_cmd(
    period: PeriodOption = None,
    as_of: AsOfOption = None,
    by: ByOption = None,
    lookback: Annotated[int, typer.Option("--lookback", callback=bounded(SPAN_DAYS),
                                          help="Days of closed deals for the win rate, 1 to 3,650.")] = 365,
    policy: PolicyOption = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Coverage of the goal: raw, fresh (without the clearance list) and weighted, with the win rate (read-only).

    JSON: {period, start, end, as_of, goal, won, to_go, raw, fresh, weighted, needed, win_rate, raw_coverage,
    fresh_coverage, weighted_coverage, open_n, raw_n, fresh_n, unweighted_n, closed_n, groups: [the same per
    {level, key} of --by]} for the whole workspace; amounts in the workspace currency, null where there is no
    goal, model or rate.
    """
    when = _parse_as_of(as_of)
    levels = _levels(by)
    chosen = _period(period, when)
    resolve_policy(policy, stored=False)  # a bad policy file is refused before the store is touched
    setup(db)
    chosen_policy = resolve_policy(policy)
    from bestby.goals.reports import coverage_report

    with console.status(f"Computing coverage of {chosen.label} at {when:%Y-%m-%d %H:%M} UTC…"):
        doc = coverage_report(period=chosen, as_of=when, by=levels, policy=chosen_policy, lookback_days=lookback)
    if as_json:
        typer.echo(json.dumps(doc))
        return
    console.print(coverage_table([doc, *doc["groups"]], f"Coverage of {chosen.label} ({chosen.start:%Y-%m-%d} to "
                                                        f"{chosen.last_day:%Y-%m-%d}) at {when:%Y-%m-%d %H:%M} UTC"))
    console.print("raw: open deals expected to close in the period; fresh: without the clearance list; "
                  "weighted: each open deal x its chance to win before the period ends; "
                  "needed: 1 / win rate over the last "
                  f"{lookback} days (shown from 20 closed deals).", highlight=False)


def forecast_table(rows: list[dict], title: str) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("who", no_wrap=True, overflow="fold")
    for col in ("won so far", "expected", "P10", "P50", "P90"):
        table.add_column(col, justify="right", no_wrap=True)
    for r in rows:  # the parts of "expected" (open deals, deals not created yet) are in --json
        table.add_row(_who(r), _money(r["won"]), _money(r["expected"]), _money(r["p10"]),
                      _money(r["p50"]), _money(r["p90"]))
    return table


@app.command("forecast")
def forecast_cmd(
    period: PeriodOption = None,
    as_of: AsOfOption = None,
    by: ByOption = None,
    deals: Annotated[int, typer.Option("--deals", callback=bounded(LISTED_DEALS),
                                       help="Deals listed by contribution, 0 (none) to 100,000.")] = 10,
    lookback: Annotated[int, typer.Option("--lookback", callback=bounded(SPAN_DAYS),
                                          help="Days of history for the rate of deals not created yet, "
                                               "1 to 3,650.")] = 365,
    sims: Annotated[int, typer.Option("--sims", callback=bounded(SIMS),
                                      help="Simulated draws, 100 to 1,000,000.")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", callback=bounded(SEED),
                                      help="The draws' seed, 0 to 4,294,967,295 (same seed, same figures).")] = 2026,
    policy: PolicyOption = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """The amount the workspace (and each --by group) will have won in the period: expected, P10, P50, P90,
    and each deal's share (read-only).

    expected = won so far + the open deals' amount x chance to win before the period ends + the deals not
    created yet (the key's own rate of deals created and won inside a window of that length). JSON:
    {period, start, end, as_of, won, open_expected, new_expected, expected, p10, p50, p90, open_n, unmodelled_n,
    groups: [the same per {level, key} of --by], deals: [{deal_id, owner_id, team, pipeline, amount, probability,
    contribution}]} (every open deal, largest contribution first).
    """
    when = _parse_as_of(as_of)
    levels = _levels(by)
    chosen = _period(period, when)
    resolve_policy(policy, stored=False)  # a bad policy file is refused before the store is touched
    setup(db)
    chosen_policy = resolve_policy(policy)
    from bestby.goals.reports import forecast_report

    with console.status(f"Forecasting {chosen.label} at {when:%Y-%m-%d %H:%M} UTC ({sims:,} draws)…"):
        doc = forecast_report(period=chosen, as_of=when, by=levels, policy=chosen_policy, lookback_days=lookback,
                              sims=sims, seed=seed)
    if as_json:
        typer.echo(json.dumps(doc))
        return
    console.print(forecast_table([doc, *doc["groups"]], f"Forecast of {chosen.label} ({chosen.start:%Y-%m-%d} to "
                                                        f"{chosen.last_day:%Y-%m-%d}) at {when:%Y-%m-%d %H:%M} UTC"))
    if deals:
        top = Table(title=f"The {min(deals, len(doc['deals']))} largest contributions", box=box.SIMPLE_HEAD,
                    show_edge=False, pad_edge=False)
        for col in ("deal", "owner", "amount", "chance", "contribution"):
            top.add_column(col, justify="left" if col in ("deal", "owner") else "right", no_wrap=True)
        for d in doc["deals"][:deals]:
            top.add_row(d["deal_id"], d["owner_id"] or "-", _money(d["amount"]),
                        "-" if d["probability"] is None else f"{d['probability']:.0%}", _money(d["contribution"]))
        console.print(top)


@app.command("funnel")
def funnel_cmd(
    as_of: AsOfOption = None,
    window: Annotated[int, typer.Option("--window", callback=bounded(SPAN_DAYS),
                                        help="Days before --as-of in which deals entered each stage, "
                                             "1 to 3,650.")] = 180,
    by: Annotated[Optional[str], typer.Option("--by", help="owner or team (default: the pipeline only).",
                                              show_default=False)] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Conversion from each stage to the next and to won, for deals that entered the stage in a window (read-only).

    to next = got past the stage / (got past it + lost in it): deals still in the stage are not counted as
    failures. to won = won / closed. JSON: a list of {pipeline, segment, stage, next_stage, entered, advanced,
    lost_here, still_here, to_next, won, closed, to_won}.
    """
    when = _parse_as_of(as_of)
    if by not in (None, "owner", "team"):
        raise typer.BadParameter(f"{by!r} is not owner or team", param_hint="'--by'")
    setup(db)
    from bestby.goals.reports import funnel_report

    rows = funnel_report(as_of=when, window_days=window, by=by)
    if as_json:
        typer.echo(json.dumps(rows))
        return
    table = Table(title=f"Funnel: deals that entered each stage in the {window} days to {when:%Y-%m-%d}",
                  box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for col in ("pipeline", "who", "stage", "entered", "to next", "still in", "to won"):
        table.add_column(col, justify="left" if col in ("pipeline", "who", "stage") else "right", no_wrap=True)
    for r in rows:
        table.add_row(r["pipeline"], r["segment"] or "all", f"{r['stage']} → {r['next_stage']}", f"{r['entered']:,}",
                      "-" if r["to_next"] is None else f"{r['to_next']:.0%}", f"{r['still_here']:,}",
                      "-" if r["to_won"] is None else f"{r['to_won']:.0%}")
    console.print(table)


@app.command("reverse-funnel")
def reverse_funnel_cmd(
    period: PeriodOption = None,
    as_of: AsOfOption = None,
    by: Annotated[str, typer.Option("--by", help="Levels, comma-separated: owner, team, all (the workspace).")]
        = "owner,team",
    lookback: Annotated[int, typer.Option("--lookback", callback=bounded(SPAN_DAYS),
                                          help="Days of history for the rates, 1 to 3,650.")] = 365,
    policy: PolicyOption = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """New deals and first meetings a week that the rest of each goal needs, against what is done now (read-only).

    gap = goal still to reach - what the open deals are expected to win before the period ends; a new deal
    (first meeting) closes won in time with the key's own rate, measured on the past year at the key's own
    cycle time. JSON: a list of {level, key, period, goal, to_go, weighted, gap, days_left, p_new, p_meeting,
    won_amount, deals_needed, meetings_needed, deals_per_week, meetings_per_week, deals_per_week_now,
    meetings_per_week_now}.
    """
    when = _parse_as_of(as_of)
    if "pipeline" in (v.strip() for v in by.split(",")):
        raise typer.BadParameter("pipelines have no goals; use owner, team and/or all", param_hint="'--by'")
    levels = _levels(by, ("owner", "team", "all"))
    chosen = _period(period, when)
    resolve_policy(policy, stored=False)  # a bad policy file is refused before the store is touched
    setup(db)
    chosen_policy = resolve_policy(policy)
    from bestby.goals.reports import reverse_funnel_report

    with console.status(f"Working back from the goals of {chosen.label}…"):
        rows = reverse_funnel_report(period=chosen, as_of=when, by=levels, policy=chosen_policy,
                                     lookback_days=lookback)
    if as_json:
        typer.echo(json.dumps(rows))
        return
    weeks = rows[0]["days_left"] / 7 if rows else 0
    table = Table(title=f"Reverse funnel for {chosen.label}: {weeks:.1f} weeks left at {when:%Y-%m-%d}",
                  box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("who", no_wrap=True)
    for col in ("gap", "deals/wk needed", "now", "1st mtgs/wk needed", "now"):
        table.add_column(col, justify="right", no_wrap=True)

    def rate(v):
        return "-" if v is None else f"{v:.1f}"

    for r in rows:
        table.add_row(_who(r), _money(r["gap"]), rate(r["deals_per_week"]),
                      rate(r["deals_per_week_now"]), rate(r["meetings_per_week"]), rate(r["meetings_per_week_now"]))
    console.print(table)
    console.print("gap: what the open deals are not expected to bring before the period ends; '-': no deal of this "
                  "key has closed won that fast in the past year, so no number of new deals closes the gap in time.",
                  highlight=False)
