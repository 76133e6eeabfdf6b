"""The web pages' clock: the instant a page takes as "now" (one place, so tests can set the day they work out by hand).

The Today page and the cadence forms read it through ``clock.now()`` at call
time; nothing else in the web layer keeps the time.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    """The current instant, zone-aware (UTC)."""
    return timezone.now()
