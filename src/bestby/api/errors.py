"""Every API error is JSON: ``{"detail": "...", "field": "..."}`` (``field`` null when no one field is at fault)."""

from __future__ import annotations

import functools
import logging

from django.http import Http404, HttpResponseNotAllowed, JsonResponse
from ninja.errors import AuthenticationError, HttpError, ValidationError

from bestby import bounds
from bestby.clearance.services import ClearanceError
from bestby.goals.params import ParamError
from bestby.goals.services import QuotaDenied, QuotaError
from bestby.pipeline.services import DealError, StaleEdit

_SOURCES = {"body", "query", "path", "header", "cookie", "form", "file"}
_CLEARANCE_INPUT = {"reason", "to", "until"}  # bad input (422); other clearance refusals are conflicts (409)


class FieldError(Exception):
    """Refused; nothing changed. ``field`` names the input at fault."""

    def __init__(self, status: int, field: str | None, detail: str) -> None:
        self.status, self.field, self.detail = status, field, detail
        super().__init__(f"{field}: {detail}")


def not_found(what: str, key) -> FieldError:
    return FieldError(404, None, f"no {what} {key!r} (or you may not see it)")


def _split(message: str) -> tuple[str | None, str]:
    head, sep, rest = message.partition(": ")
    return (head, rest) if sep and head.isidentifier() else (None, message)


def _msg(error: dict) -> str:
    """Pydantic's message, without the "Value error, " it puts before the text of a validator's ValueError."""
    return error.get("msg", "").removeprefix("Value error, ")


def _field(loc) -> str | None:
    parts = [str(p) for p in loc]
    if parts and parts[0] in _SOURCES:
        source, parts = parts[0], parts[1:]
        if source == "body" and parts and parts[0] == "payload":
            parts = parts[1:] or ["body"]
    return ".".join(parts) or None


def install(api) -> None:
    """Register the JSON error handlers on ``api``."""

    def reply(request, status, detail, field=None):
        return api.create_response(request, {"detail": detail, "field": field}, status=status)

    @api.exception_handler(FieldError)
    def _field_error(request, exc):
        return reply(request, exc.status, exc.detail, exc.field)

    @api.exception_handler(StaleEdit)
    def _stale(request, exc):
        return reply(request, 409, _split(str(exc))[1], "version")

    @api.exception_handler(DealError)
    def _deal(request, exc):
        field, detail = _split(str(exc))
        return reply(request, 422, detail, field)

    @api.exception_handler(ClearanceError)
    def _clearance(request, exc):
        return reply(request, 422 if exc.param in _CLEARANCE_INPUT else 409, exc.message, exc.param)

    @api.exception_handler(ParamError)
    def _param(request, exc):
        return reply(request, 422, exc.message, exc.field)

    @api.exception_handler(QuotaError)
    def _quota(request, exc):
        return reply(request, 422, exc.message, exc.field)

    @api.exception_handler(QuotaDenied)
    def _quota_denied(request, exc):
        return reply(request, 403, str(exc), "owner")

    @api.exception_handler(ValidationError)
    def _invalid(request, exc):
        first = exc.errors[0] if exc.errors else {}
        field = _field(first.get("loc", ()))
        detail = f"{field}: {_msg(first) or 'invalid'}" if field else _msg(first) or "invalid input"
        errors = [{"field": _field(e.get("loc", ())), "message": _msg(e)} for e in exc.errors]
        return api.create_response(request, {"detail": detail, "field": field, "errors": errors}, status=422)

    @api.exception_handler(AuthenticationError)
    def _unauthorized(request, exc):
        response = reply(request, 401, "a valid API token is required: Authorization: Bearer <token>",
                         "Authorization")
        response["WWW-Authenticate"] = "Bearer"
        return response

    @api.exception_handler(HttpError)
    def _http(request, exc):
        return reply(request, exc.status_code, str(exc))

    @api.exception_handler(Http404)
    def _404(request, exc):
        return reply(request, 404, "not found")

    @api.exception_handler(bounds.OutOfBounds)
    def _out_of_bounds(request, exc):
        return reply(request, 422, exc.message, exc.field)

    @api.exception_handler(Exception)
    def _crash(request, exc):
        # A defect, not bad input: an API client gets JSON (never Django's HTML error page), and the
        # operator gets the traceback where every 500 is logged (the django.request logger: stderr or
        # BESTBY_LOG_FILE, docs/operations.md).
        logging.getLogger("django.request").error("Internal Server Error: %s", request.path, exc_info=exc,
                                                  extra={"status_code": 500, "request": request})
        response = reply(request, 500, "internal error (a defect in bestby, not your input); the server's log "
                                       "has the details")
        response._has_been_logged = True  # logged above, with the traceback; Django would log it again without
        return response


def json_405(view):
    """Wrap a Ninja view so that a method it does not route answers JSON, not Django's plain text."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = response["Allow"]
            response = JsonResponse({"detail": f"method {request.method} not allowed here; use {allowed}",
                                     "field": None}, status=405)
            response["Allow"] = allowed
        return response

    return wrapped


def unknown_path(request, rest: str = ""):
    return JsonResponse({"detail": f"no API endpoint /api/{rest}", "field": None}, status=404)
