"""Hypothesis properties on synthetic streams: no lookahead, arrival-order independence, invariants."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from liq_signals.engine.brackets import load_bracket_table
from liq_signals.engine.engine import EngineConfig, LiquidationEngine
from liq_signals.engine.inputs import Funding, OpenInterest, Trade

T0 = 1_700_000_000 * 10**9
BAR = 900 * 10**9
TABLE = load_bracket_table("BTCUSDT", "2023-11-15")
CFG = EngineConfig(model="ensemble", trade_min_notional_usd=10_000.0, input_lookback_hours=48.0)


@st.composite
def streams(draw):
    n_bars = draw(st.integers(4, 12))
    steps = draw(st.lists(st.floats(-0.03, 0.03), min_size=n_bars, max_size=n_bars))
    closes = 40_000 * np.exp(np.cumsum(steps))
    bars = []
    for i, c in enumerate(closes):
        wick = draw(st.floats(0.0, 0.04))
        bars.append((T0 + (i + 1) * BAR, c, c * (1 + wick), c * (1 - wick), c, 100.0, draw(st.floats(0, 100))))
    obs = []
    oi = 10_000.0
    for i in range(n_bars * 3):
        oi *= 1 + draw(st.floats(-0.02, 0.03))
        t = T0 + (i + 1) * BAR // 3
        price = closes[min(i // 3, n_bars - 1)]
        obs.append(("oi", (t, oi, oi * price, draw(st.one_of(st.none(), st.floats(0.2, 5.0))))))
    for _ in range(draw(st.integers(0, 3))):
        t = T0 + draw(st.integers(1, n_bars)) * BAR
        obs.append(("funding", (t, draw(st.floats(-0.001, 0.001)), None)))
    for _ in range(draw(st.integers(0, 15))):
        t = T0 + draw(st.integers(1, n_bars * BAR // 10**9)) * 10**9
        obs.append(
            ("trade", (t, 40_000.0 * draw(st.floats(0.9, 1.1)), draw(st.floats(0.01, 5.0)), draw(st.booleans())))
        )
    return bars, obs


def run(bars, obs, order_seed=None, until=None):
    e = LiquidationEngine(CFG, bracket_table=TABLE)
    rng = np.random.default_rng(order_seed)
    obs = list(obs)
    if order_seed is not None:
        rng.shuffle(obs)  # arbitrary arrival order (all queued before the bars)
    rec = {"oi": OpenInterest, "funding": Funding, "trade": Trade}
    for kind, args in obs:
        e.observe(rec[kind](*args))
    snaps = []
    for b in bars:
        if until is not None and b[0] > until:
            break
        e.on_bar(*b)
        snaps.append(e.snapshot(edges=np.arange(20_000.0, 80_001.0, 100.0)))
        for m in e.models.values():
            book = m.book
            assert np.all(np.isfinite(book.notional)) and np.all(book.notional >= 0)
            if getattr(m, "oi_value_usd", None) is not None:
                assert book.total(1) <= m.oi_value_usd * (1 + 1e-9)
                assert book.total(-1) <= m.oi_value_usd * (1 + 1e-9)
    return snaps


@settings(max_examples=40, deadline=None)
@given(streams(), st.integers(0, 10), st.integers(0, 2**16))
def test_no_lookahead_and_order_independence(data, cut, seed):
    bars, obs = data
    cut_ts = bars[min(cut, len(bars) - 1)][0]
    base = run(bars, obs)
    # arrival order does not matter
    for a, b in zip(base, run(bars, obs, order_seed=seed)):
        np.testing.assert_array_equal(a.long_notional, b.long_notional)
        np.testing.assert_array_equal(a.short_notional, b.short_notional)
    # replacing every observation stamped after cut_ts leaves snapshots up to cut_ts unchanged
    rng = np.random.default_rng(seed)
    changed = []
    for kind, args in obs:
        if args[0] > cut_ts:
            args = (args[0],) + tuple(v * rng.uniform(0.5, 1.5) if isinstance(v, float) else v for v in args[1:])
        changed.append((kind, args))
    other = run(bars, changed, until=cut_ts)
    for a, b in zip(base, other):
        assert a.ts_ns <= cut_ts
        np.testing.assert_array_equal(a.long_notional, b.long_notional)
        np.testing.assert_array_equal(a.short_notional, b.short_notional)
    for s in base:
        assert np.all(s.long_notional >= 0) and np.all(np.isfinite(s.long_notional))
        assert np.all(s.short_notional >= 0) and np.all(np.isfinite(s.short_notional))
