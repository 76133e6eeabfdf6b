"""Shared helpers of the routers: paging, lookups through the access rules, and rows as response dicts."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from bestby.api.errors import FieldError, not_found
from bestby.people import access
from bestby.people.models import User

MAX_LIMIT = 500
#: the largest offset a list accepts: far above any store, far below the 2**63 a database refuses (bestby.bounds.POSITION)
MAX_OFFSET = 1_000_000_000


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


#: the one answer to an id chosen by someone who may not choose ids: the same whether the id is free, theirs,
#: or another team's, so it tells nothing about what exists (see new_external_id)
ID_NOT_YOURS = "only an admin chooses the id of a new record; leave id out and a new one is made"


def new_external_id(user, model, kind: str, key: str | None) -> str:
    """The external id of a record ``user`` is creating: ``key`` if they may choose it and it is free, else a new one.

    Why only admins choose (:func:`bestby.people.access.may_choose_ids`): the
    id space is unique across every team, so whoever picks an id can always
    tell a taken one from a free one (a free one is created, 201; a taken one
    cannot be). When a rep could pick ids, "taken" answered for another
    team's deal that reading it answered 404 for: an existence oracle, and
    no wording of the refusal removes it, since the 201 of a free id is the
    other half of the oracle. So anyone who may not see every record gets one
    answer to any id they send, free, theirs or hidden (422 ``id``,
    :data:`ID_NOT_YOURS`, before any lookup, hence the same queries and time),
    and leaves it out to get a random one (``api-deal-3f9c...``, which
    collides with nothing). Admins see every record, so a 409 for a taken id
    tells them nothing they could not read; an integration that keeps a CRM's
    ids runs with an admin's token, as imports do.
    """
    if key is None:
        return new_id(kind)
    if not access.may_choose_ids(user):
        raise FieldError(422, "id", ID_NOT_YOURS)
    if model.objects.filter(external_id=key).exists():
        raise taken(kind, key)
    return key


def taken(kind: str, key: str) -> FieldError:
    """The 409 of an id that is taken (only an admin, who sees every record, can meet it)."""
    return FieldError(409, "id", f"a {kind} {key!r} already exists")


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
