"""The core pages end to end in headless Debian Chromium: board, clearance review (clear, undo), deal page.

Driven by Playwright against Django's live server, like ``test_browser.py``
(whose Chromium set-up this module reuses). The main flow runs on realistic
data: ``write_synth(deals=300, seed=1)`` imported, then the freshness cache
computed with ``snapshot.refresh``. ``BESTBY_SCREENSHOTS=1`` also writes
``docs/screenshots/board.png``, ``deal.png`` and ``clearance.png``.
"""

from __future__ import annotations

import os
import re
from datetime import UTC

import pytest

from bestby.clearance.models import Freshness
from bestby.clearance.snapshot import refresh
from bestby.importers.canonical import import_canonical
from bestby.people import access
from bestby.people.models import User
from bestby.pipeline.models import Deal
from bestby.synth import DEFAULT_AS_OF, write_synth
from bestby.web.views_board import CARDS_PER_COLUMN
from tests.web.test_board import workspace  # noqa: F401 - the small two-team workspace
from tests.web.test_browser import (  # noqa: F401 - fixtures: one Chromium per module, a page per test
    PASSWORD, REPO, _orm_beside_playwright, at, browser, expect, page, sign_in)

pytestmark = pytest.mark.django_db(transaction=True)
SHOTS = REPO / "docs" / "screenshots"
AS_OF = DEFAULT_AS_OF.replace(tzinfo=UTC)


def screenshot(page, name: str) -> None:
    if os.environ.get("BESTBY_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / name), full_page=False)
        assert (SHOTS / name).stat().st_size > 0


@pytest.fixture
def synth_workspace(tmp_path, settings):
    """300 synthetic deals imported, the freshness cache computed; returns the team's manager (password set)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    write_synth(tmp_path, deals=300, seed=1)
    import_canonical(tmp_path)
    assert refresh(as_of=AS_OF) > 0
    manager = User.objects.filter(role="manager").order_by("pk").first()
    manager.set_password(PASSWORD)
    manager.save()
    return manager


def expected_cards(user, stage) -> list[str]:
    """The cards the board must show in a column: the user's open deals there, heaviest first, capped."""
    from django.db.models import F

    return list(access.deals_for(user).filter(status="open", stage=stage)
                .order_by(F("freshness__weight").desc(nulls_last=True), F("amount").desc(nulls_last=True),
                          "external_id").values_list("external_id", flat=True)[:CARDS_PER_COLUMN])


def curve_loaded(page) -> None:
    """Wait for the deal page's curve (fetched after the page): no request may outlive the test."""
    expect(page.locator("#curve svg.chart, #curve .no-curve")).to_have_count(1, timeout=30_000)


def column_cards(page, stage: str):
    return page.locator(f'section.column[data-stage="{stage}"] li.card')


def test_manager_clears_a_deal_from_the_review_and_undoes_it(page, synth_workspace):
    manager = synth_workspace
    sign_in(page, manager.username)
    at(page, "/")
    page.locator("header nav").get_by_role("link", name="Board").click()
    at(page, "/board/")
    expect(page.locator("h1")).to_have_text("Pipeline board")
    expect(page.locator("p.computed")).to_contain_text("Freshness computed at 2026-01-01 00:00 UTC")
    stages = [s for s in Deal.objects.filter(status="open").values_list("stage", flat=True).distinct()]
    assert stages
    from bestby.pipeline.models import Stage

    for stage in Stage.objects.filter(pk__in=stages):
        ids = expected_cards(manager, stage)
        assert ids
        expect(column_cards(page, stage.name)).to_have_count(len(ids))
        assert [c.get_attribute("data-deal") for c in column_cards(page, stage.name).all()] == ids
    # each card is coloured by its cached state
    first = Freshness.objects.filter(deal__in=access.deals_for(manager), state__in=("expired", "stalled"),
                                     deal__status="open").order_by("-weight", "deal__external_id").first()
    card = page.locator(f'li.card[data-deal="{first.deal.external_id}"]')
    expect(card).to_have_class(re.compile(rf"\bstate-{first.state}\b"))
    expect(card).to_have_attribute("title", re.compile(re.escape(first.reasons[0]["text"])))
    screenshot(page, "board.png")

    # filter by state through HTMX: the URL follows, only that state's cards remain
    page.get_by_label("State").select_option(first.state)
    at(page, f"/board/?owner=&team=&state={first.state}")
    expect(page.locator("li.card").first).to_be_visible()
    assert set(page.locator("li.card").evaluate_all("els => els.map(e => e.dataset.state)")) == {first.state}

    page.locator("header nav").get_by_role("link", name="Clearance").click()
    at(page, "/clearance/")
    rows = page.locator("table.clearance-list tbody tr[data-deal]")
    expect(rows.first).to_have_attribute("data-deal", first.deal.external_id)  # heaviest first
    n = rows.count()
    screenshot(page, "clearance.png")
    deal_id = first.deal.external_id
    page.get_by_label(f"select {deal_id}").check()
    page.get_by_role("button", name="Clear to lost").click()
    expect(page.locator(".message")).to_contain_text(f"Cleared to lost: {deal_id} (action #")
    expect(page.locator(f'table.clearance-list tr[data-deal="{deal_id}"]')).to_have_count(0)
    expect(rows).to_have_count(n - 1)
    assert Deal.objects.get(external_id=deal_id).status == "lost"

    page.goto("/board/")
    expect(page.locator("li.card").first).to_be_visible()
    expect(page.locator(f'li.card[data-deal="{deal_id}"]')).to_have_count(0)

    page.goto("/clearance/")
    recent = page.locator("section.recent tr[data-action]").first
    expect(recent).to_contain_text(deal_id)
    recent.get_by_role("button", name="Undo").click()
    expect(page.locator(".message")).to_contain_text("Undid action #")
    expect(page.locator(f'table.clearance-list tr[data-deal="{deal_id}"]')).to_have_count(1)
    expect(rows).to_have_count(n)
    assert Deal.objects.get(external_id=deal_id).status == "open"
    page.goto("/board/")
    expect(page.locator(f'li.card[data-deal="{deal_id}"]')).to_have_count(1)

    # the deal page: header, timeline, and the win curve loaded by HTMX after the page
    page.locator(f'li.card[data-deal="{deal_id}"] a').click()
    at(page, f"/deals/{deal_id}/")
    expect(page.locator("dd.status")).to_have_text("Open")
    expect(page.locator("ol.timeline li.event").first).to_be_visible()
    curve_loaded(page)
    screenshot(page, "deal.png")


def test_snooze_through_the_browser_uses_its_own_url(page, workspace):
    sign_in(page, "mgr")
    page.goto("/clearance/")
    page.get_by_label("select D1").check()
    page.get_by_label("Snooze until").fill("2099-01-01")
    page.get_by_role("button", name="Snooze").click()
    expect(page.locator("span.error[data-field=reason]")).to_contain_text("give a reason")
    page.get_by_label("Reason").fill("back from holiday in January")
    page.get_by_role("button", name="Snooze").click()
    expect(page.locator(".message")).to_contain_text("Snoozed until 2099-01-01: D1 (action #")
    expect(page.locator('table.clearance-list tr[data-deal="D1"]')).to_have_count(0)


def test_rep_opening_another_teams_deal_gets_404(page, workspace):
    sign_in(page, "rep_a")
    at(page, "/")
    response = page.goto("/deals/D1/")
    assert response.status == 200
    curve_loaded(page)
    response = page.goto("/deals/D7/")
    assert response.status == 404
    expect(page.locator("body")).not_to_contain_text("Deal D7")


def test_a_form_posted_without_its_csrf_token_is_refused(page, workspace):
    sign_in(page, "rep_a")
    at(page, "/")
    page.goto("/deals/D2/")
    curve_loaded(page)
    page.get_by_label("Name").fill("Forged")
    page.locator('form.deal-edit input[name="csrfmiddlewaretoken"]').evaluate("el => el.remove()")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Save").click()
    assert posted.value.status == 403
    assert Deal.objects.get(external_id="D2").name == "Deal D2"
    # with its token the same edit goes through
    page.goto("/deals/D2/")
    curve_loaded(page)
    page.get_by_label("Name").fill("Renamed")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("p.saved")).to_have_text("Saved.")
    curve_loaded(page)
    assert Deal.objects.get(external_id="D2").name == "Renamed"
