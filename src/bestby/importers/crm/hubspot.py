"""Map HubSpot's CRM exports into FORMAT.md tables: ``bestby import hubspot FILE_OR_DIR``.

Pure: no Django, no database (``crm.run.import_mapped`` does that part). The
code lives in ``hubspot_deals`` (stages, deals, stage events),
``hubspot_records`` (accounts, contacts, touches) and ``hubspot_common``
(owners, associations); this docstring is the specification of all three.

Specification
=============

Files
    FILE is HubSpot's deals export; DIR a folder of exports. HubSpot names its
    files after the export (``hubspot-crm-exports-all-deals-2024-03-05.csv``),
    so a file is recognised by its header, checked in this order: a "Deal
    Stage" column makes the deals export; "Call direction", "Call outcome",
    "Call status" or "Call duration" the calls export; "Email direction",
    "Email subject" or "Email status" the emails export; "First Name" or "Last
    Name" the contacts export; "Company name" or "Company Domain Name" the
    companies export (contacts come first: they have a "Company Name" column
    too). A CSV recognised as none is ignored (finding ``unrecognised_file``);
    two files of one kind, a folder without a deals export, or a FILE that is
    not one, are errors. Columns are found by name, ignoring case, spaces and
    punctuation. Required columns: deals "Record ID", "Deal Stage", "Create
    Date"; companies and contacts "Record ID"; calls and emails "Record ID",
    "Activity date". All others are optional. Every date column goes through
    ``crm.dates`` (ISO 8601, or slash dates in the order detected or given by
    ``--date-format``); an unreadable date, number or duration in a used
    column is an error naming file, line and column, and nothing is imported.

Ids
    HubSpot's Record IDs are kept unchanged as deal_id, account_id,
    contact_id and touch_id, so that importing a newer export updates what
    changed and adds only new events (the canonical path matches on ids).

Stages
    A deals-export column ``Date entered "<stage> (<pipeline>)"`` (quotes
    optional, straight or curly) declares stage <stage> of pipeline
    <pipeline>: the text in the last parentheses, unless an earlier "(" gives a
    pipeline named in the "Pipeline" column (stage names may hold
    parentheses). A column naming no pipeline belongs to the deals' one
    pipeline; with several, its values are skipped (``other_pipeline_entry``).
    Position: the order of the Date entered columns in the header (HubSpot
    writes them in pipeline order); stages that deals are in but that have no
    column follow, in order of first appearance (``stage_without_dates``);
    then open stages are put before won and lost ones, each keeping its
    order, since a process ends in them. Kind from the name: the whole word
    "won" (any case: "Closed Won", not "Wonder") makes a won stage, "lost" a
    lost one, both or neither an open one; a closed stage renamed without
    those words ("Signed") is therefore open, and its deals' flags say so
    (``flag_contradicts_stage``). Probability: the "Deal probability" shared by
    every deal in the stage (0..1; above 1, or written with %, a percentage);
    none given, or deals that disagree (``probability_varies``): 1 for won,
    0 for lost, empty for open. Only pipelines that have deals get stages.

Deals
    deal_id "Record ID"; name "Deal Name"; pipeline "Pipeline" (an empty
    cell: the one pipeline the header names, "default" when it names none,
    an error when it names several); stage "Deal Stage" (a trailing
    " (<pipeline>)" removed); status the kind of the stage, whatever the
    source's "Is Closed Won" / "Is closed" flags say (a contradiction is kept
    as ``flag_contradicts_stage``); owner_id "Deal owner" (see Users); amount
    "Amount"; currency "Currency"; created_at "Create Date"; close_date the
    day of "Close Date"; lost_reason "Closed Lost Reason"; source "Original
    Source Type"; account_id from "Associated Company IDs (Primary)",
    "Associated Company IDs" or "Associated Company" (see Associations).
    closed_at, for won and lost deals only: the Date entered of the deal's
    current stage (the moment HubSpot recorded the close, to the second, and
    the time of the last stage event), else "Close Date" (HubSpot sets it when
    a deal is moved to a closed stage), else the latest Date entered, else
    created_at (``closed_without_date``); a closed_at before created_at
    becomes created_at (``closed_before_created``). Custom fields: deal_type
    ("Deal Type"), hubspot_other_company_ids.

Stage events
    Each non-empty Date entered cell of a stage of the deal's pipeline is a
    move into that stage at that time; ``crm.history.stage_events`` orders
    the moves, skips those before created_at, creates entry and close events
    for a deal without any, and adds a move into the current stage at
    closed_at when a closed deal's history ends elsewhere. Values in columns
    of another pipeline (the deal changed pipeline) are skipped
    (``other_pipeline_entry``). HubSpot keeps only the latest entry into each
    stage, so a deal that came back to a stage shows only its last visit: the
    finding ``latest_entry_only`` counts the deals whose history comes from
    these columns. "Date exited" columns only check: an exit before the entry
    of the same stage (the deal came back; ``exit_before_entry``) and an exit
    without an entry (``exit_without_entry``) are findings; the entries are
    used as they are.

Close-date events
    None: HubSpot's exports have no close-date history. Importing a newer
    export whose Close Date changed records the change as an event at import
    time (the canonical path does that for every source).

Users
    From "Deal owner" and the activities' "Activity assigned to". A cell
    holding an email address: user_id and email are the address (lower case),
    name the rest of the cell ("Jane Doe <jane@x.com>" gives "Jane Doe").
    Otherwise (HubSpot exports the owner's name) user_id is the slug of the
    name (NFKC, case-folded, each run of characters other than letters and
    digits replaced by "-": "Jane  Doe" gives "jane-doe"), name the cell, no
    email; one person written once by name and once by address is two users.
    Every role is rep: the exports do not say who manages whom. The runner
    matches users to stored users by email.

Accounts (companies export)
    account_id "Record ID", name "Company name", sector "Industry",
    employees "Number of Employees", annual_revenue "Annual Revenue",
    territory "Country/Region", created_at "Create Date".

Contacts (contacts export)
    contact_id "Record ID", name "First Name" and "Last Name" joined by a
    space, email "Email", phone "Phone Number", title "Job Title", account_id
    from the company association columns as for deals.

Associations
    A cell may hold several ids separated by ";" (or ","). The first id that
    is in the export is used, the others are noted (``<row>_several_<what>``;
    deals and contacts keep them in custom field hubspot_other_company_ids).
    In an "Associated Company" cell a token that is not an id may be
    "Name (id)" or a name that only one company of the export has. Ids not in
    the export (or with no such export) are dropped with a finding
    (``<row>_<what>_unknown``); the row is kept.

Touches (calls and emails exports)
    touch_id "Record ID", at "Activity date", owner_id "Activity assigned to",
    deal_id, contact_id and account_id from "Associated Deal IDs",
    "Associated Contact IDs" and the company columns (account_id falls back
    to the contact's account, then the deal's). An activity linked to no
    deal, contact or company of the export is skipped (``activity_unlinked``).
    Only done activities are touches: status ("Call status", "Email status")
    queued, scheduled, ringing, connecting, calling CRM user, in progress or
    sending is skipped (``not_done``), canceled or failed too (``not_made``).
    Calls: channel phone; direction from "Call direction" (inbound -> in,
    outbound -> out; others empty, ``unknown_direction``); outcome from "Call
    outcome": Connected -> connected, Busy and No answer -> no_answer, Left
    voicemail -> voicemail_left, Wrong number -> bounced (the call, like a
    bounced email, never reached its address), Left live message -> empty
    (someone answered, but not the buyer: neither connected nor no answer);
    an empty outcome with status busy, no answer or missed -> no_answer; any
    other outcome -> empty (``unknown_call_outcome``); duration_minutes from
    "Call duration" (milliseconds, HubSpot's unit, or H:MM:SS; the nearest
    minute, half up); notes "Call title". Emails: channel email; direction
    from "Email direction" (incoming -> in with outcome replied; sent,
    outgoing, forwarded or plain "Email" -> out); status bounced -> outcome
    bounced; notes "Email subject".
"""

from __future__ import annotations

import csv
from pathlib import Path

from bestby.importers.crm.dates import Dates
from bestby.importers.crm.findings import Findings
from bestby.importers.crm.hubspot_common import Ctx
from bestby.importers.crm.hubspot_deals import DealsMapper, stage_columns
from bestby.importers.crm.hubspot_records import TouchesMapper, map_companies, map_contacts
from bestby.importers.crm.out import Out
from bestby.importers.crm.source import SourceFile, norm
from bestby.importers.problems import ProblemCollector
from bestby.importers.readers import read_table

#: export kind -> header columns (normalised) that mark it, in the order they are tried
KINDS = (
    ("deals", ("dealstage",)),
    ("calls", ("calldirection", "calloutcome", "callstatus", "callduration")),
    ("emails", ("emaildirection", "emailsubject", "emailstatus")),
    ("contacts", ("firstname", "lastname")),
    ("companies", ("companyname", "companydomainname")),
)
DATE_COLUMNS = {"deals": ("Create Date", "Close Date"), "companies": ("Create Date",),
                "calls": ("Activity date",), "emails": ("Activity date",)}


def kind_of_file(path: Path) -> str | None:
    """The kind of export a CSV file is, from its header (see the specification), or None."""
    try:
        with open(path, newline="", encoding="utf-8-sig", errors="replace") as fh:
            header = {norm(c) for c in next(csv.reader(fh), [])}
    except OSError:
        return None
    return next((kind for kind, marks in KINDS if header & set(marks)), None)


def find_exports(path: Path, problems: ProblemCollector, findings: Findings) -> dict[str, Path]:
    path = Path(path)
    if path.exists() and not path.is_dir() and not path.is_file():
        read_table(path, problems)  # a device or a pipe: refused by name, nothing read
        return {}
    if path.is_file():
        if kind_of_file(path) != "deals":
            problems.add(path.name, 1, None, "is not a HubSpot deals export (it has no Deal Stage column); give the "
                         "deals export, or the folder of exports")
            return {}
        return {"deals": path}
    if not path.is_dir():
        problems.add(str(path), None, None, "does not exist; give HubSpot's deals export or the folder of exports")
        return {}
    found: dict[str, Path] = {}
    for p in sorted(q for q in path.iterdir() if q.is_file() and q.suffix.lower() == ".csv"):
        kind = kind_of_file(p)
        if kind is None:
            findings.skip("unrecognised_file", "files in the folder that are not a HubSpot deals, companies, contacts, "
                          "calls or emails export: ignored", p.name, None)
        elif kind in found:
            problems.add(p.name, None, None, f"looks like a second {kind} export besides {found[kind].name}; "
                         "keep one in the folder")
        else:
            found[kind] = p
    if "deals" not in found:
        problems.add(str(path), None, None, "has no HubSpot deals export (a CSV with a Deal Stage column)")
    return found


def map_export(path: Path, dates: Dates, **options) -> tuple[Out, Findings]:
    """Map a HubSpot export (file or folder); raise ImportFailed on problems, DateOrderError on ambiguous dates."""
    ctx = Ctx({}, dates)
    findings, problems = ctx.findings, ctx.problems
    files: dict[str, SourceFile] = ctx.files
    for kind, p in find_exports(path, problems, findings).items():
        raw = read_table(p, problems)
        if raw is not None:
            files[kind] = SourceFile(raw)
    problems.raise_if_any()
    for kind, src in files.items():
        for name in DATE_COLUMNS.get(kind, ()):
            dates.observe(src.opt(name), f"{src.file} column {name}")
        if kind == "deals":
            for c in stage_columns(src.raw.columns, set()):
                dates.observe(src.opt(c.header), f"{src.file} column {c.header}")
    dates.settle()
    companies = map_companies(ctx, files["companies"]) if "companies" in files else None
    contacts = map_contacts(ctx, files["contacts"], companies) if "contacts" in files else None
    deals = DealsMapper(ctx, files["deals"], companies).map()
    touches = TouchesMapper(ctx, deals, contacts, companies)
    for kind in ("calls", "emails"):
        if kind in files:
            touches.map(files[kind], kind[:-1])
    ctx.write_users()
    problems.raise_if_any()
    return ctx.out, findings
