"""Goals for a period from quota rows: a quota spread evenly over its days.

A quota row (``quotas`` in FORMAT.md: owner_id, period_start, period_end,
amount) covers the days ``period_start`` .. ``period_end``, both included
(a one-day quota has start = end). The goal of an owner for a period P is

    goal(owner, P) = sum over the owner's rows r of  r.amount * |days(r) ∩ P| / |days(r)|

rounded once, at the end, to cents (half to even). So monthly quotas add up
to a quarter's goal exactly, a yearly quota gives a month the share of its
days (31/365 of the year for a 31-day month), and a row outside P adds 0.
Why by days and not by months: quota rows may start on any day, and days
are the only unit every row shares. Overlapping rows of one owner add up:
they are taken as separate goals (a base quota plus a stretch), never
de-duplicated.

A team's goal comes from rows whose owner is ``team:NAME``; it is not the
sum of its sellers' goals (teams often carry a goal above that sum).

A row whose period lies outside :data:`bestby.bounds.DATES` (a quota ending
9999-12-31, stored before bounds were checked) is no goal anyone set: it is
left out, so every other owner's goal, coverage and forecast still answer
(the goals page shows that row as invalid, for its owner to correct).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Iterable

from bestby.bounds import DATES
from bestby.engine.periods import Period

__all__ = ["QuotaRow", "goal", "goals_by_owner", "quota_rows"]

QuotaRow = tuple[str, date, date, Decimal]  # owner key, first day, last day (included), amount
_CENT = Decimal("0.01")


def _share(row: QuotaRow, period: Period) -> Decimal:
    _owner, first, last, amount = row
    days = (last - first).days + 1
    # min(last + 1, end), without computing last + 1 day (which overflows on date.max)
    lo, hi = max(first, period.start), min(last, period.end - timedelta(days=1)) + timedelta(days=1)
    overlap = (hi - lo).days
    if overlap <= 0 or days <= 0:
        return Decimal(0)
    return Decimal(amount) * overlap / days


def goal(rows: Iterable[QuotaRow], period: Period, owner: str) -> Decimal | None:
    """``owner``'s goal for ``period`` (None when none of the owner's rows has a day in it)."""
    mine = [r for r in rows if r[0] == owner and r[1] < period.end and r[2] >= period.start]
    if not mine:
        return None
    return sum((_share(r, period) for r in mine), Decimal(0)).quantize(_CENT, rounding=ROUND_HALF_EVEN)


def goals_by_owner(rows: Iterable[QuotaRow], period: Period) -> dict[str, Decimal]:
    """Every owner's goal for ``period``, for the owners with a row touching it."""
    rows = list(rows)
    out: dict[str, Decimal] = {}
    for owner in sorted({r[0] for r in rows}):
        g = goal(rows, period, owner)
        if g is not None:
            out[owner] = g
    return out


def quota_rows(tables: dict) -> list[QuotaRow]:
    """The quota rows of a source (``tables["quotas"]``: a folder's quotas file or the store's table); [] without."""
    q = tables.get("quotas")
    if q is None:
        return []
    out = []
    for r in q.select("owner_id", "period_start", "period_end", "amount").to_pyarrow().to_pylist():
        if not (DATES.holds(r["period_start"]) and DATES.holds(r["period_end"])):
            continue  # see the module's docstring
        out.append((r["owner_id"], r["period_start"], r["period_end"], Decimal(str(r["amount"]))))
    return out
