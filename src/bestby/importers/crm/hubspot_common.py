"""Pieces the HubSpot mapper's parts share: owners as users, association cells.

The rules these functions implement are specified in ``crm.hubspot`` (sections
*Users* and *Associations*); this module only holds the code.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bestby.importers.crm.context import MapContext
from bestby.importers.crm.dates import Dates

_EMAIL = re.compile(r"[^\s<>()\[\]\"',;]+@[^\s<>()\[\]\"',;]+\.[^\s<>()\[\]\"',;]+")
_SEPARATORS = re.compile(r"[;,]")
_TRAILING_ID = re.compile(r"\((\d+)\)\s*$")


def slug(name: str) -> str:
    """NFKC, case-folded, every run of characters other than letters and digits replaced by one '-'."""
    return re.sub(r"[\W_]+", "-", unicodedata.normalize("NFKC", name).casefold()).strip("-")


def split_ids(cell: str) -> list[str]:
    """The ids of an association cell ("123;456", "123, 456"), in their order, without repeats."""
    return list(dict.fromkeys(t.strip() for t in _SEPARATORS.split(cell or "") if t.strip()))


@dataclass
class Link:
    """An association cell resolved against the records of the export."""

    chosen: str | None        # the first id that is in the export
    others: list[str]         # every other id of the cell (known or not)
    unknown: list[str]        # the ids that are not in the export


def resolve(cell: str, known, names: dict[str, str | None] | None = None) -> Link:
    """Resolve ``cell``'s ids against ``known``; a token that is not an id may be "Name (id)" or a unique name."""
    ids = []
    for token in split_ids(cell):
        if token not in known and names is not None:
            m = _TRAILING_ID.search(token)
            if m and m.group(1) in known:
                token = m.group(1)
            else:
                token = names.get(token.casefold()) or token
        ids.append(token)
    ids = list(dict.fromkeys(ids))
    hits = [i for i in ids if i in known]
    chosen = hits[0] if hits else None
    return Link(chosen, [i for i in ids if i != chosen], [i for i in ids if i not in known])


def name_index(records: dict[str, str]) -> dict[str, str | None]:
    """Case-folded name -> id, for names that belong to exactly one record (None marks a shared name)."""
    index: dict[str, str | None] = {}
    for rid, name in records.items():
        key = (name or "").strip().casefold()
        if key:
            index[key] = None if key in index else rid
    return index


class Ctx(MapContext):
    """One mapping run: the shared context (output, findings, problems, cell readers) and the users seen so far."""

    def __init__(self, files: dict, dates: Dates) -> None:
        super().__init__(files, dates)
        #: user_id -> [name, email, file, line] of the first cell that named the user
        self.users: dict[str, list] = {}

    def owner(self, cell: str, file: str, line: int | None) -> str | None:
        """The user id of an owner cell (an email address, or a name), remembering the user."""
        cell = (cell or "").strip()
        if not cell:
            return None
        m = _EMAIL.search(cell)
        if m:
            email = m.group(0).casefold()
            name = (cell[:m.start()] + cell[m.end():]).strip(" <>()[]\"'")
            uid = email
        else:
            email, name = "", cell
            uid = slug(cell) or cell
        known = self.users.get(uid)
        if known is None:
            self.users[uid] = [name, email, file, line]
        elif name and not known[0]:
            known[0] = name
        return uid

    def write_users(self) -> None:
        table = self.out.table("users")
        for uid, (name, email, file, line) in self.users.items():
            table.add(file, line, user_id=uid, name=name or None, email=email or None, role="rep")
