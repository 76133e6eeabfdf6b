""""Send decisions to your CRM" on the clearance page: the CSV download, row by row against values worked out by hand.

The workspace (tests/web/test_board.py): team A is manager mgr, rep_a (D1, D2, D5) and rep_a2 (D3); team B is
rep_b (D7, D8); root is an admin. Every deal was created 2025-01-06 with close date 2025-03-07. The story, UTC:

    a0  2025-02-20 10:00  clear D3 to lost      "went quiet"      by mgr   (before since 2025-03-01: not in the file)
    a1  2025-03-03 09:30  clear D1 to lost      "no reply"        by mgr
    a2  2025-03-04 14:00  clear D7 to nurture   "budget frozen"   by root

A clear moves the deal from its open stage (both in Qualify) to the pipeline's lost stage "Lost", status lost,
lost reason "timed out" (to lost) or "back to nurture"; a CRM file gives the clear's UTC day as the close date.
Who gets which rows follows who may clear: the admin both deals, mgr D1 (rep_a reports to mgr), rep_b D7, rep_a2
none (D3's clear is before the window). Action ids come from the store (not reset between tests on PostgreSQL).
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime

import pytest
from django.test import Client

from bestby.clearance import services
from bestby.clearance.models import ClearanceAction
from bestby.pipeline.models import Deal
from tests.web.test_board import signed_in, workspace  # noqa: F401 - the shared fixture

pytestmark = pytest.mark.django_db
URL = "/clearance/decisions/"
SINCE = "2025-03-01"


@pytest.fixture
def story(workspace):  # noqa: F811 - the fixture imported above
    from bestby.people.models import User

    mgr, root = User.objects.get(username="mgr"), User.objects.get(username="root")
    (a0,) = services.clear(deals=["D3"], reason="went quiet", to="lost", by=mgr, at=datetime(2025, 2, 20, 10, tzinfo=UTC))
    (a1,) = services.clear(deals=["D1"], reason="no reply", to="lost", by=mgr, at=datetime(2025, 3, 3, 9, 30, tzinfo=UTC))
    (a2,) = services.clear(deals=["D7"], reason="budget frozen", to="nurture", by=root,
                           at=datetime(2025, 3, 4, 14, tzinfo=UTC))
    return {"a0": a0.pk, "a1": a1.pk, "a2": a2.pk}


def download(client, **params) -> list[list[str]]:
    response = client.get(URL, {"since": SINCE, **params})
    assert response.status_code == 200, response.content.decode()[:500]
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    fmt = params.get("format")
    assert response["Content-Disposition"] == f'attachment; filename="bestby-decisions-{fmt}-{SINCE}.csv"'
    raw = response.content
    assert b"\r" not in raw  # LF line ends, as the command writes them
    return list(csv.reader(raw.decode("utf-8").splitlines()))


def crm_rows(a: dict[str, int]) -> list[list[str]]:
    """Id, stage, lost reason, close date, actions, reason (Salesforce and HubSpot share the order)."""
    return [["D1", "Lost", "timed out", "2025-03-03", f"clear#{a['a1']}", "no reply"],
            ["D7", "Lost", "back to nurture", "2025-03-04", f"clear#{a['a2']}", "budget frozen"]]


def test_admin_downloads_every_format(client, story):
    a = story
    c = signed_in(client, "root")
    assert download(c, format="salesforce") == [
        ["Id", "StageName", "Loss_Reason__c", "CloseDate", "bestby_actions", "bestby_reason"], *crm_rows(a)]
    assert download(c, format="hubspot") == [
        ["Record ID", "Deal Stage", "Closed Lost Reason", "Close Date", "bestby_actions", "bestby_reason"],
        *crm_rows(a)]
    assert download(c, format="pipedrive") == [
        ["Deal - ID", "Deal - Status", "Deal - Lost reason", "bestby_actions", "bestby_reason"],
        ["D1", "lost", "timed out", f"clear#{a['a1']}", "no reply"],
        ["D7", "lost", "back to nurture", f"clear#{a['a2']}", "budget frozen"]]
    assert download(c, format="csv") == [
        ["action_id", "at", "kind", "deal_id", "pipeline", "to", "until", "undoes", "reason", "by",
         "stage_before", "stage_after", "status_before", "status_after", "lost_reason_after"],
        [str(a["a1"]), "2025-03-03T09:30:00+00:00", "clear", "D1", "default", "lost", "", "", "no reply", "mgr",
         "Qualify", "Lost", "open", "lost", "timed out"],
        [str(a["a2"]), "2025-03-04T14:00:00+00:00", "clear", "D7", "default", "nurture", "", "", "budget frozen",
         "root", "Qualify", "Lost", "open", "lost", "back to nurture"]]
    # the form always sends the (default) loss-reason field: taken for the other formats too
    assert download(c, format="hubspot", loss_reason_field="Loss_Reason__c")[1] == crm_rows(a)[0]


def test_salesforce_loss_reason_field_and_a_post(client, story):
    a = story
    c = signed_in(client, "root")
    rows = download(c, format="salesforce", loss_reason_field="Reason_Lost__c")
    assert rows[0] == ["Id", "StageName", "Reason_Lost__c", "CloseDate", "bestby_actions", "bestby_reason"]
    response = c.post(URL, {"since": "2025-03-04", "format": "salesforce"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="bestby-decisions-salesforce-2025-03-04.csv"'
    assert list(csv.reader(response.content.decode().splitlines()))[1:] == [crm_rows(a)[1]]  # D1 was on 03-03


def test_managers_and_reps_get_the_decisions_on_deals_they_may_see(story):
    a = story
    header = ["Id", "StageName", "Loss_Reason__c", "CloseDate", "bestby_actions", "bestby_reason"]
    assert download(signed_in(Client(), "mgr"), format="salesforce") == [header, crm_rows(a)[0]]   # D1, not D7
    assert download(signed_in(Client(), "rep_b"), format="salesforce") == [header, crm_rows(a)[1]]  # D7 only
    assert download(signed_in(Client(), "rep_a2"), format="salesforce") == [header]  # D3's clear is before 03-01
    log = download(signed_in(Client(), "rep_a"), format="csv")
    assert [row[0] for row in log[1:]] == [str(a["a1"])]


@pytest.mark.parametrize("params, field, message", [
    ({"since": "2025-13-01", "format": "salesforce"}, "since", "since: &#x27;2025-13-01&#x27; is not a date"),
    ({"since": "yesterday", "format": "salesforce"}, "since", "since: &#x27;yesterday&#x27; is not a date"),
    ({"format": "salesforce"}, "since", "since: &#x27;&#x27; is not a date"),
    ({"since": SINCE, "format": "excel"}, "format", "format: &#x27;excel&#x27;: use one of csv, salesforce"),
    ({"since": SINCE}, "format", "format: &#x27;&#x27;: use one of"),
    ({"since": SINCE, "format": "salesforce", "loss_reason_field": "Loss Reason"}, "loss_reason_field",
     "loss_reason_field: &#x27;Loss Reason&#x27; is not a field API name"),
    ({"since": SINCE, "format": "salesforce", "loss_reason_field": "StageName"}, "loss_reason_field",
     "is already a column of the file"),
    ({"since": SINCE, "format": "hubspot", "loss_reason_field": "Reason_Lost__c"}, "loss_reason_field",
     "loss_reason_field: applies to the salesforce format only"),
])
def test_bad_parameters_are_400_naming_the_field_and_change_nothing(client, story, params, field, message):
    before = (list(ClearanceAction.objects.order_by("pk").values()), list(Deal.objects.order_by("pk").values()))
    response = signed_in(client, "root").get(URL, params)
    html = response.content.decode()
    assert response.status_code == 400 and "Content-Disposition" not in response
    assert f'<p class="error" data-field="{field}" role="alert">' in html and message in html
    assert "<h1>Clearance review</h1>" in html  # the page again, with the form
    after = (list(ClearanceAction.objects.order_by("pk").values()), list(Deal.objects.order_by("pk").values()))
    assert after == before


def test_the_page_shows_the_form_and_sign_in_and_csrf_are_required(client, story):
    html = signed_in(Client(), "rep_a").get("/clearance/").content.decode()
    assert "<h2>Send decisions to your CRM</h2>" in html and 'action="/clearance/decisions/"' in html
    assert '<option value="salesforce" selected>' in html and 'value="Loss_Reason__c"' in html
    response = client.get(URL, {"since": SINCE, "format": "csv"})
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    strict = Client(enforce_csrf_checks=True)
    signed_in(strict, "root")
    assert strict.post(URL, {"since": SINCE, "format": "csv"}).status_code == 403  # a POST needs the CSRF token


@pytest.mark.parametrize("fmt", ["csv", "salesforce", "hubspot", "pipedrive"])
def test_every_format_writes_a_reps_formula_as_text(client, workspace, fmt):  # noqa: F811 - the fixture
    """rep_a clears D2 with a reason a spreadsheet would run; the manager's download has it behind a quote."""
    from bestby.people.models import User

    evil = '=HYPERLINK("http://evil.test","open")'
    (a,) = services.clear(deals=["D2"], reason=evil, to="lost", by=User.objects.get(username="rep_a"),
                          at=datetime(2025, 3, 3, 9, 30, tzinfo=UTC))
    rows = download(signed_in(client, "mgr"), format=fmt)
    row = {"csv": [str(a.pk), "2025-03-03T09:30:00+00:00", "clear", "D2", "default", "lost", "", "", "'" + evil,
                   "rep_a", "Qualify", "Lost", "open", "lost", "timed out"],
           "pipedrive": ["D2", "lost", "timed out", f"clear#{a.pk}", "'" + evil]
           }.get(fmt, ["D2", "Lost", "timed out", "2025-03-03", f"clear#{a.pk}", "'" + evil])
    assert rows[1:] == [row]
