"""Map a Salesforce data export (one CSV per object, API field names) into FORMAT.md.

Pure: no Django, no database. ``map_export(folder, dates)`` returns the tables
and the findings; ``bestby.importers.crm.run.import_mapped`` imports them.

Files (found by object name, see ``source.find``; only Opportunity is required)
    Opportunity, OpportunityHistory (also "Opportunity History"),
    OpportunityFieldHistory, OpportunityStage, Account, Contact,
    OpportunityContactRole, User, Lead, Task, Event. Columns are matched by API
    name; the aliases accepted for reports' headers are listed in the code
    (``OppID`` for ``OpportunityId``, ``CreatedDate`` or ``Date``).

Pipeline and stages
    One pipeline, ``salesforce``. With OpportunityStage: its stages
    (``MasterLabel`` or ``ApiName``), position ``SortOrder``, kind won when
    ``IsWon``, lost when ``IsClosed`` and not won, else open, probability
    ``DefaultProbability`` / 100. Without it: the stages named in Opportunity
    and OpportunityHistory, positioned by the history's ``SortOrder`` column
    when it has one, else by Salesforce's default sales process (Prospecting,
    Qualification, Needs Analysis, Value Proposition, Id. Decision Makers,
    Perception Analysis, Proposal/Price Quote, Negotiation/Review, Closed Won,
    Closed Lost), else by first appearance; the kind is won for a name
    containing "won", lost for "lost", else open (finding ``stages_inferred``).

Deals (Opportunity)
    ``deal_id`` = Id (kept, so a newer export updates the same deals);
    ``IsDeleted`` rows are skipped. The stage decides the status;
    ``IsClosed``/``IsWon`` flags that contradict it are a finding
    (``flags_contradict_stage``): Salesforce derives both flags from the
    stage, so a contradiction is an export artefact and the stage is the
    record. A stage that is not in OpportunityStage skips the deal
    (``deal_stage_unknown``) and everything linked to it. ``created_at`` =
    CreatedDate; ``close_date`` (expected) = CloseDate; for a closed deal
    ``closed_at`` = the time of its last move into its closed stage in the
    history when there is one (when the CRM recorded the close), else CloseDate;
    never before ``created_at`` (finding ``closed_before_created``, set to
    ``created_at``). ``lost_reason`` from ``Loss_Reason__c`` (or
    ``Lost_Reason__c``, ``Reason_Lost__c``, ``Closed_Lost_Reason__c``) on lost
    deals; ``source`` = LeadSource; ``currency`` = CurrencyIsoCode; ``Type``,
    ``Probability`` and ``ForecastCategoryName`` are kept as custom fields.
    An AccountId or OwnerId not in Account.csv / User.csv becomes a
    placeholder account or user named by its id (finding), so that deals keep
    their grouping and a later export with those files fills them in.

Stage events (see ``history.stage_events`` for the cleaning rules)
    From OpportunityHistory (a row per change of stage, amount or close date:
    a row in the stage the deal is already in is an amount or close-date
    change, not reported); for an opportunity without OpportunityHistory rows,
    from OpportunityFieldHistory rows of field ``StageName``. The current stage
    is reached at ``closed_at`` (closed) or ``LastStageChangeDate`` (open).

Close-date events
    From OpportunityFieldHistory rows of field ``CloseDate`` (old and new
    value) for an opportunity that has any; else from consecutive
    OpportunityHistory rows whose CloseDate differs (the first row sets the
    close date and is not a change). Field-history rows of other fields are
    counted (finding ``field_history_other``), not imported.

Users, accounts, contacts, leads, touches
    See ``salesforce_people`` and ``salesforce_activity``.
"""

from __future__ import annotations

from pathlib import Path

from bestby.importers.crm import salesforce_activity, salesforce_people
from bestby.importers.crm.context import MapContext
from bestby.importers.crm.dates import Dates
from bestby.importers.crm.findings import Findings
from bestby.importers.crm.history import Deal, Move, stage_events
from bestby.importers.crm.out import Out
from bestby.importers.crm.salesforce_stages import PIPELINE, Stages, flag, flags, read_stages  # noqa: F401 - flag, flags: this module's API
from bestby.importers.crm.source import SourceFile, find
from bestby.importers.problems import ProblemCollector

OBJECTS = {
    "opportunity": ("Opportunity", "Opportunities"),
    "history": ("OpportunityHistory", "Opportunity History"),
    "field_history": ("OpportunityFieldHistory", "Opportunity Field History"),
    "stage": ("OpportunityStage", "Opportunity Stage"),
    "account": ("Account", "Accounts"),
    "contact": ("Contact", "Contacts"),
    "contact_role": ("OpportunityContactRole", "Opportunity Contact Role"),
    "user": ("User", "Users"),
    "lead": ("Lead", "Leads"),
    "task": ("Task", "Tasks"),
    "event": ("Event", "Events"),
}

LOSS_REASON = ("Loss_Reason__c", "Lost_Reason__c", "Reason_Lost__c", "Closed_Lost_Reason__c", "Loss Reason")
class Ctx(MapContext):
    """One Salesforce mapping: the shared context plus the ids each part leaves for the next."""

    def __init__(self, files: dict[str, SourceFile], dates: Dates) -> None:
        super().__init__(files, dates)
        self.deals: dict[str, str] = {}       # imported deal id -> its account id ('' when none)
        self.skipped_deals: set[str] = set()
        self.accounts: set[str] = set()
        self.contacts: set[str] = set()
        self.leads: set[str] = set()
        self.users: set[str] = set()
        self.accounts_wanted: dict[str, tuple[str, int]] = {}  # referenced id -> first (file, line) naming it
        self.users_wanted: dict[str, tuple[str, int]] = {}


def map_export(folder: Path, dates: Dates) -> tuple[Out, Findings]:
    problems = ProblemCollector()
    files = find(Path(folder), OBJECTS, problems, required=("opportunity",))
    problems.raise_if_any()
    _observe_dates(files, dates)
    dates.settle()
    ctx = Ctx(files, dates)
    opp = files["opportunity"]
    for name in ("Id", "StageName", "CreatedDate"):
        opp.need(ctx.problems, name)
    ctx.problems.raise_if_any()
    stages = read_stages(ctx)
    salesforce_people.users(ctx)
    salesforce_people.accounts(ctx)
    _deals(ctx, stages)
    salesforce_people.contacts(ctx)
    salesforce_people.leads(ctx)
    salesforce_activity.touches(ctx)
    ctx.problems.raise_if_any()
    salesforce_people.placeholders(ctx)
    return ctx.out, ctx.findings


DATE_COLUMNS = ("CreatedDate", "Date", "CloseDate", "LastStageChangeDate", "ActivityDate", "CompletedDateTime",
                "StartDateTime", "ActivityDateTime", "EndDateTime", "SystemModstamp", "LastModifiedDate")


def _observe_dates(files: dict[str, SourceFile], dates: Dates) -> None:
    for src in files.values():
        for name in DATE_COLUMNS:
            cells = src.col(name)
            if cells is not None:
                dates.observe(cells, f"{src.file} column {src.header(name)}")
        if src is files.get("field_history"):
            field = src.opt("Field")
            for col in ("OldValue", "NewValue"):
                cells = src.opt(col)
                dates.observe([c for f, c in zip(field, cells) if f == "CloseDate"], f"{src.file} column {col}")


# -- deals and their history ----------------------------------------------------------------------------
def _moves(ctx: Ctx, stages: Stages) -> tuple[dict[str, list[Move]], dict[str, list]]:
    """Per opportunity: stage moves, and close-date events (at, new, old, file, line)."""
    moves: dict[str, list[Move]] = {}
    close_events: dict[str, list] = {}
    hist = ctx.files.get("history")
    if hist is not None:
        ids = hist.need(ctx.problems, "OpportunityId", "OppID", "Opportunity ID")
        ats = hist.need(ctx.problems, "CreatedDate", "Date", "Created Date")
        names = hist.need(ctx.problems, "StageName", "Stage")
        closes = hist.col("CloseDate", "Close Date")
        deleted = flags(hist.opt("IsDeleted"))
        sets: dict[str, list] = {}  # opportunity -> (at, line, close date) of each history row with a CloseDate
        lines = hist.lines
        at_col = hist.header("CreatedDate", "Date", "Created Date") or "CreatedDate"
        times = ctx.ts_col(hist, at_col, ats)
        close_days = ctx.day_col(hist, "CloseDate", closes) if closes is not None else None
        for i, oid in enumerate(ids):
            if deleted[i]:
                ctx.findings.skip("deleted", "rows deleted in Salesforce (IsDeleted)", hist.file, lines[i], oid)
                continue
            at = times[i]
            if at is None:
                if not ats[i]:
                    ctx.problems.add(hist.file, lines[i], at_col, "is required but empty")
                continue
            moves.setdefault(oid, []).append(Move(at, names[i], hist.file, lines[i]))
            if close_days is not None and close_days[i] is not None:
                sets.setdefault(oid, []).append((at, lines[i], close_days[i]))
        for oid, rows in sets.items():
            rows.sort()
            for (_, _, old), (at, line, new) in zip(rows, rows[1:]):
                if new != old:
                    close_events.setdefault(oid, []).append((at, new, old, hist.file, line))
    fh = ctx.files.get("field_history")
    field_close: dict[str, list] = {}
    if fh is not None:
        ids = fh.need(ctx.problems, "OpportunityId", "OppID")
        fields = fh.need(ctx.problems, "Field")
        ats = fh.need(ctx.problems, "CreatedDate")
        olds, news = fh.opt("OldValue"), fh.opt("NewValue")
        deleted = fh.opt("IsDeleted")
        lines = fh.lines
        for i, oid in enumerate(ids):
            f = fields[i]
            if flag(deleted[i]):
                ctx.findings.skip("deleted", "rows deleted in Salesforce (IsDeleted)", fh.file, lines[i], oid)
                continue
            if f not in ("CloseDate", "StageName"):
                ctx.findings.skip("field_history_other", "field history of fields bestby does not keep "
                                  "(only StageName and CloseDate are history in FORMAT.md)", fh.file, lines[i], f)
                continue
            at = ctx.ts(fh, "CreatedDate", i, ats[i])
            if at is None:
                continue
            if f == "CloseDate":
                new = ctx.day(fh, "NewValue", i, news[i])
                old = ctx.day(fh, "OldValue", i, olds[i])
                if new is not None:
                    field_close.setdefault(oid, []).append((at, new, old, fh.file, lines[i]))
            elif oid not in moves or moves[oid] and moves[oid][0].file == fh.file:
                moves.setdefault(oid, []).append(Move(at, news[i], fh.file, lines[i]))
            else:
                ctx.findings.skip("field_history_stage_dup", "StageName field history of opportunities that "
                                  "OpportunityHistory already covers", fh.file, lines[i], oid)
    close_events.update(field_close)
    return moves, close_events


def _deals(ctx: Ctx, stages: Stages) -> None:
    src = ctx.files["opportunity"]
    moves, close_events = _moves(ctx, stages)
    deals, events, cde = ctx.out.table("deals"), ctx.out.table("stage_events"), ctx.out.table("close_date_events")
    f = src.file
    add_event = events.adder("deal_id", "at", "to_stage", "from_stage")
    deals.describe(f, deal_id=src.header("Id"), name="Name", account_id="AccountId", owner_id="OwnerId",
                   amount="Amount", currency="CurrencyIsoCode", created_at="CreatedDate", stage="StageName",
                   closed_at="CloseDate", close_date="CloseDate", lost_reason=src.header(*LOSS_REASON) or LOSS_REASON[0],
                   source="LeadSource")
    ids, names, stage_names = src.opt("Id"), src.opt("Name"), src.opt("StageName")
    created_cells, close_cells = src.opt("CreatedDate"), src.opt("CloseDate")
    accounts, owners, amounts = src.opt("AccountId"), src.opt("OwnerId"), src.opt("Amount")
    currencies, sources, reasons = src.opt("CurrencyIsoCode"), src.opt("LeadSource"), src.opt(*LOSS_REASON)
    closed_cells, won_cells = src.opt("IsClosed"), src.opt("IsWon")   # as written, for the findings' examples
    is_closed, is_won, deleted = flags(src.col("IsClosed")), flags(src.col("IsWon")), flags(src.opt("IsDeleted"))
    created_times = ctx.ts_col(src, "CreatedDate", created_cells)
    last_change = src.opt("LastStageChangeDate")
    types, probs, forecast = src.opt("Type"), src.opt("Probability"), src.opt("ForecastCategoryName")
    seen: dict[str, int] = {}
    lines = src.lines
    for i, oid in enumerate(ids):
        line = lines[i]
        if not oid:
            ctx.problems.add(f, line, src.header("Id"), "is required but empty")
            continue
        if oid in seen:
            ctx.problems.add(f, line, src.header("Id"), f"opportunity {oid} appears twice (first on line {lines[seen[oid]]})")
            continue
        seen[oid] = i
        if deleted[i]:
            ctx.findings.skip("deleted", "rows deleted in Salesforce (IsDeleted)", f, line, oid)
            ctx.skipped_deals.add(oid)
            continue
        stage = stage_names[i]
        if stage not in stages:
            ctx.findings.skip("deal_stage_unknown", "opportunities in a stage that is not in OpportunityStage.csv "
                              "(skipped with their history and activities)", f, line, f"{oid}: {stage!r}")
            ctx.skipped_deals.add(oid)
            continue
        kind = stages.kind[stage]
        created = created_times[i]
        close_day = ctx.day(src, "CloseDate", i, close_cells[i])
        close = ctx.ts(src, "CloseDate", i, close_cells[i]) if close_day else None
        if created is None:
            if not created_cells[i]:
                ctx.problems.add(f, line, "CreatedDate", "is required but empty")
            continue
        if (is_closed is not None and is_closed[i] is not None and is_closed[i] != (kind != "open")) or (
                is_won is not None and is_won[i] is not None and is_won[i] != (kind == "won")):
            ctx.findings.keep("flags_contradict_stage", "opportunities whose IsClosed / IsWon contradict their stage "
                              "(the stage decides)", f, line,
                              f"{oid}: {stage!r} with IsClosed={closed_cells[i]}, IsWon={won_cells[i]}")
        deal_moves = moves.pop(oid, [])
        closed_at = None
        if kind != "open":
            into = [m.at for m in deal_moves if m.stage == stage and m.at >= created]
            closed_at = max(into) if into else close
            if closed_at is None:
                ctx.problems.add(f, line, "CloseDate", f"is empty but the opportunity is {kind} (stage {stage!r})")
                continue
            if closed_at < created:
                ctx.findings.keep("closed_before_created", "closed opportunities whose close is before their creation "
                                  "(closed_at set to CreatedDate)", f, line,
                                  f"{oid}: created {created:%Y-%m-%d}, closed {closed_at:%Y-%m-%d}")
                closed_at = created
        account = accounts[i]
        if account:
            ctx.accounts_wanted.setdefault(account, (f, line))
        owner = owners[i]
        if owner:
            ctx.users_wanted.setdefault(owner, (f, line))
        lost_reason = reasons[i] if kind == "lost" else None
        deals.add(f, line, deal_id=oid, pipeline=PIPELINE, name=names[i], account_id=account, owner_id=owner,
                  amount=ctx.money(src, "Amount", i, amounts[i]), currency=currencies[i], created_at=created,
                  stage=stage, status=kind, closed_at=closed_at, close_date=close_day,
                  lost_reason=lost_reason, source=sources[i],
                  **_custom(Type=types[i], Probability=probs[i], ForecastCategoryName=forecast[i]))
        ctx.deals[oid] = account
        end_at = closed_at if kind != "open" else ctx.ts(src, "LastStageChangeDate", i, last_change[i])
        deal = Deal(oid, created, stage, kind != "open", closed_at, f, line)
        for at, to_stage, from_stage, file, ln in stage_events(deal, deal_moves, stages=stages.kind.keys(),
                                                               first_open=stages.first_open, end_at=end_at,
                                                               findings=ctx.findings, repeat_code="history_repeat"):
            add_event(file, ln, oid, at, to_stage, from_stage)
        for at, new, old, file, ln in close_events.pop(oid, []):
            if at < created:
                ctx.findings.skip("history_before_deal", "history rows dated before their deal was created", file, ln,
                                  f"deal {oid} created {created:%Y-%m-%d %H:%M}, row at {at:%Y-%m-%d %H:%M}")
                continue
            cde.add(file, ln, deal_id=oid, at=at, new_close_date=new, old_close_date=old)
    for oid, rest in moves.items():
        for m in rest:
            _orphan(ctx, oid, m.file, m.line)
    for oid, rest in close_events.items():
        if oid not in ctx.deals:
            for _, _, _, file, ln in rest:
                _orphan(ctx, oid, file, ln)
    for name, column in (("stage_events", "OpportunityId"), ("close_date_events", "OpportunityId")):
        for key in ("history", "field_history"):
            if key in ctx.files:
                ctx.out.table(name).describe(ctx.files[key].file, deal_id=ctx.files[key].header(column, "OppID") or column,
                                             at="CreatedDate", to_stage="StageName", new_close_date="NewValue",
                                             old_close_date="OldValue")


def _orphan(ctx: Ctx, oid: str, file: str, line: int | None) -> None:
    if oid in ctx.skipped_deals:
        ctx.findings.skip("history_deal_skipped", "history rows of opportunities that were skipped", file, line, oid)
    else:
        ctx.findings.skip("history_deal_missing", "history rows of opportunities not in Opportunity.csv", file, line, oid)


def _custom(**values: str) -> dict:
    return {k: v for k, v in values.items() if v}
