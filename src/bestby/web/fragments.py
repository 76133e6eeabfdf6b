"""Rendered page parts (and the small lists behind them), kept per server process while what they show is unchanged.

A board over 100,000 open deals is cheap to compute from the open book but
still costs tens of milliseconds to render, and ten people opening the same
board would each pay it. :class:`Fragments` keeps the most recently used
parts (least recently used out first), each under a key that holds *all* it
depends on: the revision tokens (:mod:`bestby.pipeline.revision`: a write of
a deal, stage, freshness row or user gives a new token, so a stale part is
never found again) and the viewer's scope as resolved by
:mod:`bestby.people.access` (owner keys), so a part rendered for one scope is
never served to another. Parts hold no per-user secret (no CSRF token, no
form state): the page around them is rendered per request.

``SIZE`` = 128 parts of up to ~200 KB: at most ~25 MB per process.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable

SIZE = 128


class Fragments:
    def __init__(self, size: int = SIZE) -> None:
        self.size = size
        self._parts: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable, render: Callable[[], Any]) -> Any:
        """The part under ``key``, rendered by ``render()`` when absent (two threads may both render it once)."""
        with self._lock:
            part = self._parts.get(key)
            if part is not None:
                self._parts.move_to_end(key)
                self.hits += 1
                return part
            self.misses += 1
        part = render()
        with self._lock:
            self._parts[key] = part
            self._parts.move_to_end(key)
            while len(self._parts) > self.size:
                self._parts.popitem(last=False)
        return part

    def clear(self) -> None:
        with self._lock:
            self._parts.clear()


fragments = Fragments()
