"""Request and response shapes. Records are named by their external ids (FORMAT.md), never database keys."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal, Optional

import math

from ninja import Field
from ninja import Schema as _Schema
from pydantic import AfterValidator, ValidationInfo, field_validator

from bestby import bounds
from bestby.format import BUYING_ROLES, CHANNELS, DIRECTIONS, OUTCOMES

def _no_nul(value):
    """PostgreSQL text cannot hold NUL characters: refuse them as bad input (422 naming the field), not 500."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("must not contain NUL (0x00) characters")
    return value


def _in_bounds(value):
    """An input value the store can hold (bestby.bounds): no NUL, dates in 1900..2199, integers in 64 bits, finite floats.

    Applied to every field of every request body and to the query and path
    parameters typed ``Text``/``Day``; a field's own ``Field(le=..)`` or
    ``max_digits`` narrows it further.
    """
    _no_nul(value)
    if isinstance(value, (date, datetime)):
        try:
            bounds.DATES.check("value", value)
        except bounds.OutOfBounds as exc:
            raise ValueError(exc.message) from None  # pydantic names the field
    elif isinstance(value, int) and not isinstance(value, bool):
        if not -(2 ** 63) < value < 2 ** 63:
            raise ValueError("is out of range: too large a whole number")
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]  # for query and path parameters
Day = Annotated[date, AfterValidator(_in_bounds)]  # a date query parameter
Moment = Annotated[datetime, AfterValidator(_in_bounds)]  # a timestamp query parameter
Key = Annotated[int, Field(ge=1, le=2 ** 63 - 1)]  # a database key in a path (a larger one would overflow the query)


class Schema(_Schema):
    """Every request body is checked field by field (:func:`_in_bounds`); answers are what is stored, unchecked.

    A response is validated by django-ninja with ``response_status`` in the
    context: a stored value that an input would be refused for (a NUL written
    before the check existed) is answered as it is, never turned into a 500.
    """

    @field_validator("*", mode="after")
    @classmethod
    def _bounded(cls, value, info: ValidationInfo):
        if info.context and "response_status" in info.context:
            return value
        return _in_bounds(value)


OptText = Field(None, max_length=300)
Money = Field(None, ge=0, max_digits=15, decimal_places=2)  # bestby.bounds.EXACT_DIGITS


class Error(Schema):
    detail: str
    field: Optional[str] = None


# ---------------------------------------------------------------- deals

class DealOut(Schema):
    id: str
    name: str
    pipeline: str
    stage: Optional[str]
    status: str
    amount: Optional[Decimal]
    currency: str
    close_date: Optional[date]
    closed_at: Optional[datetime]
    created_at: datetime
    owner: Optional[str]
    account: Optional[str]
    source: str
    lost_reason: str
    version: int


#: the ``id`` of a create body (the rule: bestby.api.common.new_external_id)
ID_HELP = ("external id; admins only (an integration keeping its CRM's ids): anyone else leaves it out and "
           "gets a new one (api-deal-...)")


#: the confirmation a close date before today on an open deal needs (bestby.pipeline.services.check_close_date)
CONFIRM_HELP = "true to keep a close date before today on an open deal (refused with 422 otherwise)"


class DealIn(Schema):
    id: Optional[str] = Field(None, min_length=1, max_length=120, description=ID_HELP)
    pipeline: str = Field(..., min_length=1, max_length=120)
    stage: str = Field(..., min_length=1, max_length=120)
    name: str = Field(..., min_length=1, max_length=300, pattern=r"\S", description="a deal needs a name")
    amount: Optional[Decimal] = Money
    close_date: Optional[date] = None
    confirm_past_close_date: bool = Field(False, description=CONFIRM_HELP)
    owner: Optional[str] = Field(None, max_length=120, description="user external id; default: you")
    account: Optional[str] = Field(None, max_length=120)
    source: str = Field("", max_length=120)


class DealPatch(Schema):
    version: int = Field(..., ge=1, le=2_147_483_647,
                         description="the version you loaded; a stale one is refused (409)")
    name: Optional[str] = Field(None, min_length=1, max_length=300, pattern=r"\S", description="not blank")
    amount: Optional[Decimal] = Money
    owner: Optional[str] = Field(None, max_length=120)
    account: Optional[str] = Field(None, max_length=120)
    source: Optional[str] = Field(None, max_length=120)
    stage: Optional[str] = Field(None, min_length=1, max_length=120)
    lost_reason: Optional[str] = OptText
    close_date: Optional[date] = None
    confirm_past_close_date: bool = Field(False, description=CONFIRM_HELP)
    reason: str = Field("", max_length=1000, description="why (kept in the audit log)")


class DealPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[DealOut]


# ---------------------------------------------------------------- accounts and contacts

class AccountOut(Schema):
    id: str
    name: str
    sector: str
    territory: str
    employees: Optional[int]
    annual_revenue: Optional[Decimal]
    parent: Optional[str]
    payment_terms_days: Optional[int]


class AccountIn(Schema):
    id: Optional[str] = Field(None, min_length=1, max_length=120, description=ID_HELP)
    name: str = Field(..., min_length=1, max_length=300)
    sector: str = Field("", max_length=120)
    territory: str = Field("", max_length=120)
    employees: Optional[int] = Field(None, ge=0, le=10_000_000)
    annual_revenue: Optional[Decimal] = Field(None, ge=0, max_digits=15, decimal_places=2)
    parent: Optional[str] = Field(None, max_length=120)
    payment_terms_days: Optional[int] = Field(None, ge=0, le=3650)


class AccountPatch(Schema):
    name: Optional[str] = Field(None, min_length=1, max_length=300)
    sector: Optional[str] = Field(None, max_length=120)
    territory: Optional[str] = Field(None, max_length=120)
    employees: Optional[int] = Field(None, ge=0, le=10_000_000)
    annual_revenue: Optional[Decimal] = Field(None, ge=0, max_digits=15, decimal_places=2)
    payment_terms_days: Optional[int] = Field(None, ge=0, le=3650)


class AccountPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[AccountOut]


class ContactOut(Schema):
    id: str
    account: Optional[str]
    name: str
    title: str
    email: str
    phone: str
    buying_role: str


class ContactIn(Schema):
    id: Optional[str] = Field(None, min_length=1, max_length=120, description=ID_HELP)
    account: str = Field(..., min_length=1, max_length=120)
    name: str = Field(..., min_length=1, max_length=200)
    title: str = Field("", max_length=200)
    email: str = Field("", max_length=254)
    phone: str = Field("", max_length=60)
    buying_role: Optional[Literal[BUYING_ROLES]] = None  # type: ignore[valid-type]


class ContactPatch(Schema):
    name: Optional[str] = Field(None, min_length=1, max_length=200)
    title: Optional[str] = Field(None, max_length=200)
    email: Optional[str] = Field(None, max_length=254)
    phone: Optional[str] = Field(None, max_length=60)
    buying_role: Optional[Literal[BUYING_ROLES]] = None  # type: ignore[valid-type]


class ContactPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[ContactOut]


# ---------------------------------------------------------------- touches

class TouchOut(Schema):
    id: str
    at: datetime
    channel: str
    owner: Optional[str]
    direction: str
    outcome: str
    deal: Optional[str]
    contact: Optional[str]
    account: Optional[str]
    duration_minutes: Optional[int]
    notes: str


class TouchIn(Schema):
    id: Optional[str] = Field(None, min_length=1, max_length=120, description=ID_HELP)
    at: datetime
    channel: Literal[CHANNELS]  # type: ignore[valid-type]
    direction: Optional[Literal[DIRECTIONS]] = None  # type: ignore[valid-type]
    outcome: Optional[Literal[OUTCOMES]] = None  # type: ignore[valid-type]
    deal: Optional[str] = Field(None, max_length=120)
    contact: Optional[str] = Field(None, max_length=120)
    account: Optional[str] = Field(None, max_length=120)
    duration_minutes: Optional[int] = Field(None, ge=0, le=24 * 60)
    notes: str = Field("", max_length=20_000)


class TouchPatch(Schema):
    outcome: Optional[Literal[OUTCOMES]] = None  # type: ignore[valid-type]
    direction: Optional[Literal[DIRECTIONS]] = None  # type: ignore[valid-type]
    duration_minutes: Optional[int] = Field(None, ge=0, le=24 * 60)
    notes: Optional[str] = Field(None, max_length=20_000)


class TouchPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[TouchOut]


# ---------------------------------------------------------------- analytics and clearance

class ShelfLifeRow(Schema):
    pipeline: str
    stage: Optional[str]
    segment: Optional[str]
    quantile: float
    days: Optional[float]
    n: int
    segment_n: Optional[int] = None
    fallback: Optional[bool] = None


class Reason(Schema):
    code: str
    text: str


class FreshnessOut(Schema):
    deal: str
    name: str
    owner: Optional[str]
    stage: Optional[str]
    amount: Optional[Decimal]
    state: str
    reasons: list[Reason]
    best_by: Optional[datetime]
    win_probability: Optional[float]
    staleness: Optional[float]
    weight: float
    age_days: float
    stage_age_days: float
    days_since_touch: Optional[float]
    close_date_pushes: int
    as_of: datetime


class FreshnessPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[FreshnessOut]


class ClearIn(Schema):
    reason: str = Field(..., max_length=1000)
    to: Literal["lost", "nurture"] = "lost"


class SnoozeIn(Schema):
    until: date
    reason: str = Field(..., max_length=1000)


class UndoIn(Schema):
    reason: str = Field("", max_length=1000)


class ActionOut(Schema):
    id: int
    kind: str
    deal: str
    to: str
    until: Optional[date]
    reason: str
    by: Optional[str]
    at: datetime
    undoes: Optional[int]
    batch: str
