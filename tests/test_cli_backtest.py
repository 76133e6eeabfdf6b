"""``bestby backtest`` on the store: the same figures as the engine on the folder, a chart, named errors.

Store tests commit (``transaction=True``): the engine reads the store through
a second connection.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from bestby.cli import app
from bestby.engine.backtest import backtest
from bestby.engine.periods import parse_period, periods_between
from bestby.engine.sources import folder_tables
from bestby.importers.canonical import import_canonical
from bestby.synth import write_synth

pytestmark = pytest.mark.django_db(transaction=True)
runner = CliRunner()
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # the command's "now" (frozen): days after the synth data ends


def test_backtest_from_the_store_equals_the_folder_and_draws_the_chart(tmp_path, frozen_clock):
    frozen_clock(NOW)
    data = tmp_path / "data"
    write_synth(data, deals=300, seed=41)
    import_canonical(data)
    chart = tmp_path / "bt.svg"
    result = runner.invoke(app, ["backtest", "--from", "2025-Q2", "--to", "2025-Q3", "--weeks-in", "0,6",
                                 "--sims", "300", "--json", "--chart", str(chart)])
    assert result.exit_code == 0, result.output
    got = json.loads(result.output)
    want = backtest(lambda t: folder_tables(data, as_of=t),
                    periods=periods_between(parse_period("2025-Q2"), parse_period("2025-Q3")), weeks_in=(0, 6),
                    now=NOW, sims=300, seed=2026)
    assert len(got["periods"]) == len(want["snapshots"]) == 4
    for g, w in zip(got["periods"], want["snapshots"]):
        pairs = {"actual": "actual", "forecast": "model", "p10": "p10", "p90": "p90", "won_so_far": "won_so_far",
                 "open_n": "open_n"}
        for field, theirs in pairs.items():
            assert g[field] == pytest.approx(w[theirs], rel=1e-9, abs=1e-6), (g["period"], g["weeks_in"], field)
        for m in ("stage", "win_rate", "raw"):
            assert g["baselines"][m] == pytest.approx(w[m], rel=1e-9, abs=1e-6), (g["period"], m)
        assert g["error"] == pytest.approx((w["model"] - w["actual"]) / w["actual"])
    model = want["summary"]["model"]
    assert got["summary"]["mape"] == pytest.approx(model["mape"])
    assert got["summary"]["interval_coverage"] == pytest.approx(model["inside"])
    assert got["summary"]["brier"] == pytest.approx(model["brier"])
    for m in ("stage", "win_rate", "raw"):
        assert got["baselines"][m] == {"mape": pytest.approx(want["summary"][m]["mape"]),
                                       "brier": pytest.approx(want["summary"][m]["brier"])}
    svg = chart.read_text()
    actuals = [float(x) for x in re.findall(r'data-actual="([0-9.]+)"', svg)]
    assert actuals == pytest.approx([s["actual"] for s in want["snapshots"]], abs=0.01)
    assert svg.startswith("<svg") and "<style>" in svg  # stands alone
    table = runner.invoke(app, ["backtest", "--from", "2025-Q3", "--to", "2025-Q3", "--weeks-in", "2",
                                "--sims", "200"])
    assert table.exit_code == 0 and "bestby forecast" in table.output and "Calibration" in table.output


@pytest.mark.parametrize("args, option", [
    (["--from", "2025-Q9", "--to", "2025-Q3"], "--from"),
    (["--from", "2025-Q3", "--to", "2025-Q1"], "--to"),
    (["--from", "2025-Q3", "--to", "FY2025"], "--to"),
    (["--from", "2025-Q1", "--to", "2025-Q2", "--weeks-in", "x"], "--weeks-in"),
    (["--from", "2025-Q1", "--to", "2025-Q2", "--weeks-in", "60"], "--weeks-in"),
    (["--from", "2025-Q1", "--to", "2025-Q2", "--chart", "out.png"], "--chart"),
])
def test_bad_options_are_named(args, option):
    bad = runner.invoke(app, ["backtest", *args])
    assert bad.exit_code == 2 and option in bad.output, bad.output
