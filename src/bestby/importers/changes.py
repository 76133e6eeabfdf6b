"""The writer's notes on the rows an import updates: changed fields and warnings for the report.

The rules are in ``bestby.importers.diff`` (pure); this module feeds them the
rows the writer matched and renders stored values in FORMAT.md terms (ids
instead of store keys, times in the workspace's zone) for people to read.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from bestby.importers.diff import COLLISION_RULES, EXAMPLES, WARNINGS_KEPT, FileDiff, looks_unrelated, own_changes
from bestby.importers.mapping import REF_MODELS, FileMap
from bestby.importers.report import FileCounts
from bestby.importers.tables import ParsedTable


class Changes:
    """Note the updated rows of each file in the writer's report (``FileCounts.changes``, ``ImportReport.warnings``)."""

    def __init__(self, writer) -> None:
        self.writer = writer
        self._reverse: dict[str, tuple[tuple, dict]] = {}  # ref file -> (stamp of the map it was built from, {pk: id})

    def note(self, fmap: FileMap, table: ParsedTable, rows: list[tuple[int, int, tuple, list]]) -> None:
        """``rows``: ``(row index, stored pk, stored values, incoming values)`` of each row that will be updated."""
        if not rows:
            return
        report = self.writer.report
        counts = report.files.setdefault(fmap.file, FileCounts())
        columns = [c.column for c in fmap.cols]
        diff = FileDiff(columns)
        attnames = list(fmap.attnames)
        key_idx = [attnames.index(k) for k in fmap.key] if fmap.key else []
        rule = COLLISION_RULES.get(fmap.file, ())
        rule_idx = [columns.index(c) for c in rule]
        own_idx = [columns.index(c) for c in ("name", "email", "role")] if fmap.file == "users" else []
        by = self.writer.by
        by_pk = getattr(by, "pk", None)

        def show(j: int, value: Any) -> Any:
            return self.show(fmap, j, value)

        for i, pk, old, new in rows:
            row_id = " / ".join(str(show(j, new[j])) for j in key_idx)
            diff.add(row_id, old, new, show)
            if rule_idx:
                stored = {columns[j]: old[j] for j in rule_idx}
                incoming = {columns[j]: new[j] for j in rule_idx}
                if looks_unrelated(fmap.file, stored, incoming):
                    shown_old = {columns[j]: show(j, old[j]) for j in rule_idx}
                    shown_new = {columns[j]: show(j, new[j]) for j in rule_idx}
                    self.warn(table, i, {
                        "kind": "collision", "id": row_id, "stored": shown_old, "incoming": shown_new,
                        "message": f"{fmap.file} id {row_id!r} is stored as what looks like another record: stored "
                                   f"{_describe(shown_old)}; this import: {_describe(shown_new)}",
                    })
            if own_idx and by_pk is not None and pk == by_pk:
                stored = {columns[j]: old[j] for j in own_idx}
                incoming = {columns[j]: new[j] for j in own_idx}
                fields = own_changes(stored, incoming)
                if fields:
                    shown_old = {f: stored[f] for f in fields}
                    shown_new = {f: incoming[f] for f in fields}
                    self.warn(table, i, {
                        "kind": "own_record", "id": row_id, "stored": shown_old, "incoming": shown_new,
                        "message": f"your own user record ({row_id}) would change: "
                                   + ", ".join(f"{f} {stored[f] or ''!r} -> {incoming[f] or ''!r}" for f in fields),
                    })
        for column, n in diff.counts.items():
            counts.changes[column] = counts.changes.get(column, 0) + n
        counts.examples.extend(diff.examples[:max(0, EXAMPLES - len(counts.examples))])

    def warn(self, table: ParsedTable, i: int, warning: dict) -> None:
        report = self.writer.report
        report.warning_count += 1
        if len(report.warnings) < WARNINGS_KEPT:
            report.warnings.append({"file": table.file, "line": table.lines[i], "table": table.spec.name, **warning})

    # -- values for people -----------------------------------------------------
    def show(self, fmap: FileMap, j: int, value: Any) -> Any:
        """A stored (or incoming) value of column ``j`` as FORMAT.md writes it; empty (None or '') is None."""
        from bestby.importers.writer import _Pending

        if value is None or value == "":
            return None
        if isinstance(value, _Pending):
            return value.value
        if j < len(fmap.cols) and fmap.cols[j].ref:
            return self.ref_name(fmap.cols[j].ref, value)
        if isinstance(value, datetime):
            return value.astimezone(self.writer.zone).isoformat() if value.tzinfo else value.isoformat()
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, (Decimal, float, int)):
            return str(value)
        return value if isinstance(value, str) else str(value)

    def ref_name(self, ref: str, pk: int) -> str:
        """The id (or pipeline or stage name) of the row with key ``pk`` in the file ``ref``."""
        writer = self.writer
        if ref == "pipelines":
            source = writer.pipelines  # name -> pk
        elif ref == "stages":
            source = writer.stages  # (pipeline pk, name) -> (pk, kind)
        elif ref in REF_MODELS:
            source = writer.ref_map(ref)  # id -> pk
        else:
            return str(pk)
        stamp = (id(source), len(source))  # the writer replaces or extends these maps as it writes
        built = self._reverse.get(ref)
        if built is None or built[0] != stamp:
            if ref == "stages":
                reverse = {spk: name for (_pipeline, name), (spk, _kind) in source.items()}
            else:
                reverse = {v: k for k, v in source.items()}
            built = self._reverse[ref] = (stamp, reverse)
        return built[1].get(pk, f"#{pk}")


def _describe(values: dict[str, Any]) -> str:
    return ", ".join(f"{k} {repr(v) if v is not None else '(empty)'}" for k, v in values.items())
