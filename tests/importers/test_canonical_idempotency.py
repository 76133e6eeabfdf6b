"""Dry runs count without writing; re-imports are idempotent; Parquet is CSV's twin.

Expected counts are the row counts of the hand folder (tests/importers/folders.py
HAND), counted by hand: users 2, stages 4, accounts 2, deals 3, stage_events 6,
close_date_events 2, touches 2, quotas 2 (23 rows).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from bestby.audit.models import AuditEntry
from bestby.importers.canonical import import_canonical
from bestby.importers.problems import ImportFailed
from bestby.pipeline.models import Deal
from tests.importers.folders import HAND, write_folder
from tests.importers.test_canonical_helpers import (
    HAND_ROWS,
    Snapshot, changed_hand, export_bytes, flush_store, replace_line, write_parquet_copies,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def utc(settings):
    """Bare dates below are compared with +00:00 timestamps: a workspace in UTC."""
    settings.TIME_ZONE = "UTC"



def counts(report) -> dict[str, tuple[int, int, int]]:
    return {k: (v.created, v.updated, v.unchanged) for k, v in report.files.items()}


ALL_CREATED = {k: (n, 0, 0) for k, n in HAND_ROWS.items()}
ALL_UNCHANGED = {k: (0, 0, n) for k, n in HAND_ROWS.items()}


# -- dry run -------------------------------------------------------------------


def test_dry_run_into_an_empty_store_counts_everything_and_writes_nothing(tmp_path):
    folder = write_folder(tmp_path / "in")
    before = Snapshot(tmp_path)
    report = import_canonical(folder, dry_run=True)
    assert report.dry_run is True
    assert counts(report) == ALL_CREATED
    Snapshot(tmp_path).assert_same(before)
    assert AuditEntry.objects.count() == 0 and Deal.objects.count() == 0
    # a real import then counts the same and writes one audit entry
    real = import_canonical(folder)
    assert real.dry_run is False and counts(real) == ALL_CREATED
    assert Deal.objects.count() == 3 and AuditEntry.objects.count() == 1


def test_dry_run_over_a_stored_import_counts_changes_and_writes_nothing(tmp_path):
    import_canonical(write_folder(tmp_path / "good"))
    before = Snapshot(tmp_path)
    changed = write_folder(tmp_path / "changed", changed_hand())
    report = import_canonical(changed, dry_run=True)
    # changed_hand: u-rep1 renamed, d1's amount changed, touch t3 added
    assert counts(report) == {**ALL_UNCHANGED, "users": (0, 1, 1), "deals": (0, 1, 2), "touches": (1, 0, 2)}
    Snapshot(tmp_path).assert_same(before)
    assert Deal.objects.get(external_id="d1").amount == Decimal("12000.50")
    # the real import counts exactly what the dry run said
    assert counts(import_canonical(changed)) == counts(report)
    assert Deal.objects.get(external_id="d1").amount == Decimal("13000.00")


def test_dry_run_appends_no_history_either(tmp_path):
    import_canonical(write_folder(tmp_path / "good"))
    before = Snapshot(tmp_path)
    deals = replace_line(HAND["deals.csv"], "Proposal,open,,2024-05-31,", "Qualify,open,,2024-06-30,")
    report = import_canonical(write_folder(tmp_path / "moved", {"deals.csv": deals}), dry_run=True)
    assert counts(report)["deals"] == (0, 1, 2)
    Snapshot(tmp_path).assert_same(before)


def test_dry_run_reports_the_same_problems_and_writes_nothing(tmp_path):
    import_canonical(write_folder(tmp_path / "good"))
    before = Snapshot(tmp_path)
    files = changed_hand()
    files["stage_events.csv"] += "d9,2024-03-01,Qualify,\n"
    with pytest.raises(ImportFailed) as failed:
        import_canonical(write_folder(tmp_path / "bad", files), dry_run=True)
    assert [(p.file, p.line, p.column) for p in failed.value.problems] == [("stage_events.csv", 8, "deal_id")]
    Snapshot(tmp_path).assert_same(before)


# -- idempotency -----------------------------------------------------------------


def test_second_import_reports_every_row_unchanged_file_by_file(tmp_path):
    folder = write_folder(tmp_path / "in")
    assert counts(import_canonical(folder)) == ALL_CREATED
    first = Snapshot(tmp_path)
    assert counts(import_canonical(folder)) == ALL_UNCHANGED
    second = Snapshot(tmp_path)
    # the data is the same (the export); only one more audit entry and one more (empty) batch were written
    assert second.export == first.export
    assert second.counts == {**first.counts, "audit.AuditEntry": 2, "audit.ImportBatch": 2}
    entries = list(AuditEntry.objects.order_by("id").values_list("action", "after"))
    assert entries[1] == ("import", {k: {"created": 0, "updated": 0, "unchanged": n} for k, n in HAND_ROWS.items()})


def test_a_changed_amount_updates_exactly_that_deal(tmp_path):
    import_canonical(write_folder(tmp_path / "in"))
    before = {d.external_id: d for d in Deal.objects.all()}
    deals = replace_line(HAND["deals.csv"], "Cold one,,u-rep1,500,", "Cold one,,u-rep1,750.25,")
    report = import_canonical(write_folder(tmp_path / "changed", deals=deals))
    assert counts(report) == {**ALL_UNCHANGED, "deals": (0, 1, 2)}
    after = {d.external_id: d for d in Deal.objects.all()}
    assert after["d3"].amount == Decimal("750.25")
    for deal_id in ("d1", "d2"):
        assert after[deal_id].amount == before[deal_id].amount
    # no other field of d3 moved, and no history was appended for an amount
    fields = [f.attname for f in Deal._meta.concrete_fields if f.attname != "amount"]
    assert [getattr(after["d3"], f) for f in fields] == [getattr(before["d3"], f) for f in fields]
    assert "stage changes" not in " ".join(report.notes) and "close-date changes" not in " ".join(report.notes)
    # and importing it again: every row unchanged
    assert counts(import_canonical(tmp_path / "changed")) == ALL_UNCHANGED


def test_the_same_amount_written_differently_is_unchanged(tmp_path):
    """3000, 3000.0 and 3000.00 are one amount; a bare date and its midnight are one timestamp."""
    import_canonical(write_folder(tmp_path / "in"))
    deals = replace_line(HAND["deals.csv"], "u-rep1,3000,USD,2024-01-15,", "u-rep1,3000.000,USD,2024-01-15T00:00:00+00:00,")
    assert counts(import_canonical(write_folder(tmp_path / "same", deals=deals))) == ALL_UNCHANGED


def test_rows_missing_from_a_later_import_are_kept(tmp_path):
    """Matching is on ids; a file that no longer lists a row does not delete it."""
    import_canonical(write_folder(tmp_path / "in"))
    deals = "".join(HAND["deals.csv"].splitlines(keepends=True)[:2])  # header and d1 only
    report = import_canonical(write_folder(tmp_path / "one", {"deals.csv": deals}))
    assert counts(report) == {"deals": (0, 0, 1)}
    assert Deal.objects.count() == 3


# -- Parquet ---------------------------------------------------------------------------


@pytest.mark.parametrize("infer_types", [True, False], ids=["typed", "strings"])
def test_parquet_copies_import_to_the_same_store_as_csv(tmp_path, infer_types):
    csv_folder = write_folder(tmp_path / "csv")
    pq_folder = write_parquet_copies(csv_folder, tmp_path / "pq", infer_types=infer_types)
    assert sorted(p.name for p in pq_folder.iterdir()) == sorted(n.replace(".csv", ".parquet") for n in HAND)

    assert counts(import_canonical(csv_folder)) == ALL_CREATED
    from_csv = export_bytes(tmp_path / "csv-export")
    # Parquet over the CSV import: every row matches
    assert counts(import_canonical(pq_folder)) == ALL_UNCHANGED

    flush_store()
    assert counts(import_canonical(pq_folder)) == ALL_CREATED
    assert export_bytes(tmp_path / "pq-export") == from_csv
    # and CSV over the Parquet import: every row matches
    assert counts(import_canonical(csv_folder)) == ALL_UNCHANGED


# -- progress ------------------------------------------------------------------------------


@pytest.mark.parametrize("dry_run", [False, True], ids=["real", "dry-run"])
def test_progress_advances_add_up_to_each_files_rows(tmp_path, dry_run):
    """progress(file, rows done now, rows in file): the CLI's bars advance by the second value."""
    import_canonical(write_folder(tmp_path / "good"))
    calls: list[tuple[str, int, int]] = []
    import_canonical(write_folder(tmp_path / "changed", changed_hand()), dry_run=dry_run,
                     progress=lambda *a: calls.append(a))
    done: dict[str, int] = {}
    for file, advance, total in calls:
        assert advance >= 0
        done[file] = done.get(file, 0) + advance
        assert total == {**{f"{k}.csv": n for k, n in HAND_ROWS.items()}, "touches.csv": 3}[file]
    # changed_hand has one more touch than the hand folder
    assert done == {**{f"{k}.csv": n for k, n in HAND_ROWS.items()}, "touches.csv": 3}
