"""History is append-only and automatic when deals change through services."""

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from bestby.audit.models import AuditEntry
from bestby.history import AppendOnlyError
from bestby.people.models import User
from bestby.pipeline import services
from bestby.pipeline.models import CloseDateEvent, Deal, Pipeline, Stage, StageEvent

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def process():
    p = Pipeline.objects.create(name="default")
    stages = {
        name: Stage.objects.create(pipeline=p, name=name, position=i, kind=kind)
        for i, (name, kind) in enumerate(
            [("Qualify", "open"), ("Proof", "open"), ("Won", "won"), ("Lost", "lost")], start=1
        )
    }
    rep = User.objects.create(username="r", external_id="r", role="rep")
    return p, stages, rep


def test_create_move_and_close_write_events_and_closed_at(process):
    p, s, rep = process
    deal = services.create_deal(external_id="D1", pipeline=p, stage=s["Qualify"], owner=rep, by=rep,
                                amount=Decimal("100"), close_date=date(2025, 3, 31), at=T0)
    services.move_deal(deal=deal, to_stage=s["Proof"], by=rep, at=T0 + timedelta(days=10))
    services.change_close_date(deal=deal, close_date=date(2025, 4, 30), by=rep, at=T0 + timedelta(days=11))
    deal = services.move_deal(deal=deal, to_stage=s["Won"], by=rep, at=T0 + timedelta(days=20))
    deal.refresh_from_db()
    assert deal.status == "won" and deal.closed_at == T0 + timedelta(days=20)
    moves = list(StageEvent.objects.filter(deal=deal).order_by("at").values_list("from_stage__name", "to_stage__name"))
    assert moves == [(None, "Qualify"), ("Qualify", "Proof"), ("Proof", "Won")]
    pushes = list(CloseDateEvent.objects.filter(deal=deal).order_by("at").values_list("old_close_date", "new_close_date"))
    assert pushes == [(None, date(2025, 3, 31)), (date(2025, 3, 31), date(2025, 4, 30))]
    assert list(AuditEntry.objects.filter(object_id="D1").order_by("at", "id").values_list("action", flat=True)) == [
        "deal.create", "deal.move", "deal.close_date", "deal.move"]
    # re-opening clears closed_at and is history too
    deal = services.move_deal(deal=deal, to_stage=s["Proof"], by=rep, at=T0 + timedelta(days=21))
    assert deal.closed_at is None and deal.status == "open"
    assert StageEvent.objects.filter(deal=deal).count() == 4


def test_events_cannot_be_rewritten_or_removed(process):
    p, s, rep = process
    deal = services.create_deal(external_id="D1", pipeline=p, stage=s["Qualify"], at=T0)
    event = StageEvent.objects.get(deal=deal)
    event.at = T0 + timedelta(days=1)
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        StageEvent.objects.filter(deal=deal).update(at=T0)
    with pytest.raises(AppendOnlyError):
        StageEvent.objects.filter(deal=deal).delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()
    assert StageEvent.objects.get(deal=deal).at == T0


def test_stale_edit_is_refused_and_nothing_is_lost(process):
    p, s, rep = process
    deal = services.create_deal(external_id="D1", pipeline=p, stage=s["Qualify"], at=T0, amount=Decimal("10"))
    copy_a = Deal.objects.get(pk=deal.pk)
    copy_b = Deal.objects.get(pk=deal.pk)
    services.update_deal(deal=copy_a, amount=Decimal("20"), expected_version=copy_a.version)
    with pytest.raises(services.StaleEdit, match="version"):
        services.update_deal(deal=copy_b, amount=Decimal("30"), expected_version=copy_b.version)
    assert Deal.objects.get(pk=deal.pk).amount == Decimal("20")


def test_stage_of_another_pipeline_and_backdated_move_are_refused(process):
    p, s, rep = process
    other = Pipeline.objects.create(name="other")
    foreign = Stage.objects.create(pipeline=other, name="X", position=1)
    deal = services.create_deal(external_id="D1", pipeline=p, stage=s["Qualify"], at=T0)
    with pytest.raises(services.DealError, match="stage"):
        services.move_deal(deal=deal, to_stage=foreign)
    with pytest.raises(services.DealError, match="at"):
        services.move_deal(deal=deal, to_stage=s["Proof"], at=T0 - timedelta(days=1))
    assert StageEvent.objects.filter(deal=deal).count() == 1
