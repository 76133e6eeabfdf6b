"""import → export → empty store → import the export → export again: the same bytes.

The first export of the hand folder is also checked against the files a
person writes by hand from HAND (workspace in UTC): FORMAT.md column order,
rows by id, timestamps with their offset, decimals with two places.
"""

from __future__ import annotations

import pytest

from bestby.importers.canonical import import_canonical
from bestby.people.models import User
from bestby.pipeline.models import Deal, StageEvent
from tests.importers.folders import HAND, write_folder
from tests.importers.test_canonical_helpers import export_bytes, flush_store, replace_line

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def utc(settings):
    """The expected exports below are written for a workspace in UTC."""
    settings.TIME_ZONE = "UTC"


EXPECTED_HAND_EXPORT = {
    "users.csv": (
        "user_id,name,email,role,manager_id,team,territory\n"
        "u-mgr,Max Manager,max@example.com,manager,,Alpha,North\n"
        "u-rep1,Rita Rep,rita@example.com,rep,u-mgr,Alpha,North\n"
    ),
    "stages.csv": (
        "pipeline,stage,position,kind,probability\n"
        "default,Qualify,1,open,0.1\n"
        "default,Proposal,2,open,0.5\n"
        "default,Won,3,won,1.0\n"
        "default,Lost,4,lost,0.0\n"
    ),
    "accounts.csv": (
        "account_id,name,sector,territory,employees,annual_revenue,parent_account_id,payment_terms_days,created_at\n"
        "a-acme,Acme,tech,North,500,25000000.00,,45,2023-06-01T09:00:00+00:00\n"
        "a-sub,Acme Sub,tech,North,50,1000000.50,a-acme,30,2024-01-01T00:00:00+00:00\n"
    ),
    "deals.csv": (
        "deal_id,pipeline,name,account_id,owner_id,amount,currency,created_at,stage,status,closed_at,close_date,lost_reason,source,product_id\n"
        "d1,default,Acme rollout,a-acme,u-rep1,12000.50,USD,2024-02-01T10:00:00+00:00,Proposal,open,,2024-05-31,,inbound,\n"
        "d2,default,Acme sub pilot,a-sub,u-rep1,3000.00,USD,2024-01-15T00:00:00+00:00,Won,won,2024-03-01T15:30:00+00:00,2024-03-01,,referral,\n"
        "d3,default,Cold one,,u-rep1,500.00,,2024-01-20T00:00:00+00:00,Lost,lost,2024-02-20T00:00:00+00:00,2024-02-28,no budget,,\n"
    ),
    "stage_events.csv": (
        "deal_id,at,to_stage,from_stage\n"
        "d1,2024-02-01T10:00:00+00:00,Qualify,\n"
        "d1,2024-03-10T10:00:00+00:00,Proposal,Qualify\n"
        "d2,2024-01-15T00:00:00+00:00,Qualify,\n"
        "d2,2024-03-01T15:30:00+00:00,Won,Qualify\n"
        "d3,2024-01-20T00:00:00+00:00,Qualify,\n"
        "d3,2024-02-20T00:00:00+00:00,Lost,Qualify\n"
    ),
    "close_date_events.csv": (
        "deal_id,at,new_close_date,old_close_date\n"
        "d1,2024-02-01T10:00:00+00:00,2024-04-30,\n"
        "d1,2024-04-29T08:00:00+00:00,2024-05-31,2024-04-30\n"
    ),
    "touches.csv": (
        "touch_id,at,channel,owner_id,direction,outcome,deal_id,lead_id,contact_id,account_id,duration_minutes,notes\n"
        't1,2024-02-02T09:00:00+00:00,phone,u-rep1,out,connected,d1,,,a-acme,15,"first call, went well"\n'
        "t2,2024-02-03T09:00:00+00:00,social,u-rep1,out,,d1,,,a-acme,,liked a post\n"
    ),
    "quotas.csv": (
        "owner_id,period_start,period_end,amount\n"
        "team:Alpha,2024-01-01,2024-03-31,120000.00\n"
        "u-rep1,2024-01-01,2024-03-31,50000.00\n"
    ),
}


def _round_trip(tmp_path, folder) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """Import ``folder``, export, flush, import the export, export again."""
    import_canonical(folder)
    first = export_bytes(tmp_path / "export-1")
    flush_store()
    assert Deal.objects.count() == 0 and StageEvent.objects.count() == 0
    import_canonical(tmp_path / "export-1")
    second = export_bytes(tmp_path / "export-2")
    return first, second


def test_hand_folder_round_trip_is_byte_identical(tmp_path):
    first, second = _round_trip(tmp_path, write_folder(tmp_path / "in"))
    assert first == {k: v.encode() for k, v in EXPECTED_HAND_EXPORT.items()}
    assert second == first


# The hand folder with unknown columns: two on deals (one with a space and a
# capital, so it sorts first), one on users and one on stage_events; values
# with a comma, a quote and a newline; some cells empty.
def _with_custom_columns() -> dict[str, str]:
    files = dict(HAND)
    deals = HAND["deals.csv"].splitlines()
    deals[0] += ",region,Legacy Score"
    deals[1] += ',"EMEA, north",7'
    deals[2] += ',,"multi\nline ""quoted"""'
    deals[3] += ",APAC,"
    files["deals.csv"] = "\n".join(deals) + "\n"
    users = HAND["users.csv"].splitlines()
    users[0] += ",slack"
    users[1] += ",@rita"
    users[2] += ","
    files["users.csv"] = "\n".join(users) + "\n"
    events = HAND["stage_events.csv"].splitlines()
    events[0] = "source_system," + events[0]  # first, to show column order does not matter
    events[1:] = ["crm-x," + e for e in events[1:]]
    events[3] = "," + events[3][len("crm-x,"):]  # d2's entry has none
    files["stage_events.csv"] = "\n".join(events) + "\n"
    return files


def test_round_trip_with_unknown_custom_columns_is_byte_identical(tmp_path):
    folder = write_folder(tmp_path / "in", _with_custom_columns())
    report = import_canonical(folder)
    # reported once per file, as written in the header
    assert [n for n in report.notes if "unknown columns" in n] == [
        "users.csv: kept unknown columns as custom fields: slack",
        "deals.csv: kept unknown columns as custom fields: region, Legacy Score",
        "stage_events.csv: kept unknown columns as custom fields: source_system",
    ]
    assert Deal.objects.get(external_id="d1").custom == {"region": "EMEA, north", "Legacy Score": "7"}
    assert Deal.objects.get(external_id="d2").custom == {"Legacy Score": 'multi\nline "quoted"'}
    assert Deal.objects.get(external_id="d3").custom == {"region": "APAC"}
    assert User.objects.get(external_id="u-mgr").custom == {}
    assert User.objects.get(external_id="u-rep1").custom == {"slack": "@rita"}
    assert StageEvent.objects.filter(custom={"source_system": "crm-x"}).count() == 5

    flush_store()
    first, second = _round_trip(tmp_path, folder)
    assert second == first
    # the custom columns follow the FORMAT.md columns, sorted by name ("L" < "r")
    expected_deals = EXPECTED_HAND_EXPORT["deals.csv"].splitlines()
    expected_deals[0] += ",Legacy Score,region"
    expected_deals[1] += ',7,"EMEA, north"'
    expected_deals[2] += ',"multi\nline ""quoted""",'
    expected_deals[3] += ",,APAC"
    assert first["deals.csv"].decode() == "\n".join(expected_deals) + "\n"
    assert first["users.csv"].decode().splitlines()[0] == "user_id,name,email,role,manager_id,team,territory,slack"
    assert first["stage_events.csv"].decode().splitlines()[:4] == [
        "deal_id,at,to_stage,from_stage,source_system",
        "d1,2024-02-01T10:00:00+00:00,Qualify,,crm-x",
        "d1,2024-03-10T10:00:00+00:00,Proposal,Qualify,crm-x",
        "d2,2024-01-15T00:00:00+00:00,Qualify,,",
    ]
    # importing the export over the store it came from changes nothing
    report = import_canonical(tmp_path / "export-1")
    assert all(c.created == 0 and c.updated == 0 for c in report.files.values())


def test_round_trip_keeps_history_recorded_by_an_import(tmp_path):
    """Events appended automatically (at "now", with microseconds) survive the round trip."""
    import_canonical(write_folder(tmp_path / "in"))
    deals = replace_line(HAND["deals.csv"], "Proposal,open,,2024-05-31,", "Qualify,open,,2024-06-30,")
    import_canonical(write_folder(tmp_path / "moved", {"deals.csv": deals}))
    assert StageEvent.objects.count() == 7
    first = export_bytes(tmp_path / "export-1")
    events = first["stage_events.csv"].decode().splitlines()
    assert events[0] == "deal_id,at,to_stage,from_stage,recorded_by"
    assert events[3].startswith("d1,") and events[3].endswith(",Qualify,Proposal,import")
    flush_store()
    import_canonical(tmp_path / "export-1")
    assert export_bytes(tmp_path / "export-2") == first


def test_round_trip_in_a_workspace_west_of_utc(tmp_path, settings):
    """Naive timestamps and bare dates are New York time, written back with their offset (DST included)."""
    settings.TIME_ZONE = "America/New_York"
    first, second = _round_trip(tmp_path, write_folder(tmp_path / "in"))
    assert second == first
    assert first["deals.csv"].decode().splitlines()[1:] == [
        "d1,default,Acme rollout,a-acme,u-rep1,12000.50,USD,2024-02-01T10:00:00-05:00,Proposal,open,,2024-05-31,,inbound,",
        # 16:30 at +01:00 is 15:30 UTC, 10:30 in New York (EST, -05:00)
        "d2,default,Acme sub pilot,a-sub,u-rep1,3000.00,USD,2024-01-15T00:00:00-05:00,Won,won,2024-03-01T10:30:00-05:00,2024-03-01,,referral,",
        "d3,default,Cold one,,u-rep1,500.00,,2024-01-20T00:00:00-05:00,Lost,lost,2024-02-20T00:00:00-05:00,2024-02-28,no budget,,",
    ]
    assert first["stage_events.csv"].decode().splitlines()[1:3] == [
        "d1,2024-02-01T10:00:00-05:00,Qualify,",
        # 2024-03-10 is the first day of daylight saving time in New York (-04:00 from 03:00)
        "d1,2024-03-10T10:00:00-04:00,Proposal,Qualify",
    ]
    d2 = Deal.objects.get(external_id="d2")
    assert d2.created_at.isoformat() == "2024-01-15T05:00:00+00:00"
