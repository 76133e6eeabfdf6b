"""The clearance review through Django's test client: the list, clear, snooze, undo, visibility, CSRF."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from bestby.audit.models import AuditEntry
from bestby.clearance.models import ClearanceAction
from bestby.pipeline.models import Deal
from tests.web.test_board import PASSWORD, signed_in, workspace  # noqa: F401 - the shared fixture

pytestmark = pytest.mark.django_db
NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)  # bestby's clock for every test here: after the deals' history


@pytest.fixture(autouse=True)
def _clock(frozen_clock):
    frozen_clock(NOW)


def listed(html: str) -> list[str]:
    table = re.search(r'<table class="rows clearance-list">(.*?)</table>', html, re.S).group(1)
    return re.findall(r'<tr data-deal="([^"]+)"', table)


def tomorrow() -> str:
    return (NOW.date() + timedelta(days=1)).isoformat()


def test_review_lists_visible_expired_and_stalled_by_weight(client, workspace):
    html = signed_in(client, "mgr").get("/clearance/").content.decode()
    assert listed(html) == ["D3", "D1"]  # D3 stalled 2500 outweighs D1 expired 1000; D7 is team B's
    assert "no touch for 95 days" in html and "2 deals expired or stalled" in html
    assert listed(signed_in(Client(), "rep_a").get("/clearance/").content.decode()) == ["D1"]
    assert listed(signed_in(Client(), "root").get("/clearance/").content.decode()) == ["D7", "D3", "D1"]


def test_clear_through_the_page_changes_the_store_and_audits(client, workspace):
    c = signed_in(client, "mgr")
    response = c.post("/clearance/clear/", {"deals": ["D1", "D3"], "to": "lost", "reason": ""})
    html = response.content.decode()
    assert response.status_code == 200
    assert listed(html) == []
    actions = list(ClearanceAction.objects.order_by("pk"))
    assert [(a.kind, a.deal.external_id, a.to, a.by.username) for a in actions] == [
        ("clear", "D1", "lost", "mgr"), ("clear", "D3", "lost", "mgr")]
    assert actions[0].reason == "clearance review: no touch for 95 days"  # the listed reasons, when none typed
    assert f"Cleared to lost: D1 (action #{actions[0].pk}), D3 (action #{actions[1].pk})" in html
    assert f'data-undo="{actions[0].pk}"' in html
    assert Deal.objects.get(external_id="D1").status == "lost"
    assert AuditEntry.objects.filter(action="clearance.clear").count() == 2
    # the board no longer shows it
    assert 'data-deal="D1"' not in c.get("/board/").content.decode()

    # undo one: the deal is open again and back on the list
    response = c.post(f"/clearance/undo/{actions[0].pk}/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html  # the HTMX partial
    assert listed(html) == ["D1"] and f"Undid action #{actions[0].pk} on D1" in html
    assert Deal.objects.get(external_id="D1").status == "open"
    assert AuditEntry.objects.filter(action="clearance.undo", object_id="D1").count() == 1
    # undoing twice is refused, with the message by the action
    again = c.post(f"/clearance/undo/{actions[0].pk}/")
    assert again.status_code == 400 and "was already undone" in again.content.decode()


def test_back_to_nurture_with_a_typed_reason(client, workspace):
    c = signed_in(client, "mgr")
    c.post("/clearance/clear/", {"deals": ["D1"], "to": "nurture", "reason": "budget frozen"})
    a = ClearanceAction.objects.get()
    assert (a.to, a.reason) == ("nurture", "budget frozen")
    assert Deal.objects.get(external_id="D1").lost_reason == "back to nurture"


def test_snooze_needs_a_reason_and_a_future_date(client, workspace):
    c = signed_in(client, "mgr")
    response = c.post("/clearance/snooze/", {"deals": ["D1"], "until": tomorrow(), "reason": " "})
    assert response.status_code == 400
    assert '<span class="error" data-field="reason">give a reason' in response.content.decode()
    response = c.post("/clearance/snooze/", {"deals": ["D1"], "until": "2020-01-01", "reason": "later"})
    assert 'data-field="until">2020-01-01 is not after' in response.content.decode()
    response = c.post("/clearance/snooze/", {"deals": ["D1"], "until": "next week", "reason": "later"})
    assert 'data-field="until">&#x27;next week&#x27; is not a date' in response.content.decode()
    assert not ClearanceAction.objects.exists()
    response = c.post("/clearance/snooze/", {"deals": ["D1"], "until": tomorrow(), "reason": "on holiday"})
    html = response.content.decode()
    snoozed = ClearanceAction.objects.get()
    assert (snoozed.kind, snoozed.reason, snoozed.until.isoformat()) == ("snooze", "on holiday", tomorrow())
    assert listed(html) == ["D3"] and f"D1 (action #{snoozed.pk})" in html
    assert AuditEntry.objects.filter(action="clearance.snooze", object_id="D1").exists()
    c.post(f"/clearance/undo/{snoozed.pk}/")
    assert listed(c.get("/clearance/").content.decode()) == ["D3", "D1"]


def test_nothing_selected_names_the_field(client, workspace):
    response = signed_in(client, "mgr").post("/clearance/clear/", {"to": "lost"})
    assert response.status_code == 400
    assert '<p class="error" data-field="deals" role="alert">select at least one deal</p>' in response.content.decode()
    # an HTMX request gets the error in a 200 partial (htmx does not swap 4xx answers)
    response = signed_in(client, "mgr").post("/clearance/clear/", {"to": "lost"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'data-field="deals"' in response.content.decode()


def test_actions_on_deals_not_visible_answer_404_and_change_nothing(client, workspace):
    c = signed_in(client, "mgr")
    assert c.post("/clearance/clear/", {"deals": ["D1", "D7"], "to": "lost", "reason": "x"}).status_code == 404
    assert c.post("/clearance/snooze/", {"deals": ["D7"], "until": tomorrow(), "reason": "x"}).status_code == 404
    assert c.post("/clearance/clear/", {"deals": ["NOPE"], "to": "lost", "reason": "x"}).status_code == 404
    assert not ClearanceAction.objects.exists() and Deal.objects.get(external_id="D1").status == "open"
    root = signed_in(Client(), "root")
    root.post("/clearance/clear/", {"deals": ["D7"], "to": "lost", "reason": "team B's call"})
    action = ClearanceAction.objects.get()
    assert c.post(f"/clearance/undo/{action.pk}/").status_code == 404  # the manager of team A cannot undo it
    assert Deal.objects.get(external_id="D7").status == "lost"
    html = c.get("/clearance/").content.decode()
    assert f'data-action="{action.pk}"' not in html  # nor see it among recent actions


def test_clearance_forms_without_csrf_token_are_refused(workspace):
    strict = Client(enforce_csrf_checks=True)
    strict.login(username="mgr", password=PASSWORD)
    assert strict.post("/clearance/clear/", {"deals": ["D1"], "to": "lost", "reason": "x"}).status_code == 403
    assert strict.post("/clearance/snooze/", {"deals": ["D1"], "until": tomorrow(), "reason": "x"}).status_code == 403
    assert not ClearanceAction.objects.exists()


def test_get_on_an_action_is_not_allowed(client, workspace):
    assert signed_in(client, "mgr").get("/clearance/clear/").status_code == 405
