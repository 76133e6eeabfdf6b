"""Shelf life, accounts, settings and import end to end in headless Debian Chromium.

Driven by Playwright against Django's live server, reusing ``test_browser.py``'s
Chromium, page and sign-in. Each test acts as a user does (fill, select, click,
upload) and checks what the page shows against figures worked out by hand in the
test, and what it changed against the database:

- shelf life: a chart per stage, and best-by figures equal to the type-7
  quantiles of the stage durations written below, at the default and at a
  quantile typed into the form;
- accounts: search, open an account, relationship breadth counted by hand;
  another team's account is a 404 page;
- settings: an admin moves a stage up and saves a policy value (both stored);
  a bad value names its field and stores nothing; a rep gets 403;
- import: a zip is dry-run (counts shown, nothing stored), confirmed (rows
  stored); a zip with a bad row names file, line and column and stores nothing.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from bestby.accounts.models import Account, Contact
from bestby.activities.models import Touch
from bestby.clearance.models import PolicySetting
from bestby.importers.canonical import import_canonical
from bestby.people.models import User
from bestby.pipeline import services
from bestby.pipeline.models import Deal, Pipeline, Stage
from tests.importers.folders import HAND, write_folder
from tests.web.test_browser import (  # noqa: F401 - fixtures: one Chromium per module, a page per test
    PASSWORD, _orm_beside_playwright, at, browser, expect, page, sign_in)

pytestmark = pytest.mark.django_db(transaction=True)
T0 = datetime(2025, 1, 6, tzinfo=timezone.utc)
FAST = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # a sign-in per test: no seconds of PBKDF2


def user(username: str, **kw) -> User:
    return User.objects.create_user(username=username, password=PASSWORD, external_id=username, **kw)


def zipped(files: dict[str, str]) -> dict:
    """A zip of ``files`` as Playwright's set_input_files takes it."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return {"name": "upload.zip", "mimeType": "application/zip", "buffer": buf.getvalue()}


# ------------------------------------------------------------------ shelf life

# Every deal enters Qualify on 2024-01-01. Days in stage, forward exits only:
#   Qualify:  d1 2, d2 4, d3 10, d4 7, d5 1                    -> sorted 1 2 4 7 10, n 5
#   Proposal: d1 3 (won), d2 5 (won), d3 9 (won); d4 still there (censored), d5 to Lost (not forward) -> 3 5 9, n 3
#   Cycle (won deals, created to closed): d1 5, d2 9, d3 19     -> 5 9 19, n 3
# Type-7 quantile, h = (n - 1) q:
#   q 0.8: Qualify h 3.2 -> 7 + 0.2 * 3 = 7.6; Proposal h 1.6 -> 5 + 0.6 * 4 = 7.4; cycle 9 + 0.6 * 10 = 15.0
#   q 0.5: Qualify 4.0; Proposal 5.0; cycle 9.0
SHELF = {
    "stages.csv": "pipeline,stage,position,kind\n"
                  "default,Qualify,1,open\ndefault,Proposal,2,open\ndefault,Won,3,won\ndefault,Lost,4,lost\n",
    "deals.csv": "deal_id,pipeline,created_at,stage,status,closed_at\n"
                 "d1,default,2024-01-01,Won,won,2024-01-06\n"
                 "d2,default,2024-01-01,Won,won,2024-01-10\n"
                 "d3,default,2024-01-01,Won,won,2024-01-20\n"
                 "d4,default,2024-01-01,Proposal,open,\n"
                 "d5,default,2024-01-01,Lost,lost,2024-01-22\n",
    "stage_events.csv": "deal_id,at,to_stage,from_stage\n"
                        "d1,2024-01-01,Qualify,\nd1,2024-01-03,Proposal,Qualify\nd1,2024-01-06,Won,Proposal\n"
                        "d2,2024-01-01,Qualify,\nd2,2024-01-05,Proposal,Qualify\nd2,2024-01-10,Won,Proposal\n"
                        "d3,2024-01-01,Qualify,\nd3,2024-01-11,Proposal,Qualify\nd3,2024-01-20,Won,Proposal\n"
                        "d4,2024-01-01,Qualify,\nd4,2024-01-08,Proposal,Qualify\n"
                        "d5,2024-01-01,Qualify,\nd5,2024-01-02,Proposal,Qualify\nd5,2024-01-22,Lost,Proposal\n",
}


def shelf_row(page, stage: str):
    return page.locator(f'section.shelf[data-pipeline="default"] tr[data-stage="{stage}"]')


def expect_shelf(page, figures: dict[str, tuple[str, str, str]]) -> None:
    """Each row: its best-by cell, n, one chart with one best-by line at that value."""
    expect(page.locator('section.shelf[data-pipeline="default"] tbody tr')).to_have_count(len(figures))
    for stage, (shown, n, marker) in figures.items():
        row = shelf_row(page, stage)
        expect(row.locator("td.best-by-days")).to_have_text(shown)
        expect(row.locator("td.num").nth(1)).to_have_text(n)
        expect(row.locator("svg.shelf-chart")).to_have_count(1)
        expect(row.locator("svg line.best-by")).to_have_attribute("data-best-by", marker)


def test_shelf_life_best_by_matches_the_quantiles_by_hand(page, settings, tmp_path):
    settings.PASSWORD_HASHERS = FAST
    import_canonical(write_folder(tmp_path / "shelf", SHELF))
    user("viewer", role="rep", team="A")
    sign_in(page, "viewer")
    at(page, "/")
    page.locator("header nav").get_by_role("link", name="Shelf life").click()
    at(page, "/shelf-life/")
    expect(page.locator("h1")).to_have_text("Shelf life")
    expect_shelf(page, {"(whole cycle)": ("15.0", "3", "15.0000"), "Qualify": ("7.6", "5", "7.6000"),
                        "Proposal": ("7.4", "3", "7.4000")})

    page.get_by_label("Quantile").fill("0.5")
    page.get_by_role("button", name="Show").click()
    at(page, "/shelf-life/?q=0.5&by=")
    expect_shelf(page, {"(whole cycle)": ("9.0", "3", "9.0000"), "Qualify": ("4.0", "5", "4.0000"),
                        "Proposal": ("5.0", "3", "5.0000")})

    page.get_by_label("Quantile").fill("7")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("p.error")).to_have_text("q: must be a number in (0, 1], got '7'")


# ------------------------------------------------------------------ accounts

@pytest.fixture
def accounts(settings):
    """Acme (team A, 4 contacts) with deals D1, D2; Globex (team B) with D3. Touches as in test_accounts_pages."""
    settings.PASSWORD_HASHERS = FAST
    p = Pipeline.objects.create(name="default")
    q = Stage.objects.create(pipeline=p, name="Qualify", position=1)
    Stage.objects.create(pipeline=p, name="Won", position=2, kind="won")
    mgr = user("mgr", role="manager", team="A")
    rep = user("rep", role="rep", team="A", manager=mgr)
    oth = user("oth", role="rep", team="B")
    acme = Account.objects.create(external_id="ACME", name="Acme Corp")
    globex = Account.objects.create(external_id="GLOBEX", name="Globex")
    c1, c2, c3, c4 = (Contact.objects.create(external_id=f"C{i}", account=acme, name=f"Person {i}") for i in range(1, 5))
    Contact.objects.create(external_id="G1", account=globex, name="Globex person")
    d1, d2, d3 = (services.create_deal(external_id=ext, pipeline=p, stage=q, owner=owner, account=account,
                                       amount=Decimal(amount), at=T0)
                  for ext, owner, account, amount in [("D1", rep, acme, 100), ("D2", rep, acme, 200),
                                                      ("D3", oth, globex, 300)])
    for i, (deal, contact, account) in enumerate([(d1, c1, acme), (d1, c1, acme), (d1, c2, acme), (d1, c3, acme),
                                                  (d2, c1, acme), (None, c4, acme), (d3, None, globex)]):
        Touch.objects.create(external_id=f"T{i}", at=T0 + timedelta(days=i), channel="call", owner=rep,
                             deal=deal, contact=contact, account=account)


def test_rep_searches_opens_an_account_and_sees_breadth(page, accounts):
    sign_in(page, "rep")
    at(page, "/")
    page.locator("header nav").get_by_role("link", name="Accounts").click()
    at(page, "/accounts/")
    expect(page.locator("tr[data-account]")).to_have_count(1)  # Globex is team B's
    page.get_by_label("Name").fill("zzz")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("td.empty")).to_have_text("No account matches “zzz”.")
    page.get_by_label("Name").fill("acme")
    page.get_by_role("button", name="Search").click()
    at(page, "/accounts/?q=acme")
    # deals 2, open 2, contacts 4
    expect(page.locator('tr[data-account="ACME"] td')).to_have_text(["Acme Corp", "", "", "2", "2", "4"])

    page.get_by_role("link", name="Acme Corp").click()
    at(page, "/accounts/ACME/")
    # D1 touched C1 twice, C2, C3: 4 touches reaching 3 of 4 contacts (75 %); D2 one touch to C1 (25 %)
    expect(page.locator('tr[data-deal="D1"] td').nth(5)).to_have_text("4")
    expect(page.locator('tr[data-deal="D1"] td.breadth')).to_have_text("3 of 4")
    expect(page.locator('tr[data-deal="D1"] .bar rect')).to_have_attribute("width", "75")
    expect(page.locator('tr[data-deal="D2"] td').nth(5)).to_have_text("1")
    expect(page.locator('tr[data-deal="D2"] td.breadth')).to_have_text("1 of 4")
    expect(page.locator('tr[data-deal="D2"] .bar rect')).to_have_attribute("width", "25")
    expect(page.locator("tr[data-deal]")).to_have_count(2)  # not Globex's D3
    # per contact: C1 3 touches (the most: full bar), C2, C3, C4 one each (the one on C4 has no deal)
    expect(page.locator("tr[data-contact] td.touches")).to_have_text(["3", "1", "1", "1"])
    expect(page.locator('tr[data-contact="C1"] .bar rect')).to_have_attribute("width", "100")
    expect(page.locator('tr[data-contact="C4"] td').last).to_have_text("2025-01-11")  # T0 + 5 days


def test_rep_gets_404_for_another_teams_account(page, accounts):
    sign_in(page, "rep")
    at(page, "/")
    response = page.goto("/accounts/GLOBEX/")
    assert response.status == 404
    expect(page.locator("body")).not_to_contain_text("Globex")
    assert page.goto("/accounts/ACME/").status == 200


# ------------------------------------------------------------------ settings

@pytest.fixture
def settings_world(settings, tmp_path, monkeypatch):
    settings.PASSWORD_HASHERS = FAST
    monkeypatch.setenv("BESTBY_HOME", str(tmp_path))  # no policy.toml there
    p = Pipeline.objects.create(name="default")
    for i, (name, kind) in enumerate([("Qualify", "open"), ("Demo", "open"), ("Proposal", "open"),
                                      ("Won", "won"), ("Lost", "lost")], start=1):
        Stage.objects.create(pipeline=p, name=name, position=i, kind=kind)
    user("boss", role="admin")
    user("rep", role="rep", team="A")
    return p


def order(p) -> list[str]:
    return list(p.stages.order_by("position").values_list("name", flat=True))


def test_admin_moves_a_stage_up(page, settings_world):
    sign_in(page, "boss")
    at(page, "/")
    page.locator("header nav").get_by_role("link", name="Settings").click()
    at(page, "/settings/")
    expect(page.locator('tr[data-stage="Qualify"] button[title="Move up"]')).to_be_disabled()
    page.get_by_role("button", name="Move Proposal up").click()  # the accessible name, as a screen reader says it
    at(page, "/settings/")
    expect(page.locator('section.settings-stages tr[data-stage] td:nth-child(2)')).to_have_text(
        ["Qualify", "Proposal", "Demo", "Won", "Lost"])
    assert order(settings_world) == ["Qualify", "Proposal", "Demo", "Won", "Lost"]
    # Demo is now the last open stage: below Won is refused, named, nothing changes
    page.get_by_role("button", name="Move Demo down").click()
    expect(page.locator("p.error")).to_contain_text("order: open stages must come before")
    assert order(settings_world) == ["Qualify", "Proposal", "Demo", "Won", "Lost"]


def test_admin_saves_a_policy_value_and_a_bad_one_is_refused(page, settings_world):
    sign_in(page, "boss")
    page.goto("/settings/")
    default = page.locator('section.settings-policy[data-section="default"]')
    default.get_by_label("quantile", exact=True).fill("1.5")
    default.get_by_role("button", name="Save default policy").click()
    default = page.locator('section.settings-policy[data-section="default"]')
    expect(default.locator('p.error[data-field="quantile"]')).to_contain_text("quantile must be in (0, 1]")
    expect(default.get_by_label("quantile", exact=True)).to_have_value("1.5")  # what was typed is kept
    assert not PolicySetting.objects.exists()

    default.get_by_label("quantile", exact=True).fill("0.7")
    default.get_by_label("no_touch_days").fill("60")
    default.get_by_role("button", name="Save default policy").click()
    at(page, "/settings/")
    expect(page.locator("p.error")).to_have_count(0)
    row = PolicySetting.objects.get(pipeline=None)
    assert row.values == {"quantile": 0.7, "no_touch_days": 60.0}
    default = page.locator('section.settings-policy[data-section="default"]')
    expect(default.get_by_label("quantile", exact=True)).to_have_value("0.7")
    expect(default.get_by_label("no_touch_days")).to_have_value("60")  # as typed, not "60.0"
    expect(default.locator("p.note")).to_contain_text("by boss")


def test_rep_gets_403_on_settings(page, settings_world):
    sign_in(page, "rep")
    at(page, "/")
    expect(page.locator("header nav").get_by_role("link", name="Settings")).to_have_count(0)
    assert page.goto("/settings/").status == 403
    assert page.goto("/import/").status == 403


# ------------------------------------------------------------------ import

@pytest.fixture
def admin(settings, tmp_path, monkeypatch):
    settings.PASSWORD_HASHERS = FAST
    monkeypatch.setenv("BESTBY_HOME", str(tmp_path / "home"))  # uploads go to $BESTBY_HOME/uploads
    return user("boss", role="admin")


def test_admin_uploads_dry_runs_and_confirms_an_import(page, admin, tmp_path):
    sign_in(page, "boss")
    at(page, "/")
    page.locator("header nav").get_by_role("link", name="Import").click()
    at(page, "/import/")
    files = {f"export/{name}": text for name, text in HAND.items()}  # in one folder: allowed
    page.locator('input[type="file"]').set_input_files(zipped(files))
    page.get_by_role("button", name="Upload and check").click()
    expect(page.locator("h2").first).to_have_text("Dry run: what the import would do")
    # HAND (tests/importers/folders.py): 3 deals, 6 stage events, 2 users, 2 accounts, all new
    expect(page.locator('tr[data-file="deals"] td')).to_have_text(["deals", "3", "0", "0", "3"])
    expect(page.locator('tr[data-file="stage_events"] td')).to_have_text(["stage_events", "6", "0", "0", "6"])
    expect(page.locator('tr[data-file="users"] td')).to_have_text(["users", "2", "0", "0", "2"])
    assert not Deal.objects.exists()

    page.get_by_role("button", name="Confirm: import these files").click()
    expect(page.locator("h2").first).to_have_text("Imported")
    assert sorted(Deal.objects.values_list("external_id", flat=True)) == ["d1", "d2", "d3"]
    d1 = Deal.objects.get(external_id="d1")
    assert d1.amount == Decimal("12000.50") and d1.stage.name == "Proposal" and d1.status == "open"
    assert Account.objects.get(external_id="a-sub").parent.external_id == "a-acme"
    assert not any((tmp_path / "home" / "uploads").iterdir())  # the upload folder is removed


def test_a_bad_row_is_named_and_nothing_is_stored(page, admin, tmp_path):
    deals = ("deal_id,pipeline,stage,created_at,amount\n"
             "D1,default,Qualify,2025-01-06,100\n"
             "D2,default,Qualify,not a date,100\n")  # line 3 (the header is line 1)
    stages = "pipeline,stage,position,kind\ndefault,Qualify,1,open\ndefault,Won,2,won\n"
    sign_in(page, "boss")
    page.goto("/import/")
    page.locator('input[type="file"]').set_input_files(zipped({"deals.csv": deals, "stages.csv": stages}))
    page.get_by_role("button", name="Upload and check").click()
    expect(page.locator("h2").first).to_have_text("Dry run: the import would be refused")
    problem = page.locator("table.import-problems tbody tr")
    expect(problem).to_have_count(1)
    expect(problem.locator("td").nth(0)).to_have_text("deals.csv")
    expect(problem.locator("td").nth(1)).to_have_text("3")
    expect(problem.locator("td").nth(2)).to_have_text("created_at")
    expect(page.get_by_role("button", name="Confirm: import these files")).to_have_count(0)
    assert not Deal.objects.exists() and not Stage.objects.exists()
    assert not any((tmp_path / "home" / "uploads").iterdir())
