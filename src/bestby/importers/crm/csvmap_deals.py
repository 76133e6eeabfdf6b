"""What a deals mapping adds to the rows: the declared stages, status against stage, closing times, history.

A deals CSV is a snapshot: one row per deal as it is now, without history.
These rules (applied in this order to every row, after its cells are mapped)
make it a consistent FORMAT.md deal and say what they decided:

1. **Stages.** With ``stages`` in the mapping, the stages file is written
   for every pipeline the rows name (the empty pipeline is ``default``, as in
   the canonical import), positions in the listed order. Without it the
   canonical import derives stages from the data (FORMAT.md) and rules 2 and
   5 do not apply: the stage kinds are not known here.
2. **Status from the stage.** For a deal in a declared stage:

   * a won or lost stage decides the status; a source status saying otherwise
     is finding ``status_contradicts_stage`` (the stage wins, as every CRM
     importer of bestby decides);
   * an open stage with a source status of won or lost means the deal was
     closed while in that stage (exports that keep status apart from stage do
     this): the deal moves to the pipeline's first declared stage of that
     kind, keeps the open stage as custom field ``stage_when_closed``, and is
     counted under ``closed_in_open_stage``. A lost deal is never left in
     an open stage: it would be counted as live inventory.
   * a stage that is not declared is left to the canonical import, which
     refuses it naming the row and the declared stages.
3. **Closing time of a closed deal.** Empty ``closed_at``: the expected
   ``close_date`` (midnight, workspace time) is the best time the row gives (finding
   ``closed_at_from_close_date``); with neither, the deal is *not imported*
   (``closed_without_date``): a closing time cannot be justified, and a
   guessed one would bend every cycle length learned from it. A ``closed_at``
   before ``created_at`` becomes ``created_at`` (``closed_before_created``):
   a record entered after the fact, closed the day it was entered.
4. **Open deals** keep no ``closed_at`` (``closed_at_on_open_deal`` when the
   source had one).
5. **History.** A snapshot justifies events only for closed deals: entry at
   ``created_at`` into the pipeline's first open stage and the move into the
   closed stage at ``closed_at`` (``crm.history.stage_events``, finding
   ``no_history``). An open deal gets no event (finding ``snapshot``): its
   entry into the current stage is taken at ``created_at`` by the analyses,
   and when a newer export shows it in another stage the canonical import
   records that move at import time. An entry event invented at
   ``created_at`` into the current stage would instead claim, after such a
   move, that the deal had sat in its new stage since it was created.
"""

from __future__ import annotations

from datetime import datetime, time, timezone, tzinfo

from bestby.importers.crm.csvmap_spec import Mapping
from bestby.importers.crm.findings import Findings
from bestby.importers.crm.history import Deal, comparable, stage_events
from bestby.importers.crm.out import Out
from bestby.importers.problems import ProblemCollector

DEFAULT_PIPELINE = "default"  # the pipeline of a deal whose pipeline cell is empty (as bestby.importers.writer)


def apply_deal_rules(rows: list[tuple[int, dict, dict]], m: Mapping, csv_name: str, out: Out, findings: Findings,
                     problems: ProblemCollector, *, zone: tzinfo = timezone.utc) -> list[tuple[int, dict, dict]]:
    """Apply rules 1 to 5 (module doc) to ``(line, values, custom)`` rows; return the rows to import."""
    declared = {s.name: s.kind for s in (m.stages or [])}
    first_of = {}
    for s in m.stages or []:
        first_of.setdefault(s.kind, s.name)
    kept = []
    for line, v, custom in rows:
        stage, status = v.get("stage"), v.get("status")
        kind = declared.get(stage) if stage else None
        if kind in ("won", "lost"):
            if status and status != kind:
                findings.keep("status_contradicts_stage", "deals whose status contradicts their stage (the stage wins)",
                              csv_name, line, f"deal {v['deal_id']}: status {status!r}, stage {stage!r} is {kind}")
            v["status"] = status = kind
        elif kind == "open" and status in ("won", "lost"):
            target = first_of.get(status)
            if target is None:
                problems.add(m.file, m.line("stages"), None,
                             f"stages: declares no {status} stage, but {csv_name} line {line} has a {status} deal; "
                             f"add one (- {{stage: Closed {status}, kind: {status}}})")
                continue
            findings.keep("closed_in_open_stage", "deals closed in an open stage: moved to the first closed stage "
                          "(the open one kept as stage_when_closed)", csv_name, line,
                          f"deal {v['deal_id']}: {status} in {stage!r}")
            custom["stage_when_closed"] = stage
            v["stage"] = target
        elif kind == "open":
            v["status"] = status = status or "open"
        if status in ("won", "lost"):
            if v.get("closed_at") is None:
                if v.get("close_date") is None:
                    findings.skip("closed_without_date", "closed deals with neither closed_at nor close_date: not "
                                  "imported (no closing time can be justified)", csv_name, line, f"deal {v['deal_id']}")
                    continue
                v["closed_at"] = datetime.combine(v["close_date"], time(), tzinfo=zone)
                findings.keep("closed_at_from_close_date", "closed deals without closed_at: the expected close date "
                              "is taken as closed_at", csv_name, line, f"deal {v['deal_id']}: {v['close_date']}")
            created = v.get("created_at")
            if created is not None and comparable(v["closed_at"]) < comparable(created):
                findings.keep("closed_before_created", "deals closed before they were created: closed_at set to "
                              "created_at", csv_name, line,
                              f"deal {v['deal_id']}: created {created:%Y-%m-%d}, closed {v['closed_at']:%Y-%m-%d}")
                v["closed_at"] = created
        elif status == "open" and v.get("closed_at") is not None:
            findings.keep("closed_at_on_open_deal", "open deals with a closed_at: cleared", csv_name, line,
                          f"deal {v['deal_id']}: {v['closed_at']:%Y-%m-%d}")
            v["closed_at"] = None
        kept.append((line, v, custom))
    if m.stages:
        _stage_rows(kept, m, out)
        _history(kept, m, csv_name, out, findings, first_open=first_of["open"])
    else:
        for line, v, _ in kept:
            findings.keep("snapshot", "deals imported without stage history (the mapping declares no stages, so no "
                          "events can be justified; analyses take created_at as entry into the current stage)",
                          csv_name, line, f"deal {v['deal_id']}")
    return kept


def _stage_rows(kept, m: Mapping, out: Out) -> None:
    pipelines = list(dict.fromkeys(v.get("pipeline") or DEFAULT_PIPELINE for _, v, _ in kept))
    stages = out.table("stages")
    for pipeline in pipelines or [m.constants.get("pipeline") or DEFAULT_PIPELINE]:
        for position, s in enumerate(m.stages, start=1):
            stages.add(m.file, s.line, pipeline=pipeline, stage=s.name, position=position, kind=s.kind,
                       probability=s.probability)


def _history(kept, m: Mapping, csv_name: str, out: Out, findings: Findings, *, first_open: str) -> None:
    events = out.table("stage_events")
    names = {s.name for s in m.stages}
    for line, v, _ in kept:
        if v.get("status") not in ("won", "lost"):
            findings.keep("snapshot", "open deals: no stage event invented (created_at counts as the entry "
                          "into the current stage)",
                          csv_name, line, f"deal {v['deal_id']}")
            continue
        if v.get("stage") not in names or v.get("created_at") is None:
            continue  # an undeclared stage or an empty created_at: the canonical import refuses the row
        deal = Deal(v["deal_id"], v["created_at"], v["stage"], True, v["closed_at"], csv_name, line)
        for at, to_stage, from_stage, file, src_line in stage_events(deal, [], stages=names, first_open=first_open,
                                                                     end_at=v["closed_at"], findings=findings):
            events.add(file, src_line, deal_id=v["deal_id"], at=at, to_stage=to_stage, from_stage=from_stage)
