"""Price grid (anchored edges, outside-grid counting) and snapshot helpers (curves, clusters)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liq_signals.engine.brackets import load_bracket_table
from liq_signals.engine.engine import EngineConfig, LiquidationEngine
from liq_signals.engine.grid import PriceGrid, bucket_of
from liq_signals.engine.inputs import OpenInterest
from liq_signals.engine.snapshot import LevelSnapshot
from liq_signals.errors import ConfigError


def test_fixed_edges_are_anchored_multiples_of_width():
    g = PriceGrid("fixed", width=25.0, tick_size=0.1)
    e1 = g.edges_around(40_013.7, 0.1)
    e2 = g.edges_around(41_977.3, 0.1)
    for e in (e1, e2):
        assert np.allclose(e / 25.0, np.round(e / 25.0))
    common = np.intersect1d(e1, e2)
    assert len(common) > 100  # overlapping ranges share exactly the same edges


def test_bps_edges_are_anchored_log_lattice():
    g = PriceGrid("bps", bps=10.0)
    e1 = g.edges_around(40_013.7, 0.1)
    e2 = g.edges_around(41_977.3, 0.1)
    step = math.log1p(10 / 1e4)
    for e in (e1, e2):
        k = np.log(e) / step
        assert np.allclose(k, np.round(k))
        assert np.allclose(e[1:] / e[:-1], 1.001)
    k1, k2 = np.round(np.log(e1) / step), np.round(np.log(e2) / step)
    shared = np.intersect1d(k1, k2)
    assert np.allclose(e1[np.isin(k1, shared)], e2[np.isin(k2, shared)], rtol=0, atol=0)


def test_width_must_be_multiple_of_tick():
    with pytest.raises(ConfigError, match="bucket_width"):
        PriceGrid("fixed", width=0.25, tick_size=0.1)


def test_bucket_of_marks_outside_and_nan():
    edges = np.array([10.0, 20.0, 30.0])
    b = bucket_of(np.array([5.0, 10.0, 19.99, 20.0, 30.0, 35.0, np.nan]), edges)
    assert list(b) == [-1, 0, 0, 1, 2, 2, -2]


def test_outside_grid_counted_not_clipped():
    table = load_bracket_table("BTCUSDT", "2025-08-19")
    cfg = EngineConfig(tiers=(5.0, 100.0), tier_weights=(1, 1), tier_half_life_hours=(1e9, 1e9))
    e = LiquidationEngine(cfg, bracket_table=table)
    t0 = 1_755_561_600 * 10**9
    e.observe(OpenInterest(t0, 1000.0, 1000.0 * 67_000))
    e.observe(OpenInterest(t0 + 1, 1001.0, 1001.0 * 67_000, 1.0))
    e.on_bar(t0 + 1, 67_000, 67_000, 67_000, 67_000)
    # 100x levels (66,596 / 67,400) inside, 5x levels (53,815 / 80,080) outside [60,000, 70,000]
    snap = e.snapshot(edges=np.arange(60_000.0, 70_001.0, 100.0))
    assert snap.long_total == pytest.approx(16_750.0)
    assert snap.short_total == pytest.approx(16_750.0)
    assert snap.outside_grid["long"]["below_count"] == 1
    assert snap.outside_grid["long"]["below_notional_usd"] == pytest.approx(16_750.0)
    assert snap.outside_grid["short"]["above_count"] == 1
    assert snap.outside_grid["short"]["above_notional_usd"] == pytest.approx(16_750.0)
    assert snap.long_notional[:, 0].sum() == 0.0 and snap.short_notional[:, -1].sum() == 0.0


def make_snapshot(long_by_bucket, short_by_bucket, price, edges):
    tiers = (10.0, 50.0)
    long = np.vstack([np.asarray(long_by_bucket) * 0.75, np.asarray(long_by_bucket) * 0.25])
    short = np.vstack([np.asarray(short_by_bucket) * 0.75, np.asarray(short_by_bucket) * 0.25])
    return LevelSnapshot("BTCUSDT", 0, price, "a", np.asarray(edges, float), tiers, long, short, {})


def test_cumulative_curves_sum_outward_from_price():
    edges = [100, 110, 120, 130, 140, 150]
    s = make_snapshot([1, 2, 0, 0, 0], [0, 0, 0, 4, 8], 125.0, edges)
    assert list(s.cumulative_long()) == [3, 2, 0, 0, 0]
    assert list(s.cumulative_short()) == [0, 0, 0, 4, 12]


def test_clusters_merge_adjacent_buckets_and_sort_by_notional():
    edges = [100, 110, 120, 130, 140, 150, 160]
    s = make_snapshot([1, 2, 0, 5, 0, 0], [0, 0, 0, 0, 4, 8], 135.0, edges)
    cl = s.clusters(min_share=0.0)
    assert [(c.side, c.price_low, c.price_high, c.notional_usd) for c in cl] == [
        ("short", 140, 160, 12),
        ("long", 130, 140, 5),
        ("long", 100, 120, 3),
    ]
    assert cl[0].distance_bps == pytest.approx((140 - 135) / 135 * 1e4)
    assert cl[1].distance_bps == 0.0  # price inside the band
    assert cl[2].distance_bps == pytest.approx((135 - 120) / 135 * 1e4)
    assert cl[0].tiers == {10.0: 9.0, 50.0: 3.0}
    assert len(s.clusters(top_k=2, min_share=0.0)) == 2
    assert s.nearest_long_below(min_share=0.0).price_low == 130
    assert s.nearest_short_above(min_share=0.0).price_low == 140
    # a share threshold drops small buckets: long 1 (< 20% of 5) is no longer part of a cluster
    assert [(c.price_low, c.notional_usd) for c in s.clusters(min_share=0.3) if c.side == "long"] == [
        (130, 5),
        (110, 2),
    ]


def _runs_by_hand(by, floor, min_share):
    peak = max(by) if len(by) else 0.0
    member = [v > 0 and v >= floor and v >= min_share * peak for v in by]
    runs, i = [], 0
    while i < len(by):
        if member[i]:
            j = i
            while j + 1 < len(by) and member[j + 1]:
                j += 1
            runs.append((i, j, sum(by[i : j + 1])))
            i = j + 1
        else:
            i += 1
    return runs


@settings(max_examples=80, deadline=None)
@given(
    data=st.data(), n=st.integers(1, 60), floor=st.sampled_from([0.0, 0.5, 2.0]), min_share=st.sampled_from([0.0, 0.3])
)
def test_cluster_tables_both_sides_equal_runs_found_by_hand(data, n, floor, min_share):
    from liq_signals.engine.snapshot import cluster_tables

    values = st.sampled_from([0.0, 0.0, 0.2, 1.0, 3.5, 10.0])
    totals = np.array([data.draw(st.lists(values, min_size=n, max_size=n)) for _ in range(2)])
    edges = 100.0 + np.arange(n + 1)
    tables = cluster_tables(totals, edges, min_share, floor)
    for row, side in enumerate(("long", "short")):
        t = tables[side]
        want = _runs_by_hand(list(totals[row]), floor, min_share)
        assert t.side == side and [(int(a), int(b)) for a, b in zip(t.first, t.last)] == [(a, b) for a, b, _ in want]
        assert t.notional_usd.tolist() == pytest.approx([v for _, _, v in want], rel=1e-12)
        assert t.price_low.tolist() == [edges[a] for a, _, _ in want]
        assert t.price_high.tolist() == [edges[b + 1] for _, b, _ in want]


@settings(max_examples=40, deadline=None)
@given(data=st.data(), n=st.integers(1, 60), factor=st.floats(0.01, 1.0))
def test_cluster_tables_reusing_earlier_runs_equal_a_fresh_computation(data, n, factor):
    """Decay shrinks every bucket; while the members stay the same the actor reuses the runs and sums the
    notionals again: bitwise what a fresh computation gives."""
    from liq_signals.engine.snapshot import cluster_tables, member_buckets

    values = st.sampled_from([0.0, 0.0, 0.2, 1.0, 3.5, 10.0])
    totals = np.array([data.draw(st.lists(values, min_size=n, max_size=n)) for _ in range(2)])
    edges = 100.0 + np.arange(n + 1)
    before = cluster_tables(totals, edges)
    later = totals * factor  # no bucket crosses 0, so the members are the same
    member = member_buckets(later)
    assert np.array_equal(member, member_buckets(totals))
    reused, fresh = cluster_tables(later, edges, member=member, same_runs_as=before), cluster_tables(later, edges)
    for side in ("long", "short"):
        for field in ("price_low", "price_high", "notional_usd", "first", "last"):
            assert np.array_equal(getattr(reused[side], field), getattr(fresh[side], field)), (side, field)
