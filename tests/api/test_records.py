"""Accounts, contacts and touches through the API: visibility follows the deals; writes validate and audit."""

from __future__ import annotations

from bestby.accounts.models import Account, Contact
from bestby.activities.models import Touch
from bestby.audit.models import AuditEntry


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [x["id"] for x in response.json()["items"]]


def test_visibility_follows_the_deals(world):
    rep, other, admin = world["api"]["rep"], world["api"]["other"], world["api"]["admin"]
    assert _ids(rep.get("/api/accounts")) == ["acme"]
    assert _ids(other.get("/api/accounts")) == ["globex"]
    assert _ids(admin.get("/api/accounts")) == ["acme", "globex"]
    assert _ids(rep.get("/api/contacts")) == ["c-acme"]
    assert _ids(rep.get("/api/touches")) == ["t1"]
    assert _ids(admin.get("/api/touches", deal="D9")) == ["t9"]
    for url in ("/api/accounts/globex", "/api/contacts/c-globex", "/api/touches/t9"):
        assert rep.get(url).status_code == 404
    assert rep.patch("/api/accounts/globex", {"name": "Mine"}).status_code == 404
    assert Account.objects.get(external_id="globex").name == "Globex"


def test_create_and_edit_account_contact_touch(world):
    rep = world["api"]["rep"]  # a rep does not choose ids: bestby makes them (tests/api/test_shared_accounts.py)
    account = rep.post("/api/accounts", {"name": "Initech", "employees": 120})
    assert account.status_code == 201 and account.json()["employees"] == 120
    initech = account.json()["id"]
    contact = rep.post("/api/contacts", {"account": initech, "name": "Peter",
                                         "email": "peter@initech.test", "buying_role": "champion"})
    assert contact.status_code == 201, contact.content
    c_ini = contact.json()["id"]
    deal = rep.post("/api/deals", {"pipeline": "default", "stage": "Qualify", "account": initech, "name": "N"})
    assert deal.status_code == 201
    touch = rep.post("/api/touches", {"at": "2025-02-01T10:00:00Z", "channel": "meeting",
                                      "deal": deal.json()["id"], "contact": c_ini, "outcome": "connected"})
    assert touch.status_code == 201, touch.content
    assert (touch.json()["owner"], touch.json()["account"]) == ("rita", initech)
    assert rep.get(f"/api/accounts/{initech}").status_code == 200
    t_new = touch.json()["id"]

    assert rep.patch(f"/api/accounts/{initech}", {"sector": "Software"}).json()["sector"] == "Software"
    assert rep.patch(f"/api/contacts/{c_ini}", {"title": "VP"}).json()["title"] == "VP"
    assert rep.patch(f"/api/touches/{t_new}", {"notes": "went well"}).json()["notes"] == "went well"
    assert Touch.objects.get(external_id=t_new).notes == "went well"
    actions = set(AuditEntry.objects.filter(by=world["users"]["rep"]).values_list("action", flat=True))
    assert {"account.create", "account.update", "contact.create", "contact.update", "touch.create",
            "touch.update"} <= actions


def test_record_errors_name_the_field(world):
    rep = world["api"]["rep"]
    cases = [
        ("/api/accounts", {"name": ""}, "name"),
        ("/api/accounts", {"name": "X", "employees": -1}, "employees"),
        ("/api/contacts", {"account": "acme", "name": "Bad", "email": "not-an-email"}, "email"),
        ("/api/contacts", {"account": "acme", "name": "Bad", "buying_role": "boss"}, "buying_role"),
        ("/api/contacts", {"account": "globex", "name": "Not yours"}, "account"),
        ("/api/touches", {"at": "2025-01-01T00:00:00Z", "channel": "pigeon"}, "channel"),
        ("/api/touches", {"at": "2025-01-01T00:00:00Z", "channel": "phone", "deal": "D9"}, "deal"),
    ]
    counts = (Account.objects.count(), Contact.objects.count(), Touch.objects.count())
    for url, body, field in cases:
        response = rep.post(url, body)
        assert response.status_code == 422, (url, body, response.content)
        assert response.json()["field"] == field, (url, body, response.json())
    taken = world["api"]["admin"].post("/api/accounts", {"id": "acme", "name": "Again"})
    assert taken.status_code == 409 and taken.json()["field"] == "id"
    assert (Account.objects.count(), Contact.objects.count(), Touch.objects.count()) == counts
