"""What a CRM mapper could not map, or had to decide, with counts and the first examples.

A finding is either *skipped* (the source row is not imported: an activity
linked to a deal that is not in the export, a history row dated before its
deal) or *kept* (the row is imported, with a decision the user should know
about: a closed flag that contradicts the stage, an owner who is not in the
users file and becomes a placeholder user). Nothing is dropped silently: every
row a mapper leaves out is counted under one finding.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: examples kept per finding: enough to find the pattern in the source, few
#: enough that a finding over a million rows stays one readable line
EXAMPLES = 3


@dataclass
class Finding:
    code: str
    text: str
    skipped: bool
    count: int = 0
    examples: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"code": self.code, "text": self.text, "action": "skipped" if self.skipped else "kept",
                "count": self.count, "examples": list(self.examples)}


class Findings:
    def __init__(self) -> None:
        self.by_code: dict[str, Finding] = {}

    def add(self, code: str, text: str, file: str, line: int | None, example: str, *, skipped: bool,
            count: int = 1) -> None:
        """Count ``count`` rows under ``code``; keep ``file, line N: example`` among the first examples."""
        f = self.by_code.get(code)
        if f is None:
            f = self.by_code[code] = Finding(code, text, skipped)
        f.count += count
        if len(f.examples) < EXAMPLES:
            where = f"{file}, line {line}" if line is not None else file
            f.examples.append(f"{where}: {example}" if example else where)

    def skip(self, code: str, text: str, file: str, line: int | None, example: str = "", count: int = 1) -> None:
        self.add(code, text, file, line, example, skipped=True, count=count)

    def keep(self, code: str, text: str, file: str, line: int | None, example: str = "", count: int = 1) -> None:
        self.add(code, text, file, line, example, skipped=False, count=count)

    def count(self, code: str) -> int:
        f = self.by_code.get(code)
        return f.count if f else 0

    def as_list(self) -> list[dict]:
        return [f.as_dict() for f in self.by_code.values()]

    def __iter__(self):
        return iter(self.by_code.values())
