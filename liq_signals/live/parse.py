"""Binance USD-M public payloads → liq_signals records (pure functions, no I/O).

- ``GET /fapi/v1/openInterest`` → ``{"openInterest": str (base), "symbol", "time": ms}``;
- ``<symbol>@markPrice`` → ``{"e": "markPriceUpdate", "E": ms, "s", "p": mark str, "r": funding rate str,
  "T": next funding time ms}``;
- ``<symbol>@forceOrder`` → ``{"e": "forceOrder", "E": ms, "o": {"s", "S": "SELL"|"BUY", "p", "ap", "q",
  "z" (filled), "T": trade time ms}}``.

Malformed payloads raise :class:`FeedFormatError` (the client logs and skips them). Units: prices USDT,
quantities base, notionals USDT, times epoch ms in, ns out.
"""

from __future__ import annotations

import math
from typing import NamedTuple

NS_PER_MS = 1_000_000


class FeedFormatError(ValueError):
    """A payload that does not have the documented fields/types."""


def _num(d: dict, key: str, what: str) -> float:
    try:
        v = float(d[key])
    except (KeyError, TypeError, ValueError):
        raise FeedFormatError(f"{what}: field {key!r} missing or not a number in {str(d)[:200]}") from None
    if not math.isfinite(v):
        raise FeedFormatError(f"{what}: field {key!r} is not finite")
    return v


def _ms(d: dict, key: str, what: str) -> int:
    v = d.get(key) if isinstance(d, dict) else None
    if isinstance(v, bool) or not isinstance(v, int):
        raise FeedFormatError(f"{what}: field {key!r} missing or not an integer ms time")
    return v


class OIPoint(NamedTuple):
    """One open-interest poll: Binance ``time`` (ns), open interest (base)."""

    ts_ns: int
    open_interest: float


def parse_open_interest(payload) -> OIPoint:
    """``/fapi/v1/openInterest`` JSON → :class:`OIPoint` (ts = Binance's ``time``, the observed instant)."""
    if not isinstance(payload, dict):
        raise FeedFormatError("openInterest: expected a JSON object")
    return OIPoint(_ms(payload, "time", "openInterest") * NS_PER_MS, _num(payload, "openInterest", "openInterest"))


class MarkUpdate(NamedTuple):
    """One ``markPriceUpdate``: event time (ns), mark price (USDT), funding rate in force (fraction per
    interval), next funding time (ns)."""

    ts_ns: int
    mark_price: float
    rate: float
    next_funding_ns: int


def parse_mark_price(data) -> MarkUpdate:
    """``@markPrice`` stream ``data`` object → :class:`MarkUpdate`."""
    if not isinstance(data, dict):
        raise FeedFormatError("markPrice: expected a JSON object")
    return MarkUpdate(
        _ms(data, "E", "markPrice") * NS_PER_MS,
        _num(data, "p", "markPrice"),
        _num(data, "r", "markPrice"),
        _ms(data, "T", "markPrice") * NS_PER_MS,
    )


class FundingCrossing(NamedTuple):
    """A funding time passed: observed at ``ts_ns`` (the first mark update at or after ``funding_ns``), the rate
    that was in force, the mark price (USDT) of that update, and the funding interval in hours (0 = unknown)."""

    ts_ns: int
    funding_ns: int
    rate: float
    mark_price: float
    interval_hours: int


class FundingTracker:
    """Detects funding-time crossings in a stream of :class:`MarkUpdate` (one crossing per funding time)."""

    def __init__(self) -> None:
        self.pending: MarkUpdate | None = None  # the last update before the pending funding time
        self.last_funding_ns: int | None = None

    def update(self, m: MarkUpdate) -> FundingCrossing | None:
        """Feed one update; return the crossing it completes, if any."""
        out = None
        p = self.pending
        if p is not None and m.ts_ns >= p.next_funding_ns and p.next_funding_ns != self.last_funding_ns:
            gap = m.next_funding_ns - p.next_funding_ns
            hours = round(gap / 3_600_000_000_000) if gap > 0 else 0
            out = FundingCrossing(m.ts_ns, p.next_funding_ns, p.rate, m.mark_price, hours)
            self.last_funding_ns = p.next_funding_ns
        if m.ts_ns < m.next_funding_ns:
            self.pending = m
        return out


class ForceOrder(NamedTuple):
    """One ``forceOrder`` snapshot: trade time (ns), symbol, liquidated position side, price, average price
    (USDT), filled quantity (base), notional (USDT)."""

    ts_ns: int
    symbol: str
    side: str
    price: float
    avg_price: float
    quantity: float
    notional_usd: float


def parse_force_order(data) -> ForceOrder:
    """``@forceOrder`` stream ``data`` object → :class:`ForceOrder`. A SELL order liquidates a long."""
    o = data.get("o") if isinstance(data, dict) else None
    if not isinstance(o, dict):
        raise FeedFormatError("forceOrder: missing order object 'o'")
    s = o.get("S")
    if s not in ("SELL", "BUY"):
        raise FeedFormatError(f"forceOrder: side 'S' must be SELL or BUY, got {s!r}")
    qty = _num(o, "z" if "z" in o else "q", "forceOrder")
    ap = _num(o, "ap", "forceOrder")
    return ForceOrder(
        _ms(o, "T", "forceOrder") * NS_PER_MS,
        str(o.get("s", "")),
        "long" if s == "SELL" else "short",
        _num(o, "p", "forceOrder"),
        ap,
        qty,
        ap * qty,
    )
