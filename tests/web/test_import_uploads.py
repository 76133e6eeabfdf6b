"""Import page uploads within bounds: crafted and oversized zips and requests are refused with the parameter named,
nothing is left in ``uploads/``, nothing is stored; what is kept is readable by its owner only (0600 / 0700)."""

import io
import stat
import struct
import zipfile

import pytest

from bestby.importers.archive import UploadRefused, extract_zip
from bestby.people.models import User
from bestby.pipeline.models import Deal

pytestmark = pytest.mark.django_db
PW = "x-long-password-1"
DEALS = (b"deal_id,name,pipeline,stage,owner_id,amount,currency,created_at\n"
         + b"".join(b"D%04d,Deal %d,default,Qualify,u1,100,USD,2024-01-02\n" % (i, i) for i in range(200)))


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("BESTBY_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def admin_client(client, home):
    User.objects.create_user(username="boss", password=PW, external_id="boss-upload", role="admin")
    client.login(username="boss", password=PW)
    return client


def _zip(files: dict[str, bytes], name: str = "upload.zip") -> io.BytesIO:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for entry, data in files.items():
            z.writestr(entry, data)
    buf.seek(0)
    buf.name = name
    return buf


def _patched(buf: io.BytesIO, *, size: int | None = None, flags: int | None = None) -> io.BytesIO:
    """The one-entry zip with its declared uncompressed size and/or flag bits rewritten in both of its headers
    (the local header and the central directory record; APPNOTE 4.3.7 and 4.3.12), CRC left as it was."""
    data = bytearray(buf.getvalue())
    local, central = data.index(b"PK\x03\x04"), data.index(b"PK\x01\x02")
    if size is not None:
        struct.pack_into("<I", data, local + 22, size)
        struct.pack_into("<I", data, central + 24, size)
    if flags is not None:
        struct.pack_into("<H", data, local + 6, flags)
        struct.pack_into("<H", data, central + 8, flags)
    out = io.BytesIO(bytes(data))
    out.name = buf.name
    return out


def _uploads_empty(home) -> bool:
    uploads = home / "uploads"
    return not uploads.exists() or not any(uploads.iterdir())


def test_a_zip_whose_header_understates_its_size_is_refused_and_leaves_nothing(admin_client, home):
    crafted = _patched(_zip({"deals.csv": DEALS}), size=100)
    with zipfile.ZipFile(crafted) as z:  # the header now claims 100 bytes for 200-odd lines
        assert z.infolist()[0].file_size == 100 < len(DEALS)
    crafted.seek(0)
    response = admin_client.post("/import/", {"file": crafted})
    html = response.content.decode()
    assert response.status_code == 400
    assert "file: &#x27;deals.csv&#x27; in the zip does not unpack to what its header says" in html
    assert _uploads_empty(home) and Deal.objects.count() == 0


def test_a_zip_whose_header_overstates_its_size_is_refused(tmp_path):
    crafted = _patched(_zip({"deals.csv": DEALS}), size=len(DEALS) + 1000)
    expected = f"'deals.csv' in the zip unpacks to {len(DEALS):,} bytes where its header says {len(DEALS) + 1000:,}"
    with pytest.raises(UploadRefused, match=expected):
        extract_zip(crafted, tmp_path / "out", max_total_bytes=2**20)
    assert not (tmp_path / "out").exists()


def test_an_encrypted_entry_is_refused(admin_client, home):
    crafted = _patched(_zip({"deals.csv": DEALS}), flags=0x1)
    response = admin_client.post("/import/", {"file": crafted})
    assert response.status_code == 400
    assert "file: &#x27;deals.csv&#x27; in the zip is encrypted" in response.content.decode()
    assert _uploads_empty(home)


def test_too_many_entries_are_refused_before_unpacking(admin_client, home):
    # skipped names (Finder's __MACOSX) count as entries too: the cap bounds the work of reading the zip
    many = {"deals.csv": DEALS} | {f"__MACOSX/._{i}": b"" for i in range(1001)}
    response = admin_client.post("/import/", {"file": _zip(many)})
    assert response.status_code == 400
    assert "file: the zip declares 1,002 entries; at most 1,000 are taken" in response.content.decode()
    assert _uploads_empty(home) and Deal.objects.count() == 0


def test_unpacked_total_over_the_import_cap_is_refused(admin_client, home, settings):
    settings.BESTBY_MAX_IMPORT_BYTES = len(DEALS) - 1
    response = admin_client.post("/import/", {"file": _zip({"deals.csv": DEALS})})
    assert response.status_code == 400
    assert "file: the files add up to more than" in response.content.decode()
    assert _uploads_empty(home) and Deal.objects.count() == 0


def test_an_upload_over_the_upload_cap_is_refused_as_it_arrives(admin_client, home, settings):
    settings.BESTBY_MAX_UPLOAD_BYTES = 2048
    big = io.BytesIO(b"PK" + bytes(200_000))  # 200 kB: past the cap whatever it holds
    big.name = "big.zip"
    response = admin_client.post("/import/", {"file": big, "source": "format"})
    assert response.status_code == 400
    assert "file: larger than 0 MB; the import page takes uploads up to BESTBY_MAX_UPLOAD_MB" in \
        response.content.decode()
    assert _uploads_empty(home)
    # under the cap the same page takes it (and finds it is not a zip)
    settings.BESTBY_MAX_UPLOAD_BYTES = 400_000
    big.seek(0)
    response = admin_client.post("/import/", {"file": big, "source": "format"})
    assert response.status_code == 400 and "file: not a zip file" in response.content.decode()


def test_an_upload_kept_for_confirm_is_private(admin_client, home, tmp_path):
    from bestby.synth import write_synth

    write_synth(tmp_path / "synth", deals=20, seed=5)
    files = {p.name: p.read_bytes() for p in sorted((tmp_path / "synth").iterdir())}
    response = admin_client.post("/import/", {"file": _zip(files)})
    html = response.content.decode()
    assert response.status_code == 200, html
    token = html.split('name="token" value="')[1].split('"')[0]
    folder = home / "uploads" / token

    def mode(p):
        return stat.S_IMODE(p.stat().st_mode)

    assert mode(home / "uploads") == 0o700 and mode(folder) == 0o700
    kept = sorted(p.name for p in folder.iterdir())
    assert {"deals.csv", ".owner", ".import.json"} <= set(kept)
    assert {p.name: mode(p) for p in folder.iterdir()} == dict.fromkeys(kept, 0o600)


def test_a_hubspot_csv_upload_over_the_import_cap_is_refused(admin_client, home, settings):
    settings.BESTBY_MAX_IMPORT_BYTES = 100
    upload = io.BytesIO(b"Deal Stage,Deal Name\n" + b"x,y\n" * 100)
    upload.name = "deals.csv"
    response = admin_client.post("/import/", {"file": upload, "source": "hubspot"})
    assert response.status_code == 400 and "file: the files add up to more than 100 bytes" in response.content.decode()
    assert _uploads_empty(home)
