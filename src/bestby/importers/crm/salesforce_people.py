"""Salesforce users, accounts, contacts (with their buying roles) and leads, mapped into FORMAT.md.

Users (User.csv)
    ``user_id`` = Id, ``name`` = Name (else FirstName LastName), ``email``,
    ``manager_id`` = ManagerId (a manager not in the file is dropped, finding
    ``manager_missing``), ``team`` = Department, ``territory`` = Division.
    ``role`` is ``manager`` for anyone another user reports to, else ``rep``
    (a stored user keeps their stored role: see ``run.match_users``).
    Inactive users are imported: their deals and touches are history.

Accounts (Account.csv)
    ``account_id`` = Id, ``name``, ``sector`` = Industry, ``territory`` =
    BillingCountry (else BillingState), ``employees`` = NumberOfEmployees,
    ``annual_revenue`` = AnnualRevenue, ``parent_account_id`` = ParentId (a
    parent not in the file is dropped, finding ``parent_missing``),
    ``created_at`` = CreatedDate.

Contacts (Contact.csv, OpportunityContactRole.csv)
    ``contact_id`` = Id, ``account_id`` = AccountId (a placeholder when the
    account is not in the export), ``name``, ``title``, ``email``,
    ``phone`` = Phone else MobilePhone. ``buying_role`` is the strongest role
    the contact holds on any opportunity: decision_maker (Decision Maker,
    Economic Buyer, Economic Decision Maker, Executive Sponsor) before champion
    (Champion) before influencer (Influencer, Evaluator, Technical Buyer)
    before user (Business User, User) before other (any other role): the
    strongest is what a seller needs to know when the deal goes quiet.

Leads (Lead.csv)
    ``lead_id`` = Id, name, company, email, phone, ``owner_id`` = OwnerId
    (only a user id: a lead owned by a queue (id prefix 00G) has no owner),
    ``source`` from LeadSource (``LEAD_SOURCES``), ``created_at``, ``status``
    from Status (``LEAD_STATUSES``; IsConverted wins), ``converted_deal_id`` =
    ConvertedOpportunityId when that opportunity was imported.

Placeholders
    An owner or account referenced by an imported row but not in User.csv /
    Account.csv becomes a user / account whose name is its id (findings
    ``owner_placeholder``, ``account_placeholder``).
"""

from __future__ import annotations

from bestby.importers.crm.salesforce_stages import flag

ROLE_RANK = ("decision_maker", "champion", "influencer", "user", "other")
CONTACT_ROLES = {
    "decision maker": "decision_maker", "economic buyer": "decision_maker", "economic decision maker": "decision_maker",
    "executive sponsor": "decision_maker", "champion": "champion", "influencer": "influencer",
    "evaluator": "influencer", "technical buyer": "influencer", "business user": "user", "user": "user",
}
LEAD_SOURCES = {
    "web": "inbound", "inbound": "inbound", "website": "inbound", "phone inquiry": "inbound", "advertisement": "inbound",
    "partner referral": "referral", "employee referral": "referral", "external referral": "referral",
    "referral": "referral", "word of mouth": "referral", "partner": "referral",
    "trade show": "networking", "seminar - internal": "networking", "seminar - partner": "networking",
    "seminar": "networking", "event": "networking", "networking": "networking",
    "cold call": "prospecting", "outbound": "prospecting", "purchased list": "prospecting", "list": "prospecting",
    "prospecting": "prospecting",
}
LEAD_STATUSES = {
    "open - not contacted": "new", "new": "new", "open": "new",
    "working - contacted": "in_cadence", "working": "in_cadence", "contacted": "in_cadence",
    "nurturing": "nurture", "nurture": "nurture", "engaged": "engaged", "qualified": "engaged",
    "closed - converted": "converted", "converted": "converted",
    "closed - not converted": "disqualified", "unqualified": "disqualified", "disqualified": "disqualified",
}


def _name(src, i: int, names, firsts, lasts) -> str:
    return names[i] or " ".join(p for p in (firsts[i], lasts[i]) if p)


def users(ctx) -> None:
    src = ctx.files.get("user")
    if src is None:
        return
    ids = src.need(ctx.problems, "Id")
    names, firsts, lasts = src.opt("Name"), src.opt("FirstName"), src.opt("LastName")
    emails, managers = src.opt("Email"), src.opt("ManagerId")
    teams, territories = src.opt("Department"), src.opt("Division")
    known = set(ids)
    bosses = {m for m in managers if m in known}
    table = ctx.out.table("users")
    table.describe(src.file, user_id="Id", manager_id="ManagerId", email="Email", team="Department", territory="Division")
    for i, uid in enumerate(ids):
        if not uid:
            ctx.problems.add(src.file, src.lines[i], "Id", "is required but empty")
            continue
        manager = managers[i]
        if manager and manager not in known:
            ctx.findings.keep("manager_missing", "users whose manager is not in User.csv (imported without manager)",
                              src.file, src.lines[i], f"{uid}: ManagerId {manager}")
            manager = None
        ctx.users.add(uid)
        table.add(src.file, src.lines[i], user_id=uid, name=_name(src, i, names, firsts, lasts), email=emails[i],
                  role="manager" if uid in bosses else "rep", manager_id=manager or None, team=teams[i],
                  territory=territories[i])


def accounts(ctx) -> None:
    src = ctx.files.get("account")
    if src is None:
        return
    ids = src.need(ctx.problems, "Id")
    names, sectors = src.opt("Name"), src.opt("Industry")
    countries, states = src.opt("BillingCountry"), src.opt("BillingState")
    employees, revenue = src.opt("NumberOfEmployees"), src.opt("AnnualRevenue")
    parents, created = src.opt("ParentId"), src.opt("CreatedDate")
    known = set(ids)
    table = ctx.out.table("accounts")
    table.describe(src.file, account_id="Id", sector="Industry", employees="NumberOfEmployees",
                   annual_revenue="AnnualRevenue", parent_account_id="ParentId", created_at="CreatedDate")
    for i, aid in enumerate(ids):
        if not aid:
            ctx.problems.add(src.file, src.lines[i], "Id", "is required but empty")
            continue
        parent = parents[i]
        if parent and parent not in known:
            ctx.findings.keep("parent_missing", "accounts whose parent is not in Account.csv (imported without parent)",
                              src.file, src.lines[i], f"{aid}: ParentId {parent}")
            parent = None
        ctx.accounts.add(aid)
        table.add(src.file, src.lines[i], account_id=aid, name=names[i] or aid, sector=sectors[i],
                  territory=countries[i] or states[i], employees=_whole(ctx, src, "NumberOfEmployees", i, employees[i]),
                  annual_revenue=ctx.money(src, "AnnualRevenue", i, revenue[i]), parent_account_id=parent or None,
                  created_at=ctx.ts(src, "CreatedDate", i, created[i]))


def _whole(ctx, src, column: str, i: int, cell: str):
    if not cell:
        return None
    try:
        value = float(cell)
    except ValueError:
        value = None
    if value is None or not value.is_integer():
        ctx.problems.add(src.file, src.lines[i], column, f"{cell!r} is not a whole number")
        return None
    return int(value)


def _contact_roles(ctx) -> dict[str, str]:
    src = ctx.files.get("contact_role")
    if src is None:
        return {}
    opps, contacts, roles = src.need(ctx.problems, "OpportunityId"), src.need(ctx.problems, "ContactId"), src.opt("Role")
    best: dict[str, str] = {}
    for i, (opp, contact, role) in enumerate(zip(opps, contacts, roles)):
        if opp not in ctx.deals:
            ctx.findings.skip("role_deal_missing", "contact roles on opportunities that were not imported",
                              src.file, src.lines[i], f"{contact} on {opp}")
            continue
        if contact not in ctx.contact_ids:
            ctx.findings.skip("role_contact_missing", "contact roles of contacts not in Contact.csv",
                              src.file, src.lines[i], f"{contact} on {opp}")
            continue
        if not role:
            ctx.findings.skip("role_empty", "contact roles without a role", src.file, src.lines[i], f"{contact} on {opp}")
            continue
        mapped = CONTACT_ROLES.get(role.strip().lower(), "other")
        if contact not in best or ROLE_RANK.index(mapped) < ROLE_RANK.index(best[contact]):
            best[contact] = mapped
    return best


def contacts(ctx) -> None:
    src = ctx.files.get("contact")
    ctx.contact_ids = set(src.opt("Id")) if src is not None else set()
    roles = _contact_roles(ctx)
    if src is None:
        return
    ids, accounts = src.need(ctx.problems, "Id"), src.opt("AccountId")
    names, firsts, lasts = src.opt("Name"), src.opt("FirstName"), src.opt("LastName")
    titles, emails, phones, mobiles = src.opt("Title"), src.opt("Email"), src.opt("Phone"), src.opt("MobilePhone")
    table = ctx.out.table("contacts")
    table.describe(src.file, contact_id="Id", account_id="AccountId", title="Title", email="Email", phone="Phone")
    for i, cid in enumerate(ids):
        if not cid:
            ctx.problems.add(src.file, src.lines[i], "Id", "is required but empty")
            continue
        account = accounts[i]
        if account and account not in ctx.accounts:
            ctx.accounts_wanted.setdefault(account, (src.file, src.lines[i]))
        ctx.contacts.add(cid)
        table.add(src.file, src.lines[i], contact_id=cid, account_id=account or None,
                  name=_name(src, i, names, firsts, lasts), title=titles[i], email=emails[i],
                  phone=phones[i] or mobiles[i], buying_role=roles.get(cid))


def leads(ctx) -> None:
    src = ctx.files.get("lead")
    if src is None:
        return
    ids = src.need(ctx.problems, "Id")
    names, firsts, lasts = src.opt("Name"), src.opt("FirstName"), src.opt("LastName")
    companies, emails, phones = src.opt("Company"), src.opt("Email"), src.opt("Phone")
    owners, sources, created = src.opt("OwnerId"), src.opt("LeadSource"), src.opt("CreatedDate")
    statuses, converted, opp = src.opt("Status"), src.opt("IsConverted"), src.opt("ConvertedOpportunityId")
    table = ctx.out.table("leads")
    table.describe(src.file, lead_id="Id", owner_id="OwnerId", source="LeadSource", created_at="CreatedDate",
                   status="Status", converted_deal_id="ConvertedOpportunityId")
    for i, lid in enumerate(ids):
        if not lid:
            ctx.problems.add(src.file, src.lines[i], "Id", "is required but empty")
            continue
        owner = owners[i] if owners[i].startswith("005") or owners[i] in ctx.users else ""
        if owners[i] and not owner:
            ctx.findings.keep("lead_queue_owner", "leads owned by a queue, not a user (imported without owner)",
                              src.file, src.lines[i], f"{lid}: OwnerId {owners[i]}")
        if owner:
            ctx.users_wanted.setdefault(owner, (src.file, src.lines[i]))
        status = "converted" if flag(converted[i]) else LEAD_STATUSES.get(statuses[i].strip().lower())
        if statuses[i] and status is None:
            ctx.findings.keep("lead_status_unknown", "lead statuses bestby does not know (imported without status)",
                              src.file, src.lines[i], f"{lid}: {statuses[i]!r}")
        source = LEAD_SOURCES.get(sources[i].strip().lower(), "other") if sources[i] else None
        deal = opp[i] if opp[i] in ctx.deals else None
        if opp[i] and deal is None:
            ctx.findings.keep("lead_deal_missing", "converted leads whose opportunity was not imported (link dropped)",
                              src.file, src.lines[i], f"{lid}: ConvertedOpportunityId {opp[i]}")
        ctx.leads.add(lid)
        table.add(src.file, src.lines[i], lead_id=lid, name=_name(src, i, names, firsts, lasts), company=companies[i],
                  email=emails[i], phone=phones[i], owner_id=owner or None, source=source,
                  created_at=ctx.ts(src, "CreatedDate", i, created[i]), status=status, converted_deal_id=deal,
                  **({"LeadSource": sources[i]} if source == "other" else {}))


def placeholders(ctx) -> None:
    """Users and accounts referenced by imported rows but absent from the export (see module doc)."""
    users_table = ctx.out.table("users")
    for uid, (file, line) in ctx.users_wanted.items():
        if uid in ctx.users:
            continue
        ctx.findings.keep("owner_placeholder", "owners not in User.csv: a user named by the id was created",
                          file, line, uid)
        users_table.add(file, line, user_id=uid, name=uid, role="rep")
    accounts_table = ctx.out.table("accounts")
    for aid, (file, line) in ctx.accounts_wanted.items():
        if aid in ctx.accounts:
            continue
        ctx.findings.keep("account_placeholder", "accounts not in Account.csv: an account named by the id was created",
                          file, line, aid)
        accounts_table.add(file, line, account_id=aid, name=aid)
