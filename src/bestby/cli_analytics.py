"""The `bestby` commands of the engine: shelf-life and analyze (thin adapters).

``bestby clearance`` (the list) lives with the clearance workflow in ``bestby.cli_clearance``.

They are registered on the same Typer app as the store commands in
``bestby.cli``, which imports this module last.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from bestby import clock
from bestby.bounds import LOOKBACK_DAYS, QUANTILE
from bestby.cli import DbOption, app, bounded, check_day, console, err, setup  # noqa: F401 - err is used by some commands


def _parse_as_of(value: Optional[str]):
    """``--as-of``: an ISO date or timestamp (naive = UTC) inside bounds.DATES; None means now (UTC)."""
    from datetime import UTC, datetime

    if value is None:
        return clock.now()
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO date or timestamp (e.g. 2024-06-30 or "
                                 "2024-06-30T12:00:00+02:00)", param_hint="'--as-of'") from None
    check_day(parsed, "--as-of")  # before the conversion: 0001-01-01T00:00+01:00 has no UTC time
    return check_day(parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC), "--as-of")


AsOfOption = Annotated[Optional[str], typer.Option(
    "--as-of", help="Point in time: an ISO date or timestamp (naive = UTC). Default: now (UTC).", show_default=False)]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the rows as JSON.")]


def _iso(value):
    return None if value is None else value.isoformat()


def _shelf_table(rows: list[dict], title: str) -> Table:
    table = Table(title=title)
    for col, justify in (("pipeline", "left"), ("stage", "left"), ("days", "right"), ("n", "right")):
        table.add_column(col, justify=justify)
    for r in rows:
        table.add_row(r["pipeline"], r["stage"] if r["stage"] is not None else "(whole cycle)",
                      "-" if r["days"] is None else f"{r['days']:.1f}", f"{r['n']:,}")
    return table


def clearance_json(rows: list[dict]) -> list[dict]:
    """Shape clearance rows for ``--json``: ISO datetimes, amount as a float, reasons as ``{code, text}``."""
    return [{
        "deal_id": r["deal_id"], "owner_id": r["owner_id"], "stage": r["stage"], "amount": r["amount"],
        "age_days": r["age_days"], "stage_age_days": r["stage_age_days"], "days_since_touch": r["days_since_touch"],
        "close_date_pushes": r["close_date_pushes"], "best_by": _iso(r["best_by"]),
        "win_probability": r["win_probability"], "state": r["state"],
        "reasons": [{"code": x["code"], "text": x["text"]} for x in r["reasons"]],
    } for r in rows]


def _days_cell(value) -> str:
    return "-" if value is None else f"{value:.0f}"


def _clearance_table(rows: list[dict], *, open_deals: int, as_of, top: int = 20) -> None:
    table = Table(title=f"Clearance list at {as_of:%Y-%m-%d %H:%M} UTC")
    for col in ("deal", "owner", "stage", "amount", "age", "idle", "state"):
        table.add_column(col, justify="right" if col in ("amount", "age", "idle") else "left", no_wrap=True)
    table.add_column("why", ratio=1)
    for r in rows[:top]:
        table.add_row(str(r["deal_id"]), r["owner_id"] or "-", r["stage"] or "-",
                      "-" if r["amount"] is None else f"{r['amount']:,.0f}", _days_cell(r["age_days"]),
                      _days_cell(r["days_since_touch"]), r["state"], "\n".join(x["text"] for x in r["reasons"]))
    console.print(table)
    more = f" (showing the top {top})" if len(rows) > top else ""
    console.print(f"{len(rows):,} of {open_deals:,} open deals to clear{more}.", highlight=False)


def resolve_policy(path: Optional[Path], *, stored: Optional[bool] = None):
    """The clearance policy: ``--policy FILE`` (TOML or JSON), else ``$BESTBY_HOME/policy.toml`` when it
    exists, else the policy an admin stored on the Settings page, else the built-in defaults.

    The stored policy is read from the database, so only once Django is set up
    (``setup(db)``): ``stored`` None (the default) reads it when Django's apps
    are ready and skips it otherwise; call ``resolve_policy`` after ``setup(db)``
    for the store to count. ``stored=False`` never reads it (commands without a store).
    """
    from bestby import config
    from bestby.engine.policy import ClearancePolicy, load_policy

    if path is None:
        home_file = config.load().home / "policy.toml"
        if not home_file.is_file():
            from django.apps import apps

            if stored is False or not apps.ready:
                return ClearancePolicy()
            from bestby.clearance.settings import stored_policy

            try:
                return stored_policy() or ClearancePolicy()
            except ValueError as exc:  # rows are validated when saved; a safety net
                raise typer.BadParameter(f"{exc}. Fix it on the Settings page.", param_hint="'--policy'") from None
        path = home_file
    try:
        return load_policy(path)
    except ValueError as exc:
        raise typer.BadParameter(f"{exc}. See 'ClearancePolicy' settings in the README.",
                                 param_hint="'--policy'") from None


PolicyOption = Annotated[Optional[Path], typer.Option(
    "--policy", help="Clearance policy file (TOML or JSON: \\[default] and \\[pipelines.NAME] settings). "
                     "Default: $BESTBY_HOME/policy.toml if it exists, else the built-in defaults.",
    show_default=False)]


def _segment_table(rows: list[dict], title: str) -> Table:
    table = Table(title=title)
    for col, justify in (("pipeline", "left"), ("segment", "left"), ("stage", "left"), ("days", "right"),
                         ("n", "right"), ("note", "left")):
        table.add_column(col, justify=justify)
    for r in rows:
        note = ""
        if r.get("fallback"):
            note = f"pipeline's (own n {r['segment_n']})"
        table.add_row(r["pipeline"], r["segment"] or "(all)", r["stage"] or "(whole cycle)",
                      "-" if r["days"] is None else f"{r['days']:.1f}", f"{r['n']:,}", note)
    return table


@app.command("shelf-life")
def shelf_life_cmd(
    as_of: AsOfOption = None,
    quantile: Annotated[float, typer.Option("--quantile", callback=bounded(QUANTILE),
                                            help="The quantile: above 0, at most 1.")] = 0.8,
    by: Annotated[Optional[str], typer.Option(
        "--by", help="Segment: owner, team, product, source or amount_band.", show_default=False)] = None,
    lookback: Annotated[Optional[float], typer.Option(
        "--lookback", callback=bounded(LOOKBACK_DAYS),
        help="Only figures that ended within this many days before --as-of (above 0, at most 3,650). "
             "Default: all history.", show_default=False)] = None,
    business_days: Annotated[bool, typer.Option("--business-days", help="Count Monday to Friday only.")] = False,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Learned best-by days per pipeline: the whole cycle and each open stage, optionally per segment (read-only).

    JSON: a list of {pipeline, stage, segment, quantile, days, n}; stage is null for the whole cycle,
    segment null for the whole pipeline, days null for a stage without history. With --by, segment rows also
    have segment_n (the segment's own count) and fallback (true when that is under 20 and the pipeline's
    figure is used).
    """
    from datetime import timedelta

    from bestby.engine.shelf_life import SEGMENTS

    when = _parse_as_of(as_of)
    if by is not None and by not in SEGMENTS:
        raise typer.BadParameter(f"{by!r} is not one of {', '.join(SEGMENTS)}", param_hint="'--by'")
    setup(db)
    from bestby.engine.shelf_life import shelf_life
    from bestby.pipeline.analytics import store_reader

    since = None if lookback is None else when - timedelta(days=lookback)
    with store_reader() as store:
        rows = shelf_life(store.tables(when), q=quantile, by=by, since=since, business_days=business_days)
    if as_json:
        typer.echo(json.dumps(rows))
        return
    unit = "business days" if business_days else "days"
    window = f", last {lookback:g} days" if lookback else ""
    title = f"Shelf life in {unit} (q = {quantile:g}{window}) at {when:%Y-%m-%d %H:%M} UTC"
    console.print(_segment_table(rows, title) if by else _shelf_table(rows, title))


def _write_tables(out: Path, shelf: list[dict], fresh: list[dict], clear: list[dict]) -> dict[str, int]:
    """Write shelf_life, freshness and clearance as Parquet and CSV (reasons: list in Parquet, text in CSV)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    ts = pa.timestamp("us", tz="UTC")
    shelf_schema = pa.schema([("pipeline", pa.string()), ("stage", pa.string()), ("segment", pa.string()),
                              ("quantile", pa.float64()), ("days", pa.float64()), ("n", pa.int64()),
                              ("segment_n", pa.int64()), ("fallback", pa.bool_())])
    fresh_schema = pa.schema([
        ("deal_id", pa.string()), ("owner_id", pa.string()), ("pipeline", pa.string()), ("stage", pa.string()),
        ("amount", pa.float64()), ("created_at", ts), ("stage_entered_at", ts), ("age_days", pa.float64()),
        ("stage_age_days", pa.float64()), ("days_since_touch", pa.float64()), ("close_date", pa.date32()),
        ("close_date_pushes", pa.int64()), ("close_date_pushes_in_stage", pa.int64()),
        ("close_date_past", pa.bool_()), ("close_date_parked", pa.bool_()), ("segment", pa.string()),
        ("stage_shelf_days", pa.float64()), ("cycle_shelf_days", pa.float64()), ("shelf_unit", pa.string()),
        ("best_by", ts), ("win_probability", pa.float64()),
        ("staleness", pa.float64()), ("state", pa.string()), ("reason_codes", pa.list_(pa.string())),
        ("reasons", pa.list_(pa.string())),
    ])

    def flat(rows: list[dict]) -> list[dict]:
        return [{**{k: r.get(k) for k in fresh_schema.names if k not in ("reason_codes", "reasons")},
                 "reason_codes": [x["code"] for x in r["reasons"]], "reasons": [x["text"] for x in r["reasons"]]}
                for r in rows]

    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name, rows, schema in (("shelf_life", shelf, shelf_schema), ("freshness", flat(fresh), fresh_schema),
                               ("clearance", flat(clear), fresh_schema)):
        table = pa.Table.from_pylist(rows, schema=schema)
        pq.write_table(table, out / f"{name}.parquet")
        for col in ("reason_codes", "reasons"):
            if col in table.column_names:
                joined = pa.array(["; ".join(v) for v in table[col].to_pylist()], pa.string())
                table = table.set_column(table.schema.get_field_index(col), col, joined)
        pacsv.write_csv(table, out / f"{name}.csv")
        counts[name] = len(rows)
    return counts


@app.command("analyze")
def analyze_cmd(
    source: Annotated[Path, typer.Option("--source", help="A FORMAT.md folder (CSV or Parquet), read with DuckDB.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write shelf_life, freshness and clearance into.")],
    as_of: AsOfOption = None,
    policy_file: PolicyOption = None,
) -> None:
    """Shelf life, freshness and the clearance list straight from a folder (no store), as Parquet and CSV.

    Writes shelf_life, freshness (every deal open at --as-of) and clearance, each as .parquet and .csv.
    Reasons are a list of texts (and reason_codes a list of codes) in Parquet, joined with "; " in CSV.
    """
    from datetime import timedelta

    import duckdb

    from bestby.engine.freshness import clearance_list, freshness
    from bestby.engine.policy import ClearancePolicy
    from bestby.engine.shelf_life import shelf_life
    from bestby.engine.sources import folder_tables

    when = _parse_as_of(as_of)
    if not source.is_dir():
        raise typer.BadParameter(f"{source} is not a folder", param_hint="'--source'")
    policy = resolve_policy(policy_file)
    one = policy if isinstance(policy, ClearancePolicy) else policy.default
    try:
        tables = folder_tables(source, as_of=when)
        since = None if one.lookback_days is None else when - timedelta(days=one.lookback_days)
        shelf = shelf_life(tables, q=one.quantile, by=one.segment, since=since, business_days=one.business_days)
        fresh = freshness(tables, as_of=when, policy=policy,
                          shelf=shelf if isinstance(policy, ClearancePolicy) else None)
    except (FileNotFoundError, ValueError, duckdb.Error) as exc:
        raise typer.BadParameter(f"cannot read {source}: {exc}", param_hint="'--source'") from None
    clear = clearance_list(fresh)
    counts = _write_tables(out, shelf, fresh, clear)
    shown = [r for r in shelf if r["segment"] is None]
    console.print(_shelf_table(shown, f"Shelf life (q = {one.quantile:g}) at {when:%Y-%m-%d %H:%M} UTC"))
    states = {s: sum(r["state"] == s for r in fresh) for s in ("fresh", "aging", "expired", "stalled")}
    console.print(f"{len(fresh):,} open deals: " + ", ".join(f"{n:,} {s}" for s, n in states.items())
                  + f"; {len(clear):,} to clear.", highlight=False)
    console.print(f"Wrote {', '.join(f'{k} ({n:,} rows)' for k, n in counts.items())} to {out} "
                  "as .parquet and .csv.", highlight=False)
