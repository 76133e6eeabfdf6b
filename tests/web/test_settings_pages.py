"""Settings page: admins only, stage order through an audited service, the stored clearance policy."""

import os
from datetime import UTC, datetime
import re
from pathlib import Path

import pytest

import bestby.cli  # noqa: F401 - loads the CLI modules in their order (cli_analytics alone is a circular import)

from bestby.audit.models import AuditEntry
from bestby.cli_analytics import resolve_policy
from bestby.clearance.models import PolicySetting
from bestby.engine.policy import ClearancePolicy
from bestby.people.models import User
from bestby.pipeline.models import Pipeline, Stage
from bestby.pipeline.services import DealError, reorder_stages

pytestmark = pytest.mark.django_db
PW = "x-long-password-1"


@pytest.fixture
def world(tmp_path, monkeypatch):
    monkeypatch.setenv("BESTBY_HOME", str(tmp_path))  # no policy.toml there
    p = Pipeline.objects.create(name="default")
    for i, (name, kind) in enumerate([("Qualify", "open"), ("Demo", "open"), ("Proposal", "open"),
                                      ("Won", "won"), ("Lost", "lost")], start=1):
        Stage.objects.create(pipeline=p, name=name, position=i, kind=kind)
    User.objects.create_user(username="boss", password=PW, external_id="boss", role="admin")
    User.objects.create_user(username="mgr", password=PW, external_id="mgr", role="manager", team="A")
    return p


def _order(p):
    return list(p.stages.order_by("position").values_list("name", flat=True))


def test_only_admins(client, world):
    assert client.get("/settings/").status_code == 302
    client.login(username="mgr", password=PW)
    assert client.get("/settings/").status_code == 403
    assert client.post("/settings/policy/", {"section": "default", "quantile": "0.7"}).status_code == 403
    assert client.post(f"/settings/stages/{world.pk}/", {"stage": "Demo", "direction": "up"}).status_code == 403
    assert not PolicySetting.objects.exists() and _order(world)[1] == "Demo"
    assert 'href="/settings/"' not in client.get("/").content.decode()
    client.logout()
    client.login(username="boss", password=PW)
    assert client.get("/settings/").status_code == 200


def test_move_stage_up_and_down_is_audited(client, world):
    client.login(username="boss", password=PW)
    response = client.post(f"/settings/stages/{world.pk}/", {"stage": "Proposal", "direction": "up"})
    assert response.status_code == 302
    assert _order(world) == ["Qualify", "Proposal", "Demo", "Won", "Lost"]
    entry = AuditEntry.objects.get(action="pipeline.reorder_stages")
    assert entry.before["order"][1] == "Demo" and entry.after["order"][1] == "Proposal"
    assert entry.by.username == "boss"
    # Demo is now the last open stage: it cannot go below Won (refused, named, unchanged)
    response = client.post(f"/settings/stages/{world.pk}/", {"stage": "Demo", "direction": "down"})
    assert response.status_code == 400 and "order: open stages must come before" in response.content.decode()
    assert _order(world) == ["Qualify", "Proposal", "Demo", "Won", "Lost"]


def test_reorder_service_validates(world):
    with pytest.raises(DealError, match="order: stage 'Lost' is missing"):
        reorder_stages(pipeline=world, order=["Qualify", "Demo", "Proposal", "Won"])
    with pytest.raises(DealError, match="order: unknown stage 'X'"):
        reorder_stages(pipeline=world, order=["Qualify", "Demo", "Proposal", "Won", "X"])
    with pytest.raises(DealError, match="order: open stages"):
        reorder_stages(pipeline=world, order=["Qualify", "Demo", "Won", "Proposal", "Lost"])
    reorder_stages(pipeline=world, order=["Demo", "Qualify", "Proposal", "Lost", "Won"])
    assert _order(world) == ["Demo", "Qualify", "Proposal", "Lost", "Won"]


def test_policy_errors_name_the_field_and_change_nothing(client, world):
    client.login(username="boss", password=PW)
    assert client.post("/settings/policy/", {"section": "default", "quantile": "0.7"}).status_code == 302
    before = list(PolicySetting.objects.values_list("values", flat=True))
    audits = AuditEntry.objects.count()
    for field, value, text in [("quantile", "1.5", "quantile must be in (0, 1]"),
                               ("stalled_after_pushes", "two", "stalled_after_pushes must be a whole number"),
                               ("aging_fraction", "0", "aging_fraction must be in (0, 1]"),
                               ("segment", "shoe", "segment must be one of"),
                               ("business_days", "maybe", "business_days must be true or false")]:
        response = client.post("/settings/policy/", {"section": "default", field: value})
        html = response.content.decode()
        assert response.status_code == 400 and text in html
        assert re.search(rf'<p class="error" data-field="{field}">', html)
        assert f'value="{value}"' in html  # what was typed is kept
    response = client.post("/settings/policy/", {"section": str(world.pk), "second_meeting_stage": "1st meeting"})
    assert response.status_code == 400 and "second_meeting_stage must differ" in response.content.decode()
    assert list(PolicySetting.objects.values_list("values", flat=True)) == before
    assert AuditEntry.objects.count() == audits


def test_policy_round_trip_through_resolve_policy(client, world):
    assert resolve_policy(None) == ClearancePolicy()
    client.login(username="boss", password=PW)
    client.post("/settings/policy/", {"section": "default", "quantile": "0.7", "no_touch_days": "60",
                                      "business_days": "true"})
    assert resolve_policy(None) == ClearancePolicy(quantile=0.7, no_touch_days=60, business_days=True)
    client.post("/settings/policy/", {"section": str(world.pk), "aging_fraction": "0.5", "segment": "owner"})
    policy = resolve_policy(None)
    assert policy.get("default") == ClearancePolicy(quantile=0.7, no_touch_days=60, business_days=True,
                                                    aging_fraction=0.5, segment="owner")
    assert policy.get("other pipeline") == ClearancePolicy(quantile=0.7, no_touch_days=60, business_days=True)
    assert resolve_policy(None, stored=False) == ClearancePolicy()
    html = client.get("/settings/").content.decode()
    assert 'name="quantile" value="0.7"' in html
    changes = AuditEntry.objects.filter(action="policy.change").order_by("id")
    assert changes.count() == 2 and changes[0].after["quantile"] == 0.7 and changes[0].by.username == "boss"
    # emptying a section removes it; a policy file still wins over the store
    client.post("/settings/policy/", {"section": str(world.pk)})
    assert resolve_policy(None) == ClearancePolicy(quantile=0.7, no_touch_days=60, business_days=True)
    (Path(os.environ["BESTBY_HOME"]) / "policy.toml").write_text("[default]\nquantile = 0.9\n")
    assert resolve_policy(None) == ClearancePolicy(quantile=0.9)


def test_policy_numbers_too_large_for_a_date_are_refused(client, world):
    """Walk: lookback_days=1e308 was saved, then /shelf-life/ and `bestby refresh` failed (timedelta overflow)."""
    client.login(username="boss", password=PW)
    for field, value in [("lookback_days", "1e308"), ("expired_idle_days", "1e308"), ("no_touch_days", "1e20"),
                         ("close_date_grace_days", "99999999999999999999"), ("no_second_meeting_days", "1e308"),
                         ("stalled_after_pushes", "99999999999999999999")]:
        response = client.post("/settings/policy/", {"section": "default", field: value})
        html = response.content.decode()
        assert response.status_code == 400, (field, value)
        assert re.search(rf'<p class="error" data-field="{field}">', html) and "is out of range" in html
    assert not PolicySetting.objects.exists()
    assert client.post("/settings/policy/", {"section": "default", "lookback_days": "3650",
                                             "stalled_after_pushes": "1000"}).status_code == 302


def test_a_stored_policy_out_of_bounds_is_shown_and_can_be_corrected(client, world):
    """A policy saved before the day bound (lookback_days 1e308) must not take the Settings page down with it."""
    PolicySetting.objects.create(pipeline=None, values={"lookback_days": 1e308, "quantile": 0.7},
                                 updated_at=datetime(2026, 1, 5, tzinfo=UTC))
    client.login(username="boss", password=PW)
    response = client.get("/settings/")
    html = response.content.decode()
    # SQLite's JSON gives the float back (1e+308); PostgreSQL's jsonb the exact number it keeps (1 and 308 zeros)
    assert response.status_code == 200 and re.search(r"lookback_days: (1e\+308|10{308}) is out of range", html)
    assert client.post("/settings/policy/", {"section": "default", "quantile": "0.7",
                                             "lookback_days": "365"}).status_code == 302
    assert resolve_policy(None) == ClearancePolicy(quantile=0.7, lookback_days=365)
