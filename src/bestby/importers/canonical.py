"""Import a FORMAT.md folder into the store: atomic, idempotent, and loud about bad input.

The import runs in three steps:

1. **Read and parse** every file (CSV or Parquet) against ``bestby.format``:
   required columns and cells, types, enums, values the store cannot hold
   (text too long, too many digits; see ``store_limits``), duplicate ids.
   Unknown columns become custom fields and are reported once.
2. **Resolve and write**, file by file in reference order, inside one
   transaction: references are resolved against the rows of this import and
   the rows already stored; a reference to a missing id is a problem. Entities
   are matched on their id (created, updated or unchanged); events on their
   full content (created or unchanged).
3. **Decide**: if any problem was found, the transaction is rolled back and
   ``ImportFailed`` lists the problems with file, line and column; stored data
   is exactly as it was. ``dry_run`` always rolls back, after counting.

History stays append-only and automatic: when an import changes the stage or
expected close date of a stored deal and brings no event for the change, an
event is appended at import time (marked ``{"recorded_by": "import"}``), and
nothing already stored is ever rewritten.
"""

from __future__ import annotations

import gc
import zoneinfo
from pathlib import Path

from django.conf import settings
from django.db import transaction

from bestby import clock
from bestby.format import FILE_ORDER, SPECS
from bestby.importers import bulk
from bestby.importers.problems import ImportFailed, ProblemCollector  # noqa: F401 - ImportFailed is what callers catch
from bestby.importers.readers import RawTable, find_files, read_table
from bestby.importers.report import FileCounts, ImportReport, Progress  # noqa: F401 - part of this module's API
from bestby.importers.tables import ParsedTable, parse_table, store_limits
from bestby.importers.writer import Writer


class _Rollback(Exception):
    pass


def import_canonical(folder: Path, *, dry_run: bool = False, by=None, progress: Progress | None = None) -> ImportReport:
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
        return _import(folder, paths, problems, report, dry_run=dry_run, by=by, progress=progress)
    finally:
        if gc_was_enabled:
            gc.enable()


def _import(folder: Path, paths: dict[str, Path], problems: ProblemCollector, report: ImportReport, *,
            dry_run: bool, by, progress: Progress | None) -> ImportReport:
    raws: dict[str, RawTable] = {}
    for name in FILE_ORDER:
        if name not in paths:
            continue
        raw = read_table(paths[name], problems)
        if raw is not None:
            raws[name] = raw
    return import_tables(raws, problems, report, label=f"bestby import canonical {folder}", object_id=folder.name,
                         dry_run=dry_run, by=by, progress=progress)


def import_tables(raws: dict[str, RawTable], problems: ProblemCollector, report: ImportReport, *, label: str,
                  object_id: str, dry_run: bool, by, progress: Progress | None) -> ImportReport:
    """Steps 1 to 3 on tables already read (a folder's files, or what a CRM mapper built in memory)."""
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    parsed: dict[str, ParsedTable] = {}
    for name in FILE_ORDER:
        raw = raws.get(name)
        if raw is None:
            continue
        if progress:
            progress(raw.file, 0, raw.nrows)
        parsed[name] = parse_table(raw, SPECS[name], zone, problems, report.notes, store_limits(name))
    problems.raise_if_any()
    try:
        with transaction.atomic():
            bulk.tune_for_bulk()
            Writer(parsed, problems, report, progress, by).run()
            problems.raise_if_any()
            _audit(object_id, label, report, by)
            if dry_run:
                raise _Rollback
    except _Rollback:
        pass
    return report


def _audit(object_id: str, label: str, report: ImportReport, by) -> None:
    from bestby.audit.models import AuditEntry

    AuditEntry.objects.create(
        at=clock.now(), by=by, action="import", object_type="import", object_id=object_id[:120],
        after={k: vars(v) for k, v in report.files.items()}, reason=label,
    )
