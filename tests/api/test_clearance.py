"""Freshness, the clearance list, and clear / snooze / undo through the API, audited as the token's user."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bestby.audit.models import AuditEntry
from bestby.clearance.models import ClearanceAction, Freshness
from bestby.pipeline.models import Deal

NOW = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)  # bestby's clock for every test here: after the deals' history


@pytest.fixture(autouse=True)
def _clock(frozen_clock):
    frozen_clock(NOW)


def _cache(world, states: dict[str, str]) -> None:
    """Freshness rows as `bestby refresh` would write them (the engine is tested elsewhere)."""
    now = NOW
    for ext, state in states.items():
        deal = world["deals"][ext]
        Freshness.objects.create(deal=deal, as_of=now, state=state, reasons=[{"code": "idle", "text": "no touch"}],
                                 weight=float(deal.amount), age_days=30, stage_age_days=20)


def test_freshness_and_clearance_list_are_filtered_and_ordered(world):
    _cache(world, {"D1": "expired", "D2": "stalled", "D3": "fresh", "D9": "expired"})
    rep, mgr = world["api"]["rep"], world["api"]["mgr"]
    fresh = mgr.get("/api/freshness").json()
    assert [r["deal"] for r in fresh["items"]] == ["D2", "D1", "D3"] and fresh["count"] == 3
    assert [r["deal"] for r in mgr.get("/api/freshness", state="fresh").json()["items"]] == ["D3"]
    listed = rep.get("/api/clearance").json()
    assert [r["deal"] for r in listed["items"]] == ["D2", "D1"]
    assert listed["items"][0]["reasons"] == [{"code": "idle", "text": "no touch"}]
    assert mgr.get("/api/freshness", state="rotten").json()["field"] == "state"


def test_clear_snooze_undo_through_the_api(world):
    _cache(world, {"D1": "expired", "D2": "stalled"})
    rep, rita = world["api"]["rep"], world["users"]["rep"]
    cleared = rep.post("/api/deals/D1/clear", {"reason": "no reply since January"})
    assert cleared.status_code == 201, cleared.content
    (action,) = cleared.json()
    assert (action["kind"], action["by"], action["deal"]) == ("clear", "rita", "D1")
    assert Deal.objects.get(external_id="D1").status == "lost"
    assert [r["deal"] for r in rep.get("/api/clearance").json()["items"]] == ["D2"]

    until = (NOW.date() + timedelta(days=30)).isoformat()
    snoozed = rep.post("/api/deals/D2/snooze", {"until": until, "reason": "back from holiday in May"})
    assert snoozed.status_code == 201 and snoozed.json()["until"] == until
    assert rep.get("/api/clearance").json()["items"] == []

    undone = rep.post(f"/api/actions/{action['id']}/undo", {"reason": "she replied"})
    assert undone.status_code == 201 and undone.json()["undoes"] == action["id"]
    assert Deal.objects.get(external_id="D1").status == "open"
    assert [r["deal"] for r in rep.get("/api/clearance").json()["items"]] == ["D1"]
    again = rep.post(f"/api/actions/{action['id']}/undo", {"reason": "twice"})
    assert again.status_code == 409 and again.json()["field"] == "action"

    entries = AuditEntry.objects.filter(action__startswith="clearance.")
    assert sorted(entries.values_list("action", flat=True)) == ["clearance.clear", "clearance.snooze",
                                                                 "clearance.undo"]
    assert {e.by_id for e in entries} == {rita.pk}


def test_action_refusals_name_the_parameter_and_change_nothing(world):
    rep, other = world["api"]["rep"], world["api"]["other"]
    before = list(Deal.objects.order_by("pk").values())
    no_reason = rep.post("/api/deals/D1/clear", {"reason": "  "})
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    bad_to = rep.post("/api/deals/D1/clear", {"reason": "x", "to": "trash"})
    assert bad_to.status_code == 422 and bad_to.json()["field"] == "to"
    past = rep.post("/api/deals/D1/snooze", {"until": "2020-01-01", "reason": "x"})
    assert past.status_code == 422 and past.json()["field"] == "until"
    assert list(Deal.objects.order_by("pk").values()) == before and not ClearanceAction.objects.exists()
    mine = rep.post("/api/deals/D1/clear", {"reason": "gone quiet"}).json()[0]
    assert other.post(f"/api/actions/{mine['id']}/undo", {}).status_code == 404  # not otto's deal
    assert rep.post("/api/actions/999999/undo", {}).status_code == 404
    closed = rep.post("/api/deals/D1/clear", {"reason": "again"})
    assert closed.status_code == 409 and closed.json()["field"] == "deals"
