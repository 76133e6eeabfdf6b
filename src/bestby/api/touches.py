"""Touches (calls, e-mails, meetings...): list, read, log and correct, filtered through the access rules."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from ninja import Query, Router

from bestby.activities.models import Touch
from bestby.api import records
from bestby.api.common import created, MAX_LIMIT, MAX_OFFSET, ext, new_external_id, page, ref, visible
from bestby.api.schemas import Moment, Text, Error, TouchIn, TouchOut, TouchPage, TouchPatch
from bestby.people import access

router = Router(tags=["touches"])


def touch_row(t: Touch) -> dict:
    return {"id": t.external_id, "at": t.at, "channel": t.channel, "owner": ext(t.owner), "direction": t.direction,
            "outcome": t.outcome, "deal": ext(t.deal), "contact": ext(t.contact), "account": ext(t.account),
            "duration_minutes": t.duration_minutes, "notes": t.notes}


def _touches(user):
    return access.touches_for(user).select_related("owner", "deal", "contact", "account")


@router.get("/touches", response=TouchPage, summary="List the touches you may see (newest first)")
def list_touches(request, limit: int = Query(50, ge=1, le=MAX_LIMIT), offset: int = Query(0, ge=0, le=MAX_OFFSET),
                 deal: Optional[Text] = None, account: Optional[Text] = None, contact: Optional[Text] = None,
                 owner: Optional[Text] = None, since: Optional[Moment] = None):
    qs = _touches(request.auth)
    filters = {"deal__external_id": deal, "account__external_id": account, "contact__external_id": contact,
               "owner__external_id": owner, "at__gte": since}
    qs = qs.filter(**{k: v for k, v in filters.items() if v is not None})
    return page(qs.order_by("-at", "-id"), limit, offset, touch_row)


@router.get("/touches/{touch_id}", response={200: TouchOut, 404: Error})
def get_touch(request, touch_id: Text):
    return touch_row(visible(_touches(request.auth), "touch", touch_id))


@router.post("/touches", response={201: TouchOut, 409: Error, 422: Error},
             summary="Log a touch (yours; on a deal, contact or account you may see)")
def create_touch(request, payload: TouchIn):
    user = request.auth
    fields = payload.dict()
    fields["external_id"] = new_external_id(user, Touch, "touch", fields.pop("id"))
    fields["deal"] = ref(access.deals_for(user), "deal", fields["deal"])
    fields["contact"] = ref(access.contacts_for(user), "contact", fields["contact"])
    fields["account"] = ref(access.accounts_for(user), "account", fields["account"])
    if fields["account"] is None:
        fields["account"] = fields["deal"].account if fields["deal"] else (
            fields["contact"].account if fields["contact"] else None)
    for key in ("direction", "outcome"):
        fields[key] = fields[key] or ""
    touch = records.create(Touch, by=user, owner=user, **fields)
    return created(touch_row(_touches(user).get(pk=touch.pk)))


@router.patch("/touches/{touch_id}", response={200: TouchOut, 404: Error, 422: Error},
              summary="Correct a touch's outcome, direction, duration or notes")
def patch_touch(request, touch_id: Text, payload: TouchPatch):
    touch = visible(_touches(request.auth), "touch", touch_id)
    changes = payload.dict(exclude_unset=True)
    for key in ("outcome", "direction", "notes"):
        if key in changes and changes[key] is None:
            changes[key] = ""
    return touch_row(records.update(touch, by=request.auth, **changes))
