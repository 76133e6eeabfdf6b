"""The security review's access findings, through the API: shared accounts, accounts without deals, taken ids.

The world of ``conftest.make_world`` plus: otto (team B) also has deal D8 at
acme, rita's account, with a touch t8 on it, an account-level touch t8a (no
deal) at acme, and an imported touch t-imp at acme with no owner. Account
"lonely" has no deals and was imported (no creator in bestby).
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from bestby.accounts.models import Account, Contact
from bestby.activities.models import Lead, Touch
from bestby.audit.models import AuditEntry
from bestby.goals.models import Quota
from bestby.pipeline import services
from bestby.pipeline.models import Deal
from tests.api.conftest import T0


@pytest.fixture
def shared(world):
    u, s = world["users"], world["stages"]
    acme, c_acme = Account.objects.get(external_id="acme"), Contact.objects.get(external_id="c-acme")
    d8 = services.create_deal(external_id="D8", pipeline=world["pipeline"], stage=s["Qualify"], owner=u["other"],
                              amount=Decimal("800"), account=acme, close_date=date(2025, 3, 31), name="Otto at Acme",
                              at=T0)
    Touch.objects.create(external_id="t8", at=T0, channel="meeting", owner=u["other"], deal=d8, account=acme,
                         contact=c_acme, notes="otto's pricing talk")
    Touch.objects.create(external_id="t8a", at=T0, channel="phone", owner=u["other"], account=acme, contact=c_acme,
                         notes="otto's call, no deal")
    Touch.objects.create(external_id="t-imp", at=T0, channel="email", account=acme, notes="imported, no owner")
    Account.objects.create(external_id="lonely", name="Lonely Ltd")
    Contact.objects.create(external_id="c-lonely", account=Account.objects.get(external_id="lonely"), name="Lou")
    return world


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(x["id"] for x in response.json()["items"])


def _stored() -> dict:
    """Everything these tests could change, row by row."""
    return {m.__name__: list(m.objects.order_by("pk").values()) for m in (Account, Contact, Touch, Deal, AuditEntry,
                                                                            Quota, Lead)}


# ---------------------------------------------------------------- touches on a shared account

def test_a_rep_cannot_read_or_change_another_teams_touches_at_a_shared_account(shared):
    rep, other = shared["api"]["rep"], shared["api"]["other"]
    assert rep.get("/api/accounts/acme").status_code == 200  # both teams have deals at acme
    assert rep.get("/api/deals/D8").status_code == 404
    # rita: her touch, and the imported one on the account (no owner: it goes with the account)
    assert _ids(rep.get("/api/touches")) == ["t-imp", "t1"]
    assert _ids(rep.get("/api/touches", account="acme")) == ["t-imp", "t1"]
    assert _ids(rep.get("/api/touches", deal="D8")) == []
    before = _stored()
    for touch in ("t8", "t8a"):
        assert rep.get(f"/api/touches/{touch}").status_code == 404
        response = rep.patch(f"/api/touches/{touch}", {"notes": "mine now"})
        assert response.status_code == 404 and response.json()["detail"] == f"no touch {touch!r} (or you may not see it)"
    assert _stored() == before
    # otto sees his own, and the imported one: acme is his account too
    assert _ids(other.get("/api/touches", account="acme")) == ["t-imp", "t8", "t8a"]
    # max manages rita: her touches; not otto's
    assert _ids(shared["api"]["mgr"].get("/api/touches", account="acme")) == ["t-imp", "t1"]
    assert _ids(shared["api"]["admin"].get("/api/touches", account="acme")) == ["t-imp", "t1", "t8", "t8a"]


def test_a_touch_on_a_deal_follows_the_deal_even_when_logged_by_someone_else(shared):
    """otto logs a touch on rita's D1 (an admin may put anyone's touch there): rita sees it, otto no longer."""
    u = shared["users"]
    Touch.objects.create(external_id="t-x", at=T0, channel="phone", owner=u["other"],
                         deal=Deal.objects.get(external_id="D1"))
    assert shared["api"]["rep"].get("/api/touches/t-x").status_code == 200
    assert shared["api"]["other"].get("/api/touches/t-x").status_code == 404


# ---------------------------------------------------------------- accounts without deals

def test_a_rep_cannot_attach_a_deal_to_an_account_they_may_not_see(shared):
    rep = shared["api"]["rep"]
    before = _stored()
    assert rep.get("/api/accounts/lonely").status_code == 404
    assert rep.get("/api/contacts/c-lonely").status_code == 404
    refusals = [
        rep.post("/api/deals", {"pipeline": "default", "stage": "Qualify", "account": "lonely", "name": "N"}),
        rep.patch("/api/deals/D1", {"version": 1, "account": "lonely"}),
        rep.post("/api/contacts", {"account": "lonely", "name": "Sneaky"}),
        rep.post("/api/accounts", {"name": "Child", "parent": "lonely"}),
        rep.post("/api/touches", {"at": "2025-02-01T10:00:00Z", "channel": "phone", "account": "lonely"}),
    ]
    for response, field in zip(refusals, ["account", "account", "account", "parent", "account"]):
        assert response.status_code == 422, response.content
        assert response.json() == {"detail": f"no {field} 'lonely' (or you may not see it)", "field": field}
    assert rep.patch("/api/accounts/lonely", {"name": "Mine"}).status_code == 404
    assert rep.patch("/api/contacts/c-lonely", {"name": "Mine"}).status_code == 404
    assert _stored() == before
    # the admin may: the account is then visible to rita through her deal
    admin = shared["api"]["admin"]
    assert admin.patch("/api/deals/D1", {"version": 1, "account": "lonely"}).status_code == 200
    assert rep.get("/api/accounts/lonely").status_code == 200


def test_an_account_created_through_the_api_is_its_creators_and_their_managers(shared):
    rep, other, mgr = shared["api"]["rep"], shared["api"]["other"], shared["api"]["mgr"]
    made = rep.post("/api/accounts", {"name": "Initech"})
    assert made.status_code == 201
    initech = made.json()["id"]
    contact = rep.post("/api/contacts", {"account": initech, "name": "Peter"}).json()["id"]
    assert rep.get(f"/api/accounts/{initech}").status_code == 200
    assert mgr.get(f"/api/accounts/{initech}").status_code == 200  # max manages rita
    assert _ids(mgr.get("/api/contacts", account=initech)) == [contact]
    before = _stored()
    assert other.get(f"/api/accounts/{initech}").status_code == 404
    assert other.get(f"/api/contacts/{contact}").status_code == 404
    response = other.post("/api/deals", {"pipeline": "default", "stage": "Qualify", "account": initech, "name": "N"})
    assert response.status_code == 422 and response.json()["field"] == "account"
    assert other.post("/api/contacts", {"account": initech, "name": "Sneaky"}).json()["field"] == "account"
    assert _stored() == before
    assert rep.post("/api/deals", {"pipeline": "default", "stage": "Qualify", "account": initech, "name": "N"}).status_code == 201
    assert Account.objects.get(external_id=initech).created_by == shared["users"]["rep"]


# ---------------------------------------------------------------- chosen ids: no existence oracle

IDS = {  # per kind: another team's record (hidden from rita), one of hers, and a free id
    "deal": ("D9", "D1", "D0"), "account": ("globex", "acme", "nobody"), "contact": ("c-globex", "c-acme", "c-none"),
    "touch": ("t9", "t1", "t0"),
}


def _create(kind: str, key: str) -> dict:
    return {"deal": {"id": key, "pipeline": "default", "stage": "Qualify", "name": "x"},
            "account": {"id": key, "name": "x"},
            "contact": {"id": key, "account": "acme", "name": "x"},
            "touch": {"id": key, "at": "2025-02-01T10:00:00Z", "channel": "phone"}}[kind]


@pytest.mark.parametrize("who", ["rep", "mgr"])
@pytest.mark.parametrize("kind", sorted(IDS))
def test_an_id_chosen_by_a_non_admin_gets_one_answer_whether_free_theirs_or_hidden(shared, kind, who):
    """Byte for byte the same refusal (status, body, headers), nothing stored, for each of the three ids."""
    api = shared["api"][who]
    hidden, mine, free = IDS[kind]
    assert api.get(f"/api/{kind}s/{hidden}".replace("touchs", "touches")).status_code == 404
    assert api.get(f"/api/{kind}s/{mine}".replace("touchs", "touches")).status_code == 200
    before = _stored()
    url = f"/api/{kind}s".replace("touchs", "touches")
    answers = [api.post(url, _create(kind, key)) for key in (hidden, mine, free)]
    assert _stored() == before
    assert {a.status_code for a in answers} == {422}
    assert answers[0].json() == {"field": "id", "detail": "only an admin chooses the id of a new record; leave id "
                                                          "out and a new one is made"}
    assert answers[0].content == answers[1].content == answers[2].content
    assert sorted(answers[0].headers.items()) == sorted(answers[1].headers.items()) == sorted(
        answers[2].headers.items())
    # without an id, a new random one: the record is made
    made = api.post(url, {k: v for k, v in _create(kind, "x").items() if k != "id"})
    assert made.status_code == 201, made.content
    assert re.fullmatch(rf"api-{kind}-[0-9a-f]{{12}}", made.json()["id"])


@pytest.mark.parametrize("kind", sorted(IDS))
def test_an_admin_chooses_ids_and_a_taken_one_is_409(shared, kind):
    admin = shared["api"]["admin"]
    hidden, mine, free = IDS[kind]
    url = f"/api/{kind}s".replace("touchs", "touches")
    before = _stored()
    for key in (hidden, mine):
        taken = admin.post(url, _create(kind, key))
        assert (taken.status_code, taken.json()["field"]) == (409, "id")
    assert _stored() == before
    assert admin.post(url, _create(kind, free)).json()["id"] == free


def test_a_lead_whose_deal_id_is_taken_becomes_a_deal_with_a_fresh_id(shared):
    """Converting lead L5 makes deal lead-L5; when otto's deal holds that id, rita's lead still converts."""
    u = shared["users"]
    services.create_deal(external_id="lead-L5", pipeline=shared["pipeline"], stage=shared["stages"]["Qualify"],
                         owner=u["other"], at=T0)
    Lead.objects.create(external_id="L5", name="Lena", owner=u["rep"], status="engaged")
    otto = Deal.objects.filter(external_id="lead-L5").values().get()
    response = shared["api"]["rep"].post("/api/leads/L5/convert", {})
    assert response.status_code == 201, response.content
    made = response.json()["deal"]
    assert re.fullmatch(r"lead-L5-[0-9a-f]{8}", made) and response.json()["owner"] == "rita"
    assert Deal.objects.filter(external_id="lead-L5").values().get() == otto
    assert Lead.objects.get(external_id="L5").converted_deal.external_id == made


def test_a_quota_for_an_owner_one_may_not_see_answers_as_for_no_such_owner(shared):
    rep, mgr = shared["api"]["rep"], shared["api"]["mgr"]
    before = _stored()
    body = {"period_start": "2025-01-01", "period_end": "2025-03-31", "amount": 1000}
    for api in (rep, mgr):
        hidden = api.post("/api/quotas", {"owner": "otto", **body})        # exists, another team
        missing = api.post("/api/quotas", {"owner": "ottx", **body})       # does not exist
        assert (hidden.status_code, missing.status_code) == (422, 422)
        assert hidden.json()["field"] == missing.json()["field"] == "owner"
        assert hidden.json()["detail"].replace("otto", "ottx") == missing.json()["detail"]
        hidden_team = api.post("/api/quotas", {"owner": "team:B", **body})
        missing_team = api.post("/api/quotas", {"owner": "team:Z", **body})
        assert hidden_team.status_code == missing_team.status_code == 422
        assert hidden_team.json()["detail"].replace("team:B", "team:Z") == missing_team.json()["detail"]
    assert _stored() == before
    # one she may see but not edit stays 403 (no secret there): rita's own quota
    assert rep.post("/api/quotas", {"owner": "rita", **body}).status_code == 403
