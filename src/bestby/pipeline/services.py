"""Use cases that change deals. The only code that writes deals outside imports.

Every change of stage or expected close date appends the matching event,
winning or losing sets ``closed_at`` (re-opening clears it), every change is
written to the audit log, and each edit bumps ``version`` so that an edit
based on an old copy is refused (optimistic concurrency) rather than lost.
The one exception to "every stage change appends an event" is
:func:`restore_stage`, the undo of a change whose event is voided.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F

from bestby import bounds, clock, columns
from bestby.audit.services import record
from bestby.pipeline.models import CloseDateEvent, Deal, DealStatus, Pipeline, Stage, StageEvent


class DealError(ValueError):
    """The change was refused; the message names the field."""


class StaleEdit(DealError):
    """The deal changed since the editor loaded it."""


class DuplicateDeal(DealError):
    """A deal with this external id exists already (nothing was written)."""


def _checked(field: str, value):
    """``value`` within ``Deal.field``'s column (amount, dates) and free of NUL (text), or DealError naming it."""
    try:
        if isinstance(value, str):
            return bounds.check_text(field, value)
        return columns.check("pipeline.Deal", field, value)
    except bounds.OutOfBounds as exc:
        raise DealError(str(exc)) from None


def check_close_date(*, close_date: date | None, status: str, confirmed: bool) -> None:
    """Refuse a close date before today on a deal that stays open, unless the person confirmed it.

    An open deal's expected close date in the past is almost always a typo or
    a forgotten push; it also makes the deal look overdue at once. A person
    may mean it (the deal slipped and the date records when it should have
    closed), so it is refused with what to do, not forbidden.
    """
    if close_date is not None and status == DealStatus.OPEN and not confirmed and close_date < clock.today():
        raise DealError(f"close_date: {close_date:%Y-%m-%d} is in the past and the deal is open; "
                        "choose a later date, or confirm that the past date is meant")


def _now() -> datetime:
    """Now, from the one clock (:mod:`bestby.clock`); this module's short name for it."""
    return clock.now()


def snapshot(deal: Deal) -> dict:
    """The audited fields of a deal, as JSON-ready values."""
    return {
        "stage": deal.stage.name if deal.stage_id else None,
        "status": deal.status,
        "close_date": deal.close_date.isoformat() if deal.close_date else None,
        "closed_at": deal.closed_at.isoformat() if deal.closed_at else None,
        "amount": str(deal.amount) if deal.amount is not None else None,
        "name": deal.name,
        "owner": deal.owner.external_id if deal.owner_id else None,
        "lost_reason": deal.lost_reason,
        "version": deal.version,
    }


@transaction.atomic
def create_deal(*, external_id: str, pipeline: Pipeline, stage: Stage, by=None, name: str = "", owner=None,
                account=None, amount: Decimal | None = None, close_date: date | None = None,
                at: datetime | None = None, source: str = "", product=None) -> Deal:
    """Create a deal in ``stage``, with its entry event and its first close date."""
    at = at or _now()
    amount, close_date, at = _checked("amount", amount), _checked("close_date", close_date), _checked("created_at", at)
    for field, text in (("external_id", external_id), ("name", name), ("source", source)):
        _checked(field, text)
    if stage.pipeline_id != pipeline.pk:
        raise DealError(f"stage: {stage.name!r} is not a stage of pipeline {pipeline.name!r}")
    if Deal.objects.filter(external_id=external_id).exists():
        raise DuplicateDeal(f"external_id: a deal {external_id!r} already exists")
    status = stage.kind
    try:
        with transaction.atomic():
            deal = Deal.objects.create(
                external_id=external_id, pipeline=pipeline, stage=stage, status=status, name=name, owner=owner,
                account=account, amount=amount, close_date=close_date, created_at=at, source=source,
                product=product, closed_at=at if status != DealStatus.OPEN else None,
            )
    except IntegrityError:
        if Deal.objects.filter(external_id=external_id).exists():  # created at the same moment elsewhere
            raise DuplicateDeal(f"external_id: a deal {external_id!r} already exists") from None
        raise
    StageEvent.objects.create(deal=deal, at=at, to_stage=stage, from_stage=None, by=by)
    if close_date is not None:
        CloseDateEvent.objects.create(deal=deal, at=at, new_close_date=close_date, old_close_date=None, by=by)
    record(by=by, action="deal.create", obj=deal, before=None, after=snapshot(deal), at=at)
    return deal


def _lock(deal: Deal, expected_version: int | None) -> Deal:
    fresh = Deal.objects.select_for_update(of=("self",)).select_related("stage", "owner").get(pk=deal.pk)
    if expected_version is not None and fresh.version != expected_version:
        raise StaleEdit(
            f"version: the deal was changed by someone else (now version {fresh.version}, "
            f"your copy is version {expected_version}); reload it and apply your change again"
        )
    return fresh


@transaction.atomic
def move_deal(*, deal: Deal, to_stage: Stage, by=None, at: datetime | None = None, reason: str = "",
              lost_reason: str = "", expected_version: int | None = None) -> Deal:
    """Move a deal to another stage of its pipeline; record the event and audit it."""
    at = at or _now()
    deal = _lock(deal, expected_version)
    if to_stage.pipeline_id != deal.pipeline_id:
        raise DealError(f"stage: {to_stage.name!r} is not a stage of this deal's pipeline")
    if to_stage.pk == deal.stage_id:
        return deal
    last = deal.stage_events.order_by("-at", "-id").values_list("at", flat=True).first()
    if last is not None and at < last:
        raise DealError("at: a stage change cannot be dated before the deal's last stage change")
    before = snapshot(deal)
    StageEvent.objects.create(deal=deal, at=at, to_stage=to_stage, from_stage=deal.stage, by=by)
    deal.stage = to_stage
    deal.status = to_stage.kind
    deal.closed_at = at if to_stage.kind != DealStatus.OPEN else None
    if to_stage.kind == DealStatus.LOST:
        deal.lost_reason = lost_reason or deal.lost_reason
    elif lost_reason:
        raise DealError("lost_reason: only a lost deal has a lost reason")
    else:
        deal.lost_reason = ""
    _save(deal)
    record(by=by, action="deal.move", obj=deal, before=before, after=snapshot(deal), reason=reason, at=at)
    return deal


@transaction.atomic
def change_close_date(*, deal: Deal, close_date: date, by=None, at: datetime | None = None, reason: str = "",
                      expected_version: int | None = None) -> Deal:
    """Change the expected close date; record the event (a push when it moves later) and audit it."""
    at = at or _now()
    _checked("close_date", close_date)
    deal = _lock(deal, expected_version)
    if close_date == deal.close_date:
        return deal
    before = snapshot(deal)
    CloseDateEvent.objects.create(deal=deal, at=at, new_close_date=close_date, old_close_date=deal.close_date, by=by)
    deal.close_date = close_date
    _save(deal)
    record(by=by, action="deal.close_date", obj=deal, before=before, after=snapshot(deal), reason=reason, at=at)
    return deal


@transaction.atomic
def update_deal(*, deal: Deal, by=None, expected_version: int | None = None, reason: str = "", **changes) -> Deal:
    """Change plain fields (name, amount, owner, account, product, source); stage and dates have their own use cases."""
    allowed = {"name", "amount", "owner", "account", "product", "source", "currency"}
    unknown = set(changes) - allowed
    if unknown:
        raise DealError(f"{sorted(unknown)[0]}: change it with move_deal or change_close_date, not update_deal")
    for key in ("name", "amount", "source", "currency"):
        if key in changes:
            changes[key] = _checked(key, changes[key])
    if "name" in changes and not (changes["name"] or "").strip():
        raise DealError("name: a deal needs a name; type one")
    deal = _lock(deal, expected_version)
    before = snapshot(deal)
    for key, value in changes.items():
        setattr(deal, key, value)
    if deal.amount is not None and deal.amount < 0:
        raise DealError("amount: must not be negative")
    _save(deal)
    record(by=by, action="deal.update", obj=deal, before=before, after=snapshot(deal), reason=reason)
    return deal


@transaction.atomic
def edit_deal(*, deal: Deal, by=None, expected_version: int, reason: str = "", stage: Stage | None = None,
              close_date: date | None = None, lost_reason: str = "", confirm_past_close_date: bool = False,
              **fields) -> Deal:
    """One edit of a deal from a form or the API: plain fields, close date and stage, all or nothing.

    Each part goes through its own use case (``update_deal``, then
    ``change_close_date``, then ``move_deal``), each checking the version the
    previous one left, so the edit is refused as a whole when
    ``expected_version`` is stale, even when it changes nothing (the editor
    learns of the other edit). ``fields`` equal to the stored values are left
    out; ``stage``/``close_date`` None mean "unchanged". The version rises by
    one per part that changed. A new close date before today on a deal that
    stays open needs ``confirm_past_close_date`` (:func:`check_close_date`).
    """
    current = Deal.objects.select_related("stage").get(pk=deal.pk)
    if close_date is not None and close_date != current.close_date:
        check_close_date(close_date=close_date, status=(stage or current.stage).kind if (stage or current.stage)
                         else current.status, confirmed=confirm_past_close_date)
    plain = {k: v for k, v in fields.items() if getattr(current, k) != v}
    changed = bool(plain) or (close_date is not None and close_date != current.close_date) or (
        stage is not None and stage.pk != current.stage_id)
    if not changed:
        return _lock(current, expected_version)
    version = expected_version
    if plain:
        current = update_deal(deal=current, by=by, expected_version=version, reason=reason, **plain)
        version = current.version
    if close_date is not None and close_date != current.close_date:
        current = change_close_date(deal=current, close_date=close_date, by=by, reason=reason,
                                    expected_version=version)
        version = current.version
    if stage is not None and stage.pk != current.stage_id:
        current = move_deal(deal=current, to_stage=stage, by=by, reason=reason, expected_version=version,
                            lost_reason=lost_reason)
    elif lost_reason:
        raise DealError("lost_reason: set it together with a move to a lost stage")
    return current


def restore_stage(*, deal: Deal, stage_id: int, status: str, closed_at: datetime | None, lost_reason: str) -> Deal:
    """Put back a deal's stage fields as they were before a stage change that is being undone.

    For undo only (``bestby.clearance``): the caller voids the undone change's
    stage event in the same transaction, so the deal's visible history again
    ends where these fields say, and it writes the audit entry. No new stage
    event is written (the undone move did not happen, as far as the history
    goes); ``version`` is bumped. The caller holds the deal's lock (``_lock``).
    """
    stage = Stage.objects.get(pk=stage_id)
    if stage.pipeline_id != deal.pipeline_id:
        raise DealError(f"stage: {stage.name!r} is not a stage of this deal's pipeline")
    deal.stage, deal.status, deal.closed_at, deal.lost_reason = stage, status, closed_at, lost_reason
    _save(deal)
    return deal


def _save(deal: Deal) -> None:
    deal.version = F("version") + 1
    deal.save()
    deal.refresh_from_db(fields=["version"])


@transaction.atomic
def reorder_stages(*, pipeline: Pipeline, order: list[str], by=None, reason: str = "") -> list[Stage]:
    """Give ``pipeline``'s stages the positions 1..n in the order of ``order`` (stage names); audit it.

    ``order`` must name every stage of the pipeline once; open stages must all
    come before the won and lost ones (the engine reads "forward" as a higher
    position among open stages). Errors name the field ``order``; nothing changes.
    """
    stages = {s.name: s for s in Stage.objects.select_for_update().filter(pipeline=pipeline).order_by("position", "id")}
    before = list(stages)
    if len(order) != len(set(order)):
        raise DealError("order: a stage is named twice")
    if set(order) != set(stages):
        missing, unknown = sorted(set(stages) - set(order)), sorted(set(order) - set(stages))
        raise DealError(f"order: unknown stage {unknown[0]!r}" if unknown else f"order: stage {missing[0]!r} is missing")
    kinds = [stages[name].kind for name in order]
    if any(k == "open" for k in kinds[next((i for i, k in enumerate(kinds) if k != "open"), len(kinds)):]):
        raise DealError("order: open stages must come before the won and lost stages")
    if order == before:
        return [stages[name] for name in order]
    for position, name in enumerate(order, start=1):
        stage = stages[name]
        if stage.position != position:
            stage.position = position
            stage.save(update_fields=["position"])
    record(by=by, action="pipeline.reorder_stages", obj=pipeline, before={"order": before}, after={"order": order},
           reason=reason)
    return [stages[name] for name in order]
