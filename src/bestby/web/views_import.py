"""Import page (admins only): upload a zip of FORMAT.md files, read the dry-run report, confirm.

The upload is unpacked server-side into ``$BESTBY_HOME/uploads/<token>/``
(``token`` random, 32 hex digits) and checked with a dry run
(:func:`bestby.importers.canonical.import_canonical` with ``dry_run=True``).
Confirm re-posts only the token; the folder is found from it on the server,
never from a client path, and only by the admin who uploaded it. The folder
is removed after a successful import or a refused dry run; an upload never
confirmed stays until removed by hand (``$BESTBY_HOME/uploads``).

A zip is refused, with nothing unpacked, when an entry has an absolute path,
a ``..`` part, a backslash, is a link, is nested deeper than one folder, is
not a FORMAT.md file name (``deals.csv``, ``touches.parquet``...), appears
twice, or when the files add up to more than ``MAX_TOTAL_BYTES`` (counted
while unpacking, not trusted from the zip's header). ``__MACOSX/`` entries
and ``.DS_Store`` are skipped.
"""

from __future__ import annotations

import re
import secrets
import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.views.decorators.http import require_POST

from bestby import config
from bestby.format import SPECS
from bestby.people import access

MAX_TOTAL_BYTES = 500 * 1024 * 1024
KNOWN = {f"{name}.{ext}" for name in SPECS for ext in ("csv", "parquet")}
TOKEN = re.compile(r"^[0-9a-f]{32}$")
CHUNK = 1 << 20


class UploadRefused(ValueError):
    """The zip cannot be unpacked safely; the message names the entry."""


# ------------------------------------------------------------------ unpacking (no Django)

def _entries(archive: zipfile.ZipFile) -> list[tuple[zipfile.ZipInfo, str]]:
    """The entries to unpack with their target file names; raise UploadRefused on any unsafe or unknown entry."""
    chosen: dict[str, zipfile.ZipInfo] = {}
    declared, top = 0, ""
    for info in archive.infolist():
        name = info.filename
        if "\\" in name or name.startswith("/") or re.match(r"^[A-Za-z]:", name):
            raise UploadRefused(f"file: {name!r} has an absolute or Windows path; refused")
        parts = PurePosixPath(name).parts
        if ".." in parts:
            raise UploadRefused(f"file: {name!r} points outside the upload folder ('..'); refused")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise UploadRefused(f"file: {name!r} is a link; refused")
        if info.is_dir() or (parts and parts[0] == "__MACOSX") or (parts and parts[-1] == ".DS_Store"):
            continue
        if len(parts) > 2:
            raise UploadRefused(f"file: {name!r} is nested too deep; put the files at the top of the zip "
                                "or in one folder")
        base = parts[-1]
        if base not in KNOWN:
            raise UploadRefused(f"file: {name!r} is not a FORMAT.md file name (deals.csv, touches.parquet...)")
        if base in chosen:
            raise UploadRefused(f"file: {base!r} appears twice in the zip")
        folder = parts[0] if len(parts) == 2 else ""
        if chosen and folder != top:
            raise UploadRefused(f"file: {name!r} is in another folder than the other files; put them all at the "
                                "top of the zip or all in one folder")
        top = folder
        declared += info.file_size
        if declared > MAX_TOTAL_BYTES:
            raise UploadRefused(f"file: the files add up to more than {MAX_TOTAL_BYTES // 2**20} MB unpacked")
        chosen[base] = info
    if not chosen:
        raise UploadRefused("file: the zip holds no FORMAT.md file (deals.csv at least)")
    return [(info, base) for base, info in chosen.items()]


def unpack(upload, folder: Path) -> list[str]:
    """Unpack the zip file object ``upload`` into ``folder`` (created); return the file names written."""
    try:
        archive = zipfile.ZipFile(upload)
    except zipfile.BadZipFile:
        raise UploadRefused("file: not a zip file") from None
    with archive:
        entries = _entries(archive)
        folder.mkdir(parents=True, exist_ok=False)
        written, total = [], 0
        for info, base in entries:
            with archive.open(info) as src, open(folder / base, "wb") as out:
                while chunk := src.read(CHUNK):
                    total += len(chunk)
                    if total > MAX_TOTAL_BYTES:
                        raise UploadRefused(f"file: the files add up to more than {MAX_TOTAL_BYTES // 2**20} MB "
                                            "unpacked")
                    out.write(chunk)
            written.append(base)
    return sorted(written)


def uploads_dir() -> Path:
    return config.load().home / "uploads"


def upload_folder(token: str, user) -> Path | None:
    """The folder of an upload by ``user`` from its token; None when unknown, malformed or someone else's."""
    if not TOKEN.match(token or ""):
        return None
    folder = uploads_dir() / token
    owner = folder / ".owner"
    if not folder.is_dir() or not owner.is_file() or owner.read_text().strip() != str(user.pk):
        return None
    return folder


# ------------------------------------------------------------------ pages

def _admin(request) -> None:
    if not access.is_admin(request.user):
        raise PermissionDenied("Import is for admins.")


def _run(folder: Path, *, dry_run: bool, by) -> dict:
    """Import (or dry-run) a folder; the report as a dict, or the problems (file, line, column, message)."""
    from bestby.importers.canonical import ImportFailed, import_canonical

    try:
        report = import_canonical(folder, dry_run=dry_run, by=by)
    except ImportFailed as exc:
        return {"problems": exc.problems, "truncated": exc.truncated}
    files = [{"name": name, "created": c.created, "updated": c.updated, "unchanged": c.unchanged, "total": c.total}
             for name, c in report.files.items()]
    return {"files": files, "notes": report.notes}


@login_required
def import_page(request):
    """GET: the upload form. POST (file): unpack, dry-run, show the report and a Confirm button."""
    _admin(request)
    if request.method != "POST":
        return render(request, "web/import.html", {})
    upload = request.FILES.get("file")
    if upload is None:
        return render(request, "web/import.html", {"error": "file: choose a .zip file to upload"}, status=400)
    if upload.size > MAX_TOTAL_BYTES:
        return render(request, "web/import.html",
                      {"error": f"file: larger than {MAX_TOTAL_BYTES // 2**20} MB"}, status=400)
    token = secrets.token_hex(16)
    folder = uploads_dir() / token
    try:
        names = unpack(upload, folder)
    except UploadRefused as exc:
        shutil.rmtree(folder, ignore_errors=True)
        return render(request, "web/import.html", {"error": str(exc)}, status=400)
    (folder / ".owner").write_text(str(request.user.pk))
    result = _run(folder, dry_run=True, by=request.user)
    if "problems" in result:
        shutil.rmtree(folder, ignore_errors=True)
        return render(request, "web/import.html", {"names": names, "dry_run": True, **result}, status=400)
    return render(request, "web/import.html", {"names": names, "dry_run": True, "token": token, **result})


@login_required
@require_POST
def import_confirm(request):
    """Run the real import of an upload that passed its dry run (POST token)."""
    _admin(request)
    folder = upload_folder(request.POST.get("token", ""), request.user)
    if folder is None:
        return render(request, "web/import.html",
                      {"error": "token: unknown or expired upload; upload the zip again"}, status=400)
    result = _run(folder, dry_run=False, by=request.user)
    if "problems" in result:
        # nothing was stored (the import is one transaction); the upload is spent: show the problems and
        # the upload form again, so the fixed zip can go up at once
        shutil.rmtree(folder, ignore_errors=True)
        return render(request, "web/import.html", {"dry_run": False, **result}, status=400)
    shutil.rmtree(folder, ignore_errors=True)
    return render(request, "web/import.html", {"dry_run": False, "imported": True, **result})


@login_required
@require_POST
def import_refresh(request):
    """Recompute the freshness cache (after an import), with the stored clearance policy."""
    _admin(request)
    from bestby.clearance.settings import stored_policy
    from bestby.clearance.snapshot import refresh

    count = refresh(policy=stored_policy())
    return render(request, "web/import.html", {"refreshed": count})
