"""What an import will change, and taking one back: the import report, `bestby import undo` and `bestby import batches`.

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
from typing import Annotated, Optional

import typer
from rich.table import Table
from rich.text import Text

from bestby.bounds import ROW_ID, IntBound
from bestby.cli import DbOption, bounded, console, err, import_app, setup


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
        per = ", ".join(f"{column}: {n:,} row{'' if n == 1 else 's'}"
                        for column, n in sorted(c.changes.items(), key=lambda kv: -kv[1]))
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


@import_app.command("undo")
def undo_cmd(
    batch: Annotated[int, typer.Argument(metavar="BATCH", callback=bounded(ROW_ID),
                                         help="The batch id an import reported (bestby import batches).")],
    by: Annotated[Optional[str], typer.Option("--by", help="E-mail or user id of who undoes it (the audit log).",
                                             show_default=False)] = None,
    reason: Annotated[str, typer.Option("--reason", help="Why (the audit log).")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    db: DbOption = None,
) -> None:
    """Undo an applied import as one batch: remove what it created, give updated rows their old values back."""
    setup(db)
    from bestby.importers.services import UndoRefused, undo_import

    user = find_user(by)
    try:
        result = undo_import(batch=batch, by=user, reason=reason)
    except UndoRefused as exc:
        err.print(f"{'BATCH' if exc.param == 'batch' else exc.param}: {exc.message}", markup=False, highlight=False,
                  soft_wrap=True)
        for line in exc.reasons:
            err.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
        if exc.more:
            err.print(f"  ... and {exc.more} more", highlight=False)
        err.print("Nothing was changed.", highlight=False)
        raise typer.Exit(2) from None
    if as_json:
        console.print_json(json.dumps(result.as_dict()))
        return
    if not result.removed and not result.restored:
        console.print(f"Import batch {result.batch} changed nothing; it is marked undone.", highlight=False)
        return
    table = Table(title=f"Import batch {result.batch} undone")
    for col in ("file", "removed", "restored"):
        table.add_column(col, justify="left" if col == "file" else "right")
    for name in dict.fromkeys([*result.removed, *result.restored]):
        table.add_row(_t(name), f"{result.removed.get(name, 0):,}", f"{result.restored.get(name, 0):,}")
    console.print(table)


@import_app.command("batches")
def batches_cmd(
    limit: Annotated[int, typer.Option("--limit", callback=bounded(IntBound(1, 10_000)),
                                       help="How many, newest first: 1 to 10,000.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print them as JSON.")] = False,
    db: DbOption = None,
) -> None:
    """List the last applied imports: batch id, when, who, what, and whether each was undone."""
    setup(db)
    from bestby.importers.services import recent_batches

    rows = [{"batch": b.pk, "at": b.at.isoformat(), "by": str(b.by) if b.by_id else None, "label": b.label,
             "counts": b.counts, "undone_at": b.undone_at.isoformat() if b.undone_at else None}
            for b in recent_batches(limit=limit)]
    if as_json:
        console.print_json(json.dumps(rows))
        return
    table = Table(title="Applied imports")
    for col in ("batch", "at (UTC)", "by", "what", "created", "updated", "undone"):
        table.add_column(col, justify="right" if col in ("batch", "created", "updated") else "left", overflow="fold")
    for r in rows:
        counts = r["counts"].values()
        table.add_row(str(r["batch"]), r["at"][:16].replace("T", " "), _t(r["by"] or "command line"), _t(r["label"]),
                      f"{sum(c['created'] for c in counts):,}", f"{sum(c['updated'] for c in counts):,}",
                      _t(r["undone_at"][:16].replace("T", " ") if r["undone_at"] else "no"))
    console.print(table)
