"""The deal page through Django's test client: visibility, timeline, edit with optimistic locking, the curve."""

from __future__ import annotations

import re
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import Client

from bestby.activities.models import Touch
from bestby.audit.models import AuditEntry
from bestby.clearance import services as clearance
from bestby.pipeline import services
from bestby.pipeline.models import Deal
from tests.web.test_board import PASSWORD, T0, signed_in, workspace  # noqa: F401 - the shared fixture

pytestmark = pytest.mark.django_db


def form(deal: Deal, **changes) -> dict:
    values = {"name": deal.name, "amount": str(deal.amount), "close_date": deal.close_date.isoformat(),
              "stage": str(deal.stage_id), "version": str(deal.version)}
    return values | {k: str(v) for k, v in changes.items()}


def test_rep_cannot_open_another_teams_deal(client, workspace):
    c = signed_in(client, "rep_a")
    assert c.get("/deals/D1/").status_code == 200
    assert c.get("/deals/D7/").status_code == 404       # team B
    assert c.get("/deals/D3/").status_code == 404       # team A, but not theirs
    assert c.get("/deals/D7/curve/").status_code == 404
    assert c.post("/deals/D7/", form(Deal.objects.get(external_id="D7"), name="mine")).status_code == 404
    assert Deal.objects.get(external_id="D7").name == "Deal D7"
    assert signed_in(Client(), "mgr").get("/deals/D3/").status_code == 200


def test_deal_page_shows_header_timeline_and_history(client, workspace):
    deal = Deal.objects.get(external_id="D1")
    services.change_close_date(deal=deal, close_date=date(2025, 4, 30), at=T0 + timedelta(days=10))
    services.move_deal(deal=deal, to_stage=workspace["Proposal"], at=T0 + timedelta(days=20))
    Touch.objects.create(external_id="T1", at=T0 + timedelta(days=15), channel="phone", deal=deal, outcome="connected")
    (cleared,) = clearance.clear(deals=["D1"], reason="dead", at=T0 + timedelta(days=30))
    clearance.undo(action=cleared, at=T0 + timedelta(days=31))  # the clear's stage event is voided
    html = signed_in(client, "mgr").get("/deals/D1/").content.decode()
    assert '<dd class="stage">Proposal</dd>' in html and '<dd class="amount">1,000 USD</dd>' in html
    assert 'badge state-expired">expired' in html and "no touch for 95 days" in html
    kinds = re.findall(r'<li class="event (\w+)" data-kind="\w+"><time datetime="[^"]+">([^<]+)</time> ([^<]+)', html)
    assert [(k, t, x.strip()) for k, t, x in kinds] == [
        ("stage", "2025-01-26 00:00", "Qualify → Proposal"),
        ("touch", "2025-01-21 00:00", "phone, connected"),
        ("push", "2025-01-16 00:00", "close date 2025-03-07 → 2025-04-30 (pushed)"),
        ("stage", "2025-01-06 00:00", "entered Qualify"),
        ("close_date", "2025-01-06 00:00", "close date set to 2025-03-07"),
    ]  # the voided move to Lost is not in the timeline
    assert f'data-action="{cleared.pk}"' in html and "undone" in html
    assert re.findall(r'data-audit="([\w.]+)"', html) == [
        "clearance.undo", "clearance.clear", "deal.move", "deal.move", "deal.close_date", "deal.create"]
    assert "close_date: 2025-03-07 → 2025-04-30" in html


def test_edit_saves_through_the_services_and_audits(client, workspace):
    deal = Deal.objects.get(external_id="D2")
    c = signed_in(client, "rep_a")
    response = c.post("/deals/D2/", form(deal, name="Bigger", amount="750.50", close_date="2025-05-01", confirm_past_close_date="yes",
                                         stage=workspace["Proposal"].pk))
    assert response.status_code == 200 and "Saved." in response.content.decode()
    after = Deal.objects.get(external_id="D2")
    assert (after.name, after.amount, after.close_date, after.stage.name) == (
        "Bigger", Decimal("750.50"), date(2025, 5, 1), "Proposal")
    assert after.version == deal.version + 3
    actions = list(AuditEntry.objects.filter(object_id="D2").values_list("action", flat=True))
    assert actions[:3] == ["deal.move", "deal.close_date", "deal.update"] and actions[0:3].count("deal.move") == 1
    assert AuditEntry.objects.filter(object_id="D2", action="deal.update").get().by.username == "rep_a"


def test_edit_errors_name_the_field_and_change_nothing(client, workspace):
    deal = Deal.objects.get(external_id="D2")
    c = signed_in(client, "rep_a")
    response = c.post("/deals/D2/", form(deal, name="X", amount="lots", close_date="soon"))
    html = response.content.decode()
    assert response.status_code == 400
    assert '<span class="error" data-field="amount">&#x27;lots&#x27; is not a number</span>' in html
    assert 'data-field="close_date">&#x27;soon&#x27; is not a date' in html
    assert 'value="lots"' in html  # what was typed is kept
    response = c.post("/deals/D2/", form(deal, amount="-5"))
    assert response.status_code == 400 and 'data-field="amount">must not be negative' in response.content.decode()
    after = Deal.objects.get(external_id="D2")
    assert (after.name, after.amount, after.version) == (deal.name, deal.amount, deal.version)


def test_stale_edit_is_refused_and_the_row_is_unchanged(client, workspace):
    deal = Deal.objects.get(external_id="D2")
    c = signed_in(client, "rep_a")
    page = c.get("/deals/D2/").content.decode()
    loaded = re.search(r'name="version" value="(\d+)"', page).group(1)
    assert loaded == str(deal.version)
    # someone else edits the deal after the page was loaded
    services.update_deal(deal=deal, amount=Decimal("999"), expected_version=deal.version)
    response = c.post("/deals/D2/", form(deal, name="Mine", version=loaded))
    html = response.content.decode()
    assert response.status_code == 409
    assert "Not saved: the deal was changed by someone else" in html and "reload it" in html
    after = Deal.objects.get(external_id="D2")
    assert (after.name, after.amount, after.version) == ("Deal D2", Decimal("999"), deal.version + 1)
    # the same stale copy without any change is refused too
    assert c.post("/deals/D2/", form(deal, version=loaded)).status_code == 409


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_edits_one_refused_no_data_lost(workspace):
    """Two browsers load version v and save at the same time: one wins, the other is refused."""
    deal = Deal.objects.get(external_id="D2")
    barrier, results = threading.Barrier(2), {}

    def edit(name: str, amount: str):
        from django.db import connection

        try:
            c = Client()
            c.login(username="rep_a", password=PASSWORD)
            barrier.wait()
            results[name] = c.post("/deals/D2/", form(deal, name=name, amount=amount)).status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=edit, args=a) for a in (("First", "111"), ("Second", "222"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results.values()) == [200, 409]
    winner = next(n for n, s in results.items() if s == 200)
    after = Deal.objects.get(external_id="D2")
    assert after.name == winner and after.amount == Decimal("111" if winner == "First" else "222")
    assert after.version == deal.version + 1
    assert AuditEntry.objects.filter(object_id="D2", action="deal.update").count() == 1


@pytest.mark.django_db(transaction=True)
def test_curve_without_history_says_so(client, workspace):
    html = signed_in(client, "mgr").get("/deals/D1/curve/").content.decode()
    assert "Not enough closed deals in this pipeline" in html and "<svg" not in html


def test_deal_page_post_without_csrf_token_is_refused(workspace):
    strict = Client(enforce_csrf_checks=True)
    strict.login(username="rep_a", password=PASSWORD)
    deal = Deal.objects.get(external_id="D2")
    assert strict.post("/deals/D2/", form(deal, name="Forged")).status_code == 403
    assert Deal.objects.get(external_id="D2").name == "Deal D2"


@pytest.mark.django_db(transaction=True)
def test_curve_from_synthetic_history_marks_the_deal_now(client, tmp_path, settings):
    from bestby.importers.canonical import import_canonical
    from bestby.people.models import User
    from bestby.synth import write_synth

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    write_synth(tmp_path, deals=300, seed=1)
    import_canonical(tmp_path)
    User.objects.create_user(username="root", password=PASSWORD, external_id="root-admin", role="admin")
    deal = Deal.objects.filter(status="open").order_by("external_id").first()
    c = signed_in(client, "root")
    page = c.get(f"/deals/{deal.external_id}/").content.decode()
    assert f'hx-get="/deals/{deal.external_id}/curve/" hx-trigger="load"' in page  # loaded after the page
    html = c.get(f"/deals/{deal.external_id}/curve/").content.decode()
    assert '<svg class="chart"' in html and "<polyline" in html
    marker = re.search(r'<g class="marker" data-x="([\d.]+)" data-y="([\d.]+)"', html)
    assert marker is not None and 0 <= float(marker.group(2)) <= 1
    points = [tuple(map(float, p.split(","))) for p in re.search(r'points="([^"]+)"', html).group(1).split()]
    assert len(points) == 60 and points[0][0] < points[-1][0]


def test_an_early_year_is_named_as_typed(client, workspace):
    """Walk: 0001-01-01 was refused as "1-01-01 is out of range" (strftime drops a year's leading zeros)."""
    deal = Deal.objects.get(external_id="D2")
    c = signed_in(client, "rep_a")
    response = c.post("/deals/D2/", form(deal, close_date="0001-01-01", confirm_past_close_date="yes"))
    html = response.content.decode()
    assert response.status_code == 400
    assert 'data-field="close_date">0001-01-01 is out of range: give a date from 1900-01-01 to 2199-12-31' in html


def test_a_stage_typed_as_a_superscript_digit_is_an_error_not_a_crash(client, workspace):
    """str.isdigit() says yes to "²" and int() then fails: the page answers 400 naming the stage."""
    deal = Deal.objects.get(external_id="D2")
    response = signed_in(client, "rep_a").post("/deals/D2/", form(deal, stage="\u00b2"))
    assert response.status_code == 400 and 'data-field="stage"' in response.content.decode()
