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
* **A clear is not undone by a stale export.** A deal cleared in bestby (and
  not undone) that the export still shows open in the stage it had before the
  clear keeps its cleared state (finding ``cleared_kept``): the CRM has not
  been told yet (``bestby export decisions``), and re-importing the same
  export must not silently revert an audited decision. When the CRM shows the
  deal anywhere else (moved on, won, lost), that is news and the CRM wins.
* **Problems name the source.** A problem reported on row L of a FORMAT.md
  table is translated to the source file, line and column that row came from;
  so is each warning of the report (collisions, the acting user's own record).
"""

from __future__ import annotations

import gc

from bestby.importers.canonical import WarningsNotAccepted, import_tables
from bestby.importers.crm.findings import Findings
from bestby.importers.crm.out import Out
from bestby.importers.problems import ImportFailed, Problem, ProblemCollector
from bestby.importers.report import ImportReport, Progress

#: FORMAT.md columns that hold a user id
USER_COLUMNS = (("users", "user_id"), ("users", "manager_id"), ("deals", "owner_id"), ("leads", "owner_id"),
                ("touches", "owner_id"), ("quotas", "owner_id"))


def match_users(out: Out, findings: Findings) -> None:
    """Rename source users to the stored users with the same email; keep stored roles (see module doc).

    A source user whose id is already stored is that user (no email lookup).
    An email is a key only when it names one user on each side: an email that
    two stored users, or two source users, share (a shared mailbox, a
    generated data set) matches nobody (finding ``email_shared``), because
    picking one would merge two people's deals.
    """
    from collections import Counter

    from bestby.people.models import User

    users = out.tables.get("users")
    if users is None or not len(users):
        return
    stored_roles: dict[str, str] = {}
    stored_by_email: dict[str, list[str]] = {}
    for email, external_id, role in User.objects.values_list("email", "external_id", "role"):
        stored_roles[external_id] = role
        if email:
            stored_by_email.setdefault(email.strip().casefold(), []).append(external_id)
    ids, emails = users.column("user_id"), users.column("email")
    source_emails = Counter((e or "").strip().casefold() for e in emails if e)
    rename: dict[str, str] = {}
    for i, (uid, email) in enumerate(zip(ids, emails)):
        key = (email or "").strip().casefold()
        if not key or uid in stored_roles:
            continue
        hits = stored_by_email.get(key, [])
        if not hits:
            continue
        if len(hits) > 1 or source_emails[key] > 1:
            findings.keep("email_shared", "users whose email is shared by several users: not matched by email "
                          "(imported under their own id)", users.files[i], users.lines[i], f"{uid} ({email})")
            continue
        rename[uid] = hits[0]
        findings.keep("users_matched_by_email", "users matched to stored users by email (the stored id is kept)",
                      users.files[i], users.lines[i], f"{uid} is {hits[0]} ({email})")
    if rename:
        for name, column in USER_COLUMNS:
            table = out.tables.get(name)
            if table is not None and len(table) and column in table.columns:
                table.set_column(column, [rename.get(v, v) for v in table.column(column)])
    roles = [stored_roles.get(uid, role) for uid, role in zip(users.column("user_id"), users.column("role"))]
    users.set_column("role", roles)


def keep_clears(out: Out, findings: Findings) -> None:
    """Keep deals cleared in bestby cleared when the export still shows their pre-clear stage (module doc)."""
    from bestby.clearance.models import ClearanceAction

    deals = out.tables.get("deals")
    if deals is None or not len(deals):
        return
    ids = set(deals.column("deal_id"))
    cleared = {}
    for external_id, before, stage, status, closed_at, lost_reason in (
            ClearanceAction.objects.filter(kind="clear", undone_by__isnull=True, deal__external_id__in=ids)
            .order_by("id").values_list("deal__external_id", "before", "deal__stage__name", "deal__status",
                                        "deal__closed_at", "deal__lost_reason")):
        cleared[external_id] = ((before or {}).get("deal", {}).get("stage"), stage, status, closed_at, lost_reason)
    if not cleared:
        return
    j = {c: deals.columns.index(c) for c in ("deal_id", "stage", "status", "closed_at", "lost_reason")}
    for i, row in enumerate(deals.rows):
        hit = cleared.get(row[j["deal_id"]])
        if hit is None or row[j["status"]] not in (None, "", "open") or row[j["stage"]] != hit[0]:
            continue
        _, stage, status, closed_at, lost_reason = hit
        row[j["stage"]], row[j["status"]], row[j["closed_at"]], row[j["lost_reason"]] = stage, status, closed_at, lost_reason
        findings.keep("cleared_kept", "deals cleared in bestby that the export still shows open in the same stage: "
                      "kept cleared (send the decisions to the CRM with bestby export decisions)",
                      deals.files[i], deals.lines[i], f"deal {row[j['deal_id']]}")


def import_mapped(out: Out, findings: Findings, *, source: str, label: str, dry_run: bool = False, by=None,
                  progress: Progress | None = None, accept_warnings: bool = False) -> ImportReport:
    """Import the mapped tables; raise ImportFailed (nothing written) with problems placed in the source."""
    match_users(out, findings)
    keep_clears(out, findings)
    report = ImportReport(dry_run=dry_run, unmapped=findings.as_list())
    problems = ProblemCollector()
    raws = {name: table.to_raw() for name, table in out.tables.items() if len(table)}
    gc_was_enabled = gc.isenabled()
    gc.disable()  # as in import_canonical: millions of small objects, no cycles
    try:
        report = import_tables(raws, problems, report, label=label, object_id=source, dry_run=dry_run, by=by,
                               progress=progress, accept_warnings=accept_warnings)
        report.warnings = [_place_warning(out, w) for w in report.warnings]
        return report
    except WarningsNotAccepted as exc:
        exc.report.warnings = [_place_warning(out, w) for w in exc.report.warnings]
        raise WarningsNotAccepted(exc.report, [_place(out, p) for p in exc.problems], exc.truncated) from None
    except ImportFailed as exc:
        raise ImportFailed([_place(out, p) for p in exc.problems], exc.truncated) from None
    finally:
        if gc_was_enabled:
            gc.enable()


def _place_warning(out: Out, warning: dict) -> dict:
    table = out.tables.get(warning["file"])
    if table is None:
        return warning
    file, line, _column = table.origin(warning["line"], None)
    return {**warning, "file": file, "line": line}


def _place(out: Out, problem: Problem) -> Problem:
    table = out.tables.get(problem.file)
    if table is None:
        return problem
    file, line, column = table.origin(problem.line, problem.column)
    return Problem(file, line, column, f"{problem.message} (FORMAT.md {problem.file}.{problem.column or ''})".replace(".)", ")"))
