"""The Django admin checks the same bounds as every other input path (bestby.bounds, bestby.columns).

Django's model forms already refuse a decimal with too many digits, but not
a date in the year 9999, a negative amount or a NUL in text; an admin is a
person typing too. :class:`BoundedAdmin` adds one validator per form field
whose column has a bound, so the admin's form shows the same message, next
to the field, as the pages and the API.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import ValidationError

from bestby import bounds, columns


def _validator(label: str, name: str):
    def validate(value) -> None:
        try:
            if isinstance(value, str):
                bounds.check_text(name, value)
            else:
                columns.check(label, name, value)
        except bounds.OutOfBounds as exc:
            raise ValidationError(exc.message, code="out_of_bounds") from None

    return validate


class BoundedAdmin(admin.ModelAdmin):
    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None and getattr(db_field, "model", None) is not None and db_field.concrete:
            field.validators.append(_validator(db_field.model._meta.label, db_field.name))
        return field
