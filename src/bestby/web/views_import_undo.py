"""Undo an applied import from the import page (admins only): a confirmation page, then one POST.

``GET /import/undo/ID/`` shows what batch ID did (when, who, what, the counts
per file) and a form; ``POST`` with ``confirm=yes`` (CSRF-protected, as every
POST) undoes it through :func:`bestby.importers.services.undo_import`. A
refusal (already undone, later work depends on what it created, a field
changed since) shows its reasons on the same page with status 409, and
nothing is changed. A POST without ``confirm`` is refused (400) naming it.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render

from bestby.people import access


@login_required
def import_undo(request, batch: int):
    """GET: the confirmation page of batch ``batch``. POST (confirm=yes): undo it and show what was taken back."""
    if not access.is_admin(request.user):
        raise PermissionDenied("Undoing an import is for admins.")
    from bestby.importers.services import UndoRefused, get_batch, undo_import

    found = get_batch(batch=batch)
    if found is None:
        raise Http404(f"batch: there is no import batch {batch}")
    context = {"batch": found, "files": sorted(found.counts.items())}
    if request.method != "POST":
        return render(request, "web/import_undo.html", context)
    if request.POST.get("confirm") != "yes":
        return render(request, "web/import_undo.html",
                      {**context, "error": "confirm: press \"Undo this import\" on this page to confirm"}, status=400)
    try:
        result = undo_import(batch=batch, by=request.user, reason=request.POST.get("reason", "").strip())
    except UndoRefused as exc:
        return render(request, "web/import_undo.html", {**context, "error": exc.message, "reasons": exc.reasons,
                                                        "more": exc.more}, status=409)
    return render(request, "web/import_undo.html", {**context, "batch": get_batch(batch=batch), "done": result})
