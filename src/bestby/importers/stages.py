"""Derive a pipeline's stages when the import has no stages file (pure rules).

FORMAT.md: "without this file the stages seen in deals and stage_events are
used, ordered by first appearance". First appearance is taken over
stage_events (in file order, which is the order of history), then deals.
Kinds are inferred so that the derived process still ends in won and lost:

* a stage in which at least one deal sits and every such deal is ``won`` is a
  won stage (likewise ``lost``);
* a stage with no deal in it is won or lost when its name says so
  (``won`` / ``lost`` as a word, case-insensitive: "Closed Won");
* every other stage is open.

Won and lost stages are placed after the open ones, keeping their relative
order, because a process ends there whatever order the file showed them in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WON = re.compile(r"\bwon\b", re.IGNORECASE)
_LOST = re.compile(r"\blost\b", re.IGNORECASE)


@dataclass(frozen=True)
class DerivedStage:
    name: str
    position: int
    kind: str


def derive_stages(seen_in_order: list[str], statuses_by_stage: dict[str, set[str]]) -> list[DerivedStage]:
    """Order and classify stage names; ``statuses_by_stage`` holds the given statuses of deals in each stage."""
    names = list(dict.fromkeys(seen_in_order))
    kinds = {}
    for name in names:
        statuses = statuses_by_stage.get(name) or set()
        if statuses == {"won"}:
            kinds[name] = "won"
        elif statuses == {"lost"}:
            kinds[name] = "lost"
        elif not statuses and _WON.search(name):
            kinds[name] = "won"
        elif not statuses and _LOST.search(name):
            kinds[name] = "lost"
        else:
            kinds[name] = "open"
    ordered = [n for n in names if kinds[n] == "open"] + [n for n in names if kinds[n] != "open"]
    return [DerivedStage(n, i + 1, kinds[n]) for i, n in enumerate(ordered)]
