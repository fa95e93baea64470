"""Cohort state shared by every model: groups of positions opened together at one entry price and leverage.

A cohort holds (per row, numpy arrays grown by amortised doubling):
``side`` (+1 long / -1 short), ``tier`` (index into the config's leverage tiers), ``entry`` (USDT),
``wallet`` (margin per unit of base, USDT), ``lp`` (liquidation price, USDT; NaN = cannot be liquidated),
``k`` (lattice bucket of ``lp``), ``birth_ns`` (epoch ns) and ``weight``; its open notional (USDT) is
``weight * multiplier[side, tier]``.

The multiplier carries everything that affects all cohorts of a (side, tier) alike — decay to the book's
``clock_ns`` and proportional closing/capping — so those cost O(tiers), not O(rows), per bar. Bars that do
not reach any liquidation price (checked against the cached extremes) touch no row at all. Per-bucket sums
of the weights on the engine's price lattice are cached for gridding and rebuilt only when rows go.

Length: one class whose caches (multipliers, lattice sums, extremes) must stay consistent with the rows; it is
kept in one file so every mutation and the cache it updates are read together.

The liquidation price is computed for a *representative single position* of ``rep_notional`` USDT at the
entry (size = rep_notional / entry, wallet = wallet_per_unit * size), so the bracket is the one a typical
single position sits in — never the cohort's aggregate notional nor the market's open interest.
"""

from __future__ import annotations

import numpy as np

from liq_signals.engine.grid import PriceGrid

_FIELDS = {
    "side": np.int8,
    "tier": np.int16,
    "entry": np.float64,
    "weight": np.float64,
    "wallet": np.float64,
    "lp": np.float64,
    "k": np.int64,  # lattice bucket of lp (meaningless where lp is NaN)
    "birth_ns": np.int64,
}
# The multipliers are folded into the weights before they underflow (decay over hundreds of half-lives):
_FOLD_BELOW = 1e-100
_FOLD_LOG = 230.0  # ~ -ln(_FOLD_BELOW): fold once the fastest tier decayed this much


def compute_lp(side, entry, wallet_per_unit, table, rep_notional: float) -> np.ndarray:
    """Liquidation price (USDT) for representative positions; NaN where it cannot be liquidated."""
    from liq_signals.engine.margin import liquidation_price

    side = np.asarray(side, dtype=float)
    entry = np.asarray(entry, dtype=float)
    if entry.size == 0:
        return np.empty(0)
    size = rep_notional / entry
    res = liquidation_price(side, size, entry, table, wallet=np.asarray(wallet_per_unit, float) * size)
    price = np.asarray(res.price, dtype=float).reshape(entry.shape)
    return np.where(np.isfinite(price) & (price > 0), price, np.nan)


def _extreme(ufunc, values: np.ndarray, empty: float) -> float:
    """``np.fmax``/``np.fmin`` over ``values`` ignoring NaN; ``empty`` when nothing finite is left."""
    v = float(ufunc.reduce(values)) if len(values) else empty
    return empty if v != v else v


class _Aggregates:
    """Weight sums of a book: per (side, tier) over all rows and over rows without a liquidation price;
    per (side, tier, lattice bucket), with its row counts, over rows with one. Buckets
    ``k_lo .. k_lo + nk - 1``; ``max_long_lp`` / ``min_short_lp`` the levels nearest to any price."""

    def __init__(self, book: CohortBook):
        n_t = len(book.leverages)
        s, t, w, lp, k = book.sidx, book.tier.astype(np.int64), book.weight, book.lp, book.k
        st = s * n_t + t
        ok = np.isfinite(lp)
        # (bincount with empty weights returns integers: the sums are cast to float)
        self.by_tier = np.bincount(st, weights=w, minlength=2 * n_t).astype(float).reshape(2, n_t)
        self.nan_by_tier = np.bincount(st[~ok], weights=w[~ok], minlength=2 * n_t).astype(float).reshape(2, n_t)
        self.rows_by_tier = np.bincount(st, minlength=2 * n_t).reshape(2, n_t)
        self.nan_rows_by_tier = np.bincount(st[~ok], minlength=2 * n_t).reshape(2, n_t)
        s, st, w, k, lp = s[ok], st[ok], w[ok], k[ok], lp[ok]
        self.k_lo = int(k.min()) if len(k) else 0
        self.nk = int(k.max()) - self.k_lo + 1 if len(k) else 1
        kk = k - self.k_lo
        cell = st * self.nk + kk
        self.grid = np.bincount(cell, weights=w, minlength=2 * n_t * self.nk).astype(float).reshape(2, n_t, self.nk)
        self.rows = np.bincount(cell, minlength=2 * n_t * self.nk).reshape(2, n_t, self.nk)
        self._prefix = None
        long_lp, short_lp = lp[s == 0], lp[s == 1]
        self.max_long_lp = float(long_lp.max()) if len(long_lp) else -np.inf
        self.min_short_lp = float(short_lp.min()) if len(short_lp) else np.inf

    def prefix(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Weight summed over buckets before j and from j on [side, tier, j = 0..nk], and the row count
        before j [side, j] (cached until rows are added). Two sums, so nothing cancels."""
        if self._prefix is None:
            below = np.zeros(self.grid.shape[:2] + (self.nk + 1,))
            np.cumsum(self.grid, axis=2, out=below[:, :, 1:])
            above = np.zeros_like(below)
            np.cumsum(self.grid[:, :, ::-1], axis=2, out=above[:, :, -2::-1])
            count = np.zeros((2, self.nk + 1), dtype=np.int64)
            np.cumsum(self.rows.sum(axis=1), axis=1, out=count[:, 1:])
            self._prefix = (below, above, count)
        return self._prefix

    def add(self, s, t, w, lp, k) -> bool:
        """Add new rows in place; False when a row falls outside the cached lattice range (rebuild)."""
        kk = k[lp == lp]  # rows with a liquidation price (NaN != NaN)
        if len(kk) and (kk.min() < self.k_lo or kk.max() >= self.k_lo + self.nk):
            return False
        self._update(s, t, w, lp, k, 1)
        self._prefix = None
        self.max_long_lp = _extreme(np.fmax, np.append(lp[s == 0], self.max_long_lp), -np.inf)
        self.min_short_lp = _extreme(np.fmin, np.append(lp[s == 1], self.min_short_lp), np.inf)
        return True

    def remove(self, s, t, w, lp, k, max_long_lp: float, min_short_lp: float) -> None:
        """Take rows out in place; the caller gives the extremes of the rows that remain. A cell left
        without rows is exactly 0 (no subtraction residue); none goes below 0."""
        self._update(s, t, w, lp, k, -1)
        ok = np.isfinite(lp)
        cells = (s[ok], t[ok], k[ok] - self.k_lo)
        g = self.grid[cells]
        g[self.rows[cells] == 0] = 0.0
        self.grid[cells] = np.maximum(g, 0.0)
        self.by_tier[self.rows_by_tier == 0] = 0.0
        self.nan_by_tier[self.nan_rows_by_tier == 0] = 0.0
        np.maximum(self.by_tier, 0.0, out=self.by_tier)
        np.maximum(self.nan_by_tier, 0.0, out=self.nan_by_tier)
        self._prefix = None
        self.max_long_lp, self.min_short_lp = max_long_lp, min_short_lp

    def _update(self, s, t, w, lp, k, sign: int) -> None:
        ufunc = np.add if sign > 0 else np.subtract
        ufunc.at(self.by_tier, (s, t), w)
        ufunc.at(self.rows_by_tier, (s, t), 1)
        ok = lp == lp  # not NaN
        if not ok.all():
            ufunc.at(self.nan_by_tier, (s[~ok], t[~ok]), w[~ok])
            ufunc.at(self.nan_rows_by_tier, (s[~ok], t[~ok]), 1)
            s, t, w, k = s[ok], t[ok], w[ok], k[ok]
        kk = k - self.k_lo
        ufunc.at(self.grid, (s, t, kk), w)
        ufunc.at(self.rows, (s, t, kk), 1)


class CohortBook:
    """Growable arrays of cohorts with the vectorised operations the models need.

    ``half_life_ns``: decay half-life per tier (ns; ``inf`` = no decay). ``lattice``: the price lattice
    that ``grid_lattice`` / ``bucket_totals`` read (default: the 10 bps log lattice).
    """

    def __init__(self, leverages: np.ndarray, half_life_ns=None, lattice: PriceGrid | None = None, capacity: int = 256):
        self.leverages = np.asarray(leverages, dtype=float)
        n_t = len(self.leverages)
        self.half_life_ns = np.full(n_t, np.inf) if half_life_ns is None else np.asarray(half_life_ns, float)
        self.lattice = lattice or PriceGrid("bps")
        self._log_decay_per_ns = -np.log(2.0) / self.half_life_ns  # [tier]; 0 where no decay
        self._max_log_decay_per_ns = float(-self._log_decay_per_ns.min())
        self._decayed_ns = 0  # decay time since the multipliers were last folded
        self._decay_factors: dict[int, np.ndarray] = {}  # step (ns) -> per-tier factor
        self.multiplier = np.ones((2, n_t))  # [side index 0 long / 1 short, tier]
        self.clock_ns: int | None = None  # the time the multipliers' decay refers to
        # Bumped whenever a bucket's notional may have grown (rows added, liquidation prices moved, weights
        # refolded, a scale > 1). Between bumps every bucket only shrinks: decay, closing, consumption.
        self.growth_version = 0
        self.n = 0
        self._agg: _Aggregates | None = None
        self._ratios: dict = {}  # (bracket table, rep notional) -> LP / entry of fresh cohorts [side, tier]
        for name, dt in _FIELDS.items():
            setattr(self, "_" + name, np.zeros(capacity, dtype=dt))

    # views -------------------------------------------------------------------------------------
    def __getattr__(self, name):
        if name in _FIELDS:
            return self.__dict__["_" + name][: self.__dict__["n"]]
        raise AttributeError(name)

    def __len__(self) -> int:
        return self.n

    @property
    def sidx(self) -> np.ndarray:
        """Side index per row: 0 long, 1 short."""
        return (self.side < 0).astype(np.int64)

    @property
    def notional(self) -> np.ndarray:
        """Open notional per row (USDT) at ``clock_ns``."""
        return self.weight * self.multiplier[self.sidx, self.tier]

    def _aggregates(self) -> _Aggregates:
        if self._agg is None:
            self._agg = _Aggregates(self)
        return self._agg

    def _ensure(self, extra: int) -> None:
        need = self.n + extra
        cap = len(self._side)
        if need <= cap:
            return
        new_cap = max(need, 2 * cap)
        for name in _FIELDS:
            old = getattr(self, "_" + name)
            arr = np.zeros(new_cap, dtype=old.dtype)
            arr[: self.n] = old[: self.n]
            setattr(self, "_" + name, arr)

    def _lattice_index(self, lp: np.ndarray) -> np.ndarray:
        """Lattice bucket of each price, consistent with the lattice's edges (bucket k = [edge k, edge k+1))."""
        k = np.zeros(len(lp), dtype=np.int64)
        ok = np.isfinite(lp)
        if ok.any():
            g = self.lattice
            x = lp[ok]
            if g.mode == "fixed":
                kk = np.floor(x / g.width).astype(np.int64)
            else:
                kk = np.floor(np.log(x) / np.log1p(g.bps / 1e4)).astype(np.int64)
            kk -= x < g.edge(kk)
            kk += x >= g.edge(kk + 1)
            k[ok] = kk
        return k

    # time --------------------------------------------------------------------------------------
    def advance(self, ts_ns: int) -> None:
        """Decay every cohort to ``ts_ns`` (epoch ns): notional *= 0.5 ** (dt / tier half-life)."""
        ts_ns = int(ts_ns)
        if self.clock_ns is None or ts_ns <= self.clock_ns:
            self.clock_ns = ts_ns if self.clock_ns is None else self.clock_ns
            return
        dt = ts_ns - self.clock_ns
        factor = self._decay_factors.get(dt)  # bars are evenly spaced: a handful of distinct steps
        if factor is None:
            factor = np.exp(self._log_decay_per_ns * dt)
            if len(self._decay_factors) < 256:
                self._decay_factors[dt] = factor
        self.multiplier *= factor
        self.clock_ns = ts_ns
        self._decayed_ns += dt
        if self._decayed_ns * self._max_log_decay_per_ns > _FOLD_LOG:
            self.fold()

    def fold(self) -> None:
        """Move the multipliers into the row weights (multipliers back to 1)."""
        if self.n:
            self._weight[: self.n] = self.notional
            self._agg = None
        self.growth_version += 1
        self.multiplier[:] = 1.0
        self._decayed_ns = 0

    # mutation ----------------------------------------------------------------------------------
    def _fresh_lp_ratio(self, table, rep_notional: float) -> np.ndarray:
        """Liquidation price / entry of a freshly opened cohort, per [side index, tier] (NaN = none).

        With wallet = entry / leverage per unit and size = rep_notional / entry, the notional at the
        liquidation price (which picks the bracket) is rep_notional * LP / entry: the bracket and the
        ratio LP / entry do not depend on the entry, so they are computed once per bracket table."""
        key = (table, float(rep_notional))
        ratio = self._ratios.get(key)
        if ratio is None:
            n_t = len(self.leverages)
            side = np.repeat([1.0, -1.0], n_t)
            ratio = compute_lp(side, np.ones(2 * n_t), 1.0 / np.tile(self.leverages, 2), table, rep_notional)
            ratio = self._ratios[key] = ratio.reshape(2, n_t)
        return ratio

    def add(self, side, tier, entry, notional, ts_ns, table, rep_notional: float) -> None:
        """Open cohorts (arrays broadcast together, ts_ns epoch ns scalar or array; notional USDT at birth).

        Wallet per unit = entry / leverage (isolated). The book first decays to the newest birth; a cohort
        born before that has decayed from its own birth."""
        side, tier, entry, notional, birth = (
            a.ravel()
            for a in np.broadcast_arrays(
                np.asarray(side),
                np.asarray(tier),
                np.asarray(entry, float),
                np.asarray(notional, float),
                np.asarray(ts_ns, dtype=np.int64),
            )
        )
        keep = (notional > 0) & (entry > 0) & np.isfinite(notional * entry)
        if not keep.all():
            side, tier, entry, notional, birth = side[keep], tier[keep], entry[keep], notional[keep], birth[keep]
        k = len(side)
        if k == 0:
            return
        self.advance(int(birth.max()))  # the book moves to the newest birth: all notionals at one time
        tier = tier.astype(np.int64)
        sidx = (side < 0).astype(np.int64)
        age = (self.clock_ns - birth).astype(float)  # >= 0: cohorts born earlier have decayed since
        weight = notional * np.exp(self._log_decay_per_ns[tier] * age) / self.multiplier[sidx, tier]
        wallet = entry / self.leverages[tier]
        lp = entry * self._fresh_lp_ratio(table, rep_notional)[sidx, tier]
        lattice_k = self._lattice_index(lp)
        self._ensure(k)
        s = slice(self.n, self.n + k)
        self._side[s] = side
        self._tier[s] = tier
        self._entry[s] = entry
        self._weight[s] = weight
        self._wallet[s] = wallet
        self._lp[s] = lp
        self._k[s] = lattice_k
        self._birth_ns[s] = birth
        self.n += k
        self.growth_version += 1
        if self._agg is not None and not self._agg.add(sidx, tier, weight, lp, lattice_k):
            self._agg = None

    def keep(self, mask: np.ndarray, aggregates_kept: bool = False) -> None:
        """Keep only rows where ``mask`` is true (compacts in place); the cached sums are rebuilt later
        unless the caller already took the dropped rows out of them (``aggregates_kept``)."""
        k = int(mask.sum())
        if k == self.n:
            return
        for name in _FIELDS:
            arr = getattr(self, "_" + name)
            arr[:k] = arr[: self.n][mask]
        self.n = k
        if not aggregates_kept:
            self._agg = None

    def consume(self, low: float, high: float, close: float, bar_start_ns: int) -> tuple[float, float]:
        """Remove cohorts the price traded through; returns removed (long, short) notional (USDT).

        Cohorts born before the bar opened are tested against the bar's low (longs: lp >= low) and high
        (shorts: lp <= high). Cohorts born inside the bar are tested against the close only, because the
        bar's extreme may have happened before they existed.
        """
        if self.n == 0:
            return 0.0, 0.0
        agg = self._aggregates()
        if low > agg.max_long_lp and high < agg.min_short_lp:  # close lies in [low, high]: nothing to test
            return 0.0, 0.0
        lp, side = self.lp, self.side
        old = self.birth_ns <= bar_start_ns
        lo = np.where(old, low, close)
        hi = np.where(old, high, close)
        is_long = side > 0
        hit = np.where(is_long, lp >= lo, lp <= hi)  # NaN (cannot be liquidated) compares False
        gone = hit.nonzero()[0]
        if not len(gone):
            return 0.0, 0.0
        g_side, g_tier = (side[gone] < 0).astype(np.int64), self.tier[gone].astype(np.int64)
        notional = self.weight[gone] * self.multiplier[g_side, g_tier]
        removed_long = float(notional[g_side == 0].sum())
        removed_short = float(notional[g_side == 1].sum())
        stay = ~hit
        agg.remove(
            g_side,
            g_tier,
            self.weight[gone],
            lp[gone],
            self.k[gone],
            _extreme(np.fmax, lp[stay & is_long], -np.inf),
            _extreme(np.fmin, lp[stay & ~is_long], np.inf),
        )
        self.keep(~hit, aggregates_kept=True)
        return removed_long, removed_short

    def scale(self, factor: float, side: int | None = None) -> None:
        """Multiply notional of all cohorts (or one side's) by ``factor`` (>= 0)."""
        rows = slice(None) if side is None else (0 if side > 0 else 1)
        if factor > 1:
            self.growth_version += 1
        if factor > 0:
            self.multiplier[rows] *= factor
            if self.multiplier.min() < _FOLD_BELOW:
                self.fold()
        elif self.n:  # closing everything: zero the rows, keep the multipliers usable
            m = np.ones(self.n, bool) if side is None else self.side == side
            self._weight[: self.n][m] = 0.0
            self._agg = None

    def prune(self, min_notional: float) -> None:
        """Drop cohorts whose notional fell below ``min_notional`` USDT."""
        if self.n:
            self.keep(self.notional >= min_notional)

    def total(self, side: int) -> float:
        """Open notional (USDT) of one side."""
        if not self.n:
            return 0.0
        s = 0 if side > 0 else 1
        return float(self._aggregates().by_tier[s] @ self.multiplier[s])

    def recompute_lp(self, table, rep_notional: float) -> None:
        """Recompute every cohort's liquidation price from its current wallet."""
        if self.n:
            self._lp[: self.n] = compute_lp(self.side, self.entry, self.wallet, table, rep_notional)
            self._k[: self.n] = self._lattice_index(self.lp)
            self._agg = None
            self.growth_version += 1

    # output ------------------------------------------------------------------------------------
    def grid_lattice(self, k0: int, k1: int) -> tuple[np.ndarray, np.ndarray, dict]:
        """(long [tier, bucket], short [tier, bucket]) notional (USDT) on lattice buckets ``k0 .. k1 - 1``,
        and per side the levels below/above those buckets (count, USDT) and the unliquidatable notional."""
        n_t, n_b = len(self.leverages), k1 - k0
        agg = self._aggregates()
        a, b = max(k0 - agg.k_lo, 0), min(k1 - agg.k_lo, agg.nk)
        lo_end, hi_start = min(max(k0 - agg.k_lo, 0), agg.nk), max(min(k1 - agg.k_lo, agg.nk), 0)
        below, above, count = agg.prefix()
        grids, out = [], {}
        for s, name in ((0, "long"), (1, "short")):
            m = self.multiplier[s]
            g = np.zeros((n_t, n_b))
            if a < b:
                np.multiply(agg.grid[s, :, a:b], m[:, None], out=g[:, a + agg.k_lo - k0 : b + agg.k_lo - k0])
            grids.append(g)
            out[name] = {
                "below_count": int(count[s, lo_end]),
                "below_notional_usd": float(below[s, :, lo_end] @ m),
                "above_count": int(count[s, -1] - count[s, hi_start]),
                "above_notional_usd": float(above[s, :, hi_start] @ m),
                "unliquidatable_notional_usd": float(agg.nan_by_tier[s] @ m),
            }
        return grids[0], grids[1], out

    def bucket_totals(self, k0: int, k1: int) -> np.ndarray:
        """Notional (USDT) per [side index, lattice bucket k0 .. k1 - 1], all tiers together: bitwise the
        tier sums of ``grid_lattice(k0, k1)`` (same products, same order of addition)."""
        agg = self._aggregates()
        out = np.zeros((2, k1 - k0))
        a, b = max(k0 - agg.k_lo, 0), min(k1 - agg.k_lo, agg.nk)
        if a < b:
            out[:, a + agg.k_lo - k0 : b + agg.k_lo - k0] = (agg.grid[:, :, a:b] * self.multiplier[:, :, None]).sum(
                axis=1
            )
        return out
