"""`bestby backup FILE` and `bestby restore FILE` (thin adapters over bestby.backup).

Every refusal exits with code 2, names the argument at fault and changes
nothing; a failed tool (pg_dump, pg_restore) exits with code 1.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from bestby.cli import DbOption, _Bars, _progress, app, console, err, setup


def _fail(exc, code: int = 2) -> None:
    err.print(f"{exc.param}: {exc.message}", markup=False, highlight=False, soft_wrap=True)
    err.print("Nothing was changed.", highlight=False)
    raise typer.Exit(code)


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} TB"


@app.command("backup")
def backup_cmd(
    file: Annotated[str, typer.Argument(metavar="FILE", help="The backup file to write (mode 0600), or a folder "
                                        "(existing, or ending in /): then bestby-YYYYMMDDTHHMMSSZ.sqlite3 (or "
                                        ".pgdump) inside it.")],
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists.")] = False,
    db: DbOption = None,
) -> None:
    """Back up the whole store to one file while the server keeps running.

    SQLite: a copy of the database through SQLite's online backup API (one
    consistent snapshot; writers are not blocked), checked with
    integrity_check. PostgreSQL: a `pg_dump -Fc` archive (needs Debian's
    postgresql-client at least as new as the server). The file holds every
    password hash and session: keep it private (it is written 0600).
    """
    setup(db)
    from bestby.backup import BackupError, BackupFailed, backup

    try:
        with _progress() as progress:
            result = backup(target=file, force=force, progress=_Bars(progress))
    except BackupError as exc:
        _fail(exc, 1 if isinstance(exc, BackupFailed) else 2)
    console.print(f"Backed up the {'SQLite' if result.kind == 'sqlite' else 'PostgreSQL'} store to {result.path} "
                  f"({_size(result.size)}, {result.detail}) in {result.seconds:.1f} s.", markup=False,
                  highlight=False, soft_wrap=True)
    console.print(f"Restore it with: bestby restore {result.path}", markup=False, highlight=False, soft_wrap=True)


@app.command("restore")
def restore_cmd(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A file written by `bestby backup` for this kind of "
                                         "store.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    db: DbOption = None,
) -> None:
    """Replace everything in the store with a backup. Stop `bestby serve` first.

    The restore is atomic: if it fails, the store is left as it was. On
    SQLite it refuses to start while another process (a running server, an
    import) has the database open; a store that does not exist yet is created
    from the backup. A backup from an older bestby is brought up to date by
    the next `bestby migrate` (or `bestby serve`); one from a newer bestby is
    refused.
    """
    setup(db, migrate=False)
    from bestby.backup import BackupError, BackupFailed, inspect, restore

    try:
        info = inspect(source=file)
    except BackupError as exc:
        _fail(exc)
    counts = ", ".join(f"{n:,} {label}" for key, label in (("pipeline_deal", "deals"), ("people_user", "users"),
                                                           ("activities_lead", "leads"))
                       if (n := info.counts.get(key)) is not None)
    from django.conf import settings

    target = settings.DATABASES["default"]["NAME"]
    console.print(f"{info.path}: {'an SQLite' if info.kind == 'sqlite' else 'a PostgreSQL'} backup written "
                  f"{info.created}{'; ' + counts if counts else ''}.", markup=False, highlight=False, soft_wrap=True)
    if not yes:
        if not sys.stdin.isatty():
            err.print("--yes: the restore replaces everything in the store; add --yes to confirm when not in a "
                      "terminal.", markup=False, highlight=False, soft_wrap=True)
            err.print("Nothing was changed.", highlight=False)
            raise typer.Exit(2)
        if not typer.confirm(f"Replace everything in {target} with this backup?", default=False):
            err.print("Nothing was changed.", highlight=False)
            raise typer.Exit(1)
    try:
        with _progress() as progress:
            result = restore(source=file, progress=_Bars(progress))
    except BackupError as exc:
        _fail(exc, 1 if isinstance(exc, BackupFailed) else 2)
    console.print(f"Restored {result.database} from {info.path} ({result.detail}) in {result.seconds:.1f} s.",
                  markup=False, highlight=False, soft_wrap=True)
    if result.left_alone:
        console.print(f"Tables not in the backup were left as they are: {', '.join(result.left_alone)}.",
                      markup=False, highlight=False, soft_wrap=True)
    console.print("Start `bestby serve` again (it brings an older backup's schema up to date).", markup=False,
                  highlight=False, soft_wrap=True)
