"""The ``[strategy]`` table of a backtest config: a shipped example by ``kind`` or any strategy by path.

Two forms (Nautilus's ``ImportableStrategyConfig`` idiom for the second)::

    [strategy]                      # a shipped example
    kind = "avoid"                  # or "magnet"
    trade_size = "0.5"              # ... that strategy's config fields

    [strategy]                      # any strategy importable from the user's PYTHONPATH
    strategy_path = "my_pkg.my_mod:MyStrategy"
    config_path = "my_pkg.my_mod:MyConfig"
    [strategy.config]               # fields of MyConfig
    trade_size = "0.5"

``instrument_id`` and ``bar_type`` are filled in from the run's ``instrument``/``bar_type`` when the config
class has those fields and the table does not set them. Import failures and unknown fields are one-line
``ConfigError``s naming the path or the field (with the known ones listed).
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass

from liq_signals.errors import ConfigError

STRATEGIES = {
    "avoid": (
        "liq_signals.nautilus.strategies.avoid:LiquidationAvoidStrategy",
        "liq_signals.nautilus.strategies.avoid:LiquidationAvoidConfig",
    ),
    "magnet": (
        "liq_signals.nautilus.strategies.magnet:LiquidationMagnetStrategy",
        "liq_signals.nautilus.strategies.magnet:LiquidationMagnetConfig",
    ),
}
BY_PATH_KEYS = ("strategy_path", "config_path", "config")
FILLED_IN = ("instrument_id", "bar_type")  # set by the harness from `instrument` / `bar_type`


@dataclass(frozen=True)
class StrategySpec:
    """A resolved strategy: import paths and the config dict handed to ``ImportableStrategyConfig``."""

    strategy_path: str
    config_path: str
    params: dict
    kind: str | None = None  # "avoid"/"magnet" for a shipped example, None for one given by path


def import_path(path, what: str):
    """The object named ``module:Name``; ``ConfigError`` naming ``what`` when it does not import."""
    if not isinstance(path, str) or path.count(":") != 1 or not all(path.split(":")):
        raise ConfigError(f"{what} must be 'module:Name', got {path!r}")
    module, name = path.split(":")
    try:
        mod = importlib.import_module(module)
    except Exception as exc:  # ImportError, or the module's own error at import time
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ConfigError(
            f"{what} {path!r}: cannot import module {module!r} ({type(exc).__name__}: {first}; is it on PYTHONPATH?)"
        ) from None
    if not hasattr(mod, name):
        raise ConfigError(f"{what} {path!r}: module {module!r} has no {name!r}")
    return getattr(mod, name)


def config_class(table: dict):
    """The strategy config class of a ``[strategy]`` table (checked to be a Nautilus ``StrategyConfig``)."""
    from nautilus_trader.config import StrategyConfig

    if table.get("kind") is not None:
        cls = import_path(STRATEGIES[table["kind"]][1], "strategy.kind")
    else:
        cls = import_path(table.get("config_path"), "strategy.config_path")
    if not (isinstance(cls, type) and issubclass(cls, StrategyConfig)):
        raise ConfigError(f"strategy.config_path {table.get('config_path')!r} is not a Nautilus StrategyConfig class")
    return cls


def config_fields(table: dict) -> list[str]:
    """Field names of the table's strategy config class."""
    from liq_signals.backtest.schema import struct_fields

    return struct_fields(config_class(table))


def check_form(table) -> None:
    """A ``[strategy]`` table uses exactly one form: ``kind`` or ``strategy_path`` + ``config_path``."""
    if not isinstance(table, dict):
        raise ConfigError(f"'strategy' must be a table, got {table!r}")
    by_path = any(k in table for k in BY_PATH_KEYS)
    if by_path and "kind" in table:
        raise ConfigError('strategy: give either kind = "avoid"|"magnet" or strategy_path + config_path, not both')
    if by_path:
        for key in ("strategy_path", "config_path"):
            if key not in table:
                raise ConfigError(
                    f"strategy: missing '{key}' (with strategy_path, config_path and a "
                    "[strategy.config] table of its fields)"
                )
        if not isinstance(table.get("config", {}), dict):
            raise ConfigError(f"strategy.config must be a table, got {table['config']!r}")
        import_path(table["strategy_path"], "strategy.strategy_path")
        config_class(table)
    elif table.get("kind") not in STRATEGIES:
        raise ConfigError(
            f"strategy.kind must be one of {', '.join(STRATEGIES)} (or give strategy_path + "
            f"config_path), got {table.get('kind')!r}"
        )


def known_keys(table: dict) -> list[str]:
    """Keys the ``[strategy]`` table itself may hold."""
    if any(k in table for k in BY_PATH_KEYS):
        return list(BY_PATH_KEYS)
    if table.get("kind") in STRATEGIES:
        return ["kind", *config_fields(table)]
    return ["kind", *BY_PATH_KEYS]


def resolve(settings: dict) -> StrategySpec | None:
    """The run's strategy (None for an actor-only run); the table must have passed :func:`check_form`."""
    table = dict(settings.get("strategy") or {})
    if not table:
        return None
    check_form(table)
    kind = table.pop("kind", None)
    if kind is not None:
        path, cfg_path = STRATEGIES[kind]
        params = table
    else:
        path, cfg_path = table["strategy_path"], table["config_path"]
        params = dict(table.get("config") or {})
    params = json.loads(json.dumps(params, default=str))
    fields = config_fields({"kind": kind, "config_path": cfg_path})
    if "instrument_id" in fields:
        params.setdefault("instrument_id", settings["instrument"])
    if "bar_type" in fields:
        params.setdefault("bar_type", settings["bar_type"])
    if "trade_size" in params and not isinstance(params["trade_size"], bool):
        params["trade_size"] = str(params["trade_size"])
    return StrategySpec(path, cfg_path, params, kind)


def trade_size(settings: dict):
    """The strategy's ``trade_size`` (base units) as written in the config, or None."""
    table = settings.get("strategy") or {}
    if not isinstance(table, dict):
        return None
    if "kind" in table:
        return table.get("trade_size")
    cfg = table.get("config") or {}
    return cfg.get("trade_size") if isinstance(cfg, dict) else None
