"""A seller works through the Today list in headless Debian Chromium, and the calendar feed follows.

Playwright against Django's live server, with ``test_browser.py``'s Chromium, page and sign-in.
Germany's calendar, the seller in Berlin, bestby's clock at Wednesday 1 April 2026, 10:00 Berlin.
Worked by hand (Good Friday 3 April and Easter Monday 6 April are holidays):

- L1 (Lena Lang, Acme GmbH) from Friday 27 March: due 27, 27, 30 March, 1, 8, 13 April.
- L2 (Max Roth, Beta AG) from 1 April: offsets 0 0 1 3 6 9 -> 1, 1, 2, 8, 13, 16 April.

The seller marks L1's step 3 (due 30 March: 2 business days late) done with "voicemail left", which
moves L1's steps 4-6 by two business days to 7, 10 and 15 April; skips L1's step 1; and records
that L2 replied by e-mail (L2's cadence ends: its six tasks leave the list and the feed). Left on
Today: L1's step 2 (27 March, 3 business days late). In the feed (the secret token URL, parsed with
``icalendar``): L1's steps 2, 4, 5, 6 on 27 March, 7, 10 and 15 April, and nothing of L2.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from bestby.activities.models import Lead, Touch
from bestby.api.tokens import create_token
from bestby.cadences import services
from bestby.cadences.models import CadenceTask
from bestby.people.models import User
from tests.web.test_browser import (  # noqa: F401 - fixtures: one Chromium per module, a page per test
    PASSWORD, _orm_beside_playwright, at, browser, expect, page, sign_in)

pytestmark = pytest.mark.django_db(transaction=True)
NOW = datetime(2026, 4, 1, 8, 0, tzinfo=timezone.utc)
D = date


def feed(page, secret: str) -> dict[str, tuple[date, str]]:
    """UID -> (DTSTART date, SUMMARY) of the cadence task events in the calendar feed."""
    from icalendar import Calendar

    response = page.request.get(f"/calendar/{secret}.ics")
    assert response.status == 200 and response.headers["content-type"].startswith("text/calendar")
    cal = Calendar.from_ical(response.body())
    return {str(e["uid"]): (e.decoded("dtstart"), str(e["summary"])) for e in cal.walk("VEVENT")
            if str(e["uid"]).startswith("task-")}


def uid(key: str, position: int) -> str:
    return f"task-{CadenceTask.objects.get(lead__external_id=key, position=position).pk}@bestby"


def row(page, key: str, position: int):
    return page.locator(f'#today tr[data-task="{CadenceTask.objects.get(lead__external_id=key, position=position).pk}"]')


def test_seller_works_through_today_and_the_feed_follows(page, settings, frozen_clock):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.BESTBY_COUNTRY, settings.BESTBY_COUNTRY_REGION = "DE", None
    frozen_clock(NOW)
    rep = User.objects.create_user(username="rep_a", password=PASSWORD, external_id="rep_a", role="rep",
                                   team="A", time_zone="Europe/Berlin")
    l1 = Lead.objects.create(external_id="L1", name="Lena Lang", company="Acme GmbH", owner=rep, status="new")
    l2 = Lead.objects.create(external_id="L2", name="Max Roth", company="Beta AG", owner=rep, status="new")
    services.enrol(leads=[l1], start=D(2026, 3, 27))
    services.enrol(leads=[l2], start=D(2026, 4, 1))
    _, secret = create_token(user=rep, name="calendar app")

    before = feed(page, secret)
    assert {u: d for u, (d, _) in before.items()} == {
        uid("L1", 1): D(2026, 3, 27), uid("L1", 2): D(2026, 3, 27), uid("L1", 3): D(2026, 3, 30),
        uid("L1", 4): D(2026, 4, 1), uid("L1", 5): D(2026, 4, 8), uid("L1", 6): D(2026, 4, 13),
        uid("L2", 1): D(2026, 4, 1), uid("L2", 2): D(2026, 4, 1), uid("L2", 3): D(2026, 4, 2),
        uid("L2", 4): D(2026, 4, 8), uid("L2", 5): D(2026, 4, 13), uid("L2", 6): D(2026, 4, 16)}

    sign_in(page, "rep_a")
    at(page, "/")
    page.locator("header nav").get_by_role("link", name="Today").click()
    at(page, "/today/")
    # due today or earlier: L1 steps 1-4, L2 steps 1-2; overdue first
    expect(page.locator("#today tbody tr[data-task]")).to_have_count(6)
    expect(page.locator("#today p.computed")).to_contain_text("6 tasks due, 3 overdue.")
    expect(row(page, "L1", 3).locator("strong.late")).to_have_text("2 business days late")
    expect(row(page, "L1", 1)).to_contain_text("Acme GmbH")

    # 1. done, with an outcome
    step3 = row(page, "L1", 3)
    step3.get_by_label("Outcome of task").select_option("voicemail_left")
    step3.get_by_role("button", name="Done").click()
    expect(page.locator("#today .message")).to_have_text("Done: Voicemail to Lena Lang (L1), outcome voicemail left.")
    expect(page.locator("#today tbody tr[data-task]")).to_have_count(4)   # step 3 done, step 4 moved to 7 April

    # 2. skip, with a reason
    step1 = row(page, "L1", 1)
    step1.get_by_label("Reason to skip task").fill("no direct line")
    step1.get_by_role("button", name="Skip").click()
    expect(page.locator("#today .message")).to_have_text("Skipped: Call to Lena Lang (L1) (no direct line).")
    expect(page.locator("#today tbody tr[data-task]")).to_have_count(3)

    # 3. the buyer replied
    first = row(page, "L2", 1)
    first.get_by_label("Channel the buyer used").select_option("email")
    first.get_by_role("button", name="Reply").click()
    expect(page.locator("#today .message")).to_have_text("Max Roth (L2) replied by email: the cadence has ended.")
    expect(page.locator("#today tbody tr[data-task]")).to_have_count(1)
    expect(row(page, "L1", 2)).to_have_attribute("data-late", "3")
    at(page, "/today/")   # htmx swapped the list in place; no navigation happened

    # what the store says, then what the calendar app sees
    assert list(CadenceTask.objects.filter(lead=l1).order_by("position").values_list("status", "due_on")) == [
        ("skipped", D(2026, 3, 27)), ("open", D(2026, 3, 27)), ("done", D(2026, 3, 30)), ("open", D(2026, 4, 7)),
        ("open", D(2026, 4, 10)), ("open", D(2026, 4, 15))]
    assert sorted(Touch.objects.values_list("lead__external_id", "direction", "outcome")) == [
        ("L1", "out", "voicemail_left"), ("L2", "in", "replied")]
    after = feed(page, secret)
    assert after == {uid("L1", 2): (D(2026, 3, 27), "Email: Lena Lang (Acme GmbH)"),
                     uid("L1", 4): (D(2026, 4, 7), "Call: Lena Lang (Acme GmbH)"),
                     uid("L1", 5): (D(2026, 4, 10), "Text: Lena Lang (Acme GmbH)"),
                     uid("L1", 6): (D(2026, 4, 15), "Email: Lena Lang (Acme GmbH)")}
