"""Import page: zip upload, dry-run report, confirm, refresh; unsafe zips refused; admins only."""

import csv
import io
import zipfile
from pathlib import Path

import pytest

from bestby.clearance.models import Freshness
from bestby.people.models import User
from bestby.pipeline.models import Deal
from bestby.synth import write_synth
from bestby.web.views_import import UploadRefused, _entries

pytestmark = pytest.mark.django_db
PW = "x-long-password-1"


@pytest.fixture
def admin_client(client, tmp_path, monkeypatch):
    monkeypatch.setenv("BESTBY_HOME", str(tmp_path / "home"))
    User.objects.create_user(username="boss", password=PW, external_id="boss-import", role="admin")
    client.login(username="boss", password=PW)
    return client


def _zip(files: dict[str, bytes]) -> io.BytesIO:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    buf.seek(0)
    buf.name = "upload.zip"
    return buf


def _folder_zip(folder: Path, prefix: str = "") -> io.BytesIO:
    return _zip({prefix + p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()})


@pytest.mark.django_db(transaction=True)  # the refresh reads the store through the engine (its own connection)
def test_dry_run_then_confirm_then_refresh(admin_client, tmp_path):
    write_synth(tmp_path / "synth", deals=40, seed=3)
    response = admin_client.post("/import/", {"file": _folder_zip(tmp_path / "synth", "export/")})
    html = response.content.decode()
    assert response.status_code == 200 and "Dry run" in html and 'data-file="deals"' in html
    assert Deal.objects.count() == 0  # a dry run changes nothing
    assert '<td>deals</td><td class="num">40</td>' in html
    token = html.split('name="token" value="')[1].split('"')[0]
    uploads = tmp_path / "home" / "uploads"
    assert (uploads / token / "deals.csv").is_file()
    response = admin_client.post("/import/confirm/", {"token": token})
    assert response.status_code == 200 and "Imported" in response.content.decode()
    assert Deal.objects.count() == 40 and not (uploads / token).exists()
    assert admin_client.post("/import/confirm/", {"token": token}).status_code == 400  # used up
    response = admin_client.post("/import/refresh/")
    open_deals = Deal.objects.filter(status="open").count()
    assert f'data-refreshed="{open_deals}"' in response.content.decode()
    assert Freshness.objects.count() == open_deals > 0


def test_dry_run_shows_problems_with_file_line_and_column(admin_client):
    deals = (b"deal_id,pipeline,stage,created_at,amount\n"
             b"D1,default,Qualify,2025-01-06,100\n"
             b"D2,default,Qualify,not a date,100\n")
    stages = b"pipeline,stage,position,kind\ndefault,Qualify,1,open\ndefault,Won,2,won\n"
    response = admin_client.post("/import/", {"file": _zip({"deals.csv": deals, "stages.csv": stages})})
    html = response.content.decode()
    assert response.status_code == 400 and "would be refused" in html
    assert "<td>deals.csv</td><td class=\"num\">3</td><td>created_at</td>" in html
    assert 'name="token"' not in html and Deal.objects.count() == 0


@pytest.mark.parametrize("name", ["../deals.csv", "/etc/deals.csv", "a/../../deals.csv", "notes.txt",
                                  "a/b/deals.csv", "..\\deals.csv"])
def test_unsafe_or_unknown_entries_are_refused(admin_client, tmp_path, name):
    response = admin_client.post("/import/", {"file": _zip({name: b"deal_id\n"})})
    assert response.status_code == 400 and "file: " in response.content.decode()
    uploads = tmp_path / "home" / "uploads"
    assert not uploads.exists() or not any(uploads.iterdir())
    assert not (tmp_path / "deals.csv").exists() and not (tmp_path / "home" / "deals.csv").exists()


def test_not_a_zip_and_no_file(admin_client):
    assert admin_client.post("/import/", {}).status_code == 400
    bad = io.BytesIO(b"hello")
    bad.name = "x.zip"
    response = admin_client.post("/import/", {"file": bad})
    assert response.status_code == 400 and "not a zip file" in response.content.decode()


def test_size_cap_counts_unpacked_bytes(monkeypatch):
    import bestby.web.views_import as v

    monkeypatch.setattr(v, "MAX_TOTAL_BYTES", 10)
    with zipfile.ZipFile(_zip({"deals.csv": b"x" * 11})) as z, pytest.raises(UploadRefused, match="add up to more"):
        _entries(z)


def test_only_admins_and_a_forged_token_is_refused(client, admin_client, tmp_path):
    User.objects.create_user(username="mgr", password=PW, external_id="mgr-import", role="manager")
    from django.test import Client

    other = Client()
    other.login(username="mgr", password=PW)
    assert other.get("/import/").status_code == 403
    assert other.post("/import/", {"file": _zip({"deals.csv": b"deal_id\n"})}).status_code == 403
    for token in ["../../etc", "0" * 32, ""]:
        assert admin_client.post("/import/confirm/", {"token": token}).status_code == 400


def test_files_in_two_folders_are_refused():
    with zipfile.ZipFile(_zip({"a/deals.csv": b"x", "b/stages.csv": b"y"})) as z, \
            pytest.raises(UploadRefused, match="'b/stages.csv' is in another folder"):
        _entries(z)
    with zipfile.ZipFile(_zip({"deals.csv": b"x", "b/stages.csv": b"y"})) as z, \
            pytest.raises(UploadRefused, match="another folder"):
        _entries(z)
    with zipfile.ZipFile(_zip({"a/deals.csv": b"x", "a/stages.csv": b"y"})) as z:
        assert sorted(base for _info, base in _entries(z)) == ["deals.csv", "stages.csv"]


def test_a_confirm_that_fails_shows_the_problems_and_the_upload_form_again(admin_client, tmp_path):
    write_synth(tmp_path / "synth", deals=20, seed=4)
    html = admin_client.post("/import/", {"file": _folder_zip(tmp_path / "synth")}).content.decode()
    token = html.split('name="token" value="')[1].split('"')[0]
    folder = tmp_path / "home" / "uploads" / token
    # the file changes between the dry run and the confirm (say, a second upload tool wrote over it)
    with (folder / "deals.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    rows[0]["created_at"] = "not-a-date"
    with (folder / "deals.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    response = admin_client.post("/import/confirm/", {"token": token})
    html = response.content.decode()
    assert response.status_code == 400 and "created_at" in html and "deals.csv" in html
    assert 'enctype="multipart/form-data"' in html and 'name="token"' not in html  # upload again, at once
    assert Deal.objects.count() == 0 and not folder.exists()
