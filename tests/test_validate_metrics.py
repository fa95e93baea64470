"""Metric and baseline functions on hand-built cases whose answers are worked out in the comments."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from liq_signals.validate import baseline as bl
from liq_signals.validate import metrics as m


def zones_frame(rows):
    return pd.DataFrame(rows, columns=["side", "price_low", "price_high", "intensity"])


def events_frame(rows):
    """rows: (side, price, notional) point events or (side, low, high, notional) range events."""
    out = []
    for r in rows:
        if len(r) == 3:
            out.append((r[0], r[1], r[1], r[2]))
        else:
            out.append(r)
    return pd.DataFrame(out, columns=["side", "price_low", "price_high", "notional_usd"])


ZONES = zones_frame(
    [
        ("long", 95.0, 97.0, 10.0),
        ("long", 90.0, 92.0, 5.0),
        ("short", 103.0, 105.0, 8.0),
        ("short", 110.0, 112.0, 1.0),
    ]
)
EVENTS = events_frame(
    [
        ("long", 96.0, 1000.0),  # inside long zone 1
        ("long", 96.5, 500.0),  # inside long zone 1
        ("long", 93.0, 300.0),  # between the long zones: missed
        ("short", 104.0, 2000.0),  # inside short zone 1
        ("long", 104.0, 100.0),  # inside a SHORT zone but a long liquidation: must not count
    ]
)


def test_precision_and_recall_by_hand():
    s = m.score_snapshot(ZONES, EVENTS, path_low=89.0, path_high=113.0)
    # long: zone [95,97] hit, [90,92] not -> 1/2; recall = (1000+500) / (1000+500+300+100)
    assert (s["long"].hits, s["long"].n_zones) == (1, 2)
    assert s["long"].captured_usd == pytest.approx(1500.0)
    assert s["long"].realized_usd == pytest.approx(1900.0)
    # short: [103,105] hit, [110,112] not; all short notional captured
    assert (s["short"].hits, s["short"].n_zones) == (1, 2)
    assert m.notional_recall(ZONES, EVENTS, "short") == pytest.approx(1.0)
    # all: 2 of 4 zones, 3500 of 3900 USDT
    assert (s["all"].hits, s["all"].n_zones) == (2, 4)
    assert m.notional_recall(ZONES, EVENTS) == pytest.approx(3500.0 / 3900.0)
    assert s["all"].n_events == 5 and s["long"].n_events == 4


def test_spearman_over_touched_zones_by_hand():
    # all four zones touched: intensity [10,5,8,1] -> ranks [4,2,3,1];
    # realized [1500,0,2000,0] -> ranks [3,1.5,4,1.5]; Pearson of ranks = 3.5/sqrt(5*4.5)
    s = m.score_snapshot(ZONES, EVENTS, path_low=89.0, path_high=113.0)
    assert s["all"].n_touched == 4
    assert s["all"].spearman == pytest.approx(3.5 / math.sqrt(22.5))
    # path [93,106] touches only [95,97] and [103,105]: < 3 zones -> undefined, not 0
    s2 = m.score_snapshot(ZONES, EVENTS, path_low=93.0, path_high=106.0)
    assert s2["all"].n_touched == 2 and math.isnan(s2["all"].spearman)


def test_spearman_known_rankings():
    assert m.spearman([1, 2, 3, 4, 5], [10, 20, 30, 40, 50]) == pytest.approx(1.0)
    assert m.spearman([1, 2, 3, 4, 5], [5, 4, 3, 2, 1]) == pytest.approx(-1.0)
    # no ties: d = [-1,1,-1,1,0], sum d^2 = 4 -> 1 - 6*4/(5*24) = 0.8
    assert m.spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]) == pytest.approx(0.8)
    # ties in y: ranks [1.5,1.5,3] vs [1,2,3] -> 1.5 / sqrt(2 * 1.5)
    assert m.spearman([1, 2, 3], [1, 1, 2]) == pytest.approx(1.5 / math.sqrt(3.0))
    assert math.isnan(m.spearman([1, 2, 3], [7, 7, 7]))
    assert math.isnan(m.spearman([1, 2], [1, 2]))


def test_wilson_interval_closed_form():
    # 7/10, z=1.96: centre (0.7+0.19207)/1.38415, half 1.96*sqrt(0.021+0.0096037)/1.38415
    lo, hi = m.wilson_interval(7, 10)
    assert lo == pytest.approx(0.3968, abs=1e-4)
    assert hi == pytest.approx(0.8922, abs=1e-4)
    lo0, hi0 = m.wilson_interval(0, 20)  # 0 successes: lower bound 0, upper z^2/(n+z^2)
    assert lo0 == 0.0 and hi0 == pytest.approx(3.8415 / (20 + 3.8415), abs=1e-4)
    assert all(math.isnan(v) for v in m.wilson_interval(0, 0))


def test_range_event_is_spread_over_its_band_without_double_counting():
    ev = events_frame([("long", 94.0, 98.0, 400.0)])
    one = zones_frame([("long", 95.0, 97.0, 1.0)])
    assert m.captured_notional(one, ev, "long") == pytest.approx((200.0, 400.0))  # 2 of 4 USDT of range
    two = zones_frame([("long", 95.0, 97.0, 1.0), ("long", 96.0, 98.0, 1.0)])
    assert m.captured_notional(two, ev, "long") == pytest.approx((300.0, 400.0))  # union [95,98]
    assert m.zone_realized_notional(two, ev) == pytest.approx([200.0, 200.0])
    assert m.zone_hits(two, ev).all()


def test_recall_is_nan_when_nothing_realized():
    assert math.isnan(m.notional_recall(ZONES, events_frame([]), "long"))
    assert m.precision_at_k(ZONES, events_frame([])) == (0, 4)


# --- baseline --------------------------------------------------------------------------------------


def test_baseline_keeps_side_width_and_distance_set():
    rng = np.random.default_rng(0)
    c = bl.draw_centres(ZONES, 100.0, rng, 500)
    real = np.sort(np.unique(np.round(bl.relative_distances(ZONES, 100.0), 12)))
    drawn = np.unique(np.round(np.abs(c / 100.0 - 1.0), 12))
    assert set(drawn) <= set(real) and len(drawn) == len(real)  # every real distance is used, nothing else
    assert (c > 100.0).any() and (c < 100.0).any()  # both sides of price


def test_baseline_expectation_exact_two_placements():
    # one long zone [89,91] at 10% below p0=100 -> twins centred at 90 or 110, width 2.
    # a long event at 110.5 is hit only by the twin at 110 -> expected hit probability 1/2.
    z = zones_frame([("long", 89.0, 91.0, 1.0)])
    ev = events_frame([("long", 110.5, 50.0)])
    assert bl.expected_hit_probability(z, ev, 100.0) == pytest.approx([0.5])
    n = 4000
    out = bl.baseline_scores(z, ev, 100.0, np.random.default_rng(1), n_draws=n)
    sd = math.sqrt(0.25 / n)  # binomial sd of the mean
    assert abs(out["long"][0] - 0.5) < 4 * sd
    assert abs(out["long"][1] - 25.0) < 4 * sd * 50.0  # expected captured notional = 0.5 * 50


def test_baseline_uniform_events_hit_rate_is_width_over_range():
    # events uniform on [80,120] (range 40); each twin (width 2, centre 90 or 110) lies inside the range,
    # so the chance one uniform event falls in it is 2/40 = 0.05 whatever the placement.
    z = zones_frame([("long", 89.0, 91.0, 1.0)])
    rng = np.random.default_rng(7)
    n = 3000
    hits = 0.0
    for p in rng.uniform(80.0, 120.0, size=n):
        hits += bl.baseline_scores(z, events_frame([("long", p, 1.0)]), 100.0, rng, n_draws=1)["long"][0]
    sd = math.sqrt(0.05 * 0.95 / n)  # ~0.004
    assert abs(hits / n - 0.05) < 4 * sd


def test_baseline_mc_mean_matches_exact_expectation_multi_zone():
    ev = events_frame([("long", 96.0, 1.0), ("long", 108.0, 1.0), ("short", 104.0, 1.0), ("short", 91.0, 1.0)])
    exact = bl.expected_hit_probability(ZONES, ev, 100.0)
    n = 3000
    out = bl.baseline_scores(ZONES, ev, 100.0, np.random.default_rng(3), n_draws=n)
    # sum of 4 Bernoulli hits: variance <= 4 * 0.25 = 1 -> sd of the mean <= 1/sqrt(n)
    assert abs(out["all"][0] - exact.sum()) < 4 / math.sqrt(n)
    assert abs(out["long"][0] - exact[:2].sum()) < 4 / math.sqrt(n)


def test_baseline_is_reproducible_with_seed():
    a = bl.baseline_scores(ZONES, EVENTS, 100.0, np.random.default_rng(5), n_draws=50)
    b = bl.baseline_scores(ZONES, EVENTS, 100.0, np.random.default_rng(5), n_draws=50)
    assert a == b
