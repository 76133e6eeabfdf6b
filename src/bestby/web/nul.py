"""Refuse a NUL character (U+0000) in any query or form parameter, naming the parameter: 400, never 500.

PostgreSQL cannot store NUL in text (the write fails with a database error)
and SQLite stores it, after which the pages and API answers that show the
value failed. Django's form fields refuse NUL, but bestby's hand-written
forms and query parameters did not. This middleware checks every parameter
name and value of the query string and of an urlencoded or multipart form
(not uploaded files: an import checks its files itself, naming file, row and
field) before any view runs: a page answers 400 with a message, the API JSON
``{"detail", "field"}`` like its other refusals.
"""

from __future__ import annotations

from django.http import HttpResponseBadRequest, JsonResponse
from django.utils.html import escape


def _offending(params) -> str | None:
    for key, values in params.lists():
        if "\x00" in key or any("\x00" in value for value in values):
            return key.replace("\x00", "\\x00")
    return None


class RefuseNulMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        field = _offending(request.GET)
        if field is None and request.method == "POST" and request.content_type in (
                "application/x-www-form-urlencoded", "multipart/form-data"):
            field = _offending(request.POST)
        if field is None:
            return self.get_response(request)
        message = f"{field}: must not contain NUL (0x00) characters; remove them and try again"
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": message.split(": ", 1)[1], "field": field}, status=422)
        return HttpResponseBadRequest(f"<!doctype html><title>Bad request</title><h1>Bad request</h1>"
                                      f'<p class="error" role="alert">{escape(message)}</p>')
