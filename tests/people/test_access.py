"""The access rules, in one place: who sees which deals, accounts, contacts and touches.

Workspace: an admin; manager M of team A with rep R1 (team A, reports to M) and
rep R2 (no team, reports to M); rep R3 in team A reporting to nobody; rep X in
team B; an inactive rep in team A. Each rep owns one deal on its own account.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import AnonymousUser

from bestby.accounts.models import Account, Contact
from bestby.activities.models import Touch
from bestby.people import access
from bestby.people.models import User
from bestby.pipeline import services
from bestby.pipeline.models import Pipeline, Stage

pytestmark = pytest.mark.django_db
T0 = datetime(2025, 1, 6, tzinfo=UTC)


@pytest.fixture
def ws():
    p = Pipeline.objects.create(name="default")
    q = Stage.objects.create(pipeline=p, name="Qualify", position=1)
    mk = lambda eid, **kw: User.objects.create_user(username=eid, external_id=eid, password="x-long-password-1", **kw)  # noqa: E731
    users = {"admin": mk("admin", role="admin"), "M": mk("M", role="manager", team="A")}
    users["R1"] = mk("R1", role="rep", team="A", manager=users["M"])
    users["R2"] = mk("R2", role="rep", team="", manager=users["M"])
    users["R3"] = mk("R3", role="rep", team="A")
    users["X"] = mk("X", role="rep", team="B")
    users["gone"] = mk("gone", role="rep", team="A", is_active=False)
    users["su"] = User.objects.create_superuser(username="su", external_id="su", password="x-long-password-1",
                                                role="rep")
    for owner in ("M", "R1", "R2", "R3", "X"):
        acct = Account.objects.create(external_id=f"A-{owner}")
        Contact.objects.create(external_id=f"C-{owner}", account=acct)
        deal = services.create_deal(external_id=f"D-{owner}", pipeline=p, stage=q, owner=users[owner], account=acct,
                                    at=T0)
        Touch.objects.create(external_id=f"T-{owner}", at=T0, channel="email", owner=users[owner], deal=deal)
    Touch.objects.create(external_id="T-free", at=T0, channel="email")  # nobody's: admins only
    return users


def ids(qs) -> set[str]:
    return set(qs.values_list("external_id", flat=True))


ALL = {"D-M", "D-R1", "D-R2", "D-R3", "D-X"}


@pytest.mark.parametrize(("who", "deals"), [
    ("admin", ALL), ("su", ALL),
    ("M", {"D-M", "D-R1", "D-R2", "D-R3"}),   # own, reports (R1, R2 without a team), team A (R3)
    ("R1", {"D-R1"}), ("R2", {"D-R2"}), ("X", {"D-X"}),
    ("gone", set()),
])
def test_deals_for(ws, who, deals):
    assert ids(access.deals_for(ws[who])) == deals


def test_anonymous_sees_nothing(ws):
    anon = AnonymousUser()
    assert not access.deals_for(anon).exists() and not access.touches_for(anon).exists()
    assert not access.accounts_for(anon).exists() and not access.contacts_for(anon).exists()


def test_team_totals_for_a_rep(ws):
    # a rep's totals cover their team (R1, R3 and M's own team A deals), the deals themselves stay hidden
    assert ids(access.team_deals(ws["R1"])) == {"D-M", "D-R1", "D-R3"}
    assert ids(access.team_deals(ws["R2"])) == {"D-R2"}  # no team: only their own


@pytest.mark.parametrize(("who", "suffixes"), [
    ("admin", {"M", "R1", "R2", "R3", "X"}), ("M", {"M", "R1", "R2", "R3"}), ("R1", {"R1"}), ("X", {"X"}),
])
def test_accounts_contacts_and_touches_follow_the_deals(ws, who, suffixes):
    user = ws[who]
    assert ids(access.accounts_for(user)) == {f"A-{s}" for s in suffixes}
    assert ids(access.contacts_for(user)) == {f"C-{s}" for s in suffixes}
    expected = {f"T-{s}" for s in suffixes} | ({"T-free"} if who == "admin" else set())
    assert ids(access.touches_for(user)) == expected


def test_can_change(ws):
    from bestby.pipeline.models import Deal

    r3 = Deal.objects.get(external_id="D-R3")
    assert access.can_change(ws["M"], r3) and access.can_change(ws["R3"], r3)
    assert not access.can_change(ws["R1"], r3) and not access.can_change(ws["X"], r3)
    assert access.can_change(ws["admin"], r3)
