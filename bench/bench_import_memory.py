"""Benchmark: peak memory (RSS) of importing a ~200 MB CSV, the reader alone and the whole import.

The security review saw a valid 200 MB CSV peak at 2.6 GB. This writes a
synthetic data set whose ``touches.csv`` is about 200 MB (200,000 deals, about
2.45 million touches; kept in ``bench/out/``), then measures, each in a fresh
process (the figure is that process's peak resident set, from ``wait4``):

* ``reader``: :func:`bestby.importers.readers.read_table` of ``touches.csv``;
* ``import``: ``bestby import canonical --dry-run`` of a folder of the files
  the touches and deals refer to (users, stages, products, accounts, contacts,
  leads, deals) and ``touches.csv``, into a fresh SQLite store
  (``--no-import`` skips it: it takes minutes).

    python bench/bench_import_memory.py [--deals 200000] [--no-import] [--src PATH]

``--src`` runs another checkout's ``src/`` (e.g. the commit before the
streaming reader, unpacked with ``git archive COMMIT src | tar -x -C DIR``) to
compare before and after; the data set is written by this checkout.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
IMPORTED = ("users", "stages", "products", "accounts", "contacts", "leads", "deals", "touches")

READ = """
import sys, time
from pathlib import Path
from bestby.importers.problems import ProblemCollector
from bestby.importers.readers import read_table
problems = ProblemCollector()
start = time.perf_counter()
raw = read_table(Path(sys.argv[1]), problems)
assert raw is not None and not problems, problems.problems
print(f"{raw.nrows} rows, {len(raw.columns)} columns in {time.perf_counter() - start:.1f} s")
"""


def measured(cmd: list[str], env: dict) -> tuple[float, int, str]:
    """Run ``cmd``; (seconds, peak RSS in bytes, its output). Fails loudly when the command fails."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = proc.stdout.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{out}")
    return time.perf_counter() - start, usage.ru_maxrss * 1024, out.strip()


def data_set(deals: int) -> Path:
    folder = OUT / f"memory-{deals}"
    if not (folder / "touches.csv").exists():
        subprocess.run([sys.executable, "-m", "bestby.cli", "synth", str(folder), "--deals", str(deals)],
                       check=True, cwd=REPO, stdout=subprocess.DEVNULL)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deals", type=int, default=200_000)
    parser.add_argument("--no-import", action="store_true", help="measure the reader only")
    parser.add_argument("--src", type=Path, default=REPO / "src", help="the src/ folder of the code to measure")
    args = parser.parse_args()
    folder = data_set(args.deals)
    touches = folder / "touches.csv"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BESTBY_")}
    env["PYTHONPATH"] = str(args.src.resolve())
    print(f"code: {args.src.resolve()}")
    print(f"touches.csv: {touches.stat().st_size / 2**20:,.0f} MB")
    with tempfile.TemporaryDirectory(prefix="bestby-memory-") as tmp:
        env |= {"BESTBY_HOME": tmp, "DJANGO_SETTINGS_MODULE": "bestby.settings"}
        seconds, peak, out = measured([sys.executable, "-c", READ, str(touches)], env)
        print(f"reader: {out}; peak RSS {peak / 2**20:,.0f} MB")
        if args.no_import:
            return
        subset = Path(tmp) / "subset"
        subset.mkdir()
        for name in IMPORTED:
            (subset / f"{name}.csv").symlink_to(folder / f"{name}.csv")
        measured([sys.executable, "-m", "bestby.cli", "migrate"], env)
        seconds, peak, _out = measured([sys.executable, "-m", "bestby.cli", "import", "canonical", "--dry-run",
                                        str(subset)], env)
        rows = sum(1 for _ in open(touches, "rb")) - 1
        print(f"import --dry-run of {', '.join(IMPORTED)} ({rows:,} touches): {seconds:.0f} s; "
              f"peak RSS {peak / 2**20:,.0f} MB")


if __name__ == "__main__":
    main()
