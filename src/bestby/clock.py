"""The one clock: the instant bestby takes as "now", in one place so that it can be set.

The rule
    Every "now" in bestby comes from :func:`now` (or :func:`today`, its date
    on a calendar): the default ``as_of`` of every analysis, page, report and
    command; the instant an action happens (a stage change, a touch, a task
    done, a clearance, an import, a policy change, a token's creation or use)
    and its audit entry; the seller's "today" on their own calendar; the
    reference day of the demo's synthetic data. Audit and record timestamps
    use it too: a frozen clock (a test, a demo, a reproduced report) then sees
    one consistent instant, so what is written at "now" and every analysis
    "as of now" agree, and nothing written can lie in the future of an
    analysis of the same moment.

    The only exceptions measure real elapsed time between events, not what
    day it is, and would stop working if the clock stood still; they read
    :func:`wall` (this module) or the operating system directly:

    * :func:`wall` for the open-deals change notes and the open book's
      rebuild windows (:mod:`bestby.pipeline.revision`,
      :mod:`bestby.clearance.openbook`): server processes coordinate their
      caches by real time, and prune the notes after a real day;
    * the sign-in throttle's windows (``time.time()`` in
      :mod:`bestby.web.throttle`), Django's own session expiry,
      ``last_login`` and ``date_joined``, and durations shown by progress bars.

    Nothing else in ``src/bestby`` calls ``datetime.now``, ``timezone.now``
    or ``date.today``; ``tests/test_clock.py`` checks that with a search of
    the source.

Setting it
    * For a process: ``BESTBY_NOW=2026-01-15T09:00:00Z`` (any ISO 8601
      instant with ``Z`` or an offset; a bare date ``2026-01-15`` is midnight
      UTC) freezes the clock at that instant for the whole process. It does
      not move: meant for a demo on a chosen day, screenshots, and replaying a
      report as it was. A bad value is a configuration error naming
      ``BESTBY_NOW`` (checked by :func:`bestby.config.load`).
    * In code and tests: ``with clock.frozen(instant):`` (or the
      ``frozen_clock`` fixture of ``tests/conftest.py``). It wins over
      ``BESTBY_NOW``; frozen blocks nest (the innermost wins) and apply to
      every thread of the process, so a live test server sees them too.

This module imports nothing from Django, so the engine-free parts (the
synthetic data, the command line before Django is set up) can use it.
"""

from __future__ import annotations

import functools
import os
import threading
from contextlib import contextmanager
from datetime import UTC, date, datetime, tzinfo
from typing import Iterator

__all__ = ["ENV", "frozen", "now", "parse_instant", "today", "wall"]

ENV = "BESTBY_NOW"

_lock = threading.Lock()
_frozen: list[datetime] = []  # a stack: the innermost ``frozen`` block is last


def wall() -> datetime:
    """The real current instant (aware, UTC), never frozen: only for measuring real elapsed time (module doc)."""
    return datetime.now(UTC)


def now() -> datetime:
    """The instant bestby takes as now (aware, UTC): a frozen instant, else ``BESTBY_NOW``, else the real time."""
    if _frozen:
        return _frozen[-1]
    text = os.environ.get(ENV, "").strip()
    if text:
        return parse_instant(text, name=ENV)
    return datetime.now(UTC)


def today(zone: tzinfo | None = None) -> date:
    """The date of :func:`now` on the calendar of ``zone`` (default UTC)."""
    return now().astimezone(zone or UTC).date()


@contextmanager
def frozen(instant: datetime | date | str) -> Iterator[datetime]:
    """Within the block, :func:`now` is ``instant`` (aware; a date is midnight UTC; a string is parsed)."""
    at = _aware(instant)
    with _lock:
        _frozen.append(at)
    try:
        yield at
    finally:
        with _lock:
            # remove this block's entry even when blocks end out of order (fixtures torn down in any order)
            for k in range(len(_frozen) - 1, -1, -1):
                if _frozen[k] is at:
                    del _frozen[k]
                    break


@functools.lru_cache(maxsize=8)
def parse_instant(text: str, *, name: str = ENV) -> datetime:
    """An ISO 8601 instant with ``Z`` or an offset, or a bare date (midnight UTC), as an aware UTC datetime.

    Raises ValueError naming ``name`` when ``text`` is neither: a time without
    an offset is refused rather than guessed (the server's zone is not the
    workspace's).
    """
    raw = text.strip()
    try:
        if len(raw) == 10:
            return datetime.combine(date.fromisoformat(raw), datetime.min.time(), UTC)
        parsed = datetime.fromisoformat(raw.replace("z", "Z"))
    except ValueError:
        raise ValueError(f"{name}={text!r} is not an ISO 8601 instant; write it like 2026-01-15T09:00:00Z, "
                         "2026-01-15T10:00:00+01:00 or 2026-01-15") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError(f"{name}={text!r} has no UTC offset; add Z or one such as +01:00 "
                         "(e.g. 2026-01-15T09:00:00Z)")
    return parsed.astimezone(UTC)


def _aware(instant: datetime | date | str) -> datetime:
    if isinstance(instant, str):
        return parse_instant(instant, name="instant")
    if not isinstance(instant, datetime):
        return datetime.combine(instant, datetime.min.time(), UTC)
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"instant {instant.isoformat()} has no time zone; give an aware datetime")
    return instant.astimezone(UTC)
