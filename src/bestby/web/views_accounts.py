"""Accounts and contacts: each visible account's deals, its contacts, and relationship breadth.

Relationship breadth of a deal: how many distinct contacts of the deal's
account its touches reached ("multi-threaded" deals touch several people; a
deal with one contact hangs on one person). Per contact: how many touches on
the account reached them. Every query goes through :mod:`bestby.people.access`.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Max, Q
from django.shortcuts import get_object_or_404, render

from bestby.people import access

PAGE_SIZE = 50


# ------------------------------------------------------------------ queries

def account_rows(user, *, search: str = ""):
    """The accounts ``user`` may see, with the number of their deals the user may see, by name."""
    accounts = access.accounts_for(user)
    if search:
        accounts = accounts.filter(Q(name__icontains=search) | Q(external_id__icontains=search))
    visible = access.deals_for(user).values("pk")
    return accounts.annotate(
        deal_count=Count("deals", filter=Q(deals__in=visible), distinct=True),
        open_count=Count("deals", filter=Q(deals__in=visible, deals__status="open"), distinct=True),
        contact_count=Count("contacts", distinct=True),
    ).order_by("name", "external_id")


def account_breadth(user, account) -> dict:
    """An account's visible deals with their breadth, and its contacts with their touch counts."""
    contacts = list(access.contacts_for(user).filter(account=account).order_by("name", "external_id"))
    touches = access.touches_for(user).filter(contact__account=account)
    deals = list(access.deals_for(user).filter(account=account).select_related("stage", "owner", "pipeline")
                 .order_by("status", "-created_at"))
    reached = dict(touches.filter(deal__in=[d.pk for d in deals]).values("deal")
                   .annotate(n=Count("contact", distinct=True)).values_list("deal", "n"))
    deal_touches = dict(touches.filter(deal__in=[d.pk for d in deals]).values("deal")
                        .annotate(n=Count("pk")).values_list("deal", "n"))
    per_contact = {row["contact"]: row for row in touches.values("contact").annotate(n=Count("pk"), last=Max("at"))}
    total = len(contacts)
    for d in deals:
        d.contacts_reached = reached.get(d.pk, 0)
        d.touch_count = deal_touches.get(d.pk, 0)
        d.breadth_pct = round(100 * d.contacts_reached / total) if total else 0
        d.breadth_title = f"{d.contacts_reached} of {total} contacts"
    top = max([row["n"] for row in per_contact.values()] or [0])
    for c in contacts:
        row = per_contact.get(c.pk, {})
        c.touch_count = row.get("n", 0)
        c.last_touch = row.get("last")
        c.touch_pct = round(100 * c.touch_count / top) if top else 0
    return {"deals": deals, "contacts": contacts, "contact_total": total}


# ------------------------------------------------------------------ pages

@login_required
def account_list(request):
    """The accounts the user may see, searchable by name, paginated."""
    search = request.GET.get("q", "").strip()[:200]
    page = Paginator(account_rows(request.user, search=search), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "web/accounts.html", {"page": page, "search": search})


@login_required
def account_detail(request, external_id: str):
    """One account (404 when the user may not see it): deals with relationship breadth, contacts."""
    account = get_object_or_404(access.accounts_for(request.user), external_id=external_id)
    return render(request, "web/account.html", {"account": account, **account_breadth(request.user, account)})
