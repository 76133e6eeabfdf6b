"""What an import changes, field by field, and which of its rows look like another record under the same id.

Pure rules (no Django, no I/O); ``bestby.importers.changes`` applies them
while the writer matches rows on their ids.

**Changed fields.** For each file, every row matched on its id whose values
differ counts once under each column that differs ("amount: 212 rows,
stage: 40 rows"); a custom field (an unknown column kept, FORMAT.md) counts
under its own column name. The first ``EXAMPLES`` changed rows of a file are
kept with the old and the new value of each changed column, in FORMAT.md terms
(ids, not store keys; times in the workspace's zone). Five: enough to
recognise what an export changed (a currency column, a renamed stage), few
enough to read one table per file on one screen. Rows left alone are only
counted.

**Collisions.** A row whose id is stored, but whose identifying values all
differ from the stored record's, most likely comes from another system that
numbers its records the same way ("1", "2"...) rather than from a newer export
of the same one: applying it would overwrite an unrelated record. Values are
compared after trimming, collapsing inner spaces and case folding, and only
when both sides have one (an empty cell is no evidence of another record):

============  ==========================================
file          looks unrelated when
============  ==========================================
users         name and email both differ
accounts      name differs
contacts      name and email both differ
leads         name and email both differ
products      name differs
deals         name differs and account_id differs
============  ==========================================

Accounts and products are known by their name alone, so a new name is
flagged (a rename is then confirmed once). People may change their name or
their email, not both at once. A deal is renamed often, but rarely moves to
another account at the same time. Events have no ids; the other files (touches,
orders, invoices, wallet, quotas, stages) carry no name to compare.

**Own record.** The acting user (the signed-in admin on the import page,
``--by`` on the command line) whose own user row would get another name,
email or role: always a warning, whatever the rule above says.

An import with any warning is applied only with an explicit confirmation
(``--accept-collisions``, the page's checkbox); see ``bestby.importers.canonical``.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

#: changed rows shown per file with their old and new values (see the module doc)
EXAMPLES = 5
#: warnings kept in a report (all are counted): a whole foreign export collides row by row
WARNINGS_KEPT = 50

#: file -> the columns that must all differ for a stored row to look unrelated
COLLISION_RULES: dict[str, tuple[str, ...]] = {
    "users": ("name", "email"),
    "accounts": ("name",),
    "contacts": ("name", "email"),
    "leads": ("name", "email"),
    "products": ("name",),
    "deals": ("name", "account_id"),
}

#: the fields of one's own user record an import may not change unnoticed
OWN_FIELDS = ("name", "email", "role")


def _norm(value: Any) -> Any:
    if isinstance(value, str):
        return " ".join(value.split()).casefold()
    return value


def differs(stored: Any, incoming: Any) -> bool:
    """Whether two values are evidence of two different records: both present and not equal (text normalised)."""
    if stored in (None, "") or incoming in (None, ""):
        return False
    return _norm(stored) != _norm(incoming)


def looks_unrelated(file: str, stored: dict[str, Any], incoming: dict[str, Any]) -> bool:
    """Whether a stored row and an incoming row with the same id look like two different records (module doc)."""
    columns = COLLISION_RULES.get(file)
    return bool(columns) and all(differs(stored.get(c), incoming.get(c)) for c in columns)


def own_changes(stored: dict[str, Any], incoming: dict[str, Any]) -> list[str]:
    """The fields of ``OWN_FIELDS`` whose value would change (exactly, not normalised: a new spelling is a change)."""
    return [f for f in OWN_FIELDS if (stored.get(f) or "") != (incoming.get(f) or "")]


class FileDiff:
    """The changed fields of one file: a row count per column, and the first ``EXAMPLES`` rows in full.

    ``columns`` names each stored value of a row (FORMAT.md column names); the
    last value of a row is its custom fields (a dict), compared key by key.
    """

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = list(columns)
        self.counts: dict[str, int] = {}
        self.examples: list[dict] = []

    def add(self, row_id: str, old: Sequence[Any], new: Sequence[Any], show: Callable[[int, Any], Any]) -> None:
        """Count one updated row; keep it as an example while fewer than EXAMPLES are kept.

        ``show(j, value)`` renders the value of column ``j`` for people (ids,
        ISO times); it is called only for the examples.
        """
        keep = len(self.examples) < EXAMPLES
        changes: dict[str, list] = {}
        last = len(self.columns)
        for j, (a, b) in enumerate(zip(old, new)):
            if a == b:
                continue
            if j == last:  # the custom fields
                a, b = a or {}, b or {}
                for key in sorted(set(a) | set(b)):
                    if a.get(key) != b.get(key):
                        self.counts[key] = self.counts.get(key, 0) + 1
                        if keep:
                            changes[key] = [_text(a.get(key)), _text(b.get(key))]
                continue
            column = self.columns[j]
            self.counts[column] = self.counts.get(column, 0) + 1
            if keep:
                changes[column] = [show(j, a), show(j, b)]
        if keep and changes:
            self.examples.append({"id": row_id, "changes": changes})


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)
