"""Export the store as a FORMAT.md folder of CSV files.

Rules that make ``import → export → import into an empty store → export``
give identical files:

* every FORMAT.md column is written, in FORMAT.md order, then the custom
  columns of that file sorted by name;
* rows are ordered by their key (events by deal id, time and then the order
  in which they were recorded);
* timestamps are written in the workspace time zone as
  ``YYYY-MM-DDTHH:MM:SS±HH:MM`` (with microseconds only when there are some);
* decimals are written with at least two decimal places and no trailing zeros
  beyond them (``550.00``, ``12.3456``); floats with Python's shortest repr;
* files with no rows are not written, except ``deals`` and ``stages``.
"""

from __future__ import annotations

import csv
import zoneinfo
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

from django.conf import settings

from bestby.format import FILE_ORDER, SPECS
from bestby.importers.mapping import MAPS

Progress = Callable[[str, int, int], None]

ALWAYS = ("deals", "stages")


def format_value(value: Any, zone) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        local = value.astimezone(zone)
        return local.isoformat(timespec="microseconds" if local.microsecond else "seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        whole, _, frac = text.partition(".")
        return f"{whole}.{frac.ljust(2, '0')}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _lookups(file: str) -> list[str]:
    """ORM value paths for each FORMAT.md column of ``file``."""
    out = []
    for col in MAPS[file].cols:
        if col.ref == "pipelines":
            out.append(f"{col.field}__name")
        elif col.ref == "stages":
            out.append(f"{col.field}__name")
        elif col.ref:
            out.append(f"{col.field}__external_id")
        else:
            out.append(col.field)
    return out


_ORDER = {
    "users": ("external_id",),
    "stages": ("pipeline__name", "position", "name"),
    "stage_events": ("deal__external_id", "at", "id"),
    "close_date_events": ("deal__external_id", "at", "id"),
    "orders": ("order_id", "line_no"),
    "wallet": ("account__external_id", "category"),
    "quotas": ("owner_key", "period_start", "period_end"),
}


def export_canonical(folder: Path, *, progress: Progress | None = None) -> dict[str, int]:
    """Write every non-empty table as ``<file>.csv`` in ``folder``; return rows per file."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    counts: dict[str, int] = {}
    for name in FILE_ORDER:
        fmap = MAPS[name]
        qs = fmap.model._base_manager.order_by(*_ORDER.get(name, ("external_id",)))
        if name == "stage_events":  # an event voided by an undone clear is no longer history
            qs = qs.filter(void__isnull=True)
        total = qs.count()
        if not total and name not in ALWAYS:
            continue
        lookups = _lookups(name)
        custom_cols = sorted({k for c in qs.exclude(custom={}).values_list("custom", flat=True) for k in c})
        header = list(SPECS[name].column_names) + [c for c in custom_cols if c not in SPECS[name].column_names]
        path = folder / f"{name}.csv"
        tmp = path.with_suffix(".csv.tmp")
        with tmp.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(header)
            n = 0
            for row in qs.values_list(*lookups, "custom").iterator(chunk_size=20_000):
                *values, custom = row
                cells = [format_value(v, zone) for v in values]
                cells += [custom.get(c, "") for c in header[len(values):]]
                writer.writerow(cells)
                n += 1
                if progress and n % 20_000 == 0:
                    progress(path.name, 20_000, total)
            if progress:
                progress(path.name, n % 20_000, total)
        tmp.replace(path)
        counts[name] = n
    return counts
