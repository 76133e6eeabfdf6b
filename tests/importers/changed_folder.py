"""A synthetic folder, a changed copy of it, and what changed computed from the two folders' text alone.

``changed_copy`` edits a ``write_synth`` folder cell by cell (amounts, names,
sectors, teams, stages, close dates, notes, a custom column, a new parent for a
stored account) and adds rows (deals, accounts, users, touches, a pipeline with
two stages, a stage event). ``expected_diff`` reads the two folders with the
csv module and compares cells as text, row by row on the file's key: it never
calls the importer, so it is an independent statement of what the import's
report must say. The edits write values exactly as the store gives them back
(two decimals for money, ISO dates), so the text is the value.
"""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

#: the key columns of the files the diff covers (FORMAT.md)
KEYS = {"users": ("user_id",), "stages": ("pipeline", "stage"), "accounts": ("account_id",),
        "contacts": ("contact_id",), "products": ("product_id",), "deals": ("deal_id",), "leads": ("lead_id",),
        "touches": ("touch_id",), "orders": ("order_id", "line_no"), "invoices": ("invoice_id",),
        "wallet": ("account_id", "category"), "quotas": ("owner_id", "period_start", "period_end")}
EXAMPLES = 5  # the documented number of example rows per file (bestby.importers.diff.EXAMPLES)


def read(folder: Path, name: str) -> tuple[list[str], list[dict[str, str]]]:
    path = folder / f"{name}.csv"
    if not path.is_file():
        return [], []
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def write(folder: Path, name: str, header: list[str], rows: list[dict[str, str]]) -> None:
    with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


def changed_copy(src: Path, dst: Path) -> Path:
    """Write ``src`` with the edits and additions of the module doc into ``dst``."""
    dst.mkdir(parents=True)
    for path in src.iterdir():
        (dst / path.name).write_bytes(path.read_bytes())

    header, stages = read(dst, "stages")
    open_stages = [r["stage"] for r in stages if r["kind"] == "open"]
    stages += [{"pipeline": "second", "stage": "Qualify", "position": "1", "kind": "open", "probability": "0.1"},
               {"pipeline": "second", "stage": "Won", "position": "2", "kind": "won", "probability": "1"}]
    write(dst, "stages", header, stages)

    header, users = read(dst, "users")
    users[1]["team"] = "Renamed team"
    users[3]["team"] = "Another team"
    users += [{"user_id": "U-NEW-MGR", "name": "Nina New", "email": "nina.new@bestby.example", "role": "manager",
               "manager_id": "", "team": "New", "territory": ""},
              {"user_id": "U-NEW-REP", "name": "Ned New", "email": "ned.new@bestby.example", "role": "rep",
               "manager_id": "U-NEW-MGR", "team": "New", "territory": ""}]
    write(dst, "users", header, users)

    header, accounts = read(dst, "accounts")
    for r in accounts[2:5]:
        r["sector"] = r["sector"] + " (revised)"
    accounts[6]["parent_account_id"] = "A-NEW-PARENT"  # a stored account gets a parent this import creates
    accounts += [{"account_id": "A-NEW-PARENT", "name": "Brand New Holding", "sector": "Holding", "territory": "",
                  "employees": "", "annual_revenue": "", "parent_account_id": "", "payment_terms_days": "",
                  "created_at": "2024-01-02"},
                 {"account_id": "A-NEW-SUB", "name": "Brand New Sub", "sector": "", "territory": "", "employees": "",
                  "annual_revenue": "", "parent_account_id": "A-NEW-PARENT", "payment_terms_days": "",
                  "created_at": "2024-01-03"}]
    write(dst, "accounts", header, accounts)

    header, deals = read(dst, "deals")
    for r in deals[:8]:  # more updated rows than examples
        if r["amount"]:
            r["amount"] = f"{Decimal(r['amount']) + 1:.2f}"
    deals[9]["name"] = deals[9]["name"] + " (renamed)"
    moved = [r for r in deals[10:] if r["status"] == "open"][:3]
    for r in moved:  # two without an event (the import appends one), one with
        r["stage"] = next(s for s in open_stages if s != r["stage"])
    for r in moved[:2]:
        r["close_date"] = "2027-01-15"
    quiet = next(r for r in deals if r["synth_quiet_since"])
    quiet["synth_quiet_since"] = "2024-12-31T00:00:00"
    deals += [{**deals[0], "deal_id": "D-NEW-1", "name": "New one", "stage": open_stages[0], "status": "open",
               "closed_at": "", "lost_reason": "", "synth_quiet_since": ""},
              {**deals[0], "deal_id": "D-NEW-2", "name": "New two", "account_id": "A-NEW-SUB", "owner_id": "U-NEW-REP",
               "stage": open_stages[0], "status": "open", "closed_at": "", "lost_reason": "", "synth_quiet_since": ""},
              {**deals[0], "deal_id": "D-NEW-3", "pipeline": "second", "name": "Second pipeline", "stage": "Qualify",
               "status": "open", "closed_at": "", "lost_reason": "", "synth_quiet_since": ""}]
    write(dst, "deals", header, deals)

    header, events = read(dst, "stage_events")
    mine = [r for r in events if r["deal_id"] == moved[2]["deal_id"]]
    last = max(mine, key=lambda r: r["at"])
    at = datetime.fromisoformat(last["at"]) + timedelta(days=1)
    events.append({"deal_id": moved[2]["deal_id"], "at": at.isoformat(), "to_stage": moved[2]["stage"],
                   "from_stage": last["to_stage"]})
    write(dst, "stage_events", header, events)

    header, touches = read(dst, "touches")
    touches[0]["notes"] = "called back, <b>keen</b>"
    touches[5]["notes"] = "left a voicemail"
    touches.append({**touches[1], "touch_id": "T-NEW", "deal_id": "D-NEW-2", "notes": "first touch"})
    write(dst, "touches", header, touches)
    return dst


def expected_diff(old: Path, new: Path) -> dict[str, dict]:
    """Per file: created, updated, unchanged, changes {column: rows}, examples (first EXAMPLES), from text alone."""
    out = {}
    for name, key in KEYS.items():
        header, new_rows = read(new, name)
        if not new_rows:
            continue
        _, old_rows = read(old, name)
        stored = {tuple(r[k] for k in key): r for r in old_rows}
        created = updated = unchanged = 0
        changes: dict[str, int] = {}
        examples = []
        for row in new_rows:
            before = stored.get(tuple(row[k] for k in key))
            if before is None:
                created += 1
                continue
            diff = {c: [before.get(c) or None, row[c] or None] for c in header if (before.get(c) or "") != (row[c] or "")}
            if not diff:
                unchanged += 1
                continue
            updated += 1
            for c in diff:
                changes[c] = changes.get(c, 0) + 1
            if len(examples) < EXAMPLES:
                examples.append({"id": " / ".join(row[k] for k in key), "changes": diff})
        out[name] = {"created": created, "updated": updated, "unchanged": unchanged, "changes": changes,
                     "examples": examples}
    return out
