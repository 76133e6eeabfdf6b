"""The open book against a plain-Python reference: totals, card order and the clearance list, on random deals.

The reference filters the rows and orders them with successive stable sorts
(least significant key first), not with the book's composite keys, so a
wrong sign, a None handled as 0 or a missing tie-break shows up as a
different order.
"""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from bestby.clearance.openbook import OpenBook

STATES = ["fresh", "aging", "expired", "stalled", None]  # None: no freshness row (unknown)
STAGES = [11, 12, 13]
OWNERS = [1, 2, 3, 4, None]


def _rows(seed: int, n: int = 400) -> list[tuple]:
    rnd = random.Random(seed)
    rows = []
    for pk in rnd.sample(range(1, 10 * n), n):
        amount = None if rnd.random() < 0.1 else Decimal(rnd.choice([0, 100, 250, 1000, 5000]))  # ties on purpose
        state = rnd.choice(STATES)
        weight = None if state is None else rnd.choice([0.0, 100.0, 250.0, 1000.0])
        rows.append((pk, f"D{rnd.randrange(10 ** 6):06d}-{pk}", rnd.choice(STAGES), rnd.choice(OWNERS), amount,
                     state, weight))
    return rows


def _state(row):
    return row[5] or "unknown"


def _keep(row, owners, states):
    return (owners is None or row[3] in owners) and (states is None or _state(row) in states)


def _board_order(rows):
    rows = sorted(rows, key=lambda r: r[1])  # external id ascending
    rows = sorted(rows, key=lambda r: -(r[4] if r[4] is not None else 0))  # amount descending
    rows = sorted(rows, key=lambda r: r[4] is None)  # unknown amount last
    rows = sorted(rows, key=lambda r: -(r[6] if r[6] is not None else 0))  # weight descending
    return [r[0] for r in sorted(rows, key=lambda r: r[6] is None)]  # no freshness row last


def _clearance_order(rows):
    rows = sorted(rows, key=lambda r: r[1])
    return [r[0] for r in sorted(rows, key=lambda r: -(r[6] or 0))]


SCOPES = [None, frozenset({1}), frozenset({2, 3}), frozenset({None, 4}), frozenset({99}), frozenset()]
FILTERS = [None, frozenset({"expired"}), frozenset({"unknown", "fresh"})]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_totals_match_the_reference(seed):
    rows = _rows(seed)
    book = OpenBook("t", rows)
    assert book.size == len(rows)
    for owners in SCOPES:
        for states in FILTERS:
            got = book.totals(owners, states)
            for stage in STAGES:
                mine = [r for r in rows if r[2] == stage and _keep(r, owners, states)]
                fresh = [r for r in mine if _state(r) not in ("expired", "stalled")]
                t = got.get(stage)
                if not mine:
                    assert t is None
                    continue
                assert (t.deals, t.amount, t.fresh_deals, t.fresh_amount) == (
                    len(mine), sum((r[4] or 0) for r in mine), len(fresh), sum((r[4] or 0) for r in fresh))


@pytest.mark.parametrize("seed", [4, 5])
def test_cards_follow_the_board_order_page_by_page(seed):
    rows = _rows(seed)
    book = OpenBook("t", rows)
    for owners in SCOPES:
        for states in FILTERS:
            for stage in STAGES:
                expected = _board_order([r for r in rows if r[2] == stage and _keep(r, owners, states)])
                assert book.cards(stage, owners, states, limit=10 ** 6) == expected
                pages = [book.cards(stage, owners, states, offset=o, limit=7) for o in range(0, len(expected) + 7, 7)]
                assert [k for p in pages for k in p] == expected  # paging loses and repeats nothing
    assert book.cards(999) == []  # a stage without open deals


@pytest.mark.parametrize("seed", [6, 7])
def test_clearance_list_order_count_and_snoozed_deals(seed):
    rows = _rows(seed)
    book = OpenBook("t", rows)
    listed = [r for r in rows if r[5] in ("expired", "stalled")]
    snoozed = frozenset(r[0] for r in random.Random(seed).sample(listed, 5)) | {r[0] for r in rows if r[5] == "fresh"}
    for owners in SCOPES:
        mine = [r for r in listed if owners is None or r[3] in owners]
        expected = _clearance_order([r for r in mine if r[0] not in snoozed])
        total, keys = book.listed(owners, snoozed, limit=10 ** 6)
        assert (total, keys) == (len(expected), expected)
        assert book.listed(owners, snoozed, offset=3, limit=4) == (len(expected), expected[3:7])


def test_an_empty_book():
    book = OpenBook("", [])
    assert book.size == 0 and book.totals() == {} and book.cards(1) == [] and book.listed() == (0, [])


def _same(book: OpenBook, fresh: OpenBook) -> None:
    assert book.size == fresh.size
    for owners in SCOPES:
        for states in FILTERS:
            assert book.totals(owners, states) == fresh.totals(owners, states)
            for stage in STAGES:
                assert book.cards(stage, owners, states, limit=10 ** 6) == fresh.cards(stage, owners, states,
                                                                                         limit=10 ** 6)
        assert book.listed(owners, limit=10 ** 6) == fresh.listed(owners, limit=10 ** 6)
    # nothing left behind: no empty group lingers once its last deal moved away
    assert book._all_sums == fresh._all_sums and book._owner_sums == fresh._owner_sums
    assert book._owner_listed == fresh._owner_listed and book._listed_owner == fresh._listed_owner


@pytest.mark.parametrize("seed", [8, 9, 10])
def test_applying_changes_equals_building_afresh(seed):
    """Moves, edits, closes (a deal leaves), new deals and repeats, applied in place, give the same book
    as one built from the final rows."""
    rnd = random.Random(seed)
    rows = {r[0]: r for r in _rows(seed, n=200)}
    book = OpenBook("t0", list(rows.values()))
    for step in range(40):
        changed = rnd.sample(sorted(rows), 5)
        for pk in changed:
            r = list(rows[pk])
            what = rnd.randrange(5)
            if what == 0:
                r[2] = rnd.choice(STAGES)
            elif what == 1:
                r[3] = rnd.choice(OWNERS)
            elif what == 2:
                r[5] = rnd.choice(STATES)
                r[6] = None if r[5] is None else rnd.choice([0.0, 100.0, 250.0, 1000.0])
            elif what == 3:
                r[4] = None if rnd.random() < 0.2 else Decimal(rnd.choice([0, 100, 250]))
            rows[pk] = tuple(r)
            if what == 4:
                del rows[pk]  # won or lost: no longer open
        new = 10_000 + step
        rows[new] = (new, f"N{step:03d}", rnd.choice(STAGES), rnd.choice(OWNERS), Decimal(300), "stalled", 300.0)
        changed.append(new)
        book.apply(f"t{step + 1}", set(changed), [rows[pk] for pk in changed if pk in rows])
        assert book.token == f"t{step + 1}"
    _same(book, OpenBook("fresh", list(rows.values())))
