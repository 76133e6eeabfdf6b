"""Import page: the dry run shows what changes field by field, warnings need a ticked box, an import is undone.

Expected values are read off the hand folder (tests/importers/folders.py HAND)
and the edits below, not from the code.
"""

from __future__ import annotations

import html as htmllib
import re
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from django.test import Client

from bestby.activities.models import Touch
from bestby.audit.models import AuditEntry, ImportBatch
from bestby.importers.canonical import import_canonical
from bestby.people.models import User
from bestby.pipeline.models import Deal
from tests.importers.folders import HAND, write_folder
from tests.importers.test_canonical_helpers import replace_line
from tests.web.test_import_page import PW, _zip

pytestmark = pytest.mark.django_db
D1 = "d1,default,Acme rollout,a-acme,u-rep1,12000.50,"


@pytest.fixture
def admin_client(client, tmp_path, monkeypatch):
    monkeypatch.setenv("BESTBY_HOME", str(tmp_path / "home"))
    User.objects.create_user(username="boss", password=PW, external_id="boss-import", role="admin",
                             name="Bo Boss", email="boss@example.com")
    client.login(username="boss", password=PW)
    return client


def _upload(client, files: dict[str, str]):
    return client.post("/import/", {"file": _zip({k: v.encode() for k, v in files.items()})})


def _token(html: str) -> str:
    return html.split('name="token" value="')[1].split('"')[0]


def _changes(html: str, file: str) -> list[tuple[str, str, str, str]]:
    """The changes table of one file: (id, column, old, new) per row, text unescaped."""
    table = re.search(rf'<table class="stages import-changes" data-file="{file}">(.*?)</table>', html, re.S).group(1)
    rows = re.findall(r'<tr data-id="[^"]*" data-column="[^"]*"><td>([^<]*)</td><td>([^<]*)</td>'
                      r'<td class="old">([^<]*)</td><td class="new">([^<]*)</td></tr>', table)
    return [tuple(htmllib.unescape(c) for c in row) for row in rows]


def _stored() -> list[tuple]:
    return list(Deal.objects.order_by("external_id").values_list("external_id", "name", "amount", "account__external_id"))


def test_the_dry_run_lists_the_changed_fields_with_markup_escaped(admin_client, tmp_path):
    import_canonical(write_folder(tmp_path / "first"))
    files = dict(HAND)
    files["deals.csv"] = replace_line(files["deals.csv"], D1,
                                      'd1,default,<script>alert(1)</script>,a-acme,u-rep1,13000.00,')
    before = _stored()
    response = _upload(admin_client, files)
    page = response.content.decode()
    assert response.status_code == 200 and "Dry run: what the import would do" in page
    assert _changes(page, "deals") == [("d1", "name", "Acme rollout", "<script>alert(1)</script>"),
                                       ("", "amount", "12000.50", "13000.00")]
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert re.search(r'data-changes="deals">Changed columns: (amount: 1 row, name: 1 row|name: 1 row, amount: 1 row)\.',
                     page)
    assert _stored() == before  # a dry run


def test_collisions_need_the_box_ticked_and_the_upload_waits_for_it(admin_client, tmp_path):
    import_canonical(write_folder(tmp_path / "first"))
    files = dict(HAND)
    files["deals.csv"] = replace_line(files["deals.csv"], D1, "d1,default,Totally different,a-sub,u-rep1,12000.50,")
    page = _upload(admin_client, files).content.decode()
    row = re.search(r'<tr data-kind="collision" data-id="d1">(.*?)</tr>', page, re.S).group(1)
    assert "deals.csv" in row and "name: Acme rollout<br>account_id: a-acme" in row
    assert "name: Totally different<br>account_id: a-sub" in row
    assert 'name="accept_collisions"' in page
    token = _token(page)
    before, audits = _stored(), AuditEntry.objects.count()
    response = admin_client.post("/import/confirm/", {"token": token})
    page = response.content.decode()
    assert response.status_code == 400 and "accept_collisions:" in page and _token(page) == token
    assert _stored() == before and AuditEntry.objects.count() == audits  # nothing was written
    response = admin_client.post("/import/confirm/", {"token": token, "accept_collisions": "on"})
    assert response.status_code == 200 and "<h2>Imported</h2>" in response.content.decode()
    assert Deal.objects.get(external_id="d1").name == "Totally different"


def test_the_signed_in_admins_own_record_is_not_renamed_without_the_box(admin_client, tmp_path):
    files = {"users.csv": "user_id,name,email,role\nboss-import,Someone Else,boss@example.com,admin\n",
             "deals.csv": HAND["deals.csv"], "stages.csv": HAND["stages.csv"],
             "accounts.csv": HAND["accounts.csv"]}
    files["users.csv"] += "u-rep1,Rita Rep,rita@example.com,rep\n"
    page = _upload(admin_client, files).content.decode()
    row = re.search(r'<tr data-kind="own_record" data-id="boss-import">(.*?)</tr>', page, re.S).group(1)
    assert "your own record" in row and "name: Bo Boss" in row and "name: Someone Else" in row
    response = admin_client.post("/import/confirm/", {"token": _token(page)})
    assert response.status_code == 400 and User.objects.get(username="boss").name == "Bo Boss"
    assert not Deal.objects.exists()


def test_an_applied_import_is_undone_from_the_page_after_a_confirmation(admin_client, tmp_path):
    import_canonical(write_folder(tmp_path / "first"))
    before = _stored()
    files = dict(HAND)
    files["deals.csv"] = replace_line(files["deals.csv"], D1, "d1,default,Acme rollout,a-acme,u-rep1,13000.00,")
    files["deals.csv"] += "d9,default,New,a-acme,u-rep1,10,USD,2024-03-01,Qualify,open,,,,,\n"
    page = _upload(admin_client, files).content.decode()
    page = admin_client.post("/import/confirm/", {"token": _token(page)}).content.decode()
    batch = ImportBatch.objects.order_by("-pk").first()
    assert f'data-batch="{batch.pk}"' in page and f'href="/import/undo/{batch.pk}/"' in page
    assert Deal.objects.get(external_id="d1").amount == Decimal("13000.00") and Deal.objects.count() == 4
    # the confirmation page says what the batch did and asks first
    page = admin_client.get(f"/import/undo/{batch.pk}/").content.decode()
    assert 'name="confirm" value="yes"' in page and '<tr data-file="deals"><td>deals</td><td class="num">1</td>' \
                                                      '<td class="num">1</td>' in page
    # a POST without the confirmation changes nothing
    response = admin_client.post(f"/import/undo/{batch.pk}/", {})
    assert response.status_code == 400 and "confirm:" in response.content.decode() and Deal.objects.count() == 4
    response = admin_client.post(f"/import/undo/{batch.pk}/", {"confirm": "yes", "reason": "wrong file"})
    assert response.status_code == 200 and f'data-undone="{batch.pk}"' in response.content.decode()
    assert _stored() == before
    assert AuditEntry.objects.get(action="import.undo").reason == "wrong file"
    # undone once: a second POST is refused and the import page lists it as undone
    response = admin_client.post(f"/import/undo/{batch.pk}/", {"confirm": "yes"})
    assert response.status_code == 409 and "already undone" in response.content.decode()
    page = admin_client.get("/import/").content.decode()
    assert re.search(rf'<tr data-batch="{batch.pk}">.*?undone \d{{4}}-', page, re.S)


def test_a_refused_undo_names_what_depends_and_changes_nothing(admin_client, tmp_path):
    report = import_canonical(write_folder(tmp_path / "first"))
    Touch.objects.create(external_id="T-LATER", at=datetime(2025, 1, 6, tzinfo=timezone.utc), channel="phone",
                         deal=Deal.objects.get(external_id="d2"))
    before = _stored()
    response = admin_client.post(f"/import/undo/{report.batch}/", {"confirm": "yes"})
    page = htmllib.unescape(response.content.decode())
    assert response.status_code == 409 and "touch T-LATER refers to deal d2" in page and "Nothing was changed" in page
    assert _stored() == before and ImportBatch.objects.get(pk=report.batch).undone_at is None


def test_undo_is_for_admins_and_needs_the_csrf_token(admin_client, tmp_path):
    report = import_canonical(write_folder(tmp_path / "first"))
    User.objects.create_user(username="mgr", password=PW, external_id="mgr-x", role="manager")
    manager = Client()
    manager.login(username="mgr", password=PW)
    assert manager.get(f"/import/undo/{report.batch}/").status_code == 403
    assert manager.post(f"/import/undo/{report.batch}/", {"confirm": "yes"}).status_code == 403
    strict = Client(enforce_csrf_checks=True)
    strict.login(username="boss", password=PW)
    assert strict.post(f"/import/undo/{report.batch}/", {"confirm": "yes"}).status_code == 403
    assert Deal.objects.count() == 3 and ImportBatch.objects.get(pk=report.batch).undone_at is None
    assert admin_client.get("/import/undo/999999/").status_code == 404
