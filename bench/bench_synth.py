"""Time ``write_synth`` on a large data set: elapsed seconds, rows per file, peak memory.

    .venv/bin/python bench/bench_synth.py                # one million deals, CSV, temporary folder
    .venv/bin/python bench/bench_synth.py --deals 200000 --fmt parquet --keep bench/out/synth

The target is one million deals, with all their events and touches, in under two minutes on
a two-core machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from bestby.synth import write_synth


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fmt", choices=("csv", "parquet"), default="csv")
    parser.add_argument("--keep", type=Path, help="write here and keep the files (default: a temporary folder)")
    parser.add_argument("--quiet", action="store_true", help="no per-file timings")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    seen: dict[str, float] = {}

    def progress(name: str, done: int, total: int) -> None:
        if name not in seen and not args.quiet:
            print(f"{time.perf_counter() - started:8.2f}s  {name}", file=sys.stderr, flush=True)
        seen.setdefault(name, time.perf_counter())

    def run(folder: Path) -> tuple[float, int, object]:
        t0 = time.perf_counter()
        summary = write_synth(folder, deals=args.deals, seed=args.seed, fmt=args.fmt, progress=progress)
        return time.perf_counter() - t0, _size(folder), summary

    if args.keep:
        elapsed, size, summary = run(args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="bench_synth_") as tmp:
            elapsed, size, summary = run(Path(tmp))

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    print(f"write_synth(deals={args.deals:,}, fmt={args.fmt}) on {os.cpu_count()} cores")
    print(f"elapsed      {elapsed:8.1f} s   (cpu user {cpu.ru_utime:.1f} s, system {cpu.ru_stime:.1f} s)")
    print(f"peak memory  {peak_mb:8.0f} MB")
    print(f"written      {size / 1e6:8.0f} MB")
    for name, n in summary.rows.items():
        print(f"  {name:<18} {n:>12,}")
    print(f"  {'total':<18} {summary.total_rows:>12,}")
    print(f"  quiet deals        {summary.quiet_deals:>12,}")
    print(f"rows per second {summary.total_rows / elapsed:,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
