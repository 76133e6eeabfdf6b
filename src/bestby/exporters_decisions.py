"""Decisions back out: the clears, snoozes and undos since a date, as a log or as bulk-update files for the CRM.

:func:`decisions_since` is the only part that reads the store; everything
else turns its list of :class:`Decision` into rows, without I/O, and
:func:`write_decisions_to` writes them to a file object (the web page's
download), :func:`write_decisions` to a path.

Formats
-------
``csv``
    The log: one row per action (``at >= since``), in action id order. The
    ``*_before`` / ``*_after`` columns come from the action's own ``before`` /
    ``after`` snapshots: a clear's (open stage → lost stage) and an undo of a
    clear's (lost stage → restored stage). A snooze, and the undo of a snooze,
    change no deal field and keep no deal snapshot, so those columns are empty.
``salesforce``, ``hubspot``, ``pipedrive``
    One row per deal touched by an action since the date, in the order the
    deals first appear in the log, giving the deal's *net* state after its
    latest action. One row per deal because bulk update tools (Salesforce's
    Data Loader among them) refuse the same record id twice in one batch, and
    because the net state is what the CRM of record must end with: a clear
    then its undo ends with the deal where it was. The last two columns,
    ``bestby_actions`` (``clear#12 undo#15``) and ``bestby_reason`` (the latest
    action's reason), say why; the tools let unmapped columns be skipped.

Net state: from the snapshots, not from the deal as it is now
-------------------------------------------------------------
The deal's stage, status and lost reason are those of the ``after`` snapshot
of its latest *state-changing* action since the date: a clear (the lost stage
with "timed out" or "back to nurture") or the undo of a clear (the stage the
clear found, i.e. the ``before`` of the undone clear, as the undo restored
it). A snooze, and the undo of a snooze, change nothing, so an earlier clear
or undo in the window still decides. This is chosen so that the file reports
the *decision*: an unrelated edit made after it (a deal reopened by hand, a
re-import) does not leak into a file meant to write decisions back, and the
same window exported twice gives the same file. The price: such a later edit
is overwritten in the CRM if the file is loaded as it is, so
:func:`write_decisions` lists the deals whose current stage, status or lost
reason differ from the file (``Written.changed``) for a person to check.

Only a deal with nothing but snoozes (or undone snoozes) in the window has no
snapshot to read; a snooze leaves the deal as it is, so its row gives the
deal's current stage, status and lost reason.

Close date (Salesforce ``CloseDate``, HubSpot ``Close Date``, ``YYYY-MM-DD``):
for a deal whose net state comes from a clear, the UTC date of that clear (a
closed opportunity's close date is the day it closed); otherwise the deal's
expected ``close_date``, empty if it has none. Pipedrive has no close date
column (a lost deal's lost time is set by Pipedrive itself).

Caveats for loading (not decided here): an empty cell means "no value"; most
bulk tools skip empty cells unless told to write them as blanks (Data
Loader's "Insert null values"), so the lost reason of an undone clear is only
emptied in the CRM with that setting; Salesforce requires ``CloseDate``, so
a row with an empty one is then refused. Ids are the deals' external ids
(the CRM ids of imported deals); a deal created in bestby has no CRM id.

Files are UTF-8 CSV (the ``csv`` module, header row, LF line ends), written
to a temporary file beside the target and renamed over it, so a failure
leaves the target as it was.

Formulas: these files are opened in spreadsheets (a manager reviews them
before loading), so every cell goes through :mod:`bestby.spreadsheet`: text
that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (a
rep's clear reason, an imported lost reason or id) is written behind a
single quote, in all four formats. A bulk tool that loads the file as it is
writes that quote into the CRM field too: such a value needs a look before
loading anyway.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from bestby.bounds import DATES, OutOfBounds
from bestby.spreadsheet import writer as spreadsheet_writer

FORMATS = ("csv", "salesforce", "hubspot", "pipedrive")
KINDS = ("clear", "snooze", "undo")
DEFAULT_LOSS_REASON_FIELD = "Loss_Reason__c"
# a Salesforce field API name: a letter, then letters, digits and underscores (custom fields end in __c)
_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")

LOG_COLUMNS = ("action_id", "at", "kind", "deal_id", "pipeline", "to", "until", "undoes", "reason", "by",
               "stage_before", "stage_after", "status_before", "status_after", "lost_reason_after")
TRAILER = ("bestby_actions", "bestby_reason")


class ExportError(ValueError):
    """The export was refused and nothing was written; ``param`` names the parameter at fault."""

    def __init__(self, param: str, message: str) -> None:
        self.param, self.message = param, message
        super().__init__(f"{param}: {message}")


_SINCE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_since(text: str) -> datetime:
    """``since``: a date YYYY-MM-DD (no other spelling), read as midnight UTC (the log's times and clear dates
    are UTC); ExportError("since") otherwise. One reading for the command line and the web form."""
    raw = (text or "").strip()
    try:
        if not _SINCE.fullmatch(raw):
            raise ValueError
        day = date.fromisoformat(raw)
    except ValueError:
        raise ExportError("since", f"{raw!r} is not a date YYYY-MM-DD (e.g. 2025-03-01)") from None
    try:
        DATES.check("since", day)
    except OutOfBounds as exc:
        raise ExportError("since", exc.message) from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@dataclass(frozen=True)
class Decision:
    """One clearance action with its deal, as read from the store (``before`` / ``after`` as stored)."""

    action_id: int
    at: datetime  # timezone-aware
    kind: str  # clear, snooze or undo
    deal_id: str  # the deal's external id
    pipeline: str
    to: str = ""  # clear: lost or nurture
    until: date | None = None  # snooze
    undoes: int | None = None  # undo: the undone action's id
    reason: str = ""
    by: str = ""  # the user's external id, empty for the command line
    before: dict | None = None
    after: dict | None = None
    # the deal as it is now
    stage: str = ""
    status: str = ""
    lost_reason: str = ""
    close_date: date | None = None


@dataclass(frozen=True)
class NetState:
    """A deal's state after its latest action in the window (see the module docstring)."""

    deal_id: str
    stage: str
    status: str
    lost_reason: str
    close_date: str  # YYYY-MM-DD or empty
    actions: str  # "clear#12 undo#15"
    reason: str  # of the latest action
    latest_kind: str
    changed_since: bool  # the deal now differs from this state


@dataclass
class Written:
    """What :func:`write_decisions` wrote: rows per kind, and the deals changed since their decision."""

    rows: dict[str, int]
    changed: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.rows.values())


# ---------------------------------------------------------------- reading the store

def decisions_since(since: datetime) -> list[Decision]:
    """Every clearance action with ``at >= since``, in action id order, with its deal as it is now."""
    from bestby.clearance.models import ClearanceAction

    if not isinstance(since, datetime) or since.tzinfo is None:
        raise ExportError("since", f"{since!r} is not a timezone-aware datetime")
    qs = (ClearanceAction.objects.filter(at__gte=since).order_by("pk")
          .select_related("deal__stage", "deal__pipeline", "by"))
    out = []
    for a in qs.iterator(chunk_size=2_000):
        deal = a.deal
        out.append(Decision(
            action_id=a.pk, at=a.at, kind=a.kind, deal_id=deal.external_id, pipeline=deal.pipeline.name,
            to=a.to, until=a.until, undoes=a.undoes_id, reason=a.reason, by=a.by.external_id if a.by_id else "",
            before=a.before, after=a.after, stage=deal.stage.name if deal.stage_id else "", status=deal.status,
            lost_reason=deal.lost_reason, close_date=deal.close_date))
    return out


# ---------------------------------------------------------------- pure: rows

def _iso_utc(at: datetime) -> str:
    utc = at.astimezone(UTC)
    return utc.isoformat(timespec="microseconds" if utc.microsecond else "seconds")


def _snapshot(side: dict | None) -> dict | None:
    """The deal part of a ``before`` / ``after`` snapshot (None for a snooze or the undo of a snooze)."""
    deal = side.get("deal") if isinstance(side, dict) else None
    return deal if isinstance(deal, dict) else None


def _text(value) -> str:
    return "" if value is None else str(value)


def log_rows(decisions: list[Decision]) -> list[list[str]]:
    """The ``csv`` log: one row per action, in the order given (:data:`LOG_COLUMNS`)."""
    rows = []
    for d in decisions:
        old, new = _snapshot(d.before) or {}, _snapshot(d.after) or {}
        rows.append([str(d.action_id), _iso_utc(d.at), d.kind, d.deal_id, d.pipeline, d.to,
                     d.until.isoformat() if d.until else "", _text(d.undoes), d.reason, d.by,
                     _text(old.get("stage")), _text(new.get("stage")), _text(old.get("status")),
                     _text(new.get("status")), _text(new.get("lost_reason")) if new else ""])
    return rows


def net_states(decisions: list[Decision]) -> list[NetState]:
    """One :class:`NetState` per deal, in the order the deals first appear in ``decisions``."""
    by_deal: dict[str, list[Decision]] = {}
    for d in sorted(decisions, key=lambda d: d.action_id):
        by_deal.setdefault(d.deal_id, []).append(d)
    out = []
    for deal_id, actions in by_deal.items():
        latest = actions[-1]
        state, cleared_on = None, None
        for d in actions:  # the latest state-changing action decides; snoozes carry the state forward
            snap = _snapshot(d.after)
            if snap is not None and d.kind in ("clear", "undo"):
                state = snap
                cleared_on = d.at.astimezone(UTC).date() if d.kind == "clear" else None
        now = (latest.stage, latest.status, latest.lost_reason)
        if state is None:
            stage, status, lost_reason = now
        else:
            stage, status, lost_reason = (_text(state.get("stage")), _text(state.get("status")),
                                          _text(state.get("lost_reason")))
        closing = cleared_on or latest.close_date
        out.append(NetState(
            deal_id=deal_id, stage=stage, status=status, lost_reason=lost_reason,
            close_date=closing.isoformat() if closing else "",
            actions=" ".join(f"{d.kind}#{d.action_id}" for d in actions), reason=latest.reason,
            latest_kind=latest.kind, changed_since=(stage, status, lost_reason) != now))
    return out


def crm_header(fmt: str, *, loss_reason_field: str = DEFAULT_LOSS_REASON_FIELD) -> list[str]:
    """The columns of a CRM file (``salesforce``, ``hubspot`` or ``pipedrive``)."""
    if fmt == "salesforce":
        return ["Id", "StageName", loss_reason_field, "CloseDate", *TRAILER]
    if fmt == "hubspot":
        return ["Record ID", "Deal Stage", "Closed Lost Reason", "Close Date", *TRAILER]
    if fmt == "pipedrive":
        return ["Deal - ID", "Deal - Status", "Deal - Lost reason", *TRAILER]
    raise ExportError("fmt", f"{fmt!r}: use one of {', '.join(FORMATS)}")


def crm_row(fmt: str, s: NetState) -> list[str]:
    """One deal's row of a CRM file, in :func:`crm_header`'s order."""
    if fmt == "pipedrive":
        return [s.deal_id, s.status, s.lost_reason, s.actions, s.reason]
    return [s.deal_id, s.stage, s.lost_reason, s.close_date, s.actions, s.reason]


def check_options(fmt: str, loss_reason_field: str) -> None:
    """Refuse an unknown format, or a loss-reason field name that is not a field name or clashes with a column."""
    if fmt not in FORMATS:
        raise ExportError("fmt", f"{fmt!r}: use one of {', '.join(FORMATS)}")
    if not _FIELD_NAME.fullmatch(loss_reason_field or ""):
        raise ExportError("loss_reason_field", f"{loss_reason_field!r} is not a field API name (a letter, then "
                                               "letters, digits or underscores, e.g. Loss_Reason__c)")
    taken = {"Id", "StageName", "CloseDate", *TRAILER}
    if loss_reason_field in taken:
        raise ExportError("loss_reason_field", f"{loss_reason_field!r} is already a column of the file")


def check_target(path: Path) -> None:
    """Refuse a target that cannot be written: its folder is missing or not a folder, or it is a folder."""
    path = Path(path)
    parent = path.parent
    if not parent.exists():
        raise ExportError("path", f"{str(path)!r}: the folder {str(parent)!r} does not exist")
    if not parent.is_dir():
        raise ExportError("path", f"{str(path)!r}: {str(parent)!r} is not a folder")
    if path.is_dir():
        raise ExportError("path", f"{str(path)!r} is a folder; give a file name")
    if (path.exists() and not os.access(path, os.W_OK)) or not os.access(parent, os.W_OK):
        raise ExportError("path", f"{str(path)!r}: permission denied")


# ---------------------------------------------------------------- writing

def write_decisions_to(decisions: list[Decision], fmt: str, fh, *,
                       loss_reason_field: str = DEFAULT_LOSS_REASON_FIELD) -> Written:
    """Write ``decisions`` in ``fmt`` to the text file object ``fh`` (header row, LF line ends); rows per kind.

    Rows per kind: for ``csv`` the kind of each action; for a CRM file the
    kind of each deal's latest action in the window. The options are checked
    before anything is written; ``fh`` should be opened with ``newline=""``
    (the ``csv`` module's own line ends are kept).
    """
    check_options(fmt, loss_reason_field)
    if fmt == "csv":
        header, rows = list(LOG_COLUMNS), log_rows(decisions)
        kinds, changed = Counter(d.kind for d in decisions), []
    else:
        states = net_states(decisions)
        header = crm_header(fmt, loss_reason_field=loss_reason_field)
        rows = [crm_row(fmt, s) for s in states]
        kinds, changed = Counter(s.latest_kind for s in states), [s.deal_id for s in states if s.changed_since]
    writer = spreadsheet_writer(fh)
    writer.writerow(header)
    writer.writerows(rows)
    return Written(rows={k: kinds.get(k, 0) for k in KINDS}, changed=changed)


def write_decisions(decisions: list[Decision], fmt: str, path: Path, *,
                    loss_reason_field: str = DEFAULT_LOSS_REASON_FIELD) -> Written:
    """Write ``decisions`` in ``fmt`` to ``path`` (all or nothing); return rows per kind (see :func:`write_decisions_to`)."""
    check_options(fmt, loss_reason_field)
    path = Path(path)
    check_target(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", newline="", encoding="utf-8") as fh:
            written = write_decisions_to(decisions, fmt, fh, loss_reason_field=loss_reason_field)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ExportError("path", f"{str(path)!r}: {exc.strerror or exc}") from None
    return written
