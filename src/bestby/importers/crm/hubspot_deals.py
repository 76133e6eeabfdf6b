"""HubSpot's deals export: stages from the "Date entered" columns, deals, and their stage events.

The rules are specified in ``crm.hubspot`` (sections *Stages*, *Deals* and
*Stage events*); this module only holds the code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from bestby.importers.crm.history import Deal, Move, comparable, stage_events
from bestby.importers.crm.hubspot_common import Ctx, name_index, resolve
from bestby.importers.crm.source import SourceFile

DEFAULT_PIPELINE = "default"  # the canonical path's pipeline for a deal without one
_DATE_COLUMN = re.compile(r"^\s*date\s+(entered|exited)\s+(.+?)\s*$", re.IGNORECASE)
_QUOTES = "\"'\u201c\u201d\u2018\u2019"
_WON = re.compile(r"\bwon\b", re.IGNORECASE)
_LOST = re.compile(r"\blost\b", re.IGNORECASE)
_TRUE, _FALSE = {"true", "yes", "1"}, {"false", "no", "0"}
COMPANY_COLUMNS = ("Associated Company IDs (Primary)", "Associated Company IDs", "Associated Company ID",
                   "Associated Company")


@dataclass
class StageColumn:
    index: int
    header: str
    which: str              # "entered" or "exited"
    stage: str
    pipeline: str | None    # None: the header names no pipeline


def split_label(label: str, pipelines: set[str]) -> tuple[str, str | None]:
    """``Stage (Pipeline)`` -> (stage, pipeline): the last "(" unless an earlier one gives a known pipeline."""
    if not label.endswith(")"):
        return label, None
    opens = [i for i, ch in enumerate(label) if ch == "("]
    for i in reversed(opens):
        if label[i + 1:-1].strip() in pipelines:
            return label[:i].strip(), label[i + 1:-1].strip()
    if not opens or not label[:opens[-1]].strip():
        return label, None
    return label[:opens[-1]].strip(), label[opens[-1] + 1:-1].strip()


def stage_columns(columns: list[str], pipelines: set[str]) -> list[StageColumn]:
    found = []
    for j, header in enumerate(columns):
        m = _DATE_COLUMN.match(header)
        if m:
            stage, pipeline = split_label(m.group(2).strip().strip(_QUOTES).strip(), pipelines)
            found.append(StageColumn(j, header, m.group(1).lower(), stage, pipeline))
    return found


def kind_of(stage: str) -> str:
    won, lost = bool(_WON.search(stage)), bool(_LOST.search(stage))
    return "won" if won and not lost else "lost" if lost and not won else "open"


def flag(cell: str) -> bool | None:
    value = cell.strip().lower()
    return True if value in _TRUE else False if value in _FALSE else None


def probability(cell: str) -> float:
    """0..1 from "0.2", "20" or "20%" (above 1, or with %, is a percentage); ValueError otherwise."""
    text = cell.strip()
    percent = text.endswith("%")
    try:
        value = Decimal(text.rstrip("%").strip())
    except InvalidOperation:
        raise ValueError(f"{cell!r} is not a probability; write it like 0.2 or 20%") from None
    if percent or value > 1:
        value /= 100
    if not 0 <= value <= 1:
        raise ValueError(f"{cell!r} is not a probability between 0 and 1 (or 0% and 100%)")
    return float(value)


class DealsMapper:
    """Map the deals export; ``map()`` returns the deal ids (for the activities' associations)."""

    def __init__(self, ctx: Ctx, src: SourceFile, companies: dict[str, str] | None) -> None:
        self.ctx, self.src, self.f = ctx, src, src.file
        self.companies = companies
        self.company_names = name_index(companies) if companies else {}

    def map(self) -> dict[str, str | None]:
        ctx, src, f, p = self.ctx, self.src, self.f, self.ctx.problems
        lines = src.lines
        ids = src.need(p, "Record ID", "Deal ID")
        stages_in = src.need(p, "Deal Stage")
        created_in = src.need(p, "Create Date")
        pipes_in = src.opt("Pipeline")
        h = src.header
        if p:
            return {}
        columns = stage_columns(src.raw.columns, {c for c in pipes_in if c})
        named = list(dict.fromkeys(c.pipeline for c in columns if c.pipeline))
        pipelines = [self._pipeline(pipes_in[i], named, lines[i]) for i in range(src.nrows)]
        used = set(pipelines) - {None}
        sole = next(iter(used)) if len(used) == 1 else None
        for c in columns:
            if c.pipeline is None:
                c.pipeline = sole
        stage_names = [self._stage(stages_in[i], pipelines[i]) for i in range(src.nrows)]
        order = self._stages(columns, pipelines, stage_names, lines)
        kinds = {key: kind_of(key[1]) for key in order}
        self._write_stages(order, kinds, pipelines, stage_names)
        entered = [c for c in columns if c.which == "entered"]
        exited = {(c.pipeline, c.stage): c for c in columns if c.which == "exited"}
        cells = src.raw.cells
        cell = (lambda c, i: (cells[c.index][i] or "").strip() if isinstance(cells[c.index][i], str) else "")
        first_open: dict[str, str] = {}
        stages_by_pipe: dict[str, set[str]] = {}
        for pipe, stage in order:  # open stages come first: a pipeline without one gets its first stage
            first_open.setdefault(pipe, stage)
            stages_by_pipe.setdefault(pipe, set()).add(stage)
        out = ctx.out.table("deals")
        events = ctx.out.table("stage_events")
        owner_h, close_h = h("Deal owner", "Deal Owner Name", "Owner"), h("Close Date")
        owners, names, amounts = src.opt("Deal owner", "Deal Owner Name", "Owner"), src.opt("Deal Name"), src.opt("Amount")
        currencies, closes, lost_reasons = src.opt("Currency", "Deal Currency Code"), src.opt("Close Date"), src.opt(
            "Closed Lost Reason", "Closed lost reason")
        sources, types = src.opt("Original Source Type", "Original Source", "Source"), src.opt("Deal Type")
        won_flags, closed_flags = src.opt("Is Closed Won"), src.opt("Is closed", "Is Deal Closed")
        company_h = h(*COMPANY_COLUMNS)
        company_cells = src.opt(*COMPANY_COLUMNS)
        out.describe(f, deal_id=h("Record ID", "Deal ID"), stage=h("Deal Stage"), created_at=h("Create Date"),
                     **{k: v for k, v in dict(name=h("Deal Name"), pipeline=h("Pipeline"), amount=h("Amount"),
                                              currency=h("Currency", "Deal Currency Code"), close_date=close_h,
                                              closed_at=close_h, owner_id=owner_h, account_id=company_h,
                                              lost_reason=h("Closed Lost Reason")).items() if v})
        events.describe(f, deal_id=h("Record ID", "Deal ID"), at="Date entered columns", to_stage="Date entered columns",
                        from_stage="Date entered columns")
        if owner_h:
            ctx.out.table("users").describe(f, user_id=owner_h, name=owner_h, email=owner_h)
        deal_accounts: dict[str, str | None] = {}
        for i, line in enumerate(lines):
            deal_id, pipe, stage = ids[i], pipelines[i], stage_names[i]
            if not deal_id or not stage or pipe is None:
                if not deal_id:
                    p.add(f, line, h("Record ID", "Deal ID"), "is empty; every deal needs its Record ID")
                if not stage:
                    p.add(f, line, h("Deal Stage"), "is empty; every deal is in a stage")
                continue
            created = ctx.ts_at(f, line, h("Create Date"), created_in[i])
            if created is None:
                if not created_in[i]:
                    p.add(f, line, h("Create Date"), "is empty; every deal needs the time it was created")
                continue
            kind = kinds[(pipe, stage)]
            self._check_flags(deal_id, stage, kind, won_flags[i], closed_flags[i], line)
            moves = self._moves(deal_id, pipe, entered, exited, cell, i, line)
            close = ctx.ts_at(f, line, close_h, closes[i])
            closed_at = self._closed_at(deal_id, kind, created, close, moves, stage, line) if kind != "open" else None
            account, others = self._account(deal_id, company_cells[i], line) if company_h else (None, [])
            deal_accounts[deal_id] = account
            extra = {"deal_type": types[i] or None} if types[i] else {}
            if others:
                extra["hubspot_other_company_ids"] = ";".join(others)
            out.add(f, line, deal_id=deal_id, pipeline=pipe, name=names[i] or None, account_id=account,
                    owner_id=ctx.owner(owners[i], f, line), amount=amounts[i] or None, currency=currencies[i] or None,
                    created_at=created, stage=stage, status=kind, closed_at=closed_at,
                    close_date=ctx.dates.day(closes[i]) if close else None, lost_reason=lost_reasons[i] or None,
                    source=sources[i] or None, **extra)
            deal = Deal(deal_id, created, stage, kind != "open", closed_at, f, line)
            for at, to, frm, file, src_line in stage_events(deal, moves, stages=stages_by_pipe[pipe],
                                                            first_open=first_open[pipe],
                                                            end_at=closed_at, findings=ctx.findings):
                events.add(file, src_line, deal_id=deal_id, at=at, to_stage=to, from_stage=frm)
        return deal_accounts

    # -- pipelines and stages -------------------------------------------------------
    def _pipeline(self, cell: str, named: list[str], line: int) -> str | None:
        if cell:
            return cell
        if len(named) == 1:
            return named[0]
        if not named:
            return DEFAULT_PIPELINE
        self.ctx.problems.add(self.f, line, self.src.header("Pipeline") or "Pipeline",
                              f"is empty and the export has several pipelines ({', '.join(named)}); "
                              "export the Pipeline property")
        return None

    def _stage(self, cell: str, pipeline: str | None) -> str:
        suffix = f" ({pipeline})"
        return cell[:-len(suffix)].strip() if pipeline and cell.endswith(suffix) else cell

    def _stages(self, columns, pipelines, stage_names, lines) -> list[tuple[str, str]]:
        """(pipeline, stage) in position order: header order, then stages only deals name, open before closed."""
        used = set(pipelines) - {None}
        seen = list(dict.fromkeys((c.pipeline, c.stage) for c in columns if c.which == "entered" and c.pipeline in used))
        known = set(seen)
        for i, (pipe, stage) in enumerate(zip(pipelines, stage_names)):
            if pipe is not None and stage and (pipe, stage) not in known:
                known.add((pipe, stage))
                seen.append((pipe, stage))
                self.ctx.findings.keep("stage_without_dates", "stages that deals are in but that have no 'Date entered' "
                                       "column: placed after the stages that have one", self.f, lines[i],
                                       f"{stage!r} of pipeline {pipe!r}")
        return ([k for k in seen if kind_of(k[1]) == "open"] + [k for k in seen if kind_of(k[1]) != "open"])

    def _write_stages(self, order, kinds, pipelines, stage_names) -> None:
        src, f, p = self.src, self.f, self.ctx.problems
        column = src.header("Deal probability", "Deal Stage Probability")
        given: dict[tuple[str, str], set[float]] = {}
        first_line: dict[tuple[str, str], int] = {}
        if column:
            for i, cell in enumerate(src.col(column)):
                key = (pipelines[i], stage_names[i])
                first_line.setdefault(key, src.lines[i])
                if cell:
                    try:
                        given.setdefault(key, set()).add(probability(cell))
                    except ValueError as exc:
                        p.add(f, src.lines[i], column, str(exc))
        table = self.ctx.out.table("stages")
        positions: dict[str, int] = {}
        for pipe, stage in order:
            kind = kinds[(pipe, stage)]
            values = given.get((pipe, stage), set())
            if len(values) == 1:
                prob = next(iter(values))
            else:
                prob = {"won": 1.0, "lost": 0.0}.get(kind)
                if len(values) > 1:
                    self.ctx.findings.keep("probability_varies", "stages whose deals give different probabilities: "
                                           "the stage's probability is left empty (won 1, lost 0)", f,
                                           first_line.get((pipe, stage)), f"{stage!r}: {sorted(values)}")
            positions[pipe] = positions.get(pipe, 0) + 1
            table.add(f, 1, pipeline=pipe, stage=stage, position=positions[pipe], kind=kind, probability=prob)

    # -- one deal ----------------------------------------------------------------------
    def _moves(self, deal_id, pipe, entered, exited, cell, i, line) -> list[Move]:
        ctx, f = self.ctx, self.f
        moves = []
        for c in entered:
            text = cell(c, i)
            if not text:
                continue
            if c.pipeline is None or c.pipeline != pipe:
                what = ("column names no pipeline and the export has several" if c.pipeline is None
                        else f"stage of pipeline {c.pipeline!r}, deal is in {pipe!r}")
                ctx.findings.skip("other_pipeline_entry", "'Date entered' values of another pipeline's stages (the deal "
                                  "changed pipeline) or of a column that names no pipeline: not stage events", f, line,
                                  f"deal {deal_id}, {c.header}: {what}")
                continue
            at = ctx.ts_at(f, line, c.header, text)
            if at is None:
                continue
            moves.append(Move(at, c.stage, f, line))
            out = exited.get((pipe, c.stage))
            left = ctx.ts_at(f, line, out.header, cell(out, i)) if out is not None else None
            if left is not None and left < at:
                ctx.findings.keep("exit_before_entry", "'Date exited' before 'Date entered' for the same stage: the deal "
                                  "came back to the stage (HubSpot keeps the latest entry and exit); the entry is used",
                                  f, line, f"deal {deal_id}, {c.stage!r}: entered {at:%Y-%m-%d %H:%M}, exited {left:%Y-%m-%d %H:%M}")
        has_entry = {c.stage for c in entered if c.pipeline == pipe and cell(c, i)}
        for (pp, stage), c in exited.items():
            if pp == pipe and stage not in has_entry and cell(c, i):
                ctx.findings.keep("exit_without_entry", "'Date exited' without a 'Date entered' for the stage "
                                      "(ignored)", f, line, f"deal {deal_id}, {stage!r}")
        if moves:
            ctx.findings.keep("latest_entry_only", "deals whose history comes from 'Date entered' columns: HubSpot keeps "
                              "only the latest entry into each stage, so an earlier visit to a stage the deal came back "
                              "to is not in the export", f, line, f"deal {deal_id}")
        return moves

    def _closed_at(self, deal_id, kind, created, close, moves, stage, line) -> datetime:
        into = [m.at for m in moves if m.stage == stage]
        closed_at = into[-1] if into else close
        if closed_at is None:
            closed_at = max((m.at for m in moves), default=created)
            self.ctx.findings.keep("closed_without_date", "closed deals without a 'Date entered' for their stage and "
                                   "without a Close Date: closed at their latest stage entry, else at creation",
                                   self.f, line, f"deal {deal_id} ({kind})")
        if comparable(closed_at) < comparable(created):
            self.ctx.findings.keep("closed_before_created", "closed deals whose close time is before their Create "
                                   "Date: closed at creation instead", self.f, line,
                                   f"deal {deal_id}: created {created:%Y-%m-%d %H:%M}, closed {closed_at:%Y-%m-%d %H:%M}")
            closed_at = created
        return closed_at

    def _check_flags(self, deal_id, stage, kind, won_cell, closed_cell, line) -> None:
        won, closed = flag(won_cell), flag(closed_cell)
        wrong = ((won is True and kind != "won") or (won is False and kind == "won")
                 or (closed is True and kind == "open") or (closed is False and kind != "open"))
        if wrong:
            self.ctx.findings.keep("flag_contradicts_stage", "deals whose 'Is Closed Won' or 'Is closed' flag "
                                   "contradicts their stage: the stage decides the status", self.f, line,
                                   f"deal {deal_id}: stage {stage!r} ({kind}), Is Closed Won {won_cell!r}, "
                                   f"Is closed {closed_cell!r}")

    def _account(self, deal_id, cell, line) -> tuple[str | None, list[str]]:
        link = resolve(cell, self.companies or {}, self.company_names)
        findings = self.ctx.findings
        if link.chosen is None and link.unknown:
            text = ("deals linked to a company that is not in the companies export: the link is dropped"
                    if self.companies is not None else
                    "deals linked to a company, without a companies export: the link is dropped")
            findings.keep("deal_company_unknown", text, self.f, line, f"deal {deal_id} -> {', '.join(link.unknown)}")
        elif link.chosen is not None and link.others:
            findings.keep("deal_several_companies", "deals linked to several companies: the first one in the export is "
                          "the account, the others are kept in custom field hubspot_other_company_ids", self.f, line,
                          f"deal {deal_id} -> {link.chosen}, also {', '.join(link.others)}")
        return link.chosen, link.others if link.chosen is not None else []

