"""``[strategy]`` by path: a strategy module written into tmp_path and put on the import path runs in the
harness and receives the actor's ``LiquidationProximity`` events; its config fields are checked, and a module
that does not import is one line."""

from __future__ import annotations

import textwrap

import pandas as pd
import pytest

from liq_signals.backtest.config import load_runs
from liq_signals.errors import ConfigError

STRATEGY_MODULE = textwrap.dedent('''
    from decimal import Decimal

    from nautilus_trader.config import StrategyConfig
    from nautilus_trader.model.data import BarType, DataType
    from nautilus_trader.model.enums import OrderSide
    from nautilus_trader.model.identifiers import InstrumentId
    from nautilus_trader.trading.strategy import Strategy

    from liq_signals.nautilus.data_types import LiquidationProximity


    class FlipOnEnterConfig(StrategyConfig, frozen=True):
        instrument_id: InstrumentId
        trade_size: Decimal
        use_signals: bool = True


    class FlipOnEnter(Strategy):
        """One market order per 'entered' event, alternating buy / sell (so positions never pile up)."""

        def __init__(self, config):
            super().__init__(config)
            self.n = 0

        def on_start(self):
            self.instrument = self.cache.instrument(self.config.instrument_id)
            self.subscribe_data(DataType(LiquidationProximity))

        def on_data(self, data):
            if isinstance(data, LiquidationProximity) and data.event == "entered" and self.config.use_signals:
                side = OrderSide.BUY if self.n % 2 == 0 else OrderSide.SELL
                self.n += 1
                self.submit_order(self.order_factory.market(self.config.instrument_id, side,
                                                            self.instrument.make_qty(self.config.trade_size)))
''')

BASE = """
catalog = "catalog"
instrument = "BTCUSDT-PERP.BINANCE"
bar_type = "BTCUSDT-PERP.BINANCE-15-MINUTE-LAST-EXTERNAL"
start = "2023-11-14T00:00:00Z"
end = "2023-11-21T00:00:00Z"
[actor]
model = "a"
proximity_bps = 50
bucket_floor_usd = 3_000_000
min_cluster_notional = 10_000_000
cooldown_bars = 4
[venue]
funding = false
"""
BY_PATH = """
[strategy]
strategy_path = "flip_strat_mod:FlipOnEnter"
config_path = "flip_strat_mod:FlipOnEnterConfig"
[strategy.config]
trade_size = "0.01"
"""


@pytest.fixture()
def on_path(tmp_path, monkeypatch):
    (tmp_path / "flip_strat_mod.py").write_text(STRATEGY_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def _error(path, body) -> str:
    cfg = path / "c.toml"
    cfg.write_text(BASE + body)
    with pytest.raises(ConfigError) as exc:
        load_runs(cfg)
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


def test_unknown_config_field_names_it_and_the_known_ones(on_path):
    msg = _error(on_path, BY_PATH + "trade_sise = 1\n")
    assert "'trade_sise'" in msg and "strategy.config" in msg
    assert "trade_size" in msg and "use_signals" in msg


def test_a_module_that_does_not_import_is_one_line(on_path):
    msg = _error(on_path, BY_PATH.replace('flip_strat_mod:FlipOnEnter"', 'no_such_mod_xyz:FlipOnEnter"'))
    assert "strategy.strategy_path" in msg and "no_such_mod_xyz" in msg and "PYTHONPATH" in msg
    msg = _error(on_path, BY_PATH.replace("flip_strat_mod:FlipOnEnterConfig", "flip_strat_mod:Nope"))
    assert "strategy.config_path" in msg and "'Nope'" in msg


def test_kind_and_path_together_or_wrong_types_are_refused(on_path):
    assert "not both" in _error(on_path, BY_PATH.replace("[strategy]\n", '[strategy]\nkind = "avoid"\n'))
    assert "strategy.config.use_signals" in _error(on_path, BY_PATH + 'use_signals = "maybe"\n')
    msg = _error(on_path, BY_PATH + '[sweep]\n"strategy.config.trade_sise" = [1, 2]\n')
    assert "trade_sise" in msg


def test_a_strategy_by_path_runs_and_receives_proximity_events(on_path):
    from liq_signals.backtest.demo import prepare_catalog
    from liq_signals.backtest.node import run_backtests

    prepare_catalog(on_path / "demo.duckdb", on_path / "catalog", note=lambda _m: None)
    (on_path / "c.toml").write_text(BASE + BY_PATH + '[sweep]\n"strategy.config.trade_size" = ["0.01"]\n')
    [r] = run_backtests(on_path / "c.toml", on_path / "out")
    events = pd.read_csv(r.run_dir / "proximity_events.csv")
    entered = int((events["event"] == "entered").sum())
    assert entered > 0
    assert r.summary.strategy == "FlipOnEnter"
    # one order per entered event, each filled (the last open one is not closed: the strategy has no on_stop)
    assert r.summary.orders == entered and r.summary.fills == entered
