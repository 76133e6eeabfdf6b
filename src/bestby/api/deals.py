"""Deals: list, read, create and edit (no delete: nothing is ever deleted). Writes go through pipeline.services."""

from __future__ import annotations

from typing import Literal, Optional

from django.db import transaction
from django.db.models import Q
from ninja import Query, Router

from bestby.api.common import created, MAX_LIMIT, MAX_OFFSET, ext, new_external_id, owner_ref, page, ref, taken, visible
from bestby.api.errors import FieldError
from bestby.api.schemas import Text, DealIn, DealOut, DealPage, DealPatch, Error
from bestby.people import access
from bestby.pipeline import services
from bestby.pipeline.models import Deal, Pipeline, Stage

router = Router(tags=["deals"])


def deal_row(d: Deal) -> dict:
    return {"id": d.external_id, "name": d.name, "pipeline": d.pipeline.name, "stage": d.stage.name if d.stage else None,
            "status": d.status, "amount": d.amount, "currency": d.currency, "close_date": d.close_date,
            "closed_at": d.closed_at, "created_at": d.created_at, "owner": ext(d.owner), "account": ext(d.account),
            "source": d.source, "lost_reason": d.lost_reason, "version": d.version}


def _deals(user):
    return access.deals_for(user).select_related("pipeline", "stage", "owner", "account")


def _account(user, key: str | None):
    """An account the user may attach a deal to: one they may see (:func:`bestby.people.access.accounts_for`)."""
    return ref(access.accounts_for(user), "account", key)


@router.get("/deals", response=DealPage, summary="List the deals you may see")
def list_deals(request, limit: int = Query(50, ge=1, le=MAX_LIMIT), offset: int = Query(0, ge=0, le=MAX_OFFSET),
               owner: Optional[Text] = None, stage: Optional[Text] = None,
               status: Optional[Literal["open", "won", "lost"]] = None, pipeline: Optional[Text] = None,
               q: Optional[Text] = Query(None, max_length=200)):
    qs = _deals(request.auth)
    filters = {"owner__external_id": owner, "stage__name": stage, "status": status, "pipeline__name": pipeline}
    qs = qs.filter(**{k: v for k, v in filters.items() if v is not None})
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(external_id__icontains=q))
    return page(qs.order_by("external_id"), limit, offset, deal_row)


@router.get("/deals/{deal_id}", response={200: DealOut, 404: Error}, summary="One deal, with its version")
def get_deal(request, deal_id: Text):
    return deal_row(visible(_deals(request.auth), "deal", deal_id))


@router.post("/deals", response={201: DealOut, 409: Error, 422: Error}, summary="Create a deal")
def create_deal(request, payload: DealIn):
    user = request.auth
    external_id = new_external_id(user, Deal, "deal", payload.id)
    pipeline = Pipeline.objects.filter(name=payload.pipeline).first()
    if pipeline is None:
        raise FieldError(422, "pipeline", f"no pipeline {payload.pipeline!r}")
    stage = Stage.objects.filter(pipeline=pipeline, name=payload.stage).first()
    if stage is None:
        raise FieldError(422, "stage", f"no stage {payload.stage!r} in pipeline {pipeline.name!r}")
    owner = owner_ref(user, payload.owner) if payload.owner is not None else user
    services.check_close_date(close_date=payload.close_date, status=stage.kind,
                              confirmed=payload.confirm_past_close_date)
    try:
        deal = services.create_deal(
            external_id=external_id, pipeline=pipeline, stage=stage, by=user, name=payload.name,
            owner=owner, account=_account(user, payload.account), amount=payload.amount,
            close_date=payload.close_date, source=payload.source)
    except services.DuplicateDeal:  # the same id created at the same moment by another request
        raise taken("deal", external_id) from None
    return created(deal_row(_deals(user).get(pk=deal.pk)))


@router.patch("/deals/{deal_id}", response={200: DealOut, 404: Error, 409: Error, 422: Error},
              summary="Edit a deal (send the version you loaded; a stale one is refused with 409)")
def patch_deal(request, deal_id: Text, payload: DealPatch):
    user = request.auth
    deal = visible(_deals(user), "deal", deal_id)
    changes = payload.dict(exclude_unset=True)
    version, reason = changes.pop("version"), changes.pop("reason", "")
    confirmed = changes.pop("confirm_past_close_date", False)
    with transaction.atomic():
        deal = _apply(user, deal, changes, version, reason, confirmed)
    return deal_row(_deals(user).get(pk=deal.pk))


def _apply(user, deal: Deal, changes: dict, version: int, reason: str, confirmed: bool = False) -> Deal:
    """Resolve the references of ``changes`` and apply them with the one edit use case (all or nothing)."""
    fields = {}
    for key in ("name", "source"):
        if key in changes:
            fields[key] = changes[key] or ""
    if "amount" in changes:
        fields["amount"] = changes["amount"]
    if "owner" in changes:
        if changes["owner"] is None:
            raise FieldError(422, "owner", "a deal keeps an owner; give a user id")
        fields["owner"] = owner_ref(user, changes["owner"])
    if "account" in changes:
        fields["account"] = _account(user, changes["account"])
    if "close_date" in changes and changes["close_date"] is None:
        raise FieldError(422, "close_date", "cannot be emptied; give a date")
    stage = None
    if changes.get("stage") is not None:
        stage = Stage.objects.filter(pipeline_id=deal.pipeline_id, name=changes["stage"]).first()
        if stage is None:
            raise FieldError(422, "stage", f"no stage {changes['stage']!r} in this deal's pipeline")
    if changes.get("lost_reason") and stage is None:
        raise FieldError(422, "lost_reason", "set it together with a move to a lost stage")
    return services.edit_deal(deal=deal, by=user, expected_version=version, reason=reason, stage=stage,
                              close_date=changes.get("close_date"), lost_reason=changes.get("lost_reason") or "",
                              confirm_past_close_date=confirmed, **fields)
