"""A point-in-time view of estimated liquidation levels and the helpers that read it.

Units: prices and bucket edges in USDT, notionals in USDT, ``ts_ns`` epoch nanoseconds (UTC).
``long_notional`` / ``short_notional`` are arrays [tier, bucket]; bucket i = [edges[i], edges[i+1]).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

# A bucket joins a cluster when it holds at least this share of its side's largest bucket
# (0 = every non-empty bucket, the plain contract; the ``levels`` command uses 0.2 by default).
DEFAULT_MIN_SHARE = 0.0


@dataclass(frozen=True)
class Cluster:
    """A cluster — adjacent member buckets of one side — the one representation used by ``levels``, the
    proximity signals and the reports: ``side`` 'long'|'short', price band (USDT), total notional (USDT),
    ``distance_bps`` from the current price to the band's nearest edge (0 if the price is inside), ``tiers``
    {leverage: notional USDT} (empty where only the band was needed, e.g. in proximity events)."""

    side: str
    price_low: float
    price_high: float
    notional_usd: float
    distance_bps: float
    tiers: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "side": self.side,
            "price_low": self.price_low,
            "price_high": self.price_high,
            "notional_usd": self.notional_usd,
            "distance_bps": self.distance_bps,
            "tiers": {str(int(k) if float(k).is_integer() else k): v for k, v in self.tiers.items()},
        }


@dataclass(frozen=True, eq=False)
class ClusterTable:
    """The clusters of one side as arrays, ascending by price: band edges (USDT), notional (USDT) and the
    first/last bucket index of each band in its snapshot."""

    side: str
    price_low: np.ndarray
    price_high: np.ndarray
    notional_usd: np.ndarray
    first: np.ndarray
    last: np.ndarray

    def distance_bps(self, price: float) -> np.ndarray:
        """Basis points from ``price`` to each band's nearest edge (0 inside the band)."""
        gap = np.maximum(self.price_low - price, 0.0) + np.maximum(price - self.price_high, 0.0)
        return gap / price * 1e4


def member_buckets(totals: np.ndarray, min_share: float = DEFAULT_MIN_SHARE, floor_usd: float = 0.0) -> np.ndarray:
    """[2, bucket] bool: the buckets (``totals`` USDT, row 0 long, row 1 short) that belong to a cluster —
    holding > 0, at least ``min_share`` of their side's largest bucket and at least ``floor_usd``."""
    member = totals >= floor_usd if floor_usd > 0 else totals > 0
    if min_share > 0:
        member &= totals >= min_share * totals.max(axis=1, keepdims=True)
    return member


def cluster_tables(
    totals: np.ndarray,
    edges: np.ndarray,
    min_share: float = DEFAULT_MIN_SHARE,
    floor_usd: float = 0.0,
    member: np.ndarray | None = None,
    same_runs_as: dict | None = None,
) -> dict[str, ClusterTable]:
    """{'long', 'short'}: runs of adjacent member buckets (``member_buckets``) of each side, from ``totals``
    [2, bucket] (USDT per bucket on ``edges``), both sides in one pass.

    ``same_runs_as``: tables from the same ``edges`` and an equal ``member`` mask (the caller checks): their
    runs are reused and only the notionals are summed again — the same sums a fresh call makes."""
    if member is None:
        member = member_buckets(totals, min_share, floor_usd)
    n = totals.shape[1]
    if same_runs_as is not None:
        long, short = same_runs_as["long"], same_runs_as["short"]
        k = len(long.first)
        first, last = np.concatenate([long.first, short.first]), np.concatenate([long.last, short.last])
        low = np.concatenate([long.price_low, short.price_low])
        high = np.concatenate([long.price_high, short.price_high])
        starts = first + np.repeat([0, n], [k, len(short.first)])
    else:
        step = np.zeros((2, n + 1), dtype=np.int8)
        step[:, :-1] = member
        step[:, 1:] -= member  # +1 where a run starts, -1 just after it ends
        side, first = (step == 1).nonzero()
        last = (step == -1).nonzero()[1] - 1
        k = int(len(side) - side.sum())  # runs of the long row come first
        low, high = edges[first], edges[last + 1]
        starts = side * n + first
    # reduceat sums each start up to the next start (across the row end too): non-members count zero
    notional = np.add.reduceat((totals * member).ravel(), starts) if len(starts) else np.zeros(0)
    return {
        "long": ClusterTable("long", low[:k], high[:k], notional[:k], first[:k], last[:k]),
        "short": ClusterTable("short", low[k:], high[k:], notional[k:], first[k:], last[k:]),
    }


@dataclass(frozen=True, eq=False)
class LevelSnapshot:
    """Estimated liquidation notional by side, leverage tier and price bucket at ``ts_ns``.

    ``brackets``: the bracket table used {symbol, effective_from, file, is_default, note}; ``notes``: human
    notes (fallbacks, models dropped); ``outside_grid``: per side, levels below/above the grid (count and
    notional) and notional that cannot be liquidated.
    """

    symbol: str
    ts_ns: int
    price: float
    model: str
    edges: np.ndarray
    tiers: tuple
    long_notional: np.ndarray
    short_notional: np.ndarray
    brackets: dict
    notes: tuple = ()
    outside_grid: dict = field(default_factory=dict)
    initialized: bool = True

    def with_floor(self, bucket_floor_usd: float) -> LevelSnapshot:
        """This snapshot with every bucket whose side total (all tiers) is below ``bucket_floor_usd`` (USDT)
        set to zero — the buckets the proximity signals' clusters are made of; 0 returns ``self``."""
        if bucket_floor_usd <= 0:
            return self
        keep_long = self.long_by_bucket >= bucket_floor_usd
        keep_short = self.short_by_bucket >= bucket_floor_usd
        return replace(
            self,
            long_notional=np.where(keep_long[None, :], self.long_notional, 0.0),
            short_notional=np.where(keep_short[None, :], self.short_notional, 0.0),
        )

    # totals ------------------------------------------------------------------------------------
    @property
    def long_by_bucket(self) -> np.ndarray:
        return self.long_notional.sum(axis=0)

    @property
    def short_by_bucket(self) -> np.ndarray:
        return self.short_notional.sum(axis=0)

    @property
    def long_total(self) -> float:
        return float(self.long_notional.sum())

    @property
    def short_total(self) -> float:
        return float(self.short_notional.sum())

    @property
    def bucket_mid(self) -> np.ndarray:
        return 0.5 * (self.edges[:-1] + self.edges[1:])

    # cumulative curves ---------------------------------------------------------------------------
    def cumulative_long(self) -> np.ndarray:
        """Per bucket: long notional liquidated if price falls to that bucket (buckets wholly or partly
        below the price, summed outward from the price); 0 for buckets above the price."""
        below = self.edges[:-1] < self.price
        v = np.where(below, self.long_by_bucket, 0.0)
        return np.cumsum(v[::-1])[::-1] * below

    def cumulative_short(self) -> np.ndarray:
        """Per bucket: short notional liquidated if price rises to that bucket (buckets reaching above the
        price, summed outward from the price); 0 for buckets below."""
        above = self.edges[1:] > self.price
        v = np.where(above, self.short_by_bucket, 0.0)
        return np.cumsum(v) * above

    # clusters ----------------------------------------------------------------------------------
    def _clusters_by_side(self, min_share: float = DEFAULT_MIN_SHARE) -> dict[str, list[Cluster]]:
        totals = np.stack([self.long_by_bucket, self.short_by_bucket])
        member = member_buckets(totals, min_share)
        tables = cluster_tables(totals, self.edges, member=member)
        tiers = [float(x) for x in self.tiers]
        out = {}
        for row, (side, grid) in enumerate((("long", self.long_notional), ("short", self.short_notional))):
            t = tables[side]
            if not len(t.first):
                out[side] = []
                continue
            by_tier = np.add.reduceat(np.where(member[row][None, :], grid, 0.0), t.first, axis=1)
            dist = t.distance_bps(self.price)
            out[side] = [
                Cluster(
                    side,
                    float(t.price_low[c]),
                    float(t.price_high[c]),
                    float(t.notional_usd[c]),
                    float(dist[c]),
                    dict(zip(tiers, by_tier[:, c].tolist())),
                )
                for c in range(len(t.first))
            ]
        return out

    def clusters(self, top_k: int | None = None, min_share: float = DEFAULT_MIN_SHARE) -> list[Cluster]:
        """Clusters of both sides sorted by notional (desc); the ``top_k`` largest when given.

        A bucket belongs to a cluster when it holds at least ``min_share`` of its side's largest bucket
        (0, the default = every non-empty bucket). A model seeded over weeks fills most buckets and then
        forms one band per side; a share such as 0.2 splits it into the dense bands."""
        by_side = self._clusters_by_side(min_share)
        allc = by_side["long"] + by_side["short"]
        allc.sort(key=lambda c: (-c.notional_usd, c.price_low, c.side))
        return allc if top_k is None else allc[:top_k]

    def nearest_long_below(self, min_share: float = DEFAULT_MIN_SHARE) -> Cluster | None:
        """The long cluster closest below the price (the one with the highest top edge under it)."""
        cands = [c for c in self._clusters_by_side(min_share)["long"] if c.price_low < self.price]
        return max(cands, key=lambda c: c.price_high) if cands else None

    def nearest_short_above(self, min_share: float = DEFAULT_MIN_SHARE) -> Cluster | None:
        """The short cluster closest above the price (the one with the lowest bottom edge over it)."""
        cands = [c for c in self._clusters_by_side(min_share)["short"] if c.price_high > self.price]
        return min(cands, key=lambda c: c.price_low) if cands else None

    def to_dict(self, top_k: int | None = None, min_share: float = DEFAULT_MIN_SHARE) -> dict:
        """JSON-ready summary: symbol, time, price, model, bracket table, clusters, notes."""
        import pandas as pd

        return {
            "symbol": self.symbol,
            "time": pd.Timestamp(self.ts_ns, unit="ns", tz="UTC").isoformat(),
            "price": self.price,
            "model": self.model,
            "brackets_date": self.brackets.get("effective_from"),
            "brackets": self.brackets,
            "long_total_usd": self.long_total,
            "short_total_usd": self.short_total,
            "clusters": [c.to_dict() for c in self.clusters(top_k, min_share)],
            "outside_grid": self.outside_grid,
            "initialized": self.initialized,
            "notes": list(self.notes),
        }
