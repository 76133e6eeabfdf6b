"""Pipedrive's pipelines and stages, with the Won and Lost stages bestby needs, and fields.csv's option labels.

Pipedrive keeps a deal's stage and its status apart: a won or lost deal stays
in the open stage it was in, and ``status`` says won or lost. FORMAT.md closes
a deal by moving it into a won or lost stage, so every pipeline gets two stages
of its own after its open ones: ``Won`` (kind won, probability 1) and ``Lost``
(kind lost, probability 0); the close is a stage event from the stage the deal
was in into one of them. A pipeline that already has a stage called Won or
Lost gets ``Won (status)`` / ``Lost (status)`` instead, so no name means two
things.

Where the stages come from, in order of preference:

1. ``stages.csv`` (API columns ``id``, ``name``, ``order_nr``,
   ``pipeline_id``, ``pipeline_name``, ``deal_probability`` in percent; or the
   ``stage_id``, ``stage_name`` of the Enpal extract). Positions follow
   ``order_nr`` within the pipeline, else the file's order. The pipeline is
   named by ``pipeline_name``, else by ``pipelines.csv`` (id, name) for its
   ``pipeline_id``, else by the id itself; a stage with no pipeline at all is
   in the pipeline ``pipedrive``.
2. No stages.csv, but ``fields.csv`` lists the options of ``stage_id``: those
   labels in their order, in the pipeline ``pipedrive`` (finding
   ``stages_inferred``).
3. Neither: the stages the deals and the change log name, in order of first
   appearance (change log first: it is the history), per pipeline (finding
   ``stages_inferred``); a stage id nobody names is its own name.

``fields.csv`` (``ID, FIELD_KEY, NAME, FIELD_VALUE_OPTIONS`` with the options
as JSON ``[{"id": "1", "label": "..."}]``) also names lost reasons. When it and
stages.csv label one stage differently (the Enpal extract: ``Qualified lead``
against ``Qualified Lead``), stages.csv wins and each such stage is a finding
(``stage_label_differs``): the two files are the same CRM's metadata and should
agree, so a difference says one of them was edited by hand.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from bestby.importers.crm.pipedrive import Ctx

DEFAULT_PIPELINE = "pipedrive"

FIELD_KEY = ("FIELD_KEY", "key", "field_key")
FIELD_OPTIONS = ("FIELD_VALUE_OPTIONS", "options", "field_value_options")
STAGE_ID = ("id", "stage_id", "Stage - ID")
STAGE_NAME = ("name", "stage_name", "Stage - Name")
STAGE_ORDER = ("order_nr", "order", "Stage - Order")
STAGE_PIPELINE = ("pipeline_name", "Stage - Pipeline")
STAGE_PIPELINE_ID = ("pipeline_id", "Stage - Pipeline ID")
STAGE_PROBABILITY = ("deal_probability", "probability", "Stage - Probability")


def read_fields(ctx: Ctx) -> dict[str, dict[str, tuple[str, int]]]:
    """fields.csv as {field key: {option id: (label, line)}}; broken JSON is a problem at its cell."""
    src = ctx.files.get("fields")
    if src is None:
        return {}
    keys = src.need(ctx.problems, *FIELD_KEY)
    options = src.opt(*FIELD_OPTIONS)
    column = src.header(*FIELD_OPTIONS) or FIELD_OPTIONS[0]
    out: dict[str, dict[str, tuple[str, int]]] = {}
    for i, (key, cell) in enumerate(zip(keys, options)):
        if not cell:
            continue
        try:
            items = json.loads(cell)
            labels = {str(o["id"]): (str(o["label"]), src.lines[i]) for o in items}
        except (ValueError, TypeError, KeyError) as exc:
            ctx.problems.add(src.file, src.lines[i], column,
                             f"is not a JSON list of {{\"id\": ..., \"label\": ...}} options ({exc})")
            continue
        out[key.strip().lower()] = labels
    return out


class Stages:
    """Every pipeline's stages by name, stage ids to (pipeline, name), and the added Won and Lost stages."""

    def __init__(self, inferred: bool) -> None:
        self.inferred = inferred                       # stages are learned from the data as they appear
        self.by_id: dict[str, tuple[str, str]] = {}
        self.names: dict[str, dict[str, str]] = {}     # pipeline -> casefolded name -> name
        self.open: dict[str, list[tuple]] = {}         # pipeline -> [(sort key, name, probability, file, line)]
        self.closed: dict[str, dict[str, str]] = {}    # pipeline -> {"won": name, "lost": name}

    def add(self, pipeline: str, name: str, *, file: str, line: int | None, stage_id: str | None = None,
            order: float | None = None, probability: float | None = None) -> tuple[str, str]:
        known = self.names.setdefault(pipeline, {})
        rows = self.open.setdefault(pipeline, [])
        if name.casefold() not in known:
            known[name.casefold()] = name
            rows.append(((0 if order is not None else 1, order or 0, len(rows)), name, probability, file, line))
        if stage_id is not None:
            self.by_id.setdefault(stage_id, (pipeline, known[name.casefold()]))
        return pipeline, known[name.casefold()]

    def resolve(self, cell: str, pipeline: str | None, *, file: str, line: int | None) -> tuple[str, str] | None:
        """The (pipeline, stage) a deal's or a change's stage cell names: an id, else a name; None if unknown."""
        if cell in self.by_id:
            return self.by_id[cell]
        if pipeline is not None:
            hit = self.names.get(pipeline, {}).get(cell.casefold())
            if hit is not None:
                return pipeline, hit
        else:
            hits = [(p, n[cell.casefold()]) for p, n in self.names.items() if cell.casefold() in n]
            if len(hits) == 1:
                return hits[0]
        if self.inferred:
            return self.add(pipeline or DEFAULT_PIPELINE, cell, file=file, line=line,
                            stage_id=cell if pipeline is None else None)
        return None

    def _closed(self, pipeline: str) -> dict[str, str]:
        hit = self.closed.get(pipeline)
        if hit is None:
            known = self.names.setdefault(pipeline, {})
            self.open.setdefault(pipeline, [])
            hit = self.closed[pipeline] = {
                kind: name if name.casefold() not in known else f"{name} (status)"
                for kind, name in (("won", "Won"), ("lost", "Lost"))}
        return hit

    def won(self, pipeline: str) -> str:
        return self._closed(pipeline)["won"]

    def lost(self, pipeline: str) -> str:
        return self._closed(pipeline)["lost"]

    def first_open(self, pipeline: str) -> str | None:
        rows = sorted(self.open.get(pipeline, []))
        return rows[0][1] if rows else None

    def of(self, pipeline: str) -> set[str]:
        """The names of the pipeline's stages, the added Won and Lost included."""
        return set(self.names.get(pipeline, {}).values()) | set(self._closed(pipeline).values())

    def finish(self, ctx: Ctx) -> None:
        """Write the stages table: each pipeline's open stages in order, then Won and Lost."""
        table = ctx.out.table("stages")
        for pipeline in list(self.open):
            rows = sorted(self.open[pipeline])
            closed = self._closed(pipeline)
            position = 0
            for position, (_, name, probability, file, line) in enumerate(rows, start=1):
                table.add(file, line, pipeline=pipeline, stage=name, position=position, kind="open",
                          probability=probability)
            file, line = (rows[0][3], None) if rows else ("stages.csv", None)
            table.add(file, line, pipeline=pipeline, stage=closed["won"], position=position + 1, kind="won", probability=1.0)
            table.add(file, line, pipeline=pipeline, stage=closed["lost"], position=position + 2, kind="lost", probability=0.0)


def pipeline_names(ctx: Ctx) -> dict[str, str]:
    src = ctx.files.get("pipelines")
    if src is None:
        return {}
    return {i: n for i, n in zip(src.opt("id", "pipeline_id", "Pipeline - ID"), src.opt("name", "Pipeline - Name")) if i and n}


def read_stages(ctx: Ctx, fields: dict) -> Stages:
    """The stages of stages.csv, else of fields.csv, else an empty registry that learns them from the data."""
    src = ctx.files.get("stages")
    labels = fields.get("stage_id", {})
    ctx.pipelines = pipeline_names(ctx)
    if src is None:
        stages = Stages(inferred=True)
        fields_file = ctx.files["fields"].file if labels else ""
        for order, (sid, (label, line)) in enumerate(labels.items()):
            stages.add(DEFAULT_PIPELINE, label, file=fields_file, line=line, stage_id=sid, order=order)
        ctx.findings.keep("stages_inferred", "no stages.csv: the stages are "
                          + ("fields.csv's stage_id options, in their order" if labels else
                             "the ones the change log and the deals name, in order of first appearance; all open"),
                          fields_file or "stages.csv", None, "Won and Lost were added to each pipeline", count=1)
        return stages
    stages = Stages(inferred=False)
    ids = src.need(ctx.problems, *STAGE_ID)
    names = src.need(ctx.problems, *STAGE_NAME)
    orders, pipes, pipe_ids, probs = (src.opt(*STAGE_ORDER), src.opt(*STAGE_PIPELINE), src.opt(*STAGE_PIPELINE_ID),
                                      src.opt(*STAGE_PROBABILITY))
    name_col = src.header(*STAGE_NAME) or STAGE_NAME[0]
    for i, (sid, name) in enumerate(zip(ids, names)):
        line = src.lines[i]
        if not sid or not name:
            ctx.problems.add(src.file, line, src.header(*STAGE_ID) if not sid else name_col, "is required but empty")
            continue
        if sid in stages.by_id:
            ctx.problems.add(src.file, line, src.header(*STAGE_ID), f"stage id {sid} appears twice")
            continue
        pipeline = pipes[i] or ctx.pipelines.get(pipe_ids[i], pipe_ids[i]) or DEFAULT_PIPELINE
        if name.casefold() in stages.names.get(pipeline, {}):
            ctx.problems.add(src.file, line, name_col, f"stage {name!r} appears twice in pipeline {pipeline!r}")
            continue
        try:
            order = float(orders[i]) if orders[i] else None
            probability = float(probs[i]) / 100 if probs[i] else None
        except ValueError:
            ctx.problems.add(src.file, line, src.header(*STAGE_ORDER, *STAGE_PROBABILITY), "is not a number")
            continue
        if probability is not None and not 0 <= probability <= 1:
            ctx.problems.add(src.file, line, src.header(*STAGE_PROBABILITY), f"{probs[i]} is not a percentage (0 to 100)")
            continue
        stages.add(pipeline, name, file=src.file, line=line, stage_id=sid, order=order, probability=probability)
    table = ctx.out.table("stages")
    table.describe(src.file, stage=name_col, position=src.header(*STAGE_ORDER) or "order_nr",
                   probability=src.header(*STAGE_PROBABILITY) or "deal_probability")
    for sid, (label, _) in labels.items():
        hit = stages.by_id.get(sid)
        if hit is None or hit[1] != label:
            line = next((src.lines[i] for i, s in enumerate(ids) if s == sid), None)
            ctx.findings.keep("stage_label_differs", "stages that fields.csv labels differently from stages.csv "
                              "(stages.csv is used)", src.file, line,
                              f"stage {sid}: {hit[1]!r} in stages.csv, {label!r} in fields.csv" if hit else
                              f"stage {sid}: {label!r} in fields.csv only")
    return stages
