"""The clearance services on hand-made deals: clear, snooze, undo, batch apply; refusals change nothing."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from bestby.activities.models import Lead
from bestby.audit.models import AuditEntry
from bestby.clearance import services as cs
from bestby.clearance.models import ClearanceAction, StageEventVoid
from bestby.history import AppendOnlyError
from bestby.pipeline import services
from bestby.pipeline.models import Deal, Pipeline, Stage, StageEvent
from tests.clearance.helpers import build, deal_rows, dump, visible_events

pytestmark = pytest.mark.django_db

AT = datetime(2025, 6, 2, 10, 30, 15, 123456, tzinfo=timezone.utc)


@pytest.fixture
def world():
    return build()


def test_clear_to_lost_moves_to_the_lost_stage_with_event_and_audit(world):
    before_version = Deal.objects.get(external_id="D1").version
    (action,) = cs.clear(deals=["D1"], reason="gone quiet since March", by=world["rep"], at=AT)

    d1 = Deal.objects.select_related("stage").get(external_id="D1")
    assert (d1.stage.name, d1.status, d1.closed_at, d1.lost_reason) == ("Lost", "lost", AT, "timed out")
    assert d1.version == before_version + 1
    moves = list(StageEvent.objects.filter(deal=d1).order_by("at", "pk")
                 .values_list("from_stage__name", "to_stage__name", "at"))
    assert moves == [(None, "Qualify", datetime(2025, 1, 6, 9, tzinfo=timezone.utc)), ("Qualify", "Lost", AT)]
    last = StageEvent.objects.filter(deal=d1).latest("pk")
    assert action.after["stage_event_id"] == last.pk

    assert (action.kind, action.to, action.reason, action.by, action.at) == (
        "clear", "lost", "gone quiet since March", world["rep"], AT)
    assert action.before["deal"] == {"stage_id": world["stages"]["Qualify"].pk, "stage": "Qualify",
                                     "status": "open", "closed_at": None, "lost_reason": "",
                                     "version": before_version}
    entry = AuditEntry.objects.get(action="clearance.clear")
    assert (entry.by, entry.at, entry.reason, entry.object_id) == (world["rep"], AT, "gone quiet since March", "D1")
    assert Lead.objects.get(external_id="L2").status == "converted"  # to=lost leaves leads alone


def test_clear_to_nurture_puts_the_converted_lead_back(world):
    (action,) = cs.clear(deals=["D2"], reason="not ready, nurture", to="nurture", at=AT)
    d2 = Deal.objects.get(external_id="D2")
    assert (d2.status, d2.lost_reason) == ("lost", "back to nurture")
    assert Lead.objects.get(external_id="L2").status == "nurture"
    assert Lead.objects.get(external_id="L9").status == "engaged"
    lead = Lead.objects.get(external_id="L2")
    assert action.before["leads"] == [{"id": lead.pk, "lead_id": "L2", "status": "converted"}]
    assert action.after["leads"] == [{"id": lead.pk, "lead_id": "L2", "status": "nurture"}]


@pytest.mark.parametrize("to", ["lost", "nurture"])
def test_undo_of_clear_restores_every_field_and_voids_the_event(world, to):
    deals, leads, events = deal_rows(), list(Lead.objects.order_by("pk").values()), visible_events()
    version = Deal.objects.get(external_id="D2").version
    (action,) = cs.clear(deals=["D2"], reason="stale", to=to, at=AT)
    assert deal_rows() != deals

    undo = cs.undo(action=action.pk, reason="the buyer called back", at=AT + timedelta(hours=1))

    assert deal_rows() == deals
    assert list(Lead.objects.order_by("pk").values()) == leads
    assert visible_events() == events
    assert Deal.objects.get(external_id="D2").version == version + 2  # bumped by the clear and by the undo
    void = StageEventVoid.objects.get()
    assert (void.event_id, void.action) == (action.after["stage_event_id"], undo)
    assert StageEvent.objects.filter(pk=void.event_id).exists()  # voided, not deleted
    assert (undo.kind, undo.undoes, undo.reason) == ("undo", action, "the buyer called back")
    clear_entry, undo_entry = AuditEntry.objects.get(action="clearance.clear"), AuditEntry.objects.get(
        action="clearance.undo")
    assert undo_entry.undoes == clear_entry and undo_entry.at == AT + timedelta(hours=1)
    assert undo_entry.reason == "the buyer called back"


def test_undo_of_a_closed_then_cleared_deal_restores_closed_at_exactly(world):
    """A deal re-opened and closed again: restoring must keep microseconds and the offset."""
    (action,) = cs.clear(deals=["D1"], reason="stale", at=AT)
    after_clear = deal_rows()
    cs.undo(action=action, at=AT + timedelta(seconds=1))
    (again,) = cs.clear(deals=["D1"], reason="stale again", at=AT + timedelta(seconds=2))
    assert Deal.objects.get(external_id="D1").closed_at == AT + timedelta(seconds=2)
    cs.undo(action=again, at=AT + timedelta(seconds=3))
    assert Deal.objects.get(external_id="D1").closed_at is None
    assert after_clear[0]["closed_at"] == AT


def test_snooze_is_active_until_its_date_and_undo_ends_it(world):
    action = cs.snooze(deal="D1", until=date(2025, 7, 1), reason="budget in July", by=world["rep"], at=AT)
    assert set(cs.active_snoozes(date(2025, 6, 30))) == {"D1"}
    assert cs.active_snoozes(date(2025, 7, 1)) == {}  # listed again ON the until date
    entry = AuditEntry.objects.get(action="clearance.snooze")
    assert (entry.by, entry.at, entry.reason, entry.after["until"]) == (world["rep"], AT, "budget in July",
                                                                        "2025-07-01")
    cs.undo(action=action, by=world["rep"], at=AT)
    assert cs.active_snoozes(date(2025, 6, 30)) == {}
    assert AuditEntry.objects.get(action="clearance.undo").undoes == entry


def test_snooze_does_not_change_the_deal(world):
    before = dump()["deals"]
    cs.snooze(deal="D4", until=date(2025, 6, 3), reason="call on Tuesday", at=AT)
    assert dump()["deals"] == before


def test_the_latest_until_wins_between_two_snoozes(world):
    cs.snooze(deal="D1", until=date(2025, 9, 1), reason="later", at=AT)
    short = cs.snooze(deal="D1", until=date(2025, 7, 1), reason="sooner", at=AT)
    assert cs.active_snoozes(date(2025, 6, 10))["D1"].until == date(2025, 9, 1)
    assert set(cs.active_snoozes(date(2025, 8, 1))) == {"D1"}
    assert short.pk  # both are history


def _refused(call, param: str, *needles: str) -> None:
    before = dump()
    with pytest.raises(cs.ClearanceError) as info:
        call()
    assert info.value.param == param
    for needle in needles:
        assert needle in str(info.value)
    assert dump() == before


def test_refusals_name_the_parameter_and_change_nothing(world):
    _refused(lambda: cs.clear(deals=["D1", "NOPE"], reason="x", at=AT), "deals", "NOPE")
    _refused(lambda: cs.clear(deals=["D1", "D3"], reason="x", at=AT), "deals", "'D3' is won")
    _refused(lambda: cs.clear(deals=[], reason="x", at=AT), "deals")
    _refused(lambda: cs.clear(deals=["D1"], reason="   ", at=AT), "reason")
    _refused(lambda: cs.clear(deals=["D1"], reason="x", to="maybe", at=AT), "to", "maybe")
    _refused(lambda: cs.clear(deals=["D1"], reason="x", at=datetime(2024, 1, 1, tzinfo=timezone.utc)), "at", "D1")
    _refused(lambda: cs.snooze(deal="D1", until=AT.date(), reason="x", at=AT), "until", "2025-06-02")
    _refused(lambda: cs.snooze(deal="D3", until=date(2030, 1, 1), reason="x", at=AT), "deals", "D3")
    _refused(lambda: cs.snooze(deal="D1", until=date(2030, 1, 1), reason="", at=AT), "reason")
    _refused(lambda: cs.undo(action=999_999, at=AT), "action", "999999")
    _refused(lambda: cs.undo(action="abc", at=AT), "action", "abc")
    _refused(lambda: cs.undo_batch(batch="nope", at=AT), "batch", "nope")
    _refused(lambda: cs.apply(rows=[], at=AT), "rows")


def test_a_pipeline_without_a_lost_stage_is_named(world):
    p = Pipeline.objects.create(name="renewals")
    s = Stage.objects.create(pipeline=p, name="Open", position=1, kind="open")
    services.create_deal(external_id="R1", pipeline=p, stage=s, at=AT)
    _refused(lambda: cs.clear(deals=["D1", "R1"], reason="x", at=AT), "deals", "'renewals'", "lost")


def test_an_action_is_undone_once_and_an_undo_not_at_all(world):
    (action,) = cs.clear(deals=["D1"], reason="stale", at=AT)
    undo = cs.undo(action=action, at=AT)
    _refused(lambda: cs.undo(action=action.pk, at=AT), "action", "already undone", f"#{undo.pk}")
    _refused(lambda: cs.undo(action=undo.pk, at=AT), "action", "cannot itself be undone", "clear")


def test_undo_is_refused_when_the_deal_changed_since(world):
    (action,) = cs.clear(deals=["D1", "D2"], reason="stale", to="nurture", at=AT)[:1]
    services.move_deal(deal=Deal.objects.get(external_id="D1"), to_stage=world["stages"]["Proposal"],
                       at=AT + timedelta(days=1))
    _refused(lambda: cs.undo(action=action, at=AT), "action", "'D1'", "stage is now 'Proposal'")
    d2_action = ClearanceAction.objects.get(deal__external_id="D2")
    lead = Lead.objects.get(external_id="L2")
    lead.status = "engaged"
    lead.save()
    _refused(lambda: cs.undo(action=d2_action, at=AT), "action", "lead 'L2' is now 'engaged'")


def test_actions_and_voids_are_append_only(world):
    (action,) = cs.clear(deals=["D1"], reason="stale", at=AT)
    cs.undo(action=action, at=AT)
    with pytest.raises(AppendOnlyError):
        ClearanceAction.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        StageEventVoid.objects.update(action=None)
    action.reason = "rewritten"
    with pytest.raises(AppendOnlyError):
        action.save()


def test_batch_apply_is_all_or_nothing_and_undoes_as_one(world):
    rows = [{"deal_id": "D2", "reasons": [{"code": "no_touch", "text": "no touch for 120 days"}]},
            {"deal_id": "D1", "reasons": [{"code": "past_stage_best_by", "text": "in Qualify for 40 days"}]},
            {"deal_id": "D3", "reasons": []}]  # D3 is won: the whole batch is refused
    _refused(lambda: cs.apply(rows=rows, at=AT), "deals", "D3")

    deals, events = deal_rows(), visible_events()
    actions = cs.apply(rows=rows[:2], at=AT, by=world["rep"])
    assert [a.deal.external_id for a in actions] == ["D2", "D1"]
    assert len({a.batch for a in actions}) == 1 and actions[0].batch
    assert [a.reason for a in actions] == ["clearance list: no touch for 120 days",
                                           "clearance list: in Qualify for 40 days"]
    assert set(Deal.objects.filter(status="lost", lost_reason="timed out").values_list("external_id", flat=True)) \
        == {"D1", "D2"}

    undos = cs.undo_batch(batch=actions[0].batch, reason="wrong as-of", at=AT)
    assert [u.undoes for u in undos] == sorted(actions, key=lambda a: -a.pk)
    assert deal_rows() == deals and visible_events() == events
    _refused(lambda: cs.undo_batch(batch=actions[0].batch, at=AT), "batch", "already undone")


def test_apply_with_one_reason_for_all(world):
    actions = cs.apply(rows=[{"deal_id": "D4", "reasons": []}], reason="quarter-end clean-up", to="nurture", at=AT)
    assert [(a.reason, a.to) for a in actions] == [("quarter-end clean-up", "nurture")]
