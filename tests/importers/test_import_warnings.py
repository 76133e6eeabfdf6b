"""Collisions (an id stored as what looks like another record) and the acting user's own record.

A dry run lists each warning with both versions; an applied import with a
warning is refused as a whole (nothing written) unless told to accept it.
The expected stored and incoming values are read off the hand folder
(tests/importers/folders.py HAND), not from the code.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bestby.accounts.models import Account
from bestby.cli import app
from bestby.importers.canonical import WarningsNotAccepted, import_canonical
from bestby.importers.crm.dates import Dates
from bestby.importers.crm import salesforce
from bestby.importers.crm.run import import_mapped
from bestby.importers.diff import looks_unrelated, own_changes
from bestby.people.models import User
from bestby.pipeline.models import Deal
from tests.importers.crm.salesforce_export import FILES, write_export
from tests.importers.folders import HAND, write_folder
from tests.importers.test_canonical_helpers import Snapshot, replace_line

pytestmark = pytest.mark.django_db

USERS_LINE_2 = "u-rep1,Rita Rep,rita@example.com,rep,u-mgr,Alpha,North"
ACME = "a-acme,Acme,tech,North,500,25000000,,45,2023-06-01T09:00:00"
D1 = "d1,default,Acme rollout,a-acme,"
D3 = "d3,default,Cold one,,"


@pytest.mark.parametrize("file, stored, incoming, unrelated", [
    ("users", {"name": "Rita Rep", "email": "rita@example.com"}, {"name": "Zed", "email": "zed@x.example"}, True),
    ("users", {"name": "Rita Rep", "email": "rita@example.com"}, {"name": "Rita R.", "email": "rita@example.com"}, False),
    ("users", {"name": "Rita Rep", "email": "rita@example.com"}, {"name": "Rita Rep", "email": "new@x.example"}, False),
    ("users", {"name": "Rita Rep", "email": "rita@example.com"}, {"name": " rita  REP ", "email": "z@x.example"}, False),
    ("users", {"name": "", "email": "rita@example.com"}, {"name": "Zed", "email": "zed@x.example"}, False),
    ("accounts", {"name": "Acme"}, {"name": "Globex"}, True),
    ("accounts", {"name": "Acme"}, {"name": "ACME"}, False),
    ("accounts", {"name": "Acme"}, {"name": None}, False),
    ("deals", {"name": "Acme rollout", "account_id": 1}, {"name": "Other", "account_id": 2}, True),
    ("deals", {"name": "Acme rollout", "account_id": 1}, {"name": "Other", "account_id": 1}, False),
    ("deals", {"name": "Acme rollout", "account_id": None}, {"name": "Other", "account_id": 2}, False),
    ("touches", {"notes": "a"}, {"notes": "b"}, False),
])
def test_the_collision_rule(file, stored, incoming, unrelated):
    assert looks_unrelated(file, stored, incoming) is unrelated


def test_own_changes_are_exact():
    assert own_changes({"name": "Ann", "email": "a@x", "role": "admin"}, {"name": "ann", "email": "a@x", "role": "rep"}) \
        == ["name", "role"]


# (file, old line, new line, expected warning: (line, id, stored, incoming) or None)
CASES = {
    "user renamed and re-mailed": ("users.csv", USERS_LINE_2, "u-rep1,Zed Zero,zed@other.example,rep,u-mgr,Alpha,North",
                                   (2, "u-rep1", {"name": "Rita Rep", "email": "rita@example.com"},
                                    {"name": "Zed Zero", "email": "zed@other.example"})),
    "user renamed only": ("users.csv", USERS_LINE_2, "u-rep1,Rita Representative,rita@example.com,rep,u-mgr,Alpha,North",
                          None),
    "account renamed": ("accounts.csv", ACME, ACME.replace("a-acme,Acme,", "a-acme,Globex,"),
                        (3, "a-acme", {"name": "Acme"}, {"name": "Globex"})),
    "deal renamed and moved": ("deals.csv", D1, "d1,default,Something else,a-sub,",
                               (2, "d1", {"name": "Acme rollout", "account_id": "a-acme"},
                                {"name": "Something else", "account_id": "a-sub"})),
    "deal renamed only": ("deals.csv", D1, "d1,default,Something else,a-acme,", None),
    "deal without account renamed and given one": ("deals.csv", D3, "d3,default,Other,a-acme,", None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_collisions_are_listed_and_need_acceptance(tmp_path, case):
    file, old, new, expected = CASES[case]
    import_canonical(write_folder(tmp_path / "first"))
    files = dict(HAND)
    files[file] = replace_line(files[file], old, new)
    folder = write_folder(tmp_path / "second", files)
    dry = import_canonical(folder, dry_run=True)
    if expected is None:
        assert dry.warnings == [] and dry.warning_count == 0
        assert import_canonical(folder).batch is not None  # applied without any flag
        return
    line, row_id, stored, incoming = expected
    assert dry.warning_count == 1
    (w,) = dry.warnings
    assert (w["kind"], w["file"], w["line"], w["id"], w["stored"], w["incoming"]) == (
        "collision", file, line, row_id, stored, incoming)
    before = Snapshot(tmp_path)
    with pytest.raises(WarningsNotAccepted) as refused:
        import_canonical(folder)
    Snapshot(tmp_path).assert_same(before)  # nothing was written
    (problem,) = refused.value.problems
    id_column = {"users.csv": "user_id", "accounts.csv": "account_id", "deals.csv": "deal_id"}[file]
    assert (problem.file, problem.line, problem.column) == (file, line, id_column)
    assert refused.value.report.warnings == dry.warnings
    applied = import_canonical(folder, accept_warnings=True)
    assert applied.warning_count == 1 and applied.batch is not None
    if file == "accounts.csv":
        assert Account.objects.get(external_id="a-acme").name == "Globex"
    if file == "deals.csv":
        assert Deal.objects.get(external_id="d1").name == "Something else"


@pytest.mark.parametrize("new_line, fields", [
    ("u-rep1,Rita R.,rita@example.com,rep,u-mgr,Alpha,North", {"name": ("Rita Rep", "Rita R.")}),
    ("u-rep1,Rita Rep,rita@new.example,rep,u-mgr,Alpha,North", {"email": ("rita@example.com", "rita@new.example")}),
    ("u-rep1,Rita Rep,rita@example.com,admin,u-mgr,Alpha,North", {"role": ("rep", "admin")}),
])
def test_the_acting_users_own_record_is_not_changed_without_confirmation(tmp_path, new_line, fields):
    import_canonical(write_folder(tmp_path / "first"))
    rita = User.objects.get(external_id="u-rep1")
    files = dict(HAND)
    files["users.csv"] = replace_line(files["users.csv"], USERS_LINE_2, new_line)
    folder = write_folder(tmp_path / "second", files)
    # someone else imports it: an ordinary update, no warning
    other = import_canonical(folder, dry_run=True, by=User.objects.get(external_id="u-mgr"))
    assert other.warnings == [] and other.files["users"].updated == 1
    # Rita imports it: a warning naming her record and the fields
    dry = import_canonical(folder, dry_run=True, by=rita)
    (w,) = dry.warnings
    assert (w["kind"], w["file"], w["line"], w["id"]) == ("own_record", "users.csv", 2, "u-rep1")
    assert {k: (w["stored"][k], w["incoming"][k]) for k in w["stored"]} == fields
    before = Snapshot(tmp_path)
    with pytest.raises(WarningsNotAccepted):
        import_canonical(folder, by=rita)
    Snapshot(tmp_path).assert_same(before)
    import_canonical(folder, by=rita, accept_warnings=True)
    rita.refresh_from_db()
    field, (_old, new) = next(iter(fields.items()))
    assert getattr(rita, field) == new


def test_cli_refuses_warnings_without_the_flag_and_names_by(tmp_path):
    import_canonical(write_folder(tmp_path / "first"))
    files = dict(HAND)
    files["users.csv"] = replace_line(files["users.csv"], USERS_LINE_2, "u-rep1,Rita R.,rita@example.com,rep,u-mgr,Alpha,North")
    folder = write_folder(tmp_path / "second", files)
    runner = CliRunner()
    before = Snapshot(tmp_path)
    result = runner.invoke(app, ["import", "canonical", str(folder), "--by", "rita@example.com"], env={"COLUMNS": "200"})
    assert result.exit_code == 1, result.output
    assert "--accept-collisions" in result.stderr and "your own record" in result.stderr and "u-rep1" in result.stderr
    Snapshot(tmp_path).assert_same(before)
    result = runner.invoke(app, ["import", "canonical", str(folder), "--by", "nobody@example.com"])
    assert result.exit_code == 2 and "--by" in result.stderr
    result = runner.invoke(app, ["import", "canonical", str(folder), "--by", "rita@example.com", "--accept-collisions",
                                 "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["warning_count"] == 1 and data["warnings"][0]["kind"] == "own_record" and data["batch"]
    assert User.objects.get(external_id="u-rep1").name == "Rita R."


def test_crm_warnings_name_the_source_file_and_line(tmp_path):
    import zoneinfo

    from django.conf import settings

    def run(folder: Path, **kw):
        out, findings = salesforce.map_export(folder, Dates(None, zoneinfo.ZoneInfo(settings.TIME_ZONE)))
        return import_mapped(out, findings, source="salesforce:x", label="test", **kw)

    run(write_export(tmp_path / "first"))
    files = dict(FILES)
    files["Account"] = [line.replace("001C,Child Co,", "001C,Other Corp,") for line in FILES["Account"]]
    report = run(write_export(tmp_path / "second", files), dry_run=True)
    (w,) = report.warnings
    assert (Path(w["file"]).name, w["line"], w["id"], w["stored"], w["incoming"]) == (
        "Account.csv", 3, "001C", {"name": "Child Co"}, {"name": "Other Corp"})
    with pytest.raises(WarningsNotAccepted) as refused:
        run(tmp_path / "second")
    (problem,) = refused.value.problems
    assert (Path(problem.file).name, problem.line) == ("Account.csv", 3)
    assert Account.objects.get(external_id="001C").name == "Child Co"
