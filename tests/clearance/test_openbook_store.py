"""The open book stays true to the store: every kind of write moves the revision token and the next read sees it.

Real commits (``transaction=True``): a cached book is only ever reused while
the ``open-deals`` token it was built at is still the committed one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import transaction

from bestby.clearance import openbook, services as clearance
from bestby.clearance.snapshot import refresh
from bestby.importers.canonical import import_canonical
from bestby.pipeline import revision, services
from bestby.pipeline.models import Deal, Pipeline, Stage
from bestby.synth import write_synth

pytestmark = pytest.mark.django_db(transaction=True)
T0 = datetime(2025, 1, 6, tzinfo=UTC)


@pytest.fixture
def stages():
    p = Pipeline.objects.create(name="New business")
    qualify = Stage.objects.create(pipeline=p, name="Qualify", position=1, kind="open")
    propose = Stage.objects.create(pipeline=p, name="Propose", position=2, kind="open")
    Stage.objects.create(pipeline=p, name="Won", position=3, kind="won")
    Stage.objects.create(pipeline=p, name="Lost", position=4, kind="lost")
    return p, qualify, propose


def _counts(book, stage) -> tuple[int, Decimal]:
    t = book.totals().get(stage.pk)
    return (t.deals, t.amount) if t else (0, Decimal(0))


def test_each_write_moves_the_token_and_the_book_follows(stages):
    p, qualify, propose = stages
    before = revision.current()
    deal = services.create_deal(external_id="A1", pipeline=p, stage=qualify, amount=Decimal(100), at=T0)
    assert revision.current() != before
    book = openbook.current()
    assert _counts(book, qualify) == (1, Decimal(100)) and book.cards(qualify.pk) == [deal.pk]
    assert openbook.current() is book  # nothing written: the same book, no rebuild

    token = revision.current()
    services.move_deal(deal=deal, to_stage=propose, at=T0)
    assert revision.current() != token
    book = openbook.current()
    assert _counts(book, qualify) == (0, 0) and _counts(book, propose) == (1, Decimal(100))

    deal.refresh_from_db()
    services.edit_deal(deal=deal, expected_version=deal.version, amount=Decimal(250))
    assert _counts(openbook.current(), propose) == (1, Decimal(250))

    [action] = clearance.clear(deals=["A1"], reason="dead", to="lost")
    assert openbook.current().size == 0  # lost: no longer open
    clearance.undo(action=action, reason="not dead")
    assert _counts(openbook.current(), propose) == (1, Decimal(250))

    Deal.objects.filter(pk=deal.pk).first().save()  # a plain save (the admin site, a script) moves it too
    assert revision.current() != token


def test_a_rolled_back_write_is_never_served(stages):
    p, qualify, _ = stages
    services.create_deal(external_id="A1", pipeline=p, stage=qualify, amount=Decimal(100), at=T0)
    assert openbook.current().size == 1

    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        services.create_deal(external_id="A2", pipeline=p, stage=qualify, amount=Decimal(5), at=T0)
        assert openbook.current().size == 2  # inside the transaction its own write is seen
        raise Abort
    book = openbook.current()
    assert book.size == 1 and _counts(book, qualify) == (1, Decimal(100))
    # a later committed write is seen too (a counter could have come back to the rolled-back value here)
    services.create_deal(external_id="A3", pipeline=p, stage=qualify, amount=Decimal(7), at=T0)
    assert _counts(openbook.current(), qualify) == (2, Decimal(107))


def test_bulk_import_and_refresh_move_the_token(tmp_path):
    write_synth(tmp_path, deals=200, seed=3)
    token = revision.current()
    import_canonical(tmp_path)  # the bulk loader sends no signals
    assert revision.current() != token
    book = openbook.current()
    assert book.size == Deal.objects.filter(status="open").count() > 0
    assert set(s for (_stage, s) in book._all_sums) == {"unknown"}  # no freshness computed yet
    token = revision.current()
    refresh()  # now: every deal open now gets a row
    assert revision.current() != token
    states = {s for (_stage, s) in openbook.current()._all_sums}
    assert "unknown" not in states and states <= {"fresh", "aging", "expired", "stalled"}


def test_single_writes_update_in_place_and_bulk_or_unknown_history_rebuild(stages):
    from bestby.pipeline.models import DealChange

    p, qualify, propose = stages
    deals = [services.create_deal(external_id=f"B{i}", pipeline=p, stage=qualify, amount=Decimal(10 * (i + 1)), at=T0)
             for i in range(4)]
    book = openbook.current()
    counts = dict(openbook.stats)
    services.move_deal(deal=deals[0], to_stage=propose, at=T0)
    services.move_deal(deal=deals[1], to_stage=propose, at=T0)  # two writes, one update
    assert openbook.current() is book
    assert openbook.stats["updates"] == counts["updates"] + 1 and openbook.stats["builds"] == counts["builds"]
    assert _counts(book, qualify) == (2, Decimal(70)) and _counts(book, propose) == (2, Decimal(30))
    assert book.cards(propose.pk) == [deals[1].pk, deals[0].pk]  # 20 before 10

    qualify.name = "Qualify first"
    qualify.save()  # a stage write concerns many deals: rebuild
    assert openbook.current() is not book and openbook.stats["builds"] == counts["builds"] + 1
    book = openbook.current()

    DealChange.objects.all().delete()  # the book's history is gone (a restored backup, a flushed database)
    services.move_deal(deal=deals[2], to_stage=propose, at=T0)
    assert openbook.current() is not book and openbook.stats["builds"] == counts["builds"] + 2
    assert _counts(openbook.current(), propose) == (3, Decimal(60))


def test_a_transaction_gets_a_private_book(stages):
    p, qualify, _ = stages
    services.create_deal(external_id="C1", pipeline=p, stage=qualify, amount=Decimal(1), at=T0)
    shared = openbook.current()
    private = openbook.stats["private"]
    with transaction.atomic():
        services.create_deal(external_id="C2", pipeline=p, stage=qualify, amount=Decimal(2), at=T0)
        inside = openbook.current()
        assert inside is not shared and inside.size == 2 and openbook.stats["private"] == private + 1
        assert shared.size == 1  # the shared book never holds what may yet roll back
    assert openbook.current() is shared and shared.size == 2  # committed: the shared book catches up in place
