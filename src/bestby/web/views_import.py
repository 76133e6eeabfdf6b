"""Import page (admins only): upload a FORMAT.md zip or a CRM export, read the dry-run report, confirm.

Sources (the form's ``source``): ``format`` (default) is a zip of FORMAT.md
files, imported by :func:`bestby.importers.canonical.import_canonical`;
``salesforce``, ``hubspot`` and ``pipedrive`` are a zip of the CRM's CSV
exports (any file names: the mappers find their files by name), or for
HubSpot its deals export as one ``.csv`` file, mapped by
``bestby.importers.crm.<source>.map_export`` and imported by
:func:`bestby.importers.crm.run.import_mapped` (what the CLI's ``bestby
import salesforce|hubspot|pipedrive`` does). ``date_format`` (CRM sources
only; empty: detect) is ``DD/MM/YYYY`` or ``MM/DD/YYYY``, for exports whose
dates every one read both ways.

The upload is unpacked server-side into ``$BESTBY_HOME/uploads/<token>/``
(``token`` random, 32 hex digits; a CRM export into its ``export/``
sub-folder) and checked with a dry run. The source, the date format and the
upload's name are kept beside it in ``.import.json`` (next to ``.owner``):
Confirm re-posts only the token, and the folder and its settings are found
from it on the server, never from the client, and only by the admin who
uploaded it. The folder is removed after a successful import or a refused
dry run; an upload never confirmed stays until removed by hand
(``$BESTBY_HOME/uploads``).

The report shows, per file, the rows created, updated and left alone, the
updated rows per changed column and the first updated rows with old and new
values, and the warnings (ids stored as what look like other records, changes
to the signed-in admin's own record; ``bestby.importers.diff``). When there are
warnings, Confirm applies only with the ``accept_collisions`` checkbox ticked;
without it nothing is written and the upload is kept for another Confirm. An
applied import shows its batch id and a link to undo it
(``bestby.web.views_import_undo``); the upload form lists the last imports.

A refusal shows the problems (file, line, column, message) as the importers
name them; a problem that names the server's upload folder (a CRM export
without its required file) names the uploaded file instead, so no server
path is shown, and dates that read both as day/month and month/day are a
problem in column ``date_format`` asking for the Date format.

A zip is unpacked by :func:`bestby.importers.archive.extract_zip`, which
refuses the whole zip, with nothing left in ``uploads/``, on an unsafe,
unknown or duplicated entry, too many entries, a total past
``BESTBY_MAX_IMPORT_MB`` (counted while unpacking, not trusted from the zip's
header), or an entry whose data does not match its header. A request body
past ``BESTBY_MAX_UPLOAD_MB`` is refused while it arrives
(:mod:`bestby.web.uploads`), before more of it is stored. Upload folders are
0700 and their files 0600.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.views.decorators.http import require_POST

from bestby import config
from bestby.importers.archive import UploadRefused, copy_capped, csv_name, extract_zip
from bestby.people import access
from bestby.private import open_private, private_dir

TOKEN = re.compile(r"^[0-9a-f]{32}$")
#: the form's sources: value -> label; "format" is the default
SOURCES = {"format": "FORMAT.md folder", "salesforce": "Salesforce export", "hubspot": "HubSpot export",
           "pipedrive": "Pipedrive export"}
CRM = ("salesforce", "hubspot", "pipedrive")
#: the form's date formats: value -> label; "" detects the order from the data
DATE_FORMATS = {"": "detect", "DD/MM/YYYY": "DD/MM/YYYY", "MM/DD/YYYY": "MM/DD/YYYY"}
META = ".import.json"
EXPORT = "export"  # the sub-folder a CRM export is unpacked into


def unpack(upload, folder: Path, kind: str = "format") -> list[str]:
    """Unpack the zip file object ``upload`` into ``folder`` with the configured caps (see extract_zip)."""
    return extract_zip(upload, folder, kind, max_total_bytes=settings.BESTBY_MAX_IMPORT_BYTES)


def uploads_dir() -> Path:
    """``$BESTBY_HOME/uploads``, made 0700 (and tightened) on every use."""
    folder = config.load().home / "uploads"
    private_dir(folder)
    return folder


def upload_folder(token: str, user) -> Path | None:
    """The folder of an upload by ``user`` from its token; None when unknown, malformed or someone else's."""
    if not TOKEN.match(token or ""):
        return None
    folder = uploads_dir() / token
    owner = folder / ".owner"
    if not folder.is_dir() or not owner.is_file() or owner.read_text().strip() != str(user.pk):
        return None
    return folder


def read_meta(folder: Path) -> dict:
    """The settings kept with an upload (an upload from before they were kept is a FORMAT.md zip)."""
    path = folder / META
    if not path.is_file():
        return {"source": "format", "date_format": "", "name": "upload.zip", "target": "."}
    return json.loads(path.read_text(encoding="utf-8"))


def take_upload(upload, folder: Path, *, source: str, date_format: str) -> tuple[list[str], dict]:
    """Unpack (or, for HubSpot's one .csv, copy) ``upload`` into ``folder``; the file names and the settings."""
    name = (upload.name or "upload").replace("\\", "/").rsplit("/", 1)[-1][:200]
    if source not in SOURCES:
        raise UploadRefused(f"source: {source!r} is not a source; use one of {', '.join(SOURCES)}")
    if date_format not in DATE_FORMATS:
        raise UploadRefused(f"date_format: {date_format!r} is not a date format; use DD/MM/YYYY, MM/DD/YYYY "
                            "or leave it empty to detect it")
    if date_format and source == "format":
        raise UploadRefused("date_format: FORMAT.md files write ISO dates; a date format is for CRM exports only")
    meta = {"source": source, "date_format": date_format, "name": name, "target": "."}
    if source == "format":
        return unpack(upload, folder), meta
    if name.lower().endswith(".csv"):
        if source != "hubspot":
            raise UploadRefused(f"file: a {SOURCES[source]} is uploaded as a .zip of its CSV files, not one .csv")
        base = csv_name(name)
        private_dir(folder / EXPORT)
        copy_capped(upload, folder / EXPORT / base, 0, max_total_bytes=settings.BESTBY_MAX_IMPORT_BYTES)
        return [base], meta | {"target": f"{EXPORT}/{base}"}
    return unpack(upload, folder / EXPORT, "csv"), meta | {"target": EXPORT}


# ------------------------------------------------------------------ running an import

def _run(folder: Path, *, dry_run: bool, by, accept: bool = False) -> dict:
    """Import (or dry-run) an upload; the report as a dict, or the problems (file, line, column, message).

    An import with warnings that were not accepted gives the report (nothing
    written) with ``needs_acceptance``.
    """
    from bestby.importers.canonical import WarningsNotAccepted
    from bestby.importers.problems import ImportFailed

    meta = read_meta(folder)
    try:
        if meta["source"] == "format":
            from bestby.importers.canonical import import_canonical

            report = import_canonical(folder, dry_run=dry_run, by=by, accept_warnings=accept)
        else:
            report = _run_crm(folder, meta, dry_run=dry_run, by=by, accept=accept)
    except WarningsNotAccepted as exc:
        return {**_report(exc.report, folder, meta), "needs_acceptance": True}
    except ImportFailed as exc:
        return {"problems": [_shown(p, folder, meta) for p in exc.problems], "truncated": exc.truncated}
    return _report(report, folder, meta)


def _report(report, folder: Path, meta: dict) -> dict:
    """The report for the template: counts, changed columns (most rows first), examples, warnings, batch."""
    from bestby.importers.problems import Problem

    files = [{"name": name, "created": c.created, "updated": c.updated, "unchanged": c.unchanged, "total": c.total,
              "changes": sorted(c.changes.items(), key=lambda kv: (-kv[1], kv[0])),
              "examples": [{"id": e["id"], "changes": list(e["changes"].items())} for e in c.examples]}
             for name, c in report.files.items()]
    warnings = []
    for w in report.warnings:
        shown = _shown(Problem(w["file"], w["line"], None, w["message"]), folder, meta)
        warnings.append({**w, "file": shown.file, "message": shown.message,
                         "stored": list(w["stored"].items()), "incoming": list(w["incoming"].items())})
    return {"files": files, "notes": report.notes, "unmapped": report.unmapped, "warnings": warnings,
            "warning_count": report.warning_count, "batch": report.batch}


def _run_crm(folder: Path, meta: dict, *, dry_run: bool, by, accept: bool = False):
    """Map the export as ``bestby import <source>`` does and import it (ImportFailed on any refusal)."""
    import importlib
    import zoneinfo

    from django.conf import settings

    from bestby.importers.crm.dates import DateOrderError, Dates, format_order
    from bestby.importers.crm.run import import_mapped
    from bestby.importers.problems import ImportFailed, Problem

    source, name = meta["source"], meta["name"]
    path = folder / meta["target"]
    mapper = importlib.import_module(f"bestby.importers.crm.{source}")
    dates = Dates(format_order(meta["date_format"] or None), zoneinfo.ZoneInfo(settings.TIME_ZONE))
    try:
        out, findings = mapper.map_export(path, dates)
    except DateOrderError as exc:
        message = str(exc).replace("pass --date-format", "choose a Date format").replace(" or --date-format ", " or ")
        raise ImportFailed([Problem(name, None, "date_format", message)]) from None
    return import_mapped(out, findings, source=f"{source}:{name}", label=f"web import {source} {name}",
                         dry_run=dry_run, by=by, accept_warnings=accept)


def _shown(problem, folder: Path, meta: dict):
    """The problem with the server's upload path replaced by the upload's own name (no server path is shown)."""
    from bestby.importers.problems import Problem

    where, name = str(problem.file), meta["name"]
    message = problem.message.replace(str(folder / meta["target"]), name).replace(str(folder), name)
    for root in (str(folder / meta["target"]), str(folder)):
        if where == root or where.startswith(root + "/"):
            rest = where[len(root) + 1:]
            return Problem(f"{name}/{rest}" if rest else name, problem.line, problem.column, message)
    return Problem(problem.file, problem.line, problem.column, message)


# ------------------------------------------------------------------ pages

def _admin(request) -> None:
    if not access.is_admin(request.user):
        raise PermissionDenied("Import is for admins.")


def _page(request, context: dict, status: int = 200):
    from bestby.importers.services import recent_batches

    form = {"source": request.POST.get("source", "format"), "date_format": request.POST.get("date_format", "")}
    return render(request, "web/import.html", {"sources": SOURCES, "date_formats": DATE_FORMATS,
                                               "form": form, "batches": recent_batches(limit=10), **context},
                  status=status)


@login_required
def import_page(request):
    """GET: the upload form. POST (file, source, date_format): unpack, dry-run, show the report and Confirm."""
    _admin(request)
    if request.method != "POST":
        return _page(request, {})
    upload = request.FILES.get("file")
    refused = getattr(request, "upload_refused", None)  # set by bestby.web.uploads past BESTBY_MAX_UPLOAD_MB
    if refused:
        return _page(request, {"error": refused}, 400)
    if upload is None:
        return _page(request, {"error": "file: choose a .zip file (or HubSpot's deals .csv) to upload"}, 400)
    token = secrets.token_hex(16)
    folder = uploads_dir() / token
    keep = False
    try:
        try:
            names, meta = take_upload(upload, folder, source=request.POST.get("source", "format").strip() or "format",
                                      date_format=request.POST.get("date_format", "").strip())
        except UploadRefused as exc:
            return _page(request, {"error": str(exc)}, 400)
        with open_private(folder / META, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(meta))
        with open_private(folder / ".owner", "w") as fh:
            fh.write(str(request.user.pk))
        shown = {"names": names, "dry_run": True, "meta": meta, "source_label": SOURCES[meta["source"]]}
        result = _run(folder, dry_run=True, by=request.user)
        if "problems" in result:
            return _page(request, {**shown, **result}, 400)
        keep = True  # kept for Confirm
    finally:
        if not keep:  # a refusal, or an error on the way (a 500): no folder is left behind in uploads/
            shutil.rmtree(folder, ignore_errors=True)
    return _page(request, {**shown, "token": token, **result})


@login_required
@require_POST
def import_confirm(request):
    """Run the real import of an upload that passed its dry run (POST token), with the settings kept with it."""
    _admin(request)
    folder = upload_folder(request.POST.get("token", ""), request.user)
    if folder is None:
        return _page(request, {"error": "token: unknown or expired upload; upload the file again"}, 400)
    meta = read_meta(folder)
    shown = {"dry_run": False, "meta": meta, "source_label": SOURCES.get(meta["source"], meta["source"])}
    try:
        result = _run(folder, dry_run=False, by=request.user, accept=request.POST.get("accept_collisions") == "on")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # an unexpected failure leaves no upload behind
        raise
    if result.get("needs_acceptance"):
        # nothing was written; the upload is kept so that the admin can tick the box and confirm again
        return _page(request, {**shown, **result, "dry_run": True, "token": request.POST["token"],
                               "error": "accept_collisions: the import has warnings (below); tick \"Apply despite "
                                        "the warnings\" to apply it, or fix the files"}, 400)
    # the upload is spent either way; on problems nothing was stored (one transaction): show them and the
    # upload form again, so the fixed file can go up at once
    shutil.rmtree(folder, ignore_errors=True)
    if "problems" in result:
        return _page(request, {**shown, **result}, 400)
    return _page(request, {**shown, "imported": True, **result})


@login_required
@require_POST
def import_refresh(request):
    """Recompute the freshness cache (after an import), with the stored clearance policy."""
    _admin(request)
    from bestby.clearance.settings import stored_policy
    from bestby.clearance.snapshot import refresh

    count = refresh(policy=stored_policy())
    return _page(request, {"refreshed": count})
