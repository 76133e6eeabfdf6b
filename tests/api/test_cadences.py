"""Cadences through the API: the cadence list and editor (admins), enrolling, the access rules, refusals.

The calendar is Germany's (BESTBY_COUNTRY=DE) in March/April 2026, worked by hand:
Friday 27 March 2026 is a business day; Good Friday (3 April) and Easter Monday
(6 April) are holidays. Business days after 27 March: +1 Mon 30 Mar, +2 Tue 31,
+3 Wed 1 Apr, +4 Thu 2 Apr, +5 Tue 7, +6 Wed 8, +7 Thu 9, +8 Fri 10, +9 Mon 13.
So the default cadence (offsets 0 0 1 3 6 9) started on 27 March is due 27, 27,
30 March, 1, 8, 13 April, and a cadence with offsets 0 2 4 is due 27, 31 March, 2 April.
"""

from __future__ import annotations

import pytest

from bestby.activities.models import Lead
from bestby.audit.models import AuditEntry
from bestby.cadences.models import CadenceTask
from tests.api.cadence_helpers import make_leads, snapshot

pytestmark = pytest.mark.django_db

DEFAULT = "Six touches in ten days"
SHORT = {"name": "Short", "description": "three touches", "default": False,
         "steps": [{"offset": 0, "channel": "phone", "instruction": "Call"},
                   {"offset": 2, "channel": "email", "instruction": "Mail"},
                   {"offset": 4, "channel": "text", "instruction": "Text"}]}


@pytest.fixture(autouse=True)
def _spring_2026(frozen_clock):
    """The enrolments start in March 2026, which an API enrolment accepts up to a year later: freeze the day."""
    frozen_clock("2026-04-15T09:00:00Z")


@pytest.fixture
def leads(world, settings):
    return make_leads(world, settings)


def test_the_cadence_list_shows_the_default_with_its_steps(world):
    got = world["api"]["rep"].get("/api/cadences")
    assert got.status_code == 200
    [default] = got.json()
    assert (default["name"], default["default"], default["updated_by"]) == (DEFAULT, True, None)
    assert [(s["offset"], s["channel"]) for s in default["steps"]] == [
        (0, "phone"), (0, "email"), (1, "voicemail"), (3, "phone"), (6, "text"), (9, "email")]
    assert world["api"]["rep"].get("/api/cadences").json() == [default]   # created once


def test_an_admin_creates_and_replaces_a_cadence(world):
    admin = world["api"]["admin"]
    assert [c["name"] for c in admin.get("/api/cadences").json()] == [DEFAULT]
    made = admin.post("/api/cadences", SHORT)
    assert made.status_code == 201, made.content
    body = made.json()
    assert body.pop("updated_at")
    assert body == {"name": "Short", "description": "three touches", "default": False, "updated_by": "ada",
                    "steps": SHORT["steps"]}
    changed = admin.client.put("/api/cadences?cadence=Short", data={
        "name": "Shorter", "description": "", "default": True,
        "steps": [{"offset": 0, "channel": "mail", "instruction": "Letter"},
                  {"offset": 5, "channel": "phone"}]}, content_type="application/json")
    assert changed.status_code == 200, changed.content
    assert changed.json()["steps"] == [{"offset": 0, "channel": "mail", "instruction": "Letter"},
                                       {"offset": 5, "channel": "phone", "instruction": ""}]
    listed = world["api"]["rep"].get("/api/cadences").json()
    assert [(c["name"], c["default"]) for c in listed] == [("Shorter", True), (DEFAULT, False)]
    saves = AuditEntry.objects.filter(action="cadence.save")
    assert saves.count() == 2 and {e.by_id for e in saves} == {world["users"]["admin"].pk}


def test_reps_and_managers_may_not_edit_cadences(world):
    world["api"]["admin"].post("/api/cadences", SHORT)
    before = snapshot()
    for who in ("rep", "mgr"):
        created = world["api"][who].post("/api/cadences", {**SHORT, "name": "Mine"})
        assert created.status_code == 403, created.content
        assert created.json() == {"detail": "only admins create and change cadences", "field": None}
        put = world["api"][who].client.put("/api/cadences?cadence=Short", data={**SHORT, "steps": SHORT["steps"][:1]},
                                            content_type="application/json")
        assert put.status_code == 403
    assert snapshot() == before


def test_cadence_refusals_name_the_field_and_change_nothing(world):
    admin = world["api"]["admin"]
    admin.get("/api/cadences")   # creates the default cadence
    admin.post("/api/cadences", SHORT)
    before = snapshot()
    back = admin.post("/api/cadences", {**SHORT, "name": "Back", "steps": [{"offset": 3, "channel": "phone"},
                                                                          {"offset": 1, "channel": "email"}]})
    assert back.status_code == 422
    assert back.json() == {"detail": "1 is before the previous step's 3; steps are in order",
                           "field": "steps[2].offset"}
    empty = admin.post("/api/cadences", {**SHORT, "name": "Empty", "steps": []})
    assert (empty.status_code, empty.json()["field"]) == (422, "steps")
    fax = admin.post("/api/cadences", {**SHORT, "name": "Fax", "steps": [{"offset": 0, "channel": "fax"}]})
    assert (fax.status_code, fax.json()["field"]) == (422, "steps.0.channel")
    clash = admin.post("/api/cadences", SHORT)
    assert clash.status_code == 422 and clash.json() == {"detail": "a cadence named 'Short' exists already",
                                                         "field": "name"}
    blank = admin.post("/api/cadences", {**SHORT, "name": "   "})
    assert (blank.status_code, blank.json()["field"]) == (422, "name")
    missing = admin.client.put("/api/cadences?cadence=Nope", data=SHORT, content_type="application/json")
    assert (missing.status_code, missing.json()) == (404, {"detail": "no cadence 'Nope'", "field": "cadence"})
    unnamed = admin.client.put("/api/cadences", data=SHORT, content_type="application/json")
    assert (unnamed.status_code, unnamed.json()["field"]) == (422, "cadence")
    taken = admin.client.put("/api/cadences?cadence=Short", data={**SHORT, "name": DEFAULT},
                             content_type="application/json")
    assert taken.json() == {"detail": f"a cadence named {DEFAULT!r} exists already", "field": "name"}
    assert snapshot() == before


def test_enrol_creates_the_dated_tasks(world, leads):
    world["api"]["admin"].post("/api/cadences", SHORT)
    got = world["api"]["rep"].post("/api/cadences/enrol", {"leads": ["L1"], "cadence": "Short", "start": "2026-03-27"})
    assert got.status_code == 201, got.content
    [e] = got.json()
    ids = [t["id"] for t in e["tasks"]]
    assert ids == sorted(CadenceTask.objects.values_list("pk", flat=True))

    def task(k, channel, instruction, due):
        return {"id": ids[k - 1], "owner": "rita", "lead": "L1", "contact": None, "deal": None, "name": "Lena One",
                "cadence": "Short", "enrollment": e["id"], "enrollment_status": "active", "position": k,
                "channel": channel, "instruction": instruction, "planned_on": due, "due_on": due, "status": "open",
                "done_on": None, "outcome": "", "reason": "", "touch": None}

    assert e == {"id": e["id"], "cadence": "Short", "lead": "L1", "contact": None, "deal": None, "owner": "rita",
                 "started_on": "2026-03-27", "status": "active",
                 "tasks": [task(1, "phone", "Call", "2026-03-27"), task(2, "email", "Mail", "2026-03-31"),
                           task(3, "text", "Text", "2026-04-02")]}
    assert Lead.objects.get(external_id="L1").status == "in_cadence"
    assert AuditEntry.objects.get(action="cadence.enrol").by == world["users"]["rep"]


def test_a_manager_enrols_the_teams_leads_and_a_contact_on_a_deal(world, leads):
    got = world["api"]["mgr"].post("/api/cadences/enrol", {"leads": ["L2", "L3"], "start": "2026-03-27",
                                                           "contacts": [{"contact": "c-acme", "deal": "D1"}]})
    assert got.status_code == 201, got.content
    rows = got.json()
    assert [(e["lead"], e["contact"], e["deal"], e["owner"], e["cadence"]) for e in rows] == [
        ("L2", None, None, "rita", DEFAULT), ("L3", None, None, "max", DEFAULT), (None, "c-acme", "D1", "rita", DEFAULT)]
    assert [t["due_on"] for t in rows[0]["tasks"]] == ["2026-03-27", "2026-03-27", "2026-03-30", "2026-04-01",
                                                      "2026-04-08", "2026-04-13"]
    assert rows[0]["tasks"][0]["name"] == "L2"        # no name: the id
    assert rows[2]["tasks"][0]["name"] == "Ann Acme"
    assert CadenceTask.objects.count() == 18


def test_enrol_refusals_name_the_field_and_change_nothing(world, leads):
    rep, other = world["api"]["rep"], world["api"]["other"]
    rep.post("/api/cadences/enrol", {"leads": ["L1"], "start": "2026-03-27"})
    before = snapshot()
    cases = [
        (other, {"leads": ["L2"]}, 404, "leads", "no lead 'L2' (or you may not see it)"),        # rita's lead
        (rep, {"leads": ["L3"]}, 404, "leads", "no lead 'L3' (or you may not see it)"),          # her manager's
        (rep, {"leads": ["L2", "nope"]}, 404, "leads", "no lead 'nope' (or you may not see it)"),
        (rep, {"leads": ["L2", "L2"]}, 422, "leads", "lead 'L2' is listed twice"),
        (rep, {"leads": ["L2", "L1"]}, 422, "leads", "lead L1 is already in a running cadence"),
        (rep, {"leads": ["LX"]}, 422, "leads", "lead LX is converted; only live leads are enrolled"),
        (rep, {"leads": []}, 422, "leads", "give at least one lead or contact to enrol"),
        (rep, {"leads": ["L2"], "cadence": "Nope"}, 422, "cadence", "no cadence 'Nope'"),
        (rep, {"leads": ["L2"], "start": "9999-12-31"}, 422, "start",
         "start: 9999-12-31 is out of range: give a date from 1900-01-01 to 2199-12-31"),
        (rep, {"leads": ["L2"], "start": "2019-03-27"}, 422, "start",
         "2019-03-27 is more than a year ago; a cadence starts today or recently: choose a later date"),
        (rep, {"contacts": [{"contact": "c-globex"}]}, 404, "contacts.0.contact",
         "no contact 'c-globex' (or you may not see it)"),
        (rep, {"contacts": [{"contact": "c-acme", "deal": "D9"}]}, 404, "contacts.0.deal",
         "no deal 'D9' (or you may not see it)"),
    ]
    for api, body, status, field, detail in cases:
        got = api.post("/api/cadences/enrol", body)
        answer = {k: got.json()[k] for k in ("detail", "field")}
        assert (got.status_code, answer) == (status, {"detail": detail, "field": field}), body
    assert snapshot() == before


def test_the_api_lists_the_cadence_paths(world):
    paths = world["api"]["rep"].client.get("/api/openapi.json").json()["paths"]
    for path in ("/api/cadences", "/api/cadences/enrol", "/api/today",
                 "/api/tasks/{task_id}/done", "/api/tasks/{task_id}/skip", "/api/tasks/{task_id}/reply",
                 "/api/tasks/{task_id}/meeting-booked", "/api/one-more-call", "/api/social"):
        assert path in paths, path
    assert set(paths["/api/cadences"]) == {"get", "post", "put"}
