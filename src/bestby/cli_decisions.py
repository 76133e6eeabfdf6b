"""`bestby export decisions`: the clears, snoozes and undos since a date, for the CRM of record (a thin adapter).

The formats and the net-state rule are in :mod:`bestby.exporters_decisions`.
``bestby export DIR`` is a command taking a folder, and a Typer group in its
place would read ``decisions`` as that folder and refuse ``bestby export DIR
--db URL``; so ``bestby export`` hands its arguments to this command when its
DIR is ``decisions`` (``run_decisions``). Every refusal exits with code 2, names the option at fault, and writes
nothing (options and FILE are checked before the store is read; the file is
written to a temporary name and renamed).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from bestby.cli import DbOption, console, err, setup

decisions_app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)

# the module's parameters, as the command line names them
_CLI_NAMES = {"since": "--since", "fmt": "--format", "loss_reason_field": "--loss-reason-field", "path": "FILE"}


def _fail(param: str, message: str) -> None:
    err.print(f"{_CLI_NAMES.get(param, param)}: {message}", markup=False, highlight=False, soft_wrap=True)
    err.print("Nothing was written.", highlight=False)
    raise typer.Exit(2)


def _parse_since(value: str) -> datetime:
    """``--since``: see :func:`bestby.exporters_decisions.parse_since`."""
    from bestby.exporters_decisions import ExportError, parse_since

    try:
        return parse_since(value)
    except ExportError as exc:
        _fail(exc.param, exc.message)


def run_decisions(args: list[str]) -> None:
    """Run ``bestby export decisions`` with the arguments after ``decisions``."""
    command = typer.main.get_command(decisions_app)
    try:
        code = command.main(args=args, prog_name="bestby export decisions", standalone_mode=False)
    except Exception as exc:  # click's usage errors (a missing --since, an unknown option)
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            raise typer.Exit(2) from None
        raise
    if isinstance(code, int) and code:
        raise typer.Exit(code)


@decisions_app.command()
def export_decisions_cmd(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The CSV file to write (replaced if it exists).")],
    since: Annotated[str, typer.Option("--since", help="YYYY-MM-DD: actions at or after midnight UTC that day.",
                                       show_default=False)],
    fmt: Annotated[str, typer.Option("--format", help="salesforce, hubspot, pipedrive (one row per deal, its net "
                                                      "state) or csv (the log, one row per action).",
                                     show_default=False)],
    loss_reason_field: Annotated[Optional[str], typer.Option(
        "--loss-reason-field", help="Salesforce only: the column of the lost reason. Default: Loss_Reason__c.",
        show_default=False)] = None,
    db: DbOption = None,
) -> None:
    """Write the clears, snoozes and undos since a date: a log, or a bulk-update file for the CRM."""
    from bestby.exporters_decisions import (DEFAULT_LOSS_REASON_FIELD, ExportError, check_options, check_target,
                                            decisions_since, write_decisions)

    when = _parse_since(since)
    if loss_reason_field is not None and fmt != "salesforce":
        _fail("loss_reason_field", f"applies to --format salesforce only (not {fmt!r})")
    field = DEFAULT_LOSS_REASON_FIELD if loss_reason_field is None else loss_reason_field
    try:
        check_options(fmt, field)
        check_target(file)
    except ExportError as exc:
        _fail(exc.param, exc.message)
    setup(db)
    try:
        written = write_decisions(decisions_since(when), fmt, file, loss_reason_field=field)
    except ExportError as exc:
        _fail(exc.param, exc.message)
    unit = "action" if fmt == "csv" else "deal (by its latest action)"
    console.print(f"Wrote {file} ({fmt}, decisions since {when:%Y-%m-%d} 00:00 UTC): one row per {unit}.",
                  markup=False, highlight=False, soft_wrap=True)
    table = Table()
    table.add_column("kind")
    table.add_column("rows", justify="right")
    for kind, n in written.rows.items():
        table.add_row(kind, f"{n:,}")
    table.add_row("total", f"{written.total:,}")
    console.print(table)
    if written.changed:
        shown = ", ".join(written.changed[:10]) + (", ..." if len(written.changed) > 10 else "")
        console.print(f"{len(written.changed):,} deal(s) changed after their latest decision ({shown}): the file "
                      "gives the decision, not the deal as it is now; check them before loading it.",
                      markup=False, highlight=False, soft_wrap=True)
