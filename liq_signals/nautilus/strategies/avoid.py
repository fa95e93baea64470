"""``LiquidationAvoidStrategy``: an EMA-cross trend follower that stays out of the way of large clusters.

Trend rule (as in Nautilus's ``EMACross`` example): fast EMA above slow EMA → want long, below → want
short. Liquidation rule: a long position is endangered by a large *long* cluster just below the price (a
flush through it cascades down), a short position by a large *short* cluster just above. While such an
adverse cluster is 'entered' (per the signal actor's ``LiquidationProximity`` events) the strategy does
not open in that direction and, with ``flatten_on_adverse``, closes an open position in that direction.

No claimed edge — an example of consuming the actor's events. Sizes in base units (``trade_size``).
"""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.config import PositiveInt, StrategyConfig
from nautilus_trader.core.data import Data
from nautilus_trader.indicators import ExponentialMovingAverage
from nautilus_trader.model.data import Bar, BarType, DataType
from nautilus_trader.model.enums import OrderSide, TimeInForce
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.trading.strategy import Strategy

from liq_signals.errors import ConfigError
from liq_signals.nautilus.data_types import LiquidationProximity
from liq_signals.nautilus.strategies.common import ProximityBook, check_non_negative, check_trade_size

ADVERSE_SIDE = {OrderSide.BUY: "long", OrderSide.SELL: "short"}


class LiquidationAvoidConfig(StrategyConfig, frozen=True):
    """Config of :class:`LiquidationAvoidStrategy`.

    ``trade_size`` in base units; EMA periods in bars; ``min_cluster_notional`` (USDT) ignores smaller
    'entered' clusters on top of the actor's own thresholds; ``flatten_on_adverse`` closes a position when
    an adverse cluster enters proximity; ``use_signals = False`` ignores every ``LiquidationProximity`` event
    (the plain EMA cross: the harness's ``baseline = "no_signal"``).
    """

    instrument_id: InstrumentId
    bar_type: BarType
    trade_size: Decimal
    fast_ema_period: PositiveInt = 10
    slow_ema_period: PositiveInt = 20
    min_cluster_notional: float = 0.0
    flatten_on_adverse: bool = True
    close_positions_on_stop: bool = True
    use_signals: bool = True

    def __post_init__(self) -> None:
        check_trade_size(self.trade_size)
        if self.fast_ema_period >= self.slow_ema_period:
            raise ConfigError(
                f"fast_ema_period ({self.fast_ema_period}) must be < slow_ema_period ({self.slow_ema_period})"
            )
        check_non_negative("min_cluster_notional", self.min_cluster_notional)


class LiquidationAvoidStrategy(Strategy):
    """EMA-cross trend strategy that refuses/flattens trades with a large adverse cluster nearby."""

    def __init__(self, config: LiquidationAvoidConfig) -> None:
        super().__init__(config)
        self.instrument = None
        self.fast_ema = ExponentialMovingAverage(config.fast_ema_period)
        self.slow_ema = ExponentialMovingAverage(config.slow_ema_period)
        self.book = ProximityBook(config.instrument_id, config.min_cluster_notional)
        self.entries_blocked = 0  # bars where the trend wanted an entry that a cluster vetoed
        self.flattened = 0  # positions closed because an adverse cluster entered

    def on_start(self) -> None:
        self.instrument = self.cache.instrument(self.config.instrument_id)
        if self.instrument is None:
            raise ConfigError(f"instrument_id: {self.config.instrument_id} not found in the cache")
        self.register_indicator_for_bars(self.config.bar_type, self.fast_ema)
        self.register_indicator_for_bars(self.config.bar_type, self.slow_ema)
        self.subscribe_data(DataType(LiquidationProximity))
        self.subscribe_bars(self.config.bar_type)

    def on_data(self, data: Data) -> None:
        if not self.config.use_signals or not isinstance(data, LiquidationProximity) or not self.book.update(data):
            return
        if not self.config.flatten_on_adverse or data.event != "entered":
            return
        if self.book.active[data.side] is None:
            return
        if self._closing():
            return  # a close is already on its way
        if data.side == "long" and self.portfolio.is_net_long(self.config.instrument_id):
            self.close_all_positions(self.config.instrument_id)
            self.flattened += 1
        elif data.side == "short" and self.portfolio.is_net_short(self.config.instrument_id):
            self.close_all_positions(self.config.instrument_id)
            self.flattened += 1

    def _closing(self) -> bool:
        """True while a reduce-only order for the instrument is in flight or open: closing again would send a
        second reduce-only order for a position already being closed (the venue rejects it)."""
        iid = self.config.instrument_id
        pending = self.cache.orders_inflight(instrument_id=iid) + self.cache.orders_open(instrument_id=iid)
        return any(o.is_reduce_only for o in pending)

    def on_bar(self, bar: Bar) -> None:
        if not self.indicators_initialized():
            return
        want = OrderSide.BUY if self.fast_ema.value >= self.slow_ema.value else OrderSide.SELL
        iid = self.config.instrument_id
        holding_opposite = (
            self.portfolio.is_net_short(iid) if want == OrderSide.BUY else self.portfolio.is_net_long(iid)
        )
        if holding_opposite:
            if not self._closing():  # an adverse-cluster flatten may already be closing it
                self.close_all_positions(iid)
        elif not self.portfolio.is_flat(iid):
            return  # already positioned with the trend
        if self.book.active[ADVERSE_SIDE[want]] is not None:
            self.entries_blocked += 1
            return
        self.submit_order(
            self.order_factory.market(
                instrument_id=iid,
                order_side=want,
                quantity=self.instrument.make_qty(self.config.trade_size),
                time_in_force=TimeInForce.GTC,
            )
        )

    def on_stop(self) -> None:
        self.cancel_all_orders(self.config.instrument_id)
        if self.config.close_positions_on_stop:
            self.close_all_positions(self.config.instrument_id)

    def on_reset(self) -> None:
        self.fast_ema.reset()
        self.slow_ema.reset()
        self.book.reset()
        self.entries_blocked = 0
        self.flattened = 0
