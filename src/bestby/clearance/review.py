"""The cached clearance list a user may act on: one place for the review page and the API.

The list is the open deals whose cached freshness (:class:`~bestby.clearance.models.Freshness`)
is ``expired`` or ``stalled``, that the user may see (:mod:`bestby.people.access`),
and that no snooze keeps off it on ``today`` (a snooze not undone whose
``until`` is after today). Order: clearance weight descending, then external
id (:mod:`bestby.clearance.openbook`, which also counts it without a query
over the whole list).
"""

from __future__ import annotations

from datetime import date

from bestby import clock
from bestby.clearance import openbook
from bestby.clearance.models import ActionKind, ClearanceAction, Freshness
from bestby.people import access

__all__ = ["cached_list", "snoozed_deal_keys"]


def snoozed_deal_keys(today: date) -> frozenset[int]:
    """Keys of the deals an active snooze keeps off the list on ``today``."""
    return frozenset(ClearanceAction.objects.filter(kind=ActionKind.SNOOZE, until__gt=today, undone_by__isnull=True)
                     .values_list("deal_id", flat=True))


def cached_list(user, *, offset: int = 0, limit: int = 50, today: date | None = None) -> tuple[int, list[Freshness]]:
    """(how many deals the user's clearance list holds, its rows from ``offset``, at most ``limit``)."""
    today = today or clock.today()
    book = openbook.current()
    total, keys = book.listed(access.owner_ids_for(user), snoozed_deal_keys(today), offset=offset, limit=limit)
    rows = Freshness.objects.select_related("deal", "deal__owner", "deal__stage").in_bulk(keys, field_name="deal_id")
    return total, [rows[k] for k in keys if k in rows]
