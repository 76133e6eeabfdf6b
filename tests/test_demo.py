"""The sample workspace behind `make demo`: data, sign-ins, and safe to run again."""

import stat

import pytest

from bestby.demo import prepare_demo
from bestby.people.models import User
from bestby.pipeline.models import Deal

pytestmark = pytest.mark.django_db


def test_demo_workspace_has_data_and_three_working_sign_ins(tmp_path, monkeypatch):
    monkeypatch.delenv("BESTBY_DEMO_PASSWORD", raising=False)
    info = prepare_demo(deals=60, home=tmp_path)
    assert Deal.objects.count() == 60
    secret = tmp_path / "demo_password"
    assert secret.read_text().strip() == info.password
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    for login, role in ((info.admin_login, "admin"), (info.manager_login, "manager"), (info.rep_login, "rep")):
        user = User.objects.get(username=login)
        assert user.role == role and user.check_password(info.password)
    assert User.objects.get(username=info.admin_login).is_superuser
    rep = User.objects.get(username=info.rep_login)
    assert rep.manager.username == info.manager_login
    # the rep's Today opens with work: their first live leads in the default cadence, started 3 days ago
    from bestby.activities.models import Lead
    from bestby.cadences.models import Enrollment

    live = list(Lead.objects.filter(owner=rep, status="in_cadence").values_list("external_id", flat=True))
    enrolled = list(Enrollment.objects.filter(owner=rep).values_list("lead__external_id", flat=True))
    assert sorted(enrolled) == sorted(live) and 0 < len(enrolled) <= 6


def test_demo_runs_again_without_duplicating_anything(tmp_path, monkeypatch):
    monkeypatch.setenv("BESTBY_DEMO_PASSWORD", "demo-from-environment")
    first = prepare_demo(deals=60, home=tmp_path)
    users = User.objects.count()
    second = prepare_demo(deals=60, home=tmp_path)
    assert Deal.objects.count() == 60 and User.objects.count() == users
    assert first.password == second.password == "demo-from-environment"
    assert "0 rows new" in second.summary
    from bestby.cadences.models import Enrollment

    assert "enrolled" in first.summary and "enrolled" not in second.summary
    assert f"; {Enrollment.objects.count()} of the demo rep's leads enrolled" in first.summary


def test_signed_in_demo_manager_sees_the_pipeline(client, tmp_path, monkeypatch):
    monkeypatch.setenv("BESTBY_DEMO_PASSWORD", "demo-from-environment")
    info = prepare_demo(deals=60, home=tmp_path)
    assert client.login(username=info.manager_login, password=info.password)
    html = client.get("/").content.decode()
    assert "Pipeline by stage" in html and 'data-stage="Qualify"' in html
