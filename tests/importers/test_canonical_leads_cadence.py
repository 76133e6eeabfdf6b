"""A lead is never ``in_cadence`` without a running cadence here, whatever an import says.

FORMAT.md carries no enrolments: an imported lead marked ``in_cadence`` with no
running enrolment in the store is kept as ``new`` and counted in the report; a
lead that is in a running cadence here stays ``in_cadence``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bestby.activities.models import Lead
from bestby.cadences import services
from bestby.cadences.models import Enrollment
from bestby.importers.canonical import import_canonical
from tests.importers.folders import HAND, write_folder
from tests.importers.test_canonical_helpers import export_bytes, flush_store

pytestmark = pytest.mark.django_db

LEADS = (
    "lead_id,name,company,email,phone,owner_id,source,created_at,status,converted_deal_id\n"
    "l1,Lee Lead,Leeco,,,u-rep1,inbound,2024-01-05,in_cadence,\n"
    "l2,Lin,Linco,,,u-rep1,prospecting,2024-02-05,in_cadence,\n"
    "l3,Lou,Louco,,,u-rep1,prospecting,2024-02-06,nurture,\n"
)


@pytest.fixture(autouse=True)
def utc(settings):
    settings.TIME_ZONE = "UTC"


def folder(tmp_path, name="in", leads=LEADS):
    return write_folder(tmp_path / name, {**HAND, "leads.csv": leads})


def statuses() -> dict[str, str]:
    return dict(Lead.objects.values_list("external_id", "status"))


def test_in_cadence_without_a_cadence_here_is_kept_as_new_and_reported(tmp_path):
    report = import_canonical(folder(tmp_path))
    assert statuses() == {"l1": "new", "l2": "new", "l3": "nurture"}
    assert "2 leads marked in_cadence have no cadence here (l1, l2): kept as new; enrol them " \
           "(`bestby cadence enrol`, or the Cadences page)" in report.notes
    # the same files again: nothing to change, and still said
    again = import_canonical(folder(tmp_path))
    assert (again.files["leads"].created, again.files["leads"].updated, again.files["leads"].unchanged) == (0, 0, 3)
    assert any("2 leads marked in_cadence" in n for n in again.notes)


def test_a_lead_in_a_running_cadence_stays_in_cadence(tmp_path, frozen_clock):
    frozen_clock(datetime(2024, 3, 4, 9, tzinfo=UTC))
    leads = LEADS.replace("in_cadence", "new")
    import_canonical(folder(tmp_path, leads=leads))
    services.enrol(leads=[Lead.objects.get(external_id="l1")], start=date(2024, 3, 4))
    report = import_canonical(folder(tmp_path, "again"))  # the CRM says both are in a cadence
    assert statuses() == {"l1": "in_cadence", "l2": "new", "l3": "nurture"}
    assert "1 lead marked in_cadence has no cadence here (l2): kept as new; enrol them " \
           "(`bestby cadence enrol`, or the Cadences page)" in report.notes
    assert report.files["leads"].updated == 0
    assert set(Enrollment.objects.filter(status="active").values_list("lead__external_id", flat=True)) == {"l1"}


def test_export_of_a_lead_in_a_cadence_reimports_unchanged(tmp_path, frozen_clock):
    frozen_clock(datetime(2024, 3, 4, 9, tzinfo=UTC))
    import_canonical(folder(tmp_path, leads=LEADS.replace("in_cadence", "new")))
    services.enrol(leads=[Lead.objects.get(external_id="l2")], start=date(2024, 3, 4))
    first = export_bytes(tmp_path / "export-1")
    assert b"l2,Lin,Linco,,,u-rep1,prospecting,2024-02-05T00:00:00+00:00,in_cadence," in first["leads.csv"]
    report = import_canonical(tmp_path / "export-1")
    assert report.files["leads"].unchanged == 3 and not any("in_cadence" in n for n in report.notes)
    # into an empty store the cadence is not there: the lead arrives live, as new, and is named
    flush_store()
    report = import_canonical(tmp_path / "export-1")
    assert statuses()["l2"] == "new"
    assert any("(l2): kept as new" in n for n in report.notes)


def test_many_leads_are_counted_with_the_first_ids(tmp_path):
    rows = "".join(f"x{k:02d},N{k},C{k},,,u-rep1,inbound,2024-01-05,in_cadence,\n" for k in range(8))
    report = import_canonical(folder(tmp_path, leads=LEADS.splitlines(keepends=True)[0] + rows))
    assert "8 leads marked in_cadence have no cadence here (x00, x01, x02, x03, x04 and 3 more): kept as new; " \
           "enrol them (`bestby cadence enrol`, or the Cadences page)" in report.notes
    assert set(statuses().values()) == {"new"}
