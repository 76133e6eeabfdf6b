"""More bad input: several problems at once, first imports, byte offsets, no cascades.

The cases of test_canonical_errors.py share one stored import; these tests
each need their own store (often an empty one), so they live here.
"""

from __future__ import annotations

import pytest

from bestby.importers.canonical import import_canonical
from bestby.importers.problems import ImportFailed
from bestby.pipeline.models import Deal
from tests.importers.folders import HAND, write_folder
from tests.importers.test_canonical_helpers import (
    Snapshot, changed_hand, invalid_utf8_touches, replace_line, write_files,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_store():
    """Every test here starts from an empty store."""
    assert Deal.objects.count() == 0


def test_the_valid_changes_alone_do_change_the_store(tmp_path):
    """Guard for the test above: without the bad row, the same variant does write."""
    import_canonical(write_folder(tmp_path / "good"))
    before = Snapshot(tmp_path)
    report = import_canonical(write_files(tmp_path / "ok", changed_hand()))
    assert (report.files["users"].updated, report.files["deals"].updated, report.files["touches"].created) == (1, 1, 1)
    after = Snapshot(tmp_path)
    assert after.rows != before.rows
    assert Deal.objects.get(external_id="d1").amount == 13000


def test_bad_input_into_an_empty_store_writes_nothing(tmp_path):
    """A failure on the first import leaves no pipeline, stage, user or audit entry behind."""
    before = Snapshot(tmp_path)
    files = dict(HAND)
    files["stage_events.csv"] += "d9,2024-03-01,Qualify,\n"
    with pytest.raises(ImportFailed) as failed:
        import_canonical(write_files(tmp_path / "bad", files))
    assert [(p.file, p.line, p.column) for p in failed.value.problems] == [("stage_events.csv", 8, "deal_id")]
    Snapshot(tmp_path).assert_same(before)


def test_several_problems_are_all_reported_in_file_order(tmp_path):
    files = changed_hand()
    files["users.csv"] = replace_line(files["users.csv"], "max@example.com,manager,", "max@example.com,boss,")
    files["deals.csv"] = replace_line(files["deals.csv"], "2024-02-20,2024-02-28,no budget", "2024-02-20,28/02/2024,no budget")
    files["touches.csv"] = replace_line(files["touches.csv"], ",social,", ",fax,")
    with pytest.raises(ImportFailed) as failed:
        import_canonical(write_files(tmp_path / "bad", files))
    assert [(p.file, p.line, p.column) for p in failed.value.problems] == [
        ("users.csv", 3, "role"), ("deals.csv", 4, "close_date"), ("touches.csv", 3, "channel"),
    ]


def test_both_csv_and_parquet_of_one_file_is_a_problem(tmp_path):
    import shutil

    from tests.importers.test_canonical_helpers import write_parquet_copies

    import_canonical(write_folder(tmp_path / "good"))
    before = Snapshot(tmp_path)
    bad = write_files(tmp_path / "bad", changed_hand())
    write_parquet_copies(tmp_path / "good", tmp_path / "pq", infer_types=False)
    shutil.copy(tmp_path / "pq" / "touches.parquet", bad / "touches.parquet")
    with pytest.raises(ImportFailed) as failed:
        import_canonical(bad)
    assert [(p.file, p.line, p.column) for p in failed.value.problems] == [("touches.csv", None, None)]
    assert "touches.parquet" in failed.value.problems[0].message
    Snapshot(tmp_path).assert_same(before)


@pytest.mark.parametrize("bom", [False, True])
def test_invalid_utf8_reports_the_byte_offset_in_the_file_as_saved(tmp_path, bom):
    # the bad byte is the first byte of line 3: after the (optional) 3-byte
    # mark, the header line and the t1 line, each with its newline
    offset = (3 if bom else 0) + len(HAND["touches.csv"].split("\nt2,")[0]) + 1
    files = invalid_utf8_touches(bom=bom, at_line_start=True)(dict(HAND))
    assert files["touches.csv"][offset:offset + 1] == b"\xff"  # the hand count above is right
    with pytest.raises(ImportFailed) as failed:
        import_canonical(write_files(tmp_path / "bad", files))
    (problem,) = failed.value.problems
    assert (problem.file, problem.line, problem.column) == ("touches.csv", 3, None)
    assert f"(byte {offset})" in problem.message


def test_a_rejected_row_does_not_bury_its_cause_under_its_referrers(tmp_path):
    """First import, d1 rejected (unknown stage): its events, touches and its owner's
    quota are not reported as references to missing ids, since d1 is in deals.csv;
    a truly missing id (d9, u-ghost) still is, even after the first problem."""
    files = dict(HAND)
    files["deals.csv"] = replace_line(files["deals.csv"], "Proposal,open,", "Negotiation,open,")
    files["stage_events.csv"] += "d9,2024-03-01,Qualify,\n"
    files["quotas.csv"] += "u-ghost,2024-01-01,2024-03-31,1\n"
    with pytest.raises(ImportFailed) as failed:
        import_canonical(write_files(tmp_path / "bad", files))
    assert [(p.file, p.line, p.column) for p in failed.value.problems] == [
        ("deals.csv", 2, "stage"), ("stage_events.csv", 8, "deal_id"), ("quotas.csv", 4, "owner_id"),
    ], failed.value.summary()


def test_a_rejected_user_does_not_bury_its_cause_under_its_deals_and_quota(tmp_path):
    files = dict(HAND)
    # u-rep1's manager is missing: u-rep1 is rejected; its deals, touches and quota refer to it
    files["users.csv"] = replace_line(files["users.csv"], "rep,u-mgr,", "rep,u-boss,")
    with pytest.raises(ImportFailed) as failed:
        import_canonical(write_files(tmp_path / "bad", files))
    assert [(p.file, p.line, p.column) for p in failed.value.problems] == [("users.csv", 2, "manager_id")], failed.value.summary()


def test_a_systematic_mistake_is_reported_fifty_times_then_counted(tmp_path):
    header, *_ = HAND["touches.csv"].splitlines()
    rows = "".join(f"t{i},2024-02-{i % 28 + 1:02d} 9am,phone,u-rep1,out,,,,,,,\n" for i in range(60))
    with pytest.raises(ImportFailed) as failed:
        import_canonical(write_folder(tmp_path / "bad", **{"touches.csv": header + "\n" + rows}))
    problems = failed.value.problems
    assert len(problems) == ImportFailed.LIMIT == 50 and failed.value.truncated == 10
    assert [(p.line, p.column) for p in problems] == [(i + 2, "at") for i in range(50)]
    assert failed.value.summary().endswith("... and 10 more problems")


def test_a_damaged_parquet_file_is_named(tmp_path):
    folder = write_folder(tmp_path / "in", deals=None)
    (folder / "deals.parquet").write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(ImportFailed) as failed:
        import_canonical(folder)
    assert [(p.file, p.line, p.column) for p in failed.value.problems] == [("deals.parquet", None, None)]
    assert Deal.objects.count() == 0


def test_bad_parquet_cells_are_reported_on_the_csv_line(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = write_folder(tmp_path / "in", deals=None)
    table = pa.table({
        "deal_id": ["d1", "d2", "d3"],
        "created_at": ["2024-02-01T10:00:00", "2024-01-15", "2024-01-20"],
        "stage": ["Proposal", "Won", "Lost"],
        "status": ["open", "won", "lost"],
        "closed_at": [None, "2024-03-01T16:30:00+01:00", "2024-02-20"],
        "amount": [1.5, float("inf"), 3.0],   # row 2 (line 3): not finite
        "owner_id": ["u-rep1", "u-rep1", "u-ghost"],  # row 3 (line 4): missing user
    })
    pq.write_table(table, folder / "deals.parquet")
    with pytest.raises(ImportFailed) as failed:
        import_canonical(folder)
    assert [(p.file, p.line, p.column) for p in failed.value.problems] == [("deals.parquet", 3, "amount")]
    table = table.set_column(5, "amount", pa.array([1.5, 2.0, 3.0]))
    pq.write_table(table, folder / "deals.parquet")
    with pytest.raises(ImportFailed) as failed:
        import_canonical(folder)
    assert [(p.file, p.line, p.column) for p in failed.value.problems] == [("deals.parquet", 4, "owner_id")]
