"""What each endpoint computes, with the CLI's engine code and warm-up rules (same query → same numbers):

- ``levels``: ``liq-signals levels`` — records in [at - warmup, at], ``EngineConfig(bucket_mode='bps')``,
  snapshot after the last bar closing at or before ``at`` (served by warm engines, see ``engines``);
- ``heatmap``: ``liq-signals heatmap`` — records in [start - warmup, end], ``run_heatmap``;
- ``compare``: ``liq-signals compare-models`` — every record up to ``end``, ``compare_models``.

Heatmaps and comparisons are cached per query (computed once even when asked concurrently).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from liq_signals.api import params as P
from liq_signals.api import payloads
from liq_signals.api.engines import WarmEngines
from liq_signals.engine.batch import compare_models, run_heatmap
from liq_signals.engine.engine import MODELS, EngineConfig
from liq_signals.times import NS_PER_DAY, ns_to_iso

DEFAULT_WARMUP = "30d"  # the CLI's --warmup default (levels, heatmap)


class _Memo:
    """Small LRU of computed results; concurrent callers of one key wait for a single computation."""

    def __init__(self, size: int):
        self.size, self._d, self._locks, self._lock = size, OrderedDict(), {}, threading.Lock()

    def get(self, key, compute):
        with self._lock:
            if key in self._d:
                self._d.move_to_end(key)
                return self._d[key]
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            with self._lock:
                if key in self._d:
                    return self._d[key]
            try:
                value = compute()
            finally:
                with self._lock:
                    self._locks.pop(key, None)
            with self._lock:
                self._d[key] = value
                while len(self._d) > self.size:
                    self._d.popitem(last=False)
            return value


def _cli_warmup(warmup: str, w_ns: int) -> str:
    """The CLI's ``--warmup`` for the API's: ``all`` = whole days reaching back before the first record."""
    return f"{-(-w_ns // NS_PER_DAY)}d" if warmup.strip().lower() == "all" else warmup


def _cli(cmd: str, **opts) -> str:
    return "liq-signals " + cmd + "".join(f" --{k.replace('_', '-')} '{v}'" for k, v in opts.items())


class Service:
    """The API's computations over one ``Store``."""

    def __init__(self, store):
        self.store = store
        self.warm = WarmEngines(lambda sym, anchor, interval: store.inputs(sym, anchor, None, interval))
        self._heatmaps = _Memo(32)
        self._compares = _Memo(8)
        self._bodies = _Memo(512)  # serialized /levels answers (JSON bytes, ~60 kB) per normalised query
        self._heatmap_bodies = _Memo(24)  # serialized /heatmap answers (up to a few MB each)

    def _interval(self, info, lo_ns, hi_ns) -> str:
        intervals = {s.interval for s in info.segments}
        return next(iter(intervals)) if len(intervals) == 1 else self.store.interval_for(info.symbol, lo_ns, hi_ns)

    def levels(self, symbol: str, at: str, model: str, top_k: int, min_share: float, warmup: str):
        info = P.symbol_info(self.store, symbol)
        m, k, ms = P.model(model), P.top_k(top_k), P.min_share(min_share)
        t = P.time_ns("at", at)
        w = P.warmup_ns(warmup, t, info)
        P.at_in_data(info, "at", t)
        cfg = EngineConfig(symbol=info.symbol, model=m, bucket_mode="bps", bucket_bps=10.0)
        lo = t - w
        interval = self._interval(info, lo, t)
        anchor = None if lo <= info.data_start_ns else lo
        how = ["cache"]

        def compute() -> bytes:
            try:
                snap, how[0] = self.warm.snapshot(cfg, interval, anchor, t)
            except LookupError:
                raise P.ApiError("at", f"no {interval} bar at or before {ns_to_iso(t)}", P.covered(info)) from None
            extra = {
                "warmup": warmup,
                "warmup_start": ns_to_iso(lo),
                "interval": interval,
                "cli": _cli(
                    "levels",
                    symbol=info.symbol,
                    at=ns_to_iso(t),
                    model=m,
                    top=k,
                    min_share=ms,
                    warmup=_cli_warmup(warmup, w),
                )
                + " --json",
            }
            return payloads.dumps(payloads.levels(snap, cfg, k, ms, extra))

        body = self._bodies.get(("levels", cfg, interval, anchor, t, k, ms, warmup), compute)
        return body, how[0]

    def _range(self, info, start: str, end: str):
        s, e = P.time_ns("start", start), P.time_ns("end", end)
        P.range_in_data(info, s, e)
        return s, e

    def heatmap(self, symbol: str, start: str, end: str, every: str, model: str, tiers: str | None, warmup: str):
        info = P.symbol_info(self.store, symbol)
        m = P.model(model)
        s, e = self._range(info, start, end)
        step = P.duration_ns("every", every, P.EVERY_MIN_NS, 30 * NS_PER_DAY)
        if (e - s) // step + 1 > P.MAX_SNAPSHOTS:
            raise P.ApiError(
                "every",
                f"{every} gives {(e - s) // step + 1} snapshots over this range",
                f"at most {P.MAX_SNAPSHOTS} snapshots: every >= {-(-(e - s) // (P.MAX_SNAPSHOTS - 1)) // 60_000_000_000 + 1}m",
            )
        w = P.warmup_ns(warmup, s, info)
        cfg = EngineConfig(symbol=info.symbol, model=m, bucket_mode="bps", bucket_bps=10.0)
        sel = P.tiers(tiers, cfg.tiers)

        def compute():
            inputs = self.store.inputs(info.symbol, s - w, e)
            hm = run_heatmap(inputs, cfg, s, e, every)
            b = inputs.bars
            bars = b[(b["ts_ns"] > hm.times_ns[0] - step) & (b["ts_ns"] <= hm.times_ns[-1])]
            return hm, bars, inputs.interval

        def body() -> bytes:
            hm, bars, interval = self._heatmaps.get((cfg, s, e, step, w), compute)
            extra = {
                "warmup": warmup,
                "warmup_start": ns_to_iso(s - w),
                "interval": interval,
                "every": every,
                "cli": _cli(
                    "heatmap",
                    symbol=info.symbol,
                    start=ns_to_iso(s),
                    end=ns_to_iso(e),
                    every=every,
                    model=m,
                    warmup=_cli_warmup(warmup, w),
                )
                + " --out heat.parquet",
            }
            return payloads.dumps(payloads.heatmap(hm, cfg, sel, bars, extra))

        return self._heatmap_bodies.get(("heatmap", cfg, s, e, step, w, sel, every, warmup), body)

    def compare(self, symbol: str, start: str, end: str, every: str, top_k: int):
        info = P.symbol_info(self.store, symbol)
        s, e = self._range(info, start, end)
        step = P.duration_ns("every", every, P.EVERY_MIN_NS, 30 * NS_PER_DAY)
        if (e - s) // step + 1 > P.MAX_SNAPSHOTS:
            raise P.ApiError("every", f"{every} gives too many snapshots over this range", f"at most {P.MAX_SNAPSHOTS}")
        k = P.top_k(top_k)
        cfg = EngineConfig(symbol=info.symbol)

        def compute():
            return compare_models(self.store.inputs(info.symbol, None, e), cfg, s, e, every, top_k=k)

        cmp = self._compares.get((cfg, s, e, step, k), compute)
        extra = {"warmup": "all stored history up to end (as compare-models)", "every": every, "top_k": k}
        return payloads.dumps(payloads.compare(cmp, EngineConfig(symbol=info.symbol, model="ensemble"), extra))

    def liquidations(self, symbol: str, start: str, end: str) -> dict:
        info = P.symbol_info(self.store, symbol)
        s, e = P.time_ns("start", start), P.time_ns("end", end)
        if e < s:
            raise P.ApiError("end", "end is before start", "end >= start")
        if e - s > P.RANGE_MAX_NS:
            raise P.ApiError("end", "range longer than 366 days", "end - start <= 366d")
        df, cov = self.store.liquidations(info.symbol, s, e, P.LIQUIDATIONS_MAX_ROWS)
        truncated = len(df) > P.LIQUIDATIONS_MAX_ROWS
        df = df.iloc[: P.LIQUIDATIONS_MAX_ROWS]
        return {
            "symbol": info.symbol,
            "start": ns_to_iso(s),
            "end": ns_to_iso(e),
            "recorded": bool(cov) or not df.empty,
            "coverage": [{"start": ns_to_iso(a), "end": ns_to_iso(b), "source": src} for a, b, src in cov],
            "events": {
                "time": [ns_to_iso(t) for t in df["ts_ns"].to_numpy(np.int64)],
                "liquidated": df["liquidated"].tolist(),
                "price": df["price"].astype(float).tolist(),
                "quantity": df["quantity"].astype(float).tolist(),
                "usd_value": df["usd_value"].astype(float).tolist(),
            },
            "truncated": truncated,
            "notes": [
                "recorded forceOrder events (side 'long' = a long position was liquidated); outside the "
                "coverage intervals nothing was recorded, which is not the same as no liquidation"
            ],
        }

    def symbols(self) -> dict:
        cfg = EngineConfig()
        return {
            "symbols": [i.to_dict() for i in self.store.symbols.values()],
            "models": list(MODELS),
            "tiers": list(cfg.tiers),
            "liquidations_recorded": self.store.has_liquidations,
        }
