"""Clear, snooze and undo: the clearance workflow's use cases, the only code that writes its history.

Every use case runs in one transaction (all or nothing), locks the deals it
touches (``bestby.pipeline.services._lock``), and writes both a
:class:`~bestby.clearance.models.ClearanceAction` (its ``pk`` is the action id
users see) and an audit entry (who, when, why).

clear
    Moves each open deal to its pipeline's lost stage (the first stage of kind
    ``lost`` by position) through :func:`bestby.pipeline.services.move_deal`,
    which writes the stage event, sets ``closed_at`` and bumps ``version``.
    ``to="lost"`` sets the lost reason "timed out"; ``to="nurture"`` sets
    "back to nurture" and also puts the leads converted into the deal back to
    the ``nurture`` status. The action keeps the exact ``before`` state.
snooze
    Hides an open deal from the clearance list until a date (exclusive: on
    ``until`` it is listed again). The deal is not changed.
undo
    Undoes one clear or snooze, once. Undoing a clear requires the deal (and
    its converted leads) to be exactly as the clear left them, then restores
    stage, status, closed_at, lost_reason and the leads' status from
    ``before`` and voids the clear's stage event (a
    :class:`~bestby.clearance.models.StageEventVoid` row; nothing is deleted).
    ``version`` is the one field not restored: it is bumped, so that an edit
    based on a copy loaded before the undo is refused (optimistic locking).
    An undo cannot itself be undone: clear or snooze the deal again instead.

Snoozes and undos are read as they stand now: ``active_snoozes(on)`` is every
snooze not undone (today) whose ``until`` is after ``on``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime

from django.db import transaction

from bestby import clock
from bestby.bounds import DATES
from bestby.activities.models import Lead
from bestby.audit.models import AuditEntry
from bestby.audit.services import record
from bestby.clearance.models import ActionKind, ClearanceAction, ClearTo, StageEventVoid
from bestby.pipeline.models import Deal, DealStatus, Stage, StageEvent
from bestby.pipeline.services import DealError, _lock, move_deal, restore_stage

LOST_REASONS = {ClearTo.LOST: "timed out", ClearTo.NURTURE: "back to nurture"}
_RESTORED = ("stage_id", "status", "closed_at", "lost_reason")  # what a clear changes and an undo restores


class ClearanceError(ValueError):
    """The action was refused and nothing changed; ``param`` names the parameter at fault."""

    def __init__(self, param: str, message: str) -> None:
        self.param, self.message = param, message
        super().__init__(f"{param}: {message}")


def _now() -> datetime:
    """Now, from the one clock (:mod:`bestby.clock`); this module's short name for it."""
    return clock.now()


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise ClearanceError("reason", "give a reason; it is kept in the audit log")
    return text


def _deal_state(deal: Deal) -> dict:
    """The deal fields a clear changes, JSON-ready (closed_at as ISO 8601 with its offset)."""
    return {"stage_id": deal.stage_id, "stage": deal.stage.name if deal.stage_id else None, "status": deal.status,
            "closed_at": _iso(deal.closed_at), "lost_reason": deal.lost_reason, "version": deal.version}


def _leads(deal: Deal, *, lock: bool = False) -> list[Lead]:
    qs = Lead.objects.filter(converted_deal=deal).order_by("pk")
    return list(qs.select_for_update() if lock else qs)


def _lead_state(leads: Iterable[Lead]) -> list[dict]:
    return [{"id": lead.pk, "lead_id": lead.external_id, "status": lead.status} for lead in leads]


def _user(by):
    return by if by is not None and getattr(by, "pk", None) is not None else None


# ---------------------------------------------------------------- clear

def _open_deals(ids: list[str]) -> list[Deal]:
    """Lock the deals named by ``ids`` (in a fixed order: no deadlock between two clears); all must be open."""
    if not ids:
        raise ClearanceError("deals", "give at least one deal id")
    found = {d.external_id: d for d in Deal.objects.filter(external_id__in=ids)}
    unknown = [i for i in ids if i not in found]
    if unknown:
        raise ClearanceError("deals", f"no deal with id {', '.join(repr(i) for i in unknown)}")
    locked = {d.external_id: _lock(d, None) for d in sorted(found.values(), key=lambda d: d.pk)}
    closed = [d for d in locked.values() if d.status != DealStatus.OPEN]
    if closed:
        names = ", ".join(f"{d.external_id!r} is {d.status}" for d in closed)
        raise ClearanceError("deals", f"only open deals can be cleared or snoozed: {names}")
    return [locked[i] for i in ids]


def _lost_stage(deal: Deal) -> Stage:
    stage = Stage.objects.filter(pipeline_id=deal.pipeline_id, kind="lost").order_by("position", "pk").first()
    if stage is None:
        raise ClearanceError("deals", f"deal {deal.external_id!r}: its pipeline {deal.pipeline.name!r} has no "
                                      "stage of kind lost to clear it to; add one first")
    return stage


def _clear_one(deal: Deal, *, lost: Stage, reason: str, to: str, by, at: datetime, batch: str) -> ClearanceAction:
    leads = _leads(deal, lock=True) if to == ClearTo.NURTURE else []
    before = {"deal": _deal_state(deal), "leads": _lead_state(leads)}
    try:
        deal = move_deal(deal=deal, to_stage=lost, by=by, at=at, reason=reason, lost_reason=LOST_REASONS[to])
    except DealError as exc:
        raise ClearanceError("at", f"deal {deal.external_id!r}: {exc}") from None
    event = StageEvent.objects.filter(deal=deal, to_stage=lost, at=at).order_by("-pk").first()
    for lead in leads:
        lead.status = "nurture"
        lead.save(update_fields=["status"])
    after = {"deal": _deal_state(deal), "leads": _lead_state(leads), "stage_event_id": event.pk}
    entry = record(by=by, action="clearance.clear", obj=deal, before=before, after=after, reason=reason, at=at)
    return ClearanceAction.objects.create(kind=ActionKind.CLEAR, deal=deal, to=to, reason=reason, by=by, at=at,
                                          before=before, after={**after, "audit_id": entry.pk}, batch=batch)


def _check_to(to: str) -> str:
    if to not in ClearTo.values:
        raise ClearanceError("to", f"{to!r}: use one of {', '.join(ClearTo.values)}")
    return to


def _deal_ids(deals: Iterable) -> list[str]:
    ids = [d.external_id if isinstance(d, Deal) else str(d) for d in deals]
    return list(dict.fromkeys(ids))  # once each, in the order given


@transaction.atomic
def clear(*, deals: Iterable, reason: str, to: str = "lost", by=None, at: datetime | None = None,
          batch: str = "") -> list[ClearanceAction]:
    """Clear open deals (``Deal`` objects or external ids) to lost or back to nurture; all or nothing."""
    reason, to, at, by = _reason(reason), _check_to(to), at or _now(), _user(by)
    locked = _open_deals(_deal_ids(deals))
    stages = [_lost_stage(d) for d in locked]
    return [_clear_one(d, lost=s, reason=reason, to=to, by=by, at=at, batch=batch) for d, s in zip(locked, stages)]


# ---------------------------------------------------------------- snooze

@transaction.atomic
def snooze(*, deal, until: date, reason: str, by=None, at: datetime | None = None) -> ClearanceAction:
    """Hide an open deal from the clearance list until ``until`` (a date after ``at``'s UTC date)."""
    reason, at, by = _reason(reason), at or _now(), _user(by)
    if not isinstance(until, date) or isinstance(until, datetime):
        raise ClearanceError("until", f"{until!r} is not a date")
    today = at.astimezone(UTC).date()
    if not DATES.holds(until):
        raise ClearanceError("until", f"{until.isoformat()} is out of range: choose a date up to {DATES.last}")
    if until <= today:
        raise ClearanceError("until", f"{until.isoformat()} is not after {today.isoformat()}; "
                                      "a snooze must end in the future")
    (locked,) = _open_deals(_deal_ids([deal]))
    after = {"until": until.isoformat()}
    entry = record(by=by, action="clearance.snooze", obj=locked, before=None, after=after, reason=reason, at=at)
    return ClearanceAction.objects.create(kind=ActionKind.SNOOZE, deal=locked, until=until, reason=reason, by=by,
                                          at=at, after={**after, "audit_id": entry.pk})


def active_snoozes(on: date) -> dict[str, ClearanceAction]:
    """Snoozes not undone whose ``until`` is after ``on``, by deal external id (the latest ``until`` wins)."""
    qs = (ClearanceAction.objects.filter(kind=ActionKind.SNOOZE, until__gt=on, undone_by__isnull=True)
          .select_related("deal").order_by("until", "pk"))
    return {a.deal.external_id: a for a in qs}


# ---------------------------------------------------------------- undo

def _find(action) -> ClearanceAction:
    if isinstance(action, ClearanceAction):
        return action
    try:
        pk = int(action)
    except (TypeError, ValueError):
        raise ClearanceError("action", f"{action!r} is not an action id (a whole number)") from None
    found = ClearanceAction.objects.filter(pk=pk).first()
    if found is None:
        raise ClearanceError("action", f"no clearance action #{pk}")
    return found


def _changes_since_clear(action: ClearanceAction, deal: Deal, leads: list[Lead]) -> list[str]:
    """What differs from the state the clear left (empty when the undo may go ahead)."""
    left, now = action.after["deal"], _deal_state(deal)
    changed = [f"{field.removesuffix('_id')} is now {now[field if field != 'stage_id' else 'stage']!r} "
               f"(the clear left {left[field if field != 'stage_id' else 'stage']!r})"
               for field in _RESTORED if now[field] != left[field]]
    later = (StageEvent.objects.filter(deal=deal, pk__gt=action.after["stage_event_id"], void__isnull=True)
             .select_related("to_stage").order_by("pk").last())
    if later is not None:
        changed.append(f"it moved to {later.to_stage.name!r} at {later.at.isoformat()}")
    status = {lead.pk: lead.status for lead in leads}
    for lead in action.after["leads"]:
        if status.get(lead["id"]) != lead["status"]:
            changed.append(f"lead {lead['lead_id']!r} is now {status.get(lead['id'])!r} "
                           f"(the clear left {lead['status']!r})")
    return changed


def _undo_one(action: ClearanceAction, *, reason: str, by, at: datetime) -> ClearanceAction:
    if action.kind == ActionKind.UNDO:
        raise ClearanceError("action", f"#{action.pk} is an undo, and an undo cannot itself be undone; to redo "
                                       f"#{action.undoes_id}, clear (or snooze) deal {action.deal.external_id!r} "
                                       "again instead")
    deal = _lock(action.deal, None)  # every action on a deal holds its lock: two undos cannot both pass
    done = ClearanceAction.objects.filter(undoes=action).first()
    if done is not None:
        raise ClearanceError("action", f"#{action.pk} was already undone by #{done.pk} at {done.at.isoformat()}")
    reason = reason or f"undo of action #{action.pk}"
    undoes = AuditEntry.objects.filter(pk=(action.after or {}).get("audit_id")).first()

    if action.kind == ActionKind.SNOOZE:
        before = {"until": action.until.isoformat()}
        record(by=by, action="clearance.undo", obj=deal, before=before, after=None, reason=reason, at=at,
               undoes=undoes)
        return ClearanceAction.objects.create(kind=ActionKind.UNDO, deal=deal, undoes=action, reason=reason,
                                              by=by, at=at, before=before)

    leads = list(Lead.objects.select_for_update().filter(pk__in=[x["id"] for x in action.after["leads"]]))
    changed = _changes_since_clear(action, deal, leads)
    if changed:
        raise ClearanceError("action", f"#{action.pk}: deal {deal.external_id!r} changed since it was cleared "
                                       f"({'; '.join(changed)}); nothing was undone")
    now = {"deal": _deal_state(deal), "leads": _lead_state(leads)}
    old = action.before["deal"]
    restore_stage(deal=deal, stage_id=old["stage_id"], status=old["status"], lost_reason=old["lost_reason"],
                  closed_at=None if old["closed_at"] is None else datetime.fromisoformat(old["closed_at"]))
    deal.refresh_from_db()
    old_status = {x["id"]: x["status"] for x in action.before["leads"]}
    for lead in leads:
        lead.status = old_status[lead.pk]
        lead.save(update_fields=["status"])
    restored = {"deal": _deal_state(deal), "leads": _lead_state(leads)}
    record(by=by, action="clearance.undo", obj=deal, before=now, after=restored, reason=reason, at=at,
           undoes=undoes)
    undo = ClearanceAction.objects.create(kind=ActionKind.UNDO, deal=deal, undoes=action, reason=reason, by=by,
                                          at=at, before=now, after=restored)
    StageEventVoid.objects.create(event_id=action.after["stage_event_id"], action=undo)
    return undo


@transaction.atomic
def undo(*, action, reason: str = "", by=None, at: datetime | None = None) -> ClearanceAction:
    """Undo one clear or snooze (an action or its id); returns the undo action."""
    return _undo_one(_find(action), reason=(reason or "").strip(), by=_user(by), at=at or _now())


@transaction.atomic
def undo_batch(*, batch: str, reason: str = "", by=None, at: datetime | None = None) -> list[ClearanceAction]:
    """Undo every not yet undone action of a batch, newest first, in one transaction (all or nothing)."""
    actions = list(ClearanceAction.objects.filter(batch=batch).exclude(kind=ActionKind.UNDO).order_by("-pk"))
    if not batch or not actions:
        raise ClearanceError("batch", f"no clearance actions in batch {batch!r}")
    pending = [a for a in actions if not ClearanceAction.objects.filter(undoes=a).exists()]
    if not pending:
        raise ClearanceError("batch", f"every action of batch {batch!r} was already undone")
    reason, by, at = (reason or "").strip() or f"undo of batch {batch}", _user(by), at or _now()
    return [_undo_one(a, reason=reason, by=by, at=at) for a in pending]


# ---------------------------------------------------------------- the list and batch apply

def listing(*, as_of: datetime, policy) -> tuple[list[dict], int]:
    """The clearance list at ``as_of`` minus snoozed deals, and how many deals were open then.

    Reads the store through the engine (:func:`bestby.pipeline.analytics.store_reader`:
    a second connection, so only committed data), then leaves out the deals
    with an active snooze on ``as_of``'s UTC date.
    """
    from bestby.engine.freshness import clearance_list, freshness
    from bestby.pipeline.analytics import store_reader

    with store_reader() as store:
        rows = freshness(store.tables(as_of), as_of=as_of, policy=policy)
    snoozed = active_snoozes(as_of.astimezone(UTC).date())
    return [r for r in clearance_list(rows) if r["deal_id"] not in snoozed], len(rows)


def open_now(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """Split clearance rows into deals open in the store now and deals closed since.

    The list at a past ``as_of`` shows deals as they were then; one closed
    since (won, lost, or cleared by an earlier batch) cannot be cleared, and
    would make an all-or-nothing apply fail, so a batch leaves it out.
    """
    still = set(Deal.objects.filter(external_id__in=[r["deal_id"] for r in rows], status=DealStatus.OPEN)
                .values_list("external_id", flat=True))
    return [r for r in rows if r["deal_id"] in still], [r for r in rows if r["deal_id"] not in still]


def plan(*, as_of: datetime, policy) -> list[dict]:
    """The rows a batch apply at ``as_of`` would clear (the review): the list, minus deals closed since."""
    return open_now(listing(as_of=as_of, policy=policy)[0])[0]


def new_batch() -> str:
    """A short batch id to type back into ``bestby undo --batch`` (48 random bits)."""
    return uuid.uuid4().hex[:12]


@transaction.atomic
def apply(*, rows: list[dict], reason: str = "", to: str = "lost", by=None, batch: str | None = None,
          at: datetime | None = None) -> list[ClearanceAction]:
    """Clear every deal of ``rows`` (clearance rows) in one transaction, as one batch.

    Each action's reason is ``reason`` when given, else the row's own reasons
    ("clearance list: ..."), so the audit log says why each deal went.
    """
    if not rows:
        raise ClearanceError("rows", "the clearance list is empty; nothing to apply")
    to, at, by, batch = _check_to(to), at or _now(), _user(by), batch or new_batch()
    why = {r["deal_id"]: (reason or "").strip()
           or "clearance list: " + "; ".join(x["text"] for x in r.get("reasons", ())) for r in rows}
    locked = _open_deals(list(why))
    stages = [_lost_stage(d) for d in locked]
    return [_clear_one(d, lost=s, reason=why[d.external_id], to=to, by=by, at=at, batch=batch)
            for d, s in zip(locked, stages)]
