"""Warm engines for ``/levels``: one ``LiquidationEngine`` per (config, kline interval, warm-up anchor), stepped
forward for later times instead of being rebuilt from the warm-up.

Why the answer equals the CLI's exactly: ``liq-signals levels --at t --warmup W`` feeds the engine the stored
records in [t - W, t] and snapshots after the last bar closing at or before t. A warm engine holds the records
from its anchor to the end of the store; records after t are never applied before a snapshot at t (the feeder
only queues observations stamped at or before the bar it applies). Two queries share an engine only when their
record sets from the start are the same: the anchor is ``None`` when t - W reaches back to the symbol's first
record (then every earlier start loads the same rows), else t - W itself. A time before the engine's last bar
is answered from the snapshot cache or by a fresh engine, which then replaces the warm one.

Concurrency: a lock per engine (a request steps and snapshots it under the lock) and one lock for the tables.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from liq_signals.engine.engine import EngineConfig, LiquidationEngine
from liq_signals.engine.feeder import InputFeeder
from liq_signals.engine.snapshot import LevelSnapshot


@dataclass
class _Warm:
    inputs: object
    bar_ts: np.ndarray
    lock: threading.Lock = field(default_factory=threading.Lock)
    engine: LiquidationEngine | None = None
    feeder: InputFeeder | None = None


class WarmEngines:
    """Snapshots at any time from engines kept warm (see module doc). ``load(symbol, anchor_ns, interval)``
    returns the ``MarketInputs`` from ``anchor_ns`` (None = the first record) to the end of the store."""

    def __init__(self, load, max_engines: int = 16, max_snapshots: int = 4096):
        self._load = load
        self._engines: OrderedDict = OrderedDict()
        self._snaps: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.max_engines, self.max_snapshots = max_engines, max_snapshots
        self.stats = {"warm": 0, "cold": 0, "cache": 0}

    def _entry(self, key) -> _Warm:
        with self._lock:
            e = self._engines.get(key)
            if e is None:
                e = self._engines[key] = _Warm(None, np.zeros(0, np.int64))
                while len(self._engines) > self.max_engines:
                    self._engines.popitem(last=False)
            self._engines.move_to_end(key)
            return e

    def snapshot(
        self, config: EngineConfig, interval: str, anchor_ns: int | None, t_ns: int
    ) -> tuple[LevelSnapshot, str]:
        """(snapshot after the last bar closing at or before ``t_ns``, how: 'cache' | 'warm' | 'cold').
        Raises ``LookupError`` when no bar closes at or before ``t_ns``."""
        key = (config, interval, anchor_ns)
        e = self._entry(key)
        with e.lock:
            if e.inputs is None:
                e.inputs = self._load(config.symbol, anchor_ns, interval)
                e.bar_ts = e.inputs.bars["ts_ns"].to_numpy(np.int64)
            i = int(np.searchsorted(e.bar_ts, t_ns, side="right")) - 1
            if i < 0:
                raise LookupError("no bar at or before the time")
            skey = (key, int(e.bar_ts[i]))
            with self._lock:
                snap = self._snaps.get(skey)
                if snap is not None:
                    self._snaps.move_to_end(skey)
                    self.stats["cache"] += 1
                    return snap, "cache"
            how = "warm"
            if e.engine is None or e.engine.ts_ns is None or e.engine.ts_ns > e.bar_ts[i]:
                e.engine = LiquidationEngine(config)
                e.feeder = InputFeeder(e.inputs, e.engine)
                how = "cold"
            e.feeder.run_until(int(e.bar_ts[i]))
            snap = e.engine.snapshot()
            with self._lock:
                self._snaps[skey] = snap
                while len(self._snaps) > self.max_snapshots:
                    self._snaps.popitem(last=False)
                self.stats[how] += 1
            return snap, how

    def clear(self) -> None:
        """Forget every engine and snapshot (the next query is cold)."""
        with self._lock:
            self._engines.clear()
            self._snaps.clear()
