"""Proximity signals (engine code, no Nautilus): tracker rules on hand-made clusters, the nearest-band search
against a plain scan, the quiet interval, and the exact quiet-bar skip on the real sample."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liq_signals.engine.engine import EngineConfig, LiquidationEngine
from liq_signals.engine.feeder import InputFeeder
from liq_signals.engine.signals import (
    ProximityConfig,
    ProximitySignals,
    ProximityTracker,
    distance_bps,
    nearest_qualifying,
    quiet_interval,
)
from liq_signals.engine.snapshot import ClusterTable, cluster_tables
from liq_signals.errors import ConfigError


def tables(*clusters) -> dict[str, ClusterTable]:
    """{'long', 'short'} tables from (side, low, high, notional) tuples (bands ascending per side)."""
    out = {}
    for side in ("long", "short"):
        mine = sorted(c[1:] for c in clusters if c[0] == side)
        lo, hi, v = (np.array([c[i] for c in mine], dtype=float) for i in range(3))
        idx = np.arange(len(mine))
        out[side] = ClusterTable(side, lo, hi, v, idx, idx)
    return out


def test_distance_bps_hand_values():
    assert distance_bps(100.0, 99.0, 99.5) == pytest.approx(50.0)  # 0.5 below a price of 100
    assert distance_bps(100.0, 101.0, 102.0) == pytest.approx(100.0)
    assert distance_bps(100.0, 99.0, 101.0) == 0.0


def test_nearest_qualifying_respects_side_thresholds_and_share():
    t = tables(("long", 98.0, 99.0, 10.0), ("long", 90.0, 91.0, 90.0), ("short", 101.0, 102.0, 5.0))
    assert nearest_qualifying(t["long"], 100.0, 0.0, 0.0).price_low == 98.0  # the small one is nearest
    # a notional floor of 50 skips it; share 0.5 of the long total (100) does too
    assert nearest_qualifying(t["long"], 100.0, 50.0, 0.0).price_low == 90.0
    assert nearest_qualifying(t["long"], 100.0, 0.0, 0.5).price_low == 90.0
    assert nearest_qualifying(t["short"], 103.0, 0.0, 0.0) is None  # nothing above 102 at price 103


def test_tracker_enter_left_swept_and_cooldown():
    tr = ProximityTracker(ProximityConfig(proximity_bps=100.0, cooldown_bars=2))
    near = tables(("long", 98.5, 99.2, 10.0))  # 80 bps below 100
    far = tables(("long", 90.0, 91.0, 10.0))
    ev = tr.step(1, high=100.5, low=99.5, close=100.0, tables=near)
    assert [(e.event, e.cluster.side) for e in ev] == [("entered", "long")]
    assert ev[0].cluster.distance_bps == pytest.approx(80.0)
    assert tr.step(2, 100.5, 99.5, 100.0, near) == []  # still inside: no event
    assert [e.event for e in tr.step(3, 100.5, 99.5, 100.0, far)] == ["left"]
    assert tr.step(4, 100.5, 99.5, 100.0, near) == []  # cooldown: 1 bar since exit < 2
    assert [e.event for e in tr.step(5, 100.5, 99.5, 100.0, near)] == ["entered"]
    ev = tr.step(6, 100.5, 98.4, 98.6, near)  # low 98.4 <= price_low 98.5: traded through
    assert [e.event for e in ev] == ["swept"] and ev[0].cluster.price_low == 98.5


@pytest.mark.parametrize(
    ("side", "band", "bar", "kind"),
    [
        # long band 98.5-99.2 below a close of 100; next bar: into the band but not through it -> touched
        ("long", (98.5, 99.2), (100.2, 99.0, 99.6), "touched"),
        ("long", (98.5, 99.2), (100.2, 99.2, 99.6), "touched"),  # the band's top edge counts as reached
        ("long", (98.5, 99.2), (100.9, 99.3, 100.8), "left"),  # never reached the band
        ("long", (98.5, 99.2), (100.2, 98.5, 99.0), "swept"),  # through the whole band
        # short band 100.8-101.5 above: into it -> touched; up to 101.5 -> swept
        ("short", (100.8, 101.5), (101.0, 99.8, 100.5), "touched"),
        ("short", (100.8, 101.5), (100.7, 99.5, 99.6), "left"),
        ("short", (100.8, 101.5), (101.5, 99.8, 100.5), "swept"),
    ],
)
def test_exit_events_say_how_far_the_price_got(side, band, bar, kind):
    """An active side exits as 'swept' (traded through), 'touched' (traded into, not through) or 'left'
    (not reached): here the cluster vanishes after the first bar, as a partly consumed band may."""
    tr = ProximityTracker(ProximityConfig(proximity_bps=100.0))
    assert [e.event for e in tr.step(1, 100.1, 99.9, 100.0, tables((side, *band, 10.0)))] == ["entered"]
    high, low, close = bar
    ev = tr.step(2, high, low, close, tables())
    assert [(e.event, e.cluster.price_low) for e in ev] == [(kind, band[0])]


def test_tracker_waits_for_warmup_and_short_side_sweeps_on_high():
    tr = ProximityTracker(ProximityConfig(proximity_bps=50.0))
    above = tables(("short", 100.3, 100.6, 5.0))  # 30 bps above
    assert tr.step(1, 100.1, 99.9, 100.0, above, warm=False) == []
    assert [e.event for e in tr.step(2, 100.1, 99.9, 100.0, above)] == ["entered"]
    assert [e.event for e in tr.step(3, 100.6, 99.9, 100.5, above)] == ["swept"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("proximity_bps", -1.0),
        ("min_share", 1.5),
        ("min_notional", "x"),
        ("cooldown_bars", 1.5),
        ("bucket_floor_usd", float("nan")),
    ],
)
def test_proximity_config_names_the_bad_field(field, value):
    with pytest.raises(ConfigError, match=field):
        ProximityConfig(**{field: value})


def test_quiet_interval_treats_bands_at_the_window_edge_and_large_bands_as_reachable():
    edges = np.arange(90.0, 111.0)  # buckets of 1 USDT from 90 to 110
    by = np.zeros(20)
    by[[0, 1]] = 5.0  # 90-92: small, but touches the window's low edge (more of it may lie below)
    by[4] = 5.0  # 94-95: small
    by[7] = 50.0  # 97-98: large
    by[13] = 5.0  # 103-104: small
    by[16] = 50.0  # 106-107: large
    t = cluster_tables(np.stack([by, np.zeros(20)]), edges)
    assert quiet_interval(t, 90.0, 110.0, 100.0, 10.0, 0.0) == (98.0, 106.0)
    by[7] = 0.0
    t = cluster_tables(np.stack([by, np.zeros(20)]), edges)
    assert quiet_interval(t, 90.0, 110.0, 100.0, 10.0, 0.0) == (92.0, 106.0)  # the edge band bounds it
    assert quiet_interval(t, 90.0, 110.0, 100.0, 10.0, 0.01) == (95.0, 103.0)  # shares can grow: all count
    assert quiet_interval(t, 90.0, 110.0, 106.5, 10.0, 0.0) is None  # a large band holds the price


def _plain_nearest(bands, side, price, min_notional, min_share):
    """The rule written as a scan: the qualifying band on its own side of ``price`` at the least distance
    (ties: larger notional, then lower band)."""
    total = sum(v for _, _, v in bands)
    best = None
    for lo, hi, v in bands:
        if (side == "long" and not lo < price) or (side == "short" and not hi > price):
            continue
        if v < min_notional or total <= 0 or v / total < min_share:
            continue
        key = (distance_bps(price, lo, hi), -v, lo)
        if best is None or key < best[0]:
            best = (key, (lo, hi, v))
    return None if best is None else best[1]


@settings(max_examples=80, deadline=None)
@given(
    data=st.data(),
    n=st.integers(1, 40),
    price=st.floats(95.0, 145.0),
    min_notional=st.sampled_from([0.0, 3.0, 8.0]),
    min_share=st.sampled_from([0.0, 0.2]),
)
def test_nearest_band_from_tables_equals_the_plain_search(data, n, price, min_notional, min_share):
    """The binary search on sorted bands picks what the plain scan picks."""
    values = st.sampled_from([0.0, 0.0, 1.0, 2.5, 6.0])
    totals = np.array([data.draw(st.lists(values, min_size=n, max_size=n)) for _ in range(2)])
    t = cluster_tables(totals, 100.0 + np.arange(n + 1) * 1.0)
    for side in ("long", "short"):
        bands = list(zip(t[side].price_low.tolist(), t[side].price_high.tolist(), t[side].notional_usd.tolist()))
        got = nearest_qualifying(t[side], price, min_notional, min_share)
        want = _plain_nearest(bands, side, price, min_notional, min_share)
        assert (None if got is None else (got.price_low, got.price_high, got.notional_usd)) == want


def _run_signals(inputs, engine_cfg, prox, warmup_bars, force_full=False):
    """Step the engine over ``inputs`` with the batch feeder, collecting the proximity events per bar."""
    engine = LiquidationEngine(engine_cfg)
    feeder = InputFeeder(inputs, engine)
    signals = ProximitySignals(prox)
    if force_full:
        signals._can_skip = lambda *a: False
    events, n = [], 0
    while feeder.next_bar_ns is not None:
        feeder.step()
        n += 1
        bar = inputs.bars.iloc[n - 1]
        warm = n >= warmup_bars and engine.initialized
        events += signals.on_bar(engine, engine.ts_ns, float(bar["high"]), float(bar["low"]), float(bar["close"]), warm)
    return events, signals.quiet_bars


@pytest.mark.parametrize(
    "prox",
    [
        ProximityConfig(proximity_bps=60.0, min_notional=1e7, cooldown_bars=4, bucket_floor_usd=3e6),
        ProximityConfig(proximity_bps=40.0, min_share=0.05),
    ],
)
def test_skipping_quiet_bars_changes_no_event(btc_month, prox):
    """The skip of bars where no event can happen (nothing active and nothing can enter) is exact: forcing the
    full cluster work on every bar gives exactly the same events."""
    cfg = EngineConfig(model="a", bucket_mode="fixed", bucket_width=50.0)
    fast, skipped = _run_signals(btc_month, cfg, prox, 96)
    full, none_skipped = _run_signals(btc_month, cfg, prox, 96, force_full=True)
    assert none_skipped == 0 and skipped > 50  # the shortcut is really taken ...
    assert len(fast) > 10 and fast == full  # ... and changes nothing
