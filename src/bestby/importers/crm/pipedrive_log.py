"""Pipedrive's deal change log: one row per change of one field of one deal.

Columns (any of the names): deal id (``deal_id``, ``Deal ID``, ``item_id``),
change time (``change_time``, ``log_time``, ``time``), field key
(``changed_field_key``, ``field_key``), new value (``new_value``).

Fields read
    ``stage_id``: a stage move (the value is a stage id, or a name);
    ``expected_close_date``: a close-date event (an empty value clears the date
    and is skipped: FORMAT.md has no "no close date" event, finding
    ``close_date_cleared``). When there is no deals export the deal itself is
    built from the log too (see ``pipedrive_deal``): ``add_time`` (its value is the
    creation time), ``user_id`` (owner), ``lost_reason``, ``status``,
    ``title``, ``value``, ``currency``, ``org_id``, each taking its latest
    value; earlier values of these fields are superseded and counted (finding
    ``field_history_superseded``): FORMAT.md keeps no history of them. With a
    deals export those fields come from it, and their log rows are counted
    with every other field's (finding ``change_log_other_field``).

Two deals sharing one id
    Every ``add_time`` row starts a deal. When one id has several (the Enpal
    extract: 2,000 add_time rows over 1,995 ids), the rows are split in the
    file's order: a row belongs to the deal whose ``add_time`` row is the
    nearest above it with that id (rows above the first go to the first). The
    log cannot be split by time, because the two deals' lives overlap. One of
    them is kept: the one whose creation equals the deals export's
    ``add_time`` when there is a deals export, else the later created (ties:
    the later in the file), which is what the id means in the CRM now; every
    row of the others is skipped (finding ``deal_id_reused``). Keeping both
    under invented ids would create deals the CRM does not know, which a
    decisions export could not send back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from bestby.importers.crm.pipedrive import Ctx

LOG_DEAL = ("deal_id", "Deal ID", "item_id", "Deal - ID")
LOG_TIME = ("change_time", "log_time", "time", "Change time", "timestamp")
LOG_KEY = ("changed_field_key", "field_key", "Field key", "key")
LOG_NEW = ("new_value", "New value")
#: fields a deal is built from when there is no deals export: the latest value counts
DEAL_FIELDS = ("add_time", "user_id", "lost_reason", "status", "title", "value", "currency", "org_id")


@dataclass
class Change:
    at: datetime
    key: str
    value: str
    line: int


@dataclass
class Instance:
    """One deal's rows of the log (two deals sharing an id are two instances)."""

    deal_id: str
    created: datetime | None = None
    add_line: int | None = None
    changes: list[Change] = field(default_factory=list)


@dataclass
class Summary:
    """What one deal's log says: moves, close-date changes and, built from the log, the deal's latest fields."""

    moves: list[tuple[datetime, str, int]] = field(default_factory=list)           # (at, stage cell, line)
    close_dates: list[tuple[datetime, date, int]] = field(default_factory=list)   # (at, new close date, line)
    latest: dict[str, Change] = field(default_factory=dict)


class ChangeLog:
    def __init__(self, file: str) -> None:
        self.file = file
        self.groups: dict[str, list[Instance]] = {}

    def ids(self) -> list[str]:
        return list(self.groups)

    def take(self, ctx: Ctx, deal_id: str, created: datetime | None = None) -> Instance | None:
        """The instance of ``deal_id`` to import (see module doc); the others' rows are skipped."""
        insts = self.groups.pop(deal_id, None)
        if not insts:
            return None
        if len(insts) == 1:
            return insts[0]
        dated = [x for x in insts if x.created is not None]
        pick = next((x for x in dated if created is not None and x.created == created), None)
        if pick is None:
            pick = max(dated, key=lambda x: (x.created, x.add_line))
        for x in insts:
            if x is pick:
                continue
            for c in x.changes:
                ctx.findings.skip("deal_id_reused", "change-log rows of a deal whose id a later deal reuses "
                                  "(the later one is kept)", self.file, c.line,
                                  f"deal {deal_id} created {_when(x.created)}, kept the one created {_when(pick.created)}")
        return pick

    def rest(self, ctx: Ctx, code: str, text: str) -> None:
        """Count the rows of every deal not taken under ``code``."""
        for deal_id in list(self.groups):
            for x in self.groups.pop(deal_id):
                for c in x.changes:
                    ctx.findings.skip(code, text, self.file, c.line, f"deal {deal_id}")


def _when(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M}" if at else "at an unknown time"


def observe(ctx: Ctx, src) -> None:
    """Show the change times and the dated new values to the date-order detection."""
    keys = [k.lower() for k in src.opt(*LOG_KEY)]
    ctx.dates.observe(src.opt(*LOG_TIME), f"{src.file} column {src.header(*LOG_TIME) or LOG_TIME[0]}")
    values = src.opt(*LOG_NEW)
    ctx.dates.observe([v for k, v in zip(keys, values) if k in ("add_time", "expected_close_date")],
                      f"{src.file} column {src.header(*LOG_NEW) or LOG_NEW[0]}")


def read(ctx: Ctx) -> ChangeLog | None:
    """Parse the change log and split it into deals; bad times and dates are problems at their cell."""
    src = ctx.files.get("changes")
    if src is None:
        return None
    ids = src.need(ctx.problems, *LOG_DEAL)
    times = src.need(ctx.problems, *LOG_TIME)
    keys = src.need(ctx.problems, *LOG_KEY)
    values = src.need(ctx.problems, *LOG_NEW)
    if ctx.problems:
        return None
    time_col, new_col = src.header(*LOG_TIME), src.header(*LOG_NEW)
    log = ChangeLog(src.file)
    early: dict[str, list[Change]] = {}   # rows above their id's first add_time
    for i, deal_id in enumerate(ids):
        line = src.lines[i]
        if not deal_id:
            ctx.problems.add(src.file, line, src.header(*LOG_DEAL), "is required but empty")
            continue
        at = ctx.ts(src, time_col, i, times[i])
        if at is None:
            if not times[i]:
                ctx.problems.add(src.file, line, time_col, "is required but empty")
            continue
        key = keys[i].strip().lower()
        change = Change(at, key, values[i], line)
        insts = log.groups.setdefault(deal_id, [])
        if key == "add_time":
            created = ctx.ts(src, new_col, i, values[i]) if values[i] else at
            insts.append(Instance(deal_id, created, line, early.pop(deal_id, []) + [change]))
        elif insts:
            insts[-1].changes.append(change)
        else:
            early.setdefault(deal_id, []).append(change)
        if key == "expected_close_date" and values[i]:
            ctx.ts(src, new_col, i, values[i])  # a bad date is a problem here, at its cell
    for deal_id, changes in early.items():
        log.groups[deal_id] = [Instance(deal_id, None, None, changes)]
    return log


def summarize(ctx: Ctx, log: ChangeLog, inst: Instance, *, whole_deal: bool) -> Summary:
    """Walk one deal's rows in time order (see module doc for which rows count and which are findings)."""
    out = Summary()
    changes = sorted(inst.changes, key=lambda c: (c.at, c.line))
    for c in changes:
        if c.key == "stage_id":
            out.moves.append((c.at, c.value.strip(), c.line))
        elif c.key == "expected_close_date":
            if not c.value.strip():
                ctx.findings.skip("close_date_cleared", "expected close dates cleared in the change log "
                                  "(FORMAT.md records set dates only)", log.file, c.line, f"deal {inst.deal_id}")
                continue
            out.close_dates.append((c.at, ctx.dates.day(c.value), c.line))
        elif whole_deal and c.key in DEAL_FIELDS:
            before = out.latest.get(c.key)
            if before is not None:
                _superseded(ctx, log, inst, before)
            out.latest[c.key] = c
        else:
            ctx.findings.skip("change_log_other_field", "change-log rows of fields bestby keeps no history of "
                              "(only stage_id and expected_close_date changes are history in FORMAT.md"
                              + ("; the deals export gives the current values)" if not whole_deal else ")"),
                              log.file, c.line, f"deal {inst.deal_id}: {c.key}")
    return out


def _superseded(ctx: Ctx, log: ChangeLog, inst: Instance, c: Change) -> None:
    ctx.findings.skip("field_history_superseded", "changes of owner, lost reason, status, title or value superseded "
                      "by a later change (FORMAT.md keeps only the latest value)", log.file, c.line,
                      f"deal {inst.deal_id}: {c.key} = {c.value!r}")
