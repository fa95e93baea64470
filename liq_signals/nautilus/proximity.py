"""``LiquidationProximity``: the custom Nautilus ``Data`` the signal actor publishes.

One object is one state change of the *nearest qualifying cluster* on one side of the price:

- ``side`` is the side of the positions in the cluster: ``'long'`` (liquidations below the price, sells)
  or ``'short'`` (liquidations above the price, buys);
- ``event`` is ``'entered'`` (a qualifying cluster came within the configured distance), ``'left'``
  (it moved away, decayed below the thresholds or vanished without being traded through) or ``'swept'``
  (the bar traded through it: low <= price_low for a long cluster, high >= price_high for a short one);
- ``price_low``/``price_high`` bound the cluster (USDT), ``notional_usd`` is its estimated notional
  (USDT), ``distance_bps`` is the distance from the bar close to the cluster's nearest edge in basis points
  (>= 0; 0 when the close is inside the band), ``model`` names the engine model that produced it.

``ts_event = ts_init`` is the close time (epoch ns) of the bar that triggered the change.

Do not add ``from __future__ import annotations`` here: ``@customdataclass`` reads the annotations
as real types to build the Arrow schema.
"""

from nautilus_trader.core.data import Data
from nautilus_trader.model.custom import customdataclass
from nautilus_trader.model.identifiers import InstrumentId

PROXIMITY_SIDES = ("long", "short")
PROXIMITY_EVENTS = ("entered", "left", "swept")

_NO_INSTRUMENT = InstrumentId.from_str("NONE.NONE")


@customdataclass
class LiquidationProximity(Data):
    """State change of the nearest large estimated liquidation cluster on one side (see module doc)."""

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
