"""An applied import is undone as one batch: every table back as it was, or a refusal that changes nothing.

"As it was" is a full dump of every table (every row, every column) except
the audit trail (the audit log and the import batches, which record the
import and its undo) and the change tokens (``pipeline.Revision`` and
``pipeline.DealChange``, renewed by every write so that caches rebuild).
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import connection
from typer.testing import CliRunner

from bestby.activities.models import Touch
from bestby.audit.models import AuditEntry, ImportBatch, ImportBatchRows
from bestby.cli import app
from bestby.clearance import services as clearance
from bestby.clearance.models import Freshness
from bestby.importers.canonical import import_canonical
from bestby.importers.services import UndoRefused, recent_batches, undo_import
from bestby.people.models import User
from bestby.pipeline import services as pipeline
from bestby.pipeline.models import Deal, StageEvent
from bestby.synth import write_synth
from tests.importers.changed_folder import changed_copy, read, write

pytestmark = pytest.mark.django_db

#: the audit trail and the change tokens (module doc)
NOT_COMPARED = {"audit.AuditEntry", "audit.ImportBatch", "audit.ImportBatchRows", "pipeline.Revision",
                "pipeline.DealChange"}
AT = datetime(2025, 3, 3, 12, tzinfo=timezone.utc)


def dump() -> dict[str, list[tuple]]:
    return {m._meta.label: list(m._base_manager.order_by("pk").values_list())
            for m in apps.get_models(include_auto_created=True) if m._meta.label not in NOT_COMPARED}


@pytest.fixture
def folders(tmp_path):
    base = tmp_path / "base"
    write_synth(base, deals=60, seed=11)
    return base, changed_copy(base, tmp_path / "changed")


@pytest.fixture
def admin():
    return User.objects.create_user(username="ops", external_id="ops", email="ops@example.com", role="admin")


def test_apply_then_undo_restores_every_table_exactly(folders, admin):
    base, changed = folders
    empty = dump()
    first = import_canonical(base, by=admin)
    stored = dump()
    second = import_canonical(changed, by=admin)
    assert dump() != stored
    # the changed import created rows (a pipeline, stages, users, accounts, deals, events, a touch), updated rows
    # (a stored account now has a parent it created) and appended the history its stage changes imply
    assert second.files["deals"].created == 3 and second.files["deals"].updated > 5
    assert Deal.objects.get(external_id="D-NEW-3").pipeline.name == "second"
    assert any("stage changes had no event" in n for n in second.notes)
    result = undo_import(batch=second.batch, by=admin)
    assert dump() == stored
    assert result.removed["deals"] == 3 and result.removed["pipelines"] == 1 and result.removed["stages"] == 2
    assert result.restored["deals"] == second.files["deals"].updated
    # and the first import too: the store is empty again (but for the admin)
    undo_import(batch=first.batch, by=admin)
    assert dump() == empty


def test_the_undo_is_audited_and_the_batch_id_is_in_the_report_and_the_audit_log(folders, admin):
    base, _ = folders
    report = import_canonical(base, by=admin)
    batch = ImportBatch.objects.get()
    assert report.batch == batch.pk and batch.by == admin and batch.counts["deals"]["created"] == 60
    entry = AuditEntry.objects.get(action="import")
    assert entry.object_id == str(batch.pk) and entry.by == admin
    undo_import(batch=batch.pk, by=admin, reason="wrong file")
    undo = AuditEntry.objects.get(action="import.undo")
    assert (undo.undoes, undo.by, undo.object_type, undo.object_id, undo.reason) == (
        entry, admin, "import", str(batch.pk), "wrong file")
    assert undo.after["removed"]["deals"] == 60
    batch.refresh_from_db()
    assert batch.undone_at == undo.at and batch.undone_by == admin
    assert recent_batches(limit=5) == [batch]


def test_undo_twice_is_refused(folders, admin):
    base, _ = folders
    report = import_canonical(base)
    undo_import(batch=report.batch, by=admin)
    before = dump()
    with pytest.raises(UndoRefused) as refused:
        undo_import(batch=report.batch, by=admin)
    assert refused.value.param == "batch" and "already undone" in refused.value.message
    assert dump() == before and AuditEntry.objects.filter(action="import.undo").count() == 1
    with pytest.raises(UndoRefused, match="no import batch 999999"):
        undo_import(batch=999999, by=admin)


def _refused(batch: int, by) -> UndoRefused:
    before, audit = dump(), AuditEntry.objects.count()
    with pytest.raises(UndoRefused) as refused:
        undo_import(batch=batch, by=by)
    assert dump() == before and AuditEntry.objects.count() == audit  # nothing changed
    assert ImportBatch.objects.get(pk=batch).undone_at is None
    return refused.value


def test_undo_is_refused_when_a_touch_was_logged_on_an_imported_deal(folders, admin):
    base, _ = folders
    report = import_canonical(base)
    deal = Deal.objects.get(external_id="D0003")
    Touch.objects.create(external_id="T-LATER", at=AT, channel="phone", deal=deal, owner=admin)
    refused = _refused(report.batch, admin)
    assert any("touch T-LATER refers to deal D0003" in r for r in refused.reasons), refused.reasons


def test_undo_is_refused_when_a_clearance_action_depends_on_an_imported_deal(folders, admin):
    base, _ = folders
    report = import_canonical(base)
    deal = Deal.objects.filter(status="open").order_by("external_id").first()
    (action,) = clearance.clear(deals=[deal], reason="stale", by=admin, at=AT)
    refused = _refused(report.batch, admin)
    assert any(f"clearance action #{action.pk} refers to deal {deal.external_id}" in r for r in refused.reasons), \
        refused.reasons


def test_undo_is_refused_when_history_it_appended_was_acted_on(folders, admin, tmp_path):
    """A clear since, on a stored deal whose history the import appended to: that decision read the history."""
    base, _ = folders
    import_canonical(base)
    deal = Deal.objects.filter(status="open").order_by("external_id").first()
    header, events = read(base, "stage_events")
    first = min((e for e in events if e["deal_id"] == deal.external_id), key=lambda e: e["at"])
    backfill = tmp_path / "backfill"  # one more (earlier) event of a stored deal; no field of the deal changes
    backfill.mkdir()
    write(backfill, "stage_events", header, [{**first, "at": first["at"][:10] + "T00:00:01"}])
    write(backfill, "deals", *read(base, "deals"))  # deals.csv is required; the same rows
    second = import_canonical(backfill)
    assert second.files["stage_events"].created == 1 and second.files["deals"].updated == 0
    (action,) = clearance.clear(deals=[deal], reason="stale", by=admin)
    refused = _refused(second.batch, admin)
    assert refused.reasons == [f"clearance action #{action.pk} on deal {deal.external_id} was taken since, on the "
                               "history this import appended to"]


def test_undo_is_refused_when_a_field_it_set_was_changed_since(folders, admin):
    base, changed = folders
    import_canonical(base)
    second = import_canonical(changed)
    _, deals = read(changed, "deals")
    d0 = Deal.objects.get(external_id=deals[0]["deal_id"])
    assert d0.amount == Decimal(deals[0]["amount"])  # the import's value
    pipeline.update_deal(deal=d0, by=admin, amount=Decimal("1.00"))
    refused = _refused(second.batch, admin)
    assert refused.reasons == [f"deal {d0.external_id}: amount was changed since the import (the import set "
                               f"'{deals[0]['amount']}', it is now '1.00')"]


def test_undo_is_refused_when_a_created_deal_was_edited_or_a_created_user_signed_in(folders, admin):
    base, _ = folders
    report = import_canonical(base)
    deal = Deal.objects.get(external_id="D0005")
    pipeline.update_deal(deal=deal, by=admin, name="Renamed by a rep")
    user = User.objects.get(external_id="U0003")
    user.set_password("a-new-long-password")
    user.save()
    reasons = _refused(report.batch, admin).reasons
    assert "deal D0005, created by this import, was edited since (version 2)" in reasons
    assert "user U0003, created by this import, has been given a sign-in since" in reasons
    assert any(r.startswith("deal D0005, created by this import, was changed since (deal.update)") for r in reasons)


def test_undoing_out_of_order_names_the_later_import_that_changed_the_field(folders, admin, tmp_path):
    base, changed = folders
    import_canonical(base)
    second = import_canonical(changed)
    third = import_canonical(base)  # the old values again
    _, deals = read(changed, "deals")
    _, old = read(base, "deals")
    refused = _refused(second.batch, admin)
    assert (f"deal {deals[0]['deal_id']}: amount was changed since the import (the import set '{deals[0]['amount']}', "
            f"it is now '{old[0]['amount']}'); import batch {third.batch} set it since: undo that batch first"
            ) in refused.reasons
    undo_import(batch=third.batch, by=admin)
    undo_import(batch=second.batch, by=admin)
    assert Deal.objects.get(external_id=deals[0]["deal_id"]).amount == Decimal(old[0]["amount"])


def test_undo_is_refused_when_a_later_import_updated_what_it_created(folders, admin, tmp_path):
    base, _ = folders
    first = import_canonical(base)
    header, deals = read(base, "deals")
    deals[0]["lost_reason"] = "later import"
    later = tmp_path / "later"
    later.mkdir()
    write(later, "deals", header, deals[:1])
    second = import_canonical(later)
    refused = _refused(first.batch, admin)
    assert any(f"import batch {second.batch} updated deal {deals[0]['deal_id']}" in r and "undo batch" in r
               for r in refused.reasons), refused.reasons
    undo_import(batch=second.batch, by=admin)
    undo_import(batch=first.batch, by=admin)
    assert Deal.objects.count() == 0


def test_the_freshness_cache_of_created_deals_goes_with_them(folders, admin):
    base, _ = folders
    report = import_canonical(base)
    deal = Deal.objects.first()
    Freshness.objects.create(deal=deal, as_of=AT, state="fresh", age_days=1, stage_age_days=1)
    undo_import(batch=report.batch, by=admin)
    assert not Freshness.objects.exists() and not Deal.objects.exists()


def test_the_journal_is_compact(folders, tmp_path):
    base, _ = folders
    first = import_canonical(base)
    rows = ImportBatchRows.objects.filter(batch_id=first.batch)
    # a first load: one key range per table, nothing about single rows
    assert all(r.kind == "created" and len(r.data) == 1 for r in rows)
    assert {r.model: r.data for r in rows}["pipeline.deal"][0][1] - {r.model: r.data for r in rows}["pipeline.deal"][0][0] == 59
    # the same files again: nothing to record
    again = import_canonical(base)
    assert not ImportBatchRows.objects.filter(batch_id=again.batch).exists()
    # three amounts changed: three records, each holding the one changed field
    header, deals = read(base, "deals")
    for r in deals[:3]:
        r["amount"] = f"{Decimal(r['amount']) + 5:.2f}"
    folder = tmp_path / "amounts"
    folder.mkdir()
    write(folder, "deals", header, deals)
    third = import_canonical(folder)
    (part,) = ImportBatchRows.objects.filter(batch_id=third.batch)
    assert part.kind == "updated" and part.model == "pipeline.deal"
    old = {d.pk: str(d.amount) for d in Deal.objects.filter(external_id__in=[r["deal_id"] for r in deals[:3]])}
    assert {int(k): list(v) for k, v in part.data.items()} == {pk: ["amount"] for pk in old}
    assert sorted(v["amount"][1] for v in part.data.values()) == sorted(r["amount"] for r in deals[:3])


def test_cli_undo_and_batches(folders, admin):
    base, _ = folders
    report = import_canonical(base)
    runner = CliRunner()
    result = runner.invoke(app, ["import", "batches", "--json"])
    assert result.exit_code == 0, result.output
    assert '"batch": %d' % report.batch in result.stdout
    result = runner.invoke(app, ["import", "undo", str(report.batch), "--by", "ops@example.com", "--reason", "oops"])
    assert result.exit_code == 0, result.output
    assert Deal.objects.count() == 0
    assert AuditEntry.objects.get(action="import.undo").by == admin
    result = runner.invoke(app, ["import", "undo", str(report.batch)])
    assert result.exit_code == 2 and "already undone" in result.stderr and "Nothing was changed" in result.stderr


@pytest.mark.django_db(transaction=True)
def test_rows_another_session_inserts_during_an_import_are_not_taken_for_the_imports(folders, admin):
    """PostgreSQL: while the import writes its accounts, another connection inserts one and commits; the undo keeps it.

    The import drew its keys from the sequence before writing, so it knows
    them; a "highest key before and after the insert" reckoning would count
    the other session's row, whose key falls in between, as the import's.
    (SQLite cannot interleave: the import's transaction holds the only write lock.)
    """
    if connection.vendor != "postgresql":
        pytest.skip("SQLite lets no other connection write during an import (one writer at a time)")
    import psycopg

    from bestby.accounts.models import Account

    base, _ = folders
    db = connection.settings_dict
    done = []

    def progress(file: str, n: int, total: int) -> None:  # called as each batch of rows is written
        if file.startswith("accounts") and n and not done:
            with psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"],
                                 dbname=db["NAME"], autocommit=True) as other:
                other.execute("INSERT INTO accounts_account (external_id, name, sector, territory, custom) "
                              "VALUES ('X-OTHER', 'Someone else''s', '', '', '{}')")
            done.append(True)

    report = import_canonical(base, progress=progress)
    assert done and report.files["accounts"].created == len(read(base, "accounts")[1])
    undo_import(batch=report.batch, by=admin)
    assert list(Account.objects.values_list("external_id", flat=True)) == ["X-OTHER"]
