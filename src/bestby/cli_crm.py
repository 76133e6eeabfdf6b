"""`bestby import salesforce|hubspot|pipedrive|csv`: thin adapters over the CRM mappers and the shared runner.

Each command maps the export (``bestby.importers.crm.<source>.map_export``),
prints what could not be mapped or needed a decision, and imports the rest
through ``bestby.importers.crm.run.import_mapped``: atomic, idempotent, and with
every problem named by source file, line and column. ``--dry-run`` does all of
it and writes nothing.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from bestby.cli import (
    AcceptOption, DbOption, ImportByOption, _Bars, _print_report, _progress, console, err, import_app, refuse_import,
    setup,
)

DryRun = Annotated[bool, typer.Option("--dry-run", help="Map, validate and count everything; write nothing.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]
DateFormat = Annotated[Optional[str], typer.Option(
    "--date-format", help="DD/MM/YYYY or MM/DD/YYYY for slash dates (default: detected from the data).")]


def _refuse(problems: list, truncated: int = 0) -> None:
    refuse_import(problems, truncated, "Fix the export (or the options) and run the same command again.")


def print_unmapped(unmapped: list[dict]) -> None:
    if not unmapped:
        console.print("Every source row was mapped.")
        return
    table = Table(title="Not mapped as given")
    for col, justify in (("what", "left"), ("rows", "right"), ("done", "left"), ("first examples", "left")):
        table.add_column(col, justify=justify, overflow="fold")
    for f in unmapped:
        table.add_row(f["text"], f"{f['count']:,}", "skipped" if f["action"] == "skipped" else "imported",
                      "\n".join(f["examples"]))
    console.print(table)


def run_crm(source: str, path: Path, *, dry_run: bool, as_json: bool, date_format: str | None, db: str | None,
            by: str | None = None, accept: bool = False, **options) -> None:
    from bestby.cli_imports import find_user, refuse_warnings
    from bestby.importers.canonical import WarningsNotAccepted
    from bestby.importers.crm.dates import Dates, DateOrderError, format_order
    from bestby.importers.crm.run import import_mapped
    from bestby.importers.problems import ImportFailed, Problem

    try:
        order = format_order(date_format)
    except ValueError as exc:
        err.print(f"--date-format: {exc}", markup=False, highlight=False)
        raise typer.Exit(2) from None
    setup(db)
    user = find_user(by)
    import zoneinfo

    from django.conf import settings

    mapper = importlib.import_module(f"bestby.importers.crm.{source}")
    try:
        out, findings = mapper.map_export(path, Dates(order, zoneinfo.ZoneInfo(settings.TIME_ZONE)), **options)
        with _progress() as progress:
            report = import_mapped(out, findings, source=f"{source}:{path.name}", label=f"bestby import {source} {path}",
                                   dry_run=dry_run, progress=_Bars(progress), by=user, accept_warnings=accept)
    except WarningsNotAccepted as exc:
        refuse_warnings(exc)
    except ImportFailed as exc:
        _refuse(exc.problems, exc.truncated)
    except DateOrderError as exc:
        _refuse([Problem(str(path), None, None, str(exc))])
    _print_report(report, as_json)
    if not as_json:
        print_unmapped(report.unmapped or [])


@import_app.command("salesforce")
def import_salesforce_cmd(
    folder: Annotated[Path, typer.Argument(help="A Salesforce data export: one CSV per object (Opportunity.csv, OpportunityHistory.csv ...).")],
    dry_run: DryRun = False, as_json: AsJson = False, date_format: DateFormat = None, accept: AcceptOption = False,
    by: ImportByOption = None, db: DbOption = None,
) -> None:
    """Import a Salesforce export: opportunities with their stage and close-date history, accounts, contacts, users, tasks and events."""
    run_crm("salesforce", folder, dry_run=dry_run, as_json=as_json, date_format=date_format, db=db, by=by,
            accept=accept)


@import_app.command("hubspot")
def import_hubspot_cmd(
    path: Annotated[Path, typer.Argument(help="HubSpot's deals export (a CSV), or a folder with deals, companies, contacts, calls and emails exports.")],
    dry_run: DryRun = False, as_json: AsJson = False, date_format: DateFormat = None, accept: AcceptOption = False,
    by: ImportByOption = None, db: DbOption = None,
) -> None:
    """Import HubSpot exports: deals with their 'Date entered' stage history, companies, contacts, calls and emails."""
    run_crm("hubspot", path, dry_run=dry_run, as_json=as_json, date_format=date_format, db=db, by=by,
            accept=accept)


@import_app.command("pipedrive")
def import_pipedrive_cmd(
    folder: Annotated[Path, typer.Argument(help="Pipedrive exports: deals, persons, organizations, activities, and a deal change log.")],
    dry_run: DryRun = False, as_json: AsJson = False, date_format: DateFormat = None, accept: AcceptOption = False,
    by: ImportByOption = None, db: DbOption = None,
) -> None:
    """Import Pipedrive exports, with stage and expected-close-date history from the deal change log."""
    run_crm("pipedrive", folder, dry_run=dry_run, as_json=as_json, date_format=date_format, db=db, by=by,
            accept=accept)


@import_app.command("csv")
def import_csv_cmd(
    file: Annotated[Path, typer.Argument(help="Any CSV file.")],
    mapping: Annotated[Path, typer.Option("--mapping", help="A mapping file (YAML) from the CSV's columns to a FORMAT.md table.")],
    dry_run: DryRun = False, as_json: AsJson = False, date_format: DateFormat = None, accept: AcceptOption = False,
    by: ImportByOption = None, db: DbOption = None,
) -> None:
    """Import any CSV through a small mapping file (column renames, date format, value maps)."""
    run_crm("csvmap", file, dry_run=dry_run, as_json=as_json, date_format=date_format, db=db, mapping=mapping, by=by,
            accept=accept)
