"""The API's writes of accounts, contacts and touches (no service existed for them): validated, audited, atomic.

Deals are written only by :mod:`bestby.pipeline.services`; these records have
no history of their own, so a write is a plain save plus an audit entry.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.forms.models import model_to_dict

from bestby.accounts.models import Account
from bestby.api.common import taken
from bestby.api.errors import FieldError
from bestby.audit.services import record


def _json(obj) -> dict:
    return {k: (v if isinstance(v, (str, int, float, bool, type(None))) else str(v))
            for k, v in model_to_dict(obj).items() if k not in ("id", "custom", "created_by")}


def check_email(value: str | None) -> None:
    if value:
        try:
            validate_email(value)
        except ValidationError:
            raise FieldError(422, "email", f"{value!r} is not a valid e-mail address") from None


@transaction.atomic
def create(model, *, by, **fields):
    """Create a record whose ``external_id`` came from :func:`bestby.api.common.new_external_id`; audit it.

    An account remembers who created it (``created_by``): that is who sees it
    until it has a deal (:func:`bestby.people.access.accounts_for`).
    """
    if model is Account:
        fields["created_by"] = by
    try:
        with transaction.atomic():
            obj = model.objects.create(**fields)
    except IntegrityError:  # the same id created at the same moment by another request
        raise taken(model._meta.verbose_name, fields["external_id"]) from None
    record(by=by, action=f"{model._meta.model_name}.create", obj=obj, before=None, after=_json(obj))
    return obj


@transaction.atomic
def update(obj, *, by, **changes):
    obj = type(obj).objects.select_for_update().get(pk=obj.pk)
    before = _json(obj)
    for key, value in changes.items():
        setattr(obj, key, value)
    obj.save()
    record(by=by, action=f"{obj._meta.model_name}.update", obj=obj, before=before, after=_json(obj))
    return obj
