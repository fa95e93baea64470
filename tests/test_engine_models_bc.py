"""Model B (funding erodes margin), model C (trade flow without the per-tier multiplication) and the
ensemble's drop-out rule."""

from __future__ import annotations

import numpy as np
import pytest

from liq_signals.engine.brackets import load_bracket_table
from liq_signals.engine.engine import EngineConfig, LiquidationEngine
from liq_signals.engine.inputs import Funding, OpenInterest, Trade
from liq_signals.engine.models.ensemble import blend

T0 = 1_755_561_600 * 10**9  # 2025-08-19 00:00 UTC
MIN5 = 300 * 10**9
TABLE = load_bracket_table("BTCUSDT", "2025-08-19")
NO_DECAY = 1e9


def engine(model, tiers=(10.0,), weights=(1.0,), **kw):
    cfg = EngineConfig(
        model=model,
        tiers=tiers,
        tier_weights=weights,
        tier_half_life_hours=(NO_DECAY,) * len(tiers),
        bucket_mode="fixed",
        bucket_width=1.0,
        **kw,
    )
    return LiquidationEngine(cfg, bracket_table=TABLE)


def seed(e, price=67_000.0):
    e.observe(OpenInterest(T0, 1000.0, 1000.0 * price))
    e.observe(OpenInterest(T0 + MIN5, 1001.0, 1001.0 * price, 1.0))
    e.on_bar(T0 + MIN5, price, price, price, price)


def test_funding_moves_long_lp_up_by_eroded_wallet():
    e = engine("b")
    seed(e)
    book = e.models["b"].book
    assert book.lp[book.side == 1] == pytest.approx([60_542.17], abs=0.01)
    rate, mark = 0.0005, 68_000.0
    e.observe(Funding(T0 + 2 * MIN5, rate, mark))
    e.on_bar(T0 + 2 * MIN5, 67_000, 67_000, 67_000, 67_000)
    # per 1 BTC: wallet 6,700 - rate * mark = 6,666; bracket 1 of the 2025-08-19 table (MMR 0.4%, cum 0)
    wb = 67_000 / 10 - rate * mark
    expected_long = (wb + 0 - 1 * 67_000) / (0.004 - 1)
    wb_short = 67_000 / 10 + rate * mark  # shorts receive
    expected_short = (wb_short + 0 + 67_000) / (0.004 + 1)
    assert book.lp[book.side == 1] == pytest.approx([expected_long], abs=1e-6)
    assert book.lp[book.side == -1] == pytest.approx([expected_short], abs=1e-6)
    assert expected_long > 60_542.17 + 30  # it moved up by ~34 USDT
    # model A ignores funding
    a = engine("a")
    seed(a)
    a.observe(Funding(T0 + 2 * MIN5, rate, mark))
    a.on_bar(T0 + 2 * MIN5, 67_000, 67_000, 67_000, 67_000)
    assert a.models["a"].book.lp[a.models["a"].book.side == 1] == pytest.approx([60_542.17], abs=0.01)


def test_funding_without_mark_uses_last_close():
    e = engine("b")
    seed(e, 67_000.0)
    e.observe(Funding(T0 + 2 * MIN5, 0.001))
    e.on_bar(T0 + 2 * MIN5, 67_000, 67_000, 67_000, 67_000)
    book = e.models["b"].book
    expected = (6_700 - 0.001 * 67_000 - 67_000) / (0.004 - 1)
    assert book.lp[book.side == 1] == pytest.approx([expected], abs=1e-6)


def trades_fixture():
    rng = np.random.default_rng(7)
    n = 60
    ts = T0 + np.sort(rng.integers(1, 15 * 60, n)) * 10**9
    price = 67_000 + rng.normal(0, 20, n)
    qty = rng.uniform(0.01, 5.0, n)
    ibm = rng.random(n) < 0.5
    return ts, price, qty, ibm


def test_trade_flow_splits_notional_across_tiers():
    tiers = (10.0, 25.0, 50.0, 100.0)
    e = engine("c", tiers=tiers, weights=(4, 3, 2, 1), trade_min_notional_usd=100_000.0)
    ts, price, qty, ibm = trades_fixture()
    for r in zip(ts, price, qty, ibm):
        e.observe(Trade(*r))
    e.on_bar(T0 + 15 * 60 * 10**9, 67_000, 67_000, 67_000, 67_000)
    book = e.models["c"].book
    kept = price * qty >= 100_000.0
    assert kept.sum() > 5
    assert book.notional.sum() == pytest.approx((price * qty)[kept].sum())
    long_expected = (price * qty)[kept & ~ibm].sum()  # taker buys -> longs
    assert book.notional[book.side == 1].sum() == pytest.approx(long_expected)
    # each tier gets its weight's share
    t10 = book.notional[book.tier == 0].sum()
    assert t10 == pytest.approx(0.4 * (price * qty)[kept].sum())


def test_trade_flow_top_n_and_portion():
    ts, price, qty, ibm = trades_fixture()
    notional = np.sort(price * qty)[::-1]
    e = engine("c", trade_min_notional_usd=0.0, trade_top_n=10)
    for r in zip(ts, price, qty, ibm):
        e.observe(Trade(*r))
    e.on_bar(T0 + 15 * 60 * 10**9, 67_000, 67_000, 67_000, 67_000)
    assert e.models["c"].book.notional.sum() == pytest.approx(notional[:10].sum())
    e = engine("c", trade_min_notional_usd=0.0, trade_portion=0.25)
    for r in zip(ts, price, qty, ibm):
        e.observe(Trade(*r))
    e.on_bar(T0 + 15 * 60 * 10**9, 67_000, 67_000, 67_000, 67_000)
    assert e.models["c"].book.notional.sum() == pytest.approx(notional[:15].sum())


def test_ensemble_drops_model_without_inputs():
    e = engine("ensemble")
    seed(e)
    snap = e.snapshot()
    assert any("model c" in n and "dropped" in n for n in snap.notes)
    # with c dropped, a and b (identical without funding) blend to a's own levels
    a_snap = e.snapshot(model="a")
    np.testing.assert_allclose(snap.long_notional, a_snap.long_notional)
    np.testing.assert_allclose(snap.short_notional, a_snap.short_notional)


def test_blend_is_weighted_mean_of_distributions():
    a = (np.array([[1.0, 3.0]]), np.array([[0.0, 0.0]]))  # total 4
    c = (np.array([[0.0, 0.0]]), np.array([[2.0, 0.0]]))  # total 2
    long, short = blend({"a": a, "c": c}, {"a": 1.0, "c": 3.0})
    scale = 0.25 * 4 + 0.75 * 2
    np.testing.assert_allclose(long, np.array([[0.25 * 0.25, 0.25 * 0.75]]) * scale)
    np.testing.assert_allclose(short, np.array([[0.75, 0.0]]) * scale)
