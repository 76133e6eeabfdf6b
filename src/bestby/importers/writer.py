"""Step 2 of an import: resolve references and write file by file, inside the caller's transaction.

See ``bestby.importers.canonical`` for the whole import and its guarantees.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password

from bestby import clock
from bestby.format import FILE_ORDER
from bestby.importers import bulk
from bestby.importers.changes import Changes
from bestby.importers.mapping import MAPS, REF_MODELS, FileMap
from bestby.importers.problems import ProblemCollector
from bestby.importers.report import FileCounts, ImportReport, Progress
from bestby.importers.stages import derive_stages
from bestby.importers.tables import ParsedTable

_MISSING = object()
DEFAULT_PIPELINE = "default"


@functools.cache
def _not_null_fields(fmap: FileMap) -> frozenset[str]:
    """Fields of a file's model that store an empty cell as '' (text fields are NOT NULL in Django)."""
    model = fmap.model
    return frozenset(c.field for c in fmap.cols if not c.ref and not model._meta.get_field(c.field).null)


class Writer:
    """Step 2: resolve references and write file by file (inside the caller's transaction)."""

    def __init__(self, parsed: dict[str, ParsedTable], problems: ProblemCollector, report: ImportReport,
                 progress: Progress | None, by, *, zone, journal=None) -> None:
        self.parsed = parsed
        self.problems = problems
        self.report = report
        self.progress = progress
        self.by = by
        self.zone = zone  # the workspace's time zone, for times shown in the report
        #: what an applied import wrote, for its undo (``bestby.importers.journal``); None in a dry run
        self.journal = journal
        self.changes = Changes(self)
        self.now = clock.now()
        self.refs: dict[str, dict[str, int]] = {}
        self.import_ids: dict[str, set[tuple]] = {}  # file -> the keys its rows in this import carry
        self.pipelines: dict[str, int] = {}
        self.stages: dict[tuple[int, str], tuple[int, str]] = {}  # (pipeline pk, name) -> (stage pk, kind)
        self.deal_pipeline: dict[int, int] = {}
        self.changed_deals: dict[int, tuple] = {}  # deal pk -> (old stage pk, old close date)

    # -- references -------------------------------------------------------
    def ref_map(self, file: str) -> dict[str, int]:
        if file not in self.refs:
            from django.apps import apps

            model = apps.get_model(REF_MODELS[file])
            self.refs[file] = dict(model._base_manager.values_list("external_id", "pk").order_by())
        return self.refs[file]

    def resolve(self, target: str, value: str | None, file: str, line: int, column: str):
        if value is None:
            return None
        pk = self.ref_map(target).get(value)
        if pk is None:
            if not self.unwritten(target, value):
                self.problems.add(file, line() if callable(line) else line, column,
                                  f"refers to {target} id {value!r}, which is neither in {target} nor stored")
            return _MISSING
        return pk

    def unwritten(self, target: str, *key) -> bool:
        """Whether ``key`` identifies a row of this import's ``target`` file left unwritten because of a problem.

        Rows are written only while no problem has been found, so after a
        problem the rows of this import that refer to such an id cannot be
        resolved. They are skipped without a problem of their own: one would
        wrongly say the id is missing and bury the real cause, which is
        already reported (the import fails anyway).
        """
        if not self.problems or target not in self.parsed:
            return False
        if target not in self.import_ids:
            table = self.parsed[target]
            idx = [table.index(k) for k in table.spec.key]
            self.import_ids[target] = {tuple(row[i] for i in idx) for row in table.rows}
        return key in self.import_ids[target]

    # -- the run ------------------------------------------------------------
    def run(self) -> None:
        self.load_pipelines()
        for name in FILE_ORDER:
            if name == "stages":
                self.write_stages()
            elif name in self.parsed:
                getattr(self, f"write_{name}", self.write_generic)(name)
        self.reconcile_history()
        without = self.deals_without_events()
        if without:
            self.report.notes.append(
                f"{without} deals have no stage events; analyses will take created_at as their entry into their current stage"
            )

    def resolve_column(self, target: str, values: list, table: ParsedTable, column: str, ok: bytearray) -> list:
        """Resolve a column of ids to primary keys; clear ``ok`` for rows whose id is missing."""
        get = self.ref_map(target).get
        resolved = [None if v is None else get(v, _MISSING) for v in values]
        if any(r is _MISSING for r in resolved):
            lines = table.lines
            for i, r in enumerate(resolved):
                if r is _MISSING:
                    ok[i] = 0
                    if not self.unwritten(target, values[i]):
                        self.problems.add(table.file, lines[i], column,
                                          f"refers to {target} id {values[i]!r}, which is neither in {target} nor stored")
        return resolved

    def build_row(self, fmap: FileMap, table: ParsedTable, i: int, values: list, custom: dict | None,
                  given: dict) -> list | None:
        """One row's values for the store (the row-by-row path of the files that need it).

        ``given`` holds values the caller resolved itself, by FORMAT.md column;
        other references are resolved, empty text becomes ''. None when a
        reference is missing (the problem is reported).
        """
        out, ok = [], True
        text = _not_null_fields(fmap)
        for col, value in zip(fmap.cols, values):
            if col.column in given:
                value = given[col.column]
            elif col.ref in REF_MODELS:
                value = self.resolve(col.ref, value, table.file, lambda: table.lines[i], col.column)
                ok = ok and value is not _MISSING
            elif value is None and col.field in text:
                value = ""
            out.append(value)
        if not ok:
            return None
        out.append(custom or {})
        return out

    def write_generic(self, name: str) -> None:
        """Resolve and write a file column by column (the path of the big files)."""
        fmap = MAPS[name]
        table = self.parsed[name]
        ok = bytearray(b"\x01") * table.nrows
        out_cols = []
        for col, values in zip(fmap.cols, table.columns):
            if col.ref and col.ref in REF_MODELS:
                values = self.resolve_column(col.ref, values, table, col.column, ok)
            elif col.field in _not_null_fields(fmap) and None in values:
                values = ["" if v is None else v for v in values]  # an empty text cell is stored as ''
            out_cols.append(values)
        out_cols.append([c or {} for c in table.customs])
        if name != "quotas" and self.load_columns(fmap, table, out_cols):
            return
        built = [(i, list(r)) for i, r in enumerate(zip(*out_cols)) if ok[i]]
        if name == "quotas":
            built = [(i, r) for i, r in built if self.check_quota(r, table.file, table.lines[i])]
        self.sync(fmap, table, built)

    def load_columns(self, fmap: FileMap, table: ParsedTable, columns: list[list]) -> bool:
        """The first load of an empty table: insert the columns as they are; return whether it applied.

        With nothing stored there is nothing to match, so the rows need not be
        built one by one. Events are still refused twice over: when two rows
        are the same event, the row-by-row path below reports them.
        """
        if self.problems or fmap.model._base_manager.exists():
            return False
        if fmap.key is None:
            if any(columns[-1]):
                return False  # custom fields make an event's identity; the careful path handles them
            keys = list(zip(*columns[:-1]))
            if len(set(keys)) != len(keys):
                return False
        counts = self.report.files.setdefault(fmap.file, FileCounts())
        total = len(columns[0])
        step = (lambda n: self.progress(table.file, n, total)) if self.progress else None
        counts.created += bulk.insert_columns(fmap.model, list(fmap.attnames), columns, on_batch=step,
                                              journal=self.journal)
        self.refs.pop(fmap.file, None)
        return True

    # -- generic match-and-write --------------------------------------------
    def sync(self, fmap: FileMap, table: ParsedTable, built: list[tuple[int, list]], *, insert_extra=None,
             self_ref: str | None = None) -> dict[int, tuple]:
        """Create, update or leave each built ``(row index, values)``; return {pk: old values} of updated rows.

        Updated rows are noted for the report (changed fields, warnings:
        ``bestby.importers.changes``) and, in an applied import, for its undo
        (``self.journal``).
        """
        model = fmap.model
        file = table.file
        attnames = list(fmap.attnames)
        counts = self.report.files.setdefault(fmap.file, FileCounts())
        if fmap.key is None:
            def key_of(vals):
                return (*vals[:-1], tuple(sorted(vals[-1].items())) if vals[-1] else ())
        else:
            idx = [attnames.index(k) for k in fmap.key]
            key_of = lambda vals: tuple(vals[i] for i in idx)  # noqa: E731
        existing = {}
        for pk, *vals in bulk.existing_rows(model, attnames):
            existing[key_of(vals)] = (pk, vals)
        creates, updates, old = [], [], {}
        changed_rows = []  # (row index, pk, stored values, incoming values) for the report
        pending_self = []
        sidx = attnames.index(self_ref) if self_ref else None
        if not existing and sidx is None:
            # the first load of a table: only duplicates within the import can stop a row, and
            # parse_table already refused duplicate keys of keyed files (resolving ids keeps them distinct)
            keys = [] if fmap.key is not None else [key_of(vals) for _, vals in built]
            if len(set(keys)) == len(keys):
                creates = [vals for _, vals in built]
                built = []
        seen: dict[tuple, int] = {}
        for i, vals in built:
            # a self-reference to a row this import creates: written after the
            # insert (below); a stored row getting one is changed, whatever its other values
            pending = sidx is not None and isinstance(vals[sidx], _Pending)
            if pending:
                pending_value = vals[sidx]
                pending_self.append((key_of(vals), vals[sidx], i))
                vals[sidx] = None if key_of(vals) not in existing else existing[key_of(vals)][1][sidx]
            key = key_of(vals)
            first = seen.setdefault(key, i)
            if first != i:
                self.problems.add(file, table.lines[i], None, f"the same row as line {table.lines[first]}")
                continue
            hit = existing.get(key)
            if hit is None:
                creates.append(vals)
            elif list(hit[1]) == list(vals) and not pending:
                counts.unchanged += 1
            else:
                updates.append((hit[0], vals))
                old[hit[0]] = tuple(hit[1])
                changed_rows.append((i, hit[0], hit[1], [*vals[:sidx], pending_value, *vals[sidx + 1:]]
                                     if pending else vals))
        if self.problems:
            return old  # nothing more to learn by writing; the transaction will roll back
        self.changes.note(fmap, table, changed_rows)
        total = len(creates) + len(updates) + counts.unchanged
        if self.progress:
            self.progress(file, counts.unchanged, total)
        if creates:
            extra_names = list(insert_extra(None)) if insert_extra else []
            rows = [vals + list(insert_extra(vals).values()) for vals in creates] if insert_extra else creates
            step = (lambda n: self.progress(file, n, total)) if self.progress else None
            counts.created += bulk.insert_rows(model, attnames + extra_names, rows, on_batch=step, journal=self.journal)
        counts.updated += bulk.update_rows(model, attnames, updates)
        if self.journal is not None:
            for pk, vals in updates:
                self.journal.updated(model, pk, attnames, old[pk], vals)
        if self.progress and updates:
            self.progress(file, len(updates), total)
        if fmap.file in REF_MODELS:
            self.refs.pop(fmap.file, None)
        if pending_self:
            pks = {key_of(vals): pk for pk, *vals in bulk.existing_rows(model, attnames)}
            target_map = self.ref_map(fmap.file)
            fixes = []
            for key, pending, i in pending_self:
                target = target_map.get(pending.value)
                if target is None:
                    self.problems.add(file, table.lines[i], pending.column, f"refers to {fmap.file} id {pending.value!r}, which is neither in {fmap.file} nor stored")
                else:
                    fixes.append((pks[key], [target]))
                    if self.journal is not None and key in existing:  # a stored row gets a new parent
                        self.journal.updated(model, pks[key], [self_ref], [existing[key][1][sidx]], [target])
            bulk.update_rows(model, [self_ref], fixes)
        return old

    # -- users ----------------------------------------------------------------
    def write_users(self, name: str) -> None:
        self._write_self_referencing(name, "manager_id", "manager_id", {
            "username": lambda vals: vals[0],
            "password": lambda vals: make_password(None),
            "date_joined": lambda vals: self.now,
            "is_staff": lambda vals: vals[3] == "admin",
        })

    def write_leads(self, name: str) -> None:
        """Leads, with one rule: a lead marked ``in_cadence`` with no running cadence here is stored as ``new``.

        A cadence lives in bestby as an enrolment and its tasks, which FORMAT.md
        cannot carry; a lead ``in_cadence`` without one would show as worked
        while nobody is asked to touch it. So such a lead is kept live as
        ``new`` and the report says how many, with their ids, to enrol. A lead
        already in a running cadence here stays ``in_cadence`` (a re-import of
        bestby's own export changes nothing).
        """
        from bestby.cadences.models import Enrollment, EnrollmentStatus

        table = self.parsed[name]
        at = table.index("status")
        statuses = table.columns[at]
        if "in_cadence" not in statuses:
            return self.write_generic(name)
        running = set(Enrollment.objects.filter(status=EnrollmentStatus.ACTIVE, lead__isnull=False)
                      .values_list("lead__external_id", flat=True))
        ids = table.column("lead_id")
        kept = [lead for lead, status in zip(ids, statuses) if status == "in_cadence" and lead not in running]
        if kept:
            moved = set(kept)
            table.columns[at] = ["new" if s == "in_cadence" and lead in moved else s for lead, s in zip(ids, statuses)]
            shown = ", ".join(kept[:5]) + (f" and {len(kept) - 5} more" if len(kept) > 5 else "")
            self.report.notes.append(
                f"{len(kept)} lead{'s' if len(kept) > 1 else ''} marked in_cadence {'have' if len(kept) > 1 else 'has'} "
                f"no cadence here ({shown}): kept as new; enrol them (`bestby cadence enrol`, or the Cadences page)")
        return self.write_generic(name)

    def write_accounts(self, name: str) -> None:
        self._write_self_referencing(name, "parent_id", "parent_account_id", None)

    def _write_self_referencing(self, name: str, attname: str, column: str, extra: dict | None) -> None:
        fmap = MAPS[name]
        table = self.parsed[name]
        own_ids = {values[0] for values in table.rows}
        stored = self.ref_map(name)
        self_col = next(j for j, col in enumerate(fmap.cols) if col.attname == attname)
        built = []
        for i, (values, custom) in enumerate(zip(table.rows, table.customs)):
            value = values[self_col]
            if value is None or value in stored:
                value = stored.get(value)
            elif value in own_ids:
                value = _Pending(value, column)
            else:
                self.problems.add(table.file, table.lines[i], column, f"refers to {name} id {value!r}, which is neither in {name} nor stored")
                continue
            out = self.build_row(fmap, table, i, values, custom, {column: value})
            if out is not None:
                built.append((i, out))
        insert_extra = None
        if extra:
            def insert_extra(vals, _extra=extra):
                return {k: f(vals) for k, f in _extra.items()} if vals is not None else dict.fromkeys(_extra)
        self.sync(fmap, table, built, insert_extra=insert_extra, self_ref=attname)

    # -- pipelines and stages ---------------------------------------------------
    def load_pipelines(self) -> None:
        from bestby.pipeline.models import Pipeline, Stage

        self.pipelines = dict(Pipeline.objects.values_list("name", "pk"))
        self.stages = {(p, n): (pk, k) for pk, p, n, k in Stage.objects.values_list("pk", "pipeline_id", "name", "kind")}

    def pipeline_pk(self, name: str, *, create: bool) -> int | None:
        from bestby.pipeline.models import Pipeline

        if name not in self.pipelines and create:
            self.pipelines[name] = Pipeline.objects.create(name=name).pk
            if self.journal is not None:
                self.journal.created(Pipeline, [self.pipelines[name]])
            self.report.notes.append(f"pipeline {name!r} created")
        return self.pipelines.get(name)

    def write_stages(self) -> None:

        if "stages" in self.parsed:
            table = self.parsed["stages"]
            built = []
            for i, (values, custom) in enumerate(zip(table.rows, table.customs)):
                pipeline, stage, position, kind, probability = values
                if None in (pipeline, stage, position):
                    continue
                # a probability outside 0..1 was refused with the file's other bounds (tables.store_bounds)
                built.append((i, [self.pipeline_pk(pipeline, create=True), stage, position, kind or "open", probability, custom or {}]))
            self.sync(MAPS["stages"], table, built)
        else:
            self.derive_missing_stages()
        self.load_pipelines()

    def derive_missing_stages(self) -> None:
        """No stages file: add the stages seen in deals and stage_events that the store lacks."""
        from bestby.pipeline.models import Stage

        deals = self.parsed.get("deals")
        events = self.parsed.get("stage_events")
        if deals is None:
            return
        di = {c: deals.index(c) for c in ("deal_id", "pipeline", "stage", "status")}
        pipeline_of = {row[di["deal_id"]]: row[di["pipeline"]] or DEFAULT_PIPELINE for row in deals.rows}
        seen: dict[str, list[str]] = defaultdict(list)
        statuses: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
        if events is not None:
            ei = {c: events.index(c) for c in ("deal_id", "to_stage", "from_stage")}
            stored_pipeline = None
            for row in events.rows:
                p = pipeline_of.get(row[ei["deal_id"]])
                if p is None:
                    if stored_pipeline is None:
                        from bestby.pipeline.models import Deal

                        stored_pipeline = dict(Deal.objects.values_list("external_id", "pipeline__name"))
                    p = stored_pipeline.get(row[ei["deal_id"]])
                if p is None:
                    continue  # the missing deal is reported when the events are written
                for col in ("from_stage", "to_stage"):
                    if row[ei[col]]:
                        seen[p].append(row[ei[col]])
        for row in deals.rows:
            p = row[di["pipeline"]] or DEFAULT_PIPELINE
            if row[di["stage"]]:
                seen[p].append(row[di["stage"]])
                if row[di["status"]]:
                    statuses[p][row[di["stage"]]].add(row[di["status"]])
        for pipeline, names in seen.items():
            ppk = self.pipeline_pk(pipeline, create=True)
            known = {n for (p, n) in self.stages if p == ppk}
            derived = derive_stages(names, statuses[pipeline])
            start = max((s.position for s in Stage.objects.filter(pipeline_id=ppk)), default=0)
            new = [s for s in derived if s.name not in known]
            if new:
                bulk.insert_rows(Stage, ["pipeline_id", "name", "position", "kind", "custom"],
                                 [(ppk, s.name, start + i + 1, s.kind, {}) for i, s in enumerate(new)],
                                 journal=self.journal)
                self.report.notes.append(
                    f"no stages file: pipeline {pipeline!r} got the stages seen in the data: "
                    + ", ".join(f"{s.name} ({s.kind})" for s in new)
                )

    def stage_pk(self, pipeline_pk: int, name: str, file: str, line: int, column: str):
        hit = self.stages.get((pipeline_pk, name))
        if hit is None:
            names = [n for (p, n) in self.stages if p == pipeline_pk]
            pname = next((k for k, v in self.pipelines.items() if v == pipeline_pk), "?")
            if self.unwritten("stages", pname, name):
                return None  # in stages.csv but not written: an earlier problem (reported) stopped the writes
            self.problems.add(file, line() if callable(line) else line, column, f"stage {name!r} is not a stage of pipeline {pname!r} (its stages: {', '.join(names)})")
            return None
        return hit

    # -- deals -------------------------------------------------------------------
    def write_deals(self, name: str) -> None:
        table = self.parsed[name]
        fmap = MAPS[name]
        idx = {c: table.index(c) for c in table.spec.column_names}
        last_stage = self.last_event_stage() if None in table.column("stage") else {}
        built = []
        for i, (values, custom) in enumerate(zip(table.rows, table.customs)):
            ok = True
            pname = values[idx["pipeline"]] or DEFAULT_PIPELINE
            ppk = self.pipelines.get(pname)
            if ppk is None:
                self.problems.add(table.file, table.lines[i], "pipeline", f"pipeline {pname!r} is not in stages and not stored")
                continue
            stage_name = values[idx["stage"]] or last_stage.get(values[idx["deal_id"]])
            if stage_name is None:
                self.problems.add(table.file, table.lines[i], "stage", "is empty and no stage event says where the deal is")
                continue
            hit = self.stage_pk(ppk, stage_name, table.file, lambda: table.lines[i], "stage")
            if hit is None:
                continue
            stage_pk, kind = hit
            status = values[idx["status"]] or kind
            if status != kind:
                self.problems.add(table.file, table.lines[i], "status", f"is {status!r} but stage {stage_name!r} is a {kind} stage")
                ok = False
            closed_at = values[idx["closed_at"]]
            if status == "open" and closed_at is not None:
                self.problems.add(table.file, table.lines[i], "closed_at", "is set but the deal is open; clear it or set status won/lost")
                ok = False
            if status != "open" and closed_at is None:
                self.problems.add(table.file, table.lines[i], "closed_at", f"is required when the deal is {status}")
                ok = False
            if closed_at is not None and values[idx["created_at"]] is not None and closed_at < values[idx["created_at"]]:
                self.problems.add(table.file, table.lines[i], "closed_at", "is before created_at")
                ok = False
            out = self.build_row(fmap, table, i, values, custom, {"pipeline": ppk, "stage": stage_pk, "status": status})
            if ok and out is not None:
                built.append((i, out))
        attnames = list(fmap.attnames)
        old = self.sync(fmap, table, built)
        si, ci = attnames.index("stage_id"), attnames.index("close_date")
        new_by_pk = {}
        if old:
            deal_ids = self.ref_map("deals")
            for _, vals in built:
                pk = deal_ids.get(vals[0])
                if pk in old:
                    new_by_pk[pk] = vals
        for pk, before in old.items():
            after = new_by_pk.get(pk)
            if after and (before[si] != after[si] or before[ci] != after[ci]):
                self.changed_deals[pk] = (before[si], before[ci], after[si], after[ci])

    def last_event_stage(self) -> dict[str, str]:
        events = self.parsed.get("stage_events")
        if events is None:
            return {}
        last: dict[str, tuple] = {}
        for deal, at, to_stage in zip(events.column("deal_id"), events.column("at"), events.column("to_stage")):
            if deal and at and (deal not in last or at >= last[deal][0]):
                last[deal] = (at, to_stage)
        return {k: v[1] for k, v in last.items()}

    def deal_pipelines(self) -> dict[int, int]:
        if not self.deal_pipeline:
            from bestby.pipeline.models import Deal

            self.deal_pipeline = dict(Deal.objects.values_list("pk", "pipeline_id"))
        return self.deal_pipeline

    def write_stage_events(self, name: str) -> None:
        """Resolve deals and stage names column by column, then write (a big file)."""
        table = self.parsed[name]
        ok = bytearray(b"\x01") * table.nrows
        deals = self.resolve_column("deals", table.column("deal_id"), table, "deal_id", ok)
        pipelines = self.deal_pipelines()
        stages = self.stages
        to_pks, from_pks = [], []
        for i, (deal_pk, to_stage, from_stage) in enumerate(zip(deals, table.column("to_stage"), table.column("from_stage"))):
            if not ok[i]:
                to_pks.append(None)
                from_pks.append(None)
                continue
            ppk = pipelines[deal_pk]
            to_hit = stages.get((ppk, to_stage)) or self.stage_pk(ppk, to_stage, table.file, table.lines[i], "to_stage")
            from_hit = (stages.get((ppk, from_stage)) or self.stage_pk(ppk, from_stage, table.file, table.lines[i], "from_stage")) if from_stage else (None, None)
            if to_hit is None or from_hit is None:
                ok[i] = 0
            to_pks.append(to_hit[0] if to_hit else None)
            from_pks.append(from_hit[0] if from_hit else None)
        customs = [c or {} for c in table.customs]
        if self.load_columns(MAPS[name], table, [deals, table.column("at"), to_pks, from_pks, customs]):
            return
        built = [
            (i, [d, at, t, f, c])
            for i, (d, at, t, f, c) in enumerate(zip(deals, table.column("at"), to_pks, from_pks, customs))
            if ok[i]
        ]
        self.sync(MAPS[name], table, built)

    def write_close_date_events(self, name: str) -> None:
        self.write_generic(name)

    def check_quota(self, out: list, file: str, line: int) -> bool:
        owner, start, end = out[0], out[1], out[2]
        ok = True
        if owner.startswith("team:"):
            if not owner[5:].strip():
                self.problems.add(file, line, "owner_id", "team:NAME needs a team name")
                ok = False
        elif owner not in self.ref_map("users"):
            if not self.unwritten("users", owner):
                self.problems.add(file, line, "owner_id", f"refers to users id {owner!r}, which is neither in users nor stored (use team:NAME for a team goal)")
            ok = False
        if start and end and end < start:
            self.problems.add(file, line, "period_end", "is before period_start")
            ok = False
        return ok

    # -- automatic history ------------------------------------------------------
    def reconcile_history(self) -> None:
        """Append the events an update implies and the import did not bring (see module doc)."""
        if not self.changed_deals or self.problems:
            return
        from bestby.pipeline.models import CloseDateEvent, StageEvent

        pks = list(self.changed_deals)
        last_stage, last_close = {}, {}
        for deal_id, to_stage in StageEvent.objects.filter(deal_id__in=pks).order_by("at", "id").values_list("deal_id", "to_stage_id"):
            last_stage[deal_id] = to_stage
        for deal_id, new in CloseDateEvent.objects.filter(deal_id__in=pks).order_by("at", "id").values_list("deal_id", "new_close_date"):
            last_close[deal_id] = new
        stage_rows, close_rows = [], []
        marker = {"recorded_by": "import"}
        for pk, (old_stage, old_close, new_stage, new_close) in self.changed_deals.items():
            if old_stage != new_stage and last_stage.get(pk) != new_stage:
                stage_rows.append((pk, self.now, new_stage, old_stage, self.by.pk if self.by else None, marker))
            if old_close != new_close and new_close is not None and last_close.get(pk) != new_close:
                close_rows.append((pk, self.now, new_close, old_close, self.by.pk if self.by else None, marker))
        if stage_rows:
            bulk.insert_rows(StageEvent, ["deal_id", "at", "to_stage_id", "from_stage_id", "by_id", "custom"], stage_rows,
                             journal=self.journal)
            self.report.notes.append(f"{len(stage_rows)} stage changes had no event in the import; recorded them as of now")
        if close_rows:
            bulk.insert_rows(CloseDateEvent, ["deal_id", "at", "new_close_date", "old_close_date", "by_id", "custom"],
                             close_rows, journal=self.journal)
            self.report.notes.append(f"{len(close_rows)} close-date changes had no event in the import; recorded them as of now")

    def deals_without_events(self) -> int:
        if "deals" not in self.parsed or self.problems:
            return 0
        from bestby.pipeline.models import Deal

        return Deal.objects.filter(stage_events__isnull=True).count()


@dataclass
class _Pending:
    """A self-reference to a row created by this same import, resolved after insert."""

    value: str
    column: str
