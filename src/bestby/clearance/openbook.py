"""The open book: every open deal's stage, owner, amount and cached freshness, in memory, for the busiest pages.

Why it exists. The board's column totals and the clearance review's order
read every open deal a user may see: 100,000 in the speed target of the web
app. In SQLite an aggregate or a sort over them costs about 100 ms a query,
and a board needs one per column; ten users at once would queue for seconds.
Yet the answer only changes when a deal or the freshness cache is written.
So each server process keeps one compact copy of the open deals (one query
to build, a few seconds of CPU for 100,000 deals and ~20 MB), and answers
every user and filter from it until the data changes.

Consistency. :mod:`bestby.pipeline.revision` gives the ``open-deals`` topic a
new token in the same transaction as any write of a deal or of the freshness
cache. :func:`current` reads the token first (one primary-key lookup), then,
if it differs from the book's, rebuilds the book from the rows (one builder at
a time; the others wait and use its result). A page therefore shows every
write committed before its request began.

What the book holds, per open deal (status ``open``): its key, external id,
stage, owner (None: no owner), amount (None: unknown), cached state (``unknown``
without a freshness row, i.e. opened since the last refresh) and clearance
weight. From these:

``totals(owners, states)``
    per stage: count and amount of the deals, and of the *fresh* ones (every
    state but ``expired`` and ``stalled``; ``unknown`` counts as fresh, since
    nothing says it is stale). An unknown amount adds 0 to the sum.
``cards(stage, owners, states, offset, limit)``
    deal keys in board order: weight descending (deals without a freshness
    row last), then amount descending (unknown last), then external id
    (ascending, by code point: the same order on every database).
``listed(owners, exclude, offset, limit)``
    the clearance list (states ``expired`` and ``stalled``) in clearance order:
    weight descending, then external id; ``exclude`` (snoozed deals) is left
    out of the list and of its count.

``owners`` is a set of user keys whose deals count, or None for every deal
(an admin's view, deals without an owner included); ``states`` a set of
states, or None for all. Each query merges the pre-sorted lists of the
(owner, stage, state) groups it covers with :func:`heapq.merge`, so a page of
``limit`` cards costs O((offset + limit) log groups), not a sort.
"""

from __future__ import annotations

import heapq
import threading
from dataclasses import dataclass
from decimal import Decimal
from itertools import islice

from django.db import connection

from bestby.pipeline import revision
from bestby.pipeline.models import Deal, DealStatus

__all__ = ["LISTED", "STALE", "UNKNOWN", "OpenBook", "Sums", "current"]

UNKNOWN = "unknown"  # an open deal without a cached freshness row (opened since the last refresh)
STALE = ("expired", "stalled")  # what "fresh" totals leave out
LISTED = STALE  # what the clearance list holds

_ZERO = Decimal(0)


@dataclass
class Sums:
    deals: int = 0
    amount: Decimal = _ZERO
    fresh_deals: int = 0
    fresh_amount: Decimal = _ZERO


def _board_key(pk, external_id, amount, weight) -> tuple:
    return (weight is None, -(weight or 0.0), amount is None, -(amount or _ZERO), external_id, pk)


def _listed_key(pk, external_id, weight) -> tuple:
    return (-(weight or 0.0), external_id, pk)


class OpenBook:
    """The open deals at one revision token; see the module docstring for what each query answers.

    Each sum and sorted list is kept twice: over every owner (an admin's view:
    a handful of (stage, state) entries to read) and per owner (a manager's or
    rep's view: only their owners' entries), so neither view walks the other's.
    """

    def __init__(self, token: str, rows) -> None:
        """``rows``: (pk, external id, stage id, owner id, amount, state or None, weight or None) per open deal."""
        self.token = token
        all_sums: dict[tuple, list] = {}
        owner_sums: dict[object, dict[tuple, list]] = {}
        all_cards: dict[int, dict[str, list]] = {}
        owner_cards: dict[object, dict[int, dict[str, list]]] = {}
        all_listed: list = []
        owner_listed: dict[object, list] = {}
        listed_owner: dict[int, object] = {}
        n = 0
        for pk, external_id, stage, owner, amount, state, weight in rows:
            n += 1
            state = state or UNKNOWN
            amount_or_zero = _ZERO if amount is None else amount
            for sums in (all_sums, owner_sums.setdefault(owner, {})):
                s = sums.get((stage, state))
                if s is None:
                    s = sums[(stage, state)] = [0, _ZERO]
                s[0] += 1
                s[1] += amount_or_zero
            key = _board_key(pk, external_id, amount, weight)
            all_cards.setdefault(stage, {}).setdefault(state, []).append(key)
            owner_cards.setdefault(owner, {}).setdefault(stage, {}).setdefault(state, []).append(key)
            if state in LISTED:
                key = _listed_key(pk, external_id, weight)
                all_listed.append(key)
                owner_listed.setdefault(owner, []).append(key)
                listed_owner[pk] = owner
        for by_stage in (all_cards, *owner_cards.values()):
            for by_state in by_stage.values():
                for keys in by_state.values():
                    keys.sort()
        for keys in (all_listed, *owner_listed.values()):
            keys.sort()
        self.size = n
        self._all_sums, self._owner_sums = all_sums, owner_sums
        self._all_cards, self._owner_cards = all_cards, owner_cards
        self._all_listed, self._owner_listed, self._listed_owner = all_listed, owner_listed, listed_owner

    def totals(self, owners=None, states=None) -> dict[int, Sums]:
        """Per stage id: raw and fresh count and amount of the open deals of ``owners`` in ``states``."""
        parts = [self._all_sums] if owners is None else [self._owner_sums[o] for o in owners if o in self._owner_sums]
        out: dict[int, Sums] = {}
        for sums in parts:
            for (stage, state), (n, amount) in sums.items():
                if states is not None and state not in states:
                    continue
                t = out.get(stage)
                if t is None:
                    t = out[stage] = Sums()
                t.deals += n
                t.amount += amount
                if state not in STALE:
                    t.fresh_deals += n
                    t.fresh_amount += amount
        return out

    def cards(self, stage: int, owners=None, states=None, *, offset: int = 0, limit: int = 20) -> list[int]:
        """Deal keys of ``stage`` in board order, ``limit`` of them after the first ``offset``."""
        if owners is None:
            parts = [self._all_cards.get(stage, {})]
        else:
            parts = [self._owner_cards[o].get(stage, {}) for o in owners if o in self._owner_cards]
        lists = [keys for by_state in parts for state, keys in by_state.items() if states is None or state in states]
        return [key[-1] for key in islice(heapq.merge(*lists), offset, offset + limit)]

    def listed(self, owners=None, exclude=frozenset(), *, offset: int = 0, limit: int = 50) -> tuple[int, list[int]]:
        """(how many deals the clearance list holds, ``limit`` deal keys of it after the first ``offset``)."""
        if owners is None:
            lists = [self._all_listed]
        else:
            lists = [self._owner_listed[o] for o in owners if o in self._owner_listed]
        total = sum(map(len, lists)) - sum(
            1 for pk in exclude if pk in self._listed_owner and (owners is None or self._listed_owner[pk] in owners))
        keys = (key[-1] for key in heapq.merge(*lists) if key[-1] not in exclude)
        return total, list(islice(keys, offset, offset + limit))


def _rows():
    return (Deal.objects.filter(status=DealStatus.OPEN).order_by()
            .values_list("pk", "external_id", "stage_id", "owner_id", "amount", "freshness__state",
                         "freshness__weight").iterator(chunk_size=10_000))


_lock = threading.Lock()
_books: dict[str, OpenBook] = {}  # per database (tests and tools may switch databases in one process)


def current() -> OpenBook:
    """The book of the open deals as committed now (rebuilt when the ``open-deals`` token moved)."""
    database = str(connection.settings_dict["NAME"])
    token = revision.current()  # before the rows: see the module docstring
    book = _books.get(database)
    if book is not None and book.token == token:
        return book
    with _lock:
        book = _books.get(database)
        if book is None or book.token != token:
            book = _books[database] = OpenBook(token, _rows())
    return book
