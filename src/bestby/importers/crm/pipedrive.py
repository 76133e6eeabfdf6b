"""Map Pipedrive exports (deals, persons, organizations, activities, a deal change log) into FORMAT.md.

Pure: no Django, no database. ``map_export(folder, dates)`` returns the tables
and the findings; ``bestby.importers.crm.run.import_mapped`` imports them. Ids
are kept, so a newer export updates the same rows and adds only new events.

Files (found by name, ``source.find``; a deals export or a change log is required)
    deals / deal, deal_changes / deal_change_log / dealflow, persons / person,
    organizations / organization, activities / activity, users, stages,
    pipelines, activity_types, fields. Columns are matched in both header
    styles: the spreadsheet export's ("Deal - ID", "Deal - Stage" ...) and the
    API's keys ("id", "stage_id" ...). See ``pipedrive_people``,
    ``pipedrive_stages``, ``pipedrive_log`` and ``pipedrive_activity`` for
    their files. Naive times are read as the workspace's local time.

Deals from the deals export ("Deal - ID", "Deal - Title", "Deal - Value",
"Deal - Currency", "Deal - Organization", "Deal - Owner", "Deal - Stage",
"Deal - Pipeline", "Deal - Status", "Deal - Deal created", "Deal - Expected
close date", "Deal - Won time", "Deal - Lost time", "Deal - Lost reason"; or
id, title, value, currency, org_id, user_id, stage_id, pipeline_id, status,
add_time, expected_close_date, won_time, lost_time, lost_reason)
    ``status`` is the record (Pipedrive keeps it apart from the stage):
    ``open``, ``won``, ``lost``; ``deleted`` deals are skipped (finding
    ``deal_deleted``) with their history and activities; an empty status is
    won when a won time is given, lost when a lost time is, else open. A won
    or lost deal sits in its pipeline's added Won or Lost stage
    (``pipedrive_stages``) from ``closed_at`` = won or lost time, else
    ``close_time``, else ``update_time``, else ``created_at`` (finding
    ``closed_without_time``); never before ``created_at`` (finding
    ``closed_before_created``, set to ``created_at``). An open deal with a won
    or lost time keeps its status (finding ``close_time_on_open_deal``). A
    stage not in stages.csv skips the deal (finding ``deal_stage_unknown``).
    Lost reasons that are option ids of fields.csv get their label.

Deals from the change log, the history of both kinds of deal
    See ``pipedrive_deal``: without a deals export (the Enpal extract) the
    deals are built from the change log; either way the log's ``stage_id``
    and ``expected_close_date`` rows are the history.
"""

from __future__ import annotations

from pathlib import Path

from bestby.importers.crm import pipedrive_activity, pipedrive_deal, pipedrive_log, pipedrive_people
from bestby.importers.crm.context import MapContext
from bestby.importers.crm.dates import Dates
from bestby.importers.crm.findings import Findings
from bestby.importers.crm.out import Out
from bestby.importers.crm.pipedrive_stages import Stages, read_fields, read_stages
from bestby.importers.crm.source import SourceFile, find
from bestby.importers.problems import ProblemCollector

OBJECTS = {
    "deals": ("deals", "deal"),
    "changes": ("deal_changes", "deal_change_log", "dealflow", "deal_change", "deal_changelog"),
    "persons": ("persons", "person", "people"),
    "organizations": ("organizations", "organization", "organisations", "organisation"),
    "activities": ("activities", "activity"),
    "activity_types": ("activity_types", "activity_type"),
    "users": ("users", "user"),
    "stages": ("stages", "stage"),
    "pipelines": ("pipelines", "pipeline"),
    "fields": ("fields", "deal_fields", "dealfields"),
}
DEAL_ID = ("Deal - ID", "id", "deal_id")
DEAL_TITLE = ("Deal - Title", "title")
DEAL_VALUE = ("Deal - Value", "value")
DEAL_CURRENCY = ("Deal - Currency", "currency", "Deal - Currency of Value")
DEAL_ORG = ("Deal - Organization", "org_id", "Deal - Organization ID", "org_name")
DEAL_OWNER = ("Deal - Owner", "user_id", "owner_id", "Deal - Owner ID", "owner_name")
DEAL_STAGE = ("Deal - Stage", "stage_id")
DEAL_PIPELINE = ("Deal - Pipeline", "pipeline_id", "pipeline")
DEAL_STATUS = ("Deal - Status", "status")
DEAL_CREATED = ("Deal - Deal created", "add_time", "Deal - Created")
DEAL_CLOSE_DATE = ("Deal - Expected close date", "expected_close_date")
DEAL_WON = ("Deal - Won time", "won_time")
DEAL_LOST = ("Deal - Lost time", "lost_time")
DEAL_CLOSED = ("Deal - Deal closed on", "close_time", "Deal - Closed on")
DEAL_UPDATED = ("Deal - Update time", "update_time")
DEAL_STAGE_CHANGE = ("Deal - Last stage change", "stage_change_time")
DEAL_REASON = ("Deal - Lost reason", "lost_reason")
DEAL_DATES = (DEAL_CREATED, DEAL_CLOSE_DATE, DEAL_WON, DEAL_LOST, DEAL_CLOSED, DEAL_UPDATED, DEAL_STAGE_CHANGE)


class Ctx(MapContext):
    """One Pipedrive mapping: the shared context plus the ids and names each part leaves for the next."""

    def __init__(self, files: dict[str, SourceFile], dates: Dates) -> None:
        super().__init__(files, dates)
        self.pipelines: dict[str, str] = {}
        self.users: set[str] = set()
        self.accounts: set[str] = set()
        self.contacts: set[str] = set()
        self.user_names: dict[str, list[str]] = {}
        self.account_names: dict[str, list[str]] = {}
        self.contact_names: dict[str, list[str]] = {}
        self.wanted_users: dict[str, tuple[str, int | None]] = {}
        self.wanted_accounts: dict[str, tuple[str, int | None]] = {}
        self.deals: dict[str, str | None] = {}   # imported deal id -> its account id
        self.skipped_deals: set[str] = set()
        self.lost_reasons: dict[str, tuple[str, int]] = {}


def map_export(folder: Path, dates: Dates) -> tuple[Out, Findings]:
    problems = ProblemCollector()
    files = find(Path(folder), OBJECTS, problems)
    if not problems and "deals" not in files and "changes" not in files:
        problems.add(str(folder), None, None, "has neither a deals export (deals.csv) nor a deal change log "
                     "(deal_changes.csv, also deal_change_log.csv or dealflow.csv); one of them is required")
    problems.raise_if_any()
    ctx = Ctx(files, dates)
    _observe(ctx)
    dates.settle()
    fields = read_fields(ctx)
    ctx.lost_reasons = fields.get("lost_reason", {})
    stages = read_stages(ctx, fields)
    pipedrive_people.users(ctx)
    pipedrive_people.organizations(ctx)
    pipedrive_people.persons(ctx)
    log = pipedrive_log.read(ctx)
    ctx.problems.raise_if_any()
    if "deals" in files:
        _deals_from_export(ctx, stages, log)
    else:
        pipedrive_deal.deals_from_log(ctx, stages, log)
    _describe_history(ctx)
    pipedrive_activity.touches(ctx)
    stages.finish(ctx)
    pipedrive_people.placeholders(ctx)
    ctx.problems.raise_if_any()
    return ctx.out, ctx.findings


def _describe_history(ctx: Ctx) -> None:
    """Name the source columns of the history tables, so problems point at the export's cells."""
    for key, deal, at, value in (("changes", pipedrive_log.LOG_DEAL, pipedrive_log.LOG_TIME, pipedrive_log.LOG_NEW),
                                 ("deals", DEAL_ID, DEAL_CREATED, DEAL_STAGE)):
        src = ctx.files.get(key)
        if src is None:
            continue
        d, a, v = src.header(*deal) or deal[0], src.header(*at) or at[0], src.header(*value) or value[0]
        ctx.out.table("stage_events").describe(src.file, deal_id=d, at=a, to_stage=v, from_stage=v)
        ctx.out.table("close_date_events").describe(src.file, deal_id=d, at=a, new_close_date=v, old_close_date=v)


def _observe(ctx: Ctx) -> None:
    src = ctx.files.get("deals")
    if src is not None:
        for names in DEAL_DATES:
            cells = src.col(*names)
            if cells is not None:
                ctx.dates.observe(cells, f"{src.file} column {src.header(*names)}")
    src = ctx.files.get("organizations")
    if src is not None and src.col(*pipedrive_people.ORG_CREATED) is not None:
        ctx.dates.observe(src.col(*pipedrive_people.ORG_CREATED), f"{src.file} column {src.header(*pipedrive_people.ORG_CREATED)}")
    if "changes" in ctx.files:
        pipedrive_log.observe(ctx, ctx.files["changes"])
    if "activities" in ctx.files:
        pipedrive_activity.observe(ctx, ctx.files["activities"])


# -- deals from the deals export -------------------------------------------------------------------------
def _deals_from_export(ctx: Ctx, stages: Stages, log: pipedrive_log.ChangeLog | None) -> None:
    src = ctx.files["deals"]
    f = src.file
    ids = src.need(ctx.problems, *DEAL_ID)
    created_cells = src.need(ctx.problems, *DEAL_CREATED)
    stage_cells = src.need(ctx.problems, *DEAL_STAGE)
    ctx.problems.raise_if_any()
    col = {n: src.header(*names) or names[0] for n, names in (
        ("id", DEAL_ID), ("created", DEAL_CREATED), ("stage", DEAL_STAGE), ("status", DEAL_STATUS),
        ("won", DEAL_WON), ("lost", DEAL_LOST), ("closed", DEAL_CLOSED), ("updated", DEAL_UPDATED),
        ("change", DEAL_STAGE_CHANGE), ("close_date", DEAL_CLOSE_DATE), ("value", DEAL_VALUE))}
    ctx.out.table("deals").describe(
        f, deal_id=col["id"], name=src.header(*DEAL_TITLE) or "title", account_id=src.header(*DEAL_ORG) or "org_id",
        owner_id=src.header(*DEAL_OWNER) or "user_id", amount=col["value"], currency=src.header(*DEAL_CURRENCY) or "currency",
        created_at=col["created"], stage=col["stage"], status=col["status"], closed_at=col["won"],
        close_date=col["close_date"], lost_reason=src.header(*DEAL_REASON) or "lost_reason",
        pipeline=src.header(*DEAL_PIPELINE) or "pipeline_id")
    titles, values, currencies = src.opt(*DEAL_TITLE), src.opt(*DEAL_VALUE), src.opt(*DEAL_CURRENCY)
    orgs, owners, pipes, statuses = src.opt(*DEAL_ORG), src.opt(*DEAL_OWNER), src.opt(*DEAL_PIPELINE), src.opt(*DEAL_STATUS)
    close_dates, reasons = src.opt(*DEAL_CLOSE_DATE), src.opt(*DEAL_REASON)
    times = {k: src.opt(*names) for k, names in (("won", DEAL_WON), ("lost", DEAL_LOST), ("closed", DEAL_CLOSED),
                                                 ("updated", DEAL_UPDATED), ("change", DEAL_STAGE_CHANGE))}
    seen: dict[str, int] = {}
    for i, deal_id in enumerate(ids):
        line = src.lines[i]
        if not deal_id or deal_id in seen:
            ctx.problems.add(f, line, col["id"], "is required but empty" if not deal_id else
                             f"deal {deal_id} appears twice (first on line {src.lines[seen[deal_id]]})")
            continue
        seen[deal_id] = i
        created = ctx.ts(src, col["created"], i, created_cells[i])
        at = {k: ctx.ts(src, col[k], i, v[i]) for k, v in times.items()}
        close_date = ctx.ts(src, col["close_date"], i, close_dates[i])
        if created is None:
            if not created_cells[i]:
                ctx.problems.add(f, line, col["created"], "is required but empty")
            continue
        status = statuses[i].strip().lower() or ("won" if at["won"] else "lost" if at["lost"] else "open")
        if status not in pipedrive_deal.STATUSES:
            ctx.problems.add(f, line, col["status"], f"{statuses[i]!r} is not a Pipedrive status ({', '.join(pipedrive_deal.STATUSES)})")
            continue
        if status == "deleted":
            ctx.findings.skip("deal_deleted", "deals deleted in Pipedrive (skipped with their history and activities)",
                              f, line, f"deal {deal_id}")
            ctx.skipped_deals.add(deal_id)
            continue
        closed_at = None
        if status == "open":
            given = [k for k in ("won", "lost", "closed") if at[k]]
            if given:
                ctx.findings.keep("close_time_on_open_deal", "open deals with a won, lost or close time (the status "
                                  "decides: kept open)", f, line, f"deal {deal_id}: {', '.join(col[k] for k in given)}")
        else:
            closed_at = at[status]
            if closed_at is None:
                used = next((k for k in ("closed", "updated") if at[k]), None)
                closed_at = at[used] if used else created
                ctx.findings.keep("closed_without_time", f"{status} deals without a {status} time (closed at the close "
                                  "time, else the update time, else the creation)", f, line,
                                  f"deal {deal_id}: closed at its {col[used] if used else col['created']}")
        deal = pipedrive_deal.DealIn(deal_id, f, line, created, status, closed_at, f, line, stage_cell=stage_cells[i],
                      pipeline=ctx.pipelines.get(pipes[i], pipes[i]) or None, end_at=at["change"])
        deal.values = dict(
            name=titles[i] or None, amount=ctx.money_at(f, line, col["value"], values[i]), currency=currencies[i] or None,
            account_id=pipedrive_people.account_ref(ctx, orgs[i], f, line), owner_cell=owners[i],
            close_date=close_date.date() if close_date else None,
            lost_reason=pipedrive_deal.reason(ctx, reasons[i], f, line) if status == "lost" else None)
        inst = log.take(ctx, deal_id, created) if log is not None else None
        summary = pipedrive_log.summarize(ctx, log, inst, whole_deal=False) if inst else pipedrive_log.Summary()
        pipedrive_deal.emit(ctx, stages, deal, summary, log.file if log else f)
    if log is not None:
        log.rest(ctx, "change_log_deal_missing", "change-log rows of deals that are not imported "
                 "(not in the deals export, or skipped)")
