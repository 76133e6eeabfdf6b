"""What of a report document a user may see: the rows of :mod:`bestby.goals.reports` cut by role.

The reports compute over the whole store; the pages and the API show each
user the part their role allows, with the rules of :mod:`bestby.people.access`:

* an **admin** sees everything, the workspace line included;
* a **manager** sees the rows of the owners whose deals they may see
  (:func:`~bestby.people.access.owners_for`: themselves, their reports and
  their team) and their own team's row;
* a **rep** sees their own owner row only.

Rows that add up deals beyond those (the workspace line, the pipelines, a
funnel without segment, other teams) are workspace totals: only admins see
them. For non-admins the document keeps its shape (the same keys, so the API
schema holds) with the workspace figures set to None, and the deal lists
hold only deals of the owners they may see.
"""

from __future__ import annotations

from dataclasses import dataclass

from bestby.people import access

__all__ = ["Scope", "coverage_doc", "forecast_doc", "funnel_rows", "reverse_funnel_rows", "scope_for"]

_HEAD = ("period", "start", "end", "as_of", "groups", "deals")


@dataclass(frozen=True)
class Scope:
    """``owners`` (user external ids) and ``teams`` a user sees; ``owners`` None: everything (an admin)."""

    owners: frozenset[str] | None
    teams: frozenset[str] = frozenset()

    @property
    def everything(self) -> bool:
        return self.owners is None

    def sees(self, level: str, key: str | None) -> bool:
        """Whether the row of ``level`` (owner, team, pipeline, all) and ``key`` is visible."""
        if self.owners is None:
            return True
        if level == "owner":
            return key in self.owners
        if level == "team":
            return key in self.teams
        return False

    def sees_deal(self, owner_id: str | None) -> bool:
        return self.owners is None or owner_id in self.owners


def scope_for(user) -> Scope:
    """The scope of ``user`` (see the module docstring)."""
    if access.is_admin(user):
        return Scope(None)
    owners = frozenset(access.owners_for(user).values_list("external_id", flat=True))
    teams = frozenset([user.team]) if access.is_manager(user) and user.team else frozenset()
    return Scope(owners, teams)


def _cut(doc: dict, scope: Scope) -> dict:
    if scope.everything:
        return doc
    out = {k: (v if k in _HEAD else None) for k, v in doc.items()}
    out["groups"] = [g for g in doc["groups"] if scope.sees(g["level"], g["key"])]
    return out


def coverage_doc(doc: dict, scope: Scope) -> dict:
    """The coverage document with the rows ``scope`` sees (workspace figures None unless everything)."""
    return _cut(doc, scope)


def forecast_doc(doc: dict, scope: Scope) -> dict:
    """The forecast document with the rows and the deals ``scope`` sees."""
    out = _cut(doc, scope)
    out["deals"] = [d for d in doc["deals"] if scope.sees_deal(d["owner_id"])]
    return out


def reverse_funnel_rows(rows: list[dict], scope: Scope) -> list[dict]:
    return [r for r in rows if scope.sees(r["level"], r["key"])]


def funnel_rows(rows: list[dict], scope: Scope, by: str | None) -> list[dict]:
    """Funnel rows of the owners (``by="owner"``) or teams (``by="team"``) ``scope`` sees; the pipeline's
    rows (``by`` None) are workspace totals."""
    return [r for r in rows if scope.sees(by or "all", r["segment"])]
