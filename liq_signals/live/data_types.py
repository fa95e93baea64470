"""Live-only custom Nautilus data: :class:`Liquidation` (one Binance ``forceOrder`` snapshot).

Do not add ``from __future__ import annotations`` here: ``@customdataclass`` reads the annotations as real
types to build the Arrow schema. Timestamps epoch ns; prices USDT, quantity base, notional USDT.
"""

from nautilus_trader.core.data import Data
from nautilus_trader.model.custom import customdataclass
from nautilus_trader.model.identifiers import InstrumentId

from liq_signals.engine import inputs

_NO_INSTRUMENT = InstrumentId.from_str("NONE.NONE")


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
