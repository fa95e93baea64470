"""Config-driven backtest harness behind ``liq-signals backtest CONFIG [--out DIR]``.

A CONFIG file (TOML or YAML) holds base settings and optionally ``runs`` (a list of overrides, each with an
``id``) and ``sweep`` (``{"actor.proximity_bps": [25, 50, 100]}``: one run per value, per run). Keys:

- ``catalog`` (path, relative to the config file), ``instrument`` (e.g. ``BTCUSDT-PERP.BINANCE``),
  ``bar_type`` (e.g. ``BTCUSDT-PERP.BINANCE-15-MINUTE-LAST-EXTERNAL``), ``start``/``end`` (ISO UTC);
- ``venue``: ``starting_balance`` ("100000 USDT"), ``leverage`` (x), ``oms_type`` ("NETTING");
- ``actor``: :class:`~liq_signals.nautilus.actor.LiquidationSignalActorConfig` fields (``engine`` sub-table
  for ``EngineConfig`` fields);
- ``strategy`` (optional): ``kind`` = ``avoid`` | ``magnet`` and that strategy's config fields
  (``instrument_id``/``bar_type`` are filled in);
- ``flush_check`` (optional): ``time`` (ISO UTC, on the heatmap cadence) and ``bars`` (default 1): how much
  estimated long notional sat in the range the price fell through during the next ``bars`` bars.

Every run becomes a ``BacktestRunConfig`` (``raise_exception`` true, ``dispose_on_completion`` false) run by
its own ``BacktestNode``; outputs go to ``DIR/<run-id>/`` (see :data:`RUN_FILES`). Times in outputs are UTC.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import time
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from liq_signals.errors import ConfigError, LiqSignalsError

RUN_FILES = (
    "fills.csv", "positions.csv", "orders.csv", "account.csv", "proximity_events.csv", "heatmap.parquet",
    "bars.parquet", "stats.json", "run_config.json", "summary.json",
)
STRATEGIES = {
    "avoid": ("liq_signals.nautilus.strategies.avoid:LiquidationAvoidStrategy",
              "liq_signals.nautilus.strategies.avoid:LiquidationAvoidConfig"),
    "magnet": ("liq_signals.nautilus.strategies.magnet:LiquidationMagnetStrategy",
               "liq_signals.nautilus.strategies.magnet:LiquidationMagnetConfig"),
}
ACTOR_PATH = "liq_signals.nautilus.actor:LiquidationSignalActor"
ACTOR_CONFIG_PATH = "liq_signals.nautilus.actor:LiquidationSignalActorConfig"
TOP_KEYS = {"catalog", "instrument", "bar_type", "start", "end", "venue", "actor", "strategy", "flush_check",
            "runs", "sweep", "id"}


class BacktestDataError(LiqSignalsError):
    """The catalog lacks data the run needs."""


# --------------------------------------------------------------------------------------------- config


DEFAULT_STARTING_BALANCE = "100000 USDT"

@dataclass(frozen=True)
class RunSpec:
    """One resolved run: ``id``, the merged settings and the config file it came from."""

    id: str
    settings: dict
    source: Path

    @property
    def catalog_path(self) -> Path:
        return (self.source.parent / self.settings["catalog"]).resolve()


def read_config_file(path: Path) -> dict:
    """Parse a TOML (``.toml``) or YAML (``.yaml``/``.yml``) file into a dict."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    text = path.read_text()
    try:
        if path.suffix == ".toml":
            data = tomllib.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            raise ConfigError(f"{path}: config must be .toml, .yaml or .yml")
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot parse: {exc}") from None
    except Exception as exc:  # yaml.YAMLError
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"{path}: cannot parse: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a table/mapping")
    return data


def _merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in override.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _set_path(d: dict, dotted: str, value) -> dict:
    out = copy.deepcopy(d)
    node = out
    parts = dotted.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise ConfigError(f"sweep key '{dotted}': '{p}' is not a table")
    node[parts[-1]] = value
    return out


def _fmt(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def load_runs(path: Path) -> list[RunSpec]:
    """Resolve the runs of a config file (base ⊕ run overrides ⊕ sweep values), validated."""
    path = Path(path).resolve()
    data = read_config_file(path)
    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(TOP_KEYS))})")
    base = {k: v for k, v in data.items() if k not in ("runs", "sweep")}
    runs = data.get("runs") or [{"id": base.get("id", path.stem)}]
    if not isinstance(runs, list) or not all(isinstance(r, dict) for r in runs):
        raise ConfigError(f"{path}: 'runs' must be a list of tables")
    sweep = data.get("sweep") or {}
    if not isinstance(sweep, dict) or not all(isinstance(v, list) and v for v in sweep.values()):
        raise ConfigError(f"{path}: 'sweep' must map dotted keys to non-empty lists")
    specs: list[RunSpec] = []
    for i, run in enumerate(runs):
        if "id" not in run:
            raise ConfigError(f"{path}: runs[{i}] needs an 'id'")
        merged = _merge(base, {k: v for k, v in run.items() if k != "id"})
        keys = list(sweep)
        for values in itertools.product(*(sweep[k] for k in keys)) if keys else [()]:
            settings = merged
            suffix = ""
            for k, v in zip(keys, values):
                settings = _set_path(settings, k, v)
                suffix += f"-{k.split('.')[-1]}{_fmt(v)}"
            specs.append(RunSpec(str(run["id"]) + suffix, settings, path))
    ids = [s.id for s in specs]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ConfigError(f"{path}: duplicate run id(s) {', '.join(dupes)}")
    for s in specs:
        _validate(s)
    return specs


def _validate(spec: RunSpec) -> None:
    s = spec.settings
    where = f"{spec.source}: run '{spec.id}'"
    for key in ("catalog", "instrument", "bar_type", "start", "end"):
        if key not in s:
            raise ConfigError(f"{where}: missing '{key}'")
    for key in ("start", "end"):
        try:
            pd.Timestamp(s[key])
        except Exception:
            raise ConfigError(f"{where}: '{key}' is not a timestamp: {s[key]!r}") from None
    if _ts(s["end"]) <= _ts(s["start"]):
        raise ConfigError(f"{where}: 'end' must be after 'start'")
    try:
        actor_config(spec)
        strategy = strategy_config(spec)
        if strategy is not None:
            from nautilus_trader.config import StrategyFactory

            StrategyFactory.create(strategy)  # builds and validates the config
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    except Exception as exc:  # msgspec validation errors
        raise ConfigError(f"{where}: {str(exc).splitlines()[0]}") from None
    fc = s.get("flush_check")
    if fc is not None and ("time" not in fc or not isinstance(fc.get("bars", 1), int) or fc.get("bars", 1) < 1):
        raise ConfigError(f"{where}: flush_check needs 'time' and an integer 'bars' >= 1")


def _ts(value) -> pd.Timestamp:
    t = pd.Timestamp(value)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def actor_config(spec: RunSpec):
    """The ``LiquidationSignalActorConfig`` of a run (raises ``ConfigError`` naming a bad field)."""
    from nautilus_trader.model.data import BarType
    from nautilus_trader.model.identifiers import InstrumentId

    from liq_signals.nautilus.actor import LiquidationSignalActorConfig

    params = dict(spec.settings.get("actor") or {})
    params.setdefault("heatmap_every", 4)
    if params.get("catalog_path"):  # relative to the config file, like `catalog`
        params["catalog_path"] = str((spec.source.parent / params["catalog_path"]).resolve())
    try:
        iid = InstrumentId.from_str(spec.settings["instrument"])
        bar_type = BarType.from_str(spec.settings["bar_type"])
    except ValueError as exc:
        raise ConfigError(f"instrument/bar_type: {exc}") from None
    try:
        return LiquidationSignalActorConfig(instrument_id=iid, bar_type=bar_type, **params)
    except TypeError as exc:
        raise ConfigError(f"actor: {exc}") from None


def strategy_config(spec: RunSpec):
    """The ``ImportableStrategyConfig`` of a run, or None for an actor-only run."""
    from nautilus_trader.config import ImportableStrategyConfig

    params = dict(spec.settings.get("strategy") or {})
    if not params:
        return None
    kind = params.pop("kind", None)
    if kind not in STRATEGIES:
        raise ConfigError(f"strategy.kind must be one of {', '.join(STRATEGIES)}, got {kind!r}")
    params.setdefault("instrument_id", spec.settings["instrument"])
    params.setdefault("bar_type", spec.settings["bar_type"])
    if "trade_size" in params:
        params["trade_size"] = str(params["trade_size"])
    path, cfg_path = STRATEGIES[kind]
    return ImportableStrategyConfig(strategy_path=path, config_path=cfg_path, config=params)


def run_config(spec: RunSpec):
    """The Nautilus ``BacktestRunConfig`` of a run."""
    from nautilus_trader.config import (
        BacktestEngineConfig,
        BacktestRunConfig,
        BacktestVenueConfig,
        ImportableActorConfig,
        LoggingConfig,
    )
    from nautilus_trader.model.identifiers import InstrumentId

    from liq_signals.nautilus.catalog_export import backtest_data_configs

    s = spec.settings
    venue = s.get("venue") or {}
    iid = InstrumentId.from_str(s["instrument"])
    actor_params = json.loads(json.dumps(dict(s.get("actor") or {})))
    actor_params.setdefault("heatmap_every", 4)
    actor_params.update(instrument_id=s["instrument"], bar_type=s["bar_type"])
    strategy = strategy_config(spec)
    engine = BacktestEngineConfig(
        trader_id="BACKTESTER-001",  # same for every run: identical runs give identical ids
        logging=LoggingConfig(log_level="ERROR", bypass_logging=True),
        actors=[ImportableActorConfig(actor_path=ACTOR_PATH, config_path=ACTOR_CONFIG_PATH, config=actor_params)],
        strategies=[strategy] if strategy is not None else [],
    )
    return BacktestRunConfig(
        venues=[
            BacktestVenueConfig(
                name=iid.venue.value,
                oms_type=venue.get("oms_type", "NETTING"),
                account_type="MARGIN",
                base_currency=None,
                starting_balances=[venue.get("starting_balance", DEFAULT_STARTING_BALANCE)],
                default_leverage=float(venue.get("leverage", 5.0)),
            )
        ],
        data=_observations_first(backtest_data_configs(spec.catalog_path, iid, s["bar_type"], _iso(s["start"]), _iso(s["end"]))),
        engine=engine,
        raise_exception=True,
        dispose_on_completion=False,
    )


def _observations_first(data_configs: list) -> list:
    """Custom data (OI, funding) before bars: ``BacktestEngine`` sorts by ts_init stably, so an observation
    stamped at a bar's close then reaches the actor before that bar and is applied with it — as in the
    batch engine. (With bars first it would be applied one bar later, as happens live.)"""
    return sorted(data_configs, key=lambda c: c.data_cls.endswith(":Bar"))


def _iso(value) -> str:
    return _ts(value).isoformat()


# --------------------------------------------------------------------------------------------- checks


def check_catalog(spec: RunSpec) -> dict:
    """Raise ``BacktestDataError`` unless the catalog holds bars (and OI when required) in [start, end].

    Returns the covered intervals per data type (ISO UTC) for ``run_config.json``.
    """
    from nautilus_trader.model.data import Bar
    from nautilus_trader.persistence.catalog import ParquetDataCatalog

    from liq_signals.nautilus.data_types import FundingRate, OpenInterest

    path = spec.catalog_path
    where = f"{spec.source}: run '{spec.id}'"
    if not path.is_dir():
        raise BacktestDataError(f"{where}: catalog {path} not found (run `liq-signals catalog` first)")
    catalog = ParquetDataCatalog(str(path))
    start, end = _ts(spec.settings["start"]).value, _ts(spec.settings["end"]).value
    require_oi = (spec.settings.get("actor") or {}).get("require_open_interest", True)
    needs = [("bars", Bar, spec.settings["bar_type"], True), ("open_interest", OpenInterest, spec.settings["instrument"], require_oi),
             ("funding", FundingRate, spec.settings["instrument"], False)]
    covered = {}
    for name, cls, ident, required in needs:
        try:
            intervals = catalog.get_intervals(cls, ident)
        except Exception:
            intervals = []
        inside = [(max(a, start), min(b, end)) for a, b in intervals if a <= end and b >= start]
        if required and not inside:
            have = ", ".join(f"{_ns_iso(a)} → {_ns_iso(b)}" for a, b in intervals) or "nothing"
            raise BacktestDataError(
                f"{where}: catalog {path} has no {name} for {ident} in [{_iso(spec.settings['start'])}, "
                f"{_iso(spec.settings['end'])}] (has: {have})"
            )
        covered[name] = [[_ns_iso(a), _ns_iso(b)] for a, b in inside]
    return covered


def _ns_iso(ns: int) -> str:
    return pd.Timestamp(int(ns), unit="ns", tz="UTC").isoformat()


# --------------------------------------------------------------------------------------------- running


@dataclass(frozen=True)
class RunResult:
    """Where a run wrote its files and its summary dict."""

    run_id: str
    run_dir: Path
    summary: dict
    report: Path | None


def run_backtests(config_path: Path, out_dir: Path, write_report: bool = True, on_run=None) -> list[RunResult]:
    """Run every run of ``config_path``; write outputs to ``out_dir/<run-id>/``; return the results."""
    specs = load_runs(config_path)
    coverage = {s.id: check_catalog(s) for s in specs}  # fail before the first run
    results = []
    for spec in specs:
        if on_run is not None:
            on_run(spec)
        results.append(run_one(spec, Path(out_dir), coverage[spec.id], write_report))
    return results


def run_one(spec: RunSpec, out_dir: Path, coverage: dict | None = None, write_report: bool = True) -> RunResult:
    """Run one spec through a ``BacktestNode`` and write its outputs."""
    from nautilus_trader.backtest.node import BacktestNode

    coverage = coverage if coverage is not None else check_catalog(spec)
    config = run_config(spec)
    node = BacktestNode(configs=[config])
    t0 = time.perf_counter()
    try:
        node.run()
        wall = time.perf_counter() - t0
        engine = node.get_engine(config.id)
        run_dir = out_dir / spec.id
        run_dir.mkdir(parents=True, exist_ok=True)
        summary = write_outputs(spec, engine, run_dir, wall, coverage)
    finally:
        node.dispose()
    report = None
    if write_report:
        try:
            from liq_signals.report.run_report import write_run_report
        except ModuleNotFoundError as exc:
            if exc.name != "liq_signals.report.run_report":
                raise
        else:
            report = write_run_report(run_dir)
    return RunResult(spec.id, run_dir, summary, report)


def _find_actor(engine):
    from liq_signals.nautilus.actor import LiquidationSignalActor

    for a in engine.trader.actors():
        if isinstance(a, LiquidationSignalActor):
            return a
    raise LiqSignalsError("no LiquidationSignalActor in the engine")


def write_outputs(spec: RunSpec, engine, run_dir: Path, wall_seconds: float, coverage: dict) -> dict:
    """Write every file of :data:`RUN_FILES` for a finished engine; return the summary dict."""
    from nautilus_trader.model.identifiers import InstrumentId

    s = spec.settings
    trader = engine.trader
    actor = _find_actor(engine)
    venue = InstrumentId.from_str(s["instrument"]).venue
    fills = trader.generate_order_fills_report()
    positions = trader.generate_positions_report()
    orders = trader.generate_orders_report()
    account = trader.generate_account_report(venue)
    for name, frame in (("fills", fills), ("positions", positions), ("orders", orders), ("account", account)):
        frame.to_csv(run_dir / f"{name}.csv")
    events = actor.events_frame()
    events.to_csv(run_dir / "proximity_events.csv", index=False)
    heatmap = actor.heatmap_frame()
    heatmap.to_parquet(run_dir / "heatmap.parquet", index=False)
    bars = load_bars(spec)
    bars.to_parquet(run_dir / "bars.parquet", index=False)

    analyzer = engine.portfolio.analyzer
    stats = {
        "pnls": _jsonable(analyzer.get_performance_stats_pnls()),
        "returns": _jsonable(analyzer.get_performance_stats_returns()),
        "general": _jsonable(analyzer.get_performance_stats_general()),
    }
    _write_json(run_dir / "stats.json", stats)

    engine_cfg = actor.indicator.engine_config
    run_cfg = {
        "run_id": spec.id,
        "config_file": str(spec.source),
        "model": engine_cfg.model,
        "settings": s,
        "actor": _jsonable(actor.config.dict() if hasattr(actor.config, "dict") else {}),
        "engine": _jsonable(asdict(engine_cfg)),
        "brackets": actor.indicator.brackets,
        "data_sources": {"catalog": str(spec.catalog_path), "coverage": coverage},
    }
    _write_json(run_dir / "run_config.json", run_cfg)

    pnl_total = _pnl_total(account, (s.get("venue") or {}).get("starting_balance", DEFAULT_STARTING_BALANCE))
    strategies = trader.strategies()
    summary = {
        "run_id": spec.id,
        "instrument": s["instrument"],
        "bar_type": s["bar_type"],
        "start": _iso(s["start"]),
        "end": _iso(s["end"]),
        "model": engine_cfg.model,
        "bars": actor.bars_seen,
        "open_interest_obs": actor.oi_seen,
        "funding_obs": actor.funding_seen,
        "signals_published": actor.signals_published,
        "events": {k: int(v) for k, v in events["event"].value_counts().items()} if len(events) else {},
        "orders": int(len(orders)),
        "fills": int(len(fills)),
        "positions": int(len(positions)),
        "pnl_total": pnl_total,
        "wall_seconds": round(wall_seconds, 3),
        "strategy": type(strategies[0]).__name__ if strategies else None,
        "strategy_counters": _strategy_counters(strategies[0]) if strategies else {},
        "brackets": actor.indicator.brackets,
    }
    fc = s.get("flush_check")
    if fc:
        summary["flush_check"] = flush_check(heatmap, bars, actor.open_interest, fc["time"], int(fc.get("bars", 1)))
    _write_json(run_dir / "summary.json", summary)
    return summary


def _strategy_counters(strategy) -> dict:
    out = {}
    for name in ("entries_blocked", "flattened", "exits"):
        if hasattr(strategy, name):
            out[name] = copy.deepcopy(getattr(strategy, name))
    return out


def _pnl_total(account: pd.DataFrame, starting_balance: str) -> float | None:
    """Realised PnL in the settlement currency (USDT) incl. commissions: last balance minus the configured
    starting balance (the account report's first row already holds the first fill's commission)."""
    from nautilus_trader.model.objects import Money

    if account is None or account.empty or "total" not in account:
        return None
    start = Money.from_str(starting_balance).as_double()
    return round(float(account["total"].astype(float).iloc[-1]) - start, 8)


def load_bars(spec: RunSpec) -> pd.DataFrame:
    """Bars of the run from the catalog: ts (close, UTC), open, high, low, close, volume."""
    from nautilus_trader.model.data import Bar
    from nautilus_trader.persistence.catalog import ParquetDataCatalog

    catalog = ParquetDataCatalog(str(spec.catalog_path))
    bars = catalog.query(Bar, identifiers=[spec.settings["bar_type"]], start=_ts(spec.settings["start"]),
                         end=_ts(spec.settings["end"]))
    return pd.DataFrame(
        {
            "ts": pd.to_datetime([b.ts_event for b in bars], unit="ns", utc=True),
            "open": [b.open.as_double() for b in bars],
            "high": [b.high.as_double() for b in bars],
            "low": [b.low.as_double() for b in bars],
            "close": [b.close.as_double() for b in bars],
            "volume": [b.volume.as_double() for b in bars],
        }
    )


def flush_check(heatmap: pd.DataFrame, bars: pd.DataFrame, open_interest: list, at, n_bars: int = 1) -> dict:
    """Estimated long notional (USDT) waiting in the range the price fell through after ``at``.

    Uses the heatmap snapshot at ``at`` (must be on the heatmap cadence) and the ``n_bars`` bars closing
    after it: range = [lowest low of those bars, close at ``at``]; a cell counts when its band overlaps the
    range. Also reports the OI change (base) over the same window.
    """
    t = _ts(at)
    snap = heatmap[heatmap["time"] == t]
    before = bars[bars["ts"] <= t].tail(1)
    after = bars[bars["ts"] > t].head(n_bars)
    if snap.empty or before.empty or after.empty:
        return {"time": t.isoformat(), "available": False,
                "note": "no heatmap snapshot or bars at this time (check heatmap_every / the run's range)"}
    price = float(before["close"].iloc[0])
    low = float(after["low"].min())
    longs = snap[snap["side"] == "long"]
    hit = longs[(longs["price_high"] > low) & (longs["price_low"] < price)]
    in_range = float(hit["notional_usd"].sum())
    total = float(longs["notional_usd"].sum())
    oi = pd.DataFrame(open_interest, columns=["ts", "oi", "oi_value"]) if open_interest else None
    oi_change = None
    if oi is not None and not oi.empty:
        end_t = after["ts"].iloc[-1].value
        o0 = oi[oi["ts"] <= t.value]
        o1 = oi[oi["ts"] <= end_t]
        if not o0.empty and not o1.empty:
            oi_change = float(o1["oi"].iloc[-1] - o0["oi"].iloc[-1])
    return {
        "time": t.isoformat(),
        "available": True,
        "close_before": price,
        "low_after": low,
        "window_end": after["ts"].iloc[-1].isoformat(),
        "long_notional_in_range_usd": in_range,
        "long_notional_total_usd": total,
        "share_of_longs_in_range": in_range / total if total > 0 else None,
        "long_clusters_waiting": in_range > 0,
        "open_interest_change_base": oi_change,
    }


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, (int, str, bool)) or obj is None:
        return obj
    if hasattr(obj, "item"):
        return _jsonable(obj.item())
    return str(obj)


def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(_jsonable(obj), indent=2, sort_keys=False) + "\n")
