from decimal import Decimal

import pytest

from bestby.importers.canonical import import_canonical
from bestby.pipeline.models import CloseDateEvent, Deal, StageEvent
from bestby.people.models import User
from tests.importers.folders import write_folder

pytestmark = pytest.mark.django_db


def test_hand_folder_imports_with_counts_and_references(tmp_path):
    report = import_canonical(write_folder(tmp_path / "in"))
    assert {k: v.created for k, v in report.files.items()} == {
        "users": 2, "stages": 4, "accounts": 2, "deals": 3, "stage_events": 6,
        "close_date_events": 2, "touches": 2, "quotas": 2,
    }
    d1 = Deal.objects.get(external_id="d1")
    assert d1.owner.external_id == "u-rep1" and d1.owner.manager.external_id == "u-mgr"
    assert d1.amount == Decimal("12000.50") and d1.stage.name == "Proposal" and d1.status == "open"
    d2 = Deal.objects.get(external_id="d2")
    # 16:30 at +01:00 is 15:30 UTC
    assert d2.closed_at.isoformat() == "2024-03-01T15:30:00+00:00"
    assert StageEvent.objects.filter(deal=d1).count() == 2
    assert CloseDateEvent.objects.filter(deal=d1).count() == 2
    assert not User.objects.get(external_id="u-rep1").has_usable_password()


def test_second_import_reports_every_row_unchanged(tmp_path):
    folder = write_folder(tmp_path / "in")
    import_canonical(folder)
    report = import_canonical(folder)
    assert all(c.created == 0 and c.updated == 0 for c in report.files.values())
    assert sum(c.unchanged for c in report.files.values()) == 23
