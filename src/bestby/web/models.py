"""The web app's own table: the sign-in throttle's counters (:mod:`bestby.web.throttle`)."""

from __future__ import annotations

from django.db import models


class LoginCounter(models.Model):
    """Failed (or in-flight) sign-ins for one username or one client address in the current window.

    ``key`` is ``bestby:login:ip:<digest>`` or ``bestby:login:user:<digest>``
    (a SHA-256 digest: neither names nor addresses are stored in clear);
    ``start`` is when the window opened, in seconds since the epoch. A row is
    only ever changed under a row lock in one transaction (see the throttle).
    """

    key = models.CharField(max_length=80, primary_key=True)
    start = models.FloatField(db_index=True)
    count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key}: {self.count} since {self.start:.0f}"
