"""Response shapes of the report endpoints: the documents of :mod:`bestby.goals.reports` (as ``bestby coverage
--json`` and friends print them), and quota rows. Report rows allow extra fields: the document is passed on
whole, so a figure the engine adds reaches the API without a schema change."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Optional

from ninja import Field
from pydantic import BaseModel, ConfigDict

from bestby.api.schemas import Schema

Amount = Optional[float]


class _Open(BaseModel):
    """A plain pydantic model that keeps fields it does not name (ninja's Schema would drop them)."""

    model_config = ConfigDict(extra="allow")


class _Head(_Open):
    period: str
    start: str
    end: str
    as_of: str


class CoverageFigures(_Open):
    goal: Amount = None
    won: Amount = None
    to_go: Amount = None
    raw: Amount = None
    fresh: Amount = None
    weighted: Amount = None
    needed: Amount = None
    win_rate: Amount = None
    raw_coverage: Amount = None
    fresh_coverage: Amount = None
    weighted_coverage: Amount = None
    open_n: Optional[int] = None
    closed_n: Optional[int] = None


class CoverageRow(CoverageFigures):
    level: str
    key: str


class CoverageDoc(_Head, CoverageFigures):
    groups: list[CoverageRow]


class ForecastFigures(_Open):
    won: Amount = None
    open_expected: Amount = None
    new_expected: Amount = None
    expected: Amount = None
    p10: Amount = None
    p50: Amount = None
    p90: Amount = None
    goal: Amount = None
    open_n: Optional[int] = None
    unmodelled_n: Optional[int] = None


class ForecastRow(ForecastFigures):
    level: str
    key: str


class ForecastDeal(_Open):
    deal_id: str
    owner_id: Optional[str] = None
    team: Optional[str] = None
    pipeline: str
    amount: Amount = None
    probability: Amount = None
    contribution: Amount = None


class ForecastDoc(_Head, ForecastFigures):
    groups: list[ForecastRow]
    deals: list[ForecastDeal]


class FunnelRow(_Open):
    pipeline: str
    segment: Optional[str] = None
    stage: str
    next_stage: Optional[str] = None
    entered: int
    advanced: int
    lost_here: int
    still_here: int
    to_next: Amount = None
    won: int
    closed: int
    to_won: Amount = None


class ReverseFunnelRow(_Open):
    level: str
    key: str
    period: str
    goal: Amount = None
    to_go: Amount = None
    weighted: Amount = None
    gap: Amount = None
    days_left: Amount = None
    deals_per_week: Amount = None
    meetings_per_week: Amount = None
    deals_per_week_now: Amount = None
    meetings_per_week_now: Amount = None


class BacktestSnapshot(_Open):
    period: str
    weeks_in: int
    as_of: str
    forecast: Amount = None
    p10: Amount = None
    p50: Amount = None
    p90: Amount = None
    actual: Amount = None
    error: Amount = None
    baselines: dict[str, Amount]


class BacktestScore(_Open):
    mape: Amount = None
    brier: Amount = None


class BacktestSummary(BacktestScore):
    interval_coverage: Amount = None


class CalibrationBin(_Open):
    low: float
    high: float
    n: int
    mean_p: Amount = None
    won: Amount = None


class BacktestDoc(_Open):
    periods: list[BacktestSnapshot]
    summary: BacktestSummary
    baselines: dict[str, BacktestScore]
    calibration: list[CalibrationBin]
    skipped: list[dict]


# ---------------------------------------------------------------- quotas

class QuotaOut(Schema):
    id: int
    owner: str = Field(description="a user's id, or team:NAME")
    period_start: date
    period_end: date
    amount: Decimal
    editable: bool = Field(description="whether you may change or delete it")


class QuotaIn(Schema):
    owner: str = Field(max_length=120, description="a user's id, or team:NAME for a team goal")
    period: Optional[str] = Field(None, max_length=40, description="a fiscal period (2026-Q1, FY2026, 2025-07): "
                                                                   "fills period_start and period_end")
    period_start: Optional[date] = Field(None, description="the first day (without period)")
    period_end: Optional[date] = Field(None, description="the last day, included (without period)")
    amount: Decimal = Field(max_digits=15, decimal_places=2, description="greater than 0")


class QuotaPatch(Schema):
    owner: Optional[str] = Field(None, max_length=120)
    period: Optional[str] = Field(None, max_length=40)
    period_start: Optional[date] = None
    period_end: Optional[date] = None
    amount: Optional[Decimal] = Field(None, max_digits=15, decimal_places=2)


class QuotaList(Schema):
    count: int
    limit: int
    offset: int
    items: list[QuotaOut]
