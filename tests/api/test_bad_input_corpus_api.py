"""A bad-input corpus for the API: every numeric and date field of every request, refused, nothing changed.

The fields come from the live OpenAPI schema (every request body property
and query/path parameter whose type is a number, an integer, a date or a
timestamp), and :data:`CASES` must cover each of them: a new numeric field
without a case fails :func:`test_every_numeric_and_date_field_has_a_case`.
Each case sends values outside the field's range, written here as literals
from the column definitions (``DECIMAL(18, 2)`` within the 15 digits SQLite keeps exactly: 13 before the point;
dates 1900-01-01..2199-12-31; 64-bit keys), and expects a 4xx JSON answer
naming the field, and the store exactly as it was (counts and a checksum of
the rows every endpoint writes).
"""

from __future__ import annotations

import hashlib
import json

import pytest

from bestby.accounts.models import Account, Contact
from bestby.activities.models import Lead, Touch
from bestby.api.main import api
from bestby.audit.models import AuditEntry
from bestby.cadences.models import Cadence, CadenceStep, CadenceTask, Enrollment
from bestby.clearance.models import ClearanceAction
from bestby.goals.models import Quota
from bestby.pipeline.models import CloseDateEvent, Deal, StageEvent

pytestmark = pytest.mark.django_db

BIG_INT = 2 ** 63  # one past what a 64-bit key holds: an overflow in the database, once a 500
TOO_MUCH = "1e13"  # 14 digits before the point: 15 significant digits (SQLite exact) leave 13 for DECIMAL(18, 2)
FAR_DATE, OLD_DATE = "9999-12-31", "0001-01-01"
FAR_TIME = "9999-12-31T00:00:00Z"

DEAL = {"pipeline": "default", "stage": "Qualify", "name": "N"}
TOUCH = {"at": "2025-01-07T10:00:00Z", "channel": "phone", "deal": "D1"}
QUOTA = {"owner": "rita", "period_start": "2025-01-01", "period_end": "2025-03-31", "amount": "100"}
CADENCE = {"name": "C", "steps": [{"offset": 0, "channel": "phone", "instruction": "call"}]}


def _version(_world):
    return {"version": Deal.objects.get(external_id="D1").version}


def _quota_id(world):
    return world["quota"].pk


# (method, path template, where, field) -> (who, base body or params, bad values, answer's field)
CASES = {
    ("GET", "/api/deals", "param", "limit"): ("rep", {}, [0, 501, BIG_INT], "limit"),
    ("GET", "/api/deals", "param", "offset"): ("rep", {}, [-1, BIG_INT, 10 ** 12], "offset"),
    ("POST", "/api/deals", "body", "amount"): ("rep", DEAL, [TOO_MUCH, "1e30", "-5", "0.001", "NaN"], "amount"),
    ("POST", "/api/deals", "body", "close_date"): ("rep", DEAL, [FAR_DATE, OLD_DATE], "close_date"),
    ("PATCH", "/api/deals/{deal_id}", "body", "version"): ("rep", {}, [BIG_INT, 0], "version"),
    ("PATCH", "/api/deals/{deal_id}", "body", "amount"): ("rep", _version, [TOO_MUCH, "-1"], "amount"),
    ("PATCH", "/api/deals/{deal_id}", "body", "close_date"): ("rep", _version, [FAR_DATE, OLD_DATE], "close_date"),
    ("GET", "/api/accounts", "param", "limit"): ("rep", {}, [BIG_INT], "limit"),
    ("GET", "/api/accounts", "param", "offset"): ("rep", {}, [BIG_INT], "offset"),
    ("POST", "/api/accounts", "body", "employees"): ("admin", {"name": "X"}, [BIG_INT, -1, 10 ** 10], "employees"),
    ("POST", "/api/accounts", "body", "annual_revenue"): ("admin", {"name": "X"}, ["1e19", "-1"], "annual_revenue"),
    ("POST", "/api/accounts", "body", "payment_terms_days"): ("admin", {"name": "X"}, [BIG_INT, -1],
                                                              "payment_terms_days"),
    ("PATCH", "/api/accounts/{account_id}", "body", "employees"): ("admin", {}, [BIG_INT], "employees"),
    ("PATCH", "/api/accounts/{account_id}", "body", "annual_revenue"): ("admin", {}, ["1e30"], "annual_revenue"),
    ("PATCH", "/api/accounts/{account_id}", "body", "payment_terms_days"): ("admin", {}, [10 ** 9],
                                                                           "payment_terms_days"),
    ("GET", "/api/contacts", "param", "limit"): ("rep", {}, [BIG_INT], "limit"),
    ("GET", "/api/contacts", "param", "offset"): ("rep", {}, [BIG_INT], "offset"),
    ("GET", "/api/touches", "param", "limit"): ("rep", {}, [BIG_INT], "limit"),
    ("GET", "/api/touches", "param", "offset"): ("rep", {}, [BIG_INT], "offset"),
    ("GET", "/api/touches", "param", "since"): ("rep", {}, [FAR_TIME], "since"),
    ("POST", "/api/touches", "body", "at"): ("rep", TOUCH, [FAR_TIME, "0001-01-01T00:00:00Z"], "at"),
    ("POST", "/api/touches", "body", "duration_minutes"): ("rep", TOUCH, [BIG_INT, -1], "duration_minutes"),
    ("PATCH", "/api/touches/{touch_id}", "body", "duration_minutes"): ("rep", {}, [BIG_INT, -5],
                                                                      "duration_minutes"),
    ("GET", "/api/shelf-life", "param", "as_of"): ("mgr", {}, [FAR_TIME], "as_of"),
    ("GET", "/api/shelf-life", "param", "q"): ("mgr", {}, [2, -1, "nan"], "q"),
    ("GET", "/api/freshness", "param", "limit"): ("rep", {}, [BIG_INT], "limit"),
    ("GET", "/api/freshness", "param", "offset"): ("rep", {}, [BIG_INT], "offset"),
    ("GET", "/api/clearance", "param", "limit"): ("rep", {}, [BIG_INT], "limit"),
    ("GET", "/api/clearance", "param", "offset"): ("rep", {}, [BIG_INT], "offset"),
    ("POST", "/api/deals/{deal_id}/snooze", "body", "until"): ("rep", {"reason": "r"}, [FAR_DATE, OLD_DATE, ""],
                                                               "until"),
    ("POST", "/api/actions/{action_id}/undo", "param", "action_id"): ("rep", {}, [BIG_INT, 0], "action_id"),
    ("GET", "/api/forecast", "param", "deals"): ("mgr", {}, [BIG_INT, -1], "deals"),
    ("GET", "/api/funnel", "param", "window"): ("mgr", {}, [BIG_INT, -1], "window"),
    ("GET", "/api/quotas", "param", "limit"): ("mgr", {}, [BIG_INT], "limit"),
    ("GET", "/api/quotas", "param", "offset"): ("mgr", {}, [BIG_INT], "offset"),
    ("POST", "/api/quotas", "body", "period_start"): ("admin", QUOTA, [OLD_DATE, FAR_DATE], "period_start"),
    ("POST", "/api/quotas", "body", "period_end"): ("admin", QUOTA, [FAR_DATE], "period_end"),
    ("POST", "/api/quotas", "body", "amount"): ("admin", QUOTA, [TOO_MUCH, "-1", "0"], "amount"),
    ("PATCH", "/api/quotas/{quota_id}", "param", "quota_id"): ("admin", {}, [BIG_INT], "quota_id"),
    ("PATCH", "/api/quotas/{quota_id}", "body", "period_start"): ("admin", {}, [OLD_DATE], "period_start"),
    ("PATCH", "/api/quotas/{quota_id}", "body", "period_end"): ("admin", {}, [FAR_DATE], "period_end"),
    ("PATCH", "/api/quotas/{quota_id}", "body", "amount"): ("admin", {}, [TOO_MUCH, "-3"], "amount"),
    ("DELETE", "/api/quotas/{quota_id}", "param", "quota_id"): ("admin", {}, [BIG_INT], "quota_id"),
    ("POST", "/api/cadences", "body", "steps[0].offset"): ("admin", CADENCE, [BIG_INT, -1, 10 ** 6], "steps.0.offset"),
    ("PUT", "/api/cadences", "body", "steps[0].offset"): ("admin", CADENCE, [BIG_INT, -1], "steps.0.offset"),
    ("POST", "/api/cadences/enrol", "body", "start"): ("rep", {"leads": ["L1"]}, [FAR_DATE, OLD_DATE], "start"),
    ("GET", "/api/today", "param", "at"): ("rep", {}, [FAR_TIME], "at"),
    ("POST", "/api/tasks/{task_id}/done", "param", "task_id"): ("rep", {}, [BIG_INT], "task_id"),
    ("POST", "/api/tasks/{task_id}/done", "body", "at"): ("rep", {}, [FAR_TIME], "at"),
    ("POST", "/api/tasks/{task_id}/skip", "param", "task_id"): ("rep", {}, [BIG_INT], "task_id"),
    ("POST", "/api/tasks/{task_id}/skip", "body", "at"): ("rep", {}, [FAR_TIME], "at"),
    ("POST", "/api/tasks/{task_id}/reply", "param", "task_id"): ("rep", {}, [BIG_INT], "task_id"),
    ("POST", "/api/tasks/{task_id}/reply", "body", "at"): ("rep", {}, [FAR_TIME], "at"),
    ("POST", "/api/tasks/{task_id}/meeting-booked", "param", "task_id"): ("rep", {}, [BIG_INT], "task_id"),
    ("POST", "/api/tasks/{task_id}/meeting-booked", "body", "at"): ("rep", {}, [FAR_TIME], "at"),
    ("POST", "/api/social", "body", "at"): ("rep", {"lead": "L1"}, [FAR_TIME], "at"),
    ("POST", "/api/leads/{lead_id}/convert", "body", "amount"): ("rep", {}, [TOO_MUCH, "-1"], "amount"),
}

PATH_VALUES = {"deal_id": "D1", "account_id": "acme", "touch_id": "t1", "action_id": 1, "task_id": 1,
               "lead_id": "L1", "quota_id": _quota_id}
QUERY_OF = {("PUT", "/api/cadences"): {"cadence": "Default"}}


def _numeric_fields() -> set[tuple[str, str, str, str]]:
    """(method, path, "param"/"body", field) for every number, integer, date and timestamp the API takes."""
    schema = api.get_openapi_schema()
    comps = schema["components"]["schemas"]

    def plain(prop: dict) -> dict:
        if "anyOf" in prop:
            prop = next((x for x in prop["anyOf"] if x.get("type") != "null"), prop)
        return comps[prop["$ref"].split("/")[-1]] if "$ref" in prop else prop

    def numeric(prop: dict) -> bool:
        return prop.get("type") in ("integer", "number") or prop.get("format") in ("date", "date-time")

    def walk(obj: dict, prefix: str):
        for name, prop in plain(obj).get("properties", {}).items():
            prop = plain(prop)
            if prop.get("type") == "array" and "$ref" in prop.get("items", {}):
                yield from walk(prop["items"], f"{prefix}{name}[0].")
            elif "properties" in prop:
                yield from walk(prop, f"{prefix}{name}.")
            elif numeric(prop):
                yield prefix + name

    found = set()
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            for param in op.get("parameters", []):
                if numeric(plain(param.get("schema", {}))):
                    found.add((method.upper(), path, "param", param["name"]))
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body:
                found |= {(method.upper(), path, "body", f) for f in walk(body, "")}
    return found


def test_every_numeric_and_date_field_has_a_case():
    fields = _numeric_fields()
    assert len(fields) > 40  # the enumeration itself works
    assert sorted(fields - set(CASES)) == []
    assert sorted(set(CASES) - fields) == []


def _state() -> str:
    """A checksum of every row an API write could touch."""
    parts = []
    for model in (Deal, StageEvent, CloseDateEvent, Account, Contact, Touch, Lead, Quota, AuditEntry,
                  ClearanceAction, Cadence, CadenceStep, Enrollment, CadenceTask):
        parts.append(repr(sorted(map(repr, model.objects.values_list()))))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


@pytest.fixture
def corpus_world(world, settings):
    from tests.api.cadence_helpers import make_leads

    make_leads(world, settings)
    world["quota"] = Quota.objects.create(owner_key="rita", period_start="2025-04-01", period_end="2025-06-30",
                                          amount="1000.00")
    return world


def _set(body: dict, field: str, value) -> dict:
    body = json.loads(json.dumps(body))
    if field.startswith("steps[0]."):
        body["steps"][0][field.split(".", 1)[1]] = value
    else:
        body[field] = value
    return body


@pytest.mark.parametrize("key", sorted(CASES), ids=lambda k: f"{k[0]} {k[1]} {k[3]}")
def test_out_of_range_is_refused_naming_the_field_and_nothing_changes(corpus_world, key):
    method, template, where, field = key
    who, base, bad_values, answer_field = CASES[key]
    client = corpus_world["api"][who].client
    base = base(corpus_world) if callable(base) else base
    before = _state()
    for bad in bad_values:
        values = {k: (v(corpus_world) if callable(v) else v) for k, v in PATH_VALUES.items()}
        params = dict(QUERY_OF.get((method, template), {}))
        body = None
        if where == "param" and "{" + field + "}" in template:
            values[field] = bad
        elif where == "param":
            params[field] = bad
        else:
            body = _set(base, field, bad)
        if where == "param" and method != "GET":
            body = dict(base)
        url = template.format(**values)
        if method == "GET":
            response = client.get(url, params | (base if isinstance(base, dict) else {}))
        else:
            query = "?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else ""
            response = client.generic(method, url + query, json.dumps(body if body is not None else {}),
                                      content_type="application/json")
        assert 400 <= response.status_code < 500, (key, bad, response.status_code, response.content[:300])
        answer = response.json()
        named = {answer.get("field")} | {e.get("field") for e in answer.get("errors", [])}
        assert answer_field in named, (key, bad, answer)
        assert answer["detail"], (key, bad, answer)
    assert _state() == before, key


def test_the_largest_amount_a_deal_keeps_round_trips(world):
    rep = world["api"]["rep"]
    made = rep.post("/api/deals", DEAL | {"amount": "9999999999999.99"})
    assert made.status_code == 201, made.content
    assert made.json()["amount"] == "9999999999999.99"
    assert str(Deal.objects.get(external_id=made.json()["id"]).amount) == "9999999999999.99"
