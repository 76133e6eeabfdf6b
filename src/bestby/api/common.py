"""Shared helpers of the routers: paging, lookups through the access rules, and rows as response dicts."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from bestby.api.errors import FieldError, not_found
from bestby.people import access
from bestby.people.models import User

MAX_LIMIT = 500


def page(qs: QuerySet, limit: int, offset: int, row) -> dict:
    """One page of ``qs`` (already filtered through the access rules), each record made a dict by ``row``."""
    return {"count": qs.count(), "limit": limit, "offset": offset, "items": [row(x) for x in qs[offset:offset + limit]]}


def visible(qs: QuerySet, what: str, key: str):
    """The record of ``qs`` with external id ``key``, or 404 (missing and not visible look the same)."""
    found = qs.filter(external_id=key).first()
    if found is None:
        raise not_found(what, key)
    return found


def ref(qs: QuerySet, field: str, key: str | None):
    """A record named in a request body (must be one the user may see), or None; else 422 naming ``field``."""
    if key is None:
        return None
    found = qs.filter(external_id=key).first()
    if found is None:
        raise FieldError(422, field, f"no {field} {key!r} (or you may not see it)")
    return found


def owner_ref(user, key: str | None, *, field: str = "owner") -> User | None:
    """A user the caller may assign records to: one whose deals the caller may see."""
    return ref(access.owners_for(user), field, key)


def new_id(kind: str) -> str:
    return f"api-{kind}-{uuid.uuid4().hex[:12]}"


def ext(obj) -> str | None:
    return obj.external_id if obj is not None else None


try:  # ninja >= 1.5 (a tuple still works, with a deprecation warning)
    from ninja import Status
except ImportError:  # pragma: no cover - older ninja
    def Status(status_code: int, value):  # noqa: N802
        return status_code, value


def created(value):
    """A 201 response."""
    return Status(201, value)
