"""Login throttling: after 5 failed sign-ins for one username or from one client address within
15 minutes, further attempts are refused (HTTP 429) until the window has passed.

Counters live in Django's cache (``CACHES["default"]``), which bestby keeps
in the database: every worker process of ``bestby serve --workers N`` counts
the same failures, and a restart forgets nothing. Limits to know:
* The client address is ``REMOTE_ADDR``; behind a reverse proxy that is the
  proxy's address (every user shares one counter), so the proxy must set
  ``REMOTE_ADDR`` from the real client (it is not read from headers here,
  because a client can forge them).
* The window is fixed from the first failure (not sliding): the wait shown is
  the time until that window ends.

A successful sign-in clears the username's counter (not the address's: one
right password must not reset the count of an address trying many names).
"""

from __future__ import annotations

import hashlib
import math
import time

from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.shortcuts import render

__all__ = ["MAX_FAILURES", "WINDOW_SECONDS", "ThrottledLoginView", "clear_failures", "record_failure",
           "retry_after"]

MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60


def _key(kind: str, value: str) -> str:
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
    return f"bestby:login:{kind}:{digest}"


def _keys(username: str, address: str) -> list[str]:
    keys = [_key("ip", address or "-")]
    if username:
        keys.append(_key("user", username))
    return keys


def retry_after(username: str, address: str, *, now: float | None = None) -> int:
    """Seconds until sign-in may be tried again for this username and address (0: allowed now)."""
    now = time.time() if now is None else now
    wait = 0
    for key in _keys(username, address):
        entry = cache.get(key)
        if entry and entry["count"] >= MAX_FAILURES:
            wait = max(wait, math.ceil(entry["start"] + WINDOW_SECONDS - now))
    return max(wait, 0)


def record_failure(username: str, address: str, *, now: float | None = None) -> None:
    """Count one failed sign-in for the username and for the address."""
    now = time.time() if now is None else now
    for key in _keys(username, address):
        entry = cache.get(key)
        if not entry or entry["start"] + WINDOW_SECONDS <= now:
            entry = {"start": now, "count": 0}
        entry["count"] += 1
        cache.set(key, entry, timeout=max(1, math.ceil(entry["start"] + WINDOW_SECONDS - now)))


def clear_failures(username: str) -> None:
    """Forget the failures of a username (after it signed in)."""
    if username:
        cache.delete(_key("user", username))


def _minutes(seconds: int) -> str:
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


class ThrottledLoginView(LoginView):
    """Django's login view, refusing with 429 after too many failures (see the module docstring)."""

    def post(self, request, *args, **kwargs):
        username = (request.POST.get("username") or "").strip()
        address = request.META.get("REMOTE_ADDR", "")
        wait = retry_after(username, address)
        if wait:
            message = (f"Too many failed sign-ins for this account or from this address. "
                       f"Try again in {_minutes(wait)}.")
            form = self.get_form_class()(request)
            response = render(request, self.template_name,
                              {**self.get_context_data(form=form), "throttled": message}, status=429)
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        record_failure((self.request.POST.get("username") or "").strip(), self.request.META.get("REMOTE_ADDR", ""))
        return super().form_invalid(form)

    def form_valid(self, form):
        clear_failures(form.get_user().get_username())
        clear_failures((self.request.POST.get("username") or "").strip())
        return super().form_valid(form)
