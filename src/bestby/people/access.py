"""Who may see and change what: the one place where roles become rules (pages, API, exports, feeds).

Roles (``User.role``; a Django superuser counts as an admin)

``admin``
    Sees and changes everything; manages users, stages and policies.
``manager``
    Sees and changes the deals of their team: deals they own, deals owned by
    people who report to them (``User.manager``), and deals owned by anyone
    whose ``team`` is their (non-empty) team.
``rep``
    Sees and changes their own deals. On pages that show totals (the board's
    column sums) a rep also sees their team's totals, never its deals:
    :func:`team_deals` is for aggregates only.

Quotas (goals, :mod:`bestby.goals`) are keyed by owner: a user's external id
or ``team:NAME``. An admin sees and edits every quota; a manager sees the
quotas of the owners whose deals they may see and their team's, and edits
those of the sellers they manage (not their own) and their team's; a rep sees
their own quotas and edits none (:func:`quota_keys_for`, :func:`quota_editable_keys`).

Everything else follows the deals: an account is visible when one of its
deals is (admins: all accounts), a contact when its account is, a touch when
its deal, its account, or its owner is visible to the user. Every function
returns a queryset filter, so callers compose it with their own filters and
never load what they may not see. Anonymous or inactive users see nothing.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from bestby.accounts.models import Account, Contact
from bestby.activities.models import Touch
from bestby.people.models import Role, User
from bestby.pipeline.models import Deal

__all__ = ["accounts_for", "can_change", "contacts_for", "deal_q", "deals_for", "is_admin", "is_manager",
           "owner_ids_for", "owners_for", "quota_editable_keys", "quota_keys_for", "segment_rows_for", "segments_for",
           "team_deals", "team_owner_ids", "touches_for"]


def _signed_in(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_active)


def is_admin(user) -> bool:
    """An admin by role, or a Django superuser."""
    return _signed_in(user) and (user.is_superuser or user.role == Role.ADMIN)


def is_manager(user) -> bool:
    return _signed_in(user) and user.role == Role.MANAGER


def _owner_q(user, prefix: str) -> Q:
    """Q over ``{prefix}`` (a user relation) for the owners whose records ``user`` may see (not for admins)."""
    q = Q(**{prefix: user})
    if is_manager(user):
        q |= Q(**{f"{prefix}__manager": user})
        if user.team:
            q |= Q(**{f"{prefix}__team": user.team})
    return q


def owners_for(user) -> QuerySet:
    """The users whose deals ``user`` may see (themselves included; admins: everyone)."""
    if is_admin(user):
        return User.objects.all()
    if not _signed_in(user):
        return User.objects.none()
    q = Q(pk=user.pk)
    if is_manager(user):
        q |= Q(manager=user)
        if user.team:
            q |= Q(team=user.team)
    return User.objects.filter(q)


def owner_ids_for(user) -> frozenset[int] | None:
    """The keys of :func:`owners_for`, or None for "every deal, those without an owner too" (admins).

    For read models that hold deals by owner (:mod:`bestby.clearance.openbook`):
    a deal is in :func:`deals_for` exactly when its owner's key is in this set.
    """
    if is_admin(user):
        return None
    return frozenset(owners_for(user).values_list("pk", flat=True))


def team_owner_ids(user) -> frozenset[int] | None:
    """The owner keys of :func:`team_deals` (None: every deal), for totals only."""
    if is_admin(user) or not _signed_in(user) or not user.team:
        return owner_ids_for(user)
    return frozenset(User.objects.filter(Q(team=user.team) | Q(pk__in=owners_for(user).values("pk")))
                     .values_list("pk", flat=True))


def deals_for(user) -> QuerySet:
    """The deals ``user`` may see and open."""
    if is_admin(user):
        return Deal.objects.all()
    if not _signed_in(user):
        return Deal.objects.none()
    return Deal.objects.filter(_owner_q(user, "owner"))


def deal_q(user, relation: str = "deal") -> Q:
    """A filter over ``relation`` (a foreign key to deals) for the records of deals ``user`` may see.

    The same rule as :func:`deals_for`, written as a join rather than
    ``relation__in=deals_for(user)``: for an admin it is no filter at all,
    where the subquery made SQLite list every deal (80 ms on 400,000 deals).
    """
    if is_admin(user):
        return Q()
    if not _signed_in(user):
        return Q(pk__in=[])
    return _owner_q(user, f"{relation}__owner")


def team_deals(user) -> QuerySet:
    """The deals of ``user``'s team, for totals only (a rep sees their team's sums, not its deals)."""
    if is_admin(user) or not _signed_in(user):
        return deals_for(user)
    if not user.team:
        return deals_for(user)
    return Deal.objects.filter(Q(owner__team=user.team) | _owner_q(user, "owner"))


def can_change(user, deal: Deal) -> bool:
    """Whether ``user`` may edit, clear, snooze or undo actions on ``deal`` (the same as seeing it)."""
    return deals_for(user).filter(pk=deal.pk).exists()


def accounts_for(user) -> QuerySet:
    """Accounts with at least one deal the user may see (admins: all)."""
    if is_admin(user):
        return Account.objects.all()
    return Account.objects.filter(pk__in=deals_for(user).exclude(account=None).values("account"))


def contacts_for(user) -> QuerySet:
    """Contacts of the accounts the user may see (admins: all)."""
    if is_admin(user):
        return Contact.objects.all()
    return Contact.objects.filter(account__in=accounts_for(user))


def touches_for(user) -> QuerySet:
    """Touches on a visible deal or account, or logged by an owner the user may see (admins: all)."""
    if is_admin(user):
        return Touch.objects.all()
    if not _signed_in(user):
        return Touch.objects.none()
    return Touch.objects.filter(Q(deal__in=deals_for(user)) | Q(account__in=accounts_for(user))
                                | _owner_q(user, "owner"))


#: segments of the engine's figures (``by=``) whose values name people: cut to the people the user may see
PEOPLE_SEGMENTS = ("owner", "team")


def segments_for(user, by: str | None) -> frozenset[str] | None:
    """The values of segment ``by`` whose figures ``user`` may see (None: every value).

    Figures by ``owner`` are a seller's own record: a user sees those of the
    owners whose deals they may see (:func:`owners_for`: a rep their own, a
    manager their reports' and their team's). Figures by ``team`` are a
    team's aggregate: a user sees their own team's (a rep too, as the board's
    totals), and not another team's even when one of its members reports to
    them, since the figure is made of deals of people they may not see. An
    admin sees every value; the ``(none)`` segment (deals without an owner or
    a team) is an admin's only. Other segments (product, source, amount band)
    name no one: every value.
    """
    if by not in PEOPLE_SEGMENTS or is_admin(user):
        return None
    if not _signed_in(user):
        return frozenset()
    if by == "team":
        return frozenset([user.team] if user.team else [])
    return frozenset(owners_for(user).values_list("external_id", flat=True))


def segment_rows_for(user, by: str | None, rows: list[dict]) -> list[dict]:
    """The rows (each with a ``segment``, None for the whole pipeline's) of the segments ``user`` may see.

    For the shelf-life figures on the page and in the API alike.
    """
    seen = segments_for(user, by)
    if seen is None:
        return rows
    return [r for r in rows if r["segment"] is None or r["segment"] in seen]


def quota_keys_for(user) -> frozenset[str] | None:
    """The quota owner keys ``user`` may see (None: every quota, for admins)."""
    if is_admin(user):
        return None
    if not _signed_in(user):
        return frozenset()
    keys = set(owners_for(user).values_list("external_id", flat=True))
    if is_manager(user) and user.team:
        keys.add(f"team:{user.team}")
    return frozenset(keys)


def quota_editable_keys(user) -> frozenset[str] | None:
    """The quota owner keys ``user`` may add, change and delete (None: any, for admins; reps: none).

    A manager edits the quotas of the sellers they manage (reports and team
    members) and their team's ``team:NAME`` quota, never their own.
    """
    if is_admin(user):
        return None
    if not is_manager(user):
        return frozenset()
    keys = set(owners_for(user).exclude(pk=user.pk).values_list("external_id", flat=True))
    if user.team:
        keys.add(f"team:{user.team}")
    return frozenset(keys)


def leads_for(user) -> QuerySet:
    """Leads whose owner ``user`` may see (admins: all leads, unowned ones too)."""
    from bestby.activities.models import Lead

    if is_admin(user):
        return Lead.objects.all()
    if not _signed_in(user):
        return Lead.objects.none()
    return Lead.objects.filter(owner__in=owners_for(user))


def tasks_for(user) -> QuerySet:
    """Cadence tasks of the sellers ``user`` may see (admins: all)."""
    from bestby.cadences.models import CadenceTask

    if is_admin(user):
        return CadenceTask.objects.all()
    if not _signed_in(user):
        return CadenceTask.objects.none()
    return CadenceTask.objects.filter(owner__in=owners_for(user))
