"""Binance USD-M liquidation price (one-way mode, one position), vectorised with numpy.

    LP = (WB + cum - side * size * EP) / (size * MMR - side * size)

side +1 long / -1 short, size in base asset (> 0), EP entry price in USDT, WB wallet balance allocated
to the position in USDT (isolated margin; WB = size * EP / leverage when given a leverage). MMR and cum
come from the bracket that holds the notional **at the liquidation price** (size * LP), found by
computing LP with every bracket and keeping the one whose [floor, cap] contains size * LP. Maintenance
margin is continuous in notional, so exactly one bracket matches (neighbours agree at a shared edge).
A non-positive or non-finite LP means the position cannot be liquidated: ``price`` is NaN, bracket 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from liq_signals.engine.brackets import BracketTable
from liq_signals.errors import LiqSignalsError

# Relative slack on bracket edges so a notional that lands exactly on an edge is accepted.
EDGE_REL_TOL = 1e-12


@dataclass(frozen=True, eq=False)
class LiquidationResult:
    """Arrays with the broadcast shape of the inputs: ``price`` (USDT, NaN = cannot be liquidated),
    ``bracket`` (1-based int, 0 when not liquidatable), ``mmr`` (fraction) and ``cum`` (USDT) of the
    bracket used (NaN when not liquidatable)."""

    price: np.ndarray
    bracket: np.ndarray
    mmr: np.ndarray
    cum: np.ndarray

    @property
    def liquidatable(self) -> np.ndarray:
        return self.bracket > 0


def _positive(name: str, values: np.ndarray) -> None:
    bad = ~(np.isfinite(values) & (values > 0))
    if np.any(bad):
        first = values[bad].flat[0]
        raise LiqSignalsError(f"{name} must be a finite number > 0, got {first!r}")


def _sides(side) -> np.ndarray:
    s = np.asarray(side)
    if s.dtype.kind in "US":  # "long"/"short" strings
        lower = np.char.lower(s.astype(str))
        out = np.where(lower == "long", 1.0, np.where(lower == "short", -1.0, np.nan))
    else:
        out = s.astype(float)
    bad = ~np.isin(out, (1.0, -1.0))
    if np.any(bad):
        raise LiqSignalsError(f"side must be +1 (long) or -1 (short), got {s[bad].flat[0]!r}")
    return out


def liquidation_price(side, size, entry, table: BracketTable, wallet=None, leverage=None) -> LiquidationResult:
    """Liquidation price of isolated positions, vectorised over numpy arrays (scalars broadcast).

    side: +1 long / -1 short (or "long"/"short"); size: |position| in base (> 0); entry: USDT (> 0);
    exactly one of wallet (USDT allocated to the position, any finite value) or leverage (> 0, giving
    WB = size * entry / leverage). Raises ``LiqSignalsError`` on invalid input.
    """
    if (wallet is None) == (leverage is None):
        raise LiqSignalsError("give exactly one of wallet or leverage")
    s = _sides(side)
    sz = np.asarray(size, dtype=float)
    ep = np.asarray(entry, dtype=float)
    _positive("size", sz)
    _positive("entry", ep)
    if leverage is not None:
        lev = np.asarray(leverage, dtype=float)
        _positive("leverage", lev)
        wb = sz * ep / lev
    else:
        wb = np.asarray(wallet, dtype=float)
        if not np.all(np.isfinite(wb)):
            raise LiqSignalsError("wallet must be finite")
    s, sz, ep, wb = np.broadcast_arrays(s, sz, ep, wb)

    shape = s.shape
    price = np.full(shape, np.nan)
    bracket = np.zeros(shape, dtype=np.int64)
    mmr = np.full(shape, np.nan)
    cum = np.full(shape, np.nan)
    found = np.zeros(shape, dtype=bool)
    numer_base = wb - s * sz * ep
    last = table.n_brackets - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in range(table.n_brackets):
            m_k, c_k = table.mmr[k], table.cum[k]
            lp = (numer_base + c_k) / (sz * (m_k - s))
            notional = sz * lp
            lo = table.notional_floor[k] * (1.0 - EDGE_REL_TOL)
            hi = np.inf if k == last else table.notional_cap[k] * (1.0 + EDGE_REL_TOL)
            ok = ~found & np.isfinite(lp) & (lp > 0) & (notional >= lo) & (notional <= hi)
            price[ok] = lp[ok]
            bracket[ok] = k + 1
            mmr[ok] = m_k
            cum[ok] = c_k
            found |= ok
    return LiquidationResult(price=price, bracket=bracket, mmr=mmr, cum=cum)


def check_leverage(
    table: BracketTable, notional: float, leverage: float | None = None, wallet: float | None = None
) -> None:
    """Refuse (``LiqSignalsError``, one line) a position Binance would not open: leverage below 1x, or a
    leverage — given, or implied by a positive wallet as notional / wallet — above the ``max_leverage`` of
    the bracket holding the position's ``notional`` (USDT, at entry)."""
    bracket, max_lev = table.max_leverage_at(notional)
    k = bracket - 1
    where = (
        f"{table.symbol} bracket {bracket} ({table.notional_floor[k]:,.0f}-{table.notional_cap[k]:,.0f} "
        f"USDT notional, {table.describe()})"
    )
    if leverage is not None:
        if leverage < 1:
            raise LiqSignalsError(
                f"--leverage {leverage:g}x is below 1x (Binance allows 1x to {max_lev:g}x "
                f"for {notional:,.2f} USDT notional)"
            )
        if leverage > max_lev:
            raise LiqSignalsError(
                f"--leverage {leverage:g}x is above the {max_lev:g}x Binance allows for "
                f"{notional:,.2f} USDT notional: {where}"
            )
    if wallet is not None and wallet > 0 and notional / wallet > max_lev:
        raise LiqSignalsError(
            f"--wallet {wallet:,.2f} USDT is {notional / wallet:,.4g}x leverage, above the "
            f"{max_lev:g}x Binance allows for {notional:,.2f} USDT notional (needs at least "
            f"{notional / max_lev:,.2f} USDT): {where}"
        )


def liquidation_price_leverage_form(side, entry, leverage, mmr):
    """Leverage form for isolated positions with WB = size * entry / leverage and cum = 0 (USDT):
    long LP = EP (1 - 1/L) / (1 - MMR), short LP = EP (1 + 1/L) / (1 + MMR).

    It equals ``liquidation_price(side, size, entry, table, leverage=L)`` whenever the result falls in a
    bracket with cum = 0 (bracket 1) and MMR = ``mmr``; models use it for speed. Vectorised; NaN where
    the price is not positive (e.g. a 1x long). No input validation (hot path).
    """
    s = np.asarray(side, dtype=float)
    ep = np.asarray(entry, dtype=float)
    lev = np.asarray(leverage, dtype=float)
    m = np.asarray(mmr, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        lp = ep * (1.0 - s / lev) / (1.0 - s * m)
    return np.where(np.isfinite(lp) & (lp > 0), lp, np.nan)
