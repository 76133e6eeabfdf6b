"""`bestby import salesforce`: a hand-written export, the Preppin' Data export, re-imports, bad input."""

from __future__ import annotations

import csv
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from bestby.accounts.models import Account, Contact
from bestby.activities.models import Lead, Touch
from bestby.importers.crm import salesforce
from bestby.importers.crm.dates import Dates
from bestby.importers.crm.run import import_mapped
from bestby.importers.problems import ImportFailed
from bestby.people.models import User
from bestby.pipeline.models import CloseDateEvent, Deal, StageEvent
from tests.conftest import SHARED_DATA
from tests.importers.crm.salesforce_export import EXPECTED_CREATED, EXPECTED_FINDINGS, FILES, write_export

pytestmark = pytest.mark.django_db
UTC = timezone.utc


def run(folder, dry_run=False, order=None):
    out, findings = salesforce.map_export(folder, Dates(order))
    return import_mapped(out, findings, source="salesforce:test", label="test", dry_run=dry_run)


def counts():
    return {"deals": Deal.objects.count(), "stage_events": StageEvent.objects.count(),
            "close_date_events": CloseDateEvent.objects.count(), "touches": Touch.objects.count(),
            "users": User.objects.count(), "accounts": Account.objects.count(), "contacts": Contact.objects.count(),
            "leads": Lead.objects.count()}


def test_hand_export_counts_and_findings(tmp_path):
    report = run(write_export(tmp_path / "sf"))
    assert {k: v.created for k, v in report.files.items()} == EXPECTED_CREATED
    assert {f["code"]: f["count"] for f in report.unmapped} == EXPECTED_FINDINGS
    skipped = {f["code"] for f in report.unmapped if f["action"] == "skipped"}
    assert skipped == {"deleted", "deal_stage_unknown", "history_repeat", "history_before_deal", "history_deal_skipped",
                       "history_deal_missing", "field_history_other", "field_history_stage_dup", "role_contact_missing",
                       "role_deal_missing", "task_not_done", "touch_deal_missing", "touch_unlinked", "event_not_yet"}


def test_hand_export_values(tmp_path):
    report = run(write_export(tmp_path / "sf"))
    a = Deal.objects.get(external_id="006A")
    assert a.stage.name == "Proposal/Price Quote" and a.status == "open" and a.amount == Decimal("12000.50")
    assert a.currency == "EUR" and a.close_date == date(2024, 6, 30) and a.owner.external_id == "005A"
    assert a.account.external_id == "001P" and a.source == "Web" and a.custom == {"Type": "New Business"}
    assert [(e.at, e.to_stage.name, e.from_stage.name if e.from_stage else None)
            for e in StageEvent.objects.filter(deal=a).order_by("at")] == [
        (datetime(2024, 1, 10, 9, tzinfo=UTC), "Prospecting", None),
        (datetime(2024, 1, 20, 9, tzinfo=UTC), "Qualification", "Prospecting"),
        (datetime(2024, 3, 1, 10, tzinfo=UTC), "Proposal/Price Quote", "Qualification")]
    assert [(e.at, e.old_close_date, e.new_close_date) for e in CloseDateEvent.objects.filter(deal=a).order_by("at")] == [
        (datetime(2024, 2, 20, 12, tzinfo=UTC), date(2024, 5, 31), date(2024, 6, 15)),
        (datetime(2024, 3, 1, 10, tzinfo=UTC), date(2024, 6, 15), date(2024, 6, 30))]
    b = Deal.objects.get(external_id="006B")
    # closed when the history recorded the move into Closed Won, not on the CloseDate typed in
    assert b.status == "won" and b.closed_at == datetime(2024, 4, 10, 15, tzinfo=UTC) and b.close_date == date(2024, 4, 15)
    c = Deal.objects.get(external_id="006C")
    assert c.status == "lost" and c.lost_reason == "No budget" and c.closed_at == datetime(2024, 5, 21, 8, tzinfo=UTC)
    assert StageEvent.objects.filter(deal=c).order_by("at").first().at == datetime(2024, 2, 15, 9, tzinfo=UTC)
    d = Deal.objects.get(external_id="006D")
    assert d.status == "open" and d.owner.external_id == "005Z" and d.account.external_id == "001Y"
    assert User.objects.get(external_id="005Z").name == "005Z"
    assert {u.external_id: u.role for u in User.objects.all()} == {"005M": "manager", "005A": "rep", "005B": "rep", "005Z": "rep"}
    assert User.objects.get(external_id="005A").manager.external_id == "005M"
    assert User.objects.get(external_id="005B").manager is None
    assert Account.objects.get(external_id="001C").parent.external_id == "001P"
    assert Account.objects.get(external_id="001Z").parent is None
    assert {x.external_id: x.buying_role for x in Contact.objects.all()} == {"003A": "decision_maker", "003B": "user", "003C": None} or \
        {x.external_id: x.buying_role for x in Contact.objects.all()} == {"003A": "decision_maker", "003B": "user", "003C": ""}
    leads = {x.external_id: (x.source, x.status, x.owner_id is None, x.converted_deal.external_id if x.converted_deal else None)
             for x in Lead.objects.all()}
    # "Working - Contacted" maps to in_cadence, but no cadence runs here for 00Q1: kept live as new, and said so
    assert leads == {"00Q1": ("prospecting", "new", False, None), "00Q2": ("inbound", "converted", True, "006B")}
    assert "1 lead marked in_cadence has no cadence here (00Q1): kept as new; enrol them" in " ".join(report.notes)
    touches = {t.external_id: (t.channel, t.direction, t.outcome or None, t.duration_minutes,
                               t.deal.external_id if t.deal else None, t.account.external_id if t.account else None,
                               t.contact.external_id if t.contact else None, t.lead.external_id if t.lead else None)
               for t in Touch.objects.all()}
    assert touches == {
        "00T1": ("phone", "out", "connected", 2, "006A", "001P", "003A", None),        # 125 s -> 2 min
        "00T2": ("voicemail", "out", "voicemail_left", 0, "006A", "001P", "003A", None),  # 30 s rounds to 0
        "00T3": ("email", "out", None, None, "006B", "001C", "003B", None),
        "00T6": ("phone", "in", "connected", 1, None, None, None, "00Q1"),
        "00T8": ("phone", "out", None, None, None, None, "003C", None),
        "00U1": ("meeting", "out", None, 60, "006A", "001P", "003A", None),
    }
    assert Touch.objects.get(external_id="00T2").at == datetime(2024, 2, 7, tzinfo=UTC)  # ActivityDate, no completion time


def test_reimport_is_idempotent_and_a_newer_export_updates(tmp_path):
    folder = write_export(tmp_path / "sf")
    run(folder)
    again = run(folder)
    assert all(c.created == 0 and c.updated == 0 for c in again.files.values())
    newer = {k: list(v) for k, v in FILES.items()}
    newer["Opportunity"][1] = newer["Opportunity"][1].replace("Proposal/Price Quote,false,false,2024-06-30",
                                                              "Closed Won,true,true,2024-06-28")
    newer["OpportunityHistory"].append("0093,006A,2024-06-28T16:00:00.000Z,Closed Won,12000.50,2024-06-28,false")
    newer["Task"].append("00T11,003A,006A,,005A,Call to close,Completed,true,2024-06-27,,,Call,Call,Outbound,600,Connected,false")
    report = run(write_export(tmp_path / "sf2", newer))
    files = {k: (v.created, v.updated) for k, v in report.files.items()}
    assert files["deals"] == (0, 1) and files["stage_events"] == (1, 0) and files["touches"] == (1, 0)
    # the history's CloseDate change 06-30 -> 06-28 is no event: 006A's close dates come from its field history
    assert files["close_date_events"] == (0, 0)
    a = Deal.objects.get(external_id="006A")
    assert a.status == "won" and a.closed_at == datetime(2024, 6, 28, 16, tzinfo=UTC)
    assert StageEvent.objects.filter(deal=a).count() == 4


def test_dry_run_writes_nothing(tmp_path):
    before = counts()
    report = run(write_export(tmp_path / "sf"), dry_run=True)
    assert report.dry_run and report.files["deals"].created == 4
    assert counts() == before


def test_users_are_matched_by_email_and_keep_their_role(tmp_path):
    User.objects.create(username="alex", email="Alex@Example.com", external_id="u-alex", role="admin")
    report = run(write_export(tmp_path / "sf"))
    assert {f["code"]: f["count"] for f in report.unmapped}["users_matched_by_email"] == 1
    assert Deal.objects.get(external_id="006A").owner.external_id == "u-alex"
    alex = User.objects.get(external_id="u-alex")
    assert alex.role == "admin" and alex.manager.external_id == "005M"
    assert not User.objects.filter(external_id="005A").exists()


def test_bad_date_is_refused_with_file_line_and_column(tmp_path):
    files = {k: list(v) for k, v in FILES.items()}
    files["Opportunity"][3] = files["Opportunity"][3].replace("2024-02-15T09:00:00.000Z", "yesterday")
    before = counts()
    with pytest.raises(ImportFailed) as exc:
        run(write_export(tmp_path / "sf", files))
    assert [str(p) for p in exc.value.problems] == [
        "Opportunity.csv, line 4, column CreatedDate: 'yesterday' is not a date bestby reads; expected YYYY-MM-DD "
        "(optionally with a time)"]
    assert counts() == before


def test_problem_found_by_the_canonical_path_names_the_source(tmp_path):
    files = {k: list(v) for k, v in FILES.items()}
    files["Opportunity"][2] = files["Opportunity"][2].replace(",EUR,", ",EURO,")   # the store holds 3 letters
    before = counts()
    with pytest.raises(ImportFailed) as exc:
        run(write_export(tmp_path / "sf", files))
    [problem] = exc.value.problems
    assert (problem.file, problem.line, problem.column) == ("Opportunity.csv", 3, "CurrencyIsoCode")
    assert counts() == before


def test_missing_opportunity_file_is_refused(tmp_path):
    folder = write_export(tmp_path / "sf", {"Account": FILES["Account"]})
    with pytest.raises(ImportFailed) as exc:
        run(folder)
    assert "has no Opportunity.csv" in str(exc.value)


# -- the Preppin' Data export (SOURCE.md: DD/MM/YYYY dates, BOM, contradictory flags, noisy history) --------
PREPPIN = SHARED_DATA / "preppin-data-2022w23-salesforce-opportunities"


def _dmy(text: str) -> datetime:
    day, month, year = text.split(" ")[0].split("/")
    return datetime(int(year), int(month), int(day))


def _preppin_reference():
    """Counts worked out from the raw CSV with the documented rules, independently of the importer."""
    with open(PREPPIN / "Opportunity.csv", newline="", encoding="utf-8") as fh:
        opps = list(csv.DictReader(fh))
    with open(PREPPIN / "Opportunity History.csv", newline="", encoding="utf-8-sig") as fh:
        hist = list(csv.DictReader(fh))
    created = {o["Id"]: _dmy(o["CreatedDate"]) for o in opps}
    current = {o["Id"]: o["StageName"] for o in opps}
    by_opp: dict[str, list] = {}
    for n, h in enumerate(hist):
        by_opp.setdefault(h["OppID"], []).append((_dmy(h["CreatedDate"]), n, h["StageName"]))
    events = before = repeats = ends_elsewhere = no_history = no_history_open = 0
    for oid, rows in by_opp.items():
        last = None
        kept = 0
        for at, _, stage in sorted(rows):
            if at < created[oid]:
                before += 1
            elif stage == last:
                repeats += 1
            else:
                kept += 1
                last = stage
        if kept == 0:
            if current[oid].startswith("Closed"):
                no_history += 1
                kept = 2    # entry at creation, close at closing
            else:
                no_history_open += 1
                kept = 0    # no event is justified
        elif last != current[oid]:
            # closed deals get a move at their close; open ones have no LastStageChangeDate to place it
            ends_elsewhere += 1
            kept += 1 if current[oid].startswith("Closed") else 0
        events += kept
    flags = sum(1 for o in opps if (o["IsClosed"] == "TRUE") != o["StageName"].startswith("Closed")
                or (o["IsWon"] == "TRUE") != (o["StageName"] == "Closed Won"))
    return {"deals": len(opps), "events": events, "before": before, "repeats": repeats, "flags": flags,
            "ends": ends_elsewhere, "no_history": no_history, "no_history_open": no_history_open, "owners": len({o["OwnerId"] for o in opps}),
            "accounts": len({o["AccountId"] for o in opps})}


def test_preppin_export_imports_with_every_quirk_reported():
    ref = _preppin_reference()
    # figures published in SOURCE.md
    assert (ref["deals"], ref["before"], ref["owners"], ref["accounts"]) == (219, 43, 26, 118)
    report = run(PREPPIN)
    created = {k: v.created for k, v in report.files.items()}
    assert created["deals"] == 219 and created["stage_events"] == ref["events"]
    assert created["users"] == 26 and created["accounts"] == 118 and created["stages"] == 6
    found = {f["code"]: f["count"] for f in report.unmapped}
    assert found["history_before_deal"] == 43
    assert found["history_repeat"] == ref["repeats"]
    assert found["flags_contradict_stage"] == ref["flags"]
    assert found.get("history_ends_elsewhere", 0) == ref["ends"]
    assert found.get("no_history", 0) == ref["no_history"]
    assert found.get("no_history_open", 0) == ref["no_history_open"]
    assert found["owner_placeholder"] == 26 and found["account_placeholder"] == 118
    # day-first dates were detected: 14/03/2022 is 14 March
    assert Deal.objects.get(external_id="0068d000002OrZqAAK").created_at.date() == date(2022, 3, 14)
    by_status = {s: Deal.objects.filter(status=s).count() for s in ("open", "won", "lost")}
    assert by_status == {"won": 89, "lost": 57, "open": 219 - 89 - 57}   # SOURCE.md stage counts


def test_preppin_month_first_is_refused_where_a_day_is_above_12(tmp_path):
    with pytest.raises(ImportFailed) as exc:
        run(PREPPIN, order="mdy")
    first = exc.value.problems[0]
    assert first.file in ("Opportunity.csv", "Opportunity History.csv") and first.line is not None
    assert "MM/DD/YYYY" in first.message
