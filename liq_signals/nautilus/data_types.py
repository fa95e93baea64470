"""Custom Nautilus ``Data`` types of liq_signals (registered with the Arrow serializer on import).

Market data (written to the catalog by the backtest harness's catalog export, published by live clients);
each converts to its engine record (:mod:`liq_signals.engine.inputs`) with ``to_observation()``:

- :class:`OpenInterest` — one open-interest snapshot. ``ts_event = ts_init`` is the time the snapshot was
  *observed* (ns), not the file's stamp.
- :class:`FundingRate` — one funding event. Nautilus's native ``FundingRateUpdate`` has no mark
  price, so a custom type carries it.
- :class:`Liquidation` — one realized liquidation (Binance ``forceOrder`` snapshot), published by the live
  client; ground truth for strategies and validation, not an engine input.

Signals published by the actor:

- :class:`LiquidationProximity` — one state change of the nearest qualifying cluster on one side
  (see :mod:`liq_signals.engine.signals` for the event rules).

Timestamps are UNIX epoch nanoseconds. Prices in USDT, sizes in base asset, notionals in USDT.

Do not add ``from __future__ import annotations`` here: ``@customdataclass`` reads the annotations
as real types to build the Arrow schema.
"""

from typing import NamedTuple

from nautilus_trader.core.data import Data
from nautilus_trader.model.custom import customdataclass
from nautilus_trader.model.identifiers import InstrumentId

from liq_signals.engine import inputs

_NO_INSTRUMENT = InstrumentId.from_str("NONE.NONE")


@customdataclass
class OpenInterest(Data):
    """Open-interest snapshot of one perpetual.

    ``open_interest`` is in base asset (e.g. BTC), ``open_interest_value`` in USDT, ``taker_ratio`` the
    metrics row's taker buy/sell volume ratio over its 5-minute interval (NaN when the source is blank) —
    the engine's long/short split, so the actor sees the same inputs as the batch engine.
    """

    instrument_id: InstrumentId = _NO_INSTRUMENT
    open_interest: float = 0.0
    open_interest_value: float = 0.0
    taker_ratio: float = float("nan")

    def to_observation(self) -> inputs.OpenInterest:
        """The engine's record of this snapshot (NaN = missing)."""
        return inputs.OpenInterest(self.ts_event, self.open_interest, self.open_interest_value, self.taker_ratio)


@customdataclass
class FundingRate(Data):
    """A funding event (``ts_event`` = funding time, ns).

    ``rate`` is the fraction paid per funding interval (longs pay when positive); ``mark_price`` is the
    mark price in USDT used for the payment (NaN when the source did not record it);
    ``interval_hours`` is the funding interval in hours (0 when the source did not record it).
    """

    instrument_id: InstrumentId = _NO_INSTRUMENT
    rate: float = 0.0
    mark_price: float = float("nan")
    interval_hours: int = 0

    def to_observation(self) -> inputs.Funding:
        """The engine's record of this funding event (NaN mark price = unknown)."""
        return inputs.Funding(self.ts_event, self.rate, self.mark_price)


@customdataclass
class LiquidationProximity(Data):
    """State change of the nearest qualifying estimated liquidation cluster on one side.

    ``side``: 'long' (liquidations below the price, sells) or 'short' (above, buys); ``event``: 'entered',
    'touched', 'swept' or 'left' (rules in :mod:`liq_signals.engine.signals`); ``price_low``/``price_high`` bound the
    cluster (USDT), ``notional_usd`` its estimated notional (USDT), ``distance_bps`` the distance from the bar
    close to its nearest edge (>= 0; 0 inside), ``model`` the engine model. ``ts_event = ts_init`` = close
    time (epoch ns) of the bar that triggered the change."""

    instrument_id: InstrumentId = _NO_INSTRUMENT
    side: str = "long"
    price_low: float = 0.0
    price_high: float = 0.0
    notional_usd: float = 0.0
    distance_bps: float = 0.0
    model: str = ""
    event: str = "entered"

    def to_row(self) -> dict:
        """Plain dict for CSV export: ts (epoch ns) and the fields above (instrument as a string)."""
        return {
            "ts_ns": self.ts_event,
            "instrument_id": self.instrument_id.value,
            "side": self.side,
            "price_low": self.price_low,
            "price_high": self.price_high,
            "notional_usd": self.notional_usd,
            "distance_bps": self.distance_bps,
            "model": self.model,
            "event": self.event,
        }


@customdataclass
class Liquidation(Data):
    """A forced liquidation order seen on ``<symbol>@forceOrder``.

    ``side``: side of the *liquidated position* ('long' when the liquidation order sells, 'short' when it
    buys); ``price``: order price (USDT); ``avg_price``: average fill price (USDT); ``quantity``: filled
    quantity (base); ``notional_usd`` = ``avg_price * quantity`` (USDT); ``ts_event``: the order's trade time
    (ns). Binance pushes at most one snapshot per symbol per second: counts are lower bounds.
    """

    instrument_id: InstrumentId = _NO_INSTRUMENT
    side: str = "long"
    price: float = 0.0
    avg_price: float = 0.0
    quantity: float = 0.0
    notional_usd: float = 0.0

    def to_observation(self) -> inputs.Liquidation:
        """The engine's record of this liquidation (ground truth, not an engine input)."""
        return inputs.Liquidation(self.ts_event, self.side, self.avg_price, self.quantity, self.notional_usd)


class ProximitySignal(NamedTuple):
    """The actor's ``publish_signal`` value, typed: ``event`` ('entered' | 'touched' | 'swept' | 'left'),
    ``side`` ('long' | 'short'), band (USDT), notional (USDT), distance (bps). On the bus it travels as the
    string ``"event|side|price_low|price_high|notional_usd|distance_bps"`` (:meth:`to_value` /
    :meth:`parse`), rounded to 0.01 USDT, 1 USDT and 0.1 bps."""

    event: str
    side: str
    price_low: float
    price_high: float
    notional_usd: float
    distance_bps: float

    def to_value(self) -> str:
        return (
            f"{self.event}|{self.side}|{self.price_low:.2f}|{self.price_high:.2f}|{self.notional_usd:.0f}|"
            f"{self.distance_bps:.1f}"
        )

    @classmethod
    def parse(cls, value: str) -> "ProximitySignal":
        """The signal from a published value (``ValueError`` naming the bad field)."""
        parts = str(value).split("|")
        if len(parts) != len(cls._fields):
            raise ValueError(f"proximity signal needs {len(cls._fields)} '|'-separated fields, got {value!r}")
        event, side, *numbers = parts
        if event not in ("entered", "touched", "swept", "left"):
            raise ValueError(f"proximity signal: unknown event {event!r}")
        if side not in ("long", "short"):
            raise ValueError(f"proximity signal: unknown side {side!r}")
        out = []
        for name, text in zip(cls._fields[2:], numbers):
            try:
                out.append(float(text))
            except ValueError:
                raise ValueError(f"proximity signal: {name} is not a number: {text!r}") from None
        return cls(event, side, *out)


# the market-data types the actor subscribes to and forwards to the engine (each has ``to_observation()``)
OBSERVATION_TYPES = (OpenInterest, FundingRate)
