"""Every analytic on every backend against the plain-Python reference (``reference.py``).

Written once (:class:`Conformance`), run on each backend:

``duckdb-csv`` / ``duckdb-parquet``
    :func:`bestby.engine.sources.folder_tables` on the case's CSV folder and
    on the same folder converted to Parquet. No database: these run in the
    SQLite pass only (the PostgreSQL pass keeps only tests that use the DB).
``store-sqlite`` / ``store-postgresql``
    The case imported into the current Django database
    (:func:`bestby.importers.canonical.import_canonical`) and read back with
    :func:`bestby.pipeline.analytics.store_source`. The backend's name comes
    from the database Django is configured with, so it is ``store-sqlite`` in
    the SQLite pass and ``store-postgresql`` in the PostgreSQL pass;
    ``test_compute_backend`` checks that the analytics really run there
    (DuckDB fed from SQLite, or PostgreSQL itself).

The store imports each case once for all its points: a class-scoped fixture
unblocks the test database (``django_db_setup``), flushes it and imports,
outside any test transaction, so the data is committed (the engine reads it
through a second connection); it flushes again when the case changes and at
the end, as a transactional test does, leaving the database as migrated. The
tests carry a plain ``django_db`` mark (it makes pytest-django create the
test database and the PostgreSQL pass keep them); ``transaction=True`` would
flush after every test and force one import per test.

Each test compares one analytic at one point (a case and an as_of): the cut
tables, shelf life (``days`` to 1e-6 relative, ``n`` exact), freshness facts,
states and reason codes, staleness and the clearance order, first with the
win model off (``win_probability={}``), then with the engine's default (the
model learned from the same tables): every open deal's ``win_probability``
(None exactly where the reference has no model, else to 1e-9 absolute) and
the states, reason codes and clearance order that follow from it. A disagreement
whose cause is the engine (checked against the docstrings) is listed in
``KNOWN_ENGINE_BUGS`` and marked ``xfail(strict=True)``, so the test starts to
fail (XPASS) when the engine is fixed and the entry must go.
"""

from __future__ import annotations

import math
from datetime import timedelta
from functools import cached_property

import pytest

from bestby.engine.freshness import clearance_list, freshness
from bestby.engine.shelf_life import shelf_life
from bestby.engine.sources import folder_tables
from tests.engine.conformance.cases import BY_NAME

# (test name, point id) -> why the engine is wrong there (the reference's side is pinned by test_reference.py)
KNOWN_ENGINE_BUGS: dict[tuple[str, str], str] = {}  # (test, case@as_of) -> why; none known today

DAYS_TOL = 2e-6          # the engine rounds freshness durations to 6 decimals
SHELF_REL = 1e-6         # shelf-life days, relative
BEST_BY_TOL = timedelta(milliseconds=1)
WIN_TOL = 1e-9           # win probabilities, absolute


@pytest.fixture(autouse=True)
def _known_engine_bugs(request):
    point = request.node.callspec.params.get("point") if hasattr(request.node, "callspec") else None
    reason = point is not None and KNOWN_ENGINE_BUGS.get((request.function.__name__, point.id))
    if reason:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))


# ---------------------------------------------------------------- comparing

def close(a, b, *, abs_tol=0.0, rel_tol=0.0) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=rel_tol, abs_tol=abs_tol)
    if hasattr(a, "tzinfo") and hasattr(b, "tzinfo") and isinstance(abs_tol, timedelta):
        return abs(a - b) <= abs_tol
    return a == b


def diff_by_key(got: list[dict], want: list[dict], key: str, tolerances: dict) -> list[str]:
    """Human-readable differences between two row lists matched on ``key`` (``tolerances``: field -> kwargs)."""
    problems = []
    g, w = {r[key]: r for r in got}, {r[key]: r for r in want}
    if len(g) != len(got):
        problems.append(f"engine has duplicate {key}s")
    if set(g) != set(w):
        problems.append(f"{key}s differ: engine only {sorted(set(g) - set(w))[:10]}, "
                        f"reference only {sorted(set(w) - set(g))[:10]}")
    for k in sorted(set(g) & set(w)):
        for field, tol in tolerances.items():
            if not close(g[k][field], w[k][field], **tol):
                problems.append(f"{k}.{field}: engine {g[k][field]!r}, reference {w[k][field]!r}")
    return problems


def rows_of(table, columns: list[str]) -> list[dict]:
    return table.select(*columns).to_pyarrow().to_pylist()


def tuples(rows: list[dict], columns: list[str]) -> list[tuple]:
    return sorted((tuple(r[c] for c in columns) for r in rows), key=repr)


def report(problems: list[str]) -> str:
    more = f"\n... and {len(problems) - 25} more" if len(problems) > 25 else ""
    return "\n".join(problems[:25]) + more


# ---------------------------------------------------------------- the engine at one point

class EngineRun:
    """The engine's answers at one point on one backend, computed when a test first asks."""

    def __init__(self, bind, point, policy):
        self._bind, self.point, self.policy = bind, point, policy

    @cached_property
    def tables(self):
        return self._bind()

    @cached_property
    def shelf(self) -> list[dict]:
        return shelf_life(self.tables, q=self.policy.quantile)

    @cached_property
    def freshness(self) -> list[dict]:
        # win probabilities off (an empty mapping): the rules without the model
        return freshness(self.tables, as_of=self.point.as_of, policy=self.policy, win_probability={})

    @cached_property
    def freshness_win(self) -> list[dict]:
        # the default: the engine learns its win model from the tables
        return freshness(self.tables, as_of=self.point.as_of, policy=self.policy)


DEAL_COLUMNS = ["deal_id", "pipeline", "owner_id", "amount", "created_at", "stage", "status", "closed_at",
                "close_date", "lost_reason"]
EVENT_COLUMNS = {
    "stage_events": ["deal_id", "at", "to_stage", "from_stage"],
    "close_date_events": ["deal_id", "at", "new_close_date", "old_close_date"],
    "touches": ["touch_id", "at", "channel", "deal_id"],
}
FACTS = {
    "owner_id": {}, "pipeline": {}, "stage": {}, "amount": {"rel_tol": 1e-12}, "created_at": {},
    "stage_entered_at": {}, "age_days": {"abs_tol": DAYS_TOL}, "stage_age_days": {"abs_tol": DAYS_TOL},
    "days_since_touch": {"abs_tol": DAYS_TOL}, "close_date": {}, "close_date_pushes": {}, "close_date_pushes_in_stage": {},
    "close_date_parked": {}, "close_date_past": {},
    "stage_shelf_days": {"rel_tol": SHELF_REL, "abs_tol": 1e-9},
    "cycle_shelf_days": {"rel_tol": SHELF_REL, "abs_tol": 1e-9},
    "best_by": {"abs_tol": BEST_BY_TOL}, "win_probability": {},
}


class Conformance:
    """The suite, written once; subclasses bind ``backend`` and ``engine``."""

    COMPUTES_ON: dict[str, str] = {}

    def test_compute_backend(self, backend, engine, record_property):
        """The backend named in the test id is the one that computes."""
        record_property("backend", backend)
        assert engine.tables["deals"]._find_backend().name == self.COMPUTES_ON[backend]

    def test_stages(self, engine, expected):
        cols = ["pipeline", "stage", "position", "kind"]
        got = tuples(rows_of(engine.tables["stages"], cols), cols)
        assert got == tuples(expected["snapshot"].stages, cols)

    def test_deals_as_of(self, engine, expected):
        got = rows_of(engine.tables["deals"], DEAL_COLUMNS)
        want = [{c: d[c] for c in DEAL_COLUMNS} for d in expected["snapshot"].deals]
        tolerances = {c: ({"rel_tol": 1e-12} if c == "amount" else {}) for c in DEAL_COLUMNS}
        problems = diff_by_key(got, want, "deal_id", tolerances)
        assert not problems, report(problems)

    @pytest.mark.parametrize("name", list(EVENT_COLUMNS))
    def test_events_as_of(self, engine, expected, name):
        want_rows = getattr(expected["snapshot"], name)
        cols = EVENT_COLUMNS[name]
        if want_rows is None:  # no such file: a folder has no table, the store an empty one (same analytics)
            assert name not in engine.tables or not rows_of(engine.tables[name], cols)
            return
        assert name in engine.tables
        got, want = tuples(rows_of(engine.tables[name], cols), cols), tuples(want_rows, cols)
        missing = [r for r in want if r not in got]
        extra = [r for r in got if r not in want]
        assert got == want, f"{len(got)} rows vs {len(want)}; engine lacks {missing[:5]}; engine adds {extra[:5]}"

    def test_shelf_life(self, engine, expected):
        keys = ["pipeline", "stage", "segment", "quantile", "n"]
        got, want = engine.shelf, expected["shelf"]
        assert [[r[k] for k in keys] for r in got] == [[r[k] for k in keys] for r in want]
        problems = [f"{w['pipeline']}/{w['stage']}: engine {g['days']!r}, reference {w['days']!r}"
                    for g, w in zip(got, want) if not close(g["days"], w["days"], rel_tol=SHELF_REL, abs_tol=1e-9)]
        assert not problems, report(problems)

    def test_freshness_facts(self, engine, expected):
        got, want = engine.freshness, expected["freshness"]
        assert [r["deal_id"] for r in got] == [r["deal_id"] for r in want]  # open deals, sorted by deal_id
        problems = diff_by_key(got, want, "deal_id", FACTS)
        assert not problems, report(problems)

    def test_freshness_states(self, engine, expected):
        got = [{"deal_id": r["deal_id"], "state": r["state"], "codes": sorted(x["code"] for x in r["reasons"])}
               for r in engine.freshness]
        want = [{"deal_id": r["deal_id"], "state": r["state"], "codes": r["reason_codes"]}
                for r in expected["freshness"]]
        problems = diff_by_key(got, want, "deal_id", {"state": {}, "codes": {}})
        assert not problems, report(problems)

    def test_staleness_and_clearance(self, engine, expected):
        problems = diff_by_key(engine.freshness, expected["freshness"], "deal_id",
                               {"staleness": {"rel_tol": 1e-6, "abs_tol": 1e-9}})
        assert not problems, report(problems)
        assert [r["deal_id"] for r in clearance_list(engine.freshness)] == expected["clearance"]

    def test_win_probability(self, engine, expected, point):
        """Every open deal's P(eventual win | still open): None where the reference has no model."""
        want = expected["freshness_win"]
        known = [r["deal_id"] for r in want if r["win_probability"] is not None]
        if BY_NAME[point.case].win_model:  # the model must be on here, or the comparison proves little
            assert known, "the reference has no win probability at this point"
        else:
            assert not known, f"the reference has win probabilities for {known[:5]}"
        got = engine.freshness_win
        assert [r["deal_id"] for r in got] == [r["deal_id"] for r in want]
        problems = diff_by_key(got, want, "deal_id", {"win_probability": {"abs_tol": WIN_TOL}})
        assert not problems, report(problems)

    def test_freshness_states_with_win(self, engine, expected):
        """States and reason codes with the learned probabilities (low_win_probability below the floor)."""
        got = [{"deal_id": r["deal_id"], "state": r["state"], "codes": sorted(x["code"] for x in r["reasons"])}
               for r in engine.freshness_win]
        want = [{"deal_id": r["deal_id"], "state": r["state"], "codes": r["reason_codes"]}
                for r in expected["freshness_win"]]
        problems = diff_by_key(got, want, "deal_id", {"state": {}, "codes": {}})
        assert not problems, report(problems)
        assert [r["deal_id"] for r in clearance_list(engine.freshness_win)] == expected["clearance_win"]


# ---------------------------------------------------------------- backends

class TestFolder(Conformance):
    COMPUTES_ON = {"duckdb-csv": "duckdb", "duckdb-parquet": "duckdb"}

    @pytest.fixture(scope="class", params=["duckdb-csv", "duckdb-parquet"])
    @classmethod
    def backend(cls, request):
        return request.param

    @pytest.fixture(scope="class")
    @classmethod
    def engine(cls, backend, point, case_folders, policy):
        folder = case_folders[point.case][backend.removeprefix("duckdb-")]
        return EngineRun(lambda: folder_tables(folder, as_of=point.as_of), point, policy)


def _store_name() -> str:
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    return "store-postgresql" if "postgresql" in engine else "store-sqlite" if "sqlite" in engine else f"store-{engine}"


class StoreLoader:
    """Keep one case imported in the test database (flush, then import, when the case changes)."""

    def __init__(self, blocker):
        self.blocker, self.loaded, self.imports = blocker, None, 0

    def flush(self) -> None:
        from django.core.management import call_command

        with self.blocker.unblock():
            call_command("flush", interactive=False, verbosity=0)
        self.loaded = None

    def load(self, case: str, folder) -> None:
        if self.loaded == case:
            return
        from bestby.importers.canonical import import_canonical

        self.flush()
        with self.blocker.unblock():
            import_canonical(folder)
        self.loaded, self.imports = case, self.imports + 1


@pytest.mark.django_db  # NOT transaction=True: that flushes after every test; the store fixture flushes per case
class TestStore(Conformance):
    COMPUTES_ON = {"store-sqlite": "duckdb", "store-postgresql": "postgres"}

    @pytest.fixture(scope="class", params=[_store_name()])
    @classmethod
    def backend(cls, request):
        from django.conf import settings
        from django.db import connection

        assert request.param == f"store-{connection.vendor}", "the store backend must be the configured database"
        if settings.TIME_ZONE != "UTC":
            pytest.fail(f"the reference reads naive timestamps as UTC; the workspace zone is {settings.TIME_ZONE}")
        return request.param

    @pytest.fixture(scope="class")
    @classmethod
    def store(cls, django_db_setup, django_db_blocker):
        loader = StoreLoader(django_db_blocker)
        yield loader
        loader.flush()

    @pytest.fixture(scope="class")
    @classmethod
    def engine(cls, backend, store, point, case_folders, policy):
        from bestby.pipeline.analytics import store_reader

        folder = case_folders[point.case]["csv"]
        assert point.case in BY_NAME
        store.load(point.case, folder)  # committed here, outside the tests' transactions: a reader sees it
        readers = []

        def bind():
            store.load(point.case, folder)  # still this case (a reader reads the store as it is when it opens)
            readers.append(store_reader())
            return readers[-1].tables(point.as_of)

        yield EngineRun(bind, point, policy)
        for reader in readers:
            reader.close()
