"""The cadence pages through Django's test client: everyone reads, admins edit, leads are enrolled by who may.

Users and leads are test_today_page's (team A: mgr, rep_a; team B: rep_b; admin root; L1, L2 of
rep_a, L3 of rep_b), Germany's calendar, all in Berlin. The default cadence from Friday 27 March 2026
is due 27, 27, 30 March, 1, 8 and 13 April (worked out in tests/cadences/test_schedule.py).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone

import pytest
from django.test import Client

from bestby.activities.models import Lead
from bestby.audit.models import AuditEntry
from bestby.cadences import services
from bestby.cadences.models import Cadence, CadenceStep, CadenceTask, Enrollment
from tests.web.test_today_page import PASSWORD, people, signed_in  # noqa: F401 - the shared fixture

pytestmark = pytest.mark.django_db
UTC = timezone.utc
D = date


def shown_steps(html: str, name: str) -> list[tuple[str, str, str]]:
    """(step, offset, channel) of the cadence ``name`` as the list page shows it."""
    section = re.search(rf'<section class="cadence" data-cadence="\d+" data-name="{re.escape(name)}">(.*?)</section>',
                        html, re.S).group(1)
    return re.findall(r'<tr data-step="(\d+)" data-offset="(\d+)" data-channel="(\w+)">', section)


def stored(cadence: Cadence) -> list[tuple[int, int, str, str]]:
    return list(CadenceStep.objects.filter(cadence=cadence).order_by("position")
                .values_list("position", "offset", "channel", "instruction"))


def steps_form(*rows, name="Short one", description="", make_default=False, extra=None) -> dict:
    """A POST of the edit form: each row (offset, channel, instruction[, "remove"])."""
    data = {"name": name, "description": description, "rows": str(len(rows))}
    for k, row in enumerate(rows, start=1):
        data[f"steps-{k}-offset"], data[f"steps-{k}-channel"], data[f"steps-{k}-instruction"] = row[:3]
        if len(row) > 3:
            data[f"steps-{k}-remove"] = "1"
    if make_default:
        data["make_default"] = "1"
    return data | (extra or {})


def state():
    return (list(Cadence.objects.order_by("pk").values_list("name", "is_default", "description")),
            list(CadenceStep.objects.order_by("pk").values_list("cadence_id", "position", "offset", "channel",
                                                                  "instruction")),
            Enrollment.objects.count(), CadenceTask.objects.count(), AuditEntry.objects.count())


def test_everyone_sees_the_cadences_and_their_steps(client, people):
    html = signed_in(client, "rep_a").get("/cadences/").content.decode()
    # the default, created on the first visit: six touches, offsets 0 0 1 3 6 9, four channels
    assert shown_steps(html, "Six touches in ten days") == [
        ("1", "0", "phone"), ("2", "0", "email"), ("3", "1", "voicemail"), ("4", "3", "phone"), ("5", "6", "text"),
        ("6", "9", "email")]
    assert "6 touches in 10 business days across 4 channels." in html
    assert '<span class="badge default">default</span>' in html
    assert "/edit/" not in html and "New cadence" not in html   # a rep reads only
    assert '<a href="/cadences/">Cadences</a>' in html
    admin = signed_in(Client(), "root").get("/cadences/").content.decode()
    pk = Cadence.objects.get().pk
    assert f'<a href="/cadences/{pk}/edit/">Edit Six touches in ten days</a>' in admin


def test_only_admins_edit(client, people):
    services.ensure_default()
    pk = Cadence.objects.get().pk
    before = state()
    for who in ("rep_a", "mgr"):
        c = signed_in(Client(), who)
        assert c.get("/cadences/new/").status_code == 403
        assert c.get(f"/cadences/{pk}/edit/").status_code == 403
        assert c.post("/cadences/new/", steps_form(("0", "phone", "Call"))).status_code == 403
        assert c.post(f"/cadences/{pk}/edit/", steps_form(("0", "phone", "Call"))).status_code == 403
    assert state() == before
    assert signed_in(client, "root").get("/cadences/999999/edit/").status_code == 404


def test_admin_creates_a_cadence_skipping_blank_and_removed_rows(client, people):
    c = signed_in(client, "root")
    form = c.get("/cadences/new/").content.decode()
    assert form.count('name="steps-') // 4 == 6   # six empty rows to fill (offset, channel, instruction, remove)
    response = c.post("/cadences/new/", steps_form(("0", "phone", "Call"), ("2", "email", "Mail them", "remove"),
                                                   ("", "phone", ""), ("4", "text", "Text them"),
                                                   description="For events"))
    cadence = Cadence.objects.get(name="Short one")
    assert response.status_code == 302 and response["Location"] == f"/cadences/?saved={cadence.pk}"
    assert stored(cadence) == [(1, 0, "phone", "Call"), (2, 4, "text", "Text them")]
    assert (cadence.description, cadence.is_default, cadence.updated_by.username) == ("For events", False, "root")
    assert AuditEntry.objects.filter(action="cadence.save").count() == 1
    html = c.get(response["Location"]).content.decode()
    assert "Saved Short one." in html
    assert shown_steps(html, "Short one") == [("1", "0", "phone"), ("2", "4", "text")]
    assert "2 touches in 5 business days across 2 channels." in html


def test_admin_edits_steps_and_makes_a_cadence_the_default(client, people):
    old = services.ensure_default()
    c = signed_in(client, "root")
    other = services.save_cadence(name="Other", steps=[services.schedule.Step(0, "phone", "Call")])
    response = c.post(f"/cadences/{other.pk}/edit/", steps_form(("0", "phone", "Call"), ("1", "mail", "Letter"),
                                                                name="Other", make_default=True))
    assert response.status_code == 302
    other.refresh_from_db()
    old.refresh_from_db()
    assert other.is_default and not old.is_default
    assert stored(other) == [(1, 0, "phone", "Call"), (2, 1, "mail", "Letter")]


def test_refusals_name_the_step_field_and_change_nothing(client, people):
    services.ensure_default()
    pk = Cadence.objects.get().pk
    c = signed_in(client, "root")
    before = state()

    def refused(data, field, message):
        response = c.post(f"/cadences/{pk}/edit/", data)
        html = response.content.decode()
        assert response.status_code == 400
        assert f'<p class="error" data-field="{field}" role="alert">{field}: {message}</p>' in html, html
        return html

    html = refused(steps_form(("2", "phone", "Call"), ("1", "email", "Mail")), "steps[2].offset",
                   "1 is before the previous step&#x27;s 2; steps are in order")
    # the message also sits by the field, in the row numbered 2, which keeps what was typed
    assert re.search(r'<tr data-row="2" class="invalid">.*?value="1".*?<span class="error" '
                     r'data-field="steps\[2\].offset">', html, re.S)
    refused(steps_form(("two", "phone", "Call")), "steps[1].offset",
            "&#x27;two&#x27; is not a whole number of business days from 0 to 130")
    refused(steps_form(("0", "phone", "Call"), ("", "email", "Mail")), "steps[2].offset",
            "give the business-day offset (0 is the start day)")
    refused(steps_form(("0", "phone", "Call"), ("131", "email", "Mail")), "steps[2].offset",
            "131 is not a whole number of business days from 0 to 130")
    refused(steps_form(("0", "phone", "Call"), ("1", "fax", "Fax")), "steps[2].channel",
            "&#x27;fax&#x27; is not one of phone, voicemail, email, mail, text, other")
    # a removed row does not count: the third row sent is step 2
    refused(steps_form(("0", "phone", "Call", "remove"), ("5", "phone", "Call"), ("3", "email", "Mail")),
            "steps[2].offset", "3 is before the previous step&#x27;s 5; steps are in order")
    refused(steps_form(("", "phone", ""), ("0", "phone", "Call", "remove")), "steps", "a cadence needs at least one step")
    refused(steps_form(("0", "phone", "Call"), name=" "), "name", "a cadence needs a name")
    services.save_cadence(name="Taken", steps=[services.schedule.Step(0, "phone", "")])
    before = state()
    refused(steps_form(("0", "phone", "Call"), name="Taken"), "name", "a cadence named &#x27;Taken&#x27; exists already")
    assert state() == before


def test_add_a_row_shows_one_more_empty_row_and_saves_nothing(client, people):
    services.ensure_default()
    pk = Cadence.objects.get().pk
    before = state()
    html = signed_in(client, "root").post(f"/cadences/{pk}/edit/", steps_form(
        ("0", "phone", "Call"), ("", "phone", ""), extra={"add_row": "1"})).content.decode()
    # one kept row, and the one empty row sent plus one more
    assert re.findall(r'<tr data-row="(\d+)"', html) == ["1", "2", "3"]
    assert 'name="rows" value="3"' in html and 'name="steps-1-offset" value="0"' in html
    assert state() == before


# ------------------------------------------------------------------ enrolling leads

def enrolled_ids() -> list[tuple[str, str]]:
    return list(Enrollment.objects.order_by("pk").values_list("lead__external_id", "started_on"))


def test_a_rep_enrols_their_own_lead(client, people):
    response = signed_in(client, "rep_a").post("/cadences/enrol/", {"leads": "L1", "cadence": "", "start": "2026-03-27"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Enrolled 1 lead in Six touches in ten days: L1 from 2026-03-27." in html
    assert list(CadenceTask.objects.filter(lead__external_id="L1").order_by("position").values_list("due_on", flat=True)) \
        == [D(2026, 3, 27), D(2026, 3, 27), D(2026, 3, 30), D(2026, 4, 1), D(2026, 4, 8), D(2026, 4, 13)]
    assert Lead.objects.get(external_id="L1").status == "in_cadence"
    assert Enrollment.objects.get().created_by.username == "rep_a"


def test_enrol_refusals_name_the_lead_and_change_nothing(client, people):
    services.ensure_default()   # the page shows it (and creates it on the first visit)
    c = signed_in(client, "rep_a")
    before = state()

    def refused(data, field, message, who=c):
        response = who.post("/cadences/enrol/", {"cadence": "", "start": "", **data})
        assert response.status_code == 400
        assert f'data-field="{field}" role="alert">{field}: {message}' in response.content.decode()

    # another seller's lead is reported as not found, and L1 is not enrolled either (all or nothing)
    refused({"leads": "L1, L3"}, "leads", "no lead &#x27;L3&#x27; among the leads you may enrol")
    refused({"leads": "L9\nL1"}, "leads", "no lead &#x27;L9&#x27; among the leads you may enrol")
    refused({"leads": "  "}, "leads", "give at least one lead id")
    refused({"leads": "L1", "start": "01/04/2026"}, "start", "&#x27;01/04/2026&#x27; is not a date YYYY-MM-DD")
    refused({"leads": "L1", "start": "0001-01-01"}, "start", "0001-01-01 is more than a year ago")  # not "1-01-01"
    refused({"leads": "L1", "cadence": "999999"}, "cadence", "no cadence &#x27;999999&#x27;")
    refused({"leads": "L3"}, "leads", "no lead &#x27;L3&#x27;", who=signed_in(Client(), "mgr"))   # team B's
    assert state() == before
    c.post("/cadences/enrol/", {"leads": "L1", "cadence": "", "start": "2026-03-27"})
    before = state()
    refused({"leads": "L2 L1"}, "leads", "lead L1 is already in a running cadence")
    assert state() == before


def test_managers_enrol_their_teams_leads_and_admins_any(client, people, frozen_clock):
    other = services.save_cadence(name="Two calls", steps=[services.schedule.Step(0, "phone", ""),
                                                          services.schedule.Step(2, "phone", "")])
    # no start: each lead's owner's local today; 22:30 UTC on Sunday 29 March is Monday 00:30 in Berlin
    frozen_clock(datetime(2026, 3, 29, 22, 30, tzinfo=UTC))
    html = signed_in(client, "mgr").post("/cadences/enrol/", {"leads": "L1,L2", "cadence": str(other.pk),
                                                              "start": ""}).content.decode()
    assert "Enrolled 2 leads in Two calls: L1 from 2026-03-30, L2 from 2026-03-30." in html
    assert enrolled_ids() == [("L1", D(2026, 3, 30)), ("L2", D(2026, 3, 30))]
    assert list(CadenceTask.objects.filter(lead__external_id="L2").values_list("due_on", flat=True)) == [
        D(2026, 3, 30), D(2026, 4, 1)]
    signed_in(Client(), "root").post("/cadences/enrol/", {"leads": "L3", "cadence": "", "start": "2026-03-27"})
    assert enrolled_ids()[-1] == ("L3", D(2026, 3, 27))
    assert Enrollment.objects.get(lead__external_id="L3").owner.username == "rep_b"   # the lead's owner's tasks


def test_cadence_forms_without_csrf_token_are_refused(people):
    services.ensure_default()
    before = state()
    strict = Client(enforce_csrf_checks=True)
    strict.login(username="root", password=PASSWORD)
    assert strict.post("/cadences/new/", steps_form(("0", "phone", "Call"))).status_code == 403
    assert strict.post("/cadences/enrol/", {"leads": "L1", "start": "2026-03-27"}).status_code == 403
    assert state() == before
