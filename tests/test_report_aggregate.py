"""Report aggregation, equity and run-directory loading: hand-worked examples and invariants."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liq_signals.errors import InputFileError
from liq_signals.report.aggregate import (
    LevelProfile,
    heatmap_matrix,
    nice_step,
    price_grid,
    profile_overlap,
    spread_onto_grid,
)
from liq_signals.report.equity import equity_curve
from liq_signals.report.run_data import load_run, normalise_fills, normalise_heatmap

EDGES = np.array([0.0, 10.0, 20.0, 30.0, 40.0])


def test_band_spanning_bins_is_split_by_overlap():
    # [5, 30] with weight 25 (1 per USDT): 5 in bin 0, 10 in bin 1, 10 in bin 2, 0 in bin 3
    out = spread_onto_grid(np.array([5.0]), np.array([30.0]), np.array([25.0]), np.array([0]), EDGES, 1)
    np.testing.assert_allclose(out[:, 0], [5.0, 10.0, 10.0, 0.0])


def test_band_inside_one_bin_and_point_band():
    out = spread_onto_grid(
        np.array([21.0, 35.0]), np.array([29.0, 35.0]), np.array([7.0, 3.0]), np.array([0, 1]), EDGES, 2
    )
    np.testing.assert_allclose(out[:, 0], [0, 0, 7.0, 0])
    np.testing.assert_allclose(out[:, 1], [0, 0, 0, 3.0])


def test_band_partly_outside_grid_keeps_only_the_inside_part():
    out = spread_onto_grid(np.array([30.0]), np.array([50.0]), np.array([20.0]), np.array([0]), EDGES, 1)
    np.testing.assert_allclose(out[:, 0], [0, 0, 0, 10.0])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 39.0), st.floats(0, 15.0), st.floats(0.1, 1e6)), min_size=1, max_size=20))
def test_spread_conserves_weight_inside_the_grid(bands):
    lo = np.array([b[0] for b in bands])
    hi = np.minimum(lo + np.array([b[1] for b in bands]), 40.0)
    w = np.array([b[2] for b in bands])
    out = spread_onto_grid(lo, hi, w, np.zeros(len(lo), np.int64), EDGES, 1)
    assert out.min() >= -1e-6 * w.sum()
    assert out.sum() == pytest.approx(w.sum(), rel=1e-9)


def test_nice_step_and_grid_bounds():
    assert nice_step(37.0) == 50.0
    assert nice_step(0.21) == 0.25
    assert nice_step(100.0) == 100.0
    edges = price_grid(30_123.0, 52_987.0, 260)
    assert edges[0] <= 30_123.0 and edges[-1] >= 52_987.0
    assert len(edges) - 1 <= 260
    np.testing.assert_allclose(np.diff(edges), edges[1] - edges[0])


def _rows(times, side, tier, lo, hi, n):
    return normalise_heatmap(
        pd.DataFrame({"time": times, "side": side, "tier": tier, "price_low": lo, "price_high": hi, "notional_usd": n})
    )


def test_heatmap_column_is_the_mean_over_its_snapshots():
    t = pd.date_range("2024-01-01", periods=4, freq="h")
    # a long band present in 1 of the 2 snapshots of column 0 and in both of column 1; a short band in one
    # snapshot of each column (snapshots are known from their rows: long format keeps non-zero cells only)
    rows = _rows(
        [t[0], t[1], t[2], t[3], t[3]],
        ["long", "short", "long", "long", "short"],
        [10, 25, 10, 10, 25],
        [100.0, 300.0, 100.0, 100.0, 300.0],
        [200.0, 400.0, 200.0, 200.0, 400.0],
        [100.0, 50.0, 100.0, 100.0, 50.0],
    )
    m = heatmap_matrix(rows, max_cols=2, max_rows=4, price_range=(100.0, 400.0))
    assert list(m.snapshots_per_col) == [2, 2]
    assert m.long[:, 0].sum() == pytest.approx(50.0)  # (100 + 0) / 2
    assert m.long[:, 1].sum() == pytest.approx(100.0)
    assert m.short[:, 0].sum() == pytest.approx(25.0)
    assert m.short[:, 1].sum() == pytest.approx(25.0)
    assert set(m.dominant_tier()[m.total > 0].tolist()) <= {10, 25}


def test_heatmap_matrix_caps_its_size():
    rng = np.random.default_rng(1)
    t = pd.date_range("2024-01-01", periods=2000, freq="5min").repeat(3)
    lo = rng.uniform(30_000, 50_000, len(t))
    rows = _rows(t, "long", 25, lo, lo + 50, rng.uniform(1, 1e6, len(t)))
    m = heatmap_matrix(rows, max_cols=300, max_rows=120)
    assert m.long.shape[1] <= 300 and m.long.shape[0] <= 120
    # each column is a mean, so the sum over columns weighted by snapshots equals the total notional
    assert (m.long.sum(axis=0) * m.snapshots_per_col).sum() == pytest.approx(rows["notional_usd"].sum(), rel=1e-9)


def test_cumulative_curves_hand_example():
    edges = np.array([90.0, 95.0, 100.0, 105.0, 110.0])
    p = LevelProfile(
        time=np.datetime64("2024-01-01"),
        price=100.0,
        edges=edges,
        tiers=np.array([10]),
        long=np.array([[3.0, 2.0, 0.0, 0.0]]),
        short=np.array([[0.0, 0.0, 4.0, 1.0]]),
    )
    np.testing.assert_allclose(p.cumulative_long(), [5.0, 2.0, np.nan, np.nan])
    np.testing.assert_allclose(p.cumulative_short(), [np.nan, np.nan, 4.0, 5.0])


def test_cumulative_curves_use_the_engine_rule_for_the_bin_holding_the_price():
    # price 102 inside bin [100, 105): its low edge is below the price, so its longs count (engine rule:
    # buckets whose low edge < price), and its high edge is above, so its shorts count as well
    edges = np.array([90.0, 95.0, 100.0, 105.0, 110.0])
    p = LevelProfile(
        time=np.datetime64("2024-01-01"),
        price=102.0,
        edges=edges,
        tiers=np.array([10, 25]),
        long=np.array([[3.0, 2.0, 1.0, 0.0], [1.0, 0.0, 0.5, 0.0]]),
        short=np.array([[0.0, 0.0, 4.0, 1.0], [0.0, 0.0, 0.0, 2.0]]),
    )
    np.testing.assert_allclose(p.cumulative_long(), [7.5, 3.5, 1.5, np.nan])
    np.testing.assert_allclose(p.cumulative_short(), [np.nan, np.nan, 4.0, 7.0])


def test_cumulative_curves_agree_with_level_snapshot():
    from liq_signals.engine.snapshot import LevelSnapshot

    rng = np.random.default_rng(3)
    edges = np.linspace(100.0, 200.0, 41)
    long, short = rng.uniform(0, 5, (3, 40)), rng.uniform(0, 5, (3, 40))
    for price in (100.0, 133.3, 150.0, 199.99):
        p = LevelProfile(
            time=np.datetime64("2024-01-01"),
            price=price,
            edges=edges,
            tiers=np.array([5, 10, 25]),
            long=long,
            short=short,
        )
        snap = LevelSnapshot("X", 0, price, "a", edges, (5.0, 10.0, 25.0), long, short, {})
        np.testing.assert_allclose(np.nan_to_num(p.cumulative_long()), snap.cumulative_long())
        np.testing.assert_allclose(np.nan_to_num(p.cumulative_short()), snap.cumulative_short())


def test_profile_overlap_bounds():
    a = np.array([1.0, 2.0, 0.0])
    assert profile_overlap(a, 3 * a) == pytest.approx(1.0)
    assert profile_overlap(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == 0.0
    assert profile_overlap(np.array([1.0, 1.0]), np.array([1.0, 0.0])) == pytest.approx(0.5)


def test_equity_hand_example():
    bars = pd.DataFrame({"ts": pd.date_range("2024-01-01", periods=3, freq="h"), "close": [100.0, 105.0, 110.0]})
    fills = pd.DataFrame(
        {
            "ts": [bars.ts[0], bars.ts[2]],
            "order_side": ["BUY", "SELL"],
            "qty": [1.0, 1.0],
            "price": [100.0, 110.0],
            "commission": [0.1, 0.1],
        }
    )
    eq = equity_curve(bars, fills, 1000.0)
    np.testing.assert_allclose(eq["equity"], [999.9, 1004.9, 1009.8])
    np.testing.assert_allclose(eq["position"], [1.0, 1.0, 0.0])
    assert (eq["drawdown_pct"] <= 0).all()


def test_run_dir_roles_and_equity_match_the_account(tmp_path):
    from report_fixtures import build_run_dir, synth_trades

    run = build_run_dir(tmp_path, n_bars=300, every=8)
    data = load_run(run)
    _, _, _, _, trips, end_balance = synth_trades(data.bars)
    entries = data.fills[data.fills.role == "entry"]
    assert len(entries) == len(trips) and len(data.fills) == 2 * len(trips)
    # entries alternate long/short like the trips; every exit is on the opposite side of its entry
    assert list(entries.order_side) == ["BUY" if s == "LONG" else "SELL" for _, _, s in trips]
    eq = equity_curve(data.bars, data.fills, float(data.account.balance.iloc[0]))
    # after the last round trip the strategy is flat: mark-to-market equity equals the realised balance
    assert eq["position"].iloc[-1] == 0
    assert eq["equity"].iloc[-1] == pytest.approx(end_balance, abs=1e-6)
    assert data.account.balance.iloc[-1] == pytest.approx(end_balance, abs=1e-6)


def test_fill_roles_without_positions_follow_the_net_position():
    fills = pd.DataFrame(
        {
            "ts_event": ["2024-01-01T00:00Z", "2024-01-01T01:00Z", "2024-01-01T02:00Z"],
            "order_side": ["SELL", "BUY", "BUY"],
            "last_px": [1, 1, 1],
            "last_qty": [2, 2, 1],
        }
    )
    assert list(normalise_fills(fills).role) == ["entry", "exit", "entry"]


def test_missing_bars_and_bad_heatmap_are_user_errors(tmp_path):
    with pytest.raises(InputFileError, match="bars.parquet"):
        load_run(tmp_path)
    pd.DataFrame(
        {
            "ts": pd.date_range("2024-01-01", periods=2, freq="h", tz="UTC"),
            "open": 1.0,
            "high": 1.0,
            "low": 1.0,
            "close": 1.0,
            "volume": 1.0,
        }
    ).to_parquet(tmp_path / "bars.parquet")
    pd.DataFrame({"time": [1], "side": ["long"]}).to_parquet(tmp_path / "heatmap.parquet")
    with pytest.raises(InputFileError, match="field 'tier'"):
        load_run(tmp_path)
