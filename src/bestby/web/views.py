"""Thin page adapters: parse, call one query or service, render."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render

from bestby.pipeline.queries import deals_visible_to, pipeline_by_stage


@login_required
def home(request):
    """The pipeline by stage: open deals and open amount per stage, as far as the user may see."""
    pipelines = pipeline_by_stage(deals=deals_visible_to(request.user))
    return render(request, "web/home.html", {"pipelines": pipelines})


def healthz(request):
    """Liveness for scripts: the database answers."""
    with connection.cursor() as cur:
        cur.execute("SELECT 1")
    return JsonResponse({"ok": True})
