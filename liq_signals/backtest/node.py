"""Runs of a backtest config: ``BacktestRunConfig`` per run, start-time data checks, ``BacktestNode`` runs.

Every run becomes a ``BacktestRunConfig`` (``raise_exception`` true, ``dispose_on_completion`` false) run by
its own ``BacktestNode``; outputs go to ``OUT/<run-id>/`` (see :mod:`liq_signals.backtest.run_dir`),
written whole or not at all (:func:`liq_signals.backtest.outputs.run_directory`). All runs are validated
(config, catalog coverage, instrument limits of ``trade_size``) before the first one starts. This module
never imports the report: the commands call the report after (or through ``finish``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from liq_signals.backtest.config import RunSpec, load_runs
from liq_signals.backtest.run_dir import Summary
from liq_signals.backtest.schema import (
    ACTOR_CONFIG_PATH,
    ACTOR_PATH,
    DEFAULT_LEVERAGE,
    DEFAULT_OMS_TYPE,
    DEFAULT_STARTING_BALANCE,
    actor_params,
    strategy_params,
)
from liq_signals.backtest.strategy_table import trade_size
from liq_signals.errors import ConfigError, LiqSignalsError
from liq_signals.times import ns_to_iso, to_timestamp


class BacktestDataError(LiqSignalsError):
    """The catalog lacks data the run needs."""


def node_actor_params(spec: RunSpec) -> dict:
    """Actor config dict for the node; ``catalog_path`` is relative to the config file, like ``catalog``."""
    params = actor_params(spec.settings)
    if params.get("catalog_path"):
        params["catalog_path"] = str((spec.source.parent / params["catalog_path"]).resolve())
    return params


def actor_config(spec: RunSpec):
    """The ``LiquidationSignalActorConfig`` of a run, decoded as the node decodes it."""
    from liq_signals.backtest.schema import parse_struct
    from liq_signals.nautilus.actor import LiquidationSignalActorConfig

    return parse_struct(LiquidationSignalActorConfig, node_actor_params(spec), "actor")


def strategy_config(spec: RunSpec):
    """The ``ImportableStrategyConfig`` of a run, or None for an actor-only run."""
    from nautilus_trader.config import ImportableStrategyConfig

    resolved = strategy_params(spec.settings)
    if resolved is None:
        return None
    return ImportableStrategyConfig(
        strategy_path=resolved.strategy_path, config_path=resolved.config_path, config=resolved.params
    )


def run_config(spec: RunSpec, with_actor: bool = True):
    """The Nautilus ``BacktestRunConfig`` of a run (without the signal actor for a baseline)."""
    from nautilus_trader.config import (
        BacktestEngineConfig,
        BacktestRunConfig,
        BacktestVenueConfig,
        ImportableActorConfig,
        LoggingConfig,
    )
    from nautilus_trader.model.identifiers import InstrumentId

    from liq_signals.backtest.catalog_export import backtest_data_configs

    s = spec.settings
    venue = s.get("venue") or {}
    iid = InstrumentId.from_str(s["instrument"])
    strategy = strategy_config(spec)
    engine = BacktestEngineConfig(
        trader_id="BACKTESTER-001",  # same for every run: identical runs give identical ids
        logging=LoggingConfig(log_level="ERROR", bypass_logging=True),
        actors=[
            ImportableActorConfig(actor_path=ACTOR_PATH, config_path=ACTOR_CONFIG_PATH, config=node_actor_params(spec))
        ]
        if with_actor
        else [],
        strategies=[strategy] if strategy is not None else [],
    )
    start, end = (to_timestamp(s[k]).isoformat() for k in ("start", "end"))
    data = backtest_data_configs(spec.catalog_path, iid, s["bar_type"], start, end)
    return BacktestRunConfig(
        venues=[
            BacktestVenueConfig(
                name=iid.venue.value,
                oms_type=venue.get("oms_type", DEFAULT_OMS_TYPE),
                account_type="MARGIN",
                base_currency=None,
                starting_balances=[venue.get("starting_balance", DEFAULT_STARTING_BALANCE)],
                default_leverage=float(venue.get("leverage", DEFAULT_LEVERAGE)),
                modules=funding_modules(spec),
            )
        ],
        data=_observations_first(data),
        engine=engine,
        raise_exception=True,
        dispose_on_completion=False,
    )


def funding_modules(spec: RunSpec) -> list:
    """The venue's simulation modules: :class:`~liq_signals.backtest.funding.FundingSettlementModule` reading
    ``FundingRate`` from the run's catalog, unless ``venue.funding = false``."""
    from nautilus_trader.config import ImportableActorConfig

    from liq_signals.backtest.funding import CONFIG_PATH, MODULE_PATH

    if not (spec.settings.get("venue") or {}).get("funding", True):
        return []
    return [
        ImportableActorConfig(
            actor_path=MODULE_PATH,
            config_path=CONFIG_PATH,
            config={"instrument_id": spec.settings["instrument"], "catalog_path": str(spec.catalog_path)},
        )
    ]


def _observations_first(data_configs: list) -> list:
    """Custom data (OI, funding) before bars: ``BacktestEngine`` sorts by ts_init stably, so an observation
    stamped at a bar's close then reaches the actor before that bar and is applied with it — as in the
    batch engine. (With bars first it would be applied one bar later, as happens live.)"""
    return sorted(data_configs, key=lambda c: c.data_cls.endswith(":Bar"))


def check_catalog(spec: RunSpec) -> dict:
    """Raise ``BacktestDataError`` unless the catalog holds the instrument and bars (and OI when required) in
    [start, end]; ``ConfigError`` when ``strategy.trade_size`` is an order the instrument cannot take.

    Returns the covered intervals per data type (ISO UTC) for ``run_config.json``.
    """
    from nautilus_trader.model.data import Bar
    from nautilus_trader.persistence.catalog import ParquetDataCatalog

    from liq_signals.nautilus.data_types import FundingRate, OpenInterest

    path = spec.catalog_path
    s = spec.settings
    if not path.is_dir():
        raise BacktestDataError(f"{spec.where}: catalog {path} not found (run `liq-signals catalog` first)")
    catalog = ParquetDataCatalog(str(path))
    check_trade_size(spec, catalog)
    start, end = to_timestamp(s["start"]).value, to_timestamp(s["end"]).value
    require_oi = (s.get("actor") or {}).get("require_open_interest", True)
    needs = [
        ("bars", Bar, s["bar_type"], True),
        ("open_interest", OpenInterest, s["instrument"], require_oi),
        ("funding", FundingRate, s["instrument"], False),
    ]
    covered = {}
    for name, cls, ident, required in needs:
        try:
            intervals = catalog.get_intervals(cls, ident)
        except Exception:
            intervals = []
        inside = [(max(a, start), min(b, end)) for a, b in intervals if a <= end and b >= start]
        if required and not inside:
            have = ", ".join(f"{ns_to_iso(a)} → {ns_to_iso(b)}" for a, b in intervals) or "nothing"
            raise BacktestDataError(
                f"{spec.where}: catalog {path} has no {name} for {ident} in "
                f"[{ns_to_iso(start)}, {ns_to_iso(end)}] (has: {have})"
            )
        covered[name] = [[ns_to_iso(a), ns_to_iso(b)] for a, b in inside]
    return covered


def check_trade_size(spec: RunSpec, catalog) -> None:
    """``strategy.trade_size`` (base units) within the instrument's min/max quantity, on its size increment."""
    trade = trade_size(spec.settings)
    try:
        instruments = catalog.instruments(instrument_ids=[spec.settings["instrument"]])
    except Exception:
        instruments = []
    if not instruments:
        raise BacktestDataError(
            f"{spec.where}: catalog {spec.catalog_path} has no instrument "
            f"{spec.settings['instrument']} (run `liq-signals catalog` first)"
        )
    if trade is None:
        return
    inst = instruments[0]
    try:
        size = Decimal(str(trade))
    except InvalidOperation:
        raise ConfigError(f"{spec.where}: strategy.trade_size must be a number, got {trade!r}") from None
    inc = inst.size_increment.as_decimal()
    lo = inst.min_quantity.as_decimal() if inst.min_quantity is not None else inc
    hi = inst.max_quantity.as_decimal() if inst.max_quantity is not None else None
    limits = f"{inst.id} takes {lo} to {hi if hi is not None else 'any'} in steps of {inc}"
    if size < lo or (hi is not None and size > hi) or size % inc != 0:
        raise ConfigError(f"{spec.where}: strategy.trade_size {trade} is not an order size {limits}")


@dataclass(frozen=True)
class RunResult:
    """Where a run wrote its files, its summary and what ``finish`` returned (e.g. the report path)."""

    run_id: str
    run_dir: Path
    summary: Summary
    finished: object = None
    peak_rss_mb: float | None = None  # peak resident memory of the process that ran it (MB), see run_job


def prepare_runs(config_path: Path, max_runs: int | None = None) -> tuple[list[RunSpec], dict]:
    """Validate every run of a config and its catalog data (nothing runs); returns (specs, coverage by id)."""
    specs = load_runs(config_path, max_runs)
    return specs, check_catalogs(specs)


def check_catalogs(specs: list[RunSpec]) -> dict:
    """:func:`check_catalog` of every run (runs differing only in other settings share one check)."""
    seen: dict = {}
    coverage = {}
    for s in specs:
        st = s.settings
        key = (
            s.catalog_path,
            st["instrument"],
            st["bar_type"],
            str(st["start"]),
            str(st["end"]),
            (st.get("actor") or {}).get("require_open_interest", True),
            str(trade_size(st)),
        )
        if key not in seen:
            seen[key] = check_catalog(s)
        coverage[s.id] = seen[key]
    return coverage


def run_backtests(
    config_path: Path,
    out_dir: Path,
    on_run=None,
    finish=None,
    max_runs: int | None = None,
    prepared: tuple[list[RunSpec], dict] | None = None,
    executor: str = "serial",
    workers: int | None = None,
    ray_address: str | None = None,
    on_done=None,
) -> list[RunResult]:
    """Run every run of ``config_path`` into ``out_dir/<run-id>/``; ``finish(run_dir)`` (optional) adds to each
    run directory before it is moved into place. Every run is checked before the first starts.

    Each run (with its baseline) is one job of :func:`liq_signals.backtest.executors.run_jobs` — ``serial``,
    ``process`` (one ``BacktestNode`` per spawned process) or ``ray`` — so ``finish`` must pickle (a module-level
    function or a ``functools.partial`` of one) for the last two. ``on_run(spec)`` is called as each run is
    handed out (all at once for a pool), ``on_done(i, result)`` as each finishes; results come in run order."""
    from liq_signals.backtest.executors import run_jobs

    specs, coverage = prepared if prepared is not None else prepare_runs(config_path, max_runs)
    if on_run is not None and executor != "serial":
        for spec in specs:
            on_run(spec)
    jobs = [(spec, str(out_dir), coverage[spec.id], finish) for spec in specs]
    if executor == "serial":
        results = []
        for i, args in enumerate(jobs):
            if on_run is not None:
                on_run(specs[i])
            results.append(run_job(*args))
            if on_done is not None:
                on_done(i, results[-1])
        return results
    return run_jobs(
        "liq_signals.backtest.node:run_job",
        jobs,
        executor=executor,
        workers=workers,
        ray_address=ray_address,
        on_done=on_done,
    )


def run_job(spec: RunSpec, out_dir: str, coverage: dict | None, finish=None) -> RunResult:
    """One job of a sweep (any process): :func:`run_one`, plus this process's peak RSS (MB) in the result."""
    import dataclasses

    result = run_one(spec, Path(out_dir), coverage, finish)
    return dataclasses.replace(result, peak_rss_mb=peak_rss_mb())


def peak_rss_mb() -> float:
    """Peak resident memory of this process (MB): ``VmHWM`` (reset at exec, so a spawned worker does not
    report its parent's peak as ``ru_maxrss`` would), else ``ru_maxrss``."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)  # kB
    except OSError:
        pass
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux: KiB


def run_baseline(spec: RunSpec) -> dict | None:
    """Run the spec's baseline (:mod:`liq_signals.backtest.baseline`) through its own ``BacktestNode`` and
    return its metrics with ``kind`` and ``wall_seconds``; None when the run has none."""
    import dataclasses

    from nautilus_trader.backtest.node import BacktestNode

    from liq_signals.backtest import baseline as B
    from liq_signals.backtest.outputs import run_metrics

    settings = B.baseline_settings(spec.settings)
    if settings is None:
        return None
    config = run_config(dataclasses.replace(spec, id=f"{spec.id}-baseline", settings=settings), with_actor=False)
    node = BacktestNode(configs=[config])
    try:
        t0 = time.perf_counter()
        node.run()
        wall = time.perf_counter() - t0
        metrics = run_metrics(node.get_engine(config.id), settings)
    finally:
        node.dispose()
    return {"kind": B.kind(spec.settings), **metrics, "wall_seconds": round(wall, 3)}


def run_one(spec: RunSpec, out_dir: Path, coverage: dict | None = None, finish=None) -> RunResult:
    """Run one spec through a ``BacktestNode`` and write its run directory (whole or not at all)."""
    from nautilus_trader.backtest.node import BacktestNode

    from liq_signals.backtest.outputs import run_directory, write_outputs

    coverage = coverage if coverage is not None else check_catalog(spec)
    baseline = run_baseline(spec)
    config = run_config(spec)
    node = BacktestNode(configs=[config])
    try:
        t0 = time.perf_counter()
        node.run()
        wall = time.perf_counter() - t0
        engine = node.get_engine(config.id)
        with run_directory(Path(out_dir) / spec.id) as tmp:
            summary = write_outputs(spec, engine, tmp, wall, coverage, baseline)
            finished = finish(tmp) if finish is not None else None
    finally:
        node.dispose()
    run_dir = Path(out_dir) / spec.id
    if isinstance(finished, Path) and finished.parent == tmp:
        finished = run_dir / finished.name
    return RunResult(spec.id, run_dir, summary, finished)
