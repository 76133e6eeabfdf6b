"""Send what a CRM mapper built through the canonical import, and point problems back at the source.

``import_mapped`` is the one place every CRM importer ends in:

* **Users are matched by email.** A source user whose email (case folded)
  belongs to a stored user becomes that user: the stored ``user_id`` replaces
  the source's everywhere in this import (owners, managers, quotas). A stored
  user keeps their stored role: a CRM knows who sells, not who may administer
  bestby, so an import never promotes or demotes anyone.
* **One validated path.** The tables go through ``canonical.import_tables``:
  parsed against FORMAT.md, references resolved, written in one transaction,
  matched on ids (so a newer export updates what changed) and events on their
  full content (so only new events are added); any problem rolls everything
  back. ``dry_run`` rolls back after counting.
* **Problems name the source.** A problem reported on row L of a FORMAT.md
  table is translated to the source file, line and column that row came from.
"""

from __future__ import annotations

import gc

from bestby.importers.canonical import import_tables
from bestby.importers.crm.findings import Findings
from bestby.importers.crm.out import Out
from bestby.importers.problems import ImportFailed, Problem, ProblemCollector
from bestby.importers.report import ImportReport, Progress

#: FORMAT.md columns that hold a user id
USER_COLUMNS = (("users", "user_id"), ("users", "manager_id"), ("deals", "owner_id"), ("leads", "owner_id"),
                ("touches", "owner_id"), ("quotas", "owner_id"))


def match_users(out: Out, findings: Findings) -> None:
    """Rename source users to the stored users with the same email; keep stored roles (see module doc)."""
    from bestby.people.models import User

    users = out.tables.get("users")
    if users is None or not len(users):
        return
    stored = {}
    stored_roles = {}
    for email, external_id, role in User.objects.values_list("email", "external_id", "role"):
        if email:
            stored.setdefault(email.strip().casefold(), external_id)
        stored_roles[external_id] = role
    rename: dict[str, str] = {}
    ids, emails = users.column("user_id"), users.column("email")
    for i, (uid, email) in enumerate(zip(ids, emails)):
        hit = stored.get((email or "").strip().casefold())
        if hit is not None and hit != uid:
            rename[uid] = hit
            findings.keep("users_matched_by_email", "users matched to stored users by email (the stored id is kept)",
                          users.files[i], users.lines[i], f"{uid} is {hit} ({email})")
    if rename:
        for name, column in USER_COLUMNS:
            table = out.tables.get(name)
            if table is not None and len(table) and column in table.columns:
                table.set_column(column, [rename.get(v, v) for v in table.column(column)])
    roles = [stored_roles.get(uid, role) for uid, role in zip(users.column("user_id"), users.column("role"))]
    users.set_column("role", roles)


def import_mapped(out: Out, findings: Findings, *, source: str, label: str, dry_run: bool = False, by=None,
                  progress: Progress | None = None) -> ImportReport:
    """Import the mapped tables; raise ImportFailed (nothing written) with problems placed in the source."""
    match_users(out, findings)
    report = ImportReport(dry_run=dry_run, unmapped=findings.as_list())
    problems = ProblemCollector()
    raws = {name: table.to_raw() for name, table in out.tables.items() if len(table)}
    gc_was_enabled = gc.isenabled()
    gc.disable()  # as in import_canonical: millions of small objects, no cycles
    try:
        return import_tables(raws, problems, report, label=label, object_id=source, dry_run=dry_run, by=by,
                             progress=progress)
    except ImportFailed as exc:
        raise ImportFailed([_place(out, p) for p in exc.problems], exc.truncated) from None
    finally:
        if gc_was_enabled:
            gc.enable()


def _place(out: Out, problem: Problem) -> Problem:
    table = out.tables.get(problem.file)
    if table is None:
        return problem
    file, line, column = table.origin(problem.line, problem.column)
    return Problem(file, line, column, f"{problem.message} (FORMAT.md {problem.file}.{problem.column or ''})".replace(".)", ")"))
