"""What an import will change: the report every `bestby import ...` command prints.

The report (every `bestby import ...` command) shows the counts per file, then
for each file with updated rows a table of the first rows' changes (column,
old value, new value) and the rows per changed column, then the warnings
(stored ids that look like other records, and changes to the acting user's
own record). An import with warnings is refused unless `--accept-collisions`
is given (see ``bestby.importers.canonical``). Cell text is shown as text,
never as Rich markup. `--json` prints the same report as JSON.
"""

from __future__ import annotations

import json
import typer
from rich.table import Table
from rich.text import Text

from bestby.cli import console, err


def _t(value) -> Text:
    """A table cell: plain text (a value such as "[red]x" is shown as written), empty values as '—'."""
    return Text("—" if value is None or value == "" else str(value))


def find_user(by: str | None):
    """Resolve ``--by`` (after setup); None when not given. Exit 2 naming --by when nobody matches."""
    if by is None:
        return None
    from django.db.models import Q

    from bestby.people.models import User

    user = User.objects.filter(Q(email__iexact=by) | Q(external_id=by) | Q(username=by)).first()
    if user is None:
        err.print(f"--by: {by!r}: no user has this e-mail or id", markup=False, highlight=False)
        err.print("Nothing was changed.", highlight=False)
        raise typer.Exit(2)
    return user


def print_report(report, as_json: bool) -> None:
    """Counts per file, the changed fields of updated rows, warnings and notes (module doc)."""
    if as_json:
        console.print_json(json.dumps(report.as_dict()))
        return
    title = "Dry run: nothing was written" if report.dry_run else f"Imported as batch {report.batch}"
    table = Table(title=title)
    for col in ("file", "created", "updated", "unchanged"):
        table.add_column(col, justify="left" if col == "file" else "right")
    for name, c in report.files.items():
        table.add_row(_t(name), f"{c.created:,}", f"{c.updated:,}", f"{c.unchanged:,}")
    console.print(table)
    print_changes(report)
    print_warnings(report)
    for note in report.notes:
        console.print(f"• {note}", markup=False, highlight=False, soft_wrap=True)
    if not report.dry_run and report.batch is not None:
        console.print(f"Undo it as one batch with: bestby import undo {report.batch}", markup=False, highlight=False)


def print_changes(report) -> None:
    for name, c in report.files.items():
        if not c.updated:
            continue
        table = Table(title=f"{name}: {c.updated:,} updated, first {len(c.examples)} shown", title_justify="left")
        for col in ("id", "column", "old", "new"):
            table.add_column(col, overflow="fold")
        for example in c.examples:
            for i, (column, (old, new)) in enumerate(example["changes"].items()):
                table.add_row(_t(example["id"] if i == 0 else ""), _t(column), _t(old), _t(new))
        console.print(table)
        per = ", ".join(f"{column}: {n:,} rows" for column, n in sorted(c.changes.items(), key=lambda kv: -kv[1]))
        console.print(Text(f"Changed columns in {name}: {per}"))


def print_warnings(report, *, to=None) -> None:
    out = to or console
    if not report.warning_count:
        return
    table = Table(title=f"Warnings: {report.warning_count:,}" + (f" (first {len(report.warnings)} shown)"
                                                                  if report.warning_count > len(report.warnings) else ""),
                  title_justify="left")
    for col in ("file", "line", "id", "what", "stored", "this import"):
        table.add_column(col, overflow="fold")
    for w in report.warnings:
        what = "your own record" if w["kind"] == "own_record" else "looks like another record"
        table.add_row(_t(w["file"]), _t(w["line"]), _t(w["id"]), _t(what), _t(_fields(w["stored"])),
                      _t(_fields(w["incoming"])))
    out.print(table)


def _fields(values: dict) -> str:
    return "\n".join(f"{k}: {v if v not in (None, '') else '—'}" for k, v in values.items())


def refuse_warnings(exc) -> None:
    """An import refused for its warnings: show them, say how to apply, exit 1."""
    err.print(f"[red bold]Import refused[/red bold]: {exc.report.warning_count} warning(s) need your confirmation; "
              "nothing was written.")
    print_warnings(exc.report, to=err)
    err.print("Check them (--dry-run shows the whole report with the changed fields), then run the same command "
              "with --accept-collisions to apply.", highlight=False)
    raise typer.Exit(1)
