"""The `bestby` command: exit codes, messages and what it leaves in the store."""

import json

import pytest
from typer.testing import CliRunner

from bestby.cli import app
from bestby.people.models import User
from bestby.pipeline.models import Deal
from tests.importers.folders import write_folder

pytestmark = pytest.mark.django_db(transaction=True)
runner = CliRunner()


def test_import_dry_run_then_real_then_export(tmp_path):
    folder = write_folder(tmp_path / "in")
    result = runner.invoke(app, ["import", "canonical", str(folder), "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["files"]["deals"]["created"] == 3
    assert Deal.objects.count() == 0
    result = runner.invoke(app, ["import", "canonical", str(folder)])
    assert result.exit_code == 0 and "deals" in result.stdout
    assert Deal.objects.count() == 3
    result = runner.invoke(app, ["export", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "deals.csv").read_text().count("\n") == 4


def test_bad_file_exits_1_with_file_line_column(tmp_path):
    folder = write_folder(tmp_path / "in", deals=(
        "deal_id,created_at,stage\n"
        "d1,2024-01-01,Qualify\n"
        "d2,31/01/2024,Qualify\n"
    ))
    result = runner.invoke(app, ["import", "canonical", str(folder)])
    assert result.exit_code == 1
    assert "deals.csv, line 3, column created_at" in result.output
    assert "nothing was written" in result.output
    assert Deal.objects.count() == 0


def test_user_add_reads_password_from_environment(monkeypatch):
    monkeypatch.setenv("BESTBY_PASSWORD", "a-sturdy-passphrase-9")
    result = runner.invoke(app, ["user", "add", "boss@example.com", "--role", "manager", "--name", "Boss"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["user", "add", "rep@example.com", "--role", "rep", "--manager", "boss@example.com"])
    assert result.exit_code == 0, result.output
    rep = User.objects.get(email="rep@example.com")
    assert rep.manager.email == "boss@example.com" and rep.check_password("a-sturdy-passphrase-9")
    assert rep.role == "rep" and not rep.is_staff


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["user", "add", "not-an-email", "--role", "rep"], "EMAIL"),
        (["user", "add", "x@example.com", "--role", "king"], "--role"),
        (["user", "add", "x@example.com", "--role", "rep", "--manager", "nobody@example.com"], "--manager"),
    ],
)
def test_user_add_errors_name_the_parameter(monkeypatch, args, needle):
    monkeypatch.setenv("BESTBY_PASSWORD", "a-sturdy-passphrase-9")
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and needle in result.output
    assert not User.objects.filter(email="x@example.com").exists()


def test_weak_password_is_refused(monkeypatch):
    monkeypatch.setenv("BESTBY_PASSWORD", "123")
    result = runner.invoke(app, ["user", "add", "x@example.com", "--role", "rep"])
    assert result.exit_code == 2 and "password" in result.output
