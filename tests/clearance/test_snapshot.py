"""The freshness cache: ``refresh`` stores exactly the engine's freshness of every open deal, and replaces it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from bestby.cli import app
from bestby.clearance.models import Freshness
from bestby.clearance.snapshot import computed_at, refresh
from bestby.engine.freshness import freshness
from bestby.engine.policy import ClearancePolicy
from bestby.engine.sources import folder_tables
from bestby.importers.canonical import import_canonical
from bestby.synth import write_synth

pytestmark = pytest.mark.django_db(transaction=True)
AS_OF = datetime(2025, 10, 1, tzinfo=UTC)


def test_refresh_stores_the_engine_rows_and_replaces_them(tmp_path):
    write_synth(tmp_path, deals=300, seed=5)
    import_canonical(tmp_path)
    assert computed_at() is None
    n = refresh(as_of=AS_OF)
    expected = {r["deal_id"]: r for r in freshness(folder_tables(tmp_path, as_of=AS_OF), as_of=AS_OF,
                                                   policy=ClearancePolicy())}
    stored = {f.deal.external_id: f for f in Freshness.objects.select_related("deal")}
    assert n == len(expected) == len(stored) and stored.keys() == expected.keys()
    for deal_id, f in stored.items():
        e = expected[deal_id]
        assert f.state == e["state"] and [x["code"] for x in f.reasons] == [x["code"] for x in e["reasons"]]
        assert f.best_by == e["best_by"] and f.close_date_pushes == e["close_date_pushes"]
        assert f.weight == pytest.approx((e["amount"] or 0) * max(1.0, e["staleness"] or 0))
    assert computed_at() == AS_OF
    later = datetime(2025, 12, 1, tzinfo=UTC)
    result = CliRunner().invoke(app, ["refresh", "--as-of", "2025-12-01"])
    assert result.exit_code == 0, result.output
    assert "Stored the freshness of" in result.stdout
    assert computed_at() == later and set(Freshness.objects.values_list("as_of", flat=True)) == {later}
