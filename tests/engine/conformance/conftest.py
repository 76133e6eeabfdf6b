"""Fixtures of the conformance suite: the case folders (CSV and Parquet), written once per session.

The synth folder is generated once (``write_synth``, session scope); each case
is also converted to Parquet with pyarrow (typed columns: UTC timestamps,
dates, int64, float64, text), which is what the ``duckdb-parquet`` backend
reads. The reference reads the CSV folder, so the Parquet backend is checked
against what the CSV says.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bestby.format import SPECS
from bestby.synth import write_synth
from tests.engine.conformance import reference
from tests.engine.conformance.cases import CASES, POINTS, SYNTH_DEALS, SYNTH_SEED, Point

ENGINE_FILES = reference.FILES
_ARROW = {"ts": pa.timestamp("us", tz="UTC"), "date": pa.date32(), "int": pa.int64(), "decimal": pa.float64(),
          "float": pa.float64()}


def csv_to_parquet(src: Path, dst: Path) -> Path:
    """Write the engine's files of ``src`` as typed Parquet files in ``dst``."""
    dst.mkdir(parents=True, exist_ok=True)
    for name in ENGINE_FILES:
        path = src / f"{name}.csv"
        if not path.is_file():
            continue
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            header = list(reader.fieldnames or [])
            raw = list(reader)
        kinds = {c.name: c.type for c in SPECS[name].columns}
        arrays, fields = [], []
        for col in header:
            kind = kinds.get(col, "str")
            values = [reference._cell(r[col], kind) for r in raw]
            typ = _ARROW.get(kind, pa.string())
            arrays.append(pa.array(values, type=typ))
            fields.append(pa.field(col, typ))
        pq.write_table(pa.Table.from_arrays(arrays, schema=pa.schema(fields)), dst / f"{name}.parquet")
    return dst


@pytest.fixture(scope="session")
def case_folders(tmp_path_factory) -> dict[str, dict[str, Path]]:
    """{case: {"csv": folder, "parquet": folder}} for every case, synth included."""
    root = tmp_path_factory.mktemp("conformance")
    out = {}
    for case in CASES:
        csv_dir = root / case.name / "csv"
        if case.write is None:
            write_synth(csv_dir, deals=SYNTH_DEALS, seed=SYNTH_SEED)
        else:
            case.write(csv_dir)
        out[case.name] = {"csv": csv_dir, "parquet": csv_to_parquet(csv_dir, root / case.name / "parquet")}
    return out


_REFERENCE: dict[str, dict] = {}


@pytest.fixture(scope="class", params=POINTS, ids=[p.id for p in POINTS])
def point(request) -> Point:
    return request.param


@pytest.fixture(scope="class")
def expected(point, case_folders, policy) -> dict:
    """The reference's cut, shelf life and freshness at the point (computed once per session).

    ``freshness`` has the win model off (the engine's ``win_probability={}``), ``freshness_win``
    has it on (the engine's default: learned from the same tables).
    """
    if point.id not in _REFERENCE:
        folder = reference.read_folder(case_folders[point.case]["csv"])
        snap = reference.cut(folder, point.as_of)
        rows = reference.freshness(snap, policy)
        model = reference.win_model(snap)
        rows_win = reference.freshness(snap, policy, win=model)
        _REFERENCE[point.id] = {"snapshot": snap, "shelf": reference.shelf_life(snap, q=policy.quantile),
                                "freshness": rows, "clearance": reference.clearance_order(rows),
                                "win_model": model, "freshness_win": rows_win,
                                "clearance_win": reference.clearance_order(rows_win)}
    return _REFERENCE[point.id]


@pytest.fixture(scope="session")
def policy():
    """An explicit policy, passed to both sides (the defaults of DESIGN.md)."""
    from bestby.engine.policy import ClearancePolicy

    return ClearancePolicy()
