"""The clearance policy stored by admins (Settings page): read, validate, save.

The stored policy is the rows of :class:`bestby.clearance.models.PolicySetting`
seen as the mapping a policy file holds, ``{"default": {...}, "pipelines":
{NAME: {...}}}``, so the same validator (:func:`bestby.engine.policy.
policies_from_mapping`) and the same precedence apply: a pipeline's values
override the default's, which override the built-in defaults. A section stores
only the settings an admin set; an empty form field means "not set here"
(inherit). Consequence: a pipeline cannot set an optional setting (segment,
lookback_days, no_second_meeting_days) back to None when the default sets it.

Where the policy comes from (``resolve_policy`` in ``bestby.cli_analytics``):
``--policy FILE``, else ``$BESTBY_HOME/policy.toml``, else these rows, else
the built-in defaults.
"""

from __future__ import annotations

import math

from django.db import transaction

from bestby import clock
from bestby.audit.services import record
from bestby.clearance.models import PolicySetting
from bestby.engine.policy import FIELDS, ClearancePolicy, policies_from_mapping

__all__ = ["PolicyInputError", "parse_form", "save_section", "stored_mapping", "stored_policy"]

FLOATS = ("quantile", "aging_fraction", "expired_idle_days", "no_touch_days", "close_date_grace_days",
          "win_probability_floor")
OPTIONAL_FLOATS = ("no_second_meeting_days", "lookback_days")
INTS = ("stalled_after_pushes",)
STRINGS = ("first_meeting_stage", "second_meeting_stage")
CHOICES = {"segment": ("owner", "team", "product", "source", "amount_band")}
BOOLS = ("business_days",)
assert set(FLOATS + OPTIONAL_FLOATS + INTS + STRINGS + BOOLS) | set(CHOICES) == set(FIELDS)


class PolicyInputError(ValueError):
    """A policy setting was refused; ``field`` names it and nothing was saved."""

    def __init__(self, field: str | None, message: str):
        self.field = field
        super().__init__(message)


def stored_mapping() -> dict:
    """The stored rows as a policy mapping (``{}`` when nothing is stored)."""
    data: dict = {}
    for row in PolicySetting.objects.select_related("pipeline").order_by("pipeline__name"):
        if row.pipeline_id is None:
            data["default"] = dict(row.values)
        else:
            data.setdefault("pipelines", {})[row.pipeline.name] = dict(row.values)
    return data


def stored_policy() -> ClearancePolicy | dict[str, ClearancePolicy] | None:
    """The stored policy (one policy, or a PolicyMap with per-pipeline policies); None when none is stored."""
    data = stored_mapping()
    return policies_from_mapping(data, source="stored policy") if data else None


def _field_of(message: str) -> str | None:
    hits = [(message.find(name), name) for name in FIELDS if name in message]
    return min(hits)[1] if hits else None


def parse_form(form) -> dict:
    """Typed setting values from a submitted form (strings); an empty field is left out (inherited)."""
    values: dict = {}
    for name in FIELDS:
        raw = (form.get(name) or "").strip()
        if name in BOOLS:
            raw = raw.lower()
        if not raw:
            continue
        if name in BOOLS:
            if raw not in ("true", "false"):
                raise PolicyInputError(name, f"{name} must be true or false, got {raw!r}")
            values[name] = raw == "true"
        elif name in CHOICES:
            if raw not in CHOICES[name]:
                raise PolicyInputError(name, f"{name} must be one of {', '.join(CHOICES[name])}, got {raw!r}")
            values[name] = raw
        elif name in STRINGS:
            values[name] = raw
        elif name in INTS:
            try:
                values[name] = int(raw)
            except ValueError:
                raise PolicyInputError(name, f"{name} must be a whole number, got {raw!r}") from None
        else:
            try:
                number = float(raw)
            except ValueError:
                raise PolicyInputError(name, f"{name} must be a number, got {raw!r}") from None
            if math.isnan(number) or math.isinf(number):
                raise PolicyInputError(name, f"{name} must be a finite number, got {raw!r}")
            values[name] = number
    return values


@transaction.atomic
def save_section(*, pipeline, values: dict, by) -> PolicySetting | None:
    """Store the settings of one section (``pipeline`` None: the default) after validating the whole policy.

    The section's values replace what it held; an empty ``values`` removes the
    section. The new mapping is validated as a whole (a pipeline section is
    checked merged over the default); on error :class:`PolicyInputError`
    names the field and nothing changes. The change is audited.
    """
    data = stored_mapping()
    if pipeline is None:
        section = "default"
        if values:
            data["default"] = values
        else:
            data.pop("default", None)
    else:
        section = f"pipelines.{pipeline.name}"
        pipelines = data.setdefault("pipelines", {})
        if values:
            pipelines[pipeline.name] = values
        else:
            pipelines.pop(pipeline.name, None)
        if not pipelines:
            data.pop("pipelines")
    try:
        policies_from_mapping(data, source="policy")
    except ValueError as exc:
        message = str(exc).removeprefix("policy: ")
        raise PolicyInputError(_field_of(message.split("] ", 1)[-1]), message) from None
    row = PolicySetting.objects.select_for_update().filter(pipeline=pipeline).first()
    before = dict(row.values) if row is not None else None
    if not values:
        if row is not None:
            record(by=by, action="policy.remove", obj=row, before=before, after=None, reason=f"[{section}]")
            row.delete()
        return None
    now = clock.now()
    if row is None:
        row = PolicySetting.objects.create(pipeline=pipeline, values=values, updated_at=now, updated_by=by)
    else:
        row.values, row.updated_at, row.updated_by = values, now, by
        row.save()
    record(by=by, action="policy.change", obj=row, before=before, after=dict(values), reason=f"[{section}]")
    return row
