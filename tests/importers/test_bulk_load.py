"""The big-load path: indexes (and on PostgreSQL foreign keys) dropped and rebuilt around a load."""

import pytest
from django.db import connection

from bestby.activities.models import Touch
from bestby.importers import bulk
from bestby.importers.canonical import import_canonical
from bestby.importers.problems import ImportFailed
from bestby.pipeline.models import StageEvent
from tests.importers.folders import write_folder

pytestmark = pytest.mark.django_db


def _schema(model):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return {
        name: (tuple(c["columns"]), bool(c["unique"]), bool(c["index"]), c.get("foreign_key"))
        for name, c in constraints.items()
    }


@pytest.fixture
def big_load_path(monkeypatch):
    monkeypatch.setattr(bulk, "REBUILD_INDEXES_FROM", 1)


def test_every_index_and_key_is_back_after_a_big_load(tmp_path, big_load_path):
    before = {m: _schema(m) for m in (Touch, StageEvent)}
    # the touch indexes the questions of the day need are there to begin with
    touch_indexes = {cols for cols, unique, index, fk in before[Touch].values() if index and not unique}
    assert {("deal_id", "at"), ("contact_id", "at"), ("lead_id", "at"), ("at",)} <= touch_indexes
    import_canonical(write_folder(tmp_path / "in"))
    assert {m: _schema(m) for m in (Touch, StageEvent)} == before
    assert Touch.objects.count() == 2 and StageEvent.objects.count() == 6


def test_a_failed_big_load_leaves_schema_and_data_as_they_were(tmp_path, big_load_path):
    before = _schema(Touch)
    bad = write_folder(tmp_path / "bad", quotas=(
        "owner_id,period_start,period_end,amount\n"
        "nobody,2024-01-01,2024-03-31,50000\n"
    ))
    with pytest.raises(ImportFailed):
        import_canonical(bad)
    assert _schema(Touch) == before
    assert Touch.objects.count() == 0
