"""Quota endpoints: the goals a user may see, and adding, changing and deleting those they may edit.

The same rules as the Goals page (:func:`bestby.people.access.quota_keys_for`,
:func:`~bestby.people.access.quota_editable_keys`) and the same use cases
(:mod:`bestby.goals.services`: validated, audited). A quota the caller may not
see is 404; one they see but may not edit (or an owner outside their reach) is
403; bad input is 422 naming the field.
"""

from __future__ import annotations

from typing import Optional

from ninja import Query, Router

from bestby.api.common import MAX_LIMIT, MAX_OFFSET, Status, created, page
from bestby.api.errors import not_found
from bestby.api.schemas import Error, Key, Text
from bestby.api.schemas_reports import QuotaIn, QuotaList, QuotaOut, QuotaPatch
from bestby.goals.models import Quota
from bestby.goals.services import QuotaDenied, change_quota, create_quota, delete_quota, quota_values
from bestby.people import access

router = Router(tags=["quotas"])


def _visible(user):
    keys = access.quota_keys_for(user)
    qs = Quota.objects.all() if keys is None else Quota.objects.filter(owner_key__in=keys)
    return qs.order_by("owner_key", "period_start", "period_end", "pk")


def _row(editable):
    def row(q: Quota) -> dict:
        return {"id": q.pk, "owner": q.owner_key, "period_start": q.period_start, "period_end": q.period_end,
                "amount": q.amount, "editable": editable is None or q.owner_key in editable}
    return row


def _get(user, quota_id: Key) -> Quota:
    quota = _visible(user).filter(pk=quota_id).first()
    if quota is None:
        raise not_found("quota", quota_id)
    return quota


@router.get("/quotas", response=QuotaList, summary="The quotas you may see (admins: all; managers: their "
                                                     "sellers' and team's; reps: their own)")
def list_quotas(request, owner: Optional[Text] = None, limit: int = Query(100, ge=1, le=MAX_LIMIT),
                offset: int = Query(0, ge=0, le=MAX_OFFSET)):
    qs = _visible(request.auth)
    if owner:
        qs = qs.filter(owner_key=owner)
    return page(qs, limit, offset, _row(access.quota_editable_keys(request.auth)))


@router.post("/quotas", response={201: QuotaOut, 403: Error, 422: Error},
             summary="Add a quota: owner, then period (2026-Q1) or period_start and period_end, and amount")
def add_quota(request, payload: QuotaIn):
    values = quota_values(owner=payload.owner, by=request.auth, period=payload.period,
                          start=payload.period_start, end=payload.period_end, amount=payload.amount)
    quota = create_quota(by=request.auth, values=values, reason="API")
    return created(_row(access.quota_editable_keys(request.auth))(quota))


@router.patch("/quotas/{quota_id}", response={200: QuotaOut, 403: Error, 404: Error, 422: Error},
              summary="Change a quota (fields left out keep their values; a period replaces both days)")
def edit_quota(request, quota_id: Key, payload: QuotaPatch):
    quota = _get(request.auth, quota_id)
    given = payload.model_dump(exclude_unset=True)
    values = quota_values(
        owner=given.get("owner") or quota.owner_key, by=request.auth, period=given.get("period"),
        start=given.get("period_start") or quota.period_start, end=given.get("period_end") or quota.period_end,
        amount=given["amount"] if given.get("amount") is not None else quota.amount)
    quota = change_quota(by=request.auth, quota=quota, values=values, reason="API")
    return _row(access.quota_editable_keys(request.auth))(quota)


@router.delete("/quotas/{quota_id}", response={204: None, 403: Error, 404: Error}, summary="Delete a quota")
def remove_quota(request, quota_id: Key):
    quota = _get(request.auth, quota_id)
    keys = access.quota_editable_keys(request.auth)
    if keys is not None and quota.owner_key not in keys:
        raise QuotaDenied(f"you may not edit the quotas of {quota.owner_key!r}")
    delete_quota(by=request.auth, quota=quota, reason="API")
    return Status(204, None)
