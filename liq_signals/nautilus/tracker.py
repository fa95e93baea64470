"""Proximity state machine: turns per-bar cluster snapshots into 'entered' / 'left' / 'swept' events.

Pure Python (no Nautilus) so it can be tested on hand-made inputs. Per side ('long' below the price,
'short' above) it keeps the *active* cluster: the nearest qualifying cluster within ``proximity_bps``.
Each bar, in this order:

1. an active cluster is **swept** when the bar traded through it (long: ``low <= price_low``; short:
   ``high >= price_high``) → event 'swept', the side becomes inactive;
2. otherwise an active cluster **left** when no qualifying cluster is within ``proximity_bps`` any more
   (moved away, decayed below the thresholds, or vanished) → event 'left';
3. otherwise an active side follows the current nearest qualifying cluster silently (band/notional update);
4. an inactive side **enters** when a qualifying cluster is within ``proximity_bps``, the history is warm and
   at least ``cooldown_bars`` bars passed since that side's last 'left'/'swept' → event 'entered'.

Qualifying: ``notional_usd >= min_notional`` (USDT) and ``notional_usd / side total >= min_share``.
Distances are basis points from the bar close to the band's nearest edge (0 inside the band).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from liq_signals.engine.snapshot import ClusterTable


@dataclass(frozen=True)
class Band:
    """One cluster as the tracker sees it: side, price band (USDT), notional (USDT), distance (bps)."""

    side: str
    price_low: float
    price_high: float
    notional_usd: float
    distance_bps: float


@dataclass(frozen=True)
class ProximityEvent:
    """A state change: ``event`` in 'entered'|'left'|'swept' for ``band`` at bar close ``ts_ns`` (epoch ns)."""

    ts_ns: int
    event: str
    band: Band


def distance_bps(price: float, low: float, high: float) -> float:
    """Basis points from ``price`` to the nearest edge of [low, high]; 0 when inside."""
    if price < low:
        return (low - price) / price * 1e4
    if price > high:
        return (price - high) / price * 1e4
    return 0.0


def nearest_qualifying(clusters, side: str, price: float, min_notional: float, min_share: float) -> Band | None:
    """The qualifying cluster of ``side`` nearest to ``price`` on its own side of the price, or None.

    ``clusters`` is any iterable of objects with side, price_low, price_high, notional_usd, or a mapping
    {side: ClusterTable} (the indicator's per-bar form). Long clusters must start below the price
    (``price_low < price``), short clusters end above it (``price_high > price``). Ties on distance go to
    the larger notional, then the lower band, so the choice is deterministic.
    """
    if isinstance(clusters, Mapping):
        return _nearest_in_table(clusters[side], side, price, min_notional, min_share)
    mine = [c for c in clusters if c.side == side]
    total = sum(c.notional_usd for c in mine)
    best: Band | None = None
    for c in mine:
        if side == "long" and not c.price_low < price:
            continue
        if side == "short" and not c.price_high > price:
            continue
        if c.notional_usd < min_notional or total <= 0 or c.notional_usd / total < min_share:
            continue
        band = Band(side, c.price_low, c.price_high, c.notional_usd, distance_bps(price, c.price_low, c.price_high))
        key = (band.distance_bps, -band.notional_usd, band.price_low)
        if best is None or key < (best.distance_bps, -best.notional_usd, best.price_low):
            best = band
    return best


def _nearest_in_table(t: ClusterTable, side: str, price: float, min_notional: float, min_share: float) -> Band | None:
    """``nearest_qualifying`` on one side's ``ClusterTable``. Its bands are disjoint and ascending, so the
    nearest long band below the price is the highest candidate and the nearest short band the lowest."""
    n = t.notional_usd
    if not len(n):
        return None
    if side == "long":  # bands [0, j) start below the price; the nearest is the last qualifying one
        start, stop, pick = 0, int(t.price_low.searchsorted(price, "left")), -1
    else:  # bands [j, end) end above the price; the nearest is the first qualifying one
        start, stop, pick = int(t.price_high.searchsorted(price, "right")), len(n), 0
    ok = n[start:stop] >= min_notional
    if min_share > 0:
        ok &= n[start:stop] / n.sum() >= min_share
    idx = ok.nonzero()[0]
    if not len(idx):
        return None
    c = start + int(idx[pick])
    low, high = float(t.price_low[c]), float(t.price_high[c])
    return Band(side, low, high, float(n[c]), distance_bps(price, low, high))


def quiet_interval(tables, edges_low: float, edges_high: float, price: float, min_notional: float,
                   min_share: float) -> tuple[float, float] | None:
    """The widest price interval (USDT) around ``price`` holding no band that could ever qualify, or None.

    Valid while the clusters can only shrink, split or vanish (engine ``growth_version`` unchanged) and
    for any later price inside it: a band 'could qualify' when it has ``min_notional`` now (its notional
    only falls), when ``min_share`` > 0 (a share can rise as others vanish), or when it touches the grid
    window's edge ``edges_low`` / ``edges_high`` (a moved window may show more of it). The interval never
    reaches past the window (bands outside it are unknown). None when such a band holds the price.
    """
    low, high = edges_low, edges_high
    for t in tables.values():
        if not len(t.notional_usd):
            continue
        risky = t.notional_usd >= (0.0 if min_share > 0 else min_notional)
        risky[0] |= t.price_low[0] <= edges_low
        risky[-1] |= t.price_high[-1] >= edges_high
        idx = risky.nonzero()[0]
        if not len(idx):
            continue
        lo, hi = t.price_low[idx], t.price_high[idx]
        j = int(hi.searchsorted(price, "right"))  # risky bands [0, j) end at or below the price
        if j < len(idx) and lo[j] <= price:
            return None
        if j:
            low = max(low, float(hi[j - 1]))
        if j < len(idx):
            high = min(high, float(lo[j]))
    return low, high


class ProximityTracker:
    """Per-side proximity state (see module doc). Thresholds: bps, USDT, fraction in [0, 1], bars."""

    def __init__(self, proximity_bps: float, min_notional: float = 0.0, min_share: float = 0.0, cooldown_bars: int = 0):
        self.proximity_bps = float(proximity_bps)
        self.min_notional = float(min_notional)
        self.min_share = float(min_share)
        self.cooldown_bars = int(cooldown_bars)
        self.reset()

    def reset(self) -> None:
        self.active: dict[str, Band | None] = {"long": None, "short": None}
        self._bars_since_exit: dict[str, int | None] = {"long": None, "short": None}

    def blocked_for(self, side: str) -> int:
        """How many of the next bars ``side`` cannot enter because of its cooldown (0 = it may next bar)."""
        since = self._bars_since_exit[side]
        return 0 if since is None else max(self.cooldown_bars - since - 1, 0)

    def idle(self) -> None:
        """``step`` for a bar known to have no cluster within ``proximity_bps`` while no side is active:
        no event can occur, only the cooldown counters advance."""
        if self.active["long"] is not None or self.active["short"] is not None:
            raise RuntimeError("idle() is only valid while no side is active")
        for side, since in self._bars_since_exit.items():
            if since is not None:
                self._bars_since_exit[side] = since + 1

    def step(self, ts_ns: int, high: float, low: float, close: float, clusters, warm: bool = True) -> list[ProximityEvent]:
        """Advance one bar (prices USDT) given that bar's clusters; return the events, long side first."""
        events: list[ProximityEvent] = []
        for side in ("long", "short"):
            since = self._bars_since_exit[side]
            if since is not None:
                self._bars_since_exit[side] = since + 1
            current = nearest_qualifying(clusters, side, close, self.min_notional, self.min_share)
            if current is not None and current.distance_bps > self.proximity_bps:
                current = None
            active = self.active[side]
            if active is not None:
                swept = low <= active.price_low if side == "long" else high >= active.price_high
                if swept or current is None:
                    kind = "swept" if swept else "left"
                    band = Band(
                        side, active.price_low, active.price_high, active.notional_usd,
                        distance_bps(close, active.price_low, active.price_high),
                    )
                    events.append(ProximityEvent(ts_ns, kind, band))
                    self.active[side] = None
                    self._bars_since_exit[side] = 0
                else:
                    self.active[side] = current
                continue
            if current is None or not warm:
                continue
            since = self._bars_since_exit[side]
            if since is not None and since < self.cooldown_bars:
                continue
            self.active[side] = current
            events.append(ProximityEvent(ts_ns, "entered", current))
        return events
