"""Writing a finished run's directory (files and fields of :mod:`liq_signals.backtest.run_dir`).

:func:`run_directory` makes the write all-or-nothing: files go to a temporary folder beside the target,
which replaces the target (and any stale file in it, such as an old ``report.html``) only once everything
was written; on an error the temporary folder is removed and the old directory is left as it was.
Units: prices USDT, sizes base, notionals USDT, PnL in the settlement currency (USDT), times UTC.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from liq_signals.backtest import run_dir as RD
from liq_signals.backtest.flush_check import flush_check
from liq_signals.backtest.funding import read_totals
from liq_signals.backtest.schema import DEFAULT_STARTING_BALANCE
from liq_signals.errors import LiqSignalsError
from liq_signals.times import to_timestamp


@contextlib.contextmanager
def run_directory(target: Path):
    """Yield a fresh temporary folder beside ``target``; on success it replaces ``target`` whole."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    os.chmod(tmp, 0o755)  # mkdtemp makes it private; a run directory is an ordinary folder
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.replace(target, old / target.name)
    try:
        os.replace(tmp, target)
    except BaseException:
        if old is not None:
            os.replace(old / target.name, target)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _find_actor(engine):
    from liq_signals.nautilus.actor import LiquidationSignalActor

    for a in engine.trader.actors():
        if isinstance(a, LiquidationSignalActor):
            return a
    raise LiqSignalsError("no LiquidationSignalActor in the engine")


def order_status_counts(orders: pd.DataFrame) -> tuple[int, int]:
    """(rejected, denied) orders in a Nautilus orders report."""
    if orders is None or orders.empty or "status" not in orders:
        return 0, 0
    status = orders["status"].astype(str)
    return int((status == RD.ORDER_REJECTED).sum()), int((status == RD.ORDER_DENIED).sum())


def write_outputs(
    spec, engine, run_dir: Path, wall_seconds: float, coverage: dict, baseline: dict | None = None
) -> RD.Summary:
    """Write every file of :data:`~liq_signals.backtest.run_dir.RUN_FILES` for a finished engine;
    ``baseline`` = :func:`run_metrics` of the run's baseline (see :mod:`liq_signals.backtest.baseline`)."""
    from nautilus_trader.model.identifiers import InstrumentId

    from liq_signals.backtest.baseline import differences

    s = spec.settings
    trader = engine.trader
    actor = _find_actor(engine)
    venue = InstrumentId.from_str(s["instrument"]).venue
    fills = trader.generate_order_fills_report()
    positions = trader.generate_positions_report()
    orders = trader.generate_orders_report()
    account = trader.generate_account_report(venue)
    for name, frame in ((RD.FILLS, fills), (RD.POSITIONS, positions), (RD.ORDERS, orders), (RD.ACCOUNT, account)):
        frame.to_csv(run_dir / name)
    events = actor.events_frame()
    events.to_csv(run_dir / RD.EVENTS, index=False)
    heatmap = actor.heatmap_frame()
    heatmap.to_parquet(run_dir / RD.HEATMAP, index=False)
    bars = load_bars(spec)
    bars.to_parquet(run_dir / RD.BARS, index=False)

    analyzer = engine.portfolio.analyzer
    stats = {
        "pnls": jsonable(analyzer.get_performance_stats_pnls()),
        "returns": jsonable(analyzer.get_performance_stats_returns()),
        "general": jsonable(analyzer.get_performance_stats_general()),
    }
    write_json(run_dir / RD.STATS, stats)

    engine_cfg = actor.indicator.engine_config
    strategies = trader.strategies()
    brackets = actor.indicator.brackets
    record = RD.RunConfigRecord(
        run_id=spec.id,
        config_file=str(spec.source),
        model=engine_cfg.model,
        settings=s,
        actor=jsonable(actor.config.json_primitives()),
        engine=jsonable(dataclasses.asdict(engine_cfg)),
        strategy=jsonable(strategies[0].config.json_primitives()) if strategies else None,
        brackets=brackets,
        data_sources={"catalog": str(spec.catalog_path), "coverage": coverage},
    )
    write_json(run_dir / RD.RUN_CONFIG, record.to_dict())

    rejected, denied = order_status_counts(orders)
    funding = read_totals(engine.cache, s["instrument"])
    balance = (s.get("venue") or {}).get("starting_balance", DEFAULT_STARTING_BALANCE)
    pnl = pnl_total(account, balance)
    fc = s.get("flush_check")
    summary = RD.Summary(
        run_id=spec.id,
        instrument=s["instrument"],
        bar_type=s["bar_type"],
        start=to_timestamp(s["start"]).isoformat(),
        end=to_timestamp(s["end"]).isoformat(),
        model=engine_cfg.model,
        bars=actor.bars_seen,
        open_interest_obs=actor.oi_seen,
        funding_obs=actor.funding_seen,
        signals_published=actor.signals_published,
        events={k: int(v) for k, v in events["event"].value_counts().items()} if len(events) else {},
        orders=int(len(orders)),
        orders_rejected=rejected,
        orders_denied=denied,
        fills=int(len(fills)),
        positions=int(len(positions)),
        pnl_total=pnl,
        max_drawdown_usdt=max_drawdown_usdt(account, balance),
        trades=int(len(positions)),
        sharpe=_sharpe(stats),
        funding_net_usdt=round(float(funding["net_usdt"]), 8),
        funding_payments=int(funding["payments"]),
        wall_seconds=round(wall_seconds, 3),
        strategy=type(strategies[0]).__name__ if strategies else None,
        strategy_counters=_strategy_counters(strategies[0]) if strategies else {},
        brackets=brackets,
        flush_check=(
            flush_check(heatmap, bars, actor.open_interest, fc["time"], int(fc.get("bars", 1))) if fc else None
        ),
    )
    if baseline is not None:
        summary.baseline = baseline
        summary.vs_baseline = differences(summary.to_dict(), baseline)
    write_json(run_dir / RD.SUMMARY, summary.to_dict())
    return summary


def run_metrics(engine, settings: dict) -> dict:
    """PnL (USDT, incl. commissions and funding), max drawdown of the account balance (USDT), trades
    (positions), fills and net funding (USDT) of a finished engine — what a baseline records."""
    from nautilus_trader.model.identifiers import InstrumentId

    trader = engine.trader
    account = trader.generate_account_report(InstrumentId.from_str(settings["instrument"]).venue)
    balance = (settings.get("venue") or {}).get("starting_balance", DEFAULT_STARTING_BALANCE)
    funding = read_totals(engine.cache, settings["instrument"])
    return {
        "pnl_total": pnl_total(account, balance),
        "max_drawdown_usdt": max_drawdown_usdt(account, balance),
        "trades": int(len(trader.generate_positions_report())),
        "fills": int(len(trader.generate_order_fills_report())),
        "funding_net_usdt": round(float(funding["net_usdt"]), 8),
    }


def max_drawdown_usdt(account: pd.DataFrame, starting_balance: str) -> float:
    """Largest fall of the account balance (USDT, realised: fills, commissions, funding) from its running
    peak, the starting balance included; 0 for a run without account rows. Positive number."""
    from nautilus_trader.model.objects import Money

    start = Money.from_str(starting_balance).as_double()
    if account is None or account.empty or "total" not in account:
        return 0.0
    total = account["total"].astype(float).to_numpy()
    peak = np.maximum.accumulate(np.concatenate([[start], total]))[1:]
    return round(float(np.max(peak - total, initial=0.0)), 8)


def _sharpe(stats: dict) -> float | None:
    """Nautilus's annualised Sharpe ratio of the run's returns (None when not computed)."""
    for key, value in (stats.get("returns") or {}).items():
        if key.startswith("Sharpe Ratio"):
            return value
    return None


def _strategy_counters(strategy) -> dict:
    out = {}
    for name in ("entries_blocked", "flattened", "exits"):
        if hasattr(strategy, name):
            out[name] = copy.deepcopy(getattr(strategy, name))
    return out


def pnl_total(account: pd.DataFrame, starting_balance: str) -> float | None:
    """Realised PnL in the settlement currency (USDT) incl. commissions: last balance minus the configured
    starting balance (the account report's first row already holds the first fill's commission)."""
    from nautilus_trader.model.objects import Money

    if account is None or account.empty or "total" not in account:
        return None
    start = Money.from_str(starting_balance).as_double()
    return round(float(account["total"].astype(float).iloc[-1]) - start, 8)


def load_bars(spec) -> pd.DataFrame:
    """Bars of the run from the catalog: :data:`~liq_signals.backtest.run_dir.BAR_COLUMNS`, ts = close (UTC)."""
    from nautilus_trader.model.data import Bar
    from nautilus_trader.persistence.catalog import ParquetDataCatalog

    catalog = ParquetDataCatalog(str(spec.catalog_path))
    bars = catalog.query(
        Bar,
        identifiers=[spec.settings["bar_type"]],
        start=to_timestamp(spec.settings["start"]),
        end=to_timestamp(spec.settings["end"]),
    )
    return pd.DataFrame(
        {
            "ts": pd.to_datetime([b.ts_event for b in bars], unit="ns", utc=True),
            "open": [b.open.as_double() for b in bars],
            "high": [b.high.as_double() for b in bars],
            "low": [b.low.as_double() for b in bars],
            "close": [b.close.as_double() for b in bars],
            "volume": [b.volume.as_double() for b in bars],
        }
    )[list(RD.BAR_COLUMNS)]


def jsonable(obj):
    """``obj`` with non-finite floats as None, numpy scalars as Python values and anything else as text."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, (int, str, bool)) or obj is None:
        return obj
    if hasattr(obj, "item"):
        return jsonable(obj.item())
    return str(obj)


def write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(jsonable(obj), indent=2, sort_keys=False) + "\n")
