"""Model A on hand-worked cases: placement (docs/domain.md worked example), tiers, closing, OI bound, consumption."""

from __future__ import annotations

import numpy as np
import pytest

from liq_signals.engine.brackets import load_bracket_table
from liq_signals.engine.engine import EngineConfig, LiquidationEngine
from liq_signals.engine.inputs import MarkPrice, OpenInterest
from liq_signals.errors import ConfigError

T0 = 1_755_561_600 * 10**9  # 2025-08-19 00:00 UTC
MIN5 = 300 * 10**9
TABLE = load_bracket_table("BTCUSDT", "2025-08-19")
NO_DECAY = 1e9  # hours


def engine(tiers=(10.0,), weights=(1.0,), half_lives=(NO_DECAY,), **kw):
    cfg = EngineConfig(
        tiers=tiers, tier_weights=weights, tier_half_life_hours=half_lives, bucket_mode="fixed", bucket_width=1.0, **kw
    )
    return LiquidationEngine(cfg, bracket_table=TABLE)


def rise(e, oi0, oi1, price, ratio=1.0, t=T0):
    """Two OI observations at ``price`` (implied by their values) and a flat bar closing at the second."""
    e.observe(OpenInterest(t, oi0, oi0 * price))
    e.observe(OpenInterest(t + MIN5, oi1, oi1 * price, ratio))
    e.on_bar(t + MIN5, price, price, price, price, 10.0, 5.0)


def test_worked_example_long_10x_at_67000_lands_at_60542_17():
    e = engine()
    rise(e, 1000.0, 1001.0, 67_000.0, ratio=1.0)  # dOI = 1 BTC, taker buy = sell -> half long, half short
    book = e.models["a"].book
    longs = book.side == 1
    assert book.lp[longs] == pytest.approx([60_542.17], abs=0.01)
    assert book.lp[~longs] == pytest.approx([73_406.37], abs=0.01)  # leverage form, MMR 0.4%, 10x short
    snap = e.snapshot()
    # exactly the long half of 1 BTC * 67,000 USDT sits in the 1-USDT bucket holding 60,542.17
    i = np.searchsorted(snap.edges, 60_542.17, side="right") - 1
    assert snap.long_notional[0, i] == pytest.approx(33_500.0)
    assert snap.long_total == pytest.approx(33_500.0)
    assert snap.short_total == pytest.approx(33_500.0)
    assert snap.edges[i] <= 60_542.17 < snap.edges[i + 1]


def test_taker_ratio_splits_sides():
    e = engine()
    rise(e, 1000.0, 1002.0, 67_000.0, ratio=3.0)  # buy/sell = 3 -> 75% long
    long, short = e.open_notional()
    assert long == pytest.approx(0.75 * 2 * 67_000)
    assert short == pytest.approx(0.25 * 2 * 67_000)


def test_leverage_form_for_all_tiers_and_ordering():
    tiers = (5.0, 10.0, 25.0, 50.0, 100.0)
    e = engine(tiers=tiers, weights=(1, 1, 1, 1, 1), half_lives=(NO_DECAY,) * 5)
    rise(e, 1000.0, 1001.0, 67_000.0)
    book = e.models["a"].book
    long_lp = {tiers[t]: lp for s, t, lp in zip(book.side, book.tier, book.lp) if s == 1}
    short_lp = {tiers[t]: lp for s, t, lp in zip(book.side, book.tier, book.lp) if s == -1}
    expected_long = {5: 53_815.26, 10: 60_542.17, 25: 64_578.31, 50: 65_923.69, 100: 66_596.39}
    expected_short = {5: 80_079.68, 10: 73_406.37, 25: 69_402.39, 50: 68_067.73, 100: 67_400.40}
    for lev in tiers:
        assert long_lp[lev] == pytest.approx(expected_long[lev], abs=0.01)
        assert short_lp[lev] == pytest.approx(expected_short[lev], abs=0.01)
    # longs below entry, shorts above, higher leverage nearer the entry
    lv = [long_lp[t] for t in tiers]
    sv = [short_lp[t] for t in tiers]
    assert all(x < 67_000 for x in lv) and all(x > 67_000 for x in sv)
    assert lv == sorted(lv) and sv == sorted(sv, reverse=True)
    # tier split sums to the opened notional (not once per tier)
    assert book.notional.sum() == pytest.approx(67_000.0)


def test_entry_is_mean_of_implied_prices_at_both_ends():
    e = engine()
    e.observe(OpenInterest(T0, 1000.0, 1000.0 * 66_000))
    e.observe(OpenInterest(T0 + MIN5, 1001.0, 1001.0 * 68_000, 1.0))
    e.on_bar(T0 + MIN5, 68_000, 68_000, 68_000, 68_000)
    assert set(e.models["a"].book.entry) == {67_000.0}


def test_falling_oi_closes_proportionally():
    e = engine()
    rise(e, 1000.0, 1010.0, 67_000.0)
    before_long, before_short = e.open_notional()
    e.observe(OpenInterest(T0 + 2 * MIN5, 909.0, 909.0 * 67_000))  # -10% of OI
    e.on_bar(T0 + 2 * MIN5, 67_000, 67_000, 67_000, 67_000)
    long, short = e.open_notional()
    assert long == pytest.approx(before_long * (1 - 101 / 1010))
    assert short == pytest.approx(before_short * (1 - 101 / 1010))


def test_side_never_exceeds_oi_value():
    e = engine()
    # a tiny OI base, then a big rise: new notional (99 BTC) is within OI (100 BTC) ...
    rise(e, 1.0, 100.0, 67_000.0, ratio=1e9)  # ~all long
    long, _ = e.open_notional()
    assert long <= 100.0 * 67_000 * (1 + 1e-12)
    # ... OI then collapses to 10 BTC: each side capped at 10 * price
    e.observe(OpenInterest(T0 + 2 * MIN5, 10.0, 10.0 * 67_000))
    e.on_bar(T0 + 2 * MIN5, 67_000, 67_000, 67_000, 67_000)
    long, short = e.open_notional()
    assert long <= 10.0 * 67_000 * (1 + 1e-12)
    assert short <= 10.0 * 67_000 * (1 + 1e-12)


def test_consumption_removes_for_good():
    e = engine()
    rise(e, 1000.0, 1001.0, 67_000.0)
    # a bar whose low reaches the 10x long LP (60,542.17) removes the long; shorts stay
    e.on_bar(T0 + 2 * MIN5, 67_000, 67_000, 60_542.0, 66_000)
    long, short = e.open_notional()
    assert long == 0.0 and short == pytest.approx(33_500.0)
    # price comes back up: the long does not reappear
    e.on_bar(T0 + 3 * MIN5, 66_000, 70_000, 66_000, 70_000)
    assert e.open_notional()[0] == 0.0
    assert e.snapshot().long_total == 0.0


def test_cohorts_born_inside_a_bar_only_see_its_close():
    e = engine()
    e.on_bar(T0, 67_000, 67_000, 67_000, 67_000)
    e.observe(OpenInterest(T0 + MIN5, 1000.0, 1000.0 * 67_000))
    e.observe(OpenInterest(T0 + 2 * MIN5, 1001.0, 1001.0 * 67_000, 1.0))
    # the bar (T0, T0+15m] dipped to 60,000 — maybe before the positions were opened at +10 min
    e.on_bar(T0 + 3 * MIN5, 67_000, 67_000, 60_000, 67_000)
    assert e.open_notional()[0] == pytest.approx(33_500.0)
    e.on_bar(T0 + 4 * MIN5, 67_000, 67_000, 60_000, 67_000)  # next bar's low does remove it
    assert e.open_notional()[0] == 0.0


def test_decay_halves_at_half_life():
    e = engine(half_lives=(1.0,))
    rise(e, 1000.0, 1001.0, 67_000.0)
    e.on_bar(T0 + MIN5 + 3_600 * 10**9, 67_000, 67_000, 67_000, 67_000)
    assert e.open_notional()[0] == pytest.approx(33_500.0 / 2)


def test_missing_oi_is_skipped():
    e = engine()
    e.observe(OpenInterest(T0, 1000.0, 1000.0 * 67_000))
    e.observe(OpenInterest(T0 + MIN5, float("nan"), None))
    e.observe(OpenInterest(T0 + 2 * MIN5, 1001.0, 1001.0 * 67_000, 1.0))
    e.on_bar(T0 + 2 * MIN5, 67_000, 67_000, 67_000, 67_000)
    assert sum(e.open_notional()) == pytest.approx(67_000.0)


@pytest.mark.parametrize(
    "kw,field",
    [
        ({"model": "z"}, "model"),
        ({"tiers": (10.0, -5.0), "tier_weights": (1, 1), "tier_half_life_hours": (1, 1)}, "tiers"),
        ({"tier_weights": (0, 0, 0, 0, 0)}, "tier_weights"),
        ({"tier_weights": (1, 1)}, "tier_weights"),
        ({"tier_half_life_hours": (1, 1, 0, 1, 1)}, "tier_half_life_hours"),
        ({"bucket_mode": "fixed", "bucket_width": 0.15, "tick_size": 0.1}, "bucket_width"),
        ({"bucket_bps": 0}, "bucket_bps"),
        ({"trade_portion": 1.5}, "trade_portion"),
        ({"bucket_mode": "log"}, "bucket_mode"),
        ({"representative_notional_usd": 0}, "representative_notional_usd"),
        ({"ensemble_weights": (1, -1, 1)}, "ensemble_weights"),
    ],
)
def test_config_validation_names_field(kw, field):
    with pytest.raises(ConfigError, match=field):
        EngineConfig(**kw)


def test_mark_price_extremes_drive_consumption():
    e = engine()
    rise(e, 1000.0, 1001.0, 67_000.0)
    # last price wicks through the 10x long LP, mark price does not: the long survives
    e.observe(MarkPrice(T0 + 2 * MIN5, 67_050.0, 61_000.0, 66_000.0))
    e.on_bar(T0 + 2 * MIN5, 67_000, 67_100, 60_000, 66_000)
    assert e.open_notional()[0] == pytest.approx(33_500.0)
    # mark low reaches it on the next bar: removed
    e.observe(MarkPrice(T0 + 3 * MIN5, 66_000.0, 60_500.0, 61_000.0))
    e.on_bar(T0 + 3 * MIN5, 66_000, 66_000, 60_600, 61_000)
    assert e.open_notional()[0] == 0.0
