"""The validation loop: step the engine through history, snapshot at each t0, score against what followed.

For every snapshot time t0 (``start``, ``start + every``, ... ``<= end``; naive UTC) and horizon H:

1. the engine has applied exactly the bars closing at or before t0 (and the observations stamped at or
   before each of those bars): no lookahead — later data is only fed after the snapshot is taken;
2. zones = the model's top-k price buckets (or clusters) **per side** by estimated notional (USDT);
3. the window (t0, t0+H] is skipped, and counted, when it is not inside one covered interval of a
   liquidation recording (or, with the OI-drop proxy, of gap-free OI), when the model has no inputs or no
   zones, when it holds fewer than ``min_events`` events, or when no bar lies inside it (no price path);
4. otherwise it is scored (``metrics.score_snapshot``) together with the distance-matched random baseline
   (``baseline.baseline_scores``, seeded once per run).

Aggregation per horizon and side: precision@k = sum of hits / sum of zones over scored windows (Wilson
95% interval on those counts — windows overlap when ``every`` < H, so the interval is optimistic);
notional recall = sum captured / sum realized notional; Spearman = mean of the per-window coefficients
that are defined (``n_spearman`` of them); lift = model / baseline.

Length: the config (validated), the loop and its aggregation belong together; the metrics, baseline, coverage
and proxy already live in their own modules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from liq_signals.engine import overrides as ov
from liq_signals.errors import ConfigError, LiqSignalsError
from liq_signals.times import to_duration_ns, to_naive_utc
from liq_signals.validate import baseline as bl
from liq_signals.validate import coverage as cov
from liq_signals.validate import metrics as mt
from liq_signals.validate import proxy as px

MODEL_CHOICES = ("a", "b", "c", "ensemble")
SIDES_ALL = ("long", "short", "all")
SKIP_REASONS = ("not_covered", "no_model_inputs", "no_zones", "too_few_events", "no_price_path")
BASELINE_DESCRIPTION = (
    "distance-matched random zones: each zone keeps its side and width; its centre is placed at "
    "p0*(1 +/- d), d drawn uniformly from the snapshot's real zone distances |centre/p0 - 1| (both sides "
    "pooled), sign uniform; mean over {draws} seeded draws (seed {seed})"
)
PROXY_LABEL = "PROXY (oi-drop): realized liquidations estimated from open-interest drops, not recorded events"

RESERVED_ENGINE_FIELDS = {
    "symbol": "--symbol",
    "model": "--model",
    "bucket_mode": "--bucket-bps (always bps)",
    "bucket_bps": "--bucket-bps",
}


def parse_duration(text: str, name: str = "duration") -> pd.Timedelta:
    """'15m' / '4h' / '1d' (any duration with a unit, ``liq_signals.times.to_duration_ns``) -> Timedelta;
    a bare number, zero or a negative value raises ConfigError naming ``name``."""
    try:
        return pd.Timedelta(to_duration_ns(text, name), unit="ns")
    except ConfigError:
        raise
    except LiqSignalsError as exc:
        raise ConfigError(str(exc)) from None


def parse_time(text, name: str) -> pd.Timestamp:
    """A UTC time ('2025-10-25 17:50', ISO, with or without zone) as a naive UTC Timestamp."""
    try:
        return to_naive_utc(text, name)
    except ConfigError:
        raise
    except LiqSignalsError:
        raise ConfigError(f"{name} is not a time: {text!r}") from None


@dataclass(frozen=True)
class ValidateConfig:
    """One validation run. Times naive UTC; ``horizons``/``every``/``warmup`` as '15m'/'4h'/'1d' text.

    ``zones``: 'buckets' (top-k engine buckets per side, width ``bucket_bps`` bps) or 'clusters' (top-k
    engine clusters per side). ``proxy``: None or 'oi-drop'. ``baseline_draws``: random draws per window.
    ``engine_overrides``: ``EngineConfig`` fields to change for this run — ``FIELD=VALUE`` strings, a
    mapping or ``(field, value)`` pairs (``liq_signals.engine.overrides``); stored as checked pairs. The
    fields validate sets itself (symbol, model, bucket_mode, bucket_bps) cannot be overridden.
    """

    db_path: str
    symbol: str
    start: pd.Timestamp
    end: pd.Timestamp
    models: tuple = ("a",)
    horizons: tuple = ("1h", "4h", "24h")
    every: str = "15m"
    top_k: int = 10
    min_events: int = 3
    proxy: str | None = None
    seed: int = 0
    baseline_draws: int = 200
    warmup: str = "7d"
    zones: str = "buckets"
    bucket_bps: float = 10.0
    proxy_min_drop: float = px.DEFAULT_MIN_DROP
    engine_overrides: tuple = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "symbol", str(self.symbol).strip().upper())
        object.__setattr__(self, "start", parse_time(self.start, "start"))
        object.__setattr__(self, "end", parse_time(self.end, "end"))
        if self.end < self.start:
            raise ConfigError(f"end ({self.end}) is before start ({self.start})")
        models = tuple(str(m).lower() for m in self.models)
        bad = [m for m in models if m not in MODEL_CHOICES]
        if bad or not models:
            raise ConfigError(f"model must be one of a, b, c, ensemble, all; got {', '.join(bad) or 'none'}")
        object.__setattr__(self, "models", models)
        hz = tuple(str(h).strip() for h in self.horizons if str(h).strip())
        if not hz:
            raise ConfigError("horizons must list at least one horizon, e.g. 1h,4h")
        for h in hz:
            parse_duration(h, "horizons")
        object.__setattr__(self, "horizons", hz)
        parse_duration(self.every, "every")
        parse_duration(self.warmup, "warmup")
        if not (isinstance(self.top_k, int) and self.top_k >= 1):
            raise ConfigError(f"top_k must be a whole number >= 1, got {self.top_k!r}")
        if not (isinstance(self.min_events, int) and self.min_events >= 1):
            raise ConfigError(f"min_events must be a whole number >= 1, got {self.min_events!r}")
        if self.proxy not in (None, "oi-drop"):
            raise ConfigError(f"proxy must be 'oi-drop' (or omitted), got {self.proxy!r}")
        if not (isinstance(self.baseline_draws, int) and self.baseline_draws >= 1):
            raise ConfigError(f"baseline_draws must be >= 1, got {self.baseline_draws!r}")
        if self.zones not in ("buckets", "clusters"):
            raise ConfigError(f"zones must be 'buckets' or 'clusters', got {self.zones!r}")
        if not (math.isfinite(self.bucket_bps) and self.bucket_bps > 0):
            raise ConfigError(f"bucket_bps must be > 0, got {self.bucket_bps!r}")
        if not (0 < self.proxy_min_drop < 1):
            raise ConfigError(f"proxy_min_drop must be a fraction in (0, 1), got {self.proxy_min_drop!r}")
        overrides = ov.normalise_overrides(self.engine_overrides)
        for name, _ in overrides:
            if name in RESERVED_ENGINE_FIELDS:
                raise ConfigError(f"--set {name}: set by validate itself; use {RESERVED_ENGINE_FIELDS[name]}")
        object.__setattr__(self, "engine_overrides", overrides)
        self.engine_config(self.models[0])  # checks the override values

    def engine_config(self, model: str):
        """The ``EngineConfig`` this run builds for ``model``: defaults + ``engine_overrides``."""
        return ov.apply_overrides(
            self.engine_overrides, symbol=self.symbol, model=model, bucket_mode="bps", bucket_bps=self.bucket_bps
        )

    def horizon_deltas(self) -> dict[str, pd.Timedelta]:
        return {h: parse_duration(h, "horizons") for h in self.horizons}

    def snapshot_times(self) -> list[pd.Timestamp]:
        return list(pd.date_range(self.start, self.end, freq=parse_duration(self.every, "every")))


@dataclass
class ModelResult:
    """Result for one model: ``scored`` False (with ``reason``) when its inputs are missing in the range."""

    model: str
    scored: bool
    reason: str | None = None
    rows: list = field(default_factory=list)  # one dict per (t0, horizon)
    metrics: dict = field(default_factory=dict)
    skipped: dict = field(default_factory=dict)
    snapshots: int = 0
    events: int = 0
    notes: list = field(default_factory=list)


@dataclass
class ValidationResult:
    config: ValidateConfig
    results: dict  # model -> ModelResult
    ground_truth: str  # 'recorded' or the PROXY label
    baseline: str
    notes: list = field(default_factory=list)

    @property
    def is_proxy(self) -> bool:
        return self.config.proxy is not None


# ---------------------------------------------------------------------------------------------------
# zones from the engine


def zones_from_snapshot(snap, top_k: int, mode: str = "buckets") -> pd.DataFrame:
    """Top-k zones per side (columns side, price_low, price_high, intensity [USDT]) from a LevelSnapshot."""
    rows = []
    if mode == "clusters":
        for side in ("long", "short"):
            cl = [c for c in snap.clusters(None) if c.side == side][:top_k]
            rows += [(side, c.price_low, c.price_high, c.notional_usd) for c in cl]
    else:
        edges = np.asarray(snap.edges, float)
        mid = 0.5 * (edges[:-1] + edges[1:])
        for side, by in (("long", snap.long_by_bucket), ("short", snap.short_by_bucket)):
            by = np.asarray(by, float)
            idx = np.flatnonzero(by > 0)
            # largest notional first; ties: nearer to price first
            order = idx[np.lexsort((np.abs(mid[idx] - snap.price), -by[idx]))][:top_k]
            rows += [(side, float(edges[i]), float(edges[i + 1]), float(by[i])) for i in order]
    return pd.DataFrame(rows, columns=["side", "price_low", "price_high", "intensity"])


_INPUT_WORDS = {
    "open_interest": ("open interest", "OI"),
    "trades": ("trades", "aggTrades"),
    "funding": ("funding", "funding"),
}


def missing_inputs_reason(model: str, inputs, start: pd.Timestamp, end: pd.Timestamp) -> str | None:
    """Why ``model`` cannot be scored on [start, end] from these inputs, or None when it can (some model it
    runs has every input kind it requires: ``CohortModel.requires``)."""
    from liq_signals.engine.engine import EngineConfig
    from liq_signals.engine.models import MODEL_CLASSES

    oi = inputs.open_interest
    have = {k for k in ("funding", "trades") if len(inputs.frame(k))}
    if len(oi) and (oi["open_interest"].fillna(0) > 0).any() and np.isfinite(oi["open_interest"].to_numpy(float)).any():
        have.add("open_interest")
    names = EngineConfig(model=model).model_names
    if any(MODEL_CLASSES[n].requires <= have for n in names):
        return None
    span = f"{inputs.symbol} {start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M} (incl. warm-up)"
    missing = sorted(set().union(*(MODEL_CLASSES[n].requires for n in names)) - have)
    if len(names) > 1:
        return f"no {' and no '.join(_INPUT_WORDS[k][0] for k in missing)} for {span}: the {model} has no input"
    return f"no {_INPUT_WORDS[missing[0]][0]} for {span}: model {model} needs {_INPUT_WORDS[missing[0]][1]}"


# ---------------------------------------------------------------------------------------------------
# the loop


def _ns(t: pd.Timestamp) -> int:
    return int(t.value)


def _price_path(bars: pd.DataFrame, interval_ns: int, t0: pd.Timestamp, t1: pd.Timestamp) -> tuple[float, float]:
    """(low, high) of bars lying wholly inside (t0, t1]; (nan, nan) when none does."""
    ts = bars["ts_ns"].to_numpy()
    m = (ts - interval_ns >= _ns(t0)) & (ts <= _ns(t1))
    if not m.any():
        return math.nan, math.nan
    return float(bars["low"].to_numpy()[m].min()), float(bars["high"].to_numpy()[m].max())


def run_validation(cfg: ValidateConfig, progress=None) -> ValidationResult:
    """Run every requested model over the snapshot times; ``progress`` is an optional callable() per step."""
    from liq_signals.data import db as dbmod
    from liq_signals.data.reader import load_market_inputs
    from liq_signals.engine.engine import LiquidationEngine
    from liq_signals.engine.feeder import InputFeeder

    hz = cfg.horizon_deltas()
    max_h = max(hz.values())
    times = cfg.snapshot_times()
    warm_start = cfg.start - parse_duration(cfg.warmup, "warmup")
    inputs = load_market_inputs(cfg.db_path, cfg.symbol, warm_start, cfg.end + max_h)
    path_bars = inputs.mark_price if len(inputs.mark_price) else inputs.bars
    notes = []
    if len(inputs.mark_price):
        notes.append("price path: mark-price klines")
    else:
        notes.append(f"price path: last-price {inputs.interval} klines (no mark-price klines stored)")

    try:
        con = dbmod.connect(cfg.db_path, read_only=True)
    except FileNotFoundError as exc:
        raise LiqSignalsError(str(exc)) from None
    try:
        if cfg.proxy == "oi-drop":
            oi = px.load_open_interest(con, cfg.symbol, cfg.start - max_h, cfg.end + max_h)
            pbars = pd.DataFrame(
                {
                    "open_time": pd.to_datetime(inputs.bars["ts_ns"] - inputs.interval_ns, unit="ns"),
                    "close_time": pd.to_datetime(inputs.bars["ts_ns"], unit="ns"),
                    "high": inputs.bars["high"],
                    "low": inputs.bars["low"],
                }
            )
            truth = px.oi_drop_events(oi, pbars, cfg.proxy_min_drop)
            intervals = px.oi_coverage(oi)
            ground = PROXY_LABEL + f" (OI drop > {cfg.proxy_min_drop:.2%} between consecutive snapshots)"
            select = px.proxy_events_in
        else:
            truth = cov.load_recorded_events(con, cfg.symbol, cfg.start, cfg.end + max_h)
            intervals = cov.load_coverage(con)
            ground = "recorded forceOrder events (liquidations table), inside liquidation_coverage intervals"
            select = cov.events_in
    finally:
        con.close()

    rng = np.random.default_rng(cfg.seed)
    results = {}
    for model in cfg.models:
        reason = missing_inputs_reason(model, inputs, warm_start, cfg.end)
        if reason is not None:
            results[model] = ModelResult(model, scored=False, reason=reason, snapshots=len(times))
            continue
        ecfg = cfg.engine_config(model)
        stepper = InputFeeder(inputs, LiquidationEngine(ecfg))
        res = ModelResult(model, scored=True, snapshots=len(times))
        uninitialized = 0
        scored_event_ids: set = set()
        for t0 in times:
            stepper.run_until(_ns(t0))
            eng = stepper.engine
            snap = eng.snapshot() if eng.ts_ns is not None else None
            if snap is not None and not snap.initialized:
                uninitialized += 1
            has_inputs = snap is not None and any(m.has_inputs(eng.ts_ns) for m in eng.models.values())
            zones = zones_from_snapshot(snap, cfg.top_k, cfg.zones) if has_inputs else None
            for h, dh in hz.items():
                t1 = t0 + dh
                row = {"model": model, "t0": t0, "horizon": h, "p0": snap.price if snap is not None else math.nan}
                status = _window_status(intervals, t0, t1, has_inputs, zones)
                ev = None
                if status is None:
                    ev = select(truth, t0, t1)
                    if len(ev) < cfg.min_events:
                        status = "too_few_events"
                if status is None:
                    lo, hi = _price_path(path_bars, inputs.interval_ns, t0, t1)
                    if math.isnan(lo):
                        status = "no_price_path"
                row["status"] = status or "scored"
                row["n_events_window"] = len(ev) if ev is not None else 0
                if status is None:
                    lo, hi = min(lo, snap.price), max(hi, snap.price)
                    row.update(path_low=lo, path_high=hi)
                    _score_into(row, zones, ev, snap.price, lo, hi, rng, cfg.baseline_draws)
                    scored_event_ids.update(ev.index.tolist())
                res.rows.append(row)
            if progress is not None:
                progress()
        res.events = len(scored_event_ids)
        if uninitialized:
            res.notes.append(
                f"{uninitialized} of {len(times)} snapshots were taken before the engine had "
                f"{ecfg.min_history_hours:g} h of history (engine not initialized)"
            )
        res.metrics, res.skipped = aggregate(res.rows, cfg.horizons, len(times))
        results[model] = res
    desc = BASELINE_DESCRIPTION.format(draws=cfg.baseline_draws, seed=cfg.seed)
    return ValidationResult(cfg, results, ground, desc, notes)


def _window_status(intervals, t0, t1, has_inputs, zones) -> str | None:
    if not cov.window_covered(intervals, t0, t1):
        return "not_covered"
    if not has_inputs:
        return "no_model_inputs"
    if zones is None or len(zones) == 0:
        return "no_zones"
    return None


def _score_into(row: dict, zones, events, p0, lo, hi, rng, draws) -> None:
    scores = mt.score_snapshot(zones, events, lo, hi)
    base = bl.baseline_scores(zones, events, p0, rng, draws)
    dist_bps = bl.relative_distances(zones, p0) * 1e4
    sides = zones["side"].to_numpy()
    for s in SIDES_ALL:
        sc = scores[s]
        d = dist_bps if s == "all" else dist_bps[sides == s]
        row.update(
            {
                f"{s}_zones": sc.n_zones,
                f"{s}_hits": sc.hits,
                f"{s}_base_hits": base[s][0],
                f"{s}_captured_usd": sc.captured_usd,
                f"{s}_base_captured_usd": base[s][1],
                f"{s}_realized_usd": sc.realized_usd,
                f"{s}_events": sc.n_events,
                f"{s}_spearman": sc.spearman,
                f"{s}_touched": sc.n_touched,
                f"{s}_distance_bps": float(np.median(d)) if len(d) else math.nan,
            }
        )


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else math.nan


def aggregate(rows: list, horizons, n_times: int) -> tuple[dict, dict]:
    """(metrics {horizon: {side: {...}}}, skipped {horizon: {reason: n, 'scored': n, 'snapshots': n}}).

    ``n_events``/``n_zones`` are sums over scored windows (an event inside two overlapping windows counts
    twice); ``realized_notional_usd`` likewise. Distinct events are ``ModelResult.events``.
    ``zone_distance_bps``: median over scored windows of each window's median zone distance from price
    (|centre / p0 - 1| in basis points) — where the model's top-k zones sit.
    """
    df = pd.DataFrame(rows)
    metrics, skipped = {}, {}
    for h in horizons:
        d = df[df["horizon"] == h] if len(df) else df
        counts = {r: int((d["status"] == r).sum()) if len(d) else 0 for r in SKIP_REASONS}
        sc = d[d["status"] == "scored"] if len(d) else d
        counts["scored"] = len(sc)
        counts["snapshots"] = n_times
        skipped[h] = counts
        metrics[h] = {}
        for s in SIDES_ALL:
            if len(sc) == 0:
                metrics[h][s] = _empty_side()
                continue
            hits, zones = float(sc[f"{s}_hits"].sum()), float(sc[f"{s}_zones"].sum())
            bhits = float(sc[f"{s}_base_hits"].sum())
            cap, bcap = float(sc[f"{s}_captured_usd"].sum()), float(sc[f"{s}_base_captured_usd"].sum())
            real = float(sc[f"{s}_realized_usd"].sum())
            rho = sc[f"{s}_spearman"].to_numpy(float)
            dist = sc[f"{s}_distance_bps"].to_numpy(float)
            p, bp = _ratio(hits, zones), _ratio(bhits, zones)
            r, br = _ratio(cap, real), _ratio(bcap, real)
            lo, hi = mt.wilson_interval(int(hits), int(zones))
            metrics[h][s] = {
                "precision_at_k": p,
                "baseline_precision_at_k": bp,
                "lift": _ratio(p, bp) if not math.isnan(p) else math.nan,
                "precision_wilson95": [lo, hi],
                "zones_hit": int(hits),
                "notional_recall": r,
                "baseline_notional_recall": br,
                "recall_lift": _ratio(r, br) if not math.isnan(r) else math.nan,
                "realized_notional_usd": real,
                "spearman": float(np.nanmean(rho)) if np.isfinite(rho).any() else math.nan,
                "n_spearman": int(np.isfinite(rho).sum()),
                "n_events": int(sc[f"{s}_events"].sum()),
                "n_zones": int(zones),
                "n_windows": len(sc),
                "zone_distance_bps": float(np.nanmedian(dist)) if np.isfinite(dist).any() else math.nan,
            }
    return metrics, skipped


def _empty_side() -> dict:
    nan = math.nan
    return {
        "precision_at_k": nan,
        "baseline_precision_at_k": nan,
        "lift": nan,
        "precision_wilson95": [nan, nan],
        "zones_hit": 0,
        "notional_recall": nan,
        "baseline_notional_recall": nan,
        "recall_lift": nan,
        "realized_notional_usd": 0.0,
        "spearman": nan,
        "n_spearman": 0,
        "n_events": 0,
        "n_zones": 0,
        "n_windows": 0,
        "zone_distance_bps": nan,
    }
