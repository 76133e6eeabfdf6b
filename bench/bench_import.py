"""Benchmark: `bestby import canonical` of a synthetic data set into SQLite and PostgreSQL.

Target (issue 2): 100,000 deals with 400,000 stage events and 1,000,000
touches load in under 60 s into each store on a 2-core machine.

    python bench/bench_import.py [--deals 100000] [--backend sqlite,postgres]
        [--postgres-url postgresql://postgres@127.0.0.1:5432/postgres]

`bestby synth` writes the data set. Two folders are imported:

* ``target``: the target's shape: every deal with its users, stages,
  accounts, contacts, products and leads, the first 400,000 stage events and
  the first 1,000,000 touches (the generator writes ~4.4 events and ~12
  touches per deal; cutting the files keeps every reference valid);
* ``full``: all 14 files the generator wrote (about 2.6 million rows).

Each import goes into a fresh, migrated, empty database; the timed part is the
import command alone (a separate process, as a user would run it), then a
second import of the same folder, which must report every row unchanged.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parents[1]
BESTBY = [sys.executable, "-m", "bestby.cli"]


def run(args: list[str], env: dict) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(BESTBY + args, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode:
        sys.exit(f"bestby {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return elapsed, proc.stdout


def fresh_postgres(url: str, name: str) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + "/" + name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--backend", default="sqlite,postgres")
    parser.add_argument("--postgres-url", default=os.environ.get("BESTBY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    opts = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bestby-bench-") as tmp:
        tmp = Path(tmp)
        data = tmp / "data"
        env = dict(os.environ, BESTBY_HOME=str(tmp), DJANGO_SETTINGS_MODULE="bestby.settings")
        elapsed, _ = run(["synth", str(data), "--deals", str(opts.deals), "--seed", str(opts.seed)], env)
        print(f"synth: {opts.deals:,} deals in {elapsed:.1f} s")
        target = tmp / "target"
        target.mkdir()
        limits = {"stage_events": 400_000, "touches": 1_000_000}
        for name in ("users", "stages", "accounts", "contacts", "products", "deals", "leads", "stage_events", "touches"):
            with (data / f"{name}.csv").open() as src, (target / f"{name}.csv").open("w") as dst:
                for i, line in enumerate(src):
                    if i > limits.get(name, 1 << 62):
                        break
                    dst.write(line)
        print(f"{'folder':<7} {'backend':<9} {'rows':>10} {'import s':>9} {'rows/s':>9} {'re-import s':>12}  result")
        for folder, backend in [(f, b) for f in (target, data) for b in opts.backend.split(",")]:
            sizes = {p.stem: sum(1 for _ in p.open()) - 1 for p in sorted(folder.glob("*.csv"))}
            total_rows = sum(sizes.values())
            if backend == "sqlite":
                url = f"sqlite:///{tmp / (folder.name + '.sqlite3')}"
            elif backend == "postgres":
                url = fresh_postgres(opts.postgres_url, "bestby_bench")
            else:
                sys.exit(f"--backend: unknown backend {backend!r}; use sqlite and/or postgres")
            benv = dict(env, BESTBY_DATABASE_URL=url)
            run(["migrate"], benv)
            first, out = run(["import", "canonical", str(folder), "--json"], benv)
            report = json.loads(out)
            created = sum(v["created"] for v in report["files"].values())
            second, out = run(["import", "canonical", str(folder), "--json"], benv)
            again = json.loads(out)
            unchanged = all(v["created"] == 0 and v["updated"] == 0 for v in again["files"].values())
            ok = created == total_rows and unchanged and (first < 60 or folder is data)
            name = "target" if folder is target else "full"
            verdict = ("PASS" if ok else "FAIL") + ("" if name == "target" else " (no time target)")
            print(f"{name:<7} {backend:<9} {created:>10,} {first:>9.1f} {created / first:>9,.0f} {second:>12.1f}  "
                  f"{verdict} (all rows created: {created == total_rows}; re-import all unchanged: {unchanged})",
                  flush=True)
            if name == "target":
                print("        rows: " + ", ".join(f"{k} {v:,}" for k, v in sizes.items()), flush=True)


if __name__ == "__main__":
    main()
