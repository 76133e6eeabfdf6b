"""The `bestby` commands of the engine: shelf-life, clearance and analyze (thin adapters).

They are registered on the same Typer app as the store commands in
``bestby.cli``, which imports this module last.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from bestby.cli import DbOption, app, console, err, setup  # noqa: F401 - err is used by some commands


def _parse_as_of(value: Optional[str]):
    """``--as-of``: an ISO date or timestamp (naive = UTC); None means now (UTC)."""
    from datetime import UTC, datetime

    if value is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO date or timestamp (e.g. 2024-06-30 or "
                                 "2024-06-30T12:00:00+02:00)", param_hint="'--as-of'") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _check_quantile(value: float) -> float:
    if not 0.0 < value <= 1.0:  # also refuses NaN
        raise typer.BadParameter(f"{value} is not in (0, 1]", param_hint="'--quantile'")
    return value


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


@app.command("shelf-life")
def shelf_life_cmd(
    as_of: AsOfOption = None,
    quantile: Annotated[float, typer.Option("--quantile", help="The quantile, in (0, 1].")] = 0.8,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Learned best-by days per pipeline: the whole cycle and each open stage (read-only).

    JSON: a list of {pipeline, stage, segment, quantile, days, n}; stage is null for the whole cycle,
    segment is null (segments are not implemented yet), days is null for a stage without history.
    """
    when = _parse_as_of(as_of)
    _check_quantile(quantile)
    setup(db)
    from bestby.engine.shelf_life import shelf_life
    from bestby.pipeline.analytics import store_source

    rows = shelf_life(store_source(when), q=quantile)
    if as_json:
        typer.echo(json.dumps(rows))
        return
    console.print(_shelf_table(rows, f"Shelf life (q = {quantile:g}) at {when:%Y-%m-%d %H:%M} UTC"))


@app.command("clearance")
def clearance_cmd(
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Open deals that are expired or stalled, most inflating first (read-only).

    JSON: a list of {deal_id, owner_id, stage, amount, age_days, stage_age_days, days_since_touch,
    close_date_pushes, best_by, win_probability, state, reasons}: amount is a float (or null), days are
    fractional days, best_by an ISO 8601 UTC timestamp (or null), reasons a list of {code, text}.
    """
    when = _parse_as_of(as_of)
    setup(db)
    from bestby.engine.freshness import clearance_list, freshness
    from bestby.engine.policy import ClearancePolicy
    from bestby.pipeline.analytics import store_source

    rows = freshness(store_source(when), as_of=when, policy=ClearancePolicy())
    clear = clearance_list(rows)
    if as_json:
        typer.echo(json.dumps(clearance_json(clear)))
        return
    _clearance_table(clear, open_deals=len(rows), as_of=when)


def _write_tables(out: Path, shelf: list[dict], fresh: list[dict], clear: list[dict]) -> dict[str, int]:
    """Write shelf_life, freshness and clearance as Parquet and CSV (reasons: list in Parquet, text in CSV)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    ts = pa.timestamp("us", tz="UTC")
    shelf_schema = pa.schema([("pipeline", pa.string()), ("stage", pa.string()), ("segment", pa.string()),
                              ("quantile", pa.float64()), ("days", pa.float64()), ("n", pa.int64())])
    fresh_schema = pa.schema([
        ("deal_id", pa.string()), ("owner_id", pa.string()), ("pipeline", pa.string()), ("stage", pa.string()),
        ("amount", pa.float64()), ("created_at", ts), ("stage_entered_at", ts), ("age_days", pa.float64()),
        ("stage_age_days", pa.float64()), ("days_since_touch", pa.float64()), ("close_date", pa.date32()),
        ("close_date_pushes", pa.int64()), ("close_date_past", pa.bool_()), ("stage_shelf_days", pa.float64()),
        ("cycle_shelf_days", pa.float64()), ("best_by", ts), ("win_probability", pa.float64()),
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
) -> None:
    """Shelf life, freshness and the clearance list straight from a folder (no store), as Parquet and CSV.

    Writes shelf_life, freshness (every deal open at --as-of) and clearance, each as .parquet and .csv.
    Reasons are a list of texts (and reason_codes a list of codes) in Parquet, joined with "; " in CSV.
    """
    import duckdb

    from bestby.engine.freshness import clearance_list, freshness
    from bestby.engine.policy import ClearancePolicy
    from bestby.engine.shelf_life import shelf_life
    from bestby.engine.sources import folder_tables

    when = _parse_as_of(as_of)
    if not source.is_dir():
        raise typer.BadParameter(f"{source} is not a folder", param_hint="'--source'")
    policy = ClearancePolicy()
    try:
        tables = folder_tables(source, as_of=when)
        shelf = shelf_life(tables, q=policy.quantile)
        fresh = freshness(tables, as_of=when, policy=policy, shelf=shelf)
    except (FileNotFoundError, ValueError, duckdb.Error) as exc:
        raise typer.BadParameter(f"cannot read {source}: {exc}", param_hint="'--source'") from None
    clear = clearance_list(fresh)
    counts = _write_tables(out, shelf, fresh, clear)
    console.print(_shelf_table(shelf, f"Shelf life (q = {policy.quantile:g}) at {when:%Y-%m-%d %H:%M} UTC"))
    states = {s: sum(r["state"] == s for r in fresh) for s in ("fresh", "aging", "expired", "stalled")}
    console.print(f"{len(fresh):,} open deals: " + ", ".join(f"{n:,} {s}" for s, n in states.items())
                  + f"; {len(clear):,} to clear.", highlight=False)
    console.print(f"Wrote {', '.join(f'{k} ({n:,} rows)' for k, n in counts.items())} to {out} "
                  "as .parquet and .csv.", highlight=False)
