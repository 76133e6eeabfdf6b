"""The Today page through Django's test client: exactly the tasks due, one-click actions, access, CSRF.

Germany's calendar (BESTBY_COUNTRY=DE), sellers in Europe/Berlin, and bestby's clock frozen at
Wednesday 1 April 2026, 10:00 in Berlin. Worked by hand (as in tests/cadences/test_services.py):

- L1 (rep_a) enrolled from Friday 27 March: steps due 27, 27, 30 March, 1, 8, 13 April.
  On 1 April steps 1 and 2 are 3 business days late (30, 31 March, 1 April; the weekend does not
  count), step 3 is 2 late (31 March, 1 April), step 4 is due today; 5 and 6 are not listed.
- L2 (rep_a) enrolled from 1 April: steps 1 and 2 due today, step 3 on 2 April (not listed).
- L3 (rep_b, team B) enrolled from 1 April: steps 1 and 2 due today, on rep_b's list only.
Good Friday (3 April) and Easter Monday (6 April) are public holidays in Germany.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone

import pytest
from django.test import Client

from bestby.accounts.models import Account, Contact
from bestby.activities.models import Lead, Touch
from bestby.audit.models import AuditEntry
from bestby.cadences import services
from bestby.cadences.models import CadenceTask, Enrollment
from bestby.people.models import User

pytestmark = pytest.mark.django_db
UTC = timezone.utc
PASSWORD = "x-long-password-1"
NOW = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)   # Wednesday 1 April, 10:00 in Berlin
D = date


@pytest.fixture
def people(settings, frozen_clock):
    """Team A: manager mgr, rep_a (reports to mgr); team B: rep_b; admin root. All in Berlin."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.BESTBY_COUNTRY, settings.BESTBY_COUNTRY_REGION = "DE", None
    frozen_clock(NOW)
    berlin = {"time_zone": "Europe/Berlin", "password": PASSWORD}
    mgr = User.objects.create_user(username="mgr", external_id="mgr", role="manager", team="A", **berlin)
    users = {
        "mgr": mgr,
        "rep_a": User.objects.create_user(username="rep_a", external_id="rep_a", role="rep", team="A", manager=mgr,
                                          **berlin),
        "rep_b": User.objects.create_user(username="rep_b", external_id="rep_b", role="rep", team="B", **berlin),
        "root": User.objects.create_user(username="root", external_id="root", role="admin", is_superuser=True,
                                         **berlin),
    }
    for key, name, company, owner in (("L1", "Lena Lang", "Acme GmbH", "rep_a"), ("L2", "Max Roth", "Beta AG", "rep_a"),
                                      ("L3", "Bea Berg", "Gamma KG", "rep_b")):
        Lead.objects.create(external_id=key, name=name, company=company, owner=users[owner], status="new")
    return users


@pytest.fixture
def enrolled(people):
    lead = Lead.objects.get
    services.enrol(leads=[lead(external_id="L1")], start=D(2026, 3, 27))
    services.enrol(leads=[lead(external_id="L2"), lead(external_id="L3")], start=D(2026, 4, 1))
    return people


def signed_in(client, username):
    assert client.login(username=username, password=PASSWORD)
    return client


def listed(html: str) -> list[tuple[str, str, str, str]]:
    """(person, due, business days late, step) of each row of the Today table, in order."""
    table = re.search(r'<table class="rows today">(.*?)</table>', html, re.S).group(1)
    out = []
    for row in re.findall(r"<tr data-task=.*?</tr>", table, re.S):
        person, due, late = re.search(r'data-person="([^"]+)" data-due="([^"]+)" data-late="(\d+)"', row).groups()
        out.append((person, due, late, re.search(r'<span class="step">([^<]+)</span>', row).group(1)))
    return out


def task(key: str, position: int) -> CadenceTask:
    return CadenceTask.objects.get(lead__external_id=key, position=position)


def snapshot():
    return (list(CadenceTask.objects.order_by("pk").values_list("pk", "status", "due_on", "outcome", "reason")),
            Touch.objects.count(), list(Enrollment.objects.order_by("pk").values_list("status", flat=True)),
            list(Lead.objects.values_list("external_id", "status")), AuditEntry.objects.count())


REP_A_TODAY = [("L1", "2026-03-27", "3", "step 1 of 6"), ("L1", "2026-03-27", "3", "step 2 of 6"),
               ("L1", "2026-03-30", "2", "step 3 of 6"), ("L1", "2026-04-01", "0", "step 4 of 6"),
               ("L2", "2026-04-01", "0", "step 1 of 6"), ("L2", "2026-04-01", "0", "step 2 of 6")]


def test_today_lists_the_sellers_due_and_overdue_tasks(client, enrolled):
    response = signed_in(client, "rep_a").get("/today/")
    html = response.content.decode()
    assert response.status_code == 200
    assert listed(html) == REP_A_TODAY
    assert "6 tasks due, 3 overdue." in html and "Wednesday 1 April 2026" in html
    assert "3 business days late" in html and "2 business days late" in html
    first = re.search(r'<tr data-task=.*?</tr>', html, re.S).group(0)
    assert "Lena Lang" in first and "Acme GmbH" in first and '<td class="channel">phone</td>' in first
    assert "Call: introduce yourself and the reason for calling; no voicemail yet." in first
    assert "Six touches in ten days" in first
    assert '<a href="/today/">Today</a>' in html   # in the navigation
    # rep_b sees only L3
    assert listed(signed_in(Client(), "rep_b").get("/today/").content.decode()) == [
        ("L3", "2026-04-01", "0", "step 1 of 6"), ("L3", "2026-04-01", "0", "step 2 of 6")]


def test_done_with_an_outcome_records_the_touch_and_shifts_later_steps(client, enrolled):
    c = signed_in(client, "rep_a")
    step3 = task("L1", 3)
    response = c.post(f"/today/tasks/{step3.pk}/done/", {"outcome": "voicemail_left"})
    html = response.content.decode()
    assert response.status_code == 200
    step3.refresh_from_db()
    assert (step3.status, step3.done_on, step3.outcome, step3.by.username) == ("done", D(2026, 4, 1),
                                                                               "voicemail_left", "rep_a")
    touch = Touch.objects.get()
    assert (touch.channel, touch.direction, touch.outcome, touch.lead.external_id) == (
        "voicemail", "out", "voicemail_left", "L1")
    # two business days late: 1 April + 2 -> 2 April, (Good Friday, Easter Monday) 7 April; 8 -> 10; 13 -> 15
    assert [task("L1", p).due_on for p in (4, 5, 6)] == [D(2026, 4, 7), D(2026, 4, 10), D(2026, 4, 15)]
    assert [task("L1", p).due_on for p in (1, 2)] == [D(2026, 3, 27), D(2026, 3, 27)]   # earlier steps stay
    assert "Done: Voicemail to Lena Lang (L1), outcome voicemail left." in html
    assert listed(html) == [REP_A_TODAY[0], REP_A_TODAY[1], REP_A_TODAY[4], REP_A_TODAY[5]]


def test_done_without_an_outcome(client, enrolled):
    step = task("L2", 1)
    signed_in(client, "rep_a").post(f"/today/tasks/{step.pk}/done/", {"outcome": ""})
    step.refresh_from_db()
    assert (step.status, step.outcome, Touch.objects.get().outcome) == ("done", "", "")
    assert task("L2", 3).due_on == D(2026, 4, 2)   # on time: nothing moves


def test_skip_records_the_reason_and_moves_nothing(client, enrolled):
    step = task("L1", 1)
    html = signed_in(client, "rep_a").post(f"/today/tasks/{step.pk}/skip/", {"reason": "wrong number"}).content.decode()
    step.refresh_from_db()
    assert (step.status, step.reason, step.done_on) == ("skipped", "wrong number", D(2026, 4, 1))
    assert not Touch.objects.exists()
    assert [task("L1", p).due_on for p in (2, 3, 4)] == [D(2026, 3, 27), D(2026, 3, 30), D(2026, 4, 1)]
    assert "Skipped: Call to Lena Lang (L1) (wrong number)." in html
    assert listed(html) == REP_A_TODAY[1:]


def test_reply_ends_the_cadence(client, enrolled):
    step = task("L1", 2)
    html = signed_in(client, "rep_a").post(f"/today/tasks/{step.pk}/engaged/",
                                           {"outcome": "replied", "via": "email"}).content.decode()
    assert Enrollment.objects.get(lead__external_id="L1").status == "engaged"
    assert Lead.objects.get(external_id="L1").status == "engaged"
    assert list(CadenceTask.objects.filter(lead__external_id="L1").order_by("position")
                .values_list("status", flat=True)) == ["cancelled"] * 6
    touch = Touch.objects.get()
    assert (touch.direction, touch.outcome, touch.channel) == ("in", "replied", "email")
    assert "Lena Lang (L1) replied by email: the cadence has ended." in html
    assert listed(html) == REP_A_TODAY[4:]


def test_meeting_booked_through_htmx_gets_the_list_part(client, enrolled):
    step = task("L2", 1)
    response = signed_in(client, "rep_a").post(f"/today/tasks/{step.pk}/engaged/",
                                               {"outcome": "meeting_booked", "via": "phone"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html and "<h1>" not in html
    assert Enrollment.objects.get(lead__external_id="L2").status == "engaged"
    assert Touch.objects.values_list("outcome", "channel", "direction").get() == ("meeting_booked", "phone", "in")
    assert "Max Roth (L2) booked a meeting by phone" in html
    assert listed(html) == REP_A_TODAY[:4]


def test_refusals_name_the_field_and_change_nothing(client, enrolled):
    c = signed_in(client, "rep_a")
    step = task("L1", 1)
    before = snapshot()
    response = c.post(f"/today/tasks/{step.pk}/done/", {"outcome": "great"})
    html = response.content.decode()
    assert response.status_code == 400
    assert re.search(rf'<tr data-task="{step.pk}".*?<span class="error" data-field="outcome" role="alert">'
                     r"&#x27;great&#x27; is not one of connected, no_answer", html, re.S)
    response = c.post(f"/today/tasks/{step.pk}/engaged/", {"outcome": "replied", "via": "social"},
                      HTTP_HX_REQUEST="true")
    assert response.status_code == 200   # htmx swaps only a 2xx answer
    assert 'data-field="channel" role="alert">&#x27;social&#x27;: use one of' in response.content.decode()
    response = c.post(f"/today/tasks/{step.pk}/engaged/", {"outcome": "connected", "via": "email"})
    assert response.status_code == 400 and 'data-field="outcome"' in response.content.decode()
    assert snapshot() == before
    # a task done already (a second click) is refused by name
    c.post(f"/today/tasks/{step.pk}/done/", {"outcome": "no_answer"})
    before = snapshot()
    response = c.post(f"/today/tasks/{step.pk}/skip/", {"reason": "again"})
    assert response.status_code == 400
    assert f'<p class="error" data-field="task" role="alert">task {step.pk} is done, not open</p>' in \
        response.content.decode()
    assert snapshot() == before


def test_managers_and_admins_look_at_a_sellers_today(client, enrolled):
    mgr = signed_in(client, "mgr")
    html = mgr.get("/today/?user=rep_a").content.decode()
    assert listed(html) == REP_A_TODAY and "Today: rep_a" in html
    assert listed(mgr.get("/today/").content.decode()) == []   # the manager's own list is empty
    assert "Nothing due today." in mgr.get("/today/").content.decode()
    # the manager acts on the rep's task; the list shown is the rep's
    step = task("L2", 2)
    html = mgr.post(f"/today/tasks/{step.pk}/done/", {"outcome": "bounced"}).content.decode()
    step.refresh_from_db()
    assert (step.status, step.by.username, step.owner.username) == ("done", "mgr", "rep_a")
    assert listed(html) == REP_A_TODAY[:5]
    root = signed_in(Client(), "root")
    assert [r[0] for r in listed(root.get("/today/?user=rep_b").content.decode())] == ["L3", "L3"]


def test_sellers_and_tasks_out_of_reach_answer_404_and_change_nothing(client, enrolled):
    before = snapshot()
    rep_b = signed_in(client, "rep_b")
    assert rep_b.get("/today/?user=rep_a").status_code == 404
    assert rep_b.get("/today/?user=nobody").status_code == 404
    assert signed_in(Client(), "mgr").get("/today/?user=rep_b").status_code == 404   # another team
    step = task("L1", 1)
    assert rep_b.post(f"/today/tasks/{step.pk}/done/", {"outcome": "connected"}).status_code == 404
    assert rep_b.post(f"/today/tasks/{step.pk}/skip/", {"reason": ""}).status_code == 404
    assert rep_b.post(f"/today/tasks/{step.pk}/engaged/", {"outcome": "replied", "via": "email"}).status_code == 404
    assert rep_b.post("/today/tasks/999999/done/", {"outcome": ""}).status_code == 404
    assert rep_b.post("/today/one-more-call/", {"user": "rep_a"}).status_code == 404
    assert rep_b.get(f"/today/tasks/{task('L3', 1).pk}/done/").status_code == 405   # actions are POSTs
    assert snapshot() == before
    anonymous = Client().get("/today/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")


def test_actions_without_csrf_token_are_refused(enrolled):
    strict = Client(enforce_csrf_checks=True)
    strict.login(username="rep_a", password=PASSWORD)
    step = task("L1", 1)
    assert strict.post(f"/today/tasks/{step.pk}/done/", {"outcome": "connected"}).status_code == 403
    assert strict.post("/today/one-more-call/", {}).status_code == 403
    step.refresh_from_db()
    assert step.status == "open" and not Touch.objects.exists()


def test_one_more_call_schedules_a_call_for_everyone_called_this_week(client, people, frozen_clock):
    rep = people["rep_a"]
    l1 = Lead.objects.get(external_id="L1")
    services.enrol(leads=[l1], start=D(2026, 3, 27))   # L1 has open call tasks: no extra call
    l4 = Lead.objects.create(external_id="L4", name="Lars Vier", owner=rep, status="new")
    l5 = Lead.objects.create(external_id="L5", name="Fay Fuenf", owner=rep, status="new")
    gamma = Account.objects.create(external_id="A1", name="Gamma Ltd")
    c1 = Contact.objects.create(external_id="C1", account=gamma, name="Cy Contact")
    for key, at, channel, who in (("t1", datetime(2026, 3, 30, 8, tzinfo=UTC), "phone", {"contact": c1}),
                                  ("t2", datetime(2026, 3, 31, 8, tzinfo=UTC), "phone", {"lead": l4}),
                                  ("t3", datetime(2026, 3, 27, 8, tzinfo=UTC), "phone", {"lead": l5}),  # last week
                                  ("t4", datetime(2026, 3, 30, 9, tzinfo=UTC), "phone", {"lead": l1}),  # has calls
                                  ("t5", datetime(2026, 3, 31, 9, tzinfo=UTC), "email", {"lead": l5})):  # not a call
        Touch.objects.create(external_id=key, at=at, channel=channel, owner=rep, direction="out", **who)
    c = signed_in(client, "rep_a")
    html = c.post("/today/one-more-call/", {"user": "rep_a"}).content.decode()
    extra = CadenceTask.objects.filter(enrollment=None)
    assert sorted((t.lead.external_id if t.lead else t.contact.external_id, t.due_on, t.channel) for t in extra) == [
        ("C1", D(2026, 4, 2), "phone"), ("L4", D(2026, 4, 2), "phone")]
    assert "One more call: scheduled 2 calls for Thursday 2026-04-02: Cy Contact, Lars Vier." in html
    assert [r[0] for r in listed(html)] == ["L1"] * 4   # the extra calls are due tomorrow
    # tomorrow they are on the list, with the contact's account as the company
    frozen_clock(datetime(2026, 4, 2, 8, tzinfo=UTC))
    html = c.get("/today/").content.decode()
    assert [(r[0], r[3]) for r in listed(html) if r[3] == "extra call"] == [("C1", "extra call"), ("L4", "extra call")]
    assert "Gamma Ltd" in html
    # again: everyone called has a call planned now
    html = c.post("/today/one-more-call/", {"user": "rep_a"}).content.decode()
    assert "One more call: nothing scheduled." in html and extra.count() == 2


# --- Engaged leads: make it a deal -------------------------------------------------------------------------------
#
# Pipelines, created in this order (so by key: New business, Archive, Renewals; by name Archive would come first):
#   New business: Proposal (position 2, open), Won (3, won), Discovery (1, open), created in that order, so the
#                 first open stage by position is Discovery, not the first one stored;
#   Archive:      Won (1, won), Lost (2, lost): no open stage;
#   Renewals:     Check-in (1, open).
# L1 (rep_a) becomes engaged by a reply on the page; L2 (rep_a) is in nurture; L4 (rep_b) is engaged.


@pytest.fixture
def pipelines(db):
    from bestby.pipeline.models import Pipeline, Stage

    made = {}
    for name, stages in (("New business", (("Proposal", 2, "open"), ("Won", 3, "won"), ("Discovery", 1, "open"))),
                         ("Archive", (("Won", 1, "won"), ("Lost", 2, "lost"))),
                         ("Renewals", (("Check-in", 1, "open"),))):
        made[name] = Pipeline.objects.create(name=name)
        for stage, position, kind in stages:
            Stage.objects.create(pipeline=made[name], name=stage, position=position, kind=kind)
    return made


@pytest.fixture
def engaged_leads(client, enrolled, pipelines):
    """L1 replied (through the page), L2 is in nurture, L4 of rep_b is engaged."""
    signed_in(Client(), "rep_a").post(f"/today/tasks/{task('L1', 2).pk}/engaged/",
                                      {"outcome": "replied", "via": "email"})
    Lead.objects.filter(external_id="L2").update(status="nurture")
    Lead.objects.create(external_id="L4", name="Vera Vier", company="Delta SE", owner=enrolled["rep_b"],
                        status="engaged")
    assert Lead.objects.get(external_id="L1").status == "engaged"
    return enrolled


def engaged_listed(html: str) -> list[str]:
    """The lead keys of the Engaged leads table, in order ([] when it says there are none)."""
    table = re.search(r'<table class="rows engaged-leads">(.*?)</table>', html, re.S).group(1)
    return re.findall(r'<tr data-lead="([^"]+)"', table)


def deal_snapshot():
    from bestby.pipeline.models import Deal, StageEvent

    return (list(Deal.objects.values_list("external_id", flat=True)), StageEvent.objects.count(),
            list(Lead.objects.order_by("external_id").values_list("external_id", "status", "converted_deal")),
            AuditEntry.objects.count())


def test_engaged_leads_are_listed_with_a_make_it_a_deal_form(client, engaged_leads, pipelines):
    html = signed_in(client, "rep_a").get("/today/").content.decode()
    assert "<h2>Engaged leads</h2>" in html
    assert engaged_listed(html) == ["L1"]   # L2 is in nurture; L4 is rep_b's
    row = re.search(r'<tr data-lead="L1">.*?</tr>', html, re.S).group(0)
    assert "Lena Lang" in row and "Acme GmbH" in row and 'action="/today/leads/L1/convert/"' in row
    assert "Make it a deal" in row
    # every pipeline, by key, the first preselected (the one the service takes when none is given)
    options = re.findall(r'<option value="(\d+)"( selected)?>([^<]+)</option>', row)
    assert options == [(str(pipelines["New business"].pk), " selected", "New business"),
                       (str(pipelines["Archive"].pk), "", "Archive"), (str(pipelines["Renewals"].pk), "", "Renewals")]
    assert engaged_listed(signed_in(Client(), "rep_b").get("/today/").content.decode()) == ["L4"]
    assert engaged_listed(signed_in(Client(), "mgr").get("/today/?user=rep_a").content.decode()) == ["L1"]
    assert engaged_listed(signed_in(Client(), "mgr").get("/today/").content.decode()) == []
    assert "No engaged leads." in signed_in(Client(), "mgr").get("/today/").content.decode()


def test_make_it_a_deal_starts_the_deal_at_the_first_open_stage(client, engaged_leads, pipelines):
    from bestby.pipeline.models import Deal, StageEvent

    c = signed_in(client, "rep_a")
    response = c.post("/today/leads/L1/convert/", {"pipeline": str(pipelines["New business"].pk)})
    html = response.content.decode()
    assert response.status_code == 200
    deal = Deal.objects.get()
    assert (deal.external_id, deal.pipeline.name, deal.stage.name, deal.status, deal.owner.username, deal.name) == (
        "lead-L1", "New business", "Discovery", "open", "rep_a", "Acme GmbH")   # the name is the lead's company
    assert deal.created_at == NOW
    entry = StageEvent.objects.get()
    assert (entry.to_stage.name, entry.from_stage, entry.by.username, entry.at) == ("Discovery", None, "rep_a", NOW)
    lead = Lead.objects.get(external_id="L1")
    assert (lead.status, lead.converted_deal_id) == ("converted", deal.pk)
    assert "Lead L1 is now deal lead-L1 in New business / Discovery." in html
    assert '<a href="/deals/lead-L1/" data-deal="lead-L1">Open deal lead-L1</a>' in html
    assert engaged_listed(html) == [] and "No engaged leads." in html
    assert c.get("/deals/lead-L1/").status_code == 200
    # a manager converts the rep's lead in another pipeline: the deal is the rep's, the change the manager's
    Lead.objects.filter(external_id="L2").update(status="engaged")
    html = signed_in(Client(), "mgr").post("/today/leads/L2/convert/", {"pipeline": str(pipelines["Renewals"].pk)},
                                           HTTP_HX_REQUEST="true").content.decode()
    renewal = Deal.objects.get(external_id="lead-L2")
    assert (renewal.stage.name, renewal.owner.username, renewal.name) == ("Check-in", "rep_a", "Beta AG")
    assert renewal.stage_events.get().by.username == "mgr"
    assert "Lead L2 is now deal lead-L2 in Renewals / Check-in." in html and "<h1>" not in html


def test_make_it_a_deal_without_a_pipeline_takes_the_first(client, engaged_leads, pipelines):
    from bestby.pipeline.models import Deal

    signed_in(client, "rep_a").post("/today/leads/L1/convert/", {})
    assert Deal.objects.values_list("pipeline__name", "stage__name").get() == ("New business", "Discovery")


def test_make_it_a_deal_refusals_name_the_field_and_change_nothing(client, engaged_leads, pipelines):
    c = signed_in(client, "rep_a")
    before = deal_snapshot()
    response = c.post("/today/leads/L1/convert/", {"pipeline": str(pipelines["Archive"].pk)})
    html = response.content.decode()
    assert response.status_code == 400
    assert re.search(r'<tr data-lead="L1">.*?<span class="error" data-field="stage" role="alert">'
                     r"pipeline &#x27;Archive&#x27; has no open stage</span>", html, re.S)
    for bad in ("999999", "abc", "99999999999999999999999"):
        response = c.post("/today/leads/L1/convert/", {"pipeline": bad})
        assert response.status_code == 400
        assert (f'data-field="pipeline" role="alert">no pipeline &#x27;{bad}&#x27;; choose one of the list'
                in response.content.decode())
    response = c.post("/today/leads/L1/convert/", {"pipeline": "abc"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'data-field="pipeline"' in response.content.decode()
    assert deal_snapshot() == before
    assert engaged_listed(html) == ["L1"]
    # a lead not engaged (in nurture), and a second click after converting, are refused on top of the list
    response = c.post("/today/leads/L2/convert/", {})
    assert response.status_code == 400
    assert '<p class="error" data-field="lead" role="alert">lead L2 is nurture; only an engaged lead' in \
        response.content.decode()
    assert deal_snapshot() == before
    c.post("/today/leads/L1/convert/", {})
    before = deal_snapshot()
    response = c.post("/today/leads/L1/convert/", {})
    assert response.status_code == 400
    assert '<p class="error" data-field="lead" role="alert">lead L1 is converted; only an engaged lead' in \
        response.content.decode()
    assert deal_snapshot() == before


def test_a_lead_out_of_reach_answers_404_and_changes_nothing(client, engaged_leads, pipelines):
    before = deal_snapshot()
    rep_b = signed_in(client, "rep_b")
    assert rep_b.post("/today/leads/L1/convert/", {"pipeline": str(pipelines["New business"].pk)}).status_code == 404
    assert rep_b.post("/today/leads/NOPE/convert/", {}).status_code == 404
    assert signed_in(Client(), "mgr").post("/today/leads/L4/convert/", {}).status_code == 404   # another team
    assert rep_b.get("/today/leads/L4/convert/").status_code == 405   # a POST only
    assert deal_snapshot() == before
    assert Client().post("/today/leads/L4/convert/", {}).status_code == 302   # to the login page
    assert deal_snapshot() == before


def test_make_it_a_deal_without_csrf_token_is_refused(engaged_leads, pipelines):
    strict = Client(enforce_csrf_checks=True)
    strict.login(username="rep_a", password=PASSWORD)
    before = deal_snapshot()
    assert strict.post("/today/leads/L1/convert/", {"pipeline": str(pipelines["New business"].pk)}).status_code == 403
    assert deal_snapshot() == before
