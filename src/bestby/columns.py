"""The bound of a stored column, read off its Django field: the one source of each column's range.

``bound("pipeline.Deal", "amount")`` is the :class:`bestby.bounds.DecimalBound`
of ``DECIMAL(18, 2)``, narrowed to :data:`bestby.bounds.EXACT_DIGITS` (15)
significant digits, the most SQLite keeps exactly (9,999,999,999,999.99); an ``IntegerField`` gives Django's portable 32-bit
range (the same on SQLite and PostgreSQL), a ``PositiveSmallIntegerField``
0..32,767; a ``DateField`` or ``DateTimeField`` the window
:data:`bestby.bounds.DATES`. Money, quantities and other amounts that cannot be
negative say so with ``minimum`` in :data:`NON_NEGATIVE` rather than in
the database, so the rule stays in one place and an old row is still readable;
a column whose sensible range is narrower than its type's (a probability is
0..1, not any float) is in :data:`NARROWER`.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from django.apps import apps
from django.db import models

from bestby.bounds import DATES, EXACT_DIGITS, PROBABILITY, DecimalBound, FloatBound, IntBound, check_value

#: Django's portable integer ranges (django.db.backends.base.operations.integer_field_ranges)
_INT_RANGES = {
    "SmallIntegerField": (-32_768, 32_767),
    "IntegerField": (-2_147_483_648, 2_147_483_647),
    "BigIntegerField": (-9_223_372_036_854_775_808, 9_223_372_036_854_775_807),
    "PositiveBigIntegerField": (0, 9_223_372_036_854_775_807),
    "PositiveSmallIntegerField": (0, 32_767),
    "PositiveIntegerField": (0, 2_147_483_647),
}

#: columns that must not be negative, by "app.Model.field"
NON_NEGATIVE = {
    "pipeline.Deal.amount", "goals.Quota.amount", "accounts.Account.annual_revenue",
    "accounts.Account.employees", "accounts.Account.payment_terms_days", "accounts.WalletRow.potential_annual_spend",
    "activities.Touch.duration_minutes", "commerce.Product.list_price", "commerce.Product.unit_cost",
}
#: columns whose range is narrower than their type's, by "app.Model.field": the bound that makes sense
NARROWER = {"pipeline.Stage.probability": PROBABILITY}

# Not here on purpose: order-line quantities and prices and invoice amounts, which are negative on
# returns and credit notes in real ledgers.


@lru_cache(maxsize=None)
def bound(model: str, field: str):
    """The bound of ``model`` ("app_label.Model") column ``field``, or None for one with no numeric/date range."""
    spec = apps.get_model(model)._meta.get_field(field)
    key = f"{model}.{field}"
    if key in NARROWER:
        return NARROWER[key]
    if isinstance(spec, models.DecimalField):
        return DecimalBound(min(spec.max_digits, EXACT_DIGITS), spec.decimal_places,
                            Decimal(0) if key in NON_NEGATIVE else None)
    kind = spec.get_internal_type()
    if kind in _INT_RANGES:
        lo, hi = _INT_RANGES[kind]
        return IntBound(max(lo, 0) if key in NON_NEGATIVE else lo, hi)
    if isinstance(spec, models.FloatField):
        return FloatBound(0.0 if key in NON_NEGATIVE else -1e300, 1e300)
    if isinstance(spec, (models.DateField, models.DateTimeField)):
        return DATES
    return None


def check(model: str, field: str, value, *, name: str | None = None, rounding: bool = False):
    """``value`` checked against ``model.field``'s bound (None passes), refusing with ``name`` (default ``field``)."""
    if value is None:
        return None
    spec = bound(model, field)
    if spec is None:
        return value
    return check_value(spec, name or field, value, rounding=rounding)
