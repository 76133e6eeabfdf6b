"""The pipeline board through Django's test client: who sees which cards and totals, filters, the card cap."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bestby.clearance.models import Freshness
from bestby.people.models import User
from bestby.pipeline import services
from bestby.pipeline.models import Deal, Pipeline, Stage
from tests.web.text import without_tokens

pytestmark = pytest.mark.django_db
PASSWORD = "x-long-password-1"
T0 = datetime(2025, 1, 6, tzinfo=UTC)
AS_OF = datetime(2025, 6, 1, tzinfo=UTC)

# external id, stage, owner, amount, cached state (None: no cache row)
DEALS = [
    ("D1", "Qualify", "rep_a", "1000", "expired"),
    ("D2", "Qualify", "rep_a", "500", "fresh"),
    ("D3", "Proposal", "rep_a2", "2500", "stalled"),
    ("D4", "Proposal", "mgr", "1250", "aging"),
    ("D5", "Won", "rep_a", "9000", None),        # closed: never on the board
    ("D7", "Qualify", "rep_b", "7000", "expired"),  # team B
    ("D8", "Proposal", "rep_b", "30000", None),     # team B, no cache row: unknown
]


def cache(deal: Deal, state: str, *, weight: float | None = None, reasons=None) -> Freshness:
    """A freshness cache row as ``bestby refresh`` writes it (the engine's own output is tested elsewhere)."""
    return Freshness.objects.create(
        deal=deal, as_of=AS_OF, state=state, best_by=AS_OF - timedelta(days=3),
        reasons=reasons if reasons is not None else ([{"code": "no_touch", "text": "no touch for 95 days"}]
                                                     if state in ("expired", "stalled") else []),
        weight=float(deal.amount or 0) if weight is None else weight, age_days=146, stage_age_days=146)


@pytest.fixture
def workspace(settings):
    """Team A: manager mgr, rep_a (reports to mgr), rep_a2; team B: rep_b; an admin root."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    p = Pipeline.objects.create(name="default")
    stages = {name: Stage.objects.create(pipeline=p, name=name, position=i, kind=kind) for i, (name, kind) in
              enumerate([("Qualify", "open"), ("Proposal", "open"), ("Won", "won"), ("Lost", "lost")], 1)}
    mgr = User.objects.create_user(username="mgr", password=PASSWORD, external_id="mgr", role="manager", team="A")
    users = {"mgr": mgr,
             "rep_a": User.objects.create_user(username="rep_a", password=PASSWORD, external_id="rep_a", role="rep",
                                               team="A", manager=mgr),
             "rep_a2": User.objects.create_user(username="rep_a2", password=PASSWORD, external_id="rep_a2",
                                                role="rep", team="A"),
             "rep_b": User.objects.create_user(username="rep_b", password=PASSWORD, external_id="rep_b", role="rep",
                                               team="B")}
    User.objects.create_user(username="root", password=PASSWORD, external_id="root", role="admin", is_staff=True,
                             is_superuser=True)
    for ext, stage, owner, amount, state in DEALS:
        deal = services.create_deal(external_id=ext, pipeline=p, stage=stages[stage], owner=users[owner],
                                    amount=Decimal(amount), at=T0, name=f"Deal {ext}",
                                    close_date=(T0 + timedelta(days=60)).date())
        if state:
            cache(deal, state)
    return stages


def signed_in(client, username):
    assert client.login(username=username, password=PASSWORD)
    return client


def cards(html: str, stage: str | None = None) -> list[str]:
    if stage is not None:
        html = re.search(rf'<section class="column" data-stage="{stage}">(.*?)</section>', html, re.S).group(1)
    return re.findall(r'<li class="card[^"]*" data-deal="([^"]+)"', html)


def totals(html: str, stage: str) -> dict[str, str]:
    col = re.search(rf'<section class="column" data-stage="{stage}">(.*?)</section>', html, re.S).group(1)
    return {k: re.sub(r"\s+", " ", v).strip() for k, v in re.findall(r'<dd class="(\w+)">(.*?)</dd>', col, re.S)}


def test_board_requires_sign_in(client, workspace):
    response = client.get("/board/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_manager_sees_team_cards_by_stage_with_raw_and_fresh_totals(client, workspace):
    html = signed_in(client, "mgr").get("/board/").content.decode()
    assert cards(html, "Qualify") == ["D1", "D2"]  # heaviest first
    assert cards(html, "Proposal") == ["D3", "D4"]
    assert 'data-stage="Won"' not in html  # closed stages are not columns
    assert totals(html, "Qualify") == {"raw": "2 · 1,500 USD", "fresh": "1 · 500 USD"}  # D1 expired
    assert totals(html, "Proposal") == {"raw": "2 · 3,750 USD", "fresh": "1 · 1,250 USD"}  # D3 stalled
    # the card: coloured by state, best-by date, reasons on hover and in a details element
    card = re.search(r'<li class="card state-expired" data-deal="D1".*?</li>', html, re.S).group(0)
    assert 'title="expired&#10;· no touch for 95 days"' in card
    assert "best by 2025-05-29" in card and "1,000 USD" in card and "<details>" in card
    assert "Freshness computed at 2025-06-01 00:00 UTC." in html


def test_rep_sees_own_cards_and_team_totals_only(client, workspace):
    html = signed_in(client, "rep_a").get("/board/").content.decode()
    assert cards(html) == ["D1", "D2"]
    assert totals(html, "Proposal") == {"raw": "0 · 0 USD", "fresh": "0 · 0 USD",
                                        "team": "2 · 3,750 USD (fresh 1,250 USD)"}
    assert totals(html, "Qualify")["team"] == "2 · 1,500 USD (fresh 500 USD)"
    page = without_tokens(html)  # a short id may occur inside the random CSRF token
    assert "D7" not in page and "D8" not in page and "D3" not in page


def test_admin_sees_all_and_unknown_state_is_grey(client, workspace):
    html = signed_in(client, "root").get("/board/").content.decode()
    assert sorted(cards(html)) == ["D1", "D2", "D3", "D4", "D7", "D8"]
    assert re.search(r'<li class="card state-unknown" data-deal="D8"', html)
    assert 'class="team"' not in html  # no separate team line for an admin


def test_filters_by_state_owner_and_team(client, workspace):
    c = signed_in(client, "root")
    assert sorted(cards(c.get("/board/?state=expired").content.decode())) == ["D1", "D7"]
    assert cards(c.get("/board/?state=unknown").content.decode()) == ["D8"]
    assert cards(c.get("/board/?owner=rep_a").content.decode()) == ["D1", "D2"]
    assert sorted(cards(c.get("/board/?team=B").content.decode())) == ["D7", "D8"]
    bad = c.get("/board/?state=rotten").content.decode()
    assert "state: &#x27;rotten&#x27; is not a state" in bad and len(cards(bad)) == 6  # named and ignored
    # a manager's owner filter cannot widen what they see
    assert cards(signed_in(client, "mgr").get("/board/?owner=rep_b").content.decode()) == []


def test_htmx_filter_answers_the_board_fragment(client, workspace):
    response = signed_in(client, "mgr").get("/board/?state=fresh", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "<html" not in html and cards(html) == ["D2"]


def test_column_shows_at_most_the_cap_and_counts_the_rest(client, workspace, monkeypatch):
    from bestby.web import views_board

    monkeypatch.setattr(views_board, "CARDS_PER_COLUMN", 1)
    html = signed_in(client, "mgr").get("/board/").content.decode()
    assert cards(html, "Qualify") == ["D1"] and "+1 more" in html


def test_empty_cache_says_how_to_fill_it(client, workspace):
    Freshness.objects.all().delete()
    html = signed_in(client, "mgr").get("/board/").content.decode()
    assert "run <code>bestby refresh</code>" in html
    assert {c for c in re.findall(r'data-state="(\w+)"', html)} == {"unknown"}


def test_show_more_pages_through_a_column_with_the_same_filters(client, workspace, monkeypatch):
    from bestby.web import views_board

    monkeypatch.setattr(views_board, "CARDS_PER_COLUMN", 1)
    c = signed_in(client, "root")
    html = c.get("/board/").content.decode()
    qualify = workspace["Qualify"].pk
    more = re.search(r'hx-get="(/board/column/\d+/\?offset=1)"', html).group(1)
    assert more == f"/board/column/{qualify}/?offset=1" and "+2 more" in html  # D7, D1, D2 in Qualify
    seen, url = cards(html, "Qualify"), more
    while url:
        part = c.get(url, HTTP_HX_REQUEST="true").content.decode()
        seen += cards(part)
        nxt = re.search(r'hx-get="([^"]+)"', part)
        url = nxt.group(1).replace("&amp;", "&") if nxt else None
    assert seen == ["D7", "D1", "D2"]  # weight (= amount here) descending, each once
    # the filters travel with "show more"
    html = c.get("/board/?team=A").content.decode()
    assert re.search(r'offset=1&amp;team=A"', html)
    part = c.get(f"/board/column/{qualify}/?offset=1&team=A").content.decode()
    assert cards(part) == ["D2"]


def test_show_more_refuses_bad_input_and_hides_other_teams(client, workspace):
    qualify, won = workspace["Qualify"].pk, workspace["Won"].pk
    c = signed_in(client, "rep_b")
    assert cards(c.get(f"/board/column/{qualify}/?offset=0").content.decode()) == ["D7"]  # only their own
    bad = c.get(f"/board/column/{qualify}/?offset=-3")
    assert bad.status_code == 400 and "offset" in bad.content.decode()
    assert c.get(f"/board/column/{qualify}/?offset=x").status_code == 400
    assert c.get(f"/board/column/{won}/").status_code == 404  # not an open stage
    assert c.get("/board/column/999999/").status_code == 404
    client.logout()
    assert client.get(f"/board/column/{qualify}/").status_code == 302  # sign in first


def test_cached_board_parts_follow_writes_and_never_cross_scopes(client, workspace):
    """The rendered board is cached per data token and owner scope: one user's board is never another's."""
    mgr_html = signed_in(client, "mgr").get("/board/").content.decode()
    assert cards(mgr_html, "Qualify") == ["D1", "D2"]
    client.logout()
    rep_html = signed_in(client, "rep_b").get("/board/").content.decode()
    assert cards(rep_html) == ["D7", "D8"]  # Qualify, then Proposal; none of team A's
    # a write (here a stage move) is on the next board, for everyone
    deal = Deal.objects.get(external_id="D7")
    services.move_deal(deal=deal, to_stage=workspace["Proposal"], at=T0 + timedelta(days=1))
    html = client.get("/board/").content.decode()
    assert cards(html, "Proposal") == ["D7", "D8"] and cards(html, "Qualify") == []  # D8 has no cache row: last
    # renaming a person shows on the cards (the people token)
    rep = User.objects.get(username="rep_b")
    rep.name = "Renamed Rep"
    rep.save()
    assert "Renamed Rep" in client.get("/board/").content.decode()
