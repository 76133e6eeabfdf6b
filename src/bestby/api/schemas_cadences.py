"""Request and response shapes of the cadence endpoints (:mod:`bestby.api.cadences`).

People are named by their external ids (leads, contacts, deals, users);
cadences by their unique name; tasks and enrolments, which have no external
id, by their number. Channels and outcomes are the interchange format's
(FORMAT.md): a step uses a real touch channel (``meeting`` is an outcome,
``social`` is never a touch), and a buyer's reply arrives on any channel but
``social``.
"""

from __future__ import annotations

from decimal import Decimal

from datetime import date, datetime
from typing import Literal, Optional

from ninja import Field

from bestby.api.schemas import Schema, Text
from bestby.cadences.schedule import MAX_OFFSET, STEP_CHANNELS
from bestby.format import CHANNELS, OUTCOMES

#: the longest cadence the API accepts; far beyond the six steps a cadence needs, short of abuse
MAX_STEPS = 50
#: the most people one enrol request takes (one transaction: all or nothing)
MAX_ENROL = 500
Key = Field(..., min_length=1, max_length=120)
REPLY_CHANNELS = tuple(c for c in CHANNELS if c != "social")


# ---------------------------------------------------------------- cadences

class CadenceStepIO(Schema):
    offset: int = Field(..., ge=0, le=MAX_OFFSET, description="business days from the start (0: the first day)")
    channel: Literal[STEP_CHANNELS]  # type: ignore[valid-type]
    instruction: str = Field("", max_length=2000)


class CadenceOut(Schema):
    name: str
    description: str
    default: bool
    updated_at: datetime
    updated_by: Optional[str]
    steps: list[CadenceStepIO]


class CadenceIn(Schema):
    name: str = Field(..., min_length=1, max_length=80)
    description: str = Field("", max_length=2000)
    default: bool = Field(False, description="make this the cadence new enrolments use when none is named")
    steps: list[CadenceStepIO] = Field(..., max_length=MAX_STEPS,
                                       description="in order; offsets never go back")


# ---------------------------------------------------------------- tasks and enrolments

class CadenceTaskOut(Schema):
    id: int
    owner: str
    lead: Optional[str]
    contact: Optional[str]
    deal: Optional[str]
    name: str = Field(..., description="the person's name, for lists")
    cadence: Optional[str] = Field(..., description="null for an extra call (one more call)")
    enrollment: Optional[int]
    enrollment_status: Optional[str]
    position: Optional[int]
    channel: str
    instruction: str
    planned_on: date
    due_on: date
    status: str
    done_on: Optional[date]
    outcome: str
    reason: str
    touch: Optional[str]


class TodayOut(Schema):
    user: str
    day: date = Field(..., description="today on the seller's own calendar")
    tasks: list[CadenceTaskOut] = Field(..., description="open tasks due on or before day, overdue first")


class ContactOnDeal(Schema):
    contact: str = Key
    deal: Optional[str] = Field(None, min_length=1, max_length=120)


class EnrolIn(Schema):
    leads: list[Text] = Field([], max_length=MAX_ENROL, description="lead ids")
    contacts: list[ContactOnDeal] = Field([], max_length=MAX_ENROL, description="contacts (on a deal) to enrol")
    cadence: Optional[str] = Field(None, min_length=1, max_length=80, description="name; default: the default cadence")
    start: Optional[date] = Field(None, description="first day; default: each seller's today")


class EnrollmentOut(Schema):
    id: int
    cadence: str
    lead: Optional[str]
    contact: Optional[str]
    deal: Optional[str]
    owner: str
    started_on: date
    status: str
    tasks: list[CadenceTaskOut]


class TaskDoneIn(Schema):
    outcome: Optional[Literal[OUTCOMES]] = None  # type: ignore[valid-type]
    at: Optional[datetime] = Field(None, description="when it was done, with its offset; default: now")
    notes: str = Field("", max_length=20_000)


class TaskSkipIn(Schema):
    reason: str = Field("", max_length=1000)
    at: Optional[datetime] = Field(None, description="when it was skipped, with its offset; default: now")


class BuyerIn(Schema):
    channel: Literal[REPLY_CHANNELS] = "email"  # type: ignore[valid-type]
    at: Optional[datetime] = Field(None, description="when the buyer answered, with its offset; default: now")
    notes: str = Field("", max_length=20_000)


class ConvertIn(Schema):
    pipeline: Optional[str] = Field(None, min_length=1, max_length=200, description="default: the first pipeline")
    stage: Optional[str] = Field(None, min_length=1, max_length=200,
                                 description="an open stage; default: the pipeline's first open stage")
    amount: Optional[Decimal] = Field(None, ge=0, max_digits=14, decimal_places=2)


class ConvertOut(Schema):
    lead: str
    deal: str
    pipeline: str
    stage: str
    owner: Optional[str]


class OneMoreCallIn(Schema):
    user: Optional[str] = Field(None, min_length=1, max_length=120, description="the seller; default: you")
    instruction: str = Field("One more call.", min_length=1, max_length=2000)


class SocialIn(Schema):
    lead: Optional[str] = Field(None, min_length=1, max_length=120)
    contact: Optional[str] = Field(None, min_length=1, max_length=120)
    at: Optional[datetime] = None
    notes: str = Field("", max_length=20_000)


class SocialOut(Schema):
    id: str
    at: datetime
    channel: str
    owner: str
    lead: Optional[str]
    contact: Optional[str]
    account: Optional[str]
    notes: str


# ---------------------------------------------------------------- adherence

class AdherenceOut(Schema):
    period: str
    start: date
    end: date = Field(..., description="the period's last day")
    as_of: str = Field(..., description="a date (every seller's) or an instant (each seller's own date)")
    stop_after: int = Field(..., description="business days of silence after which a run of attempts has stopped")
    abandon_at: int = Field(..., description="a run stopped after this many attempts or fewer is abandoned")
    rows: list[dict] = Field(..., description="one row per level (all, team, owner) and key, with the figures of "
                                              "bestby.cadences.adherence: due, on_time, late, overdue, skipped and "
                                              "their shares, runs, touches before stop, rates by touch number")
