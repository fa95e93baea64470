"""The liquidation engine: one stateful object that turns market observations into estimated
liquidation levels. It is the single source of truth for batch heatmaps, the Nautilus indicator and
validation (pure numpy; no Nautilus imports).

Time is epoch **nanoseconds** (int). Observations (records of :mod:`liq_signals.engine.inputs`, given to
``observe``) are only queued; ``on_bar(ts_ns, ...)`` first applies every queued observation with
``ts <= ts_ns`` in (ts, kind, value) order, then the bar (decay to ``ts_ns``, consumption by the bar's —
or the mark price's — high/low). The state after a bar therefore does not depend on the order in which
observations arrived, and nothing at time t uses an observation stamped after t.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from liq_signals.engine.grid import PriceGrid
from liq_signals.engine.inputs import KIND_OF_RECORD, MARK_PRICE, TRADES
from liq_signals.engine.models import MODEL_CLASSES
from liq_signals.engine.models.base import BarContext
from liq_signals.engine.models.ensemble import blend
from liq_signals.engine.snapshot import LevelSnapshot
from liq_signals.errors import ConfigError, LiqSignalsError
from liq_signals.times import NS_PER_DAY, NS_PER_HOUR

MODELS = ("a", "b", "c", "ensemble")
SIDE_ATTRIBUTIONS = ("taker", "even")

_MARK, _TRADE = MARK_PRICE.rank, TRADES.rank
_KIND_BY_RANK = {k.rank: k for k in KIND_OF_RECORD.values()}


def _finite_pos(name: str, value) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ConfigError(f"{name} must be a finite number > 0, got {value!r}")


@dataclass(frozen=True)
class EngineConfig:
    """Engine settings (validated at construction; a bad value raises ``ConfigError`` naming the field).

    Prices USDT, notionals USDT, durations in hours. ``tiers`` are leverages (x); ``tier_weights`` split
    new notional across them (normalised); ``tier_half_life_hours`` decays each tier's open notional
    (higher leverage decays faster). ``side_attribution``: 'taker' (new open interest split long/short by
    the taker buy share, models a/b) or 'even' (1/2 : 1/2). ``representative_notional_usd`` is the size of
    the single position whose bracket sets each cohort's liquidation price. ``ensemble_weights`` = (a, b, c).

    Where the prior defaults come from: ``tier_weights`` (0.10, 0.20, 0.30, 0.20, 0.20) over 5/10/25/50/100x
    and ``tier_half_life_hours`` (672, 336, 144, 48, 24) were chosen by ``liq-signals study-priors`` on the
    BTCUSDT 2023-11-15 → 12-03 window (oi-drop proxy) out of 24 candidates, replacing (0.25, 0.30, 0.25, 0.12,
    0.08) and (336, 168, 72, 24, 12); ``side_attribution='taker'`` was kept ('even' did not score higher).
    The later windows (BTCUSDT 2023-12-04 → 12-12, HYPEUSDT 2025-10-25 recordings) are the evidence; see
    docs/priors-study.md. ``representative_notional_usd`` and ``ensemble_weights`` were not studied.
    Buckets: ``bucket_mode`` 'bps' (log buckets of ``bucket_bps``; the default, right for any price level)
    or 'fixed' (``bucket_width`` USDT, a multiple of ``tick_size``); the grid spans the price
    ± ``grid_range_fraction``. ``input_lookback_hours``: a model with no input this recent drops out (noted). ``min_history_hours``:
    the engine reports ``initialized`` once it has seen this much data.
    """

    symbol: str = "BTCUSDT"
    model: str = "a"
    tiers: tuple = (5.0, 10.0, 25.0, 50.0, 100.0)
    tier_weights: tuple = (0.10, 0.20, 0.30, 0.20, 0.20)  # chosen by study-priors (docs/priors-study.md)
    tier_half_life_hours: tuple = (672.0, 336.0, 144.0, 48.0, 24.0)  # idem
    representative_notional_usd: float = 10_000.0
    brackets_path: str | None = None
    bucket_mode: str = "bps"
    bucket_width: float = 50.0
    bucket_bps: float = 10.0
    tick_size: float = 0.1
    grid_range_fraction: float = 0.25
    ensemble_weights: tuple = (1.0, 1.0, 1.0)
    input_lookback_hours: float = 6.0
    min_history_hours: float = 24.0
    trade_min_notional_usd: float = 50_000.0
    trade_top_n: int | None = None
    trade_portion: float | None = None
    prune_below_usd: float = 1.0
    use_mark_price: bool = True
    side_attribution: str = "taker"

    def __post_init__(self) -> None:
        if not isinstance(self.symbol, str) or not self.symbol.strip():
            raise ConfigError("symbol must be a non-empty string")
        object.__setattr__(self, "symbol", self.symbol.strip().upper())
        model = str(self.model).lower()
        if model not in MODELS:
            raise ConfigError(f"model must be one of {', '.join(MODELS)}, got {self.model!r}")
        object.__setattr__(self, "model", model)
        for name in ("tiers", "tier_weights", "tier_half_life_hours", "ensemble_weights"):
            try:
                object.__setattr__(self, name, tuple(float(v) for v in getattr(self, name)))
            except (TypeError, ValueError):
                raise ConfigError(f"{name} must be a sequence of numbers, got {getattr(self, name)!r}") from None
        if not self.tiers:
            raise ConfigError("tiers must not be empty")
        for t in self.tiers:
            if not (math.isfinite(t) and t > 1):
                raise ConfigError(f"tiers must be leverages > 1, got {t}")
        if len(set(self.tiers)) != len(self.tiers):
            raise ConfigError(f"tiers must be distinct, got {self.tiers}")
        for name, n in (
            ("tier_weights", len(self.tiers)),
            ("tier_half_life_hours", len(self.tiers)),
            ("ensemble_weights", 3),
        ):
            v = getattr(self, name)
            if len(v) != n:
                raise ConfigError(f"{name} must have {n} values, got {len(v)}")
        for name in ("tier_weights", "ensemble_weights"):
            v = getattr(self, name)
            if any(not math.isfinite(w) or w < 0 for w in v) or sum(v) <= 0:
                raise ConfigError(f"{name} must be >= 0 and sum to > 0, got {v}")
        if any(not math.isfinite(h) or h <= 0 for h in self.tier_half_life_hours):
            raise ConfigError(f"tier_half_life_hours must be > 0, got {self.tier_half_life_hours}")
        _finite_pos("representative_notional_usd", self.representative_notional_usd)
        _finite_pos("input_lookback_hours", self.input_lookback_hours)
        if not (isinstance(self.min_history_hours, (int, float)) and self.min_history_hours >= 0):
            raise ConfigError(f"min_history_hours must be >= 0, got {self.min_history_hours!r}")
        if not (isinstance(self.grid_range_fraction, (int, float)) and 0 < self.grid_range_fraction < 1):
            raise ConfigError(f"grid_range_fraction must be in (0, 1), got {self.grid_range_fraction!r}")
        if not (isinstance(self.trade_min_notional_usd, (int, float)) and self.trade_min_notional_usd >= 0):
            raise ConfigError(f"trade_min_notional_usd must be >= 0, got {self.trade_min_notional_usd!r}")
        if self.trade_top_n is not None and (not isinstance(self.trade_top_n, int) or self.trade_top_n < 1):
            raise ConfigError(f"trade_top_n must be a positive integer, got {self.trade_top_n!r}")
        if self.trade_portion is not None and not (0 < self.trade_portion <= 1):
            raise ConfigError(f"trade_portion must be in (0, 1], got {self.trade_portion!r}")
        if not (isinstance(self.prune_below_usd, (int, float)) and self.prune_below_usd >= 0):
            raise ConfigError(f"prune_below_usd must be >= 0, got {self.prune_below_usd!r}")
        if self.side_attribution not in SIDE_ATTRIBUTIONS:
            raise ConfigError(
                f"side_attribution must be one of {', '.join(SIDE_ATTRIBUTIONS)}, got {self.side_attribution!r}"
            )
        self.grid()  # validates bucket_mode / bucket_width / bucket_bps / tick_size

    def grid(self) -> PriceGrid:
        """The price-bucket lattice this config describes."""
        return PriceGrid(self.bucket_mode, self.bucket_width, self.bucket_bps, self.tick_size)

    @property
    def model_names(self) -> tuple[str, ...]:
        return ("a", "b", "c") if self.model == "ensemble" else (self.model,)


class LiquidationEngine:
    """Stateful liquidation-level estimator (see module docstring). ``bracket_table`` overrides the table
    lookup (tests); otherwise the table in force on each UTC day is loaded for ``config.symbol``."""

    def __init__(self, config: EngineConfig, bracket_table=None):
        if not isinstance(config, EngineConfig):
            raise ConfigError("config must be an EngineConfig")
        self.config = config
        self._fixed_table = bracket_table
        self._table = bracket_table
        self._table_day: int | None = None
        self._queue: list = []
        self.models = {m: MODEL_CLASSES[m](config, self._current_table) for m in config.model_names}
        self.ts_ns: int | None = None
        self.price: float | None = None
        self.first_ts_ns: int | None = None
        self.bars = 0
        self._grid = config.grid()
        self._window_key: tuple[int, int] | None = None
        self._window: np.ndarray | None = None
        self._window_price: float | None = None

    # brackets ----------------------------------------------------------------------------------
    def _current_table(self):
        return self._table

    def _ensure_table(self, ts_ns: int) -> None:
        if self._fixed_table is not None:
            return
        day = ts_ns // NS_PER_DAY
        if day == self._table_day:
            return
        from liq_signals.engine.brackets import load_bracket_table

        self._table = load_bracket_table(self.config.symbol, int(ts_ns), self.config.brackets_path)
        self._table_day = day

    @property
    def bracket_table(self):
        return self._table

    # observations (queued) ---------------------------------------------------------------------
    def observe(self, obs) -> None:
        """Queue one observation (a record of :mod:`liq_signals.engine.inputs`: ``MarkPrice``,
        ``OpenInterest``, ``Funding`` or ``Trade``, stamped with its observed time in epoch ns); nothing
        changes until the next ``on_bar``. NaN values count as missing (None)."""
        kind = KIND_OF_RECORD.get(type(obs))
        if kind is None:
            raise LiqSignalsError(f"not an engine input: {obs!r}")
        if kind.missing_as_none:
            obs = obs._make([int(obs[0]), *(_f(v) for v in obs[1:])])
        self._queue.append((int(obs.ts_ns), kind.rank, obs))

    @property
    def inputs(self) -> frozenset[str]:
        """The input kinds (:data:`~liq_signals.engine.inputs.INPUT_KINDS` names) this engine's models use,
        plus ``mark_price`` (consumption uses mark extremes when given)."""
        return frozenset().union(*(m.inputs for m in self.models.values())) | {MARK_PRICE.name}

    # bar ----------------------------------------------------------------------------------------
    def on_bar(
        self,
        ts_ns: int,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float | None = None,
        taker_buy_volume: float | None = None,
    ) -> None:
        """Advance to the bar closing at ``ts_ns``: apply queued observations with ts <= ts_ns, then the bar.
        The arguments are the fields of :class:`~liq_signals.engine.inputs.Bar` (``engine.on_bar(*bar)``)."""
        ts_ns = int(ts_ns)
        if self.ts_ns is not None and ts_ns <= self.ts_ns:
            raise LiqSignalsError(f"bar at {ts_ns} ns is not after the previous bar at {self.ts_ns} ns")
        due = [e for e in self._queue if e[0] <= ts_ns] if self._queue else ()
        if due:
            self._queue = [e for e in self._queue if e[0] > ts_ns]
            due.sort(key=_sort_key)
        if self.first_ts_ns is None:
            self.first_ts_ns = min([ts_ns] + [e[0] for e in due])
        trades = []
        mark_hi, mark_lo, mark_close = -math.inf, math.inf, None
        for ts, rank, obs in due:
            if rank == _TRADE:
                trades.append(obs)
            elif rank == _MARK:
                mark_hi, mark_lo, mark_close = max(mark_hi, obs.high), min(mark_lo, obs.low), obs.close
            else:
                self._ensure_table(ts)
                name = _KIND_BY_RANK[rank].name
                for m in self.models.values():
                    if name in m.inputs:
                        getattr(m, f"on_{name}")(obs)
        self._ensure_table(ts_ns)
        if trades:
            arr = np.array([(t.ts_ns, t.price, t.quantity, t.is_buyer_maker) for t in trades], dtype=float)
            for m in self.models.values():
                if TRADES.name in m.inputs:
                    m.on_trades(arr[:, 0].astype(np.int64), arr[:, 1], arr[:, 2], arr[:, 3] > 0.5)
        use_mark = self.config.use_mark_price and mark_close is not None
        bar = BarContext(
            ts_ns=ts_ns,
            start_ns=self.ts_ns if self.ts_ns is not None else ts_ns - 1,
            open=float(open),
            high=mark_hi if use_mark else float(high),
            low=mark_lo if use_mark else float(low),
            close=mark_close if use_mark else float(close),
            volume=_f(volume),
            taker_buy_volume=_f(taker_buy_volume),
        )
        for m in self.models.values():
            m.on_bar(bar)
        self.ts_ns, self.price = ts_ns, float(close)
        self.bars += 1

    # outputs -----------------------------------------------------------------------------------
    @property
    def initialized(self) -> bool:
        """True once ``min_history_hours`` of data have been applied."""
        if self.ts_ns is None or self.first_ts_ns is None:
            return False
        return self.ts_ns - self.first_ts_ns >= self.config.min_history_hours * NS_PER_HOUR

    def open_notional(self, model: str | None = None) -> tuple[float, float]:
        """(long, short) open notional in USDT held by ``model`` (default: the configured single model)."""
        m = self.models[model or self.config.model_names[0]]
        return m.book.total(1), m.book.total(-1)

    def brackets_info(self) -> dict:
        t = self._table
        if t is None:
            return {"symbol": self.config.symbol, "effective_from": None, "file": None, "is_default": None, "note": ""}
        eff = getattr(t, "effective_from", None)
        return {
            "symbol": t.symbol,
            "effective_from": eff.isoformat() if eff is not None else None,
            "file": _shown_path(getattr(t, "file", None)),
            "is_default": bool(getattr(t, "is_default", False)),
            "note": getattr(t, "note", "") or "",
        }

    def snapshot(self, edges: np.ndarray | None = None, model: str | None = None) -> LevelSnapshot:
        """Levels now, on ``edges`` (USDT, ascending) or on the config's grid around the last close.

        ``model``: one of the models this engine runs (an ensemble engine runs a, b and c and can show
        each alone); default the configured model."""
        if self.ts_ns is None:
            raise LiqSignalsError("the engine has seen no bar yet: nothing to snapshot")
        cfg = self.config
        model = cfg.model if model is None else model
        if model != cfg.model and model not in self.models:
            raise ConfigError(f"model {model!r} is not run by this engine (config.model={cfg.model!r})")
        lattice = None
        if edges is None:
            lattice, edges = self._window_edges()
        edges = np.asarray(edges, dtype=float)
        notes: list[str] = []
        grids, outs = {}, {}
        names = self.config.model_names if model == "ensemble" else (model,)
        for name in names:
            m = self.models[name]
            long, short, out = m.grid(edges, lattice)
            if not m.has_inputs(self.ts_ns):
                notes.append(m.missing_inputs_note() + (" (dropped from the blend)" if model == "ensemble" else ""))
                if model == "ensemble":
                    continue
            grids[name], outs[name] = (long, short), out
        n_t, n_b = len(cfg.tiers), len(edges) - 1
        if model == "ensemble":
            weights = dict(zip(("a", "b", "c"), cfg.ensemble_weights))
            if grids:
                totals = {m: sum(self.models[m].book.total(side) for side in (1, -1)) for m in grids}
                long, short = blend(grids, weights, totals)
            else:
                long, short = np.zeros((n_t, n_b)), np.zeros((n_t, n_b))
                notes.append("ensemble: no model has inputs; levels are empty")
            outside = _sum_outside(list(outs.values()))
        else:
            long, short = grids[model]
            outside = outs[model]
        info = self.brackets_info()
        if info["note"]:
            notes.append(f"brackets: {info['note']}")
        if not self.initialized:
            notes.append(f"engine not initialized: less than {cfg.min_history_hours:g} h of history")
        return LevelSnapshot(
            symbol=cfg.symbol,
            ts_ns=self.ts_ns,
            price=self.price,
            model=model,
            edges=edges,
            tiers=cfg.tiers,
            long_notional=long,
            short_notional=short,
            brackets=info,
            notes=tuple(notes),
            outside_grid=outside,
            initialized=self.initialized,
        )

    def bucket_totals(self) -> tuple[np.ndarray, np.ndarray]:
        """(edges USDT, notional per [side 0 long / 1 short, bucket] USDT, all tiers) of the default
        snapshot — bitwise its ``long_by_bucket`` / ``short_by_bucket`` — without building the snapshot
        (single models; the ensemble goes through ``snapshot``)."""
        if self.config.model == "ensemble":
            s = self.snapshot()
            return s.edges, np.stack([s.long_by_bucket, s.short_by_bucket])
        if self.ts_ns is None:
            raise LiqSignalsError("the engine has seen no bar yet: nothing to snapshot")
        key, edges = self._window_edges()
        return edges, self.models[self.config.model].book.bucket_totals(*key)

    @property
    def growth_version(self) -> int | None:
        """Changes whenever a bucket of the single model may have grown; while it stays the same, every
        bucket's notional only shrinks (see ``CohortBook.growth_version``): clusters can only shrink, split
        or vanish. None for the ensemble (its blend is rescaled by the models' totals)."""
        if self.config.model == "ensemble":
            return None
        return self.models[self.config.model].book.growth_version

    def _window_edges(self) -> tuple[tuple[int, int], np.ndarray]:
        """Lattice range (k0, k1) and edges (USDT) covering the last close ± ``grid_range_fraction``
        (the same edges as ``PriceGrid.edges_around``; the last window's edges are reused)."""
        if self.price != self._window_price:
            g, r = self._grid, self.config.grid_range_fraction
            key = g.index_range(self.price * (1.0 - r), self.price * (1.0 + r))
            if key != self._window_key:
                self._window_key, self._window = key, g.edge(np.arange(key[0], key[1] + 1))
            self._window_price = self.price
        return self._window_key, self._window

    def clusters(self, top_k: int | None = None):
        """Clusters of the current snapshot (see ``LevelSnapshot.clusters``)."""
        return self.snapshot().clusters(top_k)


def _f(x) -> float | None:
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _sort_key(e):
    """(ts, rank, then the record's values; None sorts first): a deterministic order for one timestamp."""
    return (e[0], e[1], *(-math.inf if v is None else v for v in e[2]))


def _sum_outside(outs: list[dict]) -> dict:
    total: dict = {}
    for out in outs:
        for side, d in out.items():
            agg = total.setdefault(side, {})
            for k, v in d.items():
                agg[k] = agg.get(k, 0) + v
    return total


def _shown_path(path) -> str | None:
    """A bracket file as outputs show it: a shipped table as ``liq_signals/engine/brackets_data/<file>`` (the
    same text on every machine and in every worker process), a user's own table by its path."""
    if path is None:
        return None
    parts = Path(path).parts
    if parts[-4:-1] == ("liq_signals", "engine", "brackets_data"):
        return "/".join(parts[-4:])
    return str(path)
