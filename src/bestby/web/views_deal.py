"""The deal page: header, timeline, win-probability curve, edit form, audit and clearance history.

A deal the user may not see answers 404 (:func:`bestby.people.access.deals_for`).
Edits go through :mod:`bestby.pipeline.services` with the version the form
was loaded at: an edit based on a stale copy is refused (``StaleEdit``) and
changes nothing. The curve needs the engine (seconds), so the page loads it
separately (``/deals/<id>/curve/``, fetched by HTMX on load; a link without JS).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import numpy as np
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_http_methods

from bestby import clock, columns
from bestby.bounds import OutOfBounds, check_date
from bestby.audit.models import AuditEntry
from bestby.clearance.models import ClearanceAction
from bestby.people import access
from bestby.pipeline import services
from bestby.pipeline.models import Deal, Stage
from bestby.web.charts import line_chart

CURVE_POINTS = 60


@dataclass(frozen=True)
class Event:
    at: datetime
    kind: str  # stage | close_date | push | touch
    text: str
    by: object = None


def _visible(user, external_id: str) -> Deal:
    return get_object_or_404(access.deals_for(user).select_related("stage", "owner", "pipeline", "account"),
                             external_id=external_id)


def timeline(user, deal: Deal) -> list[Event]:
    """Stage changes (voided ones left out), close-date changes (pushes marked) and touches, newest first."""
    events = [Event(e.at, "stage", f"{e.from_stage.name} → {e.to_stage.name}" if e.from_stage_id
                    else f"entered {e.to_stage.name}", e.by)
              for e in deal.stage_events.filter(void__isnull=True).select_related("from_stage", "to_stage", "by")]
    for e in deal.close_date_events.select_related("by"):
        pushed = e.old_close_date is not None and e.new_close_date > e.old_close_date
        text = (f"close date {e.old_close_date:%Y-%m-%d} → {e.new_close_date:%Y-%m-%d}" if e.old_close_date
                else f"close date set to {e.new_close_date:%Y-%m-%d}")
        events.append(Event(e.at, "push" if pushed else "close_date", text + (" (pushed)" if pushed else ""), e.by))
    for t in access.touches_for(user).filter(deal=deal).select_related("owner", "contact"):
        who = f" with {t.contact}" if t.contact_id else ""
        outcome = f", {t.get_outcome_display().lower()}" if t.outcome else ""
        events.append(Event(t.at, "touch", f"{t.get_channel_display().lower()}{who}{outcome}", t.owner))
    return sorted(events, key=lambda e: e.at, reverse=True)


def _freshness(deal: Deal):
    return getattr(deal, "freshness", None)  # the reverse one-to-one raises an AttributeError when missing


@dataclass
class EditForm:
    """The edit form's values as typed, and their errors by field."""

    name: str
    amount: str
    close_date: str
    stage: str
    version: str
    errors: dict
    confirm_past_close_date: bool = False

    @classmethod
    def initial(cls, deal: Deal) -> EditForm:
        return cls(deal.name, "" if deal.amount is None else f"{deal.amount}",
                   deal.close_date.isoformat() if deal.close_date else "", str(deal.stage_id or ""),
                   str(deal.version), {})

    @classmethod
    def bound(cls, data) -> EditForm:
        return cls(*(data.get(k, "").strip() for k in ("name", "amount", "close_date", "stage", "version")), {},
                   data.get("confirm_past_close_date") == "yes")

    @property
    def past_close_date(self) -> bool:
        """Whether the close date was refused for being in the past (the page then offers to confirm it)."""
        return "in the past" in self.errors.get("close_date", "")

    def cleaned(self, deal: Deal) -> dict:
        """Parse into typed values, recording an error per field that does not parse."""
        out = {"name": self.name, "confirm_past_close_date": self.confirm_past_close_date}
        if not self.name:
            self.errors["name"] = "a deal needs a name; type one"
        try:
            out["version"] = int(self.version)
        except ValueError:
            self.errors["version"] = "missing or not a whole number; reload the page"
        try:
            out["amount"] = Decimal(self.amount.replace(",", "")) if self.amount else None
            if out["amount"] is not None and not out["amount"].is_finite():
                raise InvalidOperation
            out["amount"] = columns.check("pipeline.Deal", "amount", out["amount"])
        except InvalidOperation:
            self.errors["amount"] = f"{self.amount!r} is not a number"
        except OutOfBounds as exc:
            self.errors["amount"] = exc.message
        if len(self.name) > Deal._meta.get_field("name").max_length:
            self.errors["name"] = "too long"
        try:
            out["close_date"] = check_date("close_date", date.fromisoformat(self.close_date)) if self.close_date else None
        except OutOfBounds as exc:
            self.errors["close_date"] = exc.message
        except ValueError:
            self.errors["close_date"] = f"{self.close_date!r} is not a date (YYYY-MM-DD)"
        if out.get("close_date") is None and deal.close_date is not None and "close_date" not in self.errors:
            self.errors["close_date"] = "a close date cannot be removed, only changed"
        stage = Stage.objects.filter(pk=self.stage, pipeline=deal.pipeline_id).first() if self.stage.isascii() and self.stage.isdigit() else None
        if stage is None:
            self.errors["stage"] = "choose a stage of this deal's pipeline"
        out["stage"] = stage
        return out


def apply_edit(deal: Deal, values: dict, *, by) -> Deal:
    """Apply the form's values through the one edit use case (all or nothing, version checked)."""
    return services.edit_deal(deal=deal, by=by, expected_version=values["version"], name=values["name"],
                              amount=values["amount"], close_date=values["close_date"], stage=values["stage"],
                              confirm_past_close_date=values["confirm_past_close_date"])


_HIDDEN = {"version", "audit_id", "stage_id", "stage_event_id", "leads"}


def changes(before: dict | None, after: dict | None) -> str:
    """``field: old → new`` for each audited field that differs (what an audit row shows)."""
    before, after = before or {}, after or {}
    if "deal" in before or "deal" in after:  # clearance entries nest the deal's fields
        before, after = before.get("deal") or {}, after.get("deal") or {}
    keys = [k for k in dict.fromkeys([*before, *after]) if k not in _HIDDEN]
    return "; ".join(f"{k}: {before.get(k) if before.get(k) not in (None, '') else '–'} → "
                     f"{after.get(k) if after.get(k) not in (None, '') else '–'}"
                     for k in keys if before.get(k) != after.get(k))


def _context(user, deal: Deal, form: EditForm, **extra) -> dict:
    audit = list(AuditEntry.objects.filter(object_type=Deal._meta.label_lower, object_id=deal.external_id)
                 .select_related("by")[:100])
    for entry in audit:
        entry.changes = changes(entry.before, entry.after)
    actions = (ClearanceAction.objects.filter(deal=deal).select_related("by", "undone_by").order_by("-pk"))
    return {"deal": deal, "f": _freshness(deal), "timeline": timeline(user, deal), "form": form,
            "invalid": deal.invalid_fields(),
            "stages": deal.pipeline.stages.all(), "audit": audit, "actions": actions, **extra}


@login_required
@require_http_methods(["GET", "POST"])
def deal_page(request, external_id: str):
    deal = _visible(request.user, external_id)
    if request.method == "GET":
        return render(request, "web/deal.html", _context(request.user, deal, EditForm.initial(deal)))
    form = EditForm.bound(request.POST)
    values = form.cleaned(deal)
    stale = saved = None
    if not form.errors:
        try:
            apply_edit(deal, values, by=request.user)
            saved = "Saved."
        except services.StaleEdit as exc:
            stale = str(exc).split(": ", 1)[1]
        except services.DealError as exc:
            field, _, message = str(exc).partition(": ")
            form.errors[field if message else "form"] = message or str(exc)
    if saved:
        deal = _visible(request.user, external_id)
        form = EditForm.initial(deal)
    else:
        deal = _visible(request.user, external_id)  # the row as it stands: nothing was changed
    status = 409 if stale else 400 if form.errors else 200
    return render(request, "web/deal.html", _context(request.user, deal, form, stale=stale, saved=saved),
                  status=status)


def curve_points(model, deal: Deal, *, now: datetime, age_days: float, stage_age_days: float):
    """(ages, P(eventual win | open at age), the deal's marker or None, clock) or None without a model."""
    stage = deal.stage.name if deal.stage_id else None
    fitted, age_clock = model.curve(deal.pipeline.name, stage)
    if fitted is None:
        return None
    age = stage_age_days if age_clock == "stage" else age_days
    top = max(float(fitted.t_max), age if deal.status == "open" else 0.0, 1.0)
    ages = np.linspace(0.0, top, CURVE_POINTS)
    probs = fitted.p_win_eventually(ages)
    marker = None
    if deal.status == "open":
        marker = (age, float(fitted.p_win_eventually(age)))
    return ages.tolist(), [float(p) for p in probs], marker, age_clock


@login_required
def deal_curve(request, external_id: str):
    """The deal's win-probability curve against age (inline SVG); the engine runs here, not on the page."""
    from bestby.engine.win import win_model
    from bestby.pipeline.analytics import store_reader

    deal = _visible(request.user, external_id)
    now = clock.now()
    with store_reader() as store:
        model = win_model(store.tables(now), as_of=now)
    entered = deal.stage_events.filter(void__isnull=True).order_by("-at", "-id").values_list("at", flat=True).first()
    age = (now - deal.created_at).total_seconds() / 86400
    stage_age = (now - (entered or deal.created_at)).total_seconds() / 86400
    points = curve_points(model, deal, now=now, age_days=age, stage_age_days=stage_age)
    chart = age_clock = None
    if points is not None:
        ages, probs, marker, age_clock = points
        x_label = "days in stage" if age_clock == "stage" else "days since the deal was created"
        chart = line_chart(ages, probs, title=f"Chance to win eventually against {x_label}", x_label=x_label,
                           y_label="P(win)", marker=marker,
                           marker_label=f"now: {marker[1] * 100:.0f}%" if marker else "")
    return render(request, "web/_deal_curve.html", {"deal": deal, "chart": chart, "clock": age_clock})
