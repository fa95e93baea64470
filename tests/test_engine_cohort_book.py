"""CohortBook's lazy bookkeeping against eager reference computations.

The book keeps decay and proportional closing in per-(side, tier) multipliers, computes a fresh cohort's
liquidation price as entry x a cached ratio, caches per-bucket sums and skips bars that reach no
liquidation price. Each shortcut is checked here against the plain computation it replaces.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liq_signals.engine.brackets import load_bracket_table
from liq_signals.engine.grid import PriceGrid, bucket_of
from liq_signals.engine.models.cohorts import CohortBook, _Aggregates, compute_lp

TIERS = np.array([5.0, 10.0, 25.0, 50.0, 100.0])
HOUR = 3_600 * 10**9
HALF_LIVES = np.array([336.0, 168.0, 72.0, 24.0, 12.0]) * HOUR
TABLES = [load_bracket_table("BTCUSDT", "2025-08-19"), load_bracket_table("BTCUSDT", "2023-12-01")]


@settings(max_examples=60, deadline=None)
@given(
    entry=st.floats(0.01, 2e6),
    tier=st.integers(0, 4),
    side=st.sampled_from([1, -1]),
    rep=st.sampled_from([10.0, 1e4, 3e5, 2e6, 5e7]),
    table=st.sampled_from(TABLES),
)
def test_fresh_liquidation_price_equals_the_full_bracket_iteration(entry, tier, side, rep, table):
    book = CohortBook(TIERS, HALF_LIVES)
    book.add(side, tier, entry, 1000.0, 0, table, rep)
    direct = compute_lp([side], [entry], [entry / TIERS[tier]], table, rep)[0]
    if math.isnan(direct):
        assert math.isnan(book.lp[0])
    else:
        assert book.lp[0] == pytest.approx(direct, rel=1e-12)


class EagerBook:
    """Reference: every cohort's notional updated row by row, the way the formulas read."""

    def __init__(self):
        self.rows = []  # [side, tier, lp, birth_ns, notional]
        self.clock = None

    def add(self, side, tier, lp, birth, notional):
        if self.clock is None or birth > self.clock:  # the others decay to the newest birth first
            self.advance(birth)
        notional *= 0.5 ** ((self.clock - birth) / HALF_LIVES[tier])  # born earlier: decayed since
        self.rows.append([side, tier, lp, birth, notional])

    def advance(self, ts):
        for r in self.rows:
            since = max(r[3], self.clock) if self.clock is not None else r[3]
            r[4] *= 0.5 ** (max(ts - since, 0) / HALF_LIVES[r[1]])
        self.clock = ts

    def scale(self, factor, side=None):
        for r in self.rows:
            if side is None or r[0] == side:
                r[4] *= factor

    def consume(self, low, high, close, bar_start):
        keep, removed = [], [0.0, 0.0]
        for r in self.rows:
            lo, hi = (low, high) if r[3] <= bar_start else (close, close)
            hit = not math.isnan(r[2]) and ((r[0] > 0 and r[2] >= lo) or (r[0] < 0 and r[2] <= hi))
            if hit:
                removed[0 if r[0] > 0 else 1] += r[4]
            else:
                keep.append(r)
        self.rows = keep
        return removed


ops = st.lists(
    st.tuples(
        st.sampled_from(["add", "bar", "scale", "scale_side"]),
        st.floats(0.0, 1.0),
        st.floats(0.0, 1.0),
        st.integers(0, 4),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(ops=ops)
def test_lazy_decay_scaling_and_consumption_match_the_eager_reference(ops):
    table = TABLES[0]
    book, ref = CohortBook(TIERS, HALF_LIVES, PriceGrid("bps", bps=10.0)), EagerBook()
    t, price = 0, 60_000.0
    bar_start = -1
    for kind, u, v, tier in ops:
        if kind == "add":
            side = 1 if u < 0.5 else -1
            birth = t + int(v * 15 * 60 * 10**9)  # inside the bar being built
            entry = price * (0.97 + 0.06 * v)
            book.add(side, tier, entry, 1e3 + 1e6 * u, birth, table, 1e4)
            ref.add(side, tier, book.lp[-1], birth, 1e3 + 1e6 * u)
        elif kind == "bar":
            bar_start, t = t, t + int((1 + 400 * u) * HOUR)  # up to ~33 half-lives of the 12 h tier
            price *= 0.9 + 0.2 * v
            low, high = price * 0.97, price * 1.03
            book.advance(t)
            ref.advance(t)
            got = book.consume(low, high, price, bar_start)
            want = ref.consume(low, high, price, bar_start)
            assert got == pytest.approx(want, rel=1e-9, abs=1e-9)
        elif kind == "scale":
            book.scale(u)
            ref.scale(u)
        else:
            side = 1 if v < 0.5 else -1
            book.scale(u, side)
            ref.scale(u, side)
        want = sorted((r[0], r[1], r[2], r[4]) for r in ref.rows)
        got = sorted(zip(book.side.tolist(), book.tier.tolist(), book.lp.tolist(), book.notional.tolist()))
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g[:3] == w[:3] and g[3] == pytest.approx(w[3], rel=1e-9, abs=1e-12)
        for side in (1, -1):
            assert book.total(side) == pytest.approx(sum(r[4] for r in ref.rows if r[0] == side), rel=1e-9, abs=1e-9)
        _assert_cached_sums_match_a_rebuild(book)


def _assert_cached_sums_match_a_rebuild(book):
    """The sums kept up to date in place (adds, consumption) equal sums rebuilt from the rows."""
    if book._agg is None:
        return
    kept, fresh = book._agg, _Aggregates(book)
    assert (kept.max_long_lp, kept.min_short_lp) == (fresh.max_long_lp, fresh.min_short_lp)
    np.testing.assert_allclose(kept.by_tier, fresh.by_tier, rtol=1e-9, atol=1e-6)
    if fresh.rows.sum() == 0:  # nothing with a liquidation price is left
        assert kept.rows.sum() == 0 and not kept.grid.any()
        return
    lo = fresh.k_lo - kept.k_lo  # the kept range covers the fresh one
    assert lo >= 0 and lo + fresh.nk <= kept.nk
    rows = kept.rows[:, :, lo : lo + fresh.nk]
    assert np.array_equal(rows, fresh.rows) and kept.rows.sum() == fresh.rows.sum()
    grid = kept.grid[:, :, lo : lo + fresh.nk]
    np.testing.assert_allclose(grid, fresh.grid, rtol=1e-9, atol=1e-6)
    assert np.array_equal(grid == 0, fresh.grid == 0)  # emptied cells are exactly 0


def test_multipliers_fold_before_they_underflow():
    """Two years of decay are ~1460 half-lives of the 12 h tier (0.5**1460 underflows to 0): the 336 h tier
    must still hold its 0.5**(17520/336) share and new cohorts must still be addable."""
    table = TABLES[0]
    book = CohortBook(TIERS, HALF_LIVES)
    book.add([1, 1], [0, 4], 60_000.0, 1e6, 0, table, 1e4)
    for day in range(1, 731):
        book.advance(day * 24 * HOUR)
    assert book.notional[0] == pytest.approx(1e6 * 0.5 ** (730 * 24 / 336), rel=1e-9)
    assert book.notional[1] == 0.0 or book.notional[1] < 1e-200
    book.add(1, 4, 60_000.0, 5e5, 730 * 24 * HOUR, table, 1e4)
    assert book.notional[-1] == pytest.approx(5e5) and np.isfinite(book.multiplier).all()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), mode=st.sampled_from(["bps", "fixed"]))
def test_cached_lattice_grid_equals_searchsorted_bucketing(seed, mode):
    rng = np.random.default_rng(seed)
    lattice = PriceGrid(mode, width=50.0, bps=10.0, tick_size=0.1)
    book = CohortBook(TIERS, HALF_LIVES, lattice)
    n = 200
    book.add(
        rng.choice([1, -1], n),
        rng.integers(0, 5, n),
        rng.uniform(20_000, 80_000, n),
        rng.uniform(1, 1e6, n),
        rng.integers(0, 10**12, n),
        TABLES[0],
        1e4,
    )
    book.advance(10**13)
    book.add(
        rng.choice([1, -1], 20),
        rng.integers(0, 5, 20),
        rng.uniform(20_000, 80_000, 20),
        rng.uniform(1, 1e6, 20),
        10**13,
        TABLES[0],
        1e4,
    )  # incremental update of the cached sums
    edges = lattice.edges(30_000.0, 60_000.0)
    k0 = lattice.index_below(float(edges[0]))
    long, short, out = book.grid_lattice(k0, k0 + len(edges) - 1)
    for side, grid, name in ((1, long, "long"), (-1, short, "short")):
        m = book.side == side
        b = bucket_of(book.lp[m], edges)
        inside = (b >= 0) & (b < len(edges) - 1)
        want = np.zeros_like(grid)
        np.add.at(want, (book.tier[m][inside], b[inside]), book.notional[m][inside])
        np.testing.assert_allclose(grid, want, rtol=1e-9, atol=1e-6)
        assert out[name]["below_count"] == int((b == -1).sum())
        assert out[name]["above_count"] == int((b == len(edges) - 1).sum())
        assert out[name]["below_notional_usd"] == pytest.approx(book.notional[m][b == -1].sum(), rel=1e-9, abs=1e-6)
        assert out[name]["above_notional_usd"] == pytest.approx(
            book.notional[m][b == len(edges) - 1].sum(), rel=1e-9, abs=1e-6
        )
    # the all-tier bucket totals the actor reads are bitwise the snapshot's tier sums
    totals = book.bucket_totals(k0, k0 + len(edges) - 1)
    assert np.array_equal(totals[0], long.sum(axis=0)) and np.array_equal(totals[1], short.sum(axis=0))


def test_a_bar_that_just_reaches_the_nearest_level_consumes_it_and_one_that_misses_does_not():
    """The book skips bars that reach no liquidation price; the edges of that shortcut: low == the highest
    long level and high == the lowest short level are hits (lp >= low, lp <= high), a hair short is not."""
    book = CohortBook(TIERS, HALF_LIVES)
    book.add([1, 1, -1, -1], [1, 4, 1, 4], 60_000.0, 1e6, 0, TABLES[0], 1e4)
    top_long = float(book.lp[book.side == 1].max())
    low_short = float(book.lp[book.side == -1].min())
    assert book.consume(np.nextafter(top_long, np.inf), np.nextafter(low_short, -np.inf), 60_000.0, 0) == (0.0, 0.0)
    assert len(book) == 4
    removed = book.consume(top_long, np.nextafter(low_short, -np.inf), 60_000.0, 0)  # longs only
    assert removed[0] == pytest.approx(1e6) and removed[1] == 0.0
    removed = book.consume(np.nextafter(top_long, np.inf), low_short, 60_000.0, 0)  # shorts only
    assert removed[0] == 0.0 and removed[1] == pytest.approx(1e6)
    assert sorted(book.tier.tolist()) == [1, 1]  # the 100x cohorts (nearest levels) went, the 10x stayed
