"""``BuyAndHoldStrategy``: buys ``trade_size`` (base units) on the first bar and holds it to the end.

The harness's ``baseline = "buy_and_hold"``: the same size held through the whole run (closed when the
strategy stops), funding included, so a strategy's PnL can be read against simply holding the instrument.
"""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import OrderSide, TimeInForce
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.trading.strategy import Strategy

from liq_signals.errors import ConfigError
from liq_signals.nautilus.strategies.common import check_trade_size


class BuyAndHoldConfig(StrategyConfig, frozen=True):
    """``trade_size`` in base units, bought with a market order at the first bar's close."""

    instrument_id: InstrumentId
    bar_type: BarType
    trade_size: Decimal
    close_positions_on_stop: bool = True

    def __post_init__(self) -> None:
        check_trade_size(self.trade_size)


class BuyAndHoldStrategy(Strategy):
    """One market buy on the first bar; the position is closed on stop."""

    def __init__(self, config: BuyAndHoldConfig) -> None:
        super().__init__(config)
        self.instrument = None
        self.bought = False

    def on_start(self) -> None:
        self.instrument = self.cache.instrument(self.config.instrument_id)
        if self.instrument is None:
            raise ConfigError(f"instrument_id: {self.config.instrument_id} not found in the cache")
        self.subscribe_bars(self.config.bar_type)

    def on_bar(self, bar: Bar) -> None:
        if self.bought:
            return
        self.bought = True
        self.submit_order(
            self.order_factory.market(
                instrument_id=self.config.instrument_id,
                order_side=OrderSide.BUY,
                quantity=self.instrument.make_qty(self.config.trade_size),
                time_in_force=TimeInForce.GTC,
            )
        )

    def on_stop(self) -> None:
        self.cancel_all_orders(self.config.instrument_id)
        if self.config.close_positions_on_stop:
            self.close_all_positions(self.config.instrument_id)

    def on_reset(self) -> None:
        self.bought = False
