"""The import says what it will change before it changes it: per file, created / updated (field by field) / unchanged.

Expected values come from ``tests.importers.changed_folder.expected_diff``,
which compares the two folders' CSV text cell by cell without the importer.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from bestby.cli import app
from bestby.importers.canonical import import_canonical
from bestby.importers.diff import EXAMPLES
from bestby.synth import write_synth
from tests.importers.changed_folder import EXAMPLES as DOCUMENTED_EXAMPLES
from tests.importers.changed_folder import KEYS, changed_copy, expected_diff
from tests.importers.test_canonical_helpers import Snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def folders(tmp_path):
    base = tmp_path / "base"
    write_synth(base, deals=60, seed=7)
    return base, changed_copy(base, tmp_path / "changed")


def _as_expected(report) -> dict:
    return {name: {"created": c.created, "updated": c.updated, "unchanged": c.unchanged, "changes": c.changes,
                   "examples": c.examples}
            for name, c in report.files.items() if name in KEYS}


def test_the_documented_number_of_examples():
    assert EXAMPLES == DOCUMENTED_EXAMPLES == 5


def test_a_dry_run_on_a_changed_folder_lists_exactly_the_changed_fields(folders, tmp_path):
    base, changed = folders
    import_canonical(base)
    before = Snapshot(tmp_path)
    report = import_canonical(changed, dry_run=True)
    expected = expected_diff(base, changed)
    # the edits reach every kind of change the test means to show
    assert expected["deals"]["updated"] > EXAMPLES and expected["deals"]["changes"]["amount"] == 8
    assert {"stage", "close_date", "synth_quiet_since", "name"} <= set(expected["deals"]["changes"])
    assert expected["accounts"]["changes"]["parent_account_id"] == 1 and expected["users"]["created"] == 2
    assert _as_expected(report) == expected
    assert report.warnings == [] and report.warning_count == 0 and report.batch is None
    Snapshot(tmp_path).assert_same(before)  # and nothing was written


def test_the_applied_import_reports_what_its_dry_run_said(folders):
    base, changed = folders
    import_canonical(base)
    dry = import_canonical(changed, dry_run=True)
    real = import_canonical(changed)
    assert _as_expected(real) == _as_expected(dry) == expected_diff(base, changed)
    assert real.batch is not None and not real.dry_run


def test_a_first_import_reports_only_created_rows(folders):
    base, _ = folders
    report = import_canonical(base)
    assert all(c.updated == 0 and c.changes == {} and c.examples == [] for c in report.files.values())
    assert report.files["deals"].created == 60


def test_cli_json_and_table_show_the_same_changes(folders, monkeypatch):
    base, changed = folders
    import_canonical(base)
    runner = CliRunner()
    result = runner.invoke(app, ["import", "canonical", str(changed), "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    expected = expected_diff(base, changed)
    assert {k: v for k, v in data["files"].items() if k in expected} == expected
    assert data["batch"] is None and data["warnings"] == [] and data["dry_run"] is True
    result = runner.invoke(app, ["import", "canonical", str(changed), "--dry-run"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    # one table per file with updates: the touch note is shown as written (markup is not interpreted)
    assert "touches: 2 updated" in result.stdout and "called back, <b>keen</b>" in result.stdout
    assert f"deals: {expected['deals']['updated']} updated, first {EXAMPLES} shown" in result.stdout
    assert f"amount: {expected['deals']['changes']['amount']} rows" in result.stdout
