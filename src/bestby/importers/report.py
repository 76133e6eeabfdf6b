"""What an import reports: rows created, updated and unchanged per file, and notes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

Progress = Callable[[str, int, int], None]  # (file, rows done now, rows in file)


@dataclass
class FileCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclass
class ImportReport:
    files: dict[str, FileCounts] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    dry_run: bool = False
    #: what a CRM mapper could not map or had to decide (``crm.findings``); None for a FORMAT.md folder
    unmapped: list[dict] | None = None

    def as_dict(self) -> dict:
        out = {
            "dry_run": self.dry_run,
            "files": {k: vars(v) for k, v in self.files.items()},
            "notes": self.notes,
        }
        if self.unmapped is not None:
            out["unmapped"] = self.unmapped
        return out
