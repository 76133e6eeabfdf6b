"""A changed FORMAT.md zip through the Import page in headless Debian Chromium: read the changes, accept, undo.

Reuses ``test_browser.py``'s Chromium, page and sign-in (skipped, or failing
under CI=true, as that module is when Playwright or /usr/bin/chromium is
missing). The store holds the hand folder (tests/importers/folders.py); the
upload renames deal d1 and moves it to account a-sub (a collision, by the
rule of bestby.importers.diff) and changes d3's amount. The admin reads the
changed fields and the warning, confirms without the box (refused, nothing
written), ticks it, confirms, then undoes the batch from the import page after
its confirmation page. The store is checked after each step.
"""

from __future__ import annotations

import io
import zipfile
from decimal import Decimal

import pytest

from bestby.audit.models import ImportBatch
from bestby.importers.canonical import import_canonical
from bestby.people.models import User
from bestby.pipeline.models import Deal
from tests.importers.folders import HAND, write_folder
from tests.importers.test_canonical_helpers import replace_line
from tests.web.test_browser import (  # noqa: F401 - fixtures: one Chromium per module, a page per test
    PASSWORD, _orm_beside_playwright, at, browser, expect, page, sign_in)

pytestmark = pytest.mark.django_db(transaction=True)


def _deals() -> list[tuple]:
    return list(Deal.objects.order_by("external_id").values_list("external_id", "name", "account__external_id", "amount"))


def test_admin_reads_the_changes_accepts_the_warning_then_undoes_the_import(page, settings, tmp_path, monkeypatch):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    monkeypatch.setenv("BESTBY_HOME", str(tmp_path / "home"))
    User.objects.create_user(username="boss", password=PASSWORD, external_id="boss", role="admin")
    import_canonical(write_folder(tmp_path / "first"))
    stored = _deals()
    deals = replace_line(HAND["deals.csv"], "d1,default,Acme rollout,a-acme,", "d1,default,<i>Sub deal</i>,a-sub,")
    deals = replace_line(deals, "Cold one,,u-rep1,500,", "Cold one,,u-rep1,750.25,")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in {**HAND, "deals.csv": deals}.items():
            z.writestr(name, text)

    sign_in(page, "boss")
    at(page, "/")
    page.goto("/import/")
    page.get_by_label("File").set_input_files({"name": "changed.zip", "mimeType": "application/zip",
                                               "buffer": buf.getvalue()})
    page.get_by_role("button", name="Upload and check").click()
    expect(page.locator("h2").first).to_have_text("Dry run: what the import would do")
    expect(page.locator('tr[data-file="deals"] td')).to_have_text(["deals", "0", "2", "1", "3"])
    expect(page.locator('table.import-changes[data-file="deals"] tbody tr td.new')).to_have_text(
        ["<i>Sub deal</i>", "a-sub", "750.25"])  # the name's markup is shown as text
    stored_cell = page.locator('tr[data-kind="collision"][data-id="d1"] td').nth(4)
    expect(stored_cell).to_contain_text("name: Acme rollout")
    expect(stored_cell).to_contain_text("account_id: a-acme")
    assert _deals() == stored

    page.get_by_role("button", name="Confirm: import these files").click()  # without the box
    expect(page.locator("p.error")).to_contain_text("accept_collisions")
    assert _deals() == stored
    page.get_by_label("Apply despite the 1 warning above").check()
    page.get_by_role("button", name="Confirm: import these files").click()
    expect(page.locator("h2").first).to_have_text("Imported")
    d1 = Deal.objects.get(external_id="d1")
    assert (d1.name, d1.account.external_id) == ("<i>Sub deal</i>", "a-sub")
    assert Deal.objects.get(external_id="d3").amount == Decimal("750.25")
    batch = ImportBatch.objects.order_by("-pk").first()

    page.goto("/import/")
    page.locator(f'tr[data-batch="{batch.pk}"]').get_by_role("link", name="Undo…").click()
    expect(page.locator("h1")).to_have_text(f"Undo import batch {batch.pk}")
    assert Deal.objects.get(external_id="d1").name == "<i>Sub deal</i>"  # the confirmation page changes nothing
    page.get_by_role("button", name="Undo this import").click()
    expect(page.locator(f'p[data-undone="{batch.pk}"]')).to_be_visible()
    assert _deals() == stored
    page.goto("/import/")
    expect(page.locator(f'tr[data-batch="{batch.pk}"] td').nth(4)).to_contain_text("undone")
