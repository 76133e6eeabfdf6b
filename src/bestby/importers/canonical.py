"""Import a FORMAT.md folder into the store: atomic, idempotent, and loud about bad input.

The import runs in three steps:

1. **Read and parse** every file (CSV or Parquet) against ``bestby.format``:
   required columns and cells, types, enums, values the store cannot hold
   (text too long, see ``store_limits``; a number, date or timestamp outside
   its column's bound, see ``store_bounds``; a NUL character in any text),
   duplicate ids. A decimal with more places than its column keeps is rounded
   half-even to them (``1234.5678`` in an amount is ``1234.57``), as the
   database did silently before.
   Unknown columns become custom fields and are reported once.
2. **Resolve and write**, file by file in reference order, inside one
   transaction: references are resolved against the rows of this import and
   the rows already stored; a reference to a missing id is a problem. Entities
   are matched on their id (created, updated or unchanged); events on their
   full content (created or unchanged).
3. **Decide**: if any problem was found, the transaction is rolled back and
   ``ImportFailed`` lists the problems with file, line and column; stored data
   is exactly as it was. ``dry_run`` always rolls back, after counting.

**What it will change, before it changes it.** The report counts, per file,
the rows created, updated and left alone, the updated rows per changed
column, and the first few updated rows with old and new values; it warns of
rows whose id is stored as what looks like an unrelated record, and of any
change to the acting user's own record (``by``): ``bestby.importers.diff``.
A dry run reports all of it. An import with warnings is applied only with
``accept_warnings=True`` (``--accept-collisions`` on the command line, a
checkbox on the import page): otherwise it is refused as a whole
(``WarningsNotAccepted``, listing them) and nothing is written. Why refuse
rather than only warn: a collision usually means an export from another
system whose ids happen to match, and applying it silently would overwrite
unrelated records; one explicit confirmation costs little.

**One batch, undone as one.** An applied import is a batch
(:class:`bestby.audit.models.ImportBatch`, whose id the report and the audit
entry show): the keys of the rows it created and the old values of the
fields it updated are written in the same transaction (``bestby.importers.journal``),
and ``bestby import undo BATCH`` takes them back (``bestby.importers.undo``).

History stays append-only and automatic: when an import changes the stage or
expected close date of a stored deal and brings no event for the change, an
event is appended at import time (marked ``{"recorded_by": "import"}``), and
nothing already stored is ever rewritten.
"""

from __future__ import annotations

import gc
import zoneinfo
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import transaction

from bestby import clock
from bestby.format import FILE_ORDER, SPECS
from bestby.importers import bulk
from bestby.importers.journal import Journal
from bestby.importers.problems import ImportFailed, Problem, ProblemCollector  # noqa: F401 - ImportFailed is what callers catch
from bestby.importers.readers import RawTable, find_files, read_table
from bestby.importers.report import FileCounts, ImportReport, Progress  # noqa: F401 - part of this module's API
from bestby.importers.tables import ParsedTable, parse_table, store_bounds, store_limits
from bestby.importers.writer import Writer


class _Rollback(Exception):
    pass


class WarningsNotAccepted(ImportFailed):
    """The import has warnings (collisions, the acting user's own record) and was not told to accept them.

    Nothing was written. ``problems`` names each warning's file, line and id
    column; ``report`` is the whole report, as a dry run gives it.
    """

    def __init__(self, report: ImportReport, problems: list[Problem] | None = None, truncated: int | None = None):
        self.report = report
        if problems is None:
            problems = [Problem(w["file"], w["line"], _ID_COLUMN.get(w["table"]), w["message"])
                        for w in report.warnings]
            truncated = report.warning_count - len(problems)
        super().__init__(problems, truncated or 0)


#: the id column of the files a warning can name (``bestby.importers.diff``)
_ID_COLUMN = {"users": "user_id", "accounts": "account_id", "contacts": "contact_id", "leads": "lead_id",
              "products": "product_id", "deals": "deal_id"}


def import_canonical(folder: Path, *, dry_run: bool = False, by=None, progress: Progress | None = None,
                     accept_warnings: bool = False) -> ImportReport:
    """Import a FORMAT.md folder; raise ImportFailed (changing nothing) on any problem."""
    folder = Path(folder)
    problems = ProblemCollector()
    report = ImportReport(dry_run=dry_run)
    paths = find_files(folder, problems)
    problems.raise_if_any()
    # A load builds millions of small lists and tuples and no reference cycles:
    # the cyclic garbage collector would rescan the growing heap again and
    # again for nothing (it was a third of the time of a 1M-touch import).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _import(folder, paths, problems, report, dry_run=dry_run, by=by, progress=progress,
                       accept_warnings=accept_warnings)
    finally:
        if gc_was_enabled:
            gc.enable()


def _import(folder: Path, paths: dict[str, Path], problems: ProblemCollector, report: ImportReport, *,
            dry_run: bool, by, progress: Progress | None, accept_warnings: bool) -> ImportReport:
    raws: dict[str, RawTable] = {}
    for name in FILE_ORDER:
        if name not in paths:
            continue
        raw = read_table(paths[name], problems)
        if raw is not None:
            raws[name] = raw
    return import_tables(raws, problems, report, label=f"bestby import canonical {folder}", object_id=folder.name,
                         dry_run=dry_run, by=by, progress=progress, accept_warnings=accept_warnings)


def import_tables(raws: dict[str, RawTable], problems: ProblemCollector, report: ImportReport, *, label: str,
                  object_id: str, dry_run: bool, by, progress: Progress | None,
                  accept_warnings: bool = False) -> ImportReport:
    """Steps 1 to 3 on tables already read (a folder's files, or what a CRM mapper built in memory)."""
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    parsed: dict[str, ParsedTable] = {}
    for name in FILE_ORDER:
        raw = raws.get(name)
        if raw is None:
            continue
        if progress:
            progress(raw.file, 0, raw.nrows)
        parsed[name] = parse_table(raw, SPECS[name], zone, problems, report.notes, store_limits(name),
                                   store_bounds(name))
    problems.raise_if_any()
    at = clock.now()
    try:
        with transaction.atomic():
            bulk.tune_for_bulk()
            # the batch row is the transaction's first write: on SQLite it holds the write lock from here
            # to the commit, which is what lets bulk.insert_columns know the keys it inserted
            batch = None if dry_run else _open_batch(at, by, label, object_id)
            journal = None if dry_run else Journal()
            Writer(parsed, problems, report, progress, by, zone=zone, journal=journal).run()
            problems.raise_if_any()
            if report.warning_count and not dry_run and not accept_warnings:
                raise WarningsNotAccepted(report)
            if batch is not None:
                journal.save(batch)
                batch.counts = {k: v.numbers() for k, v in report.files.items()}
                batch.save(update_fields=["counts"])
                report.batch = batch.pk
            _audit(at, batch, object_id, label, report, by)
            if dry_run:
                raise _Rollback
    except _Rollback:
        pass
    return report


def _open_batch(at: datetime, by, label: str, source: str):
    from bestby.audit.models import ImportBatch

    return ImportBatch.objects.create(at=at, by=by, label=label, source=source[:120])


def _audit(at: datetime, batch, object_id: str, label: str, report: ImportReport, by) -> None:
    """The import's audit entry: its object is the batch (its id), ``after`` the counts per file."""
    from bestby.audit.models import AuditEntry

    AuditEntry.objects.create(
        at=at, by=by, action="import", object_type="import",
        object_id=str(batch.pk) if batch is not None else object_id[:120],
        after={k: v.numbers() for k, v in report.files.items()}, reason=label,
    )
