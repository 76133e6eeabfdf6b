"""A deal's stage events from the moves a CRM recorded, cleaned the same way for every source.

``stage_events(deal, moves, ...)`` turns the moves found in an export (time,
stage, source file and line) into FORMAT.md stage events:

1. Moves are ordered by time; moves at the same time keep their order in the
   source (its line).
2. A move dated before the deal's ``created_at`` is skipped (finding
   ``history_before_deal``): FORMAT.md's history starts at the deal's entry,
   and the analyses would otherwise count time the deal did not exist.
3. A move into a stage that is not in the deal's pipeline is skipped (finding
   ``unknown_stage``).
4. A move into the stage the deal is already in is not a change: skipped,
   counted under ``repeat_code`` when the mapper gives one (in Salesforce's
   OpportunityHistory such rows are amount or close-date changes, which are
   normal and not reported).
5. The first move left is the entry (``from_stage`` empty); each later one
   comes from the stage before it.
6. No move left: a closed deal gets the events its own fields justify (as
   FORMAT.md says of snapshot sources): entry at ``created_at`` into
   ``first_open``, then a move into its closed stage at ``closed_at``
   (finding ``no_history``). An open deal gets none (finding
   ``no_history_open``): an entry into its *current* stage at ``created_at``
   would be a guess, and a later export of the moved deal would add a second,
   contradicting entry; without events the analyses take ``created_at`` as
   its entry, and a re-import that finds it moved records the move at import
   time (``canonical``).
7. The last move is not into the deal's current stage: a move into the
   current stage is added at ``end_at`` (``closed_at`` for a closed deal, else
   the mapper's best time of the last stage change), never before the last
   move (finding ``history_ends_elsewhere``). Without ``end_at`` the move is
   not invented and the finding says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from bestby.importers.crm.findings import Findings


@dataclass
class Move:
    at: datetime
    stage: str
    file: str
    line: int | None


@dataclass
class Deal:
    deal_id: str
    created_at: datetime
    stage: str
    closed: bool
    closed_at: datetime | None
    file: str
    line: int | None


def comparable(value: datetime) -> datetime:
    """Naive times (workspace-local) and aware ones compare in one order: naive taken as UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def stage_events(deal: Deal, moves: list[Move], *, stages: set[str], first_open: str, end_at: datetime | None,
                 findings: Findings, repeat_code: str | None = None) -> list[tuple[datetime, str, str | None, str, int | None]]:
    """The deal's events as (at, to_stage, from_stage, source file, source line)."""
    created = comparable(deal.created_at)
    out: list[tuple] = []
    current: str | None = None
    for m in sorted(moves, key=lambda m: (comparable(m.at), m.line or 0)):
        if comparable(m.at) < created:
            findings.skip("history_before_deal", "history rows dated before their deal was created", m.file, m.line,
                          f"deal {deal.deal_id} created {deal.created_at:%Y-%m-%d %H:%M}, row at {m.at:%Y-%m-%d %H:%M}")
            continue
        if m.stage not in stages:
            findings.skip("unknown_stage", "history rows into a stage that is not in the pipeline", m.file, m.line,
                          f"deal {deal.deal_id}, stage {m.stage!r}")
            continue
        if m.stage == current:
            if repeat_code:
                findings.skip(repeat_code, "history rows repeating the stage the deal was already in", m.file, m.line,
                              f"deal {deal.deal_id}, stage {m.stage!r}")
            continue
        out.append((m.at, m.stage, current, m.file, m.line))
        current = m.stage
    if not out:
        if not deal.closed:
            findings.keep("no_history_open", "open deals without usable stage history: no events (analyses take "
                          "created_at as their entry into the current stage)", deal.file, deal.line, f"deal {deal.deal_id}")
            return out
        findings.keep("no_history", "closed deals without usable stage history: entry at created_at and close at "
                      "closed_at created", deal.file, deal.line, f"deal {deal.deal_id}")
        if deal.closed_at is not None and deal.stage != first_open:
            out.append((deal.created_at, first_open, None, deal.file, deal.line))
            out.append((deal.closed_at, deal.stage, first_open, deal.file, deal.line))
        else:
            out.append((deal.created_at, deal.stage, None, deal.file, deal.line))
        return out
    if current != deal.stage:
        last_at = out[-1][0]
        if end_at is None:
            findings.keep("history_ends_elsewhere", "deals whose history ends in another stage than their current one "
                          "(no time is known for the last move, so none was added)", deal.file, deal.line,
                          f"deal {deal.deal_id}: history ends in {current!r}, deal is in {deal.stage!r}")
        else:
            at = end_at if comparable(end_at) >= comparable(last_at) else last_at
            findings.keep("history_ends_elsewhere", "deals whose history ends in another stage than their current one: "
                          "a move into the current stage was added", deal.file, deal.line,
                          f"deal {deal.deal_id}: history ends in {current!r}, deal is in {deal.stage!r}")
            out.append((at, deal.stage, current, deal.file, deal.line))
    return out
