"""Quota use cases: add, change and delete a goal row, checked against the editor's role, audited.

A quota is a setting (the goal an owner is measured against), not data an
analysis removes, so deleting a row is allowed; every change writes an audit
entry with who did it and the row before and after. Who may edit which owner
key is :func:`bestby.people.access.quota_editable_keys`.

Input comes as text from a form or as values from the API; :func:`quota_values`
reads it and every refusal is a :class:`QuotaError` naming the field
(``owner``, ``period``, ``start``, ``end``, ``amount``); nothing changes then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction

from bestby import clock
from bestby.bounds import DATES, EXACT_DIGITS, OutOfBounds
from bestby.audit.services import record
from bestby.goals.models import Quota
from bestby.people import access
from bestby.people.models import User

__all__ = ["QuotaDenied", "QuotaError", "QuotaValues", "change_quota", "create_quota", "delete_quota",
           "owner_exists", "quota_values", "snapshot"]

TEAM = "team:"
MAX_AMOUNT = Decimal(10) ** (EXACT_DIGITS - 2)  # 15 significant digits (bestby.bounds), 2 after the point


class QuotaError(ValueError):
    """Bad input; ``field`` names it. Nothing changed."""

    def __init__(self, field: str, message: str) -> None:
        self.field, self.message = field, message
        super().__init__(f"{field}: {message}")


class QuotaDenied(PermissionError):
    """The user may not edit this owner's quotas. Nothing changed."""


@dataclass(frozen=True)
class QuotaValues:
    owner_key: str
    period_start: date
    period_end: date
    amount: Decimal


def snapshot(quota: Quota) -> dict:
    """The audited fields of a quota, JSON-ready."""
    return {"owner_key": quota.owner_key, "period_start": quota.period_start.isoformat(),
            "period_end": quota.period_end.isoformat(), "amount": str(quota.amount)}


def owner_exists(key: str) -> bool:
    """A user's external id, or ``team:NAME`` for a team some user belongs to."""
    if key.startswith(TEAM):
        name = key[len(TEAM):]
        return bool(name) and User.objects.filter(team=name).exists()
    return User.objects.filter(external_id=key).exists()


def _date(value, field: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return _in_window(value, field)
    raw = str(value or "").strip()
    if not raw:
        raise QuotaError(field, "is required (or give a period such as 2026-Q1)")
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise QuotaError(field, f"{raw!r} is not a date (YYYY-MM-DD)") from None
    return _in_window(day, field)


def _in_window(day: date, field: str) -> date:
    """``day`` inside bestby.bounds.DATES (a quota ending 9999-12-31 once broke coverage for everyone)."""
    try:
        return DATES.check(field, day)
    except OutOfBounds as exc:
        raise QuotaError(field, exc.message) from None


def _amount(value) -> Decimal:
    raw = str(value if value is not None else "").strip().replace(",", "")
    if not raw:
        raise QuotaError("amount", "is required")
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise QuotaError("amount", f"{raw!r} is not a number") from None
    if not amount.is_finite() or amount <= 0:
        raise QuotaError("amount", f"must be greater than 0, got {raw}")
    if amount >= MAX_AMOUNT:
        raise QuotaError("amount", f"{raw} is too large (at most 13 digits before the point: 9,999,999,999,999.99)")
    if amount != amount.quantize(Decimal("0.01")):
        raise QuotaError("amount", f"{raw} has more than 2 decimals")
    return amount.quantize(Decimal("0.01"))


def quota_values(*, owner, by, period=None, start=None, end=None, amount=None) -> QuotaValues:
    """Read a quota's input: ``period`` (fiscal text such as 2026-Q1) fills start and end when given,
    else ``start`` and ``end`` (dates or ISO text, both included). Checks that the owner exists.

    An owner whose quotas ``by`` may not see (:func:`bestby.people.access.quota_keys_for`) is refused
    with the very words of an owner that does not exist: telling them apart would tell a rep which
    user ids and team names exist in other teams. One they see but may not edit goes on to
    :class:`QuotaDenied` in the use case (nothing secret there).
    """
    from bestby.goals.params import ParamError, period_param

    for field, value in (("owner", owner), ("period", period), ("start", start), ("end", end), ("amount", amount)):
        if isinstance(value, str) and "\x00" in value:  # PostgreSQL text cannot hold it: bad input, not a 500
            raise QuotaError(field, "must not contain NUL (0x00) characters")
    key = str(owner or "").strip()
    if not key:
        raise QuotaError("owner", "is required (a user's id or team:NAME)")
    visible = access.quota_keys_for(by)
    if (visible is not None and key not in visible) or not owner_exists(key):
        raise QuotaError("owner", f"{key!r} is neither a user's id nor team:NAME of an existing team "
                                  "(or you may not see it)")
    text = str(period or "").strip()
    if text:
        try:
            p = period_param(text, clock.now())
        except ParamError as exc:
            raise QuotaError("period", exc.message) from None
        first, last = p.start, p.last_day
    else:
        first, last = _date(start, "start"), _date(end, "end")
        if last < first:
            raise QuotaError("end", f"{last.isoformat()} is before the start {first.isoformat()}")
    return QuotaValues(key, first, last, _amount(amount))


def _check_allowed(by, key: str) -> None:
    keys = access.quota_editable_keys(by)
    if keys is not None and key not in keys:
        raise QuotaDenied(f"you may not edit the quotas of {key!r}")


def _check_free(values: QuotaValues, *, other_than: int | None = None) -> None:
    clash = Quota.objects.filter(owner_key=values.owner_key, period_start=values.period_start,
                                 period_end=values.period_end).exclude(pk=other_than)
    if clash.exists():
        raise QuotaError("period", f"{values.owner_key} already has a quota from {values.period_start} to "
                                   f"{values.period_end}; change that one")


def _save(quota: Quota) -> None:
    try:
        with transaction.atomic():
            quota.save()
    except IntegrityError:  # a concurrent add of the same owner and days
        raise QuotaError("period", f"{quota.owner_key} already has a quota from {quota.period_start} to "
                                   f"{quota.period_end}") from None


@transaction.atomic
def create_quota(*, by, values: QuotaValues, reason: str = "") -> Quota:
    """Add a quota row for ``values.owner_key``; audit it."""
    _check_allowed(by, values.owner_key)
    _check_free(values)
    quota = Quota(owner_key=values.owner_key, period_start=values.period_start, period_end=values.period_end,
                  amount=values.amount)
    _save(quota)
    record(by=by, action="quota.create", obj=quota, before=None, after=snapshot(quota), reason=reason)
    return quota


@transaction.atomic
def change_quota(*, by, quota: Quota, values: QuotaValues, reason: str = "") -> Quota:
    """Change a quota row (its owner too: the user must be allowed both); audit it."""
    quota = Quota.objects.select_for_update().get(pk=quota.pk)
    _check_allowed(by, quota.owner_key)
    _check_allowed(by, values.owner_key)
    _check_free(values, other_than=quota.pk)
    before = snapshot(quota)
    quota.owner_key, quota.period_start, quota.period_end, quota.amount = (
        values.owner_key, values.period_start, values.period_end, values.amount)
    _save(quota)
    after = snapshot(quota)
    if after != before:
        record(by=by, action="quota.change", obj=quota, before=before, after=after, reason=reason)
    return quota


@transaction.atomic
def delete_quota(*, by, quota: Quota, reason: str = "") -> None:
    """Delete a quota row; audit it (the entry keeps the row's values)."""
    quota = Quota.objects.select_for_update().get(pk=quota.pk)
    _check_allowed(by, quota.owner_key)
    record(by=by, action="quota.delete", obj=quota, before=snapshot(quota), after=None, reason=reason)
    quota.delete()
