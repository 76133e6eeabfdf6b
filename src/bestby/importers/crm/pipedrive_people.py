"""Pipedrive's users, organizations and persons as FORMAT.md users, accounts and contacts.

Users (users.csv: ``id``, ``name``, ``email``; or ``User - ID`` ...)
    Every row is a user with role ``rep``: Pipedrive's export says nothing of
    who manages whom. The runner matches users to stored ones by email; users
    sharing an email with an earlier user of the file (four pairs in the Enpal
    extract) are a finding (``users_share_email``), as that match cannot tell
    them apart.

Organizations (``Organization - ID``, ``Organization - Name``,
``Organization - Organization created``; or ``id``, ``name``, ``add_time``)
    Accounts with their ids kept.

Persons (``Person - ID``, ``Person - Name``, ``Person - Email``,
``Person - Phone``, ``Person - Organization``; or ``id``, ``name``, ``email``,
``phone``, ``org_id``)
    Contacts. The API writes email and phone as a JSON list of
    ``{"value": ..., "primary": ...}``: the primary value is taken (else the
    first).

References
    Spreadsheet exports name a deal's owner and organization by name
    ("Deal - Owner": "Rita Rep"), the API by id. A reference is looked up as
    an id, then as a name (case-insensitive); a name two users share goes to
    the first of them in users.csv (finding ``name_ambiguous``). An owner or
    organization found in neither becomes a placeholder user or account whose
    id and name are the cell (findings ``user_placeholder``,
    ``account_placeholder``), so the deals keep their grouping. A person an
    activity names but persons.csv lacks is left out of the touch (finding
    ``activity_person_missing``); the touch is kept.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from bestby.importers.crm.pipedrive import Ctx

USER_ID = ("id", "User - ID", "user_id")
USER_NAME = ("name", "User - Name")
USER_EMAIL = ("email", "User - Email")
ORG_ID = ("Organization - ID", "id", "org_id")
ORG_NAME = ("Organization - Name", "name")
ORG_CREATED = ("Organization - Organization created", "Organization - Created", "add_time")
PERSON_ID = ("Person - ID", "id", "person_id")
PERSON_NAME = ("Person - Name", "name")
PERSON_EMAIL = ("Person - Email", "Person - Email - Work", "Person - Email - Home", "Person - Email - Other", "email",
                "primary_email")
PERSON_PHONE = ("Person - Phone", "Person - Phone - Work", "Person - Phone - Mobile", "Person - Phone - Home",
                "Person - Phone - Other", "phone")
PERSON_ORG = ("Person - Organization", "org_id", "Person - Organization ID", "org_name")
PERSON_TITLE = ("Person - Job title", "job_title")


def primary(cell: str) -> str:
    """The primary value of an API list cell (``[{"value": "a@x", "primary": true}]``), or the cell itself."""
    if not cell.startswith("["):
        return cell
    try:
        items = [o for o in json.loads(cell) if isinstance(o, dict) and o.get("value")]
    except ValueError:
        return cell
    best = next((o for o in items if o.get("primary")), items[0] if items else None)
    return str(best["value"]) if best else ""


def _index(names: list[str], ids: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, i in zip(names, ids):
        if name and i:
            out.setdefault(name.casefold(), []).append(i)
    return out


def _unique_ids(ctx: Ctx, src, column: tuple[str, ...], what: str) -> tuple[list[str], list[bool]]:
    ids = src.need(ctx.problems, *column)
    header = src.header(*column) or column[0]
    seen: dict[str, int] = {}
    keep = []
    for i, v in enumerate(ids):
        ok = bool(v) and v not in seen
        if not v:
            ctx.problems.add(src.file, src.lines[i], header, "is required but empty")
        elif v in seen:
            ctx.problems.add(src.file, src.lines[i], header, f"{what} {v} appears twice (first on line {src.lines[seen[v]]})")
        else:
            seen[v] = i
        keep.append(ok)
    return ids, keep


def users(ctx: Ctx) -> None:
    src = ctx.files.get("users")
    if src is None:
        return
    ids, keep = _unique_ids(ctx, src, USER_ID, "user")
    names, emails = src.opt(*USER_NAME), src.opt(*USER_EMAIL)
    table = ctx.out.table("users")
    table.describe(src.file, user_id=src.header(*USER_ID) or "id", name=src.header(*USER_NAME) or "name",
                   email=src.header(*USER_EMAIL) or "email")
    first_with: dict[str, str] = {}
    for i, uid in enumerate(ids):
        if keep[i]:
            ctx.users.add(uid)
            email = primary(emails[i]) or None
            table.add(src.file, src.lines[i], user_id=uid, name=names[i] or None, email=email, role="rep")
            other = first_with.setdefault(email.casefold(), uid) if email else uid
            if other != uid:
                ctx.findings.keep("users_share_email", "users whose email an earlier user in the file already has "
                                  "(both imported; matching them to stored users by email cannot tell them apart)",
                                  src.file, src.lines[i], f"user {uid} and user {other}: {email}")
    ctx.user_names = _index(names, [u if k else "" for u, k in zip(ids, keep)])


def organizations(ctx: Ctx) -> None:
    src = ctx.files.get("organizations")
    if src is None:
        return
    ids, keep = _unique_ids(ctx, src, ORG_ID, "organization")
    names, created = src.opt(*ORG_NAME), src.opt(*ORG_CREATED)
    created_col = src.header(*ORG_CREATED) or ORG_CREATED[0]
    table = ctx.out.table("accounts")
    table.describe(src.file, account_id=src.header(*ORG_ID) or "id", name=src.header(*ORG_NAME) or "name",
                   created_at=created_col)
    for i, oid in enumerate(ids):
        if keep[i]:
            ctx.accounts.add(oid)
            table.add(src.file, src.lines[i], account_id=oid, name=names[i] or None,
                      created_at=ctx.ts(src, created_col, i, created[i]))
    ctx.account_names = _index(names, [o if k else "" for o, k in zip(ids, keep)])


def persons(ctx: Ctx) -> None:
    src = ctx.files.get("persons")
    if src is None:
        return
    ids, keep = _unique_ids(ctx, src, PERSON_ID, "person")
    names, emails, phones = src.opt(*PERSON_NAME), src.opt(*PERSON_EMAIL), src.opt(*PERSON_PHONE)
    orgs, titles = src.opt(*PERSON_ORG), src.opt(*PERSON_TITLE)
    table = ctx.out.table("contacts")
    table.describe(src.file, contact_id=src.header(*PERSON_ID) or "id", name=src.header(*PERSON_NAME) or "name",
                   email=src.header(*PERSON_EMAIL) or "email", phone=src.header(*PERSON_PHONE) or "phone",
                   account_id=src.header(*PERSON_ORG) or "org_id", title=src.header(*PERSON_TITLE) or "job_title")
    for i, pid in enumerate(ids):
        if keep[i]:
            ctx.contacts.add(pid)
            table.add(src.file, src.lines[i], contact_id=pid, name=names[i] or None, email=primary(emails[i]) or None,
                      phone=primary(phones[i]) or None, title=titles[i] or None,
                      account_id=account_ref(ctx, orgs[i], src.file, src.lines[i]))
    ctx.contact_names = _index(names, [p if k else "" for p, k in zip(ids, keep)])


def _lookup(ctx: Ctx, cell: str, ids: set[str], names: dict[str, list[str]], file: str, line: int | None,
            what: str) -> str | None:
    if cell in ids:
        return cell
    hits = names.get(cell.casefold())
    if not hits:
        return None
    if len(hits) > 1:
        ctx.findings.keep("name_ambiguous", "references by a name several users, organizations or persons share "
                          "(the first in its file is taken)", file, line, f"{what} {cell!r}: {', '.join(hits)}")
    return hits[0]


def user_ref(ctx: Ctx, cell: str, file: str, line: int | None) -> str | None:
    """The user id an owner cell (an id or a name) refers to; an unknown one becomes a placeholder user."""
    if not cell:
        return None
    hit = _lookup(ctx, cell, ctx.users, ctx.user_names, file, line, "user")
    if hit is None:
        ctx.wanted_users.setdefault(cell, (file, line))
        return cell
    return hit


def account_ref(ctx: Ctx, cell: str, file: str, line: int | None, *, placeholder: bool = True) -> str | None:
    """The account id an organization cell refers to; unknown: a placeholder account (or None)."""
    if not cell:
        return None
    hit = _lookup(ctx, cell, ctx.accounts, ctx.account_names, file, line, "organization")
    if hit is None and placeholder:
        ctx.wanted_accounts.setdefault(cell, (file, line))
        return cell
    return hit


def contact_ref(ctx: Ctx, cell: str, file: str, line: int | None) -> str | None:
    if not cell:
        return None
    hit = _lookup(ctx, cell, ctx.contacts, ctx.contact_names, file, line, "person")
    if hit is None:
        ctx.findings.keep("activity_person_missing", "activities naming a person that is not in persons.csv "
                          "(imported without the person)", file, line, cell)
    return hit


def placeholders(ctx: Ctx) -> None:
    """Add the users and accounts that imported rows name but the export does not hold."""
    for cell, (file, line) in ctx.wanted_users.items():
        if cell not in ctx.users:
            ctx.findings.keep("user_placeholder", "owners not in users.csv: added as users whose id and name are "
                              "the export's cell", file, line, cell)
            ctx.out.table("users").add(file, line, user_id=cell, name=cell, role="rep")
    for cell, (file, line) in ctx.wanted_accounts.items():
        if cell not in ctx.accounts:
            ctx.findings.keep("account_placeholder", "organizations not in organizations.csv: added as accounts "
                              "whose id and name are the export's cell", file, line, cell)
            ctx.out.table("accounts").add(file, line, account_id=cell, name=cell)
