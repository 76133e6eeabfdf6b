"""The freshness calibration: recut composes, the ratios equal a plain-Python reference, the draws' posterior.

The reference cuts each calibration snapshot from the folder itself (not from
the as_of cut the engine re-cuts), reads outcomes from the deals file with the
csv module, and applies the module docstring's formula by hand.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from bestby.engine.calibration import MIN_HISTORY_DAYS, PRIOR, SNAPSHOTS, STEP_DAYS, Calibration, calibrate
from bestby.engine.freshness import freshness
from bestby.engine.policy import ClearancePolicy
from bestby.engine.sources import folder_tables, recut
from bestby.engine.win import win_model
from bestby.synth import write_synth

AS_OF = datetime(2025, 10, 1, tzinfo=UTC)
H = 92.0


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    write_synth(out, deals=700, seed=31)
    return out


def _sorted(t, key):
    return sorted(t.to_pyarrow().to_pylist(), key=lambda r: tuple(str(r[k]) for k in key))


def test_recut_equals_a_cut_from_the_whole_history(folder):
    late = folder_tables(folder, as_of=AS_OF)
    for c in (AS_OF - timedelta(days=40), AS_OF - timedelta(days=200)):
        direct, again = folder_tables(folder, as_of=c), recut(late, c)
        assert _sorted(again["deals"], ["deal_id"]) == _sorted(direct["deals"], ["deal_id"])
        for name, key in (("stage_events", ["deal_id", "at", "to_stage"]), ("touches", ["touch_id"]),
                          ("close_date_events", ["deal_id", "at"])):
            assert _sorted(again[name], key) == _sorted(direct[name], key), name
    # the recut is not the late cut: deals closed between c and AS_OF are open again
    early = recut(late, AS_OF - timedelta(days=40)).get("deals").to_pyarrow().to_pylist()
    assert len(early) < late["deals"].count().execute()


def _reference(folder) -> dict[str, tuple[float, float]]:
    """Per state: (effective won, effective expected), by the module docstring's formula, by hand."""
    with (folder / "deals.csv").open() as fh:
        deals = list(csv.DictReader(fh))
    won_at = {d["deal_id"]: datetime.fromisoformat(d["closed_at"]).astimezone(UTC) for d in deals
              if d["status"] == "won" and d["closed_at"]}
    won_at = {k: v for k, v in won_at.items() if v <= AS_OF}  # what is known at AS_OF
    first = min(datetime.fromisoformat(d["created_at"]).astimezone(UTC) for d in deals)
    sums: dict[str, list[float]] = {}
    for j in range(SNAPSHOTS):
        c = AS_OF - timedelta(days=H) - timedelta(days=j * STEP_DAYS)
        if c < first + timedelta(days=MIN_HISTORY_DAYS):
            break
        tables = folder_tables(folder, as_of=c)
        model = win_model(tables, as_of=c)
        for r in freshness(tables, as_of=c, policy=ClearancePolicy(), win_probability=model):
            p = model.chances(r["pipeline"], r["stage"], age_days=r["age_days"], stage_age_days=r["stage_age_days"],
                              horizon_days=H)
            if p is None:
                continue
            a = float(r["amount"] or 0)
            y = r["deal_id"] in won_at and c <= won_at[r["deal_id"]] < c + timedelta(days=H)
            s = sums.setdefault(r["state"], [0.0, 0.0, 0.0, 0])
            s[0] += a * y
            s[1] += a * p
            s[2] += a
            s[3] += 1
    return {state: (w / (amt / n), e / (amt / n)) for state, (w, e, amt, n) in sums.items()}


def test_ratios_equal_the_reference(folder):
    got = calibrate(folder_tables(folder, as_of=AS_OF), as_of=AS_OF, horizon_days=H, policy=ClearancePolicy())
    want = _reference(folder)
    assert got.snapshots == SNAPSHOTS and set(got.won) == set(want) and len(want) >= 3
    for state, (w, e) in want.items():
        assert got.won[state] == pytest.approx(w, rel=1e-9) and got.expected[state] == pytest.approx(e, rel=1e-9)
        assert got.ratio(state) == pytest.approx((w + PRIOR) / (e + PRIOR), rel=1e-9)
    # what the calibration exists for: stalled deals win less than the model says, relative to fresh ones
    assert got.ratio("stalled") < got.ratio("fresh")


def test_no_history_no_correction(folder):
    young = datetime(2024, 3, 1, tzinfo=UTC)  # two months into the synth history: every snapshot is too early
    got = calibrate(folder_tables(folder, as_of=young), as_of=young, horizon_days=H, policy=ClearancePolicy())
    assert got.snapshots == 0 and got.ratio("stalled") == 1.0 and got.chance(0.3, "fresh") == 0.3
    assert calibrate(folder_tables(folder, as_of=AS_OF), as_of=AS_OF, horizon_days=0,
                     policy=ClearancePolicy()).snapshots == 0


def test_chance_is_capped_and_draws_follow_the_posterior():
    cal = Calibration(won={"fresh": 30.0, "stalled": 2.0}, expected={"fresh": 10.0, "stalled": 20.0})
    assert cal.ratio("fresh") == pytest.approx(40 / 20) and cal.ratio("stalled") == pytest.approx(12 / 30)
    assert cal.chance(0.8, "fresh") == 1.0 and cal.chance(None, "fresh") is None
    assert cal.chance(0.5, "stalled") == pytest.approx(0.2)
    draws = cal.draws(["fresh", "stalled", "aging"], 200_000, np.random.default_rng(7))
    # Gamma(shape w + K, rate e + K): mean (w + K) / (e + K), variance (w + K) / (e + K)^2
    for row, (w, e) in zip(draws, ((30.0, 10.0), (2.0, 20.0), (0.0, 0.0))):
        assert row.mean() == pytest.approx((w + PRIOR) / (e + PRIOR), rel=0.01)
        assert row.var() == pytest.approx((w + PRIOR) / (e + PRIOR) ** 2, rel=0.03)


def test_forecast_uses_the_calibrated_chances(folder):
    from bestby.engine.coverage import midnight
    from bestby.engine.forecast import forecast
    from bestby.engine.periods import parse_period

    period = parse_period("2025-Q4")
    tables = folder_tables(folder, as_of=AS_OF)
    model = win_model(tables, as_of=AS_OF)
    rows = freshness(tables, as_of=AS_OF, policy=ClearancePolicy(), win_probability=model)
    h = (midnight(period.end) - AS_OF).total_seconds() / 86_400
    cal = calibrate(tables, as_of=AS_OF, horizon_days=h, policy=ClearancePolicy())
    fc = forecast(tables, as_of=AS_OF, period=period, rows=rows, model=model, levels=("all",), sims=4000)
    got = {d["deal_id"]: d["p"] for d in fc["deals"]}
    want_total = 0.0
    for r in rows:
        p = model.chances(r["pipeline"], r["stage"], age_days=r["age_days"], stage_age_days=r["stage_age_days"],
                          horizon_days=h)
        want = None if p is None else min(1.0, p * cal.ratio(r["state"]))
        assert got[r["deal_id"]] == (None if want is None else pytest.approx(want, rel=1e-9)), r["deal_id"]
        want_total += float(r["amount"] or 0) * (want or 0.0)
    assert fc["rows"][0]["open_expected"] == pytest.approx(want_total, rel=1e-9)
    assert {c["state"]: c["ratio"] for c in fc["calibration"]} == pytest.approx(
        {s: cal.ratio(s) for s in ("fresh", "aging", "expired", "stalled")})
    # calibrated=False is the model as fitted
    plain = forecast(tables, as_of=AS_OF, period=period, rows=rows, model=model, levels=("all",), sims=4000,
                     calibrated=False)
    assert plain["calibration"] is None and plain["rows"][0]["open_expected"] != fc["rows"][0]["open_expected"]
