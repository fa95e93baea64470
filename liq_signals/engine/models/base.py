"""What every cohort model shares: the bar context, decay, consumption, pruning and gridding."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from liq_signals.engine.grid import bucket_of
from liq_signals.engine.models.cohorts import CohortBook
from liq_signals.times import NS_PER_HOUR

_PRUNE_MIN_ROWS = 4096


class BarContext(NamedTuple):
    """One bar as the engine applies it: ``ts_ns`` = bar close (epoch ns), ``start_ns`` = previous bar's
    close (cohorts born after it are 'inside' this bar); prices in USDT, volumes in base. ``low``/``high``
    are the prices used for consumption (mark-price extremes when given, else the bar's)."""

    ts_ns: int
    start_ns: int
    open: float
    high: float
    low: float
    close: float
    volume: float | None
    taker_buy_volume: float | None


class CohortModel:
    """Base for models that keep a ``CohortBook``. Subclasses add cohorts from their observations."""

    name = "base"
    inputs: frozenset[str] = frozenset()  # the input kinds (engine.inputs.INPUT_KINDS names) it consumes
    requires: frozenset[str] = frozenset()  # the kinds it cannot do without (a subset of ``inputs``)

    def __init__(self, config, table_source):
        self.config = config
        self.table_source = table_source  # callable () -> BracketTable in force now
        self.leverages = np.asarray(config.tiers, dtype=float)
        w = np.asarray(config.tier_weights, dtype=float)
        self.tier_weights = w / w.sum()
        self.half_life_ns = np.asarray(config.tier_half_life_hours, dtype=float) * NS_PER_HOUR
        self.book = CohortBook(self.leverages, self.half_life_ns, config.grid())
        self._prune_at = _PRUNE_MIN_ROWS
        self.last_input_ns: int | None = None  # time of the latest input observation this model used
        self.consumed_long_usd = 0.0
        self.consumed_short_usd = 0.0

    # inputs ------------------------------------------------------------------------------------
    def has_inputs(self, now_ns: int) -> bool:
        """True when the model saw an input within ``config.input_lookback_hours`` before ``now_ns``."""
        if self.last_input_ns is None:
            return False
        return now_ns - self.last_input_ns <= self.config.input_lookback_hours * NS_PER_HOUR

    def missing_inputs_note(self) -> str:
        return f"model {self.name}: no inputs in the last {self.config.input_lookback_hours:g} h"

    # bar ---------------------------------------------------------------------------------------
    def on_bar(self, bar: BarContext) -> None:
        """Decay every cohort to the bar close, remove those the price traded through; prune dust (below
        ``prune_below_usd``) whenever the book has doubled since the last pruning."""
        book = self.book
        book.advance(bar.ts_ns)
        rl, rs = book.consume(bar.low, bar.high, bar.close, bar.start_ns)
        self.consumed_long_usd += rl
        self.consumed_short_usd += rs
        if book.n >= self._prune_at:
            book.prune(self.config.prune_below_usd)
            self._prune_at = max(2 * book.n, _PRUNE_MIN_ROWS)

    # output ------------------------------------------------------------------------------------
    def grid(self, edges: np.ndarray, lattice: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
        """(long [tier, bucket], short [tier, bucket]) notional in USDT on ``edges`` (USDT, ascending), and
        outside-grid counts. Edges on the config's lattice (``lattice`` = their (k0, k1) when known) read
        the book's cached bucket sums."""
        if lattice is not None:
            return self.book.grid_lattice(*lattice)
        edges = np.asarray(edges, dtype=float)
        grid = self.book.lattice
        k0 = grid.index_below(float(edges[0]))
        if np.array_equal(edges, grid.edge(np.arange(k0, k0 + len(edges)))):
            return self.book.grid_lattice(k0, k0 + len(edges) - 1)
        n_t, n_b = len(self.leverages), len(edges) - 1
        out = {}
        grids = []
        book = self.book
        for side, name in ((1, "long"), (-1, "short")):
            m = book.side == side if book.n else np.zeros(0, bool)
            lp, tier, notional = book.lp[m], book.tier[m], book.notional[m]
            b = bucket_of(lp, edges)
            inside = (b >= 0) & (b < n_b)
            flat = np.bincount(
                tier[inside].astype(np.int64) * n_b + b[inside], weights=notional[inside], minlength=n_t * n_b
            )
            grids.append(flat.astype(np.float64).reshape(n_t, n_b))
            below, above, nan = b == -1, b == n_b, b == -2
            out[name] = {
                "below_count": int(below.sum()),
                "below_notional_usd": float(notional[below].sum()),
                "above_count": int(above.sum()),
                "above_notional_usd": float(notional[above].sum()),
                "unliquidatable_notional_usd": float(notional[nan].sum()),
            }
        return grids[0], grids[1], out
