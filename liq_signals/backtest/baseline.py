"""A baseline for every strategy run: the same strategy without the liquidation signal, or buy-and-hold.

Config key ``baseline`` (top level, sweepable, default ``"none"``):

- ``"no_signal"`` — the run's own strategy with ``use_signals = false`` (its config class must have that
  field: the shipped ``avoid``/``magnet`` examples do) and no signal actor;
- ``"buy_and_hold"`` — :class:`~liq_signals.nautilus.strategies.buy_and_hold.BuyAndHoldStrategy` holding the
  strategy's ``trade_size`` from the first bar to the end;
- ``"none"`` — no baseline.

The baseline runs in the same job as its run (same venue, data, period and funding) through its own
``BacktestNode``; ``summary.json`` gets ``baseline`` (its :func:`run_metrics`) and ``vs_baseline`` (run minus
baseline for PnL, max drawdown, trades and funding). Units: USDT; trades = positions opened.
"""

from __future__ import annotations

import copy

from liq_signals.errors import ConfigError

BASELINES = ("none", "no_signal", "buy_and_hold")
DEFAULT_BASELINE = "none"
BUY_AND_HOLD = (
    "liq_signals.nautilus.strategies.buy_and_hold:BuyAndHoldStrategy",
    "liq_signals.nautilus.strategies.buy_and_hold:BuyAndHoldConfig",
)
COMPARED = ("pnl_total", "max_drawdown_usdt", "trades", "funding_net_usdt")


def kind(settings: dict) -> str:
    """The run's baseline kind (``"none"`` when not set)."""
    return settings.get("baseline", DEFAULT_BASELINE)


def check(settings: dict) -> None:
    """``ConfigError`` unless ``baseline`` is a known kind the run's strategy supports."""
    from liq_signals.backtest import strategy_table as ST

    b = kind(settings)
    if b not in BASELINES:
        raise ConfigError(f"baseline must be one of {', '.join(BASELINES)}, got {b!r}")
    if b == "none":
        return
    if not settings.get("strategy"):
        raise ConfigError(f'baseline = {b!r} needs a [strategy] (or set baseline = "none")')
    if b == "no_signal":
        table = settings["strategy"]
        if "use_signals" not in ST.config_fields(table):
            name = table.get("config_path") or table.get("kind")
            raise ConfigError(
                f"baseline = 'no_signal' needs a use_signals field in the strategy config {name!r} "
                "(add `use_signals: bool = True` and ignore LiquidationProximity when false)"
            )
    if b == "buy_and_hold" and ST.trade_size(settings) is None:
        raise ConfigError("baseline = 'buy_and_hold' needs the strategy's trade_size")


def baseline_settings(settings: dict) -> dict | None:
    """Settings of the run's baseline (None for ``"none"``): no actor, no flush check, same venue and data."""
    from liq_signals.backtest import strategy_table as ST

    b = kind(settings)
    if b == "none":
        return None
    out = {k: copy.deepcopy(v) for k, v in settings.items() if k not in ("baseline", "flush_check", "actor")}
    if b == "no_signal":
        table = out["strategy"]
        if "kind" in table:
            table["use_signals"] = False
        else:
            table["config"] = {**(table.get("config") or {}), "use_signals": False}
    else:
        out["strategy"] = {
            "strategy_path": BUY_AND_HOLD[0],
            "config_path": BUY_AND_HOLD[1],
            "config": {"trade_size": str(ST.trade_size(settings))},
        }
    return out


def differences(run: dict, base: dict) -> dict:
    """Run minus baseline for each of :data:`COMPARED` (None where either side is missing)."""
    out = {}
    for key in COMPARED:
        a, b = run.get(key), base.get(key)
        out[key] = None if a is None or b is None else round(a - b, 8) if isinstance(a - b, float) else a - b
    return out
