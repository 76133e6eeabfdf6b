"""The win model gives the same chances on the store (SQLite via DuckDB, or PostgreSQL) as on the folder.

Synth data has enough closed deals (>= 20 per stage) for every stage curve;
the folder side is DuckDB on the files, the store side whichever database the
pass runs on. Data is committed (``transaction=True``): the engine reads the
store through a second connection.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from bestby.engine.freshness import freshness
from bestby.engine.policy import ClearancePolicy
from bestby.engine.sources import folder_tables
from bestby.engine.win import win_model
from bestby.importers.canonical import import_canonical
from bestby.pipeline.analytics import store_source
from bestby.synth import write_synth

pytestmark = pytest.mark.django_db(transaction=True)
AS_OF = datetime(2025, 9, 30, tzinfo=UTC)


def test_win_chances_agree_between_folder_and_store(tmp_path):
    write_synth(tmp_path, deals=400, seed=11)
    import_canonical(tmp_path)
    folder, store = folder_tables(tmp_path, as_of=AS_OF), store_source(AS_OF)
    a, b = win_model(folder, as_of=AS_OF), win_model(store, as_of=AS_OF)
    assert set(a.pipelines) == set(b.pipelines) and set(a.stages) == set(b.stages)
    for key, fit in a.stages.items():
        other = b.stages[key]
        assert (fit.n, fit.n_won, fit.n_lost, fit.fallback) == (other.n, other.n_won, other.n_lost, other.fallback)
    wide = a.pipelines["default"]
    assert wide.n_won + wide.n_lost >= 20  # the model is on: probabilities are numbers
    rows_a = {r["deal_id"]: r for r in freshness(folder, as_of=AS_OF, policy=ClearancePolicy())}
    rows_b = {r["deal_id"]: r for r in freshness(store, as_of=AS_OF, policy=ClearancePolicy())}
    assert rows_a.keys() == rows_b.keys() and rows_a
    probs = [(rows_a[k]["win_probability"], rows_b[k]["win_probability"]) for k in rows_a]
    assert all(p is not None for p, _ in probs)
    assert all(math.isclose(p, q, rel_tol=1e-9, abs_tol=1e-12) for p, q in probs)
    assert [rows_a[k]["state"] for k in rows_a] == [rows_b[k]["state"] for k in rows_a]
