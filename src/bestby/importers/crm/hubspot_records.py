"""HubSpot's companies, contacts, calls and emails exports: accounts, contacts and touches.

The rules are specified in ``crm.hubspot`` (sections *Accounts*, *Contacts*,
*Associations* and *Touches*); this module only holds the code.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from bestby.importers.crm.hubspot_common import Ctx, Link, name_index, resolve
from bestby.importers.crm.source import SourceFile

COMPANY_COLUMNS = ("Associated Company IDs (Primary)", "Associated Company IDs", "Associated Company ID",
                   "Associated Company")
OWNER_COLUMNS = ("Activity assigned to", "Assigned to", "Activity owner", "Owner")

#: "Call outcome" labels (case and "_" ignored) -> FORMAT.md outcome ('' = none fits; see crm.hubspot)
CALL_OUTCOMES = {"connected": "connected", "busy": "no_answer", "no answer": "no_answer",
                 "left voicemail": "voicemail_left", "wrong number": "bounced", "left live message": ""}
#: "Call status" / "Email status" values of activities that did not happen (yet)
NOT_DONE = {"queued", "scheduled", "ringing", "connecting", "calling crm user", "in progress", "sending"}
NOT_MADE = {"canceled", "cancelled", "failed"}
NO_ANSWER_STATUS = {"busy", "no answer", "missed"}
INCOMING, OUTGOING = ("incoming", "inbound", "received"), ("outbound", "outgoing", "sent", "email", "forwarded")


def _value(cell: str) -> str:
    return " ".join(cell.replace("_", " ").lower().split())


def minutes(cell: str) -> int | None:
    """Call duration in whole minutes (nearest, half up): "H:MM:SS" / "MM:SS", or a number of milliseconds."""
    text = cell.strip()
    if not text:
        return None
    try:
        if ":" in text:
            parts = [int(x) for x in text.split(":")]
            if not 2 <= len(parts) <= 3 or min(parts) < 0:
                raise ValueError
            seconds = Decimal(sum(v * 60 ** k for k, v in enumerate(reversed(parts))))
        else:
            seconds = Decimal(text) / 1000
            if seconds < 0 or not seconds.is_finite():
                raise ValueError
    except (ValueError, InvalidOperation):
        raise ValueError(f"{cell!r} is not a call duration; HubSpot writes milliseconds (90000) or H:MM:SS") from None
    return int((seconds + 30) // 60)


def map_companies(ctx: Ctx, src: SourceFile) -> dict[str, str]:
    """accounts from the companies export; returns Record ID -> company name."""
    f, h, p = src.file, src.header, ctx.problems
    ids = src.need(p, "Record ID", "Company ID")
    names, sectors = src.opt("Company name", "Name"), src.opt("Industry")
    employees, revenue = src.opt("Number of Employees"), src.opt("Annual Revenue")
    territories, created = src.opt("Country/Region", "Country"), src.opt("Create Date")
    table = ctx.out.table("accounts")
    table.describe(f, **{k: v for k, v in dict(
        account_id=h("Record ID", "Company ID"), name=h("Company name", "Name"), sector=h("Industry"),
        employees=h("Number of Employees"), annual_revenue=h("Annual Revenue"),
        territory=h("Country/Region", "Country"), created_at=h("Create Date")).items() if v})
    known: dict[str, str] = {}
    for i, line in enumerate(src.lines):
        if not ids[i]:
            p.add(f, line, h("Record ID", "Company ID"), "is empty; every company needs its Record ID")
            continue
        table.add(f, line, account_id=ids[i], name=names[i] or None, sector=sectors[i] or None,
                  territory=territories[i] or None, employees=employees[i] or None,
                  annual_revenue=revenue[i] or None, created_at=ctx.ts_at(f, line, h("Create Date"), created[i]))
        known[ids[i]] = names[i]
    return known


def map_contacts(ctx: Ctx, src: SourceFile, companies: dict[str, str] | None) -> dict[str, str | None]:
    """contacts from the contacts export; returns Record ID -> account id (None: no known company)."""
    f, h, p = src.file, src.header, ctx.problems
    ids = src.need(p, "Record ID", "Contact ID")
    first, last = src.opt("First Name"), src.opt("Last Name")
    emails, phones = src.opt("Email"), src.opt("Phone Number", "Phone", "Mobile Phone Number")
    titles, company_cells = src.opt("Job Title"), src.opt(*COMPANY_COLUMNS)
    company_h = h(*COMPANY_COLUMNS)
    names = name_index(companies) if companies else {}
    table = ctx.out.table("contacts")
    table.describe(f, **{k: v for k, v in dict(
        contact_id=h("Record ID", "Contact ID"), email=h("Email"), title=h("Job Title"),
        phone=h("Phone Number", "Phone", "Mobile Phone Number"), account_id=company_h).items() if v})
    known: dict[str, str | None] = {}
    for i, line in enumerate(src.lines):
        if not ids[i]:
            p.add(f, line, h("Record ID", "Contact ID"), "is empty; every contact needs its Record ID")
            continue
        link = resolve(company_cells[i], companies or {}, names)
        _report(ctx, "contact", "company", link, companies is not None, f, line, ids[i])
        extra = {"hubspot_other_company_ids": ";".join(link.others)} if link.chosen and link.others else {}
        name = " ".join(x for x in (first[i], last[i]) if x)
        table.add(f, line, contact_id=ids[i], account_id=link.chosen, name=name or None, title=titles[i] or None,
                  email=emails[i] or None, phone=phones[i] or None, **extra)
        known[ids[i]] = link.chosen
    return known


def _report(ctx: Ctx, row: str, what: str, link: Link, have_export: bool, file: str, line: int, row_id: str) -> None:
    """Findings for one resolved association: a dropped link, or several links of which the first is kept."""
    if link.chosen is None and link.unknown:
        where = f"not in the {what} export" if have_export else f"without a {what} export"
        ctx.findings.keep(f"{row}_{what}_unknown", f"{row}s linked to a {what} {where}: the link is dropped (the "
                          f"{row} is kept)", file, line, f"{row} {row_id} -> {', '.join(link.unknown)}")
    elif link.chosen is not None and link.others:
        ctx.findings.keep(f"{row}_several_{what}", f"{row}s linked to several {what} records: the first one in the "
                          "export is used", file, line, f"{row} {row_id} -> {link.chosen}, also {', '.join(link.others)}")


class TouchesMapper:
    """touches from the calls and emails exports, linked to the deals, contacts and companies mapped before."""

    def __init__(self, ctx: Ctx, deals: dict[str, str | None], contacts: dict[str, str | None] | None,
                 companies: dict[str, str] | None) -> None:
        self.ctx, self.deals, self.contacts, self.companies = ctx, deals, contacts, companies
        self.table = ctx.out.table("touches")

    def map(self, src: SourceFile, kind: str) -> None:
        ctx, f, h, p = self.ctx, src.file, src.header, self.ctx.problems
        call = kind == "call"
        ids, dates = src.need(p, "Record ID"), src.need(p, "Activity date", "Activity Date")
        owners, owner_h = src.opt(*OWNER_COLUMNS), h(*OWNER_COLUMNS)
        directions = src.opt("Call direction" if call else "Email direction")
        statuses = src.opt("Call status" if call else "Email status", "Status")
        outcomes = src.opt("Call outcome") if call else [""] * src.nrows
        durations, duration_h = src.opt("Call duration"), h("Call duration")
        notes = src.opt("Call title", "Call notes") if call else src.opt("Email subject")
        deal_cells = src.opt("Associated Deal IDs", "Associated Deal ID", "Associated Deal")
        contact_cells = src.opt("Associated Contact IDs", "Associated Contact ID", "Associated Contact")
        company_cells = src.opt(*COMPANY_COLUMNS)
        company_names = name_index(self.companies) if self.companies else {}
        self.table.describe(f, **{k: v for k, v in dict(
            touch_id=h("Record ID"), at=h("Activity date", "Activity Date"), owner_id=owner_h,
            duration_minutes=duration_h, deal_id=h("Associated Deal IDs", "Associated Deal ID", "Associated Deal"),
            contact_id=h("Associated Contact IDs", "Associated Contact ID", "Associated Contact"),
            account_id=h(*COMPANY_COLUMNS)).items() if v})
        if owner_h:
            ctx.out.table("users").describe(f, user_id=owner_h, name=owner_h, email=owner_h)
        for i, line in enumerate(src.lines):
            rid = ids[i]
            if not rid:
                p.add(f, line, h("Record ID"), f"is empty; every {kind} needs its Record ID")
                continue
            status = _value(statuses[i])
            if status in NOT_DONE:
                ctx.findings.skip("not_done", "activities not done yet (planned, queued or in progress): not touches",
                                  f, line, f"{kind} {rid}, status {statuses[i]!r}")
                continue
            if status in NOT_MADE:
                ctx.findings.skip("not_made", "activities that did not take place (canceled or failed): not touches",
                                  f, line, f"{kind} {rid}, status {statuses[i]!r}")
                continue
            at = ctx.ts_at(f, line, h("Activity date", "Activity Date"), dates[i])
            if at is None:
                if not dates[i]:
                    p.add(f, line, h("Activity date", "Activity Date"), f"is empty; every {kind} happened at a time")
                continue
            links = (resolve(deal_cells[i], self.deals), resolve(contact_cells[i], self.contacts or {}),
                     resolve(company_cells[i], self.companies or {}, company_names))
            if all(link.chosen is None for link in links):
                ctx.findings.skip("activity_unlinked", "activities linked to no deal, contact or company of the export: "
                                  "not a touch of a known buyer", f, line, f"{kind} {rid} -> "
                                  + (", ".join(x for link in links for x in link.unknown) or "no association"))
                continue
            for what, link, have in zip(("deal", "contact", "company"), links,
                                        (True, self.contacts is not None, self.companies is not None)):
                _report(ctx, kind, what, link, have, f, line, rid)
            deal, contact, company = (link.chosen for link in links)
            account = company or (self.contacts or {}).get(contact) or self.deals.get(deal)
            direction, outcome = self._direction_outcome(kind, rid, directions[i], status, outcomes[i], f, line)
            duration = None
            if call:
                try:
                    duration = minutes(durations[i])
                except ValueError as exc:
                    p.add(f, line, duration_h, str(exc))
            self.table.add(f, line, touch_id=rid, at=at, channel="phone" if call else "email",
                           owner_id=ctx.owner(owners[i], f, line), direction=direction, outcome=outcome or None,
                           deal_id=deal, contact_id=contact, account_id=account, duration_minutes=duration,
                           notes=notes[i] or None)

    def _direction_outcome(self, kind, rid, direction_cell, status, outcome_cell, f, line) -> tuple[str | None, str]:
        value = _value(direction_cell)
        if not value:
            direction = None
        elif any(w in value for w in INCOMING):
            direction = "in"
        elif any(w in value for w in OUTGOING):
            direction = "out"
        else:
            direction = None
            self.ctx.findings.keep("unknown_direction", "activities with a direction bestby does not know: imported "
                                   "without a direction", f, line, f"{kind} {rid}: {direction_cell!r}")
        if kind == "email":
            return direction, "bounced" if status == "bounced" else "replied" if direction == "in" else ""
        value = _value(outcome_cell)
        if not value:
            return direction, "no_answer" if status in NO_ANSWER_STATUS else ""
        if value not in CALL_OUTCOMES:
            self.ctx.findings.keep("unknown_call_outcome", "calls with an outcome bestby does not know: imported "
                                   "without an outcome", f, line, f"call {rid}: {outcome_cell!r}")
            return direction, ""
        return direction, CALL_OUTCOMES[value]
