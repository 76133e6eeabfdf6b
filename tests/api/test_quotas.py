"""Quotas through the API: what each role sees and edits, audited changes, JSON errors naming the field."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bestby.audit.models import AuditEntry
from bestby.goals.models import Quota

Q1 = (date(2025, 1, 1), date(2025, 3, 31))


@pytest.fixture
def quotas(world):
    return {key: Quota.objects.create(owner_key=key, period_start=Q1[0], period_end=Q1[1], amount=Decimal(amount))
            for key, amount in [("rita", "1000"), ("max", "500"), ("otto", "800"), ("team:A", "3000"),
                                ("team:B", "1200")]}


def _table():
    return sorted(Quota.objects.values_list("owner_key", "period_start", "period_end", "amount"))


def _owners(response) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(q["owner"] for q in response.json()["items"])


def test_each_role_sees_the_right_quotas(world, quotas):
    api = world["api"]
    assert _owners(api["admin"].get("/api/quotas")) == ["max", "otto", "rita", "team:A", "team:B"]
    assert _owners(api["mgr"].get("/api/quotas")) == ["max", "rita", "team:A"]
    assert _owners(api["rep"].get("/api/quotas")) == ["rita"]
    items = {q["owner"]: q for q in api["mgr"].get("/api/quotas").json()["items"]}
    assert items["rita"]["editable"] and items["team:A"]["editable"] and not items["max"]["editable"]
    assert items["rita"]["amount"] == "1000.00" and items["rita"]["period_end"] == "2025-03-31"
    assert not api["rep"].get("/api/quotas").json()["items"][0]["editable"]


def test_create_change_delete_audited(world, quotas):
    mgr = world["api"]["mgr"]
    created = mgr.post("/api/quotas", {"owner": "rita", "period": "2025-Q2", "amount": "1500.50"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["owner"], body["period_start"], body["period_end"], body["amount"]) == \
        ("rita", "2025-04-01", "2025-06-30", "1500.50")
    entry = AuditEntry.objects.get(action="quota.create")
    assert entry.by == world["users"]["mgr"] and entry.after["amount"] == "1500.50"

    changed = mgr.patch(f"/api/quotas/{body['id']}", {"amount": 1600, "period_end": "2025-05-31"})
    assert changed.status_code == 200, changed.content
    assert (changed.json()["amount"], changed.json()["period_end"]) == ("1600.00", "2025-05-31")
    entry = AuditEntry.objects.get(action="quota.change")
    assert (entry.before["amount"], entry.after["amount"]) == ("1500.50", "1600.00")
    assert (entry.before["period_end"], entry.after["period_end"]) == ("2025-06-30", "2025-05-31")

    assert mgr.client.delete(f"/api/quotas/{body['id']}").status_code == 204
    assert not Quota.objects.filter(pk=body["id"]).exists()
    assert AuditEntry.objects.get(action="quota.delete").before["owner_key"] == "rita"


def test_refused_for_reps_and_outside_the_managers_team(world, quotas):
    api = world["api"]
    before, audits = _table(), AuditEntry.objects.count()
    rep = api["rep"]
    for response in (rep.post("/api/quotas", {"owner": "rita", "period": "2025-Q2", "amount": "1"}),
                     rep.patch(f"/api/quotas/{quotas['rita'].pk}", {"amount": "1"}),
                     rep.client.delete(f"/api/quotas/{quotas['rita'].pk}")):
        assert response.status_code == 403, response.content
        assert response.json()["field"] == "owner"
    mgr = api["mgr"]
    # owners outside the team are not theirs to see: the answer of an owner that does not exist (no oracle)
    for key, ghost in (("otto", "ottx"), ("team:B", "team:Z")):
        hidden = mgr.post("/api/quotas", {"owner": key, "period": "2025-Q2", "amount": "1"})
        missing = mgr.post("/api/quotas", {"owner": ghost, "period": "2025-Q2", "amount": "1"})
        assert (hidden.status_code, hidden.json()["field"]) == (422, "owner")
        assert hidden.json()["detail"].replace(key, ghost) == missing.json()["detail"]
    assert mgr.patch(f"/api/quotas/{quotas['otto'].pk}", {"amount": "1"}).status_code == 404
    assert mgr.client.delete(f"/api/quotas/{quotas['team:B'].pk}").status_code == 404
    assert mgr.patch(f"/api/quotas/{quotas['max'].pk}", {"amount": "99999"}).status_code == 403  # their own
    assert mgr.patch(f"/api/quotas/{quotas['rita'].pk}", {"owner": "otto"}).status_code == 422
    assert _table() == before and AuditEntry.objects.count() == audits


@pytest.mark.parametrize("body, field", [
    ({"owner": "rita", "period": "2025-Q2", "amount": "0"}, "amount"),
    ({"owner": "rita", "period": "2025-Q2", "amount": "-3"}, "amount"),
    ({"owner": "rita", "period": "2025-Q2", "amount": "abc"}, "amount"),
    ({"owner": "rita", "period": "2025-Q2"}, "amount"),
    ({"owner": "rita", "period_start": "2025-05-01", "period_end": "2025-04-01", "amount": "5"}, "end"),
    ({"owner": "rita", "period_start": "2025-05-01", "amount": "5"}, "end"),
    ({"owner": "rita", "period": "Q2", "amount": "5"}, "period"),
    ({"owner": "ghost", "period": "2025-Q2", "amount": "5"}, "owner"),
    ({"owner": "rita", "period": "2025-Q1", "amount": "5"}, "period"),  # rita has a Q1 quota already
])
def test_bad_input_is_422_naming_the_field_and_changes_nothing(world, quotas, body, field):
    before = _table()
    response = world["api"]["admin"].post("/api/quotas", body)
    assert response.status_code == 422, response.content
    assert response.json()["field"] == field and response.json()["detail"]
    assert _table() == before and not AuditEntry.objects.filter(action__startswith="quota.").exists()
    bad_patch = world["api"]["admin"].patch(f"/api/quotas/{quotas['rita'].pk}", {"amount": "0"})
    assert bad_patch.status_code == 422 and bad_patch.json()["field"] == "amount" and _table() == before
