"""The backtest on synth data, against plain-Python figures; and the point-in-time proof of the forecast.

Actuals, the raw baseline and its Brier score are recomputed here from the
conformance reference's cut (csv module, no engine code). The point-in-time
proof writes a copy of the folder from which everything after T is removed
(the reference's cut, written back as CSV) and checks that the forecast at T
is the same on both.
"""

from __future__ import annotations

import csv
import shutil
from datetime import UTC, date, datetime

import pytest

from bestby.engine.backtest import METHODS, backtest, stage_shares
from bestby.engine.forecast import forecast
from bestby.engine.periods import parse_period, periods_between
from bestby.engine.sources import folder_tables
from bestby.format import SPECS
from bestby.synth import write_synth
from tests.engine.conformance import reference as ref


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    folder = tmp_path_factory.mktemp("backtest")
    write_synth(folder, deals=700, seed=31)
    return folder


def test_stage_shares_use_probabilities_else_even_steps():
    stages = [{"pipeline": "p", "stage": s, "position": i, "kind": k, "probability": pr} for i, (s, k, pr) in
              enumerate([("A", "open", None), ("B", "open", None), ("C", "open", None), ("W", "won", None)], 1)]
    assert stage_shares(stages) == {("p", "A"): 0.25, ("p", "B"): 0.5, ("p", "C"): 0.75}
    stages[1]["probability"] = 40.0  # percent
    stages[2]["probability"] = 0.9  # a share
    assert stage_shares(stages) == {("p", "A"): 0.25, ("p", "B"): 0.4, ("p", "C"): 0.9}


def test_backtest_against_the_reference(synth):
    periods = periods_between(parse_period("2025-Q2"), parse_period("2025-Q4"))
    now = datetime(2025, 12, 1, tzinfo=UTC)  # Q4 has not ended: skipped
    seen = []
    result = backtest(lambda t: folder_tables(synth, as_of=t), periods=periods, weeks_in=(0, 6, 20), now=now,
                      sims=400, on_snapshot=lambda p, w: seen.append((p.label, w)))
    assert seen == [("FY2025-Q2", 0), ("FY2025-Q2", 6), ("FY2025-Q3", 0), ("FY2025-Q3", 6)]
    assert {s["why"] for s in result["skipped"]} == {"not ended yet: its actual is not known",
                                                      "on or after the period's end"}
    folder = ref.read_folder(synth)
    briers = []
    for s in result["snapshots"]:
        period = parse_period(s["period"])
        start = datetime.combine(period.start, datetime.min.time(), tzinfo=UTC)
        end = datetime.combine(period.end, datetime.min.time(), tzinfo=UTC)
        final = ref.cut(folder, end)
        won = {d["deal_id"]: d for d in final.deals if d["status"] == "won" and start <= ref.utc(d["closed_at"]) < end}
        assert s["actual"] == pytest.approx(sum(float(d["amount"] or 0) for d in won.values()))
        snap = ref.cut(folder, s["as_of"])
        so_far = sum(float(d["amount"] or 0) for d in snap.deals
                     if d["status"] == "won" and start <= ref.utc(d["closed_at"]) < end)
        open_deals = [d for d in snap.deals if ref.is_open(d["status"])]
        in_period = [d for d in open_deals if d["close_date"] is not None and period.start <= d["close_date"] < period.end]
        assert s["won_so_far"] == pytest.approx(so_far)
        assert s["raw"] == pytest.approx(so_far + sum(float(d["amount"] or 0) for d in in_period))
        assert s["open_n"] == len(open_deals) and s["p10"] <= s["p50"] <= s["p90"]
        for d in open_deals:
            y = int(d["deal_id"] in won and ref.utc(won[d["deal_id"]]["closed_at"]) >= s["as_of"])
            briers.append(((1.0 if d in in_period else 0.0) - y) ** 2)
    summary = result["summary"]
    assert summary["raw"]["brier"] == pytest.approx(sum(briers) / len(briers))
    actuals = [s for s in result["snapshots"] if s["actual"] > 0]
    for m in METHODS:
        assert summary[m]["mape"] == pytest.approx(
            100 * sum(abs(s[m] - s["actual"]) / s["actual"] for s in actuals) / len(actuals))
        assert summary[m]["deals"] == len(briers)
    inside = [s["p10"] <= s["actual"] <= s["p90"] for s in result["snapshots"]]
    assert summary["model"]["inside"] == pytest.approx(sum(inside) / len(inside))
    assert sum(b["n"] for b in result["calibration"]) == len(briers)
    assert all(b["low"] <= b["mean_p"] < b["high"] + 1e-12 for b in result["calibration"] if b["n"])


def _write_cut(src, dst, as_of):
    """The folder as known at ``as_of``: the reference's cut written back as CSV (users and stages as they are)."""
    snap = ref.cut(ref.read_folder(src), as_of)
    dst.mkdir()
    for name in ("users", "stages"):
        shutil.copy(src / f"{name}.csv", dst / f"{name}.csv")

    def cell(v):
        if v is None:
            return ""
        if isinstance(v, (datetime, date)):
            return v.isoformat()
        return v

    for name, rows in (("deals", snap.deals), ("stage_events", snap.stage_events),
                       ("close_date_events", snap.close_date_events), ("touches", snap.touches)):
        header = [c.name for c in SPECS[name].columns]
        with (dst / f"{name}.csv").open("w", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(header)
            w.writerows([[cell(r.get(c)) for c in header] for r in rows])


def test_forecast_is_point_in_time(synth, tmp_path):
    t = datetime(2025, 8, 20, tzinfo=UTC)
    _write_cut(synth, tmp_path / "cut", t)
    period = parse_period("2025-Q3")
    full = forecast(folder_tables(synth, as_of=t), as_of=t, period=period, levels=("owner", "team", "all"),
                    sims=500)
    cut = forecast(folder_tables(tmp_path / "cut", as_of=t), as_of=t, period=period,
                   levels=("owner", "team", "all"), sims=500)
    assert full["rows"] and full["rows"] == cut["rows"]
    assert full["deals"] == cut["deals"]
    # the freshness calibration (which replays earlier snapshots) reads nothing after t either
    assert full["calibration"] == cut["calibration"] and any(c["deals"] for c in full["calibration"])
    # and the cut copy really lacks the future: fewer deals than the full folder
    with (synth / "deals.csv").open() as a, (tmp_path / "cut" / "deals.csv").open() as b:
        assert sum(1 for _ in b) < sum(1 for _ in a)
