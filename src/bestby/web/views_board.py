"""The pipeline board: open deals in columns by stage, coloured by their cached freshness.

Reads only the database and the freshness cache (:class:`bestby.clearance.models.Freshness`),
never the engine: the board answers in milliseconds on 100,000 open deals
because each column shows at most ``CARDS_PER_COLUMN`` cards and its totals
come from aggregate queries. What a user sees goes through
:mod:`bestby.people.access` only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.db.models import Count, F, Q, Sum
from django.shortcuts import render

from bestby.clearance.snapshot import computed_at
from bestby.engine.rules import STATES
from bestby.people import access
from bestby.pipeline.models import Deal, DealStatus, Pipeline

CARDS_PER_COLUMN = 50
UNKNOWN = "unknown"  # an open deal without a cached freshness row (opened since the last refresh)
STALE = ("expired", "stalled")  # what "fresh" totals leave out
FILTER_STATES = (*STATES, UNKNOWN)


@dataclass
class Totals:
    deals: int = 0
    amount: Decimal = Decimal(0)
    fresh_deals: int = 0
    fresh_amount: Decimal = Decimal(0)


@dataclass
class Column:
    stage: object
    cards: list = field(default_factory=list)
    totals: Totals = field(default_factory=Totals)
    team: Totals | None = None

    @property
    def more(self) -> int:
        return max(0, self.totals.deals - len(self.cards))


@dataclass(frozen=True)
class Filters:
    owner: str = ""
    team: str = ""
    state: str = ""

    @classmethod
    def parse(cls, params) -> tuple[Filters, dict[str, str]]:
        """Read the GET form; an unknown state is an error naming the field (and is ignored)."""
        state = params.get("state", "").strip()
        errors = {}
        if state and state not in FILTER_STATES:
            errors["state"] = f"{state!r} is not a state; use one of {', '.join(FILTER_STATES)}"
            state = ""
        return cls(owner=params.get("owner", "").strip(), team=params.get("team", "").strip(), state=state), errors

    def apply(self, deals, *, owners: bool = True):
        if owners and self.owner:
            deals = deals.filter(owner__external_id=self.owner)
        if owners and self.team:
            deals = deals.filter(owner__team=self.team)
        if self.state == UNKNOWN:
            deals = deals.filter(freshness__isnull=True)
        elif self.state:
            deals = deals.filter(freshness__state=self.state)
        return deals


def _totals(deals) -> dict[int, Totals]:
    """Raw and fresh count and amount per stage, in one aggregate query."""
    fresh = ~Q(freshness__state__in=STALE) | Q(freshness__isnull=True)
    rows = deals.values("stage_id").annotate(
        n=Count("id"), sum=Sum("amount"), fresh_n=Count("id", filter=fresh), fresh_sum=Sum("amount", filter=fresh))
    return {r["stage_id"]: Totals(r["n"], r["sum"] or Decimal(0), r["fresh_n"], r["fresh_sum"] or Decimal(0))
            for r in rows}


def board(user, filters: Filters) -> list[tuple[Pipeline, list[Column]]]:
    """The columns (open stages, process order) of every pipeline holding deals the user may see."""
    open_deals = filters.apply(access.deals_for(user).filter(status=DealStatus.OPEN))
    totals = _totals(open_deals)
    team = None
    if not access.is_admin(user) and not access.is_manager(user) and getattr(user, "team", ""):
        # a rep sees their team's sums, never its deals; owner filters do not narrow the team
        team = _totals(filters.apply(access.team_deals(user).filter(status=DealStatus.OPEN), owners=False))
    result = []
    for pipeline in Pipeline.objects.prefetch_related("stages"):
        columns = []
        for stage in pipeline.stages.all():
            if stage.kind != "open":
                continue
            col = Column(stage, totals=totals.get(stage.pk, Totals()),
                         team=None if team is None else team.get(stage.pk, Totals()))
            if col.totals.deals:
                col.cards = list(
                    open_deals.filter(stage=stage).select_related("owner", "freshness")
                    .order_by(F("freshness__weight").desc(nulls_last=True), F("amount").desc(nulls_last=True),
                              "external_id")[:CARDS_PER_COLUMN])
            columns.append(col)
        if any(c.totals.deals or (c.team and c.team.deals) for c in columns):
            result.append((pipeline, columns))
    return result


def filter_choices(user) -> dict:
    owners = access.owners_for(user).order_by("external_id")
    teams = sorted({t for t in owners.values_list("team", flat=True) if t})
    return {"owners": owners, "teams": teams, "states": FILTER_STATES}


def _partial(request) -> bool:
    """An HTMX swap (not a history restore, which needs the whole page)."""
    return bool(request.headers.get("HX-Request")) and not request.headers.get("HX-History-Restore-Request")


@login_required
def board_page(request):
    filters, errors = Filters.parse(request.GET)
    context = {"pipelines": board(request.user, filters), "filters": filters, "errors": errors,
               "computed_at": computed_at(), "per_column": CARDS_PER_COLUMN, **filter_choices(request.user)}
    template = "web/_board.html" if _partial(request) else "web/board.html"
    return render(request, template, context)
