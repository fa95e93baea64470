"""Funding settlement in backtests: a position held across funding times pays/receives exactly
-signed quantity x mark price x rate at each of them (hand-computed), nothing while flat."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from nautilus_trader.model.data import BarType
from nautilus_trader.trading.strategy import Strategy

from liq_signals.backtest.funding import FundingSettlementConfig, FundingSettlementModule, read_totals
from liq_signals.errors import ConfigError

IID = "BTCUSDT-PERP.BINANCE"
BAR_TYPE = BarType.from_str(f"{IID}-1-MINUTE-LAST-EXTERNAL")
T0 = 1_700_000_000_000_000_000 // 60_000_000_000 * 60_000_000_000  # a whole minute (ns)
MIN = 60_000_000_000


class OpenThenClose(Strategy):
    """Opens ``qty`` (signed: > 0 buy) at the close of bar ``open_at`` and flattens at bar ``close_at``."""

    def __init__(self, qty: float, open_at: int, close_at: int):
        super().__init__()
        self.qty, self.open_at, self.close_at, self.n = qty, open_at, close_at, 0

    def on_start(self):
        self.instrument = self.cache.instrument(BAR_TYPE.instrument_id)
        self.subscribe_bars(BAR_TYPE)

    def on_bar(self, bar):
        from nautilus_trader.model.enums import OrderSide

        self.n += 1
        if self.n in (self.open_at, self.close_at):
            buy = (self.qty > 0) == (self.n == self.open_at)
            order = self.order_factory.market(BAR_TYPE.instrument_id, OrderSide.BUY if buy else OrderSide.SELL,
                                              self.instrument.make_qty(abs(self.qty)))
            self.submit_order(order)


def run(qty: float, funding: list | None, bars_n: int = 60):
    """Final USDT balance and the module totals of a run with a flat 40,000 price path."""
    from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
    from nautilus_trader.config import LoggingConfig
    from nautilus_trader.model.currencies import USDT
    from nautilus_trader.model.enums import AccountType, OmsType
    from nautilus_trader.model.identifiers import Venue
    from nautilus_trader.model.objects import Money
    from nautilus_trader.persistence.wranglers import BarDataWrangler

    from liq_signals.nautilus.instruments import binance_perpetual

    instrument = binance_perpetual("BTCUSDT")
    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(bypass_logging=True), run_analysis=False))
    modules = [FundingSettlementModule(FundingSettlementConfig(instrument_id=IID, funding=funding))] if funding else []
    engine.add_venue(Venue("BINANCE"), oms_type=OmsType.NETTING, account_type=AccountType.MARGIN, base_currency=None,
                     starting_balances=[Money(100_000, USDT)], default_leverage=Decimal(5), modules=modules)
    engine.add_instrument(instrument)
    price = np.full(bars_n, 40_000.0)
    df = pd.DataFrame({"open": price, "high": price + 10, "low": price - 10, "close": price, "volume": 100.0},
                      index=pd.to_datetime(T0 + MIN * np.arange(1, bars_n + 1), unit="ns", utc=True))
    engine.add_data(BarDataWrangler(BAR_TYPE, instrument).process(df))
    engine.add_strategy(OpenThenClose(qty, 10, 40))
    engine.run()
    balance = engine.portfolio.account(Venue("BINANCE")).balance_total(USDT).as_double()
    totals = read_totals(engine.cache, IID)
    engine.dispose()
    return balance, totals


@pytest.mark.parametrize("qty", [0.5, -2.0])
def test_position_held_across_funding_times_pays_size_x_mark_x_rate(qty):
    # funding at bars 5 (flat), 20 and 30 (open), 50 (flat again); the position is open from bar 10 to bar 40
    funding = [[T0 + 5 * MIN, 0.0003, 39_000.0], [T0 + 20 * MIN, 0.0001, 40_500.0],
               [T0 + 30 * MIN, -0.0002, float("nan")], [T0 + 50 * MIN, 0.001, 40_000.0]]
    # hand-computed: bar 20 at the row's mark 40,500; bar 30 has no recorded mark: the book mid (close 40,000)
    expected = -qty * 40_500.0 * 0.0001 - qty * 40_000.0 * -0.0002
    base, zero = run(qty, None)
    charged, totals = run(qty, funding)
    assert zero["net_usdt"] == 0.0
    assert totals["net_usdt"] == pytest.approx(expected, rel=1e-12)
    assert totals["payments"] == 2 and totals["settlements"] == 4
    assert charged - base == pytest.approx(expected, abs=1e-6)  # the account balance carries it


def test_config_needs_exactly_one_funding_source():
    with pytest.raises(ConfigError, match="exactly one"):
        FundingSettlementConfig(instrument_id=IID)
    with pytest.raises(ConfigError, match="exactly one"):
        FundingSettlementConfig(instrument_id=IID, catalog_path="x", funding=[[1, 0.1, 1.0]])
