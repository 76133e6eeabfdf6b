"""The pipeline board: open deals in columns by stage, coloured by their cached freshness.

Reads the database and the freshness cache through the open book
(:mod:`bestby.clearance.openbook`), never the engine: totals and the order of
cards come from the book, so a board over 100,000 open deals costs a few
lookups and one query for the ``CARDS_PER_COLUMN`` cards shown per column;
"show more" fetches the next cards of one column (HTMX). Who sees what comes
from :mod:`bestby.people.access` only (as owner keys for the book).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from bestby.bounds import POSITION
from bestby.clearance import openbook
from bestby.clearance.openbook import UNKNOWN, Sums
from bestby.clearance.snapshot import computed_at
from bestby.engine.rules import STATES
from bestby.people import access
from bestby.people.models import User
from bestby.pipeline import revision
from bestby.pipeline.models import Deal, Pipeline, Stage
from bestby.web.fragments import fragments
from bestby.web.templatetags.board_cards import CARD_FIELDS

CARDS_PER_COLUMN = 20
FILTER_STATES = (*STATES, UNKNOWN)
Totals = Sums  # raw and fresh count and amount of a column


@dataclass
class Column:
    stage: object
    cards: list = field(default_factory=list)
    totals: Sums = field(default_factory=Sums)
    team: Sums | None = None
    shown: int = 0  # cards on the page so far (the next "show more" starts here)

    @property
    def more(self) -> int:
        return max(0, self.totals.deals - self.shown)


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

    def owners(self, scope):
        """The owner keys the owner and team filters leave of ``scope`` (None: every deal)."""
        if not (self.owner or self.team):
            return scope
        users = User.objects.all()
        if self.owner:
            users = users.filter(external_id=self.owner)
        if self.team:
            users = users.filter(team=self.team)
        chosen = frozenset(users.values_list("pk", flat=True))
        return chosen if scope is None else chosen & scope

    def states(self):
        return None if not self.state else frozenset((self.state,))

    def query(self) -> str:
        from urllib.parse import urlencode

        return urlencode({k: v for k, v in (("owner", self.owner), ("team", self.team), ("state", self.state)) if v})


def cards(ids: list[int]) -> list[dict]:
    """What the cards of the deals ``ids`` show, in that order (plain rows: see ``board_cards.card``)."""
    by_pk = {row["pk"]: row for row in Deal.objects.filter(pk__in=ids).values(*CARD_FIELDS)}
    return [by_pk[i] for i in ids if i in by_pk]


@dataclass(frozen=True)
class Scope:
    """Whose deals a board shows: everything the cards and totals depend on besides the data."""

    owners: frozenset | None  # owner keys (None: every deal)
    states: frozenset | None
    team: frozenset | None  # a rep's team owners, for the team totals (None: no team line)

    @classmethod
    def of(cls, user, filters: Filters) -> Scope:
        team = None
        if not access.is_admin(user) and not access.is_manager(user) and getattr(user, "team", ""):
            # a rep sees their team's sums, never its deals; owner filters do not narrow the team
            team = access.team_owner_ids(user)
        return cls(filters.owners(access.owner_ids_for(user)), filters.states(), team)


def board(user, filters: Filters, scope: Scope | None = None, book=None) -> list[tuple[Pipeline, list[Column]]]:
    """The columns (open stages, process order) of every pipeline holding deals the user may see."""
    book = book or openbook.current()
    scope = scope or Scope.of(user, filters)
    owners, states = scope.owners, scope.states
    totals = book.totals(owners, states)
    team = None if scope.team is None else book.totals(scope.team, states)
    result, wanted = [], []
    for pipeline in Pipeline.objects.prefetch_related("stages"):
        columns = []
        for stage in pipeline.stages.all():
            if stage.kind != "open":
                continue
            col = Column(stage, totals=totals.get(stage.pk, Sums()),
                         team=None if team is None else team.get(stage.pk, Sums()))
            if col.totals.deals:
                col.cards = book.cards(stage.pk, owners, states, limit=CARDS_PER_COLUMN)
                col.shown = len(col.cards)
                wanted += col.cards
            columns.append(col)
        if any(c.totals.deals or (c.team and c.team.deals) for c in columns):
            result.append((pipeline, columns))
    deals = {row["pk"]: row for row in cards(wanted)}  # one query for every column's cards
    for _pipeline, columns in result:
        for col in columns:
            col.cards = [deals[i] for i in col.cards if i in deals]
    return result


def filter_choices(user) -> dict:
    """The owner filter's (id, name) pairs, the teams among them, and the states.

    One query over the owners, kept in the fragment cache under the people
    token and the user's owner scope (an admin's list is every user).
    """
    key = ("owners", str(connection.settings_dict["NAME"]), revision.current(revision.PEOPLE),
           access.owner_ids_for(user))

    def load() -> tuple:
        rows = list(access.owners_for(user).order_by("external_id").values_list("external_id", "name", "email", "team"))
        owners = tuple((ext, User.display(name, email, ext)) for ext, name, email, _team in rows)
        return owners, tuple(sorted({team for *_, team in rows if team}))

    owners, teams = fragments.get(key, load)
    return {"owners": owners, "teams": teams, "states": FILTER_STATES}


def _partial(request) -> bool:
    """An HTMX swap (not a history restore, which needs the whole page)."""
    return bool(request.headers.get("HX-Request")) and not request.headers.get("HX-History-Restore-Request")


def board_html(user, filters: Filters, errors: dict) -> str:
    """The board part of the page (columns, totals, cards), from the fragment cache when nothing changed."""
    book = openbook.current()
    scope = Scope.of(user, filters)
    key = ("board", str(connection.settings_dict["NAME"]), book.token, revision.current(revision.PEOPLE), scope,
           filters, tuple(sorted(errors.items())))

    def render_board() -> str:
        return render_to_string("web/_board.html", {
            "pipelines": board(user, filters, scope, book), "filters": filters, "errors": errors,
            "computed_at": computed_at(), "per_column": CARDS_PER_COLUMN})

    return fragments.get(key, render_board)


@login_required
def board_page(request):
    filters, errors = Filters.parse(request.GET)
    part = mark_safe(board_html(request.user, filters, errors))  # rendered from escaped values only
    if _partial(request):
        return HttpResponse(part)
    context = {"board_html": part, "filters": filters, **filter_choices(request.user)}
    return render(request, "web/board.html", context)


@login_required
def column_page(request, stage_id: int):
    """The next cards of one column, after the first ``offset`` (HTMX "show more"); the same filters as the board."""
    stage = Stage.objects.filter(pk=stage_id, kind="open").first()
    if stage is None:
        raise Http404("no such open stage")
    filters, _errors = Filters.parse(request.GET)
    try:
        offset = int(request.GET.get("offset", "0"))
    except ValueError:
        offset = -1
    if not 0 <= offset <= POSITION.hi:
        return HttpResponseBadRequest(f"offset: give a whole number from 0 to {POSITION.hi:,}", content_type="text/plain")
    book = openbook.current()
    owners, states = filters.owners(access.owner_ids_for(request.user)), filters.states()
    col = Column(stage, totals=book.totals(owners, states).get(stage.pk, Sums()))
    col.cards = cards(book.cards(stage.pk, owners, states, offset=offset, limit=CARDS_PER_COLUMN))
    col.shown = offset + len(col.cards)
    return render(request, "web/_column_cards.html", {"col": col, "filters": filters, "per_column": CARDS_PER_COLUMN})
