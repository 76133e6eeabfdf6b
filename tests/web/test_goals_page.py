"""Goals page: who sees and edits which quotas, add/change/delete audited, errors naming the field, CSRF."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from django.test import Client

from bestby.audit.models import AuditEntry
from bestby.goals.models import Quota
from bestby.people.models import User

Q1 = (date(2026, 1, 1), date(2026, 3, 31))


@pytest.fixture
def world(db):
    """Team A: manager max, rep rita (reports to max), rep ria (team A, no manager). Team B: rep otto. An admin."""
    mk = User.objects.create_user
    admin = mk(username="ada", external_id="ada", role="admin")
    mgr = mk(username="max", external_id="max", role="manager", team="A", name="Max Manager")
    rep = mk(username="rita", external_id="rita", role="rep", team="A", manager=mgr, name="Rita Rep")
    mk(username="ria", external_id="ria", role="rep", team="A")
    other = mk(username="otto", external_id="otto", role="rep", team="B", name="Otto Other")
    quotas = {key: Quota.objects.create(owner_key=key, period_start=Q1[0], period_end=Q1[1], amount=Decimal(amount))
              for key, amount in [("rita", "100000"), ("ria", "90000"), ("max", "50000"), ("otto", "80000"),
                                  ("team:A", "300000"), ("team:B", "120000")]}
    return {"admin": admin, "mgr": mgr, "rep": rep, "other": other, "quotas": quotas}


def _table():
    return sorted(Quota.objects.values_list("owner_key", "period_start", "period_end", "amount"))


def _owners(html: str) -> set[str]:
    return set(re.findall(r'<tr data-quota="\d+" data-owner="([^"]+)"', html))


def _signed_in(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def test_each_role_sees_the_right_quotas(world):
    page = _signed_in(world["admin"]).get("/goals/").content.decode()
    assert _owners(page) == {"rita", "ria", "max", "otto", "team:A", "team:B"}
    page = _signed_in(world["mgr"]).get("/goals/").content.decode()
    assert _owners(page) == {"rita", "ria", "max", "team:A"}
    assert 'form="quota-%d"' % world["quotas"]["rita"].pk in page  # editable
    assert 'form="quota-%d"' % world["quotas"]["max"].pk not in page  # their own: read-only
    page = _signed_in(world["rep"]).get("/goals/").content.decode()
    assert _owners(page) == {"rita"} and "<form method=\"post\" action=\"/goals/" not in page
    assert "Otto" not in page and "FY2026-Q1" in page  # the row's fiscal period is named


def test_manager_adds_changes_and_deletes_their_sellers_quota_audited(world):
    mgr = _signed_in(world["mgr"])
    added = mgr.post("/goals/", {"owner": "rita", "period": "2026-Q2", "amount": "120,000"})
    assert added.status_code == 302 and "saved=" in added["Location"]
    quota = Quota.objects.get(owner_key="rita", period_start=date(2026, 4, 1))
    assert (quota.period_end, quota.amount) == (date(2026, 6, 30), Decimal("120000.00"))
    entry = AuditEntry.objects.get(action="quota.create")
    assert entry.by == world["mgr"] and entry.before is None and entry.object_id == str(quota.pk)
    assert entry.after == {"owner_key": "rita", "period_start": "2026-04-01", "period_end": "2026-06-30",
                           "amount": "120000.00"}

    changed = mgr.post(f"/goals/{quota.pk}/", {"owner": "ria", "start": "2026-04-01", "end": "2026-05-31",
                                               "amount": "80000.50"})
    assert changed.status_code == 302
    quota.refresh_from_db()
    assert (quota.owner_key, quota.period_end, quota.amount) == ("ria", date(2026, 5, 31), Decimal("80000.50"))
    entry = AuditEntry.objects.get(action="quota.change")
    assert entry.by == world["mgr"] and entry.before["owner_key"] == "rita" and entry.before["amount"] == "120000.00"
    assert entry.after["owner_key"] == "ria" and entry.after["amount"] == "80000.50"

    team = world["quotas"]["team:A"]
    assert mgr.post(f"/goals/{team.pk}/", {"owner": "team:A", "period": "2026-Q1", "amount": "310000"}).status_code == 302
    assert Quota.objects.get(pk=team.pk).amount == Decimal("310000.00")

    assert mgr.post(f"/goals/{quota.pk}/delete/").status_code == 302
    assert not Quota.objects.filter(pk=quota.pk).exists()
    entry = AuditEntry.objects.get(action="quota.delete")
    assert entry.by == world["mgr"] and entry.after is None and entry.before["owner_key"] == "ria"


def test_reps_and_managers_outside_their_team_are_refused(world):
    before, audits = _table(), AuditEntry.objects.count()
    rep = _signed_in(world["rep"])
    own = world["quotas"]["rita"].pk
    assert rep.post("/goals/", {"owner": "rita", "period": "2026-Q2", "amount": "1"}).status_code == 403
    assert rep.post(f"/goals/{own}/", {"owner": "rita", "period": "2026-Q1", "amount": "1"}).status_code == 403
    assert rep.post(f"/goals/{own}/delete/").status_code == 403

    mgr = _signed_in(world["mgr"])
    for key, ghost in (("otto", "ottx"), ("team:B", "team:Z")):  # outside the team: as for an owner that is not
        hidden = mgr.post("/goals/", {"owner": key, "period": "2026-Q2", "amount": "1"})
        missing = mgr.post("/goals/", {"owner": ghost, "period": "2026-Q2", "amount": "1"})
        assert hidden.status_code == missing.status_code == 400
        assert f"&#x27;{key}&#x27; is neither a user&#x27;s id" in hidden.content.decode()
    for key in ("otto", "team:B"):  # not theirs to see: as if it did not exist
        pk = world["quotas"][key].pk
        assert mgr.post(f"/goals/{pk}/", {"owner": key, "period": "2026-Q1", "amount": "1"}).status_code == 404
        assert mgr.post(f"/goals/{pk}/delete/").status_code == 404
    mine = world["quotas"]["max"].pk  # a manager does not set their own goal
    assert mgr.post(f"/goals/{mine}/", {"owner": "max", "period": "2026-Q1", "amount": "999999"}).status_code == 403
    rita = world["quotas"]["rita"].pk  # nor move a seller's quota to someone outside the team
    assert mgr.post(f"/goals/{rita}/", {"owner": "otto", "period": "2026-Q1", "amount": "1"}).status_code == 400
    assert _table() == before and AuditEntry.objects.count() == audits


@pytest.mark.parametrize("form, field", [
    ({"owner": "rita", "period": "2026-Q2", "amount": "0"}, "amount"),
    ({"owner": "rita", "period": "2026-Q2", "amount": "-5"}, "amount"),
    ({"owner": "rita", "period": "2026-Q2", "amount": "lots"}, "amount"),
    ({"owner": "rita", "period": "2026-Q2", "amount": "1.005"}, "amount"),
    ({"owner": "rita", "period": "2026-Q2", "amount": ""}, "amount"),
    ({"owner": "rita", "start": "2026-05-01", "end": "2026-04-01", "amount": "5"}, "end"),
    ({"owner": "rita", "start": "", "end": "2026-04-01", "amount": "5"}, "start"),
    ({"owner": "rita", "start": "2026-04-01", "end": "soon", "amount": "5"}, "end"),
    ({"owner": "rita", "period": "2026-Q5", "amount": "5"}, "period"),
    ({"owner": "nobody", "period": "2026-Q2", "amount": "5"}, "owner"),
    ({"owner": "team:Z", "period": "2026-Q2", "amount": "5"}, "owner"),
    ({"owner": "", "period": "2026-Q2", "amount": "5"}, "owner"),
    ({"owner": "rita", "period": "2026-Q1", "amount": "5"}, "period"),  # rita already has a Q1 quota
])
def test_bad_input_names_the_field_and_changes_nothing(world, form, field):
    before, audits = _table(), AuditEntry.objects.count()
    response = _signed_in(world["admin"]).post("/goals/", form)
    assert response.status_code == 400
    error = re.search(r'<p class="error" role="alert" data-field="(\w+)">([^<]+)</p>', response.content.decode())
    assert error and error.group(1) == field and error.group(2).startswith(f"{field}: ")
    assert _table() == before and AuditEntry.objects.count() == audits


def test_a_bad_change_leaves_the_row_as_it_was(world):
    before = _table()
    quota = world["quotas"]["rita"]
    response = _signed_in(world["mgr"]).post(f"/goals/{quota.pk}/", {"owner": "rita", "period": "2026-Q1",
                                                                     "amount": "0"})
    assert response.status_code == 400 and f"Quota #{quota.pk}: amount: must be greater than 0" in \
        response.content.decode()
    assert _table() == before and not AuditEntry.objects.exists()


def test_csrf_is_enforced(world):
    client = _signed_in(world["admin"], enforce_csrf_checks=True)
    before = _table()
    form = {"owner": "otto", "period": "2026-Q2", "amount": "5000"}
    assert client.post("/goals/", form).status_code == 403
    pk = world["quotas"]["otto"].pk
    assert client.post(f"/goals/{pk}/delete/").status_code == 403
    assert _table() == before
    page = client.get("/goals/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    assert client.post("/goals/", {**form, "csrfmiddlewaretoken": token}).status_code == 302
    assert Quota.objects.filter(owner_key="otto").count() == 2


def test_filters_and_get_only_on_change_urls(world):
    admin = _signed_in(world["admin"])
    Quota.objects.create(owner_key="otto", period_start=date(2026, 4, 1), period_end=date(2026, 6, 30),
                         amount=Decimal("1"))
    assert _owners(admin.get("/goals/?owner=otto").content.decode()) == {"otto"}
    page = admin.get("/goals/?period=2026-Q2").content.decode()
    assert _owners(page) == {"otto"} and "FY2026-Q2" in page
    assert admin.get(f"/goals/{world['quotas']['otto'].pk}/").status_code == 405


@pytest.mark.parametrize("form, field", [
    ({"owner": "ri\x00ta", "period": "2026-Q2", "amount": "5"}, "owner"),
    ({"owner": "rita", "period": "2026-Q2", "amount": "5\x00"}, "amount"),
])
def test_a_nul_character_is_refused_before_the_page_naming_the_field(world, form, field):
    """Every page's parameters are checked for NUL before any view (bestby.web.nul): 400 naming the field."""
    before, audits = _table(), AuditEntry.objects.count()
    response = _signed_in(world["admin"]).post("/goals/", form)
    assert response.status_code == 400
    assert f"{field}: must not contain NUL (0x00) characters" in response.content.decode()
    assert _table() == before and AuditEntry.objects.count() == audits
