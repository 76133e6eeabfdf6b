"""What an import reports: rows created, updated and unchanged per file, what changed, warnings, notes.

Per file, ``changes`` counts the updated rows by changed column and
``examples`` shows the first few updated rows with old and new values
(``bestby.importers.diff``). ``warnings`` lists rows whose id is stored as
what looks like another record, and changes to the acting user's own record;
``warning_count`` counts them all (``warnings`` keeps the first
``diff.WARNINGS_KEPT``). ``batch`` is the id of the applied import's batch,
which ``bestby import undo`` takes (None for a dry run).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

Progress = Callable[[str, int, int], None]  # (file, rows done now, rows in file)


@dataclass
class FileCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    #: updated rows per changed column, e.g. {"amount": 212, "stage": 40}
    changes: dict[str, int] = field(default_factory=dict)
    #: the first updated rows: {"id": "D1", "changes": {"amount": ["12000.50", "13000.00"]}}
    examples: list[dict] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged

    def numbers(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


@dataclass
class ImportReport:
    files: dict[str, FileCounts] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    dry_run: bool = False
    #: what a CRM mapper could not map or had to decide (``crm.findings``); None for a FORMAT.md folder
    unmapped: list[dict] | None = None
    #: {"kind": "collision" | "own_record", "file", "line", "table" (FORMAT.md), "id", "stored", "incoming", "message"}
    warnings: list[dict] = field(default_factory=list)
    warning_count: int = 0
    #: the applied import's batch id (``bestby import undo BATCH``); None for a dry run
    batch: int | None = None

    def as_dict(self) -> dict:
        out = {
            "dry_run": self.dry_run,
            "batch": self.batch,
            "files": {k: vars(v) for k, v in self.files.items()},
            "warnings": self.warnings,
            "warning_count": self.warning_count,
            "notes": self.notes,
        }
        if self.unmapped is not None:
            out["unmapped"] = self.unmapped
        return out
