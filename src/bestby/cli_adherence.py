"""`bestby adherence`: cadence adherence per seller and team over a period (a thin adapter, read-only).

Figures: :func:`bestby.cadences.adherence_store.adherence_report` (whose
rules and definitions are :mod:`bestby.cadences.adherence`); the command
line is the operator's, so every row is shown, the workspace's included.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Optional

import typer
from rich import box
from rich.table import Table

from bestby import clock
from bestby.cli import DbOption, app, console, setup
from bestby.cli_analytics import JsonOption


def _pct(v) -> str:
    return "-" if v is None else f"{v:.0%}"


def _who(row: dict, names: dict[str, str]) -> str:
    if row["level"] == "all":
        return "everyone"
    if row["level"] == "team":
        return f"team {row['key']}"
    return names.get(row["key"], row["key"])


def steps_table(rows: list[dict], names: dict[str, str], title: str) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("who", no_wrap=True, overflow="fold")
    for col in ("steps due", "on time", "late", "overdue", "skipped", "due today"):
        table.add_column(col, justify="right", no_wrap=True)
    for r in rows:
        table.add_row(_who(r, names), f"{r['due']:,}", _pct(r["on_time_share"]), _pct(r["late_share"]),
                      _pct(r["overdue_share"]), _pct(r["skipped_share"]), f"{r['due_today']:,}")
    return table


def leads_table(rows: list[dict], names: dict[str, str], abandon_at: int) -> Table:
    table = Table(title="Leads whose attempts ended in the period", box=box.SIMPLE_HEAD, show_edge=False,
                  pad_edge=False)
    table.add_column("who", no_wrap=True, overflow="fold")
    for col in ("leads", "engaged", "stopped", f"abandoned (<= {abandon_at})", "touches before stop"):
        table.add_column(col, justify="right", no_wrap=True)
    for r in rows:
        mean = r["mean_touches_before_stop"]
        table.add_row(_who(r, names), f"{r['leads']:,}", f"{r['engaged']:,}", f"{r['stopped']:,}",
                      _pct(r["abandoned_share"]), "-" if mean is None else f"{mean:.1f}")
    return table


def touch_table(row: dict, title: str) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for col in ("touch", "reached", "replied", "reply rate", "meetings", "meeting rate", "stopped here"):
        table.add_column(col, justify="right", no_wrap=True)
    stopped = {b["touches"]: b["leads"] for b in row["touches_before_stop"]}
    for t in row["by_touch"]:
        table.add_row(str(t["touch"]), f"{t['reached']:,}", f"{t['replied']:,}", _pct(t["reply_rate"]),
                      f"{t['meetings']:,}", _pct(t["meeting_rate"]), f"{stopped.get(t['touch'], 0):,}")
    return table


@app.command("adherence")
def adherence_cmd(
    period: Annotated[Optional[str], typer.Option(
        "--period", help="2026-Q1, 2026-03, FY2026, FY2026-M03, or dates 2026-03-02..2026-03-13 (both included). "
                         "Default: the fiscal quarter of --as-of.", show_default=False)] = None,
    as_of: Annotated[Optional[str], typer.Option(
        "--as-of", help="A date (the same for every seller) or a timestamp (each seller's own date at that "
                        "instant; naive = UTC). Default: now.", show_default=False)] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Cadence adherence per seller and team: steps done on time, late, overdue and skipped; touches before
    the seller stopped; reply and meeting rates by touch number (read-only).

    JSON: {period, start, end, as_of, stop_after, abandon_at, rows: [{level (all, team, owner), key, team
    (owner rows), due, on_time, late, skipped, overdue, due_today, on_time_share, late_share, overdue_share,
    skipped_share, leads, engaged, stopped, abandoned, abandoned_share, touches_before_stop: [{touches, leads}],
    mean_touches_before_stop, by_touch: [{touch, reached, replied, meetings, reply_rate, meeting_rate}]}]};
    shares are 0..1, null where there is nothing to divide by.
    """
    from bestby.cadences.adherence_params import ParamError, adherence_as_of, adherence_period

    try:
        when = adherence_as_of(as_of, now=clock.now().replace(microsecond=0))
    except ParamError as exc:
        raise typer.BadParameter(exc.message, param_hint="'--as-of'") from None
    try:
        chosen = adherence_period(period, when)
    except ParamError as exc:
        raise typer.BadParameter(exc.message, param_hint="'--period'") from None
    setup(db)
    from bestby.cadences.adherence_store import adherence_report
    from bestby.people.models import User

    doc = adherence_report(period=chosen, as_of=when)
    if as_json:
        typer.echo(json.dumps(doc))
        return
    names = {ext: User.display(name, email, ext)
             for ext, name, email in User.objects.filter(external_id__in=[r["key"] for r in doc["rows"]
                                                                          if r["level"] == "owner"])
             .values_list("external_id", "name", "email")}
    when_text = when.isoformat() if not isinstance(when, datetime) else f"{when:%Y-%m-%d %H:%M} UTC"
    console.print(steps_table(doc["rows"], names, f"Cadence adherence, {chosen.label} ({doc['start']} to "
                                                  f"{doc['end']}), as of {when_text}"))
    console.print(leads_table(doc["rows"], names, doc["abandon_at"]))
    everyone = doc["rows"][0]
    if everyone["by_touch"]:
        console.print(touch_table(everyone, "Where buyers engage: leads that reached each touch (everyone)"))
    console.print(f"on time, late, overdue, skipped: shares of the steps due; leads: runs of attempts that ended "
                  f"in the period (engaged or stopped: no touch for more than {doc['stop_after']} business days, "
                  f"or the cadence ended); abandoned: stopped after {doc['abandon_at']} touches or fewer, as a "
                  "share of leads.", highlight=False)
