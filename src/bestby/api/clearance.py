"""Clearance actions on one deal: clear, snooze, and undo an action (the clearance services; audited as the token's user)."""

from __future__ import annotations

from ninja import Router

from bestby.api.common import created, visible
from bestby.api.errors import not_found
from bestby.api.schemas import Key, Text, ActionOut, ClearIn, Error, SnoozeIn, UndoIn
from bestby.clearance import services
from bestby.clearance.models import ClearanceAction
from bestby.people import access

router = Router(tags=["clearance"])
Refusals = {404: Error, 409: Error, 422: Error}


def action_row(a: ClearanceAction) -> dict:
    return {"id": a.pk, "kind": a.kind, "deal": a.deal.external_id, "to": a.to, "until": a.until,
            "reason": a.reason, "by": a.by.external_id if a.by else None, "at": a.at, "undoes": a.undoes_id,
            "batch": a.batch}


def _changeable(user, deal_id: str):
    """The deal, when the user may change it (seeing a deal and changing it are the same rule): else 404."""
    deal = visible(access.deals_for(user), "deal", deal_id)
    if not access.can_change(user, deal):
        raise not_found("deal", deal_id)
    return deal


@router.post("/deals/{deal_id}/clear", response={201: list[ActionOut], **Refusals},
             summary="Clear an open deal to lost (timed out) or back to nurture")
def clear(request, deal_id: Text, payload: ClearIn):
    deal = _changeable(request.auth, deal_id)
    actions = services.clear(deals=[deal], reason=payload.reason, to=payload.to, by=request.auth)
    return created([action_row(a) for a in actions])


@router.post("/deals/{deal_id}/snooze", response={201: ActionOut, **Refusals},
             summary="Hide an open deal from the clearance list until a date")
def snooze(request, deal_id: Text, payload: SnoozeIn):
    deal = _changeable(request.auth, deal_id)
    action = services.snooze(deal=deal, until=payload.until, reason=payload.reason, by=request.auth)
    return created(action_row(action))


@router.post("/actions/{action_id}/undo", response={201: ActionOut, **Refusals},
             summary="Undo one clear or snooze (once)")
def undo(request, action_id: Key, payload: UndoIn):
    action = ClearanceAction.objects.select_related("deal").filter(pk=action_id).first()
    if action is None or not access.can_change(request.auth, action.deal):
        raise not_found("clearance action", action_id)
    return created(action_row(services.undo(action=action, reason=payload.reason, by=request.auth)))
