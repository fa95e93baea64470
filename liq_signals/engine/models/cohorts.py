"""Cohort state shared by every model: groups of positions opened together at one entry price and leverage.

A cohort holds (per row, numpy arrays grown by amortised doubling):
``side`` (+1 long / -1 short), ``tier`` (index into the config's leverage tiers), ``entry`` (USDT),
``notional`` (aggregate USDT at entry, shrunk by decay/closing), ``wallet`` (margin per unit of base, USDT),
``lp`` (liquidation price, USDT; NaN = cannot be liquidated), ``birth_ns`` (epoch ns).

The liquidation price is computed for a *representative single position* of ``rep_notional`` USDT at the
entry (size = rep_notional / entry, wallet = wallet_per_unit * size), so the bracket is the one a typical
single position sits in — never the cohort's aggregate notional nor the market's open interest.
"""

from __future__ import annotations

import numpy as np

_FIELDS = {
    "side": np.int8,
    "tier": np.int16,
    "entry": np.float64,
    "notional": np.float64,
    "wallet": np.float64,
    "lp": np.float64,
    "birth_ns": np.int64,
}


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


class CohortBook:
    """Growable arrays of cohorts with the vectorised operations the models need."""

    def __init__(self, leverages: np.ndarray, capacity: int = 256):
        self.leverages = np.asarray(leverages, dtype=float)
        self.n = 0
        for name, dt in _FIELDS.items():
            setattr(self, "_" + name, np.zeros(capacity, dtype=dt))

    # views -------------------------------------------------------------------------------------
    def __getattr__(self, name):
        if name in _FIELDS:
            return self.__dict__["_" + name][: self.__dict__["n"]]
        raise AttributeError(name)

    def __len__(self) -> int:
        return self.n

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

    # mutation ----------------------------------------------------------------------------------
    def add(self, side, tier, entry, notional, ts_ns, table, rep_notional: float) -> None:
        """Open cohorts (arrays broadcast together, ts_ns epoch ns scalar or array); wallet per unit = entry / leverage (isolated)."""
        side, tier, entry, notional, birth = np.broadcast_arrays(
            np.asarray(side), np.asarray(tier), np.asarray(entry, float), np.asarray(notional, float),
            np.asarray(ts_ns, dtype=np.int64),
        )
        keep = (notional > 0) & np.isfinite(notional) & np.isfinite(entry) & (entry > 0)
        side, tier, entry, notional, birth = side[keep], tier[keep], entry[keep], notional[keep], birth[keep]
        k = len(side)
        if k == 0:
            return
        wallet = entry / self.leverages[tier]
        lp = compute_lp(side, entry, wallet, table, rep_notional)
        self._ensure(k)
        s = slice(self.n, self.n + k)
        self._side[s] = side
        self._tier[s] = tier
        self._entry[s] = entry
        self._notional[s] = notional
        self._wallet[s] = wallet
        self._lp[s] = lp
        self._birth_ns[s] = birth
        self.n += k

    def keep(self, mask: np.ndarray) -> None:
        """Keep only rows where ``mask`` is true (compacts in place)."""
        k = int(mask.sum())
        if k == self.n:
            return
        for name in _FIELDS:
            arr = getattr(self, "_" + name)
            arr[:k] = arr[: self.n][mask]
        self.n = k

    def decay(self, dt_ns: int, half_life_ns: np.ndarray) -> None:
        """Multiply each cohort's notional by 0.5 ** (dt / half-life of its tier)."""
        if self.n == 0 or dt_ns <= 0:
            return
        factor = np.power(0.5, dt_ns / np.asarray(half_life_ns, float))
        self._notional[: self.n] *= factor[self.tier]

    def consume(self, low: float, high: float, close: float, bar_start_ns: int) -> tuple[float, float]:
        """Remove cohorts the price traded through; returns removed (long, short) notional (USDT).

        Cohorts born before the bar opened are tested against the bar's low (longs: lp >= low) and high
        (shorts: lp <= high). Cohorts born inside the bar are tested against the close only, because the
        bar's extreme may have happened before they existed.
        """
        if self.n == 0:
            return 0.0, 0.0
        lp, side = self.lp, self.side
        old = self.birth_ns <= bar_start_ns
        lo = np.where(old, low, close)
        hi = np.where(old, high, close)
        hit = np.isfinite(lp) & (((side > 0) & (lp >= lo)) | ((side < 0) & (lp <= hi)))
        if not hit.any():
            return 0.0, 0.0
        notional = self.notional
        removed_long = float(notional[hit & (side > 0)].sum())
        removed_short = float(notional[hit & (side < 0)].sum())
        self.keep(~hit)
        return removed_long, removed_short

    def scale(self, factor: float, side: int | None = None) -> None:
        """Multiply notional of all cohorts (or one side's) by ``factor``."""
        if self.n == 0:
            return
        if side is None:
            self._notional[: self.n] *= factor
        else:
            m = self.side == side
            self._notional[: self.n][m] *= factor

    def prune(self, min_notional: float) -> None:
        """Drop cohorts whose notional fell below ``min_notional`` USDT."""
        if self.n:
            self.keep(self.notional >= min_notional)

    def total(self, side: int) -> float:
        """Open notional (USDT) of one side."""
        return float(self.notional[self.side == side].sum()) if self.n else 0.0

    def recompute_lp(self, table, rep_notional: float) -> None:
        """Recompute every cohort's liquidation price from its current wallet."""
        if self.n:
            self._lp[: self.n] = compute_lp(self.side, self.entry, self.wallet, table, rep_notional)

    def copy(self) -> "CohortBook":
        other = CohortBook(self.leverages, capacity=max(self.n, 1))
        for name in _FIELDS:
            getattr(other, "_" + name)[: self.n] = getattr(self, name)
        other.n = self.n
        return other
