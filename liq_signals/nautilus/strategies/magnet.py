"""``LiquidationMagnetStrategy``: trade toward a large nearby cluster, exit when it is swept or gone.

When flat and a cluster 'entered' proximity (per the signal actor's ``LiquidationProximity`` events), the
strategy opens toward it: SELL toward a *long* cluster below the price (their liquidations are sells),
BUY toward a *short* cluster above. It exits when that side reports 'swept' (target reached) or 'left'
(the cluster moved away or decayed), or after ``max_hold_bars`` bars. With clusters on both sides the
larger notional wins.

No claimed edge — an example of consuming the actor's events. Sizes in base units (``trade_size``).
"""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.config import NonNegativeInt, StrategyConfig
from nautilus_trader.core.data import Data
from nautilus_trader.model.data import Bar, BarType, DataType
from nautilus_trader.model.enums import OrderSide, TimeInForce
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.trading.strategy import Strategy

from liq_signals.errors import ConfigError
from liq_signals.nautilus.data_types import LiquidationProximity
from liq_signals.nautilus.strategies.common import ProximityBook, check_non_negative, check_trade_size

SIDE_TOWARD = {"long": OrderSide.SELL, "short": OrderSide.BUY}


class LiquidationMagnetConfig(StrategyConfig, frozen=True):
    """Config of :class:`LiquidationMagnetStrategy`.

    ``trade_size`` in base units; ``min_cluster_notional`` (USDT) ignores smaller clusters on top of the
    actor's thresholds; ``max_hold_bars`` closes a trade after that many bars (0 = no limit);
    ``use_signals = False`` ignores every ``LiquidationProximity`` event (so it never trades: the harness's
    ``baseline = "no_signal"`` of a strategy that trades only on signals).
    """

    instrument_id: InstrumentId
    bar_type: BarType
    trade_size: Decimal
    min_cluster_notional: float = 0.0
    max_hold_bars: NonNegativeInt = 0
    close_positions_on_stop: bool = True
    use_signals: bool = True

    def __post_init__(self) -> None:
        check_trade_size(self.trade_size)
        check_non_negative("min_cluster_notional", self.min_cluster_notional)


class LiquidationMagnetStrategy(Strategy):
    """Opens toward a large nearby cluster; exits on 'swept', 'touched', 'left' or after ``max_hold_bars``."""

    def __init__(self, config: LiquidationMagnetConfig) -> None:
        super().__init__(config)
        self.instrument = None
        self.book = ProximityBook(config.instrument_id, config.min_cluster_notional)
        self.target_side: str | None = None  # cluster side the open trade is aiming at
        self.bars_held = 0
        self.exits: dict[str, int] = {"swept": 0, "touched": 0, "left": 0, "timeout": 0}

    def on_start(self) -> None:
        self.instrument = self.cache.instrument(self.config.instrument_id)
        if self.instrument is None:
            raise ConfigError(f"instrument_id: {self.config.instrument_id} not found in the cache")
        self.subscribe_data(DataType(LiquidationProximity))
        self.subscribe_bars(self.config.bar_type)

    def on_data(self, data: Data) -> None:
        if not self.config.use_signals or not isinstance(data, LiquidationProximity) or not self.book.update(data):
            return
        if self.target_side is not None and data.side == self.target_side and data.event != "entered":
            self._exit(data.event)
        if self.target_side is None and self.portfolio.is_flat(self.config.instrument_id):
            self._maybe_enter()

    def on_bar(self, bar: Bar) -> None:
        if self.target_side is None:
            return
        self.bars_held += 1
        if self.config.max_hold_bars and self.bars_held >= self.config.max_hold_bars:
            self._exit("timeout")

    def _maybe_enter(self) -> None:
        candidates = [e for e in self.book.active.values() if e is not None]
        if not candidates:
            return
        target = max(candidates, key=lambda e: (e.notional_usd, e.side))
        self.submit_order(
            self.order_factory.market(
                instrument_id=self.config.instrument_id,
                order_side=SIDE_TOWARD[target.side],
                quantity=self.instrument.make_qty(self.config.trade_size),
                time_in_force=TimeInForce.GTC,
            )
        )
        self.target_side = target.side
        self.bars_held = 0

    def _exit(self, reason: str) -> None:
        self.close_all_positions(self.config.instrument_id)
        self.exits[reason] += 1
        self.target_side = None
        self.bars_held = 0

    def on_stop(self) -> None:
        self.cancel_all_orders(self.config.instrument_id)
        if self.config.close_positions_on_stop:
            self.close_all_positions(self.config.instrument_id)

    def on_reset(self) -> None:
        self.book.reset()
        self.target_side = None
        self.bars_held = 0
        self.exits = {"swept": 0, "touched": 0, "left": 0, "timeout": 0}
