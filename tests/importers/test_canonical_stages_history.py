"""Stages derived when there is no stages file; history that writes itself and never changes."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from bestby.audit.models import AuditEntry
from bestby.history import AppendOnlyError
from bestby.importers.canonical import import_canonical
from bestby.people.models import User
from bestby.pipeline.models import CloseDateEvent, Deal, Pipeline, Stage, StageEvent
from tests.importers.folders import HAND, write_folder
from tests.importers.test_canonical_helpers import replace_line

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def utc(settings):
    """Naive timestamps below are compared as UTC: a workspace in UTC."""
    settings.TIME_ZONE = "UTC"


def stages() -> list[tuple]:
    return list(Stage.objects.order_by("pipeline__name", "position").values_list(
        "pipeline__name", "name", "position", "kind", "probability"))


# -- derived stages ------------------------------------------------------------------


def test_hand_folder_without_stages_file_derives_its_stages(tmp_path):
    report = import_canonical(write_folder(tmp_path / "in", stages=None))
    # first appearance in stage_events (from, then to, row by row): Qualify,
    # Proposal, Won, Lost; Won holds only won deals, Lost only lost ones
    assert stages() == [
        ("default", "Qualify", 1, "open", None),
        ("default", "Proposal", 2, "open", None),
        ("default", "Won", 3, "won", None),
        ("default", "Lost", 4, "lost", None),
    ]
    assert "no stages file: pipeline 'default' got the stages seen in the data: " \
           "Qualify (open), Proposal (open), Won (won), Lost (lost)" in report.notes
    assert report.files["deals"].created == 3 and report.files["stage_events"].created == 6
    assert Deal.objects.get(external_id="d2").stage.kind == "won"
    # a second import derives nothing new and says nothing about it
    report = import_canonical(tmp_path / "in")
    assert not [n for n in report.notes if n.startswith("no stages file")]
    assert len(stages()) == 4


# Stage names that do not say won or lost, a closed stage seen first, and a
# stage no deal sits in: first appearance is Discovery, Signed, Dropped, Lost, Demo.
# Signed holds only won deals (won), Dropped only lost ones (lost), Lost holds
# none and says "lost" (lost), Discovery holds none and says nothing (open),
# Demo holds an open deal (open). Open stages first, then won/lost in order of
# appearance: Discovery 1, Demo 2, Signed 3, Dropped 4, Lost 5.
DERIVE_DEALS = (
    "deal_id,created_at,stage,status,closed_at\n"
    "dA,2024-01-01,Signed,won,2024-02-01\n"
    "dB,2024-01-02,Dropped,lost,2024-02-02\n"
    "dC,2024-01-03,Demo,,\n"
)
DERIVE_EVENTS = (
    "deal_id,at,to_stage,from_stage\n"
    "dA,2024-01-01,Discovery,\n"
    "dA,2024-02-01,Signed,Discovery\n"
    "dB,2024-01-02,Discovery,\n"
    "dB,2024-02-02,Dropped,Discovery\n"
    "dC,2024-01-03,Discovery,\n"
    "dC,2024-01-10,Lost,Discovery\n"
    "dC,2024-01-20,Demo,Lost\n"
)


def test_derived_stage_kinds_come_from_the_deals_in_them_or_their_names(tmp_path):
    folder = write_folder(tmp_path / "in", {"deals.csv": DERIVE_DEALS, "stage_events.csv": DERIVE_EVENTS})
    report = import_canonical(folder)
    assert stages() == [
        ("default", "Discovery", 1, "open", None),
        ("default", "Demo", 2, "open", None),
        ("default", "Signed", 3, "won", None),
        ("default", "Dropped", 4, "lost", None),
        ("default", "Lost", 5, "lost", None),
    ]
    assert "no stages file: pipeline 'default' got the stages seen in the data: " \
           "Discovery (open), Demo (open), Signed (won), Dropped (lost), Lost (lost)" in report.notes
    assert "pipeline 'default' created" in report.notes
    # an empty status is the stage's kind
    assert Deal.objects.get(external_id="dC").status == "open"


def test_derived_stages_without_events_and_per_pipeline(tmp_path):
    deals = (
        "deal_id,pipeline,created_at,stage,status,closed_at\n"
        "n1,new business,2024-01-01,Intro,open,\n"
        "n2,new business,2024-01-01,Closed Won,won,2024-02-01\n"
        "n3,new business,2024-01-01,Pitch,open,\n"
        "r1,renewals,2024-01-01,Renewal due,open,\n"
        "r2,renewals,2024-01-01,Churned,lost,2024-03-01\n"
    )
    report = import_canonical(write_folder(tmp_path / "in", {"deals.csv": deals}))
    assert stages() == [
        ("new business", "Intro", 1, "open", None),
        ("new business", "Pitch", 2, "open", None),
        ("new business", "Closed Won", 3, "won", None),
        ("renewals", "Renewal due", 1, "open", None),
        ("renewals", "Churned", 2, "lost", None),
    ]
    assert sorted(Pipeline.objects.values_list("name", flat=True)) == ["new business", "renewals"]
    notes = [n for n in report.notes if n.startswith("no stages file")]
    assert notes == [
        "no stages file: pipeline 'new business' got the stages seen in the data: Intro (open), Pitch (open), Closed Won (won)",
        "no stages file: pipeline 'renewals' got the stages seen in the data: Renewal due (open), Churned (lost)",
    ]
    assert "5 deals have no stage events; analyses will take created_at as their entry into their current stage" in report.notes


def test_a_new_stage_without_stages_file_is_added_to_the_stored_pipeline(tmp_path):
    import_canonical(write_folder(tmp_path / "in"))
    deals = replace_line(HAND["deals.csv"], "Proposal,open,", "Negotiation,open,")
    report = import_canonical(write_folder(tmp_path / "more", {"deals.csv": deals}))
    # stored stages untouched, the new one after them
    assert stages() == [
        ("default", "Qualify", 1, "open", 0.1),
        ("default", "Proposal", 2, "open", 0.5),
        ("default", "Won", 3, "won", 1.0),
        ("default", "Lost", 4, "lost", 0.0),
        ("default", "Negotiation", 5, "open", None),
    ]
    assert "no stages file: pipeline 'default' got the stages seen in the data: Negotiation (open)" in report.notes


# -- automatic, append-only history -------------------------------------------------------

# d1 moves from Proposal to Won (closed 2024-06-15 noon) and its expected close
# date moves from 2024-05-31 to 2024-06-15; no event says so.
MOVED_DEALS = replace_line(HAND["deals.csv"], "Proposal,open,,2024-05-31,", "Won,won,2024-06-15T12:00:00,2024-06-15,")


def _events():
    return (list(StageEvent.objects.order_by("id").values()), list(CloseDateEvent.objects.order_by("id").values()))


@pytest.mark.parametrize("whole_folder", [False, True], ids=["deals-only", "whole-folder"])
def test_a_stage_and_close_date_change_without_events_appends_one_of_each(tmp_path, whole_folder, frozen_clock):
    import_canonical(write_folder(tmp_path / "in"))
    stage_before, close_before = _events()
    assert len(stage_before) == 6 and len(close_before) == 2
    manager = User.objects.get(external_id="u-mgr")

    folder = write_folder(tmp_path / "moved", None if whole_folder else {}, **{"deals.csv": MOVED_DEALS})
    now = frozen_clock(datetime(2024, 7, 1, 9, 30, tzinfo=timezone.utc))  # "as of now": the clock's instant
    report = import_canonical(folder, by=manager)
    assert (report.files["deals"].updated, report.files["deals"].unchanged) == (1, 2)
    if whole_folder:
        assert (report.files["stage_events"].created, report.files["stage_events"].unchanged) == (0, 6)
        assert (report.files["close_date_events"].created, report.files["close_date_events"].unchanged) == (0, 2)
    assert "1 stage changes had no event in the import; recorded them as of now" in report.notes
    assert "1 close-date changes had no event in the import; recorded them as of now" in report.notes

    stage_after, close_after = _events()
    # what was stored is untouched, and exactly one event of each kind follows
    assert stage_after[:6] == stage_before and close_after[:2] == close_before
    assert len(stage_after) == 7 and len(close_after) == 3
    d1 = Deal.objects.get(external_id="d1")
    new_stage = StageEvent.objects.get(pk=stage_after[6]["id"])
    assert (new_stage.deal_id, new_stage.from_stage.name, new_stage.to_stage.name) == (d1.pk, "Proposal", "Won")
    assert (new_stage.by, new_stage.custom) == (manager, {"recorded_by": "import"})
    assert new_stage.at == now
    new_close = CloseDateEvent.objects.get(pk=close_after[2]["id"])
    assert (new_close.deal_id, new_close.old_close_date, new_close.new_close_date) == (d1.pk, date(2024, 5, 31), date(2024, 6, 15))
    assert (new_close.by, new_close.custom) == (manager, {"recorded_by": "import"})
    assert new_close.at == now
    assert (d1.stage.name, d1.status, d1.close_date) == ("Won", "won", date(2024, 6, 15))

    # importing the same files again: nothing changed, nothing appended
    report = import_canonical(folder)
    assert (report.files["deals"].updated, report.files["deals"].unchanged) == (0, 3)
    assert _events() == (stage_after, close_after)
    assert not [n for n in report.notes if "had no event" in n]


def test_a_change_that_brings_its_events_appends_only_those(tmp_path):
    import_canonical(write_folder(tmp_path / "in"))
    stage_before, close_before = _events()
    report = import_canonical(write_folder(
        tmp_path / "moved",
        {
            "deals.csv": MOVED_DEALS,
            "stage_events.csv": HAND["stage_events.csv"] + "d1,2024-06-15T12:00:00,Won,Proposal\n",
            "close_date_events.csv": HAND["close_date_events.csv"] + "d1,2024-06-01T09:00:00,2024-06-15,2024-05-31\n",
        },
    ))
    assert (report.files["stage_events"].created, report.files["stage_events"].unchanged) == (1, 6)
    assert (report.files["close_date_events"].created, report.files["close_date_events"].unchanged) == (1, 2)
    assert not [n for n in report.notes if "had no event" in n]
    stage_after, close_after = _events()
    assert stage_after[:6] == stage_before and close_after[:2] == close_before
    assert len(stage_after) == 7 and len(close_after) == 3
    assert stage_after[6]["at"] == datetime(2024, 6, 15, 12, tzinfo=timezone.utc) and stage_after[6]["custom"] == {}
    assert close_after[2]["at"] == datetime(2024, 6, 1, 9, tzinfo=timezone.utc)


def test_a_close_date_change_alone_appends_only_a_close_date_event(tmp_path):
    import_canonical(write_folder(tmp_path / "in"))
    deals = replace_line(HAND["deals.csv"], "Proposal,open,,2024-05-31,", "Proposal,open,,2024-07-31,")
    report = import_canonical(write_folder(tmp_path / "later", {"deals.csv": deals}))
    assert report.files["deals"].updated == 1
    assert StageEvent.objects.count() == 6
    assert list(CloseDateEvent.objects.order_by("id").values_list("old_close_date", "new_close_date"))[-1] == (
        date(2024, 5, 31), date(2024, 7, 31))
    assert CloseDateEvent.objects.count() == 3


@pytest.mark.parametrize("model", [StageEvent, CloseDateEvent, AuditEntry])
def test_history_refuses_update_and_delete(tmp_path, model):
    import_canonical(write_folder(tmp_path / "in"))
    before = list(model.objects.order_by("id").values())
    assert before
    some = model.objects.filter(pk=before[0]["id"])
    with pytest.raises(AppendOnlyError):
        some.update(at=datetime(2000, 1, 1, tzinfo=timezone.utc))
    with pytest.raises(AppendOnlyError):
        some.delete()
    with pytest.raises(AppendOnlyError):
        model.objects.all().delete()
    row = some.get()
    row.at = datetime(2000, 1, 1, tzinfo=timezone.utc)
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.delete()
    assert list(model.objects.order_by("id").values()) == before


def test_stage_events_of_a_deal_filter_update_raises(tmp_path):
    """The exact spelling of the requirement: StageEvent.objects.filter(...).update(...) / .delete()."""
    import_canonical(write_folder(tmp_path / "in"))
    qualify = Stage.objects.get(name="Qualify")
    with pytest.raises(AppendOnlyError):
        StageEvent.objects.filter(deal__external_id="d1").update(to_stage=qualify)
    with pytest.raises(AppendOnlyError):
        StageEvent.objects.filter(deal__external_id="d1").delete()
    assert list(StageEvent.objects.filter(deal__external_id="d1").order_by("at").values_list("to_stage__name", flat=True)) == [
        "Qualify", "Proposal"]
