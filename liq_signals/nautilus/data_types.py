"""Custom Nautilus ``Data`` types of liq_signals (registered with the Arrow serializer on import).

Market-data types written to the catalog by :mod:`liq_signals.nautilus.catalog_export`:

- :class:`OpenInterest` — one Binance ``metrics`` open-interest snapshot. ``ts_event = ts_init`` is
  the time the snapshot was *observed* (ns), not the file's stamp.
- :class:`FundingRate` — one funding event. Nautilus's native ``FundingRateUpdate`` has no mark
  price, so a custom type carries it (see the catalog_export module docstring for the full reason).

Timestamps are UNIX epoch nanoseconds. Prices in USDT, sizes in base asset, notionals in USDT.

Do not add ``from __future__ import annotations`` here: ``@customdataclass`` reads the annotations
as real types to build the Arrow schema.
"""

from nautilus_trader.core.data import Data
from nautilus_trader.model.custom import customdataclass
from nautilus_trader.model.identifiers import InstrumentId

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


# --- signal types (LiquidationProximity) are added below by the signal/actor module owner ---
