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
            order = self.order_factory.market(
                BAR_TYPE.instrument_id,
                OrderSide.BUY if buy else OrderSide.SELL,
                self.instrument.make_qty(abs(self.qty)),
            )
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
    engine.add_venue(
        Venue("BINANCE"),
        oms_type=OmsType.NETTING,
        account_type=AccountType.MARGIN,
        base_currency=None,
        starting_balances=[Money(100_000, USDT)],
        default_leverage=Decimal(5),
        modules=modules,
    )
    engine.add_instrument(instrument)
    price = np.full(bars_n, 40_000.0)
    df = pd.DataFrame(
        {"open": price, "high": price + 10, "low": price - 10, "close": price, "volume": 100.0},
        index=pd.to_datetime(T0 + MIN * np.arange(1, bars_n + 1), unit="ns", utc=True),
    )
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
    funding = [
        [T0 + 5 * MIN, 0.0003, 39_000.0],
        [T0 + 20 * MIN, 0.0001, 40_500.0],
        [T0 + 30 * MIN, -0.0002, float("nan")],
        [T0 + 50 * MIN, 0.001, 40_000.0],
    ]
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


# --- the harness: every backtest run settles funding from its catalog ---------------------------------------


@pytest.fixture(scope="module")
def demo_pair(tmp_path_factory):
    """The demo avoid config's first run on the shipped sample, with and without funding settlement."""
    import dataclasses

    from liq_signals.backtest.config import load_runs
    from liq_signals.backtest.demo import DEFAULT_CONFIG, prepare_catalog
    from liq_signals.backtest.node import run_one

    d = tmp_path_factory.mktemp("funding")
    prepare_catalog(d / "demo.duckdb", d / "catalog", note=lambda _m: None)
    spec = load_runs(DEFAULT_CONFIG)[0]
    spec = dataclasses.replace(spec, settings={**spec.settings, "catalog": str(d / "catalog")})
    off = dataclasses.replace(
        spec, id="off", settings={**spec.settings, "venue": {**spec.settings["venue"], "funding": False}}
    )
    return run_one(spec, d / "out"), run_one(off, d / "out"), d / "catalog"


def test_demo_run_pays_funding_and_pnl_moves_by_exactly_that(demo_pair):
    on, off, _ = demo_pair
    assert off.summary.funding_net_usdt == 0.0 and off.summary.funding_payments == 0
    assert on.summary.funding_payments > 0 and on.summary.funding_net_usdt != 0.0
    cols = ["client_order_id", "side", "avg_px", "filled_qty", "commissions", "ts_last"]  # not the random uuids
    fills_on = pd.read_csv(on.run_dir / "fills.csv")[cols]
    fills_off = pd.read_csv(off.run_dir / "fills.csv")[cols]
    assert len(fills_on) > 0
    pd.testing.assert_frame_equal(fills_on, fills_off)  # same trades: funding only moves the balance
    assert on.summary.pnl_total - off.summary.pnl_total == pytest.approx(on.summary.funding_net_usdt, abs=1e-6)


def test_demo_funding_equals_positions_held_at_funding_times(demo_pair):
    """Independent recomputation: for each funding row in the run, the net position open at that time
    (from fills.csv, signed base units) x the row's mark price x rate, paid by longs."""
    from nautilus_trader.persistence.catalog import ParquetDataCatalog

    from liq_signals.nautilus.data_types import FundingRate

    on, _, catalog = demo_pair
    fills = pd.read_csv(on.run_dir / "fills.csv")
    ts = pd.to_datetime(fills["ts_last"], utc=True).astype("int64").to_numpy()
    signed = np.where(fills["side"] == "BUY", 1.0, -1.0) * fills["filled_qty"].astype(float).to_numpy()
    order = np.argsort(ts, kind="stable")
    ts, cum = ts[order], np.cumsum(signed[order])
    rows = ParquetDataCatalog(str(catalog)).query(FundingRate, identifiers=[IID])
    expected, payments = 0.0, 0
    for r in (getattr(x, "data", x) for x in rows):
        # a fill stamped at the funding time itself comes after it (its order was decided on the bar closing then)
        k = np.searchsorted(ts, r.ts_event, side="left")
        pos = cum[k - 1] if k else 0.0
        if abs(pos) > 1e-12 and r.rate != 0:
            expected += -pos * r.mark_price * r.rate
            payments += 1
    assert on.summary.funding_payments == payments
    assert on.summary.funding_net_usdt == pytest.approx(expected, rel=1e-9)
