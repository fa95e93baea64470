"""The engine on the shipped BTCUSDT 2023-11 sample (real Binance klines, metrics and funding):
no lookahead, arrival-order independence, invariants, and the 2023-12-11 02:00 flush."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from liq_signals.engine.batch import levels_at, run_heatmap, to_ns
from liq_signals.engine.engine import EngineConfig, LiquidationEngine
from liq_signals.engine.feeder import InputFeeder
from liq_signals.engine.inputs import Funding, MarketInputs, OpenInterest, Trade


@pytest.fixture(scope="module")
def month(btc_month) -> MarketInputs:
    return btc_month


def with_trades(inputs: MarketInputs) -> MarketInputs:
    """Add synthetic large trades (one per bar, 1 min before its close) so model C has input."""
    b = inputs.bars
    rng = np.random.default_rng(3)
    trades = pd.DataFrame(
        {
            "ts_ns": b["ts_ns"].to_numpy() - 60 * 10**9,
            "price": b["close"].to_numpy(),
            "quantity": rng.uniform(1.0, 10.0, len(b)),
            "is_buyer_maker": rng.random(len(b)) < 0.5,
        }
    )
    return replace(inputs, trades=trades)


def window(inputs: MarketInputs, start, end) -> MarketInputs:
    lo, hi = to_ns(start), to_ns(end)
    cut = {k: getattr(inputs, k) for k in ("bars", "mark_price", "open_interest", "funding", "trades")}
    cut = {k: v[(v["ts_ns"] >= lo) & (v["ts_ns"] <= hi)].reset_index(drop=True) for k, v in cut.items()}
    return replace(inputs, **cut)


def perturb_after(inputs: MarketInputs, t_ns: int, seed: int) -> MarketInputs:
    rng = np.random.default_rng(seed)
    out = {}
    for name in ("bars", "open_interest", "funding", "trades"):
        df = getattr(inputs, name).copy()
        late = df["ts_ns"] > t_ns
        for col in df.columns:
            if col in ("ts_ns", "is_buyer_maker"):
                continue
            df.loc[late, col] = df.loc[late, col] * rng.uniform(0.5, 1.5, late.sum())
        out[name] = df
    return replace(inputs, **out)


CFG_SMALL = dict(bucket_bps=20.0)


@pytest.mark.parametrize("model", ["b", "ensemble"])
@pytest.mark.parametrize("t", ["2023-12-09 13:07", "2023-12-11 02:00"])
def test_inputs_after_t_do_not_change_snapshot_at_t(month, model, t):
    inputs = window(with_trades(month), "2023-12-05", "2023-12-12")
    cfg = EngineConfig(model=model, **CFG_SMALL)
    t_ns = to_ns(t)
    base = levels_at(inputs, cfg, t_ns)
    for seed in (1, 2):
        other = levels_at(perturb_after(inputs, t_ns, seed), cfg, t_ns)
        assert other.ts_ns == base.ts_ns and other.price == base.price
        np.testing.assert_array_equal(other.edges, base.edges)
        np.testing.assert_array_equal(other.long_notional, base.long_notional)
        np.testing.assert_array_equal(other.short_notional, base.short_notional)
    # and the perturbation is not a no-op: snapshots later than t do change
    later = to_ns(t) + 6 * 3_600 * 10**9
    assert not np.array_equal(
        levels_at(inputs, cfg, later).long_notional, levels_at(perturb_after(inputs, t_ns, 1), cfg, later).long_notional
    )


def test_shuffled_single_steps_equal_batch_heatmap(month):
    inputs = window(with_trades(month), "2023-12-08", "2023-12-11 06:00")
    cfg = EngineConfig(model="ensemble", **CFG_SMALL)
    hm = run_heatmap(inputs, cfg, "2023-12-09", "2023-12-11 06:00", "1h")
    rng = np.random.default_rng(11)
    e = LiquidationEngine(cfg)
    events = []
    for r in inputs.open_interest.itertuples(index=False):
        events.append((r.ts_ns, "oi", (r.ts_ns, r.open_interest, r.open_interest_value, r.taker_ratio)))
    for r in inputs.funding.itertuples(index=False):
        events.append((r.ts_ns, "funding", (r.ts_ns, r.rate, r.mark_price)))
    for r in inputs.trades.itertuples(index=False):
        events.append((r.ts_ns, "trade", (r.ts_ns, r.price, r.quantity, r.is_buyer_maker)))
    events.sort(key=lambda x: x[0])
    bars = list(inputs.bars.itertuples(index=False))
    times = list(hm.times_ns)
    long_manual = np.zeros_like(hm.long_tiers)
    short_manual = np.zeros_like(hm.short_tiers)
    j = 0
    k = 0
    for i, bar in enumerate(bars):
        due = []
        while j < len(events) and events[j][0] <= bar.ts_ns:
            due.append(events[j])
            j += 1
        rng.shuffle(due)  # arrival order inside the bar must not matter
        for _, kind, args in due:
            e.observe({"oi": OpenInterest, "funding": Funding, "trade": Trade}[kind](*args))
        e.on_bar(bar.ts_ns, bar.open, bar.high, bar.low, bar.close, bar.volume, bar.taker_buy_volume)
        next_ts = bars[i + 1].ts_ns if i + 1 < len(bars) else np.iinfo(np.int64).max
        while k < len(times) and bar.ts_ns <= times[k] < next_ts:
            snap = e.snapshot(edges=hm.edges)
            long_manual[k], short_manual[k] = snap.long_notional, snap.short_notional
            k += 1
    assert k == len(times)
    np.testing.assert_array_equal(long_manual, hm.long_tiers)
    np.testing.assert_array_equal(short_manual, hm.short_tiers)
    assert hm.long_tiers.sum() > 0 and hm.short_tiers.sum() > 0


def test_month_invariants_model_a(month):
    e = LiquidationEngine(EngineConfig(model="a"))
    feeder = InputFeeder(month, e)
    model = e.models["a"]
    starts, lows, highs, closes, ends = [], [], [], [], []
    prev = None
    checked = 0
    while feeder.next_bar_ns is not None:
        i = feeder.bar_i
        feeder.step()
        b = month.bars.iloc[i]
        starts.append(prev if prev is not None else int(b.ts_ns) - 1)
        ends.append(int(b.ts_ns))
        lows.append(b.low)
        highs.append(b.high)
        closes.append(b.close)
        prev = int(b.ts_ns)
        book = model.book
        if book.n == 0:
            continue
        notional, lp, side = book.notional, book.lp, book.side
        assert np.all(np.isfinite(notional)) and np.all(notional >= 0)
        if model.oi_value_usd is not None:
            assert book.total(1) <= model.oi_value_usd * (1 + 1e-9)
            assert book.total(-1) <= model.oi_value_usd * (1 + 1e-9)
        # every long's LP is below the close, every short's above it
        assert np.all(lp[side == 1] < b.close) and np.all(lp[side == -1] > b.close)
        if i % 40 == 0:
            # consumed levels never come back: each alive long is below the lowest low of every bar that
            # started after its birth (shorts: above the highest high)
            st = np.asarray(starts)
            suffix_low = np.minimum.accumulate(np.asarray(lows)[::-1])[::-1]
            suffix_high = np.maximum.accumulate(np.asarray(highs)[::-1])[::-1]
            idx = np.searchsorted(st, book.birth_ns, side="left")
            has = idx < len(st)
            longs = has & (side == 1)
            shorts = has & (side == -1)
            assert np.all(lp[longs] < suffix_low[idx[longs]])
            assert np.all(lp[shorts] > suffix_high[idx[shorts]])
            checked += 1
    assert checked > 50
    assert model.consumed_long_usd > 0 and model.consumed_short_usd > 0


def test_month_heatmap_finite_nonnegative(month):
    hm = run_heatmap(month, EngineConfig(model="b"), "2023-11-15", "2023-12-12", "4h")
    for arr in (hm.long_tiers, hm.short_tiers):
        assert np.all(np.isfinite(arr)) and np.all(arr >= 0)
    assert hm.long.sum(axis=1).max() > 0
    df = hm.to_frame()
    assert list(df.columns) == ["time", "side", "tier", "price_low", "price_high", "notional_usd"]
    assert (df.price_high > df.price_low).all() and (df.notional_usd > 0).all()


def test_flush_of_2023_12_11_has_longs_below_price(month):
    snap = levels_at(month, EngineConfig(model="a"), "2023-12-11 02:00")
    assert snap.price == pytest.approx(43_241.7)  # close of the 01:45-02:00 bar
    mid = snap.bucket_mid
    band = (snap.edges[:-1] >= 40_272) & (snap.edges[1:] <= 43_242)
    assert snap.long_by_bucket[band].sum() > 0
    # longs exist only below the price, shorts only above
    assert snap.long_by_bucket[snap.edges[:-1] > snap.price].sum() == 0
    assert snap.short_by_bucket[snap.edges[1:] < snap.price].sum() == 0
    assert snap.brackets["effective_from"] == "2021-03-18"  # the table in force then, not a later one
    assert mid.size == snap.long_notional.shape[1]


def test_compare_models_agreement(month):
    from liq_signals.engine.batch import compare_models

    inputs = window(month, "2023-12-01", "2023-12-11")
    cmp = compare_models(inputs, EngineConfig(**CFG_SMALL), "2023-12-08", "2023-12-11", "6h")
    assert set(cmp.heatmaps) == {"a", "b", "c", "ensemble"}
    ag = cmp.agreement.set_index(["a", "b"])
    # b is a plus funding: nearly the same map; c has no trades in this sample: no comparable times
    assert ag.loc[("a", "b"), "cosine"] > 0.9
    assert ag.loc[("a", "c"), "n_times"] == 0
    assert any("model c" in n for n in cmp.heatmaps["ensemble"].notes)
    for v in ag["cosine"].dropna():
        assert -1e-9 <= v <= 1 + 1e-9
