"""The pages end to end in a real headless Chromium, against Django's live server.

The browser is Debian's ``chromium`` package (``/usr/bin/chromium``), driven by
Playwright's sync API; no browser is ever downloaded. The tests are skipped when
Playwright or that binary is missing, and fail then under ``CI=true`` (``.ci/run``
installs the package).

Playwright's sync API keeps an asyncio event loop running in this thread, and
Django refuses synchronous ORM calls inside a running loop; the module-scoped
fixture below sets ``DJANGO_ALLOW_ASYNC_UNSAFE`` for these tests only (the ORM
calls here are plain synchronous set-up, the live server runs in its own thread).

``BESTBY_SCREENSHOTS=1`` also writes ``docs/screenshots/home.png``.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from bestby.people.models import User
from bestby.pipeline import services
from bestby.pipeline.models import Pipeline, Stage

CHROMIUM = "/usr/bin/chromium"
# This machine has no network: without these flags Chromium keeps trying to
# reach Google's services and floods the log with refused connections.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "docs" / "screenshots" / "home.png"
PASSWORD = "x-long-password-1"
T0 = datetime(2025, 1, 6, tzinfo=timezone.utc)

try:
    from playwright import sync_api
except ImportError:
    sync_api = None
_missing = (
    "playwright is not installed: pip install -e '.[test]'" if sync_api is None
    else f"{CHROMIUM} is missing: apt-get install chromium" if not os.access(CHROMIUM, os.X_OK)
    else ""
)
if _missing:
    if os.environ.get("CI") == "true":  # as for PostgreSQL in conftest.py: CI must not skip silently
        pytest.fail(_missing + " (CI=true: this is a failure)", pytrace=False)
    pytest.skip(_missing, allow_module_level=True)

expect = sync_api.expect
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module", autouse=True)
def _orm_beside_playwright():
    """Let this module's synchronous ORM calls run while Playwright's event loop does."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="module")
def browser(_orm_beside_playwright):
    """One Chromium for the whole module."""
    expect.set_options(timeout=10_000)  # a busy CI machine is slower than the default 5 s
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context (no cookies) per test."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1100, "height": 700})
    context.set_default_timeout(10_000)
    pg = context.new_page()
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture
def workspace(settings):
    """Two teams. Team A: manager ``mgr``, rep ``rep_a`` reporting to mgr, rep ``rep_a2`` in the
    team without a manager set. Team B: rep ``rep_b``. One admin."""
    # a fast hasher: five users and a sign-in per test would otherwise cost seconds of PBKDF2
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    p = Pipeline.objects.create(name="default")
    qualify = Stage.objects.create(pipeline=p, name="Qualify", position=1)
    proposal = Stage.objects.create(pipeline=p, name="Proposal", position=2)
    won = Stage.objects.create(pipeline=p, name="Won", position=3, kind="won")
    lost = Stage.objects.create(pipeline=p, name="Lost", position=4, kind="lost")
    mgr = User.objects.create_user(username="mgr", password=PASSWORD, external_id="mgr", role="manager", team="A")
    rep_a = User.objects.create_user(username="rep_a", password=PASSWORD, external_id="rep_a", role="rep", team="A", manager=mgr)
    rep_a2 = User.objects.create_user(username="rep_a2", password=PASSWORD, external_id="rep_a2", role="rep", team="A")
    rep_b = User.objects.create_user(username="rep_b", password=PASSWORD, external_id="rep_b", role="rep", team="B")
    User.objects.create_user(
        username="root", password=PASSWORD, external_id="root", role="admin", is_staff=True, is_superuser=True
    )
    deals = [
        ("D1", qualify, rep_a, "1000"),
        ("D2", qualify, rep_a, "500"),
        ("D3", proposal, rep_a2, "2500"),
        ("D4", proposal, mgr, "1250"),
        ("D5", won, rep_a, "9000"),       # closed: not open pipeline
        ("D6", lost, rep_a2, "4000"),     # closed: not open pipeline
        ("D7", qualify, rep_b, "7000"),   # team B: the manager of team A must not see it
        ("D8", proposal, rep_b, "30000"),
    ]
    for ext, stage, owner, amount in deals:
        services.create_deal(external_id=ext, pipeline=p, stage=stage, owner=owner, amount=Decimal(amount), at=T0)
    return [d[0] for d in deals]


def at(page, path: str) -> None:
    """Wait until the page shows ``path`` (plus query) and has loaded it."""
    sync_api.expect(page).to_have_url(re.compile(r"^https?://[^/]+" + re.escape(path) + "$"))
    page.wait_for_load_state()


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def stage_row(page, stage: str):
    return page.locator(f'tr[data-stage="{stage}"] td')


def test_anonymous_lands_on_sign_in_then_manager_sees_team_pipeline(page, workspace):
    page.goto("/")
    at(page, "/login/?next=/")
    expect(page.locator("h1")).to_have_text("Sign in")
    expect(page.locator("header nav")).to_have_count(0)  # nobody signed in: no name, no sign-out

    page.get_by_label("Username").fill("mgr")
    page.get_by_label("Password").fill(PASSWORD)
    # the stylesheet of the page after sign-in is fetched and served
    with page.expect_response(lambda r: r.url.endswith("/static/web/bestby.css")) as css:
        page.get_by_role("button", name="Sign in").click()
    assert css.value.status == 200
    assert "text/css" in css.value.headers.get("content-type", "")

    at(page, "/")
    expect(page.locator("h1")).to_have_text("Pipeline by stage")
    expect(page.locator("header .who")).to_have_text("mgr · Manager")
    # the rule `header { background: #1d2433 }` from bestby.css is applied
    expect(page.locator("header")).to_have_css("background-color", "rgb(29, 36, 51)")

    # team A, open deals only: Qualify D1 1000 + D2 500; Proposal D3 2500 + D4 1250 (mgr's own);
    # Won and Lost hold only closed deals; team B's D7 (7000) and D8 (30000) are not counted.
    expect(page.locator("tr[data-stage]")).to_have_count(4)
    expect(stage_row(page, "Qualify")).to_have_text(["Qualify", "open", "2", "1,500 USD", ""])
    expect(stage_row(page, "Proposal")).to_have_text(["Proposal", "open", "2", "3,750 USD", ""])
    expect(stage_row(page, "Won")).to_have_text(["Won", "won", "0", "0 USD", ""])
    expect(stage_row(page, "Lost")).to_have_text(["Lost", "lost", "0", "0 USD", ""])
    # the share bar: Proposal holds the largest open amount, Qualify 1500/3750 = 40 % of it
    expect(page.locator('tr[data-stage="Proposal"] .bar rect')).to_have_attribute("width", "100.0")
    expect(page.locator('tr[data-stage="Qualify"] .bar rect')).to_have_attribute("width", "40.0")
    expect(page.locator("header nav").get_by_role("link", name="Admin")).to_have_count(0)  # not staff

    if os.environ.get("BESTBY_SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        assert SCREENSHOT.stat().st_size > 0


def test_wrong_password_shows_error_and_stays_on_sign_in(page, workspace):
    sign_in(page, "mgr", "not-the-password")
    expect(page.locator("p.error")).to_have_text(
        "Your e-mail/username and password did not match. Please try again."
    )
    at(page, "/login/")
    expect(page.locator("h1")).to_have_text("Sign in")
    expect(page.get_by_label("Username")).to_have_value("mgr")  # kept for the next try
    expect(page.get_by_label("Password")).to_have_value("")     # never echoed back
    page.goto("/")
    at(page, "/login/?next=/")  # still not signed in


def test_admin_opens_admin_and_deals_changelist(page, workspace):
    sign_in(page, "root")
    at(page, "/")
    page.locator("header nav").get_by_role("link", name="Admin").click()
    at(page, "/admin/")
    expect(page.locator("#site-name")).to_have_text("bestby administration")

    page.get_by_role("link", name="Deals", exact=True).click()
    at(page, "/admin/pipeline/deal/")
    # ordered by the model's default ordering; compare as a set to stay independent of it
    ids = page.locator("#result_list tbody tr th")
    expect(ids).to_have_count(len(workspace))
    assert sorted(t.strip() for t in ids.all_inner_texts()) == sorted(workspace)
    expect(page.locator(".paginator")).to_contain_text(f"{len(workspace)} deals")


def test_rep_is_turned_away_from_admin(page, workspace):
    sign_in(page, "rep_a")
    at(page, "/")
    expect(page.locator("header nav").get_by_role("link", name="Admin")).to_have_count(0)
    page.goto("/admin/")
    at(page, "/admin/login/?next=/admin/")
    expect(page.locator("#content")).to_contain_text("not authorized to access this page")
    page.goto("/admin/pipeline/deal/")
    at(page, "/admin/login/?next=/admin/pipeline/deal/")
    expect(page.locator("#result_list")).to_have_count(0)


def test_sign_out_returns_to_sign_in(page, workspace):
    sign_in(page, "mgr")
    at(page, "/")
    expect(page.locator("h1")).to_have_text("Pipeline by stage")
    page.locator("header").get_by_role("button", name="Sign out").click()
    at(page, "/login/")
    expect(page.locator("h1")).to_have_text("Sign in")
    expect(page.locator("header nav")).to_have_count(0)
    page.goto("/")
    at(page, "/login/?next=/")


def test_whitenoise_serves_the_stylesheet(client):
    """The live server answers /static/ with Django's own StaticFilesHandler before any
    middleware; this checks the path `bestby serve` uses: WhiteNoise with finders."""
    response = client.get("/static/web/bestby.css")
    assert response.status_code == 200
    assert type(response).__module__.startswith("whitenoise")
    assert b"table.stages" in b"".join(response.streaming_content)
