"""Login throttling: after 5 failed sign-ins for one username or from one client address within
15 minutes, further attempts are refused (HTTP 429) until the window has passed.

Counters live in the database (:class:`bestby.web.models.LoginCounter`), so
every worker process of ``bestby serve --workers N`` counts the same
failures, and a restart forgets nothing. Limits to know:

* The client address is ``REMOTE_ADDR``; behind a reverse proxy that is the
  proxy's address (every user shares one counter), so the proxy must set
  ``REMOTE_ADDR`` from the real client (it is not read from headers here,
  because a client can forge them).
* The window is fixed from the first failure (not sliding): the wait shown is
  the time until that window ends.

A successful sign-in clears the username's counter (not the address's: one
right password must not reset the count of an address trying many names).

The count is atomic: an attempt reserves its place before its password is checked
--------------------------------------------------------------------------------
The first version read the counters, let the password be checked, and wrote
the failure afterwards: attempts sent at once all read "fewer than 5" and all
had their password checked (16 or 17 of 30 through ``bestby serve``). Now
:func:`reserve` runs before the check, in one transaction:

1. for the address's key, then the username's (always in that order, so two
   attempts never wait for each other's rows in a cycle), the counter row is
   created if missing (``INSERT ... ON CONFLICT DO NOTHING``) and locked
   (``SELECT ... FOR UPDATE``); a window that has ended starts anew at 0;
2. if a counter has reached :data:`MAX_FAILURES`, the attempt is refused and
   nothing is counted; otherwise every counter goes up by one, and the
   transaction commits before the password is checked;
3. a wrong password leaves the reservation in place: it *is* the failure. A
   right one gives the address's reservation back (:func:`release_address`)
   and clears the username's counter (:func:`clear_failures`). An attempt
   whose check crashes keeps its reservation: it counts as a failure.

So at most :data:`MAX_FAILURES` passwords are checked per key and window,
however many attempts run at once and in however many processes. On
PostgreSQL the row lock makes attempts on one key wait for each other; on
SQLite the transaction's first statement is a write (the insert), which holds
the database's write lock until commit, whatever the connection's
transaction mode (the wait is bounded by the connection's busy timeout).

Why not Django's cache or a library: the cache API has no atomic increment on
the database cache (``incr`` is a get then a set), and that cache culls
entries beyond ``MAX_ENTRIES`` (300), so an attacker filling it with names
would also wipe the counters. django-axes counts a failure when Django's
``user_login_failed`` signal fires, after the password was checked, so
attempts sent at once all pass its lock-out check: the same gap as before.

Rows of ended windows are deleted as attempts come (:func:`_forget_ended`),
so the table holds at most the keys tried in the last 15 minutes; and an
address already refused creates no row for the usernames it goes on trying.
"""

from __future__ import annotations

import hashlib
import math
import time

from django.contrib.auth.views import LoginView
from django.db import transaction
from django.db.models import F
from django.shortcuts import render

from bestby.web.models import LoginCounter

__all__ = ["MAX_FAILURES", "WINDOW_SECONDS", "ThrottledLoginView", "clear_failures", "record_failure",
           "release_address", "reserve", "retry_after"]

MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60


def _key(kind: str, value: str) -> str:
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
    return f"bestby:login:{kind}:{digest}"


def _keys(username: str, address: str) -> list[str]:
    """The address's key first, then the username's: the order rows are locked in (see the module docstring)."""
    keys = [_key("ip", address or "-")]
    if username:
        keys.append(_key("user", username))
    return keys


def _wait(row: LoginCounter, now: float) -> int:
    return max(0, math.ceil(row.start + WINDOW_SECONDS - now))


def _locked(key: str, now: float) -> LoginCounter:
    """The counter row of ``key``, created if missing, locked until the transaction ends, its window current."""
    for _ in range(3):  # a row deleted by _forget_ended between the insert and the lock is inserted again
        LoginCounter.objects.bulk_create([LoginCounter(key=key, start=now, count=0)], ignore_conflicts=True)
        row = LoginCounter.objects.select_for_update().filter(key=key).first()
        if row is not None:
            if row.start + WINDOW_SECONDS <= now:
                row.start, row.count = now, 0
            return row
    raise RuntimeError(f"the sign-in counter {key} could not be locked")  # pragma: no cover - needs 3 lost races


def _forget_ended(now: float) -> None:
    """Delete the counters whose window ended (they count nothing any more)."""
    LoginCounter.objects.filter(start__lte=now - WINDOW_SECONDS).delete()


def reserve(username: str, address: str, *, now: float | None = None) -> int:
    """Count this attempt for the address and the username before its password is checked.

    Returns 0 when the attempt may go on (it is counted: a wrong password
    leaves it counted, a right one calls :func:`release_address`), else the
    seconds until it may be tried again (nothing counted).
    """
    now = time.time() if now is None else now
    _forget_ended(now)
    with transaction.atomic():
        rows = []
        for key in _keys(username, address):
            row = _locked(key, now)
            if row.count >= MAX_FAILURES:
                return _wait(row, now)
            rows.append(row)
        for row in rows:
            row.count += 1
            row.save(update_fields=["start", "count"])
    return 0


def record_failure(username: str, address: str, *, now: float | None = None) -> None:
    """Count one failed sign-in for the username and for the address (even past the limit)."""
    now = time.time() if now is None else now
    _forget_ended(now)
    with transaction.atomic():
        for key in _keys(username, address):
            row = _locked(key, now)
            row.count += 1
            row.save(update_fields=["start", "count"])


def retry_after(username: str, address: str, *, now: float | None = None) -> int:
    """Seconds until sign-in may be tried again for this username and address (0: allowed now). Reads only."""
    now = time.time() if now is None else now
    rows = LoginCounter.objects.filter(key__in=_keys(username, address), count__gte=MAX_FAILURES,
                                       start__gt=now - WINDOW_SECONDS)
    return max([_wait(row, now) for row in rows] or [0])


def release_address(address: str) -> None:
    """Give back the address's reservation of an attempt whose password was right (it was no failure)."""
    LoginCounter.objects.filter(key=_key("ip", address or "-"), count__gt=0).update(count=F("count") - 1)


def clear_failures(username: str) -> None:
    """Forget the failures of a username (after it signed in)."""
    if username:
        LoginCounter.objects.filter(key=_key("user", username)).delete()


def _minutes(seconds: int) -> str:
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


class ThrottledLoginView(LoginView):
    """Django's login view, refusing with 429 after too many failures (see the module docstring)."""

    def post(self, request, *args, **kwargs):
        username = (request.POST.get("username") or "").strip()
        wait = reserve(username, request.META.get("REMOTE_ADDR", ""))
        if wait:
            message = (f"Too many failed sign-ins for this account or from this address. "
                       f"Try again in {_minutes(wait)}.")
            form = self.get_form_class()(request)
            response = render(request, self.template_name,
                              {**self.get_context_data(form=form), "throttled": message}, status=429)
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        release_address(self.request.META.get("REMOTE_ADDR", ""))
        clear_failures(form.get_user().get_username())
        clear_failures((self.request.POST.get("username") or "").strip())
        return super().form_valid(form)
