"""The Enpal Pipedrive extract (../shared/data, SOURCE.md) imports with every quirk counted.

Expected figures come from the raw CSV files, read here with the csv module,
and from SOURCE.md; the five deal ids two deals share were read by hand: each
second ``add_time`` row of an id starts a block of that id's rows, and the
earlier-created deal of each pair (the one the importer drops) is the block
listed in REUSED (first and last line of deal_changes.csv).
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import datetime, timezone

import pytest

from bestby.activities.models import Touch
from bestby.importers.crm import pipedrive
from bestby.importers.crm.dates import Dates
from bestby.importers.crm.run import import_mapped
from bestby.people.models import User
from bestby.pipeline.models import Deal, Stage, StageEvent

pytestmark = pytest.mark.django_db
UTC = timezone.utc
# deal id -> (first line, last line) of the earlier-created deal's block, read by hand
REUSED = {"554294": (3443, 3450), "556338": (4097, 4105), "955417": (3059, 3065), "851850": (8532, 8539),
          "399956": (12805, 12814)}


def rows(folder, name):
    with open(folder / name, newline="", encoding="utf-8") as fh:
        return [(line, row) for line, row in enumerate(csv.DictReader(fh), start=2)]


@pytest.fixture(scope="module")
def raw(shared_data_dir):
    folder = shared_data_dir
    changes = rows(folder, "deal_changes.csv")
    dropped = {line for lo, hi in REUSED.values() for line in range(lo, hi + 1)}
    for deal_id, (lo, hi) in REUSED.items():   # the hand-read blocks are what they are said to be
        block = [r for line, r in changes if lo <= line <= hi]
        assert {r["deal_id"] for r in block} == {deal_id} and block[0]["changed_field_key"] == "add_time"
        later = [r["new_value"] for line, r in changes if r["deal_id"] == deal_id and r["changed_field_key"] == "add_time"
                 and line not in dropped]
        assert len(later) == 1 and later[0] > block[0]["new_value"]
    kept = [r for line, r in changes if line not in dropped]
    return {"folder": folder, "changes": changes, "kept": kept, "dropped": len(dropped),
            "activities": rows(folder, "activity.csv"), "users": rows(folder, "users.csv")}


@pytest.fixture(scope="module")
def shared_data_dir():
    from tests.conftest import SHARED_DATA

    folder = SHARED_DATA / "enpal-pipedrive-crm-assessment"
    if not folder.is_dir():
        pytest.fail(f"{folder} is missing: the tests need ../shared/data beside the repository")
    return folder


def run(folder):
    out, findings = pipedrive.map_export(folder, Dates())
    return import_mapped(out, findings, source="pipedrive:enpal", label="test")


def test_enpal_imports_with_every_quirk_counted(raw):
    report = run(raw["folder"])
    keys = Counter(r["changed_field_key"] for _, r in raw["changes"])
    assert keys == {"add_time": 2000, "user_id": 2500, "stage_id": 8906, "lost_reason": 2000}   # SOURCE.md
    deal_ids = {r["deal_id"] for _, r in raw["changes"]}
    assert len(deal_ids) == 1995
    kept = raw["kept"]
    kept_keys = Counter(r["changed_field_key"] for r in kept)
    assert kept_keys["add_time"] == kept_keys["lost_reason"] == 1995
    assert {r["deal_id"] for r in kept if r["changed_field_key"] == "user_id"} == deal_ids   # every deal has an owner
    add = {r["deal_id"]: r["change_time"] for r in kept if r["changed_field_key"] == "add_time"}
    first_stage = {}
    for r in kept:
        if r["changed_field_key"] == "stage_id":
            first_stage[r["deal_id"]] = min(first_stage.get(r["deal_id"], "9"), r["change_time"])
    # activities: the first row of an id counts; then done; then a deal that exists
    seen, not_done, missing, touches = set(), 0, 0, []
    for _, r in raw["activities"]:
        if r["activity_id"] in seen:
            continue
        seen.add(r["activity_id"])
        if r["done"] != "True":
            not_done += 1
        elif r["deal_id"] not in deal_ids:
            missing += 1
        else:
            touches.append(r)
    assert len(raw["activities"]) == 4579 and len(seen) == 4568 and len(touches) == 6
    assert {k: v.created for k, v in report.files.items() if v.created} == {
        "users": len(raw["users"]), "stages": 9 + 2, "deals": 1995,
        # every stage row of the kept deals, and one move into Lost per deal (every deal is lost)
        "stage_events": kept_keys["stage_id"] + 1995, "touches": 6}
    assert len(raw["users"]) == 1787 and kept_keys["stage_id"] == 8906 - 24
    assert {f["code"]: f["count"] for f in report.unmapped} == {
        "stage_label_differs": 1,                  # Qualified lead / Qualified Lead
        "users_share_email": 1787 - len({r["email"] for _, r in raw["users"]}),
        "deals_from_change_log": 1995,
        "first_stage_after_creation": sum(first_stage[d] > add[d] for d in add),
        "field_history_superseded": kept_keys["user_id"] - 1995,   # all owners but each deal's latest
        "deal_id_reused": raw["dropped"],
        "activity_id_repeated": 4579 - 4568,
        "not_done": not_done,
        "activity_deal_missing": missing,
        "activity_type_name_differs": 1,           # the built-in meeting type named "Sales Call 1"
    }
    assert raw["dropped"] == 42 and 4579 - 4568 + not_done + missing + 6 == 4579
    assert Deal.objects.filter(status="lost").count() == 1995 and not Deal.objects.exclude(stage__name="Lost").exists()
    channels = {"meeting": "meeting", "sc_2": "phone", "follow_up": "phone", "after_close_call": "phone"}
    assert Counter(Touch.objects.values_list("channel", flat=True)) == Counter(channels[r["type"]] for r in touches)


def test_enpal_deal_values_follow_the_raw_rows(raw):
    run(raw["folder"])
    with open(raw["folder"] / "fields.csv", newline="", encoding="utf-8") as fh:
        options = {r["FIELD_KEY"]: r["FIELD_VALUE_OPTIONS"] for r in csv.DictReader(fh)}
    reasons = {o["id"]: o["label"] for o in json.loads(options["lost_reason"])}
    mine = [r for r in raw["kept"] if r["deal_id"] == "881836"]
    lost = next(r for r in mine if r["changed_field_key"] == "lost_reason")
    owner = [r["new_value"] for r in mine if r["changed_field_key"] == "user_id"][-1]
    d = Deal.objects.get(external_id="881836")
    assert (d.lost_reason, d.owner.external_id) == (reasons[lost["new_value"]], owner)
    assert d.closed_at == datetime.fromisoformat(lost["change_time"]).replace(tzinfo=UTC)
    assert d.created_at == datetime(2024, 4, 9, 21, 32, 9, tzinfo=UTC)
    # the kept deal 554294 is the one created 2024-08-13 (lines 1024-1031): stages 1, 2, 6, 9, then lost
    reused = Deal.objects.get(external_id="554294")
    assert reused.created_at == datetime(2024, 8, 13, 6, 38, 53, tzinfo=UTC)
    got = [(e.at, e.to_stage.name, e.from_stage.name if e.from_stage else None)
           for e in StageEvent.objects.filter(deal=reused).order_by("at")]
    at = [datetime(2024, m, d, 6, 38, 53, tzinfo=UTC) for m, d in ((9, 9), (9, 30), (10, 20), (10, 26), (11, 8))]
    assert got == [(at[0], "Lead Generation", None), (at[1], "Qualified lead", "Lead Generation"),
                   (at[2], "Closing", "Qualified lead"), (at[3], "Renewal/Expansion", "Closing"),
                   (at[4], "Lost", "Renewal/Expansion")]
    assert [s.name for s in Stage.objects.order_by("position")][-3:] == ["Renewal/Expansion", "Won", "Lost"]


def test_enpal_reimport_changes_nothing(raw):
    run(raw["folder"])
    again = run(raw["folder"])
    assert all(v.created == v.updated == 0 for v in again.files.values())
    assert User.objects.count() == 1787
    # users.csv has 4 emails that two users share (counted from the raw file in the fixture): never matched by email
    assert {f["code"]: f["count"] for f in again.unmapped}.get("users_matched_by_email", 0) == 0
