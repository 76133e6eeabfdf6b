"""Benchmark the forecast: backtest accuracy of bestby and of each baseline, on synth and on the Maven data, and time.

Target (issue 5, "Proof"): on ``bestby synth`` data, bestby's mean absolute
percentage error (MAPE) on period-start forecasts (``weeks_in`` 0) is at
least 30% lower than the stage-probability baseline's. The Maven CRM data set
(``../shared/data/maven-crm-sales-opportunities``) is reported as it is.

Periods: every quarter and every month whose start has at least six months
of history before it (synth: deals from 2024-01 to 2026-01, so 2024-Q3 to
2025-Q4 and 2024-07 to 2025-12; Maven: engagements from 2016-10, closes from
2017-03 to 2017-12, so 2017-Q2 to 2017-Q4 and 2017-04 to 2017-12). Six months:
with less, no stage has seen its long visits end and every method guesses.
The target is checked on quarters (the period a forecast is usually called
for); months are printed beside it. The sources are the folders (Parquet for
synth, the Maven importer's CSV output), each snapshot cut by the engine's
point-in-time rules.

    .venv/bin/python bench/bench_forecast.py [--deals 10000] [--seed 1] [--speed-deals 40000] [--sims 1000]

Synth folders are cached in ``$BESTBY_BENCH_DIR`` (see bench_engine.py).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_engine import synth_folder, verdict  # noqa: E402

MAVEN = Path(__file__).resolve().parents[2] / "shared" / "data" / "maven-crm-sales-opportunities"
NAMES = {"model": "bestby forecast", "stage": "stage probabilities", "win_rate": "in period x win rate",
         "raw": "raw in period"}
TARGET = 0.30


def run(folder: Path, first: str, last: str, *, sims: int, now: datetime) -> tuple[dict, float]:
    from bestby.engine.backtest import backtest
    from bestby.engine.periods import parse_period, periods_between
    from bestby.engine.sources import folder_tables

    periods = periods_between(parse_period(first), parse_period(last))
    t0 = time.perf_counter()
    result = backtest(lambda t: folder_tables(folder, as_of=t), periods=periods, weeks_in=(0,), now=now, sims=sims)
    return result, time.perf_counter() - t0


def report(title: str, result: dict, seconds: float) -> None:
    snaps = result["snapshots"]
    print(f"\n{title}: {len(snaps)} period-start forecasts in {seconds:.1f} s "
          f"({seconds / max(len(snaps), 1):.1f} s each)")
    print(f"  {'period':<12}{'actual':>14}{'bestby':>14}{'P10':>14}{'P90':>14}{'stage':>14}{'win rate':>14}")
    for s in snaps:
        print(f"  {s['period']:<12}{s['actual']:>14,.0f}{s['model']:>14,.0f}{s['p10']:>14,.0f}{s['p90']:>14,.0f}"
              f"{s['stage']:>14,.0f}{s['win_rate']:>14,.0f}")
    print(f"  {'method':<24}{'MAPE':>8}{'in P10-P90':>12}{'Brier':>8}")
    for m, name in NAMES.items():
        s = result["summary"][m]
        inside = s.get("inside")
        print(f"  {name:<24}{s['mape']:>7.1f}%{'-' if inside is None else f'{100 * inside:.0f}%':>12}"
              f"{s['brier']:>8.3f}")


def gain(result: dict) -> float:
    """How much lower bestby's MAPE is than the stage baseline's (0.3 = 30% lower)."""
    s = result["summary"]
    return 1.0 - s["model"]["mape"] / s["stage"]["mape"]


def speed(deals: int, seed: int, sims: int) -> None:
    from bestby.engine.forecast import forecast
    from bestby.engine.periods import parse_period
    from bestby.engine.sources import folder_tables
    from bestby.synth import DEFAULT_AS_OF

    folder = synth_folder(deals, seed)
    as_of = DEFAULT_AS_OF.replace(tzinfo=UTC) - (DEFAULT_AS_OF - datetime(2025, 11, 15))
    t0 = time.perf_counter()
    tables = folder_tables(folder, as_of=as_of)
    fc = forecast(tables, as_of=as_of, period=parse_period("2025-Q4"), sims=sims)
    seconds = time.perf_counter() - t0
    print(f"\nSpeed: one forecast of 2025-Q4 at 2025-11-15 on {deals:,} synth deals "
          f"({len(fc['deals']):,} open), {sims:,} draws, calibration included: {seconds:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--speed-deals", type=int, default=40_000)
    parser.add_argument("--sims", type=int, default=1_000)
    args = parser.parse_args()

    print(f"Synth data, {args.deals:,} deals (seed {args.seed})")
    folder = synth_folder(args.deals, args.seed)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    quarters, q_s = run(folder, "2024-Q3", "2025-Q4", sims=args.sims, now=now)
    report("Synth, quarters", quarters, q_s)
    months, m_s = run(folder, "2024-07", "2025-12", sims=args.sims, now=now)
    report("Synth, months", months, m_s)
    g = gain(quarters)
    print(f"\nTarget: bestby's MAPE on synth quarter starts at least {TARGET:.0%} lower than the stage baseline's: "
          f"{quarters['summary']['model']['mape']:.1f}% against {quarters['summary']['stage']['mape']:.1f}%, "
          f"{g:.0%} lower: {verdict(g >= TARGET)} (months: {gain(months):.0%} lower)")

    if MAVEN.is_dir():
        from bestby.importers.maven import maven_to_canonical

        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "maven"
            maven_to_canonical(MAVEN, out)
            now = datetime(2018, 1, 1, tzinfo=UTC)
            mq, mq_s = run(out, "2017-Q2", "2017-Q4", sims=args.sims, now=now)
            report("Maven, quarters", mq, mq_s)
            mm, mm_s = run(out, "2017-04", "2017-12", sims=args.sims, now=now)
            report("Maven, months", mm, mm_s)
            print(f"\nMaven: bestby's MAPE is {gain(mq):.0%} lower than the stage baseline's on quarters, "
                  f"{gain(mm):.0%} on months (negative: higher).")
    else:
        print(f"\nMaven: {MAVEN} is missing; skipped.")
    speed(args.speed_deals, args.seed, 10_000)


if __name__ == "__main__":
    main()
