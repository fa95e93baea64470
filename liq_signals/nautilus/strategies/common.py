"""Shared pieces of the example strategies: config checks and the per-side proximity state."""

from __future__ import annotations

from decimal import Decimal

from liq_signals.errors import ConfigError


def check_trade_size(trade_size: Decimal) -> None:
    """Raise ``ConfigError`` unless ``trade_size`` (base units) is a positive number."""
    try:
        ok = Decimal(trade_size) > 0
    except Exception:
        ok = False
    if not ok:
        raise ConfigError(f"trade_size must be > 0 (base units), got {trade_size!r}")


def check_non_negative(name: str, value: float) -> None:
    """Raise ``ConfigError`` naming ``name`` unless ``value`` is a finite number >= 0."""
    if not (isinstance(value, (int, float)) and value == value and 0 <= value < float("inf")):
        raise ConfigError(f"{name} must be a finite number >= 0, got {value!r}")


class ProximityBook:
    """The cluster currently 'entered' on each side, fed with ``LiquidationProximity`` events.

    ``active['long']`` is the last 'entered' event for long liquidations below the price (or ``None``
    after its exit: 'touched', 'swept' or 'left'), likewise ``active['short']`` above the price.
    """

    def __init__(self, instrument_id, min_notional_usd: float = 0.0):
        self.instrument_id = instrument_id
        self.min_notional_usd = float(min_notional_usd)
        self.active: dict[str, object | None] = {"long": None, "short": None}

    def update(self, event) -> bool:
        """Apply one event; return True when it concerned this instrument."""
        if event.instrument_id != self.instrument_id:
            return False
        if event.event == "entered" and event.notional_usd >= self.min_notional_usd:
            self.active[event.side] = event
        else:
            self.active[event.side] = None
        return True

    def reset(self) -> None:
        self.active = {"long": None, "short": None}
