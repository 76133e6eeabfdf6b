"""Settings (admins only): the stages of each pipeline and their order, the clearance policy."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from bestby.clearance.models import PolicySetting
from bestby.clearance.settings import PolicyInputError, parse_form, save_section, stored_policy
from bestby.engine.policy import FIELDS, ClearancePolicy
from bestby.people import access
from bestby.pipeline.models import Pipeline
from bestby.pipeline.services import DealError, reorder_stages


def _admin(request) -> None:
    if not access.is_admin(request.user):
        raise PermissionDenied("Settings are for admins.")


def _shown(value) -> str:
    """A stored setting as typed: 60.0 shows as 60 (JSON keeps whole numbers of days as floats)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _sections(submitted: dict | None = None) -> list[dict]:
    """The default section then one per pipeline: stored values and the effective policy (for placeholders)."""
    rows = {r.pipeline_id: r for r in PolicySetting.objects.all()}
    try:
        policy = stored_policy() or ClearancePolicy()
    except ValueError as exc:  # stored before a bound was checked: shown, so this page can correct it
        policy, stored_error = ClearancePolicy(), exc
    else:
        stored_error = None
    default = policy if isinstance(policy, ClearancePolicy) else policy.default
    sections = []
    for pipeline in [None, *Pipeline.objects.prefetch_related("stages").order_by("name")]:
        key = "default" if pipeline is None else str(pipeline.pk)
        row = rows.get(None if pipeline is None else pipeline.pk)
        stored = dict(row.values) if row else {}
        effective = default if pipeline is None or isinstance(policy, ClearancePolicy) else policy.get(pipeline.name)
        base = ClearancePolicy() if pipeline is None else default
        values = submitted["values"] if submitted and submitted["key"] == key else stored
        fields = [{"name": name, "value": _shown(values.get(name)),
                   "inherited": getattr(base, name), "effective": getattr(effective, name)} for name in FIELDS]
        error = submitted["error"] if submitted and submitted["key"] == key else None
        sections.append({"key": key, "pipeline": pipeline, "row": row, "fields": fields,
                         "error": error or (stored_error if pipeline is None else None)})
    return sections


def _render(request, *, submitted=None, stage_error=None, status=200):
    return render(request, "web/settings.html", {
        "pipelines": Pipeline.objects.prefetch_related("stages").order_by("name"),
        "sections": _sections(submitted), "stage_error": stage_error,
    }, status=status)


@login_required
def settings_page(request):
    """Stages and their order per pipeline; the stored clearance policy (default and per pipeline)."""
    _admin(request)
    return _render(request)


@login_required
@require_POST
def move_stage(request, pipeline_id: int):
    """Move one stage up or down in its pipeline (POST stage=NAME, direction=up|down)."""
    _admin(request)
    pipeline = get_object_or_404(Pipeline, pk=pipeline_id)
    order = list(pipeline.stages.order_by("position", "id").values_list("name", flat=True))
    name, direction = request.POST.get("stage", ""), request.POST.get("direction", "")
    if name not in order:
        return _render(request, stage_error=f"stage: {name!r} is not a stage of {pipeline.name}", status=400)
    if direction not in ("up", "down"):
        return _render(request, stage_error=f"direction: must be up or down, got {direction!r}", status=400)
    i = order.index(name)
    j = i - 1 if direction == "up" else i + 1
    if 0 <= j < len(order):
        order[i], order[j] = order[j], order[i]
        try:
            reorder_stages(pipeline=pipeline, order=order, by=request.user, reason="Settings page")
        except DealError as exc:
            return _render(request, stage_error=str(exc), status=400)
    return redirect("settings")


@login_required
@require_POST
def save_policy(request):
    """Store one section of the clearance policy (POST section=default|PIPELINE_ID and the settings)."""
    _admin(request)
    key = request.POST.get("section", "default")
    pipeline = None if key == "default" else get_object_or_404(Pipeline, pk=key if key.isdigit() else 0)
    raw = {name: request.POST.get(name, "") for name in FIELDS}
    try:
        save_section(pipeline=pipeline, values=parse_form(request.POST), by=request.user)
    except PolicyInputError as exc:
        return _render(request, submitted={"key": key, "values": raw, "error": exc}, status=400)
    return redirect("settings")
