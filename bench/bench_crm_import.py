"""Benchmark: `bestby import salesforce` of a large synthetic Salesforce export into SQLite.

Target (issue 6): an export with 200,000 opportunities, 1,000,000
OpportunityHistory rows and 2,000,000 tasks imports into SQLite in under 2
minutes on a 2-core machine.

    python bench/bench_crm_import.py [--opportunities 200000] [--history 1000000]
        [--tasks 2000000] [--keep DIR]

The export is written by ``write_export`` below in the data export's own shape
(API field names, ISO times with ``Z``, CRLF): OpportunityStage (5 stages),
User (200), Account (20,000), Contact (40,000), Opportunity, OpportunityHistory
(the entry row at creation, then stage moves and amount changes, the last row
in the opportunity's current stage) and Task (calls and emails, 90% done, each
on an opportunity and one of its account's contacts). The timed part is the
command alone, run as a user runs it (a separate process) into a fresh,
migrated SQLite file; the output gives rows per second and the process's peak
memory.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

BESTBY = [sys.executable, "-m", "bestby.cli"]
STAGES = ["Prospecting", "Qualification", "Proposal/Price Quote", "Closed Won", "Closed Lost"]
T0 = datetime(2022, 1, 1)


def _ts(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def write_export(folder: Path, opportunities: int, history: int, tasks: int, seed: int = 1) -> dict[str, int]:
    """Write the export; return the rows per file."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    users, accounts = 200, max(1, opportunities // 10)
    rows = {}

    def write(name: str, header: str, lines) -> None:
        n = 0
        with open(folder / f"{name}.csv", "w", encoding="utf-8", newline="") as fh:
            fh.write(header + "\r\n")
            for line in lines:
                fh.write(line + "\r\n")
                n += 1
        rows[name] = n

    write("OpportunityStage", "Id,MasterLabel,IsActive,SortOrder,IsClosed,IsWon,DefaultProbability",
          (f"01J{i},{s},true,{i},{str(i >= 4).lower()},{str(i == 4).lower()},{[10, 25, 60, 100, 0][i - 1]}"
           for i, s in enumerate(STAGES, start=1)))
    write("User", "Id,Name,Email,ManagerId,Department,IsActive",
          (f"005U{u:05d},Seller {u},seller{u}@example.com,{'' if u < 10 else f'005U{u % 10:05d}'},Team {u % 10},true"
           for u in range(users)))
    write("Account", "Id,Name,Industry,BillingCountry,NumberOfEmployees,CreatedDate",
          (f"001A{a:07d},Account {a},Industry {a % 17},Country {a % 23},{10 + a % 5000},{_ts(T0)}" for a in range(accounts)))
    write("Contact", "Id,AccountId,FirstName,LastName,Email",
          (f"003C{c:07d},001A{c // 2:07d},First{c},Last{c},c{c}@example.com" for c in range(accounts * 2)))

    # each opportunity: created, a number of history rows (the entry, then moves or amount changes)
    per_opp = [1] * opportunities
    for _ in range(max(0, history - opportunities)):
        per_opp[rng.randrange(opportunities)] += 1
    opp_lines, hist_lines = [], []
    spans = []
    for o in range(opportunities):
        created = T0 + timedelta(minutes=rng.randrange(0, 3 * 365 * 24 * 60))
        n = per_opp[o]
        outcome = rng.random()
        final = 3 if outcome < 0.25 else 4 if outcome < 0.6 else rng.randrange(0, 3)
        at, stage, close = created, 0, (created + timedelta(days=90)).date()
        for k in range(n):
            if k:
                at += timedelta(hours=rng.randrange(1, 24 * 20))
                if k == n - 1:
                    stage = final
                elif stage < 2 and rng.random() < 0.5:
                    stage += 1
            if k == n - 1 and final > 2 and n == 1:
                stage = final
            hist_lines.append(f"008H{len(hist_lines):08d},006O{o:07d},{_ts(at)},{STAGES[stage]},{1000 + o % 50000},{close}")
        spans.append((created, at))
        closed = stage >= 3
        opp_lines.append(
            f"006O{o:07d},Opportunity {o},001A{o % accounts:07d},005U{o % users:05d},{1000 + o % 50000},{STAGES[stage]},"
            f"{str(closed).lower()},{str(stage == 3).lower()},{close},{_ts(created)},Web")
    write("Opportunity", "Id,Name,AccountId,OwnerId,Amount,StageName,IsClosed,IsWon,CloseDate,CreatedDate,LeadSource",
          opp_lines)
    write("OpportunityHistory", "Id,OpportunityId,CreatedDate,StageName,Amount,CloseDate", hist_lines)
    del opp_lines, hist_lines

    def task_lines():
        for t in range(tasks):
            o = rng.randrange(opportunities)
            created, last = spans[o]
            at = created + (last - created) * rng.random()
            done = rng.random() < 0.9
            kind = "Call" if t % 3 else "Email"
            contact = (o % accounts) * 2 + (t & 1)
            yield (f"00TT{t:08d},003C{contact:07d},006O{o:07d},005U{o % users:05d},{kind} {t},"
                   f"{'Completed' if done else 'Not Started'},{str(done).lower()},{at:%Y-%m-%d},"
                   f"{_ts(at) if done else ''},{kind},{'Outbound' if kind == 'Call' else ''},"
                   f"{rng.randrange(20, 900) if kind == 'Call' else ''},{'Connected' if kind == 'Call' and t % 5 == 0 else ''}")

    write("Task", "Id,WhoId,WhatId,OwnerId,Subject,Status,IsClosed,ActivityDate,CompletedDateTime,TaskSubtype,CallType,"
          "CallDurationInSeconds,CallDisposition", task_lines())
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--opportunities", type=int, default=200_000)
    parser.add_argument("--history", type=int, default=1_000_000)
    parser.add_argument("--tasks", type=int, default=2_000_000)
    parser.add_argument("--keep", type=Path, help="write the export here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bestby-bench-crm-") as tmp:
        folder = args.keep or Path(tmp) / "export"
        start = time.perf_counter()
        rows = write_export(folder, args.opportunities, args.history, args.tasks)
        total = sum(rows.values())
        print(f"wrote {total:,} rows in {len(rows)} files in {time.perf_counter() - start:.1f} s: "
              + ", ".join(f"{k} {v:,}" for k, v in rows.items()), flush=True)
        home = Path(tmp) / "home"
        home.mkdir()
        env = {**os.environ, "BESTBY_HOME": str(home), "BESTBY_DATABASE_URL": f"sqlite:///{home}/bench.sqlite3"}
        subprocess.run(BESTBY + ["migrate"], env=env, check=True, capture_output=True)
        start = time.perf_counter()
        proc = subprocess.run(BESTBY + ["import", "salesforce", str(folder)], env={**env, "COLUMNS": "120"},
                              capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        if proc.returncode:
            sys.exit(f"import failed:\n{proc.stdout}\n{proc.stderr}")
        print(proc.stdout)
        verdict = "PASS" if elapsed < 120 else "FAIL"
        print(f"salesforce import into SQLite: {elapsed:.1f} s for {total:,} source rows "
              f"({total / elapsed:,.0f} rows/s), peak memory {peak:,.0f} MB; target < 120 s: {verdict}")


if __name__ == "__main__":
    main()
