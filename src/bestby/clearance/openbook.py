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
new token, and writes a :class:`~bestby.pipeline.models.DealChange` note
naming the deal (or None: many deals), in the same transaction as any write of
a deal, a stage, a pipeline or the freshness cache. :func:`current` reads the
token first (one primary-key lookup); when it differs from the book's, it
brings the book up to date (one thread at a time; the others wait and use the
result), so a page shows every write committed before its request began:

* it reads the notes of the last ``WINDOW`` (15 minutes) and takes those it
  has not applied yet (it remembers applied note keys, not a high-water mark:
  on PostgreSQL a note with a smaller key can commit after one with a larger
  key);
* a None note, or a book older than ``FULL_EVERY`` (1 hour), means a full
  rebuild (one query, ~2 s per 100,000 open deals);
* otherwise it reads the current rows of just the named deals and replaces
  their entries (a deal no longer open leaves the book): milliseconds.

Re-reading a deal is idempotent, so reading a note twice is harmless. A
transaction that commits more than ``WINDOW`` after its note was written
would be missed until the next full rebuild, which ``FULL_EVERY`` bounds.
Clocks: notes carry the writing server's UTC time; servers of one install
must keep their clocks within a few minutes of each other (NTP), well inside
``WINDOW``.

What the book holds, per open deal (status ``open``): its key, external id,
stage, owner (None: no owner), amount (None: unknown), cached state (``unknown``
without a freshness row, i.e. opened since the last refresh) and clearance
weight. From these:

``totals(owners, states)``
    per stage: count and amount of the deals, and of the *fresh* ones (every
    state but ``expired`` and ``stalled``; ``unknown`` counts as fresh, since
    nothing says it is stale). An unknown amount adds 0 to the sum, and so does one outside what a
    deal's amount keeps (stored before bounds were checked: its card shows it as invalid).
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

import bisect
import heapq
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import islice

from django.db import connection

from bestby import clock
from bestby.bounds import EXACT_DIGITS, DecimalBound
from bestby.pipeline import revision
from bestby.pipeline.models import Deal, DealChange, DealStatus

__all__ = ["LISTED", "STALE", "UNKNOWN", "OpenBook", "Sums", "current"]

UNKNOWN = "unknown"  # an open deal without a cached freshness row (opened since the last refresh)
STALE = ("expired", "stalled")  # what "fresh" totals leave out
LISTED = STALE  # what the clearance list holds

_LARGEST = DecimalBound(EXACT_DIGITS, 2).largest  # of a deal's amount (bestby.columns: pipeline.Deal.amount)
_ZERO = Decimal(0)


@dataclass
class Sums:
    deals: int = 0
    amount: Decimal = _ZERO
    fresh_deals: int = 0
    fresh_amount: Decimal = _ZERO


def _delete_sorted(keys: list, key) -> None:
    i = bisect.bisect_left(keys, key)
    del keys[i]  # the key is there (each deal's keys are unique: they end in its key)


def _discard(by_state: dict, state: str, key) -> None:
    _delete_sorted(by_state[state], key)
    if not by_state[state]:
        del by_state[state]


def _board_key(pk, external_id, amount, weight) -> tuple:
    return (weight is None, -(weight or 0.0), amount is None, -(amount or _ZERO), external_id, pk)


def _listed_key(pk, external_id, weight) -> tuple:
    return (-(weight or 0.0), external_id, pk)


class OpenBook:
    """The open deals at one revision token; see the module docstring for what each query answers.

    Each sum and sorted list is kept twice: over every owner (an admin's view:
    a handful of (stage, state) entries to read) and per owner (a manager's or
    rep's view: only their owners' entries), so neither view walks the other's.
    :meth:`apply` replaces single deals in place (sorted inserts and deletes);
    every method holds the book's lock, so a query never sees half an update.
    """

    def __init__(self, token: str, rows) -> None:
        """``rows``: (pk, external id, stage id, owner id, amount, state or None, weight or None) per open deal."""
        self.token = token
        self._lock = threading.RLock()
        self._entries: dict[int, tuple] = {}
        self._all_sums: dict[tuple, list] = {}
        self._owner_sums: dict[object, dict[tuple, list]] = {}
        self._all_cards: dict[int, dict[str, list]] = {}
        self._owner_cards: dict[object, dict[int, dict[str, list]]] = {}
        self._all_listed: list = []
        self._owner_listed: dict[object, list] = {}
        self._listed_owner: dict[int, object] = {}
        for row in rows:
            self._add(row, sort=False)
        for by_stage in (self._all_cards, *self._owner_cards.values()):
            for by_state in by_stage.values():
                for keys in by_state.values():
                    keys.sort()
        for keys in (self._all_listed, *self._owner_listed.values()):
            keys.sort()

    @property
    def size(self) -> int:
        return len(self._entries)

    # ------------------------------------------------------------ updates

    def _add(self, row, *, sort: bool = True) -> None:
        pk, external_id, stage, owner, amount, state, weight = row
        state = state or UNKNOWN
        amount_or_zero = _ZERO if amount is None or not -_LARGEST <= amount <= _LARGEST else amount
        for sums in (self._all_sums, self._owner_sums.setdefault(owner, {})):
            s = sums.get((stage, state))
            if s is None:
                s = sums[(stage, state)] = [0, _ZERO]
            s[0] += 1
            s[1] += amount_or_zero
        put = bisect.insort if sort else list.append
        card = _board_key(pk, external_id, amount, weight)
        put(self._all_cards.setdefault(stage, {}).setdefault(state, []), card)
        put(self._owner_cards.setdefault(owner, {}).setdefault(stage, {}).setdefault(state, []), card)
        listed = None
        if state in LISTED:
            listed = _listed_key(pk, external_id, weight)
            put(self._all_listed, listed)
            put(self._owner_listed.setdefault(owner, []), listed)
            self._listed_owner[pk] = owner
        self._entries[pk] = (stage, owner, state, amount_or_zero, card, listed)

    def _remove(self, pk: int) -> None:
        stage, owner, state, amount_or_zero, card, listed = self._entries.pop(pk)
        for sums in (self._all_sums, self._owner_sums[owner]):
            s = sums[(stage, state)]
            s[0] -= 1
            s[1] -= amount_or_zero
            if not s[0]:
                del sums[(stage, state)]
        if not self._owner_sums[owner]:
            del self._owner_sums[owner]
        _discard(self._all_cards[stage], state, card)
        _discard(self._owner_cards[owner][stage], state, card)
        if not self._owner_cards[owner][stage]:
            del self._owner_cards[owner][stage]
            if not self._owner_cards[owner]:
                del self._owner_cards[owner]
        if listed is not None:
            _delete_sorted(self._all_listed, listed)
            _delete_sorted(self._owner_listed[owner], listed)
            if not self._owner_listed[owner]:
                del self._owner_listed[owner]
            del self._listed_owner[pk]

    def apply(self, token: str, pks, rows) -> None:
        """Bring the deals ``pks`` up to date: ``rows`` are the current rows of those of them still open."""
        with self._lock:
            for pk in pks:
                if pk in self._entries:
                    self._remove(pk)
            for row in rows:
                if row[0] in self._entries:  # named twice: the later row wins
                    self._remove(row[0])
                self._add(row)
            self.token = token

    def totals(self, owners=None, states=None) -> dict[int, Sums]:
        """Per stage id: raw and fresh count and amount of the open deals of ``owners`` in ``states``."""
        with self._lock:
            return self._totals(owners, states)

    def _totals(self, owners, states) -> dict[int, Sums]:
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
        with self._lock:
            return self._cards(stage, owners, states, offset, limit)

    def _cards(self, stage, owners, states, offset, limit) -> list[int]:
        if owners is None:
            parts = [self._all_cards.get(stage, {})]
        else:
            parts = [self._owner_cards[o].get(stage, {}) for o in owners if o in self._owner_cards]
        lists = [keys for by_state in parts for state, keys in by_state.items() if states is None or state in states]
        return [key[-1] for key in islice(heapq.merge(*lists), offset, offset + limit)]

    def listed(self, owners=None, exclude=frozenset(), *, offset: int = 0, limit: int = 50) -> tuple[int, list[int]]:
        """(how many deals the clearance list holds, ``limit`` deal keys of it after the first ``offset``)."""
        with self._lock:
            return self._listed_page(owners, exclude, offset, limit)

    def _listed_page(self, owners, exclude, offset, limit) -> tuple[int, list[int]]:
        if owners is None:
            lists = [self._all_listed]
        else:
            lists = [self._owner_listed[o] for o in owners if o in self._owner_listed]
        total = sum(map(len, lists)) - sum(
            1 for pk in exclude if pk in self._listed_owner and (owners is None or self._listed_owner[pk] in owners))
        keys = (key[-1] for key in heapq.merge(*lists) if key[-1] not in exclude)
        return total, list(islice(keys, offset, offset + limit))


_FIELDS = ("pk", "external_id", "stage_id", "owner_id", "amount", "freshness__state", "freshness__weight")
WINDOW = timedelta(minutes=15)  # notes this recent are read: far longer than a page's or an import's transaction
FULL_EVERY = timedelta(hours=1)  # the safety net for a transaction longer than WINDOW (a rebuild costs ~2 s)


def _rows(pks=None):
    deals = Deal.objects.filter(status=DealStatus.OPEN).order_by()
    if pks is not None:
        deals = deals.filter(pk__in=pks)
    return deals.values_list(*_FIELDS).iterator(chunk_size=10_000)


class _Held:
    """A book with what it knows of the change notes: when it was built, the note tokens it has applied."""

    def __init__(self, book: OpenBook, built: datetime, applied: dict[str, datetime]) -> None:
        self.book, self.built, self.applied = book, built, applied


_lock = threading.Lock()
_held: dict[str, _Held] = {}  # per database (tests and tools may switch databases in one process)
stats = {"builds": 0, "updates": 0, "private": 0}  # for tests and benchmarks: how books were made


def _notes(since: datetime) -> list[tuple[str, int | None, datetime]]:
    return list(DealChange.objects.filter(at__gte=since).values_list("token", "deal_id", "at"))


def _build(token: str, now: datetime) -> _Held:
    notes = _notes(now - WINDOW)  # before the rows: a note read here is in them
    book = OpenBook(token, _rows())
    stats["builds"] += 1
    return _Held(book, now, {t: at for t, _deal, at in notes})


def _update(held: _Held, token: str, now: datetime) -> _Held:
    """Apply the notes written since the book's own token's note; rebuild when that is not possible."""
    if now - held.built > FULL_EVERY:
        return _build(token, now)
    if held.book.token:
        anchor = DealChange.objects.filter(token=held.book.token).values_list("at", flat=True).first()
        if anchor is None:  # the book's history is not in this database (restored, flushed): start over
            return _build(token, now)
    else:
        anchor = held.built
    notes = [n for n in _notes(min(anchor, now) - WINDOW) if n[0] not in held.applied]
    if any(deal is None for _t, deal, _at in notes):
        return _build(token, now)
    pks = {deal for _t, deal, _at in notes}
    held.book.apply(token, pks, _rows(pks) if pks else ())
    stats["updates"] += 1
    horizon = min(anchor, now) - WINDOW - WINDOW
    held.applied = {t: at for t, at in held.applied.items() if at >= horizon}
    held.applied.update((t, at) for t, _deal, at in notes)
    return held


def current() -> OpenBook:
    """The book of the open deals as committed now (updated or rebuilt when the ``open-deals`` token moved).

    Inside a transaction (``atomic``) the caller may see its own uncommitted
    writes, which may yet roll back: it gets a private book built from what it
    sees, and the shared one is left alone.
    """
    database = str(connection.settings_dict["NAME"])
    token = revision.current()  # before the notes and rows: see the module docstring
    held = _held.get(database)
    if held is not None and held.book.token == token:
        return held.book
    if connection.in_atomic_block:
        stats["private"] += 1
        return OpenBook(token, _rows())
    with _lock:
        held = _held.get(database)
        if held is None or held.book.token != token:
            now = clock.wall()
            held = _held[database] = _build(token, now) if held is None else _update(held, token, now)
    return held.book
