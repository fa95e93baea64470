"""Checks of one resolved run against the classes its tables configure, before any node is built.

Each table of a backtest config targets a class: ``actor`` → ``LiquidationSignalActorConfig`` (its
``engine`` sub-table → ``EngineConfig``), ``strategy`` → the config class of ``strategy.kind`` (or of
``strategy.config_path``, see :mod:`.strategy_table`), ``venue`` →
the harness's venue keys (starting balance with currency, leverage, Nautilus ``OmsType``), ``flush_check``
→ ``time``/``bars``. Unknown fields (typos) and wrong types are ``ConfigError``s naming the file, run and
field (with the known fields listed) — never a silent default, a traceback or a Rust panic.
"""

from __future__ import annotations

import json
import math

import msgspec

from liq_signals.backtest.strategy_table import FILLED_IN, STRATEGIES  # noqa: F401  (re-exported)
from liq_signals.errors import ConfigError

ACTOR_PATH = "liq_signals.nautilus.actor:LiquidationSignalActor"
ACTOR_CONFIG_PATH = "liq_signals.nautilus.actor:LiquidationSignalActorConfig"
VENUE_KEYS = ("starting_balance", "leverage", "oms_type", "funding")
FLUSH_CHECK_KEYS = ("time", "bars")
REQUIRED = ("catalog", "instrument", "bar_type", "start", "end")
DEFAULT_STARTING_BALANCE = "100000 USDT"
DEFAULT_LEVERAGE = 5.0
DEFAULT_OMS_TYPE = "NETTING"


def struct_fields(cls) -> list[str]:
    """Field names of a Nautilus (msgspec) config class."""
    return [f.name for f in msgspec.structs.fields(cls)]


def oms_types() -> list[str]:
    """Nautilus ``OmsType`` names a venue accepts (``UNSPECIFIED`` is not a venue setting)."""
    from nautilus_trader.model.enums import OmsType

    return [m.name for m in OmsType if m.name != "UNSPECIFIED"]


def table_fields(section: str, settings: dict) -> list[str] | None:
    """Known keys of a config table (``actor``, ``actor.engine``, ``strategy``, ``strategy.config``, ``venue``,
    ``flush_check``); None for a scalar top-level key."""
    if section == "actor":
        from liq_signals.nautilus.actor import LiquidationSignalActorConfig

        return [f for f in struct_fields(LiquidationSignalActorConfig) if f not in FILLED_IN]
    if section == "actor.engine":
        from liq_signals.engine.engine import EngineConfig

        return [f for f in EngineConfig.__dataclass_fields__ if f not in ("model", "symbol")]
    if section in ("strategy", "strategy.config"):
        from liq_signals.backtest import strategy_table as ST

        table = settings.get("strategy") or {}
        if section == "strategy":
            return ST.known_keys(table) if isinstance(table, dict) else ["kind"]
        return ST.config_fields(table) if isinstance(table, dict) and "config_path" in table else None
    if section == "venue":
        return list(VENUE_KEYS)
    if section == "flush_check":
        return list(FLUSH_CHECK_KEYS)
    return None


def check_keys(table, section: str, settings: dict) -> dict:
    """Raise ``ConfigError`` unless ``table`` is a table whose keys are all fields of ``section``."""
    if not isinstance(table, dict):
        raise ConfigError(f"'{section}' must be a table, got {table!r}")
    known = table_fields(section, settings)
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise ConfigError(
            f"{section}: unknown field(s) {', '.join(repr(u) for u in unknown)} (known: {', '.join(sorted(known))})"
        )
    return table


def validate_sweep_keys(path, sweep: dict, specs: list) -> None:
    """Every dotted sweep key names a field its table knows (checked against each run's strategy kind)."""
    from liq_signals.backtest.config import TOP_KEYS

    scalars = [
        k
        for k in TOP_KEYS
        if k not in ("runs", "sweep", "max_runs", "id", "walk_forward") and table_fields(k, {}) is None
    ]
    kinds_seen = set()
    tables = ("actor", "actor.engine", "strategy", "strategy.config", "venue", "flush_check")
    for spec in specs:
        st = spec.settings.get("strategy") or {}
        kind = (st.get("kind"), st.get("config_path")) if isinstance(st, dict) else None
        if kind in kinds_seen:
            continue
        kinds_seen.add(kind)
        for key in sweep:
            parts = str(key).split(".")
            where = f"{path}: sweep key '{key}'"
            if len(parts) == 1:
                if parts[0] not in scalars:
                    raise ConfigError(
                        f"{where}: not a sweepable key (top-level: {', '.join(scalars)}; "
                        "tables: actor.X, actor.engine.X, strategy.X, strategy.config.X, venue.X, "
                        "flush_check.X)"
                    )
                continue
            section = ".".join(parts[:-1])
            known = table_fields(section, spec.settings)
            if known is None or section not in tables:
                raise ConfigError(f"{where}: '{section}' is not a config table (tables: {', '.join(tables)})")
            if parts[-1] not in known:
                raise ConfigError(
                    f"{where}: unknown field '{parts[-1]}' of {section} (known: {', '.join(sorted(known))})"
                )


def parse_struct(cls, params: dict, section: str):
    """Decode ``params`` into ``cls`` the way Nautilus's factories do (``cls.parse`` of the JSON), raising
    ``ConfigError`` with the field for type errors and the class's own validation errors."""
    try:
        return cls.parse(json.dumps(params, default=str))
    except ConfigError as exc:
        raise ConfigError(f"{section}: {exc}") from None
    except msgspec.ValidationError as exc:
        msg = str(exc).splitlines()[0]
        text, _, at = msg.partition(" - at `$.")
        if at:  # "Expected `int`, got `float` - at `$.warmup_bars`" -> "actor.warmup_bars: expected ..."
            raise ConfigError(f"{section}.{at.rstrip('`')}: {text[:1].lower()}{text[1:]}") from None
        raise ConfigError(f"{section}: {msg}") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{section}: {str(exc).splitlines()[0]}") from None


def actor_params(settings: dict) -> dict:
    """The actor table as the node receives it (``heatmap_every`` defaults to 4, ids filled in)."""
    params = json.loads(json.dumps(dict(settings.get("actor") or {}), default=str))
    params.setdefault("heatmap_every", 4)
    params.update(instrument_id=settings["instrument"], bar_type=settings["bar_type"])
    return params


def strategy_params(settings: dict):
    """The run's :class:`~liq_signals.backtest.strategy_table.StrategySpec`, or None for an actor-only run."""
    from liq_signals.backtest.strategy_table import resolve

    return resolve(settings)


def _timestamp(value, name: str):
    """tz-aware UTC timestamp of an ISO string / TOML datetime; ``ConfigError`` naming ``name`` otherwise."""
    from liq_signals.times import to_timestamp

    try:
        if isinstance(value, bool) or not isinstance(value, str) and not hasattr(value, "isoformat"):
            raise ValueError
        return to_timestamp(value, name)
    except Exception:
        raise ConfigError(f"'{name}' is not a timestamp: {value!r}") from None


def _enum_names(name: str) -> list[str]:
    import nautilus_trader.model.enums as enums

    return [m.name for m in getattr(enums, name)]


def check_engine_types(engine: dict) -> None:
    """Each ``actor.engine`` value has its ``EngineConfig`` field's type (numbers for floats, lists of
    numbers for the tuples, ...); ``EngineConfig`` itself checks the ranges."""
    from liq_signals.engine.overrides import field_types

    types_ = field_types()
    for key, value in engine.items():
        try:
            msgspec.convert(value, types_[key])
        except msgspec.ValidationError as exc:
            text = str(exc).splitlines()[0].split(" - at ")[0]
            raise ConfigError(f"actor.engine.{key}: {text[:1].lower()}{text[1:]} ({value!r})") from None


def check_venue(venue: dict) -> None:
    """Types of the venue keys: ``starting_balance`` 'AMOUNT CURRENCY', ``leverage`` > 0, ``oms_type``,
    ``funding`` (bool: settle perpetual funding on open positions, default true)."""
    from nautilus_trader.model.objects import Money

    bal = venue.get("starting_balance", DEFAULT_STARTING_BALANCE)
    try:
        ok = isinstance(bal, str) and Money.from_str(bal).as_double() > 0
    except Exception:
        ok = False
    if not ok:
        raise ConfigError(
            f'venue.starting_balance must be a positive amount with its currency, e.g. "100000 USDT", got {bal!r}'
        )
    lev = venue.get("leverage", DEFAULT_LEVERAGE)
    if isinstance(lev, bool) or not isinstance(lev, (int, float)) or not math.isfinite(lev) or lev <= 0:
        raise ConfigError(f"venue.leverage must be a number > 0, got {lev!r}")
    oms = venue.get("oms_type", DEFAULT_OMS_TYPE)
    if oms not in oms_types():
        raise ConfigError(f"venue.oms_type must be one of {', '.join(oms_types())}, got {oms!r}")
    if not isinstance(venue.get("funding", True), bool):
        raise ConfigError(f"venue.funding must be true or false, got {venue['funding']!r}")


def check_flush(fc: dict) -> None:
    if "time" not in fc:
        raise ConfigError("flush_check: missing 'time'")
    _timestamp(fc["time"], "flush_check.time")
    bars = fc.get("bars", 1)
    if isinstance(bars, bool) or not isinstance(bars, int) or bars < 1:
        raise ConfigError(f"flush_check.bars must be an integer >= 1, got {bars!r}")


def validate_run(spec) -> None:
    """Check every table and value of a resolved run; ``ConfigError`` naming file, run and field."""
    s = spec.settings
    try:
        _validate_settings(s)
    except ConfigError as exc:
        raise ConfigError(f"{spec.where}: {exc}") from None


def _validate_settings(s: dict) -> None:
    from nautilus_trader.model.data import BarType
    from nautilus_trader.model.identifiers import InstrumentId

    from liq_signals.backtest.config import TOP_KEYS
    from liq_signals.nautilus.actor import LiquidationSignalActorConfig

    known = [k for k in TOP_KEYS if k not in ("runs", "sweep", "max_runs", "id", "walk_forward")]
    unknown = sorted(set(s) - set(known))
    if unknown:  # a run override table can bring keys of its own
        raise ConfigError(f"unknown key(s) {', '.join(repr(u) for u in unknown)} (known: {', '.join(sorted(known))})")
    for key in REQUIRED:
        if key not in s:
            raise ConfigError(f"missing '{key}'")
    if not isinstance(s["catalog"], str) or not s["catalog"]:
        raise ConfigError(f"'catalog' must be a path string, got {s['catalog']!r}")
    try:
        InstrumentId.from_str(str(s["instrument"]))
        BarType.from_str(str(s["bar_type"]))
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"instrument/bar_type: {str(exc).splitlines()[0]}") from None
    if _timestamp(s["end"], "end") <= _timestamp(s["start"], "start"):
        raise ConfigError("'end' must be after 'start'")
    check_venue(check_keys(s.get("venue") or {}, "venue", s))
    actor = check_keys(s.get("actor") or {}, "actor", s)
    if actor.get("engine") is not None:
        check_engine_types(check_keys(actor["engine"], "actor.engine", s))
    parse_struct(LiquidationSignalActorConfig, actor_params(s), "actor")
    if s.get("strategy"):
        from liq_signals.backtest import strategy_table as ST

        ST.check_form(s["strategy"])
        check_keys(s["strategy"], "strategy", s)
        section = "strategy" if "kind" in s["strategy"] else "strategy.config"
        if section == "strategy.config":
            check_keys(s["strategy"].get("config") or {}, section, s)
        resolved = strategy_params(s)
        parse_struct(ST.config_class(s["strategy"]), resolved.params, section)
        oms = resolved.params.get("oms_type")
        if oms is not None and (not isinstance(oms, str) or oms.upper() not in _enum_names("OmsType")):
            raise ConfigError(f"{section}.oms_type must be one of {', '.join(_enum_names('OmsType'))}, got {oms!r}")
    from liq_signals.backtest.baseline import check as check_baseline

    check_baseline(s)
    if s.get("flush_check") is not None:
        check_flush(check_keys(s["flush_check"], "flush_check", s))
