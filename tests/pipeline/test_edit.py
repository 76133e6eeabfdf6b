"""The one edit use case behind the deal page and the API: all or nothing, version checked, even for no change."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from bestby.pipeline import services
from bestby.pipeline.models import Deal, Pipeline, Stage

pytestmark = pytest.mark.django_db
T0 = datetime(2025, 1, 6, tzinfo=timezone.utc)


@pytest.fixture
def deal():
    p = Pipeline.objects.create(name="default")
    q = Stage.objects.create(pipeline=p, name="Qualify", position=1)
    Stage.objects.create(pipeline=p, name="Proposal", position=2)
    return services.create_deal(external_id="D1", pipeline=p, stage=q, name="Old", amount=Decimal("100"),
                                close_date=date(2025, 3, 1), at=T0)


def test_every_part_goes_through_its_use_case_and_bumps_the_version(deal):
    proposal = Stage.objects.get(name="Proposal")
    out = services.edit_deal(deal=deal, expected_version=1, name="New", close_date=date(2025, 4, 1), stage=proposal,
                             confirm_past_close_date=True)
    assert (out.name, out.close_date, out.stage.name, out.version) == ("New", date(2025, 4, 1), "Proposal", 4)
    assert deal.stage_events.count() == 2 and deal.close_date_events.count() == 2


def test_a_stale_copy_is_refused_even_without_changes(deal):
    services.update_deal(deal=deal, name="Someone else", expected_version=1)
    with pytest.raises(services.StaleEdit, match="version"):
        services.edit_deal(deal=deal, expected_version=1, name="Someone else")
    with pytest.raises(services.StaleEdit):
        services.edit_deal(deal=deal, expected_version=1, name="Mine", amount=Decimal("5"))
    assert Deal.objects.get(pk=deal.pk).name == "Someone else"


def test_all_or_nothing(deal):
    # the plain fields pass, then the lost reason without a move to a lost stage is refused: nothing stays
    with pytest.raises(services.DealError, match="lost_reason"):
        services.edit_deal(deal=deal, expected_version=1, name="New", lost_reason="price")
    row = Deal.objects.get(pk=deal.pk)
    assert (row.name, row.version) == ("Old", 1)
