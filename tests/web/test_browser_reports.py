"""In a real Chromium: a manager drills from the forecast into a seller's deals, then edits that seller's quota."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from bestby.engine.forecast import forecast
from bestby.goals.models import Quota
from bestby.pipeline.analytics import store_source
from tests.web.reports_data import AS_OF, QUERY, load_store, period, synth_folder
from tests.web.test_browser import (  # noqa: F401 - fixtures: one Chromium per module, a page per test
    PASSWORD, _orm_beside_playwright, at, browser, expect, page, sign_in)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return synth_folder(tmp_path_factory)


@pytest.fixture
def store(folder, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    users = load_store(folder)
    users["mgr"].set_password(PASSWORD)
    users["mgr"].save()
    return users


@pytest.fixture
def patient(page):
    """Engine pages take seconds (tens on PostgreSQL or a busy machine): wait up to 60 s for them."""
    page.set_default_timeout(60_000)
    expect.set_options(timeout=60_000)
    try:
        yield page
    finally:
        expect.set_options(timeout=10_000)


def test_manager_drills_into_a_sellers_deals_then_edits_their_quota(patient, store):
    page = patient
    sign_in(page, "U0001")
    at(page, "/")
    expect(page.locator("header nav").get_by_role("link", name="Forecast")).to_have_attribute("href", "/forecast/")
    page.goto(f"/forecast/?{QUERY}")
    expect(page.locator("h1")).to_have_text("Forecast of FY2025-Q4")
    rows = page.locator("table.forecast-table tbody tr")
    expect(rows.filter(has_text="Team North 1")).to_have_count(1)
    expect(rows.filter(has_text="Team South 1")).to_have_count(0)  # another team
    expect(rows.filter(has_text="Workspace")).to_have_count(0)  # admins only

    page.locator("table.forecast-table").get_by_role("link", name="François Harris").click()
    expect(page).to_have_url(re.compile(r"group=owner%3AU0002"))
    deals = page.locator("#deals table.drill-deals tbody tr")
    want = [d["deal_id"] for d in forecast(store_source(AS_OF), as_of=AS_OF, period=period(),
                                           levels=("owner",))["deals"] if d["owner_id"] == "U0002"]
    expect(deals).to_have_count(len(want))
    expect(deals.first).to_have_attribute("data-deal", want[0])
    expect(page.locator("table.forecast-table tr.selected")).to_have_attribute("data-key", "U0002")

    page.locator("header nav").get_by_role("link", name="Goals").click()
    at(page, "/goals/")
    page.get_by_label("Owner", exact=True).fill("U0002")
    page.get_by_label("Period", exact=True).last.fill("2026-Q1")
    page.get_by_role("button", name="Filter").click()
    quota = Quota.objects.get(owner_key="U0002", period_start=date(2026, 1, 1))
    row = page.locator(f'tr[data-quota="{quota.pk}"]')
    expect(row).to_have_count(1)
    page.get_by_label(f"Amount of quota {quota.pk}").fill("161500")
    row.get_by_role("button", name="Save").click()
    expect(page.locator("p.message")).to_contain_text("changed U0002 2026-01-01 to 2026-03-31")
    expect(page.get_by_label(f"Amount of quota {quota.pk}")).to_have_value("161500.00")
    quota.refresh_from_db()
    assert quota.amount == Decimal("161500.00")

    page.get_by_label(f"Amount of quota {quota.pk}").fill("0")  # refused, named, nothing changed
    row.get_by_role("button", name="Save").click()
    expect(page.locator("p.error")).to_contain_text("amount: must be greater than 0")
    quota.refresh_from_db()
    assert quota.amount == Decimal("161500.00")
