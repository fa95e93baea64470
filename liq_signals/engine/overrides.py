"""``FIELD=VALUE`` overrides of ``EngineConfig`` fields (``liq-signals validate --set ...``, the prior study).

Values are text, parsed by the field's declared type:

- sequences (``tiers``, ``tier_weights``, ``tier_half_life_hours``, ``ensemble_weights``): comma-separated
  numbers, e.g. ``tier_weights=0.1,0.2,0.3,0.2,0.2``;
- numbers (``representative_notional_usd``, ``input_lookback_hours`` ...): one number, same units as the field;
- optional fields (``trade_top_n``, ``trade_portion``, ``brackets_path``): a value or ``none``;
- booleans (``use_mark_price``): true/false, yes/no, 1/0;
- text (``bucket_mode``, ``side_attribution``): as given.

A malformed item, an unknown field or a value ``EngineConfig`` rejects raises ``ConfigError`` naming the
field. Overrides are kept as a tuple of ``(field, value)`` pairs (hashable, so frozen configs can hold them);
a field given twice keeps its last value.
"""

from __future__ import annotations

import types
import typing

from liq_signals.errors import ConfigError

_TRUE, _FALSE = ("true", "yes", "1", "on"), ("false", "no", "0", "off")


def _config_cls():
    from liq_signals.engine.engine import EngineConfig

    return EngineConfig


def field_types() -> dict[str, object]:
    """``{field: resolved type}`` of every ``EngineConfig`` field."""
    return typing.get_type_hints(_config_cls())


def _field_type(name: str, types_: dict[str, object]):
    if name not in types_:
        raise ConfigError(f"--set: unknown EngineConfig field {name!r} (known: {', '.join(sorted(types_))})")
    return types_[name]


def _parse_scalar(name: str, text: str, typ) -> object:
    text = text.strip()
    args = typing.get_args(typ)
    if isinstance(typ, types.UnionType) or typing.get_origin(typ) is typing.Union:
        if type(None) in args and text.lower() in ("none", "null", ""):
            return None
        inner = [a for a in args if a is not type(None)]
        return _parse_scalar(name, text, inner[0])
    if typ is tuple or typing.get_origin(typ) is tuple:
        parts = [p.strip() for p in text.split(",")]
        try:
            return tuple(float(p) for p in parts)
        except ValueError:
            raise ConfigError(f"--set {name}: expected comma-separated numbers, got {text!r}") from None
    if typ is bool:
        low = text.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ConfigError(f"--set {name}: expected true or false, got {text!r}")
    if typ is int:
        try:
            return int(text)
        except ValueError:
            raise ConfigError(f"--set {name}: expected a whole number, got {text!r}") from None
    if typ is float:
        try:
            return float(text)
        except ValueError:
            raise ConfigError(f"--set {name}: expected a number, got {text!r}") from None
    if not text:
        raise ConfigError(f"--set {name}: empty value")
    return text


def parse_override(item: str) -> tuple[str, object]:
    """``'tier_weights=0.1,0.2,0.3,0.2,0.2'`` -> ``('tier_weights', (0.1, 0.2, 0.3, 0.2, 0.2))``.

    Only the text is checked here (field exists, value parses); ``apply_overrides`` lets ``EngineConfig``
    check the value itself."""
    if not isinstance(item, str) or "=" not in item:
        raise ConfigError(f"--set expects FIELD=VALUE (e.g. tier_half_life_hours=168,84,36,12,6), got {item!r}")
    name, text = item.split("=", 1)
    name = name.strip()
    return name, _parse_scalar(name, text, _field_type(name, field_types()))


def parse_overrides(items) -> tuple[tuple[str, object], ...]:
    """Parse every ``FIELD=VALUE`` item (a field given twice keeps its last value, in first-seen order)."""
    out: dict[str, object] = {}
    for item in items or ():
        name, value = parse_override(item)
        out[name] = value
    return tuple(out.items())


def normalise_overrides(overrides) -> tuple[tuple[str, object], ...]:
    """Accept a mapping, ``(field, value)`` pairs or ``FIELD=VALUE`` strings; return checked pairs.

    Field names must exist; values given as text are parsed as in ``parse_override``."""
    if overrides is None:
        return ()
    if isinstance(overrides, dict):
        pairs = list(overrides.items())
    else:
        pairs = []
        for item in overrides:
            if isinstance(item, str):
                pairs.append(parse_override(item))
            elif isinstance(item, (tuple, list)) and len(item) == 2:
                pairs.append(tuple(item))
            else:
                raise ConfigError(f"engine override must be FIELD=VALUE or a (field, value) pair, got {item!r}")
    types_ = field_types()
    out: dict[str, object] = {}
    for name, value in pairs:
        typ = _field_type(name, types_)
        if isinstance(value, str) and typ is not str:
            value = _parse_scalar(name, value, typ)
        elif isinstance(value, list):
            value = tuple(value)
        out[name] = value
    return tuple(out.items())


def apply_overrides(overrides, **base):
    """``EngineConfig(**base)`` with ``overrides`` on top; a rejected value raises ``ConfigError`` naming it."""
    pairs = normalise_overrides(overrides)
    kwargs = dict(base)
    kwargs.update(dict(pairs))
    try:
        return _config_cls()(**kwargs)
    except ConfigError as exc:
        names = [n for n, _ in pairs]
        raise ConfigError(f"{exc} (engine overrides: {', '.join(names) or 'none'})") from None


def format_overrides(overrides) -> dict[str, object]:
    """JSON-ready ``{field: value}`` (tuples become lists)."""
    return {n: (list(v) if isinstance(v, tuple) else v) for n, v in normalise_overrides(overrides)}


def override_text(overrides) -> str:
    """``'tier_weights=0.1,0.2,... side_attribution=even'`` ('' when none): how to pass them to ``--set``."""
    parts = []
    for n, v in normalise_overrides(overrides):
        if isinstance(v, tuple):
            v = ",".join(f"{x:g}" for x in v)
        elif v is None:
            v = "none"
        parts.append(f"{n}={v}")
    return " ".join(parts)
