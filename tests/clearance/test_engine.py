"""The engine reads the store after clears, snoozes and undos: voided events are not history.

These tests commit their data (``transaction=True``): the engine reads the
store through a second connection.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bestby.clearance import services as cs
from bestby.engine.freshness import freshness
from bestby.engine.policy import ClearancePolicy
from bestby.engine.shelf_life import shelf_life
from bestby.pipeline.analytics import store_source
from tests.clearance.helpers import build

pytestmark = pytest.mark.django_db(transaction=True)

AT = datetime(2025, 6, 2, 10, 30, tzinfo=UTC)
AS_OF = datetime(2030, 1, 1, tzinfo=UTC)


def _engine(as_of: datetime = AS_OF) -> dict:
    tables = store_source(as_of)
    events = sorted(tables["stage_events"].to_pyarrow().to_pylist(), key=lambda r: (r["deal_id"], r["at"]))
    return {"events": events, "shelf": shelf_life(tables, q=0.8),
            "fresh": freshness(tables, as_of=as_of, policy=ClearancePolicy())}


def test_clear_then_undo_gives_the_engine_the_same_results():
    build()
    before = _engine()
    (action,) = cs.clear(deals=["D2"], reason="stale", at=AT)
    cleared = _engine()
    assert ("D2", "Lost") in {(e["deal_id"], e["to_stage"]) for e in cleared["events"]}
    assert "D2" not in {r["deal_id"] for r in cleared["fresh"]}  # lost: no longer open

    cs.undo(action=action, at=AT)
    after = _engine()
    assert after == before
    # hand-checked: D2's visible history is its entry and its move to Proposal, and it is open in Proposal
    assert [(e["to_stage"], e["from_stage"]) for e in after["events"] if e["deal_id"] == "D2"] == [
        ("Qualify", None), ("Proposal", "Qualify")]
    assert {r["deal_id"]: r["stage"] for r in after["fresh"]}["D2"] == "Proposal"


def test_snooze_hides_a_deal_from_the_list_until_its_date():
    build()
    listed = {r["deal_id"] for r in cs.plan(as_of=AS_OF, policy=ClearancePolicy())}
    assert listed == {"D1", "D2", "D4"}  # open and never touched for years: stalled

    action = cs.snooze(deal="D1", until=date(2030, 2, 1), reason="budget in February", at=AT)
    rows, open_deals = cs.listing(as_of=datetime(2030, 1, 31, 23, 59, tzinfo=UTC), policy=ClearancePolicy())
    assert {r["deal_id"] for r in rows} == {"D2", "D4"} and open_deals == 3
    assert {r["deal_id"] for r in cs.plan(as_of=datetime(2030, 2, 1, tzinfo=UTC), policy=ClearancePolicy())} \
        == listed

    cs.undo(action=action, at=AT)
    assert {r["deal_id"] for r in cs.plan(as_of=datetime(2030, 1, 15, tzinfo=UTC), policy=ClearancePolicy())} \
        == listed


def test_plan_then_apply_clears_the_list_in_one_batch():
    build()
    rows = cs.plan(as_of=AS_OF, policy=ClearancePolicy())
    # most inflating first, amount x max(1, staleness): all three have sat ~70-80 shelf lives (~1 820 days
    # against shelf lives of ~24-26 days), so the amounts 700, 100 and 50 decide the order
    assert [r["deal_id"] for r in rows] == ["D2", "D1", "D4"]
    actions = cs.apply(rows=rows, at=AT)
    assert len({a.batch for a in actions}) == 1
    assert cs.plan(as_of=AS_OF, policy=ClearancePolicy()) == []
    cs.undo_batch(batch=actions[0].batch, at=AT)
    assert [r["deal_id"] for r in cs.plan(as_of=AS_OF, policy=ClearancePolicy())] == ["D2", "D1", "D4"]


def test_a_past_list_shows_deals_as_they_were_but_plan_leaves_out_those_closed_since():
    build()
    then = datetime(2025, 6, 1, tzinfo=UTC)  # the day before AT: D1, D2 and D4 untouched for 146 days
    cs.clear(deals=["D1"], reason="stale", at=AT)
    rows, _ = cs.listing(as_of=then, policy=ClearancePolicy())
    assert {r["deal_id"] for r in rows} == {"D1", "D2", "D4"}  # D1 was open on 2025-06-01
    assert {r["deal_id"] for r in cs.plan(as_of=then, policy=ClearancePolicy())} == {"D2", "D4"}
