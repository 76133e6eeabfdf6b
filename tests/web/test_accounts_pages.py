"""Accounts and contacts pages: visibility through the access rules, relationship breadth by hand."""

import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from bestby.accounts.models import Account, Contact
from bestby.activities.models import Touch
from bestby.people.models import User
from bestby.pipeline import services
from bestby.pipeline.models import Pipeline, Stage
from tests.web.text import without_tokens

pytestmark = pytest.mark.django_db
T0 = datetime(2025, 1, 6, tzinfo=timezone.utc)
PW = "x-long-password-1"


@pytest.fixture
def world():
    p = Pipeline.objects.create(name="default")
    q = Stage.objects.create(pipeline=p, name="Qualify", position=1)
    Stage.objects.create(pipeline=p, name="Won", position=2, kind="won")
    mgr = User.objects.create_user(username="mgr", password=PW, external_id="mgr", role="manager", team="A")
    rep = User.objects.create_user(username="rep", password=PW, external_id="rep", role="rep", team="A", manager=mgr)
    oth = User.objects.create_user(username="oth", password=PW, external_id="oth", role="rep", team="B")
    acme = Account.objects.create(external_id="ACME", name="Acme Corp")
    other = Account.objects.create(external_id="GLOBEX", name="Globex")
    c1, c2, c3, c4 = (Contact.objects.create(external_id=f"C{i}", account=acme, name=f"Person {i}") for i in range(1, 5))
    Contact.objects.create(external_id="G1", account=other, name="Globex person")
    d1 = services.create_deal(external_id="D1", pipeline=p, stage=q, owner=rep, account=acme, amount=Decimal(100), at=T0)
    d2 = services.create_deal(external_id="D2", pipeline=p, stage=q, owner=rep, account=acme, amount=Decimal(200), at=T0)
    d3 = services.create_deal(external_id="D3", pipeline=p, stage=q, owner=oth, account=other, amount=Decimal(300), at=T0)
    n = iter(range(1000))

    def touch(deal, contact, account=acme):
        Touch.objects.create(external_id=f"T{next(n)}", at=T0 + timedelta(days=next(n)), channel="call", owner=rep,
                             deal=deal, contact=contact, account=account)

    # D1 reaches C1 (twice), C2, C3: 3 distinct contacts of 4, 4 touches
    touch(d1, c1), touch(d1, c1), touch(d1, c2), touch(d1, c3)
    # D2 reaches C1 only: 1 of 4, 1 touch; one more touch on the account with no deal reaches C4
    touch(d2, c1), touch(None, c4)
    touch(d3, None, other)
    # per contact on Acme: C1 3, C2 1, C3 1, C4 1
    return {"rep": rep, "oth": oth, "mgr": mgr}


def _cells(html: str, attr: str, key: str) -> list[str]:
    row = re.search(rf'<tr data-{attr}="{key}">(.*?)</tr>', html, re.S).group(1)
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def test_relationship_breadth_counted_by_hand(client, world):
    client.login(username="rep", password=PW)
    html = client.get("/accounts/ACME/").content.decode()
    d1, d2 = _cells(html, "deal", "D1"), _cells(html, "deal", "D2")
    assert d1[5:7] == ["4", "3 of 4"] and d2[5:7] == ["1", "1 of 4"]
    # the share bars (SVG: no inline style under the Content-Security-Policy) cover 3/4 and 1/4 of their cells
    assert re.search(r'<span class="bar" title="3 of 4 contacts">.*?<rect width="75" height="1"/>', html)
    assert re.search(r'<span class="bar" title="1 of 4 contacts">.*?<rect width="25" height="1"/>', html)
    assert [_cells(html, "contact", c)[3] for c in ("C1", "C2", "C3", "C4")] == ["3", "1", "1", "1"]
    page = without_tokens(html)  # "D3" may occur inside the random CSRF token
    assert "G1" not in page and "D3" not in page


def test_list_shows_only_visible_accounts_and_searches(client, world):
    client.login(username="rep", password=PW)
    html = client.get("/accounts/").content.decode()
    assert 'data-account="ACME"' in html and 'data-account="GLOBEX"' not in html
    assert _cells(html, "account", "ACME")[3:6] == ["2", "2", "4"]
    assert 'data-account="ACME"' not in client.get("/accounts/?q=nothing").content.decode()
    assert 'data-account="ACME"' in client.get("/accounts/?q=acme").content.decode()


def test_other_teams_account_is_404_and_admin_sees_all(client, world):
    client.login(username="rep", password=PW)
    assert client.get("/accounts/GLOBEX/").status_code == 404
    assert client.get("/accounts/NOPE/").status_code == 404
    client.logout()
    client.login(username="oth", password=PW)
    assert client.get("/accounts/ACME/").status_code == 404
    assert client.get("/accounts/GLOBEX/").status_code == 200
    User.objects.create_user(username="boss", password=PW, external_id="boss", role="admin")
    client.logout()
    client.login(username="boss", password=PW)
    html = client.get("/accounts/").content.decode()
    assert 'data-account="ACME"' in html and 'data-account="GLOBEX"' in html


def test_manager_sees_the_teams_account(client, world):
    client.login(username="mgr", password=PW)
    html = client.get("/accounts/ACME/").content.decode()
    assert _cells(html, "deal", "D1")[6] == "3 of 4"
    assert client.get("/accounts/GLOBEX/").status_code == 404


def test_sign_in_required(client, world):
    assert client.get("/accounts/").status_code == 302
    assert client.get("/accounts/ACME/").status_code == 302


def test_a_shared_account_shows_each_team_its_own_touches_and_deals(client, world):
    """oth (team B) also sells to ACME: D4, with a meeting with C1 and a call to C2 without a deal.

    rep's page counts rep's touches only (C1 3, C2 1, as before); oth's counts oth's (C1 1, C2 1, C4 0); an
    imported touch with no owner at ACME reaching C3 is the account's, so both count it.
    """
    acme = Account.objects.get(external_id="ACME")
    c1, c2, c3 = (Contact.objects.get(external_id=c) for c in ("C1", "C2", "C3"))
    p, q = Pipeline.objects.get(), Stage.objects.get(name="Qualify")
    d4 = services.create_deal(external_id="D4", pipeline=p, stage=q, owner=world["oth"], account=acme,
                              amount=Decimal(400), at=T0)
    Touch.objects.create(external_id="X1", at=T0, channel="meeting", owner=world["oth"], deal=d4, contact=c1,
                         account=acme, notes="their price")
    Touch.objects.create(external_id="X2", at=T0, channel="call", owner=world["oth"], contact=c2, account=acme)
    Touch.objects.create(external_id="X3", at=T0, channel="email", contact=c3, account=acme)
    client.login(username="rep", password=PW)
    html = client.get("/accounts/ACME/").content.decode()
    assert [_cells(html, "contact", c)[3] for c in ("C1", "C2", "C3", "C4")] == ["3", "1", "2", "1"]
    assert 'data-deal="D4"' not in html
    assert client.get("/deals/D4/").status_code == 404
    client.logout()
    client.login(username="oth", password=PW)
    html = client.get("/accounts/ACME/").content.decode()
    assert [_cells(html, "contact", c)[3] for c in ("C1", "C2", "C3", "C4")] == ["1", "1", "1", "0"]
    assert _cells(html, "deal", "D4")[5:7] == ["1", "1 of 4"] and 'data-deal="D1"' not in html
    deal_page = client.get("/deals/D4/").content.decode()
    assert "meeting with Person 1" in deal_page


def test_an_imported_account_without_deals_is_for_admins_only(client, world):
    Account.objects.create(external_id="FRESH", name="Fresh Ltd")
    client.login(username="rep", password=PW)
    assert client.get("/accounts/FRESH/").status_code == 404
    assert 'data-account="FRESH"' not in client.get("/accounts/").content.decode()
