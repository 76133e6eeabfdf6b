"""Undo an applied import as one batch, or refuse and change nothing.

The batch's journal (``bestby.importers.journal``: the key ranges of the rows
it created, the old and new values of the fields it updated) is taken back in
one transaction:

1. **Claim the batch**: its row is locked (``SELECT ... FOR UPDATE``; SQLite
   write transactions are serial anyway) and ``undone_at`` is set at the end
   by a conditional update, so a batch already undone, or being undone by
   another session at this moment, is refused.
2. **Restore what it updated.** Each field the import changed must still hold
   the value the import gave it; then its old value is written back. A field
   changed again since (a person, the API, a later import) refuses the undo,
   naming the record and the field: writing the old value over newer work
   would lose that work, and restoring only the rest would leave the record
   half undone. A record deleted since refuses it too.
3. **Check what depends on what it created.** A created row is removed only
   if nothing else refers to it now: every foreign key of every table,
   Django's own included (a user's groups), is searched for rows outside this
   batch that point into it (a touch logged on an imported deal, a clearance
   action, an enrolment, an audit entry by an imported user, a stage added to
   an imported pipeline...). Later work that leaves no foreign key is looked
   for too: a created deal edited since (its ``version`` moved), a created
   user given a password or who signed in, an audit entry after the import
   naming a created record, an import applied later that updated a created
   row, and a clearance action since on a deal whose history this import
   appended to. Any of these refuses the undo, naming what depends on what.
   Derived data is not work: the freshness cache of a created deal goes with
   the deal.
4. **Remove what it created**: rows and the events it appended (history that
   only this import wrote).
5. **Audit**: one ``import.undo`` entry pointing at the import's own entry.

A refusal raises ``UndoRefused`` listing the reasons (the first
``REASONS_SHOWN``, and how many more) and rolls everything back, the claim
included. What is not seen: an edit of a created row that leaves no trace
(the Django admin's change form writes no audit entry and bumps no version).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import reduce
from operator import or_
from typing import Any

from django.apps import apps
from django.db import IntegrityError, models, transaction
from django.db.models import Q

from bestby.importers import bulk
from bestby.importers.journal import field_of, from_json
from bestby.importers.mapping import MAPS

#: reasons listed in a refusal; the rest are counted
REASONS_SHOWN = 20
#: examples named per kind of dependent row
DEPENDENTS_SHOWN = 3
#: derived tables: rows that refer to a created row are removed with it, not a reason to refuse
DERIVED = ("clearance.freshness",)


class UndoRefused(ValueError):
    """The batch cannot be undone; nothing was changed. ``param`` names the input at fault, ``reasons`` say why."""

    def __init__(self, param: str, message: str, reasons: list[str] | None = None, more: int = 0) -> None:
        self.param, self.message, self.reasons, self.more = param, message, reasons or [], more
        super().__init__(f"{param}: {message}")


@dataclass
class UndoResult:
    batch: int
    restored: dict[str, int] = field(default_factory=dict)  # FORMAT.md file (or table) -> rows given back their old values
    removed: dict[str, int] = field(default_factory=dict)  # FORMAT.md file (or table) -> rows removed

    def as_dict(self) -> dict:
        return {"batch": self.batch, "restored": self.restored, "removed": self.removed}


class _Reasons:
    def __init__(self) -> None:
        self.shown: list[str] = []
        self.more = 0

    def add(self, text) -> None:
        """Add a reason: a text, or a function that makes it (called only while reasons are still shown)."""
        if len(self.shown) < REASONS_SHOWN:
            self.shown.append(text() if callable(text) else text)
        else:
            self.more += 1

    def __bool__(self) -> bool:
        return bool(self.shown)


def undo_batch(*, batch_id: int, by, reason: str = "") -> UndoResult:
    """Undo import batch ``batch_id`` as one transaction (module doc); raise UndoRefused, changing nothing.

    Another session may commit a row that refers to a created row after the
    checks of step 3 and before this commit (PostgreSQL checks foreign keys
    at commit): the commit then fails, nothing is changed, and that is
    reported as a refusal to try again, not as an error.
    """
    try:
        return _undo(batch_id, by, reason)
    except IntegrityError as exc:
        raise UndoRefused("batch", f"import batch {batch_id}: the store changed while it was being undone "
                                   f"({str(exc).strip().splitlines()[0]}); nothing was changed, try again") from None


def _undo(batch_id: int, by, reason: str) -> UndoResult:
    from bestby.audit.models import AuditEntry, ImportBatch
    from bestby.audit.services import record

    with transaction.atomic():
        batch = ImportBatch.objects.select_for_update().filter(pk=batch_id).first()
        if batch is None:
            raise UndoRefused("batch", f"there is no import batch {batch_id}")
        if batch.undone_at is not None:
            _already_undone(batch)
        created, updated = _journal(batch)
        reasons = _Reasons()
        result = UndoResult(batch=batch.pk)
        _restore(batch, updated, reasons, result)
        if not reasons:
            _check_dependents(batch, created, reasons)
        if reasons:
            raise UndoRefused("batch", f"import batch {batch.pk} cannot be undone; nothing was changed",
                              reasons.shown, reasons.more)
        _remove(created, result)
        entry = AuditEntry.objects.filter(action="import", object_type="import", object_id=str(batch.pk)).first()
        undo = record(by=by, action="import.undo", obj=batch, object_type="import", before=None,
                      after=result.as_dict(), reason=reason or f"undo of import batch {batch.pk} ({batch.label})",
                      undoes=entry)
        if not ImportBatch.objects.filter(pk=batch.pk, undone_at__isnull=True).update(undone_at=undo.at, undone_by=by):
            _already_undone(ImportBatch.objects.get(pk=batch.pk))  # by another session meanwhile: roll back
    return result


def _already_undone(batch) -> None:
    who = f" by {batch.undone_by}" if batch.undone_by_id else ""
    raise UndoRefused("batch", f"import batch {batch.pk} was already undone ({batch.undone_at:%Y-%m-%d %H:%M} UTC{who});"
                               " an import is undone once")


def _journal(batch) -> tuple[dict[str, list[list[int]]], list[tuple[str, dict]]]:
    created: dict[str, list[list[int]]] = {}
    updated: list[tuple[str, dict]] = []
    for label, kind, data in batch.rows.order_by("id").values_list("model", "kind", "data"):
        if kind == "created":
            created.setdefault(label, []).extend(data)
        else:
            updated.append((label, data))
    return created, updated


# -- naming things for people -------------------------------------------------------------

_FILES = {m.model_label.lower(): m for m in MAPS.values()}


def _file(label: str) -> str:
    """The FORMAT.md file of a model (``deals``), else its table's plural name."""
    fmap = _FILES.get(label)
    return fmap.file if fmap else str(apps.get_model(label)._meta.verbose_name_plural)


def _column(label: str, attname: str) -> str:
    """A field's FORMAT.md column (``account_id``), else its name."""
    fmap = _FILES.get(label)
    if fmap:
        for c in fmap.cols:
            if c.attname == attname:
                return c.column
    return attname


def _names(model: type[models.Model], pks) -> dict[int, str]:
    """How people know these rows: by id (``deal d9``), else by name (``stage 'Proposal'``), else ``stage event #12``."""
    noun = model._meta.verbose_name
    pks = list(pks)
    fields = {f.name for f in model._meta.concrete_fields}
    for key, shown in (("external_id", str), ("name", repr)):
        if key in fields:
            found = dict(model._base_manager.filter(pk__in=pks).values_list("pk", key))
            return {pk: f"{noun} {shown(found[pk]) if pk in found else f'#{pk}'}" for pk in pks}
    return {pk: f"{noun} #{pk}" for pk in pks}


def _shown(fld: models.Field, value: Any) -> str:
    if value is None:
        return "(empty)"
    if fld.is_relation:
        return _names(fld.related_model, [value])[value]
    return repr(str(value)) if not isinstance(value, str) else repr(value)


def _in_ranges(attname: str, ranges: list[list[int]]) -> Q:
    # gte and lte rather than range: Django has no range lookup on a foreign key
    return reduce(or_, (Q(**{f"{attname}__gte": lo, f"{attname}__lte": hi}) for lo, hi in ranges))


# -- the steps ------------------------------------------------------------------------------

def _later_updates(batch, label: str) -> dict[tuple[int, str], int]:
    """(pk, attname) -> the id of the last later import, not undone, that updated that field of a ``label`` row."""
    from bestby.audit.models import ImportBatchRows

    out: dict[tuple[int, str], int] = {}
    for later_id, data in (ImportBatchRows.objects.filter(batch__pk__gt=batch.pk, batch__undone_at__isnull=True,
                                                          kind="updated", model=label)
                           .order_by("id").values_list("batch_id", "data")):
        for key, changes in data.items():
            for attname in changes:
                out[(int(key), attname)] = later_id
    return out


def _restore(batch, updated: list[tuple[str, dict]], reasons: _Reasons, result: UndoResult) -> None:
    """Step 2: check each changed field still holds the import's value, then write the old one back.

    A field a later import changed is named with that import: undo it first.
    """
    later: dict[str, dict] = {}
    for label, records in updated:
        model = apps.get_model(label)
        attnames = sorted({a for changes in records.values() for a in changes})
        fields = {a: field_of(model, a) for a in attnames}
        pks = [int(k) for k in records]
        current = {pk: dict(zip(attnames, vals))
                   for pk, *vals in model._base_manager.filter(pk__in=pks).values_list("pk", *attnames).order_by()}
        groups: dict[tuple[str, ...], list] = defaultdict(list)
        for key, changes in records.items():
            pk = int(key)
            now = current.get(pk)
            if now is None:
                reasons.add(lambda: f"{_names(model, [pk])[pk]} ({_file(label)}), updated by this import, was deleted "
                                    "since")
                continue
            for attname, (_old, new) in changes.items():
                new = from_json(fields[attname], new)
                if now[attname] != new:
                    def conflict() -> str:
                        if label not in later:
                            later[label] = _later_updates(batch, label)
                        by_batch = later[label].get((pk, attname))
                        hint = f"; import batch {by_batch} set it since: undo that batch first" if by_batch else ""
                        return (f"{_names(model, [pk])[pk]}: {_column(label, attname)} was changed since the import "
                                f"(the import set {_shown(fields[attname], new)}, it is now "
                                f"{_shown(fields[attname], now[attname])}){hint}")
                    reasons.add(conflict)
            names = tuple(sorted(changes))
            groups[names].append((pk, [from_json(fields[a], changes[a][0]) for a in names]))
        if reasons:
            continue  # keep looking for conflicts; nothing is written
        for names, rows in groups.items():
            n = bulk.update_rows(model, list(names), rows)
            result.restored[_file(label)] = result.restored.get(_file(label), 0) + n


def _referring_fields(model: type[models.Model]):
    """Every concrete foreign key (or one-to-one) of every table that points at ``model``."""
    for other in apps.get_models(include_auto_created=True):
        for f in other._meta.concrete_fields:
            if f.is_relation and (f.many_to_one or f.one_to_one) and f.related_model is model:
                yield other, f


def _check_dependents(batch, created: dict[str, list[list[int]]], reasons: _Reasons) -> None:
    """Step 3: later work that refers to, or changed, a row this batch created (module doc)."""
    from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX

    from bestby.audit.models import AuditEntry, ImportBatch, ImportBatchRows
    from bestby.clearance.models import ClearanceAction

    for label, ranges in created.items():
        model = apps.get_model(label)
        for other, fk in _referring_fields(model):
            if other._meta.label_lower in DERIVED:
                continue
            rows = other._base_manager.filter(_in_ranges(fk.attname, ranges))
            own = created.get(other._meta.label_lower)
            if own:
                rows = rows.exclude(_in_ranges("pk", own))
            found = list(rows.order_by("pk").values_list("pk", fk.attname)[:DEPENDENTS_SHOWN])
            if not found:
                continue
            total = rows.count()
            theirs = _names(other, [pk for pk, _ in found])
            targets = _names(model, [t for _, t in found])
            examples = "; ".join(f"{theirs[pk]} refers to {targets[t]}" for pk, t in found)
            more = f" (and {total - len(found)} more)" if total > len(found) else ""
            reasons.add(f"{_file(label)} created by this import are used since: {examples}{more}")
        if label == "pipeline.deal":
            for pk, version in model._base_manager.filter(_in_ranges("pk", ranges), version__gt=1).values_list(
                    "pk", "version")[:DEPENDENTS_SHOWN]:
                reasons.add(f"{_names(model, [pk])[pk]}, created by this import, was edited since (version {version})")
        if label == "people.user":
            since = model._base_manager.filter(_in_ranges("pk", ranges)).filter(
                Q(last_login__isnull=False) | ~Q(password__startswith=UNUSABLE_PASSWORD_PREFIX))
            for pk in since.values_list("pk", flat=True)[:DEPENDENTS_SHOWN]:
                reasons.add(f"{_names(model, [pk])[pk]}, created by this import, has been given a sign-in since")
    # audit entries since the import about a created record (an edit through a service)
    audited = defaultdict(list)
    for object_type, object_id, action in (AuditEntry.objects.filter(at__gte=batch.at, object_type__in=list(created))
                                           .exclude(action__startswith="import")
                                           .values_list("object_type", "object_id", "action")):
        audited[object_type].append((object_id, action))
    for label, entries in audited.items():
        model = apps.get_model(label)
        key = "external_id" if any(f.name == "external_id" for f in model._meta.concrete_fields) else "pk"
        ids = {str(v) for v in model._base_manager.filter(_in_ranges("pk", created[label])).values_list(key, flat=True)}
        for object_id, action in entries:
            if object_id in ids:
                reasons.add(f"{model._meta.verbose_name} {object_id}, created by this import, was changed since ({action})")
    # later imports that updated a created row
    later = ImportBatch.objects.filter(pk__gt=batch.pk, undone_at__isnull=True)
    for later_id, label, data in (ImportBatchRows.objects.filter(batch__in=later, kind="updated", model__in=list(created))
                                  .order_by("id").values_list("batch_id", "model", "data")):
        ranges = created[label]
        hits = [int(k) for k in data if any(lo <= int(k) <= hi for lo, hi in ranges)]
        if hits:
            names = _names(apps.get_model(label), hits[:DEPENDENTS_SHOWN])
            reasons.add(f"import batch {later_id} updated {', '.join(names.values())} since, which this import created: "
                        f"undo batch {later_id} first")
    # clearance decisions since on deals whose history this import appended to
    event_deals: set[int] = set()
    for label in ("pipeline.stageevent", "pipeline.closedateevent"):
        if label in created:
            event_deals |= set(apps.get_model(label)._base_manager.filter(_in_ranges("pk", created[label]))
                               .values_list("deal_id", flat=True).distinct())
    if event_deals:
        for action_pk, deal_pk in ClearanceAction.objects.filter(at__gte=batch.at).values_list("pk", "deal_id"):
            if deal_pk in event_deals:
                deal = _names(apps.get_model("pipeline.deal"), [deal_pk])[deal_pk]
                reasons.add(f"clearance action #{action_pk} on {deal} was taken since, on the history this import "
                            "appended to")


def _remove(created: dict[str, list[list[int]]], result: UndoResult) -> None:
    """Step 4: remove derived rows of created deals, then every created row, last created first."""
    if "pipeline.deal" in created:
        apps.get_model("clearance.freshness")._base_manager.filter(
            _in_ranges("deal_id", created["pipeline.deal"])).delete()
    for label in reversed(list(created)):
        n = bulk.delete_ranges(apps.get_model(label), created[label])
        result.removed[_file(label)] = result.removed.get(_file(label), 0) + n
