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

Everything else follows the deals (admins: everything):

Accounts (:func:`accounts_for`)
    An account is visible when one of its deals is, or when it was created in
    bestby (``Account.created_by``) by someone whose deals the user may see:
    so the rep who creates an account through the API sees it (and adds its
    contacts and first deal) before it has any deal, and so does their
    manager. An imported account with no deal is the admins' until a deal is
    put on it. Two teams with deals at one account both see it and its
    contacts: the account is shared, their deals and touches are not.
Attaching (:func:`accounts_for` again)
    A deal, a contact, a touch or a subsidiary is put on an account only by
    someone who may see that account: "it has no deals yet" is no permission
    (anyone could otherwise claim any fresh or imported account, and with it
    its contacts).
Contacts (:func:`contacts_for`)
    Visible when their account is.
Touches (:func:`touches_for`)
    A touch on a deal follows the deal, whoever logged it: visible exactly
    when the deal is (a shared account does not open the other team's deal
    talks). A touch without a deal is a seller's own record: visible when its
    owner is one whose deals the user may see, or when its lead is visible; a
    touch with neither deal nor owner (an imported call on an account)
    belongs to the account: visible when the account, or the contact's
    account, is. Editing a touch takes the same right as seeing it.
Ids of new records (:func:`may_choose_ids`)
    Only admins choose the external id of a record they create; everyone else
    gets a random one. A unique id space cannot hide from whoever picks an id
    whether it is taken, so a choice by someone who may not see every record
    would tell them that another team's record exists (see
    :func:`bestby.api.common.new_external_id`).

Every function returns a queryset filter, so callers compose it with their
own filters and never load what they may not see. Anonymous or inactive users
see nothing.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from bestby.accounts.models import Account, Contact
from bestby.activities.models import Touch
from bestby.people.models import Role, User
from bestby.pipeline.models import Deal

__all__ = ["accounts_for", "can_change", "contacts_for", "deal_q", "deals_for", "is_admin", "is_manager",
           "leads_for", "may_choose_ids", "owner_ids_for", "owners_for", "quota_editable_keys", "quota_keys_for",
           "segment_rows_for", "segments_for", "tasks_for", "team_deals", "team_owner_ids", "touches_for"]


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
    """Accounts with a deal the user may see, or created by someone whose deals they may see (admins: all).

    Also the accounts a user may attach deals, contacts, touches and
    subsidiaries to (see the module docstring).
    """
    if is_admin(user):
        return Account.objects.all()
    if not _signed_in(user):
        return Account.objects.none()
    return Account.objects.filter(Q(pk__in=deals_for(user).exclude(account=None).values("account"))
                                  | Q(created_by__in=owners_for(user)))


def contacts_for(user) -> QuerySet:
    """Contacts of the accounts the user may see (admins: all)."""
    if is_admin(user):
        return Contact.objects.all()
    return Contact.objects.filter(account__in=accounts_for(user))


def touches_for(user) -> QuerySet:
    """Touches the user may see and correct (admins: all; the rule is in the module docstring).

    On a deal: the deal is visible. Without a deal: the owner is one whose
    deals the user may see, or the lead is visible, or, for a touch without
    an owner, its account or its contact's account is visible.
    """
    if is_admin(user):
        return Touch.objects.all()
    if not _signed_in(user):
        return Touch.objects.none()
    accounts = accounts_for(user).values("pk")
    no_deal = Q(deal__isnull=True) & (
        _owner_q(user, "owner") | Q(lead__in=leads_for(user).values("pk"))
        | (Q(owner__isnull=True) & (Q(account__in=accounts) | Q(contact__account__in=accounts))))
    return Touch.objects.filter(deal_q(user) | no_deal)


def may_choose_ids(user) -> bool:
    """Whether ``user`` may give a new record an external id of their choosing (admins; see the module docstring)."""
    return is_admin(user)


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
