"""A bad-input corpus for the pages' forms: every numeric and date input, refused by the page, nothing changed.

The inputs come from the templates themselves: every ``<input>`` of type
``date`` or ``number``, or with ``inputmode`` ``decimal`` or ``numeric``, and
:data:`CASES` must cover each (template, name); a new one without a case
fails :func:`test_every_numeric_and_date_input_has_a_case`. Bad values are
literals from the column definitions (amounts: 15 significant digits, 13
before the point; dates 1900-01-01..2199-12-31) plus the odd input a person
types (negative, NaN, empty, 2**63). Each answer is a 400 page that names the
field (``data-field``) and the store is exactly as it was.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from bestby.audit.models import AuditEntry
from bestby.cadences.models import Cadence, CadenceStep, Enrollment
from bestby.clearance.models import ClearanceAction
from bestby.goals.models import Quota
from bestby.pipeline.models import CloseDateEvent, Deal
from tests.web.test_board import PASSWORD, T0, signed_in, workspace  # noqa: F401 - the shared fixture

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__import__("bestby.web", fromlist=["x"]).__file__).parent / "templates" / "web"
NUMERIC_INPUT = re.compile(r'<input[^>]*(?:type="(?:date|number)"|inputmode="(?:decimal|numeric)")[^>]*>')
BIG = str(2 ** 63)


def _deal_form(deal):
    return {"name": deal.name, "amount": str(deal.amount), "close_date": deal.close_date.isoformat(),
            "stage": str(deal.stage_id), "version": str(deal.version)}


def _deal(field, value):
    deal = Deal.objects.get(external_id="D2")
    return "post", "/deals/D2/", _deal_form(deal) | {field: value}


def _new_goal(field, value):
    return "post", "/goals/", {"owner": "rep_a", "start": "2026-04-01", "end": "2026-06-30", "amount": "100"} | {
        field: value}


def _goal_row(field, value):
    quota = Quota.objects.get(owner_key="rep_a")
    return "post", f"/goals/{quota.pk}/", {"owner": "rep_a", "start": "2026-01-01", "end": "2026-03-31",
                                          "amount": "100"} | {field: value}


def _enrol(field, value):
    return "post", "/cadences/enrol/", {"leads": "L1", "start": value}


def _since(field, value):
    return "get", "/clearance/decisions/", {"since": value, "format": "bestby"}


def _quantile(field, value):
    return "get", "/shelf-life/", {"q": value}


def _offset(field, value):
    cadence = Cadence.objects.get(name="Short")
    return "post", f"/cadences/{cadence.pk}/edit/", {"name": "Short", "description": "", "rows": "1",
                                                    "steps-1-offset": value, "steps-1-channel": "phone",
                                                    "steps-1-instruction": "call"}


def _snooze(field, value):
    return "post", "/clearance/snooze/", {"deals": "D2", "until": value, "reason": "back in May"}


AMOUNTS = ["1e13", "1e20", "-5", "NaN", "0.001", BIG]
DATES = ["9999-12-31", "0001-01-01", "1899-12-31", "2200-01-01"]
# (template, input name) -> (request builder, bad values, the field the page names)
CASES = {
    ("deal.html", "amount"): (_deal, AMOUNTS, "amount"),
    ("deal.html", "close_date"): (_deal, DATES, "close_date"),
    ("goals.html", "start"): (_new_goal, DATES, "start"),
    ("goals.html", "end"): (_goal_row, ["9999-12-31", "2200-01-01"], "end"),
    ("goals.html", "amount"): (_goal_row, AMOUNTS, "amount"),
    ("cadences.html", "start"): (_enrol, DATES + ["2019-01-01", "2031-01-01"], "start"),
    ("clearance.html", "since"): (_since, DATES, "since"),
    ("shelf.html", "q"): (_quantile, ["2", "-1", "nan", BIG], "q"),
    ("cadence_edit.html", "steps-{{ r.k }}-offset"): (_offset, [BIG, "-1", "100000"], "steps[1].offset"),
    ("_clearance.html", "until"): (_snooze, DATES + [""], "until"),
}


def _inputs() -> set[tuple[str, str]]:
    found = set()
    for path in TEMPLATES.glob("*.html"):
        for tag in NUMERIC_INPUT.findall(path.read_text()):
            found.add((path.name, re.search(r'name="([^"]+)"', tag).group(1)))
    return found


def test_every_numeric_and_date_input_has_a_case():
    inputs = _inputs()
    assert len(inputs) >= 8  # the scan itself works
    assert sorted(inputs - set(CASES)) == []


def _state() -> str:
    parts = [repr(sorted(map(repr, m.objects.values_list()))) for m in
             (Deal, CloseDateEvent, Quota, AuditEntry, ClearanceAction, Cadence, CadenceStep, Enrollment)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


@pytest.fixture
def pages(client, workspace):  # noqa: F811 - the fixture imported above
    from bestby.activities.models import Lead
    from bestby.cadences import services as cadences
    from bestby.cadences.schedule import Step
    from bestby.people.models import User

    rep = User.objects.get(username="rep_a")
    Quota.objects.create(owner_key="rep_a", period_start="2026-01-01", period_end="2026-03-31", amount="500")
    Lead.objects.create(external_id="L1", name="Lee", owner=rep, status="new")
    cadences.save_cadence(name="Short", steps=[Step(0, "phone", "call")])
    cadences.ensure_default()  # the cadences page makes it on its first view: not a change made by bad input
    return signed_in(client, "root")


@pytest.mark.parametrize("key", sorted(CASES), ids=lambda k: f"{k[0]}:{k[1]}")
def test_out_of_range_is_refused_by_the_page_naming_the_field(pages, key):
    build, bad_values, field = CASES[key]
    before = _state()
    for bad in bad_values:
        method, url, data = build(field, bad)
        response = getattr(pages, method)(url, data)
        html = response.content.decode()
        assert response.status_code == 400, (key, bad, response.status_code, html[:300])
        assert f'data-field="{field}"' in html or f"{field}: " in html, (key, bad, re.findall(r'class="error[^<]*', html))
    assert _state() == before, key
