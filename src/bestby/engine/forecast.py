"""The forecast of a period's won amount, as of a date: expected value, P10, P50 and P90, and each deal's share.

For a fiscal period P (:mod:`bestby.engine.periods`) and a moment ``as_of``,
per level (``owner``, ``team``, ``pipeline``, and ``all``: every deal) and key, the amount won in P is

    W = won + sum over open deals i of a_i * B_i + sum over j = 1..N of A_j

``won``
    the amount already won in P up to ``as_of`` (certain).
``B_i``
    Bernoulli(p_i), independent: deal i (open at ``as_of``, amount a_i, an
    unknown amount counts 0) wins before P ends with p_i = P(win within h
    days | open at its age) from the engine's win model at its stage
    (:mod:`bestby.engine.win`), h = days from ``as_of`` to P's end. A deal of
    a pipeline without a model (too little history) adds nothing and is
    counted in ``unmodelled_n``.
``N, A_j``
    the deals not created yet that will be created and won before P ends: N ~
    Poisson(lambda), where lambda is the key's mean count of deals *created
    and won* inside a window of h days, over the ``k = max(1, floor(L / h))``
    consecutive windows of h days just before ``as_of`` (L = ``lookback_days``,
    365: a year of seasons); the amounts A_j are drawn from those deals' won
    amounts (a bootstrap). Windows are of the same length as what is left of
    P because the faster a window, the fewer deals fit in it whole.

The distribution is simulated, not guessed: ``sims`` (10,000) draws with a
fixed ``seed`` (so a forecast is reproducible, and a backtest's figures do
not move between runs). The open deals' draws are shared by the levels: in
each draw a team's sum is the sum of its owners' (and a pipeline's of its
deals'). The new-deal part is drawn per key (a team's rate is measured on
the team's own history, which is not the sum of its owners' draws).
Quantiles are type 7 (NumPy's default, linear between order statistics).
With 10,000 draws the P10 and P90 carry a Monte Carlo error of about
0.003 in probability (sqrt(0.1 x 0.9 / 10,000)); the expected value is exact
(sum of a_i p_i plus lambda x mean(A)), not the draws' mean.

``deals`` lists each open deal's contribution a_i x p_i, for the "every
forecast lists each deal's contribution" requirement; sorted by contribution.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Mapping

import numpy as np

from bestby.engine.coverage import ALL_LEVELS, LEVELS, Chance, _keys, _teams, midnight, open_deals_and_chances
from bestby.engine.periods import Period
from bestby.engine.rules import Policies
from bestby.engine.sources import as_utc
from bestby.engine.win import WinModel

__all__ = ["SEED", "SIMS", "forecast"]

SIMS = 10_000
SEED = 20_26
_CHUNK = 512  # open deals drawn at once: _CHUNK x sims floats (~40 MB at 10,000 draws)
_DAY = 86_400.0


def _won_deals(tables, as_of: datetime, since: datetime) -> list[dict]:
    d = tables["deals"]
    d = d.filter((d.status == "won") & (d.closed_at >= since) & (d.closed_at <= as_of))
    # ordered: float sums (and the bootstrap pool) must not depend on the order a parallel scan returns rows in
    return (d.select("deal_id", "owner_id", "pipeline", "amount", "created_at", "closed_at").order_by("deal_id")
            .to_pyarrow().to_pylist())


def _new_deal_rates(won: list[dict], as_of: datetime, horizon: float, lookback_days: int,
                    teams: Mapping[str, str]) -> dict[tuple[str, str], tuple[float, list[float]]]:
    """Per key: (lambda, the won amounts of the deals created and won inside one window)."""
    if horizon <= 0:
        return {}
    width = timedelta(days=horizon)
    k = max(1, math.floor(lookback_days / horizon))
    counts: dict[tuple[str, str], int] = {}
    pools: dict[tuple[str, str], list[float]] = {}
    for d in won:
        created, closed = as_utc(d["created_at"]), as_utc(d["closed_at"])
        # the window holding the creation: windows are [as_of - (j + 1) w, as_of - j w), j = 0..k-1
        j = math.floor((as_of - created) / width) if created < as_of else -1
        if not 0 <= j < k or closed >= as_of - j * width:
            continue
        for key in _keys(d["owner_id"], d["pipeline"], teams):
            counts[key] = counts.get(key, 0) + 1
            pools.setdefault(key, []).append(float(d["amount"] or 0.0))
    return {key: (counts[key] / k, pools[key]) for key in counts}


def _quantiles(draws: np.ndarray) -> tuple[float, float, float]:
    p10, p50, p90 = np.quantile(draws, [0.1, 0.5, 0.9])
    return float(p10), float(p50), float(p90)


def forecast(tables: dict, *, as_of: datetime, period: Period, policy: Policies | None = None, levels=LEVELS,
             lookback_days: int = 365, sims: int = SIMS, seed: int = SEED, model: WinModel | None = None,
             chance: Chance | None = None, rows: list[dict] | None = None, calibrated: bool = True) -> dict:
    """``{"rows": [...per level and key...], "deals": [...per open deal...]}`` (see the module docstring).

    Row fields: level, key, period, as_of, won, open_expected, new_rate, new_expected, expected, p10, p50,
    p90, open_n, unmodelled_n. Deal fields: deal_id, owner_id, team, pipeline, amount, p, contribution.
    """
    as_of = as_utc(as_of)
    if sims < 1:
        raise ValueError(f"sims: {sims} is not a number of draws (1 or more)")
    rows, chance, horizon, calibration = open_deals_and_chances(
        tables, as_of=as_of, period=period, policy=policy, model=model, chance=chance, rows=rows,
        calibrated=calibrated)
    start, end = midnight(period.start), midnight(period.end)
    teams = _teams(tables)
    rng = np.random.default_rng(seed)

    # the keys, the open deals and which keys each deal counts for
    index: dict[tuple[str, str], int] = {}
    info: dict[tuple[str, str], dict] = {}

    def key_index(key: tuple[str, str]) -> int:
        if key not in index:
            index[key] = len(index)
            info[key] = {"won": 0.0, "open_expected": 0.0, "open_n": 0, "unmodelled_n": 0}
        return index[key]

    amounts, probs, members, deals, states = [], [], [], [], []
    for r in rows:
        amount = float(r["amount"] or 0.0)
        raw_p = chance(r, horizon) if horizon > 0 else 0.0
        modelled = raw_p is not None and not (isinstance(raw_p, float) and math.isnan(raw_p))
        p = calibration.chance(raw_p, r["state"]) if calibration is not None and modelled else raw_p
        keys = _keys(r["owner_id"], r["pipeline"], teams)
        for key in keys:
            key_index(key)
            info[key]["open_n"] += 1
            if modelled:
                info[key]["open_expected"] += amount * p
            else:
                info[key]["unmodelled_n"] += 1
        p = float(p) if modelled else 0.0
        amounts.append(amount)
        probs.append(float(raw_p) if modelled else 0.0)
        states.append(r["state"])
        members.append([index[k] for k in keys])
        deals.append({"deal_id": r["deal_id"], "owner_id": r["owner_id"], "team": teams.get(r["owner_id"]),
                      "pipeline": r["pipeline"], "amount": r["amount"], "p": p if modelled else None,
                      "contribution": amount * p})

    won = _won_deals(tables, as_of, min(start, as_of - timedelta(days=lookback_days)))
    for d in won:
        if start <= as_utc(d["closed_at"]) < end:
            for key in _keys(d["owner_id"], d["pipeline"], teams):
                key_index(key)
                info[key]["won"] += float(d["amount"] or 0.0)
    rates = _new_deal_rates(won, as_of, horizon, lookback_days, teams)
    for key in rates:
        key_index(key)

    # the open deals' draws, shared by every key a deal counts for; with a calibration, each draw first
    # draws each freshness state's ratio (one per state per draw: a common factor of the state's deals)
    totals = np.zeros((len(index), sims))
    a, p = np.asarray(amounts), np.asarray(probs)
    ratios = state_of = None
    if calibration is not None:
        names = sorted(set(states))
        ratios = calibration.draws(names, sims, rng)
        state_of = np.asarray([names.index(s) for s in states], dtype=np.int64)
    for lo in range(0, len(a), _CHUNK):
        hi = min(lo + _CHUNK, len(a))
        chunk_p = p[lo:hi, None] if ratios is None else np.minimum(1.0, p[lo:hi, None] * ratios[state_of[lo:hi]])
        wins = rng.random((hi - lo, sims)) < chunk_p
        contrib = wins * a[lo:hi, None]
        for i in range(hi - lo):
            for k in members[lo + i]:
                totals[k] += contrib[i]

    out = []
    for key in sorted(index, key=lambda k: (ALL_LEVELS.index(k[0]), k[1])):
        if key[0] not in levels:
            continue
        row = info[key]
        lam, pool = rates.get(key, (0.0, []))
        draws = totals[index[key]] + row["won"]
        if lam > 0 and pool:
            n = rng.poisson(lam, sims)
            picks = rng.choice(np.asarray(pool), size=int(n.sum()))
            draws = draws + np.bincount(np.repeat(np.arange(sims), n), weights=picks, minlength=sims)
        new_expected = lam * (sum(pool) / len(pool)) if pool else 0.0
        p10, p50, p90 = _quantiles(draws)
        out.append({"level": key[0], "key": key[1], "period": period.label, "as_of": as_of, "won": row["won"],
                    "open_expected": row["open_expected"], "new_rate": lam, "new_expected": new_expected,
                    "expected": row["won"] + row["open_expected"] + new_expected, "p10": p10, "p50": p50,
                    "p90": p90, "open_n": row["open_n"], "unmodelled_n": row["unmodelled_n"]})
    deals.sort(key=lambda d: (-d["contribution"], d["deal_id"]))
    return {"rows": out, "deals": deals, "calibration": None if calibration is None else calibration.as_dict()}
