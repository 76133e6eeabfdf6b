"""Accounts and their contacts: list, read, create, edit (filtered through the access rules)."""

from __future__ import annotations

from typing import Optional

from django.db.models import Q
from ninja import Query, Router

from bestby.accounts.models import Account, Contact
from bestby.api import records
from bestby.api.common import created, MAX_LIMIT, MAX_OFFSET, ext, new_external_id, page, ref, visible
from bestby.api.schemas import (Text, AccountIn, AccountOut, AccountPage, AccountPatch, ContactIn, ContactOut, ContactPage,
                                ContactPatch, Error)
from bestby.people import access

router = Router(tags=["accounts and contacts"])


def account_row(a: Account) -> dict:
    return {"id": a.external_id, "name": a.name, "sector": a.sector, "territory": a.territory,
            "employees": a.employees, "annual_revenue": a.annual_revenue, "parent": ext(a.parent),
            "payment_terms_days": a.payment_terms_days}


def contact_row(c: Contact) -> dict:
    return {"id": c.external_id, "account": ext(c.account), "name": c.name, "title": c.title, "email": c.email,
            "phone": c.phone, "buying_role": c.buying_role}


def _accounts(user):
    return access.accounts_for(user).select_related("parent")


@router.get("/accounts", response=AccountPage, summary="List the accounts you may see")
def list_accounts(request, limit: int = Query(50, ge=1, le=MAX_LIMIT), offset: int = Query(0, ge=0, le=MAX_OFFSET),
                  q: Optional[Text] = Query(None, max_length=200), territory: Optional[Text] = None):
    qs = _accounts(request.auth)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(external_id__icontains=q))
    if territory is not None:
        qs = qs.filter(territory=territory)
    return page(qs.order_by("external_id"), limit, offset, account_row)


@router.get("/accounts/{account_id}", response={200: AccountOut, 404: Error})
def get_account(request, account_id: Text):
    return account_row(visible(_accounts(request.auth), "account", account_id))


@router.post("/accounts", response={201: AccountOut, 409: Error, 422: Error})
def create_account(request, payload: AccountIn):
    fields = payload.dict()
    fields["external_id"] = new_external_id(request.auth, Account, "account", fields.pop("id"))
    fields["parent"] = ref(access.accounts_for(request.auth), "parent", fields["parent"])
    return created(account_row(records.create(Account, by=request.auth, **fields)))


@router.patch("/accounts/{account_id}", response={200: AccountOut, 404: Error, 422: Error})
def patch_account(request, account_id: Text, payload: AccountPatch):
    account = visible(_accounts(request.auth), "account", account_id)
    changes = payload.dict(exclude_unset=True)
    if changes.get("name", "") is None:
        changes.pop("name")
    for key in ("sector", "territory"):
        if key in changes and changes[key] is None:
            changes[key] = ""
    return account_row(records.update(account, by=request.auth, **changes))


def _contacts(user):
    return access.contacts_for(user).select_related("account")


@router.get("/contacts", response=ContactPage, summary="List the contacts you may see")
def list_contacts(request, limit: int = Query(50, ge=1, le=MAX_LIMIT), offset: int = Query(0, ge=0, le=MAX_OFFSET),
                  account: Optional[Text] = None, q: Optional[Text] = Query(None, max_length=200)):
    qs = _contacts(request.auth)
    if account is not None:
        qs = qs.filter(account__external_id=account)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(email__icontains=q))
    return page(qs.order_by("external_id"), limit, offset, contact_row)


@router.get("/contacts/{contact_id}", response={200: ContactOut, 404: Error})
def get_contact(request, contact_id: Text):
    return contact_row(visible(_contacts(request.auth), "contact", contact_id))


@router.post("/contacts", response={201: ContactOut, 409: Error, 422: Error})
def create_contact(request, payload: ContactIn):
    fields = payload.dict()
    fields["external_id"] = new_external_id(request.auth, Contact, "contact", fields.pop("id"))
    fields["account"] = ref(access.accounts_for(request.auth), "account", fields["account"])
    fields["buying_role"] = fields["buying_role"] or ""
    records.check_email(fields["email"])
    return created(contact_row(records.create(Contact, by=request.auth, **fields)))


@router.patch("/contacts/{contact_id}", response={200: ContactOut, 404: Error, 422: Error})
def patch_contact(request, contact_id: Text, payload: ContactPatch):
    contact = visible(_contacts(request.auth), "contact", contact_id)
    changes = {k: ("" if v is None else v) for k, v in payload.dict(exclude_unset=True).items()}
    if changes.get("name") == "":
        changes.pop("name")
    records.check_email(changes.get("email"))
    return contact_row(records.update(contact, by=request.auth, **changes))
