"""Proximity signals: turn the engine's levels into 'entered' / 'touched' / 'swept' / 'left' events, bar by bar.

Plain Python (no Nautilus): the Nautilus actor only forwards bars and observations and publishes what
:class:`ProximitySignals` returns, so a backtest, a live node and a test on hand-made inputs share this code.

Per side ('long' clusters below the price, 'short' above) the tracker keeps the *active* cluster: the nearest
qualifying cluster within ``proximity_bps``. Each bar, in this order:

1. an active cluster is **swept** when the bar traded through it (long: ``low <= price_low``; short:
   ``high >= price_high``) → event 'swept', the side becomes inactive;
2. otherwise, when no qualifying cluster is within ``proximity_bps`` any more, the side becomes inactive with
   event **touched** if the bar traded *into* the active band without clearing it (long: ``low <= price_high``;
   short: ``high >= price_low``: a partial sweep — the part traded through was consumed and what remains no
   longer qualifies), else **left** (the price moved away, or the cluster decayed or vanished untouched);
3. otherwise an active side follows the current nearest qualifying cluster silently (band/notional update);
4. an inactive side **enters** when a qualifying cluster is within ``proximity_bps``, the history is warm and
   at least ``cooldown_bars`` bars passed since that side's last exit → event 'entered'.

Clusters are runs of adjacent buckets holding at least ``bucket_floor_usd`` (USDT, all tiers); qualifying:
``notional_usd >= min_notional`` (USDT) and ``notional_usd / side total >= min_share``. Distances are basis
points from the bar close to the band's nearest edge (0 inside the band). Prices USDT, times epoch ns.

Most bars need no cluster work: while no side is active and the engine's levels can only shrink
(``growth_version`` unchanged), the widest price interval holding no band that could ever qualify
(:func:`quiet_interval`) stays valid, and a bar whose proximity range lies inside it cannot produce an event.
Skipping those bars is exact (tests force the full work on every bar and get the same events).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from liq_signals.engine.snapshot import Cluster, ClusterTable, cluster_tables, member_buckets
from liq_signals.errors import ConfigError

SIDES = ("long", "short")
EVENTS = ("entered", "touched", "swept", "left")  # 'entered' opens a side; the other three close it


@dataclass(frozen=True)
class ProximityEvent:
    """A state change: ``event`` in :data:`EVENTS` of ``cluster`` at bar close ``ts_ns`` (epoch ns)."""

    ts_ns: int
    event: str
    cluster: Cluster


@dataclass(frozen=True)
class ProximityConfig:
    """Thresholds of the proximity signals (validated; ``ConfigError`` names the field): ``proximity_bps`` (bps),
    ``min_notional`` (USDT), ``min_share`` (fraction of the side's total, 0..1), ``cooldown_bars`` (bars),
    ``bucket_floor_usd`` (USDT per bucket, buckets below it are not part of any cluster)."""

    proximity_bps: float = 50.0
    min_notional: float = 0.0
    min_share: float = 0.0
    cooldown_bars: int = 0
    bucket_floor_usd: float = 0.0

    def __post_init__(self) -> None:
        for name, hi in (
            ("proximity_bps", math.inf),
            ("min_notional", math.inf),
            ("min_share", 1.0),
            ("bucket_floor_usd", math.inf),
        ):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (0 <= v <= hi):
                raise ConfigError(
                    f"{name} must be a number >= 0{'' if hi == math.inf else f' and <= {hi:g}'}, got {v!r}"
                )
        if isinstance(self.cooldown_bars, bool) or not isinstance(self.cooldown_bars, int) or self.cooldown_bars < 0:
            raise ConfigError(f"cooldown_bars must be an integer >= 0, got {self.cooldown_bars!r}")


def distance_bps(price: float, low: float, high: float) -> float:
    """Basis points from ``price`` to the nearest edge of [low, high]; 0 when inside."""
    if price < low:
        return (low - price) / price * 1e4
    if price > high:
        return (price - high) / price * 1e4
    return 0.0


def nearest_qualifying(table: ClusterTable, price: float, min_notional: float, min_share: float) -> Cluster | None:
    """The qualifying cluster of ``table``'s side nearest to ``price`` on its own side of the price, or None.

    Long clusters must start below the price (``price_low < price``), short clusters end above it
    (``price_high > price``). The bands are disjoint and ascending, so the nearest long band is the highest
    candidate and the nearest short band the lowest."""
    n = table.notional_usd
    if not len(n):
        return None
    if table.side == "long":  # bands [0, j) start below the price; the nearest is the last qualifying one
        start, stop, pick = 0, int(table.price_low.searchsorted(price, "left")), -1
    else:  # bands [j, end) end above the price; the nearest is the first qualifying one
        start, stop, pick = int(table.price_high.searchsorted(price, "right")), len(n), 0
    ok = n[start:stop] >= min_notional
    if min_share > 0:
        ok &= n[start:stop] / n.sum() >= min_share
    idx = ok.nonzero()[0]
    if not len(idx):
        return None
    c = start + int(idx[pick])
    low, high = float(table.price_low[c]), float(table.price_high[c])
    return Cluster(table.side, low, high, float(n[c]), distance_bps(price, low, high))


def quiet_interval(
    tables, edges_low: float, edges_high: float, price: float, min_notional: float, min_share: float
) -> tuple[float, float] | None:
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
    """Per-side proximity state (see module doc) over a given bar's cluster tables."""

    def __init__(self, config: ProximityConfig):
        self.config = config
        self.reset()

    def reset(self) -> None:
        self.active: dict[str, Cluster | None] = {"long": None, "short": None}
        self._bars_since_exit: dict[str, int | None] = {"long": None, "short": None}

    @property
    def any_active(self) -> bool:
        return self.active["long"] is not None or self.active["short"] is not None

    def blocked_for(self, side: str) -> int:
        """How many of the next bars ``side`` cannot enter because of its cooldown (0 = it may next bar)."""
        since = self._bars_since_exit[side]
        return 0 if since is None else max(self.config.cooldown_bars - since - 1, 0)

    def idle(self) -> None:
        """``step`` for a bar known to have no cluster within ``proximity_bps`` while no side is active:
        no event can occur, only the cooldown counters advance."""
        if self.any_active:
            raise RuntimeError("idle() is only valid while no side is active")
        for side, since in self._bars_since_exit.items():
            if since is not None:
                self._bars_since_exit[side] = since + 1

    def step(
        self, ts_ns: int, high: float, low: float, close: float, tables: dict[str, ClusterTable], warm: bool = True
    ) -> list[ProximityEvent]:
        """Advance one bar (prices USDT) given that bar's cluster tables; return the events, long side first."""
        cfg = self.config
        events: list[ProximityEvent] = []
        for side in SIDES:
            since = self._bars_since_exit[side]
            if since is not None:
                self._bars_since_exit[side] = since + 1
            current = nearest_qualifying(tables[side], close, cfg.min_notional, cfg.min_share)
            if current is not None and current.distance_bps > cfg.proximity_bps:
                current = None
            active = self.active[side]
            if active is not None:
                swept = low <= active.price_low if side == "long" else high >= active.price_high
                if swept or current is None:
                    reached = low <= active.price_high if side == "long" else high >= active.price_low
                    kind = "swept" if swept else ("touched" if reached else "left")
                    moved = Cluster(
                        side,
                        active.price_low,
                        active.price_high,
                        active.notional_usd,
                        distance_bps(close, active.price_low, active.price_high),
                    )
                    events.append(ProximityEvent(ts_ns, kind, moved))
                    self.active[side] = None
                    self._bars_since_exit[side] = 0
                else:
                    self.active[side] = current
                continue
            if current is None or not warm:
                continue
            since = self._bars_since_exit[side]
            if since is not None and since < cfg.cooldown_bars:
                continue
            self.active[side] = current
            events.append(ProximityEvent(ts_ns, "entered", current))
        return events


class ProximitySignals:
    """The proximity events of one engine, bar by bar: clusters from the engine's bucket totals, the tracker,
    and the exact quiet-bar skip (see module doc)."""

    def __init__(self, config: ProximityConfig):
        self.config = config
        self.tracker = ProximityTracker(config)
        self.reset()

    def reset(self) -> None:
        self.tracker.reset()
        self.bars = 0
        self.quiet_bars = 0  # bars that skipped the cluster work
        # (growth version, low, high, last bar): prices (USDT) around which no band can qualify
        self._quiet: tuple | None = None
        self._last_runs: tuple | None = None  # (edges, member mask, tables) of the last cluster_tables()

    def cluster_tables(self, edges: np.ndarray, totals: np.ndarray) -> dict[str, ClusterTable]:
        """{'long', 'short'}: clusters of the buckets ``totals`` [side, bucket] (USDT) on ``edges`` after the
        bucket floor; runs are reused while the window and member buckets are unchanged."""
        member = member_buckets(totals, floor_usd=self.config.bucket_floor_usd)
        last = self._last_runs
        same = last is not None and last[0] is edges and np.array_equal(last[1], member)
        tables = cluster_tables(totals, edges, member=member, same_runs_as=last[2] if same else None)
        self._last_runs = (edges, member, tables)
        return tables

    def on_bar(self, engine, ts_ns: int, high: float, low: float, close: float, warm: bool) -> list[ProximityEvent]:
        """The events of the bar closing at ``ts_ns`` (prices USDT), after ``engine`` (a ``LiquidationEngine``)
        applied that bar. ``warm``: whether the history is long enough for a side to enter."""
        self.bars += 1
        tracker = self.tracker
        version = engine.growth_version
        if self._can_skip(close, version, warm):
            tracker.idle()  # nothing active and nothing can enter: no event possible
            self.quiet_bars += 1
            return []
        edges, totals = engine.bucket_totals()
        tables = self.cluster_tables(edges, totals)
        events = tracker.step(ts_ns, high, low, close, tables, warm=warm)
        self._quiet = None
        if version is not None and not tracker.any_active:
            # a side in cooldown cannot enter for a while: its bands are ignored until then
            blocked = {side: tracker.blocked_for(side) for side in SIDES}
            open_sides = {side: t for side, t in tables.items() if not blocked[side]}
            until = self.bars + min([b for b in blocked.values() if b] or [math.inf])
            quiet = quiet_interval(
                open_sides, float(edges[0]), float(edges[-1]), close, self.config.min_notional, self.config.min_share
            )
            self._quiet = None if quiet is None else (version, *quiet, until)
        return events

    def _can_skip(self, close: float, version: int | None, warm: bool) -> bool:
        """True when no event can happen this bar: no side is active and either the history is not warm
        (nothing may enter) or the proximity range around ``close`` (USDT) lies inside the remembered quiet
        interval, still valid (same engine growth version, ignored sides still in cooldown)."""
        if self.tracker.any_active:
            return False
        if not warm:
            return True
        q = self._quiet
        if q is None or q[0] != version or self.bars > q[3]:
            return False
        reach = self.config.proximity_bps / 1e4
        return close * (1.0 - reach) * (1.0 - 1e-9) > q[1] and close * (1.0 + reach) * (1.0 + 1e-9) < q[2]
