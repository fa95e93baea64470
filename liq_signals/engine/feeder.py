"""``InputFeeder``: steps a ``LiquidationEngine`` through ``MarketInputs`` in time order — the one loop used by
batch heatmaps, ``levels``, validation and the tests.

Before each bar (stamped at its close, epoch ns) every observation stamped at or before the bar close is
queued with ``engine.observe``; the engine applies them in its own deterministic order, so the state after a
bar depends only on what was observed by then. Only the input kinds the engine's models consume
(``engine.inputs``) are fed.
"""

from __future__ import annotations

import numpy as np

from liq_signals.engine.inputs import INPUT_KINDS, Bar, MarketInputs


def records(inputs: MarketInputs, kind: str) -> list:
    """The rows of ``inputs``' frame of ``kind`` as that kind's records (NaN stays NaN; the engine reads NaN
    as missing)."""
    k = INPUT_KINDS[kind]
    f = inputs.frame(kind)
    cols = [f[c].tolist() for c in k.columns]
    cols[0] = [int(t) for t in cols[0]]
    return [k.record._make(r) for r in zip(*cols)]


class InputFeeder:
    """Feeds ``inputs`` into ``engine`` bar by bar (see module doc)."""

    def __init__(self, inputs: MarketInputs, engine):
        self.engine = engine
        b = inputs.bars
        self._bar_ts = b["ts_ns"].to_numpy(np.int64)
        cols = [b[c].to_numpy(float) for c in Bar._fields[1:]]
        self._bars = [
            Bar(int(t), o, h, lo, c, None if np.isnan(v) else v, None if np.isnan(tb) else tb)
            for t, o, h, lo, c, v, tb in zip(self._bar_ts, *cols)
        ]
        self._streams = [
            (inputs.frame(k)["ts_ns"].to_numpy(np.int64), records(inputs, k))
            for k in sorted(engine.inputs)
            if len(inputs.frame(k))
        ]
        self._pos = [0] * len(self._streams)
        self.bar_i = 0

    @property
    def next_bar_ns(self) -> int | None:
        """Close time (epoch ns) of the next bar to apply, None when every bar was applied."""
        return int(self._bar_ts[self.bar_i]) if self.bar_i < len(self._bar_ts) else None

    def step(self) -> None:
        """Queue the observations due by the next bar, then apply that bar."""
        bar = self._bars[self.bar_i]
        observe = self.engine.observe
        for k, (times, rows) in enumerate(self._streams):
            j1 = int(np.searchsorted(times, bar.ts_ns, side="right"))
            for r in rows[self._pos[k] : j1]:
                observe(r)
            self._pos[k] = j1
        self.engine.on_bar(*bar)
        self.bar_i += 1

    def run_until(self, t_ns: int) -> None:
        """Apply every bar closing at or before ``t_ns`` (epoch ns)."""
        while self.bar_i < len(self._bar_ts) and self._bar_ts[self.bar_i] <= t_ns:
            self.step()
