"""One Pipedrive deal with its history, from the deals export or from the change log alone.

Deals from the change log, when there is no deals export (the Enpal extract)
    Each deal (``pipedrive_log`` splits ids two deals share) is built from its
    rows (finding ``deals_from_change_log``, one per deal): ``add_time`` gives
    ``created_at`` (a deal without one is skipped with its rows, finding
    ``change_log_no_add_time``); the latest ``user_id`` the owner; the latest
    ``title``, ``value``, ``currency``, ``org_id`` the deal's; ``stage_id``
    rows the stage events; the latest ``status`` row the status at its time,
    else a ``lost_reason`` row marks the deal lost at its change time with that
    reason (its option label from fields.csv). The pipeline is that of the
    deal's last stage.

Stage events (cleaned by ``history.stage_events``)
    The change log's ``stage_id`` rows; moves that skip stages or go back are
    normal and kept. A closed deal then moves from the stage it was in into
    its pipeline's Won or Lost stage (``pipedrive_stages``) at ``closed_at``,
    which is never before ``created_at`` (finding ``closed_before_created``,
    set to ``created_at``). A deal without usable stage changes enters its
    stage (a closed deal: the stage it was closed in; a deal built from the
    log: the pipeline's first) at ``created_at`` (finding
    ``no_stage_history``). When the first stage change comes after the deal's
    creation, nothing is invented for the time between (finding
    ``first_stage_after_creation``): the log does not say where the deal was.
    A deal in a stage not in stages.csv is skipped with its history and
    activities (finding ``deal_stage_unknown``).

Close-date events
    The ``expected_close_date`` rows in time order, each one's old date the
    one before it; a row repeating the date it sets is not a change (finding
    ``close_date_repeat``), a row before the deal's creation is skipped
    (finding ``history_before_deal``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from bestby.importers.crm import pipedrive_log, pipedrive_people
from bestby.importers.crm.history import Deal, Move, stage_events
from bestby.importers.crm.pipedrive_stages import DEFAULT_PIPELINE, Stages

if TYPE_CHECKING:  # pragma: no cover
    from bestby.importers.crm.pipedrive import Ctx

STATUSES = ("open", "won", "lost", "deleted")


@dataclass
class DealIn:
    """One deal as the export states it, before its history is cleaned."""

    deal_id: str
    file: str
    line: int | None
    created: datetime
    status: str
    closed_at: datetime | None
    close_file: str           # where the close is recorded (file, line)
    close_line: int | None
    stage_cell: str | None = None
    pipeline: str | None = None
    end_at: datetime | None = None
    values: dict | None = None


def reason(ctx: Ctx, cell: str, file: str, line: int | None) -> str | None:
    if not cell:
        return None
    hit = ctx.lost_reasons.get(cell)
    if hit is not None:
        return hit[0]
    if ctx.lost_reasons and cell.isascii() and cell.isdigit():
        ctx.findings.keep("lost_reason_unlabelled", "lost reasons that are not an option of fields.csv "
                          "(kept as written)", file, line, cell)
    return cell


# -- deals from the change log ---------------------------------------------------------------------------
def deals_from_log(ctx: Ctx, stages: Stages, log: pipedrive_log.ChangeLog) -> None:
    f = log.file
    src = ctx.files["changes"]
    new_col = src.header(*pipedrive_log.LOG_NEW)
    ctx.out.table("deals").describe(f, deal_id=src.header(*pipedrive_log.LOG_DEAL), created_at=new_col,
                                    owner_id=new_col, name=new_col, amount=new_col, currency=new_col,
                                    account_id=new_col, lost_reason=new_col, closed_at=src.header(*pipedrive_log.LOG_TIME))
    for deal_id in log.ids():
        inst = log.take(ctx, deal_id)
        if inst is None:
            continue
        if inst.created is None:
            for c in inst.changes:
                ctx.findings.skip("change_log_no_add_time", "change-log rows of deals without an add_time row "
                                  "(their creation is unknown)", f, c.line, f"deal {deal_id}: {c.key}")
            continue
        summary = pipedrive_log.summarize(ctx, log, inst, whole_deal=True)
        latest = summary.latest
        status, closed_at, close_line, lost_reason = "open", None, None, None
        st, lr = latest.get("status"), latest.get("lost_reason")
        if st is not None:
            status = st.value.strip().lower()
            if status not in STATUSES:
                ctx.problems.add(f, st.line, new_col, f"{st.value!r} is not a Pipedrive status ({', '.join(STATUSES)})")
                continue
            closed_at, close_line = (st.at, st.line) if status in ("won", "lost") else (None, None)
        elif lr is not None and lr.value.strip():
            status, closed_at, close_line = "lost", lr.at, lr.line
        if status == "deleted":
            ctx.findings.skip("deal_deleted", "deals deleted in Pipedrive (skipped with their history and activities)",
                              f, st.line, f"deal {deal_id}")
            ctx.skipped_deals.add(deal_id)
            continue
        if status == "lost" and lr is not None:
            lost_reason = reason(ctx, lr.value.strip(), f, lr.line)
        ctx.findings.keep("deals_from_change_log", "no deals export: deals built from the change log (add_time: "
                          "created, latest user_id: owner, stage_id: stage events, lost_reason: lost at its time)",
                          f, inst.add_line, f"deal {deal_id}")
        value = latest.get("value")
        deal = DealIn(deal_id, f, inst.add_line, inst.created, status, closed_at, f, close_line)
        deal.values = dict(
            name=_v(latest, "title"), currency=_v(latest, "currency"),
            amount=ctx.money_at(f, value.line, new_col, value.value) if value else None,
            account_id=pipedrive_people.account_ref(ctx, _v(latest, "org_id") or "", f, _line(latest, "org_id")),
            owner_cell=_v(latest, "user_id") or "", owner_line=_line(latest, "user_id"),
            close_date=summary.close_dates[-1][1] if summary.close_dates else None, lost_reason=lost_reason)
        emit(ctx, stages, deal, summary, f)


def _v(latest: dict, key: str) -> str | None:
    c = latest.get(key)
    return (c.value.strip() or None) if c else None


def _line(latest: dict, key: str) -> int | None:
    c = latest.get(key)
    return c.line if c else None


# -- one deal with its history ---------------------------------------------------------------------------
def emit(ctx: Ctx, stages: Stages, d: DealIn, summary: pipedrive_log.Summary, log_file: str) -> None:
    own = stages.resolve(d.stage_cell, d.pipeline, file=d.file, line=d.line) if d.stage_cell else None
    if d.stage_cell and own is None:
        ctx.findings.skip("deal_stage_unknown", "deals in a stage that is not in stages.csv (skipped with their "
                          "history and activities)", d.file, d.line, f"deal {d.deal_id}: {d.stage_cell!r}")
        ctx.skipped_deals.add(d.deal_id)
        return
    resolved = [(at, stages.resolve(cell, own[0] if own else None, file=log_file, line=ln), cell, ln)
                for at, cell, ln in summary.moves]
    if own is not None:
        pipeline = own[0]
    else:
        by_time = sorted((at, ln, hit[0]) for at, hit, _, ln in resolved if hit)
        pipeline = by_time[-1][2] if by_time else (d.pipeline or DEFAULT_PIPELINE)
    names = stages.of(pipeline)
    moves = [Move(at, hit[1] if hit and hit[0] == pipeline else (f"{hit[0]}/{hit[1]}" if hit else cell), log_file, ln)
             for at, hit, cell, ln in resolved]
    created, closed_at = d.created, d.closed_at
    if closed_at is not None and closed_at < created:
        ctx.findings.keep("closed_before_created", "closed deals whose close is before their creation (closed at "
                          "the creation)", d.close_file, d.close_line,
                          f"deal {d.deal_id}: created {created:%Y-%m-%d %H:%M}, closed {closed_at:%Y-%m-%d %H:%M}")
        closed_at = created
    valid = [m for m in sorted(moves, key=lambda m: (m.at, m.line or 0)) if m.stage in names and m.at >= created]
    current = own[1] if own else (valid[-1].stage if valid else stages.first_open(pipeline))
    if current is None:
        ctx.findings.skip("deal_stage_unknown", "deals in a stage that is not in stages.csv (skipped with their "
                          "history and activities)", d.file, d.line, f"deal {d.deal_id}: no stage")
        ctx.skipped_deals.add(d.deal_id)
        return
    if not valid:
        ctx.findings.keep("no_stage_history", "deals without usable stage changes in the change log (they enter "
                          "their stage at created_at)", d.file, d.line, f"deal {d.deal_id}")
        moves.append(Move(created, current, d.file, d.line))
    if d.status != "open":
        current = stages.won(pipeline) if d.status == "won" else stages.lost(pipeline)
        moves.append(Move(closed_at, current, d.close_file, d.close_line))
    events = stage_events(Deal(d.deal_id, created, current, d.status != "open", closed_at, d.file, d.line), moves,
                          stages=names, first_open=stages.first_open(pipeline) or current,
                          end_at=closed_at if d.status != "open" else d.end_at, findings=ctx.findings,
                          repeat_code="stage_repeat")
    if events and events[0][0] > created:
        ctx.findings.keep("first_stage_after_creation", "deals whose first stage change is after their creation "
                          "(no stage is recorded for the time between)", d.file, d.line,
                          f"deal {d.deal_id}: created {created:%Y-%m-%d %H:%M}, first stage {events[0][0]:%Y-%m-%d %H:%M}")
    table = ctx.out.table("stage_events")
    for at, to_stage, from_stage, file, ln in events:
        table.add(file, ln, deal_id=d.deal_id, at=at, to_stage=to_stage, from_stage=from_stage)
    _close_events(ctx, d, summary.close_dates, log_file)
    v = dict(d.values or {})
    owner = pipedrive_people.user_ref(ctx, v.pop("owner_cell", ""), d.file, v.pop("owner_line", None) or d.line)
    ctx.out.table("deals").add(d.file, d.line, deal_id=d.deal_id, pipeline=pipeline, owner_id=owner,
                               created_at=created, stage=current, status=d.status, closed_at=closed_at, **v)
    ctx.deals[d.deal_id] = v.get("account_id")


def _close_events(ctx: Ctx, d: DealIn, rows: list[tuple[datetime, date, int]], log_file: str) -> None:
    table = ctx.out.table("close_date_events")
    old = None
    for at, new, line in rows:
        if at < d.created:
            ctx.findings.skip("history_before_deal", "history rows dated before their deal was created", log_file, line,
                              f"deal {d.deal_id} created {d.created:%Y-%m-%d %H:%M}, row at {at:%Y-%m-%d %H:%M}")
            continue
        if new == old:
            ctx.findings.skip("close_date_repeat", "expected close date changes to the date it already had",
                              log_file, line, f"deal {d.deal_id}: {new}")
            continue
        table.add(log_file, line, deal_id=d.deal_id, at=at, new_close_date=new, old_close_date=old)
        old = new
