"""Baselines: every strategy run is paired with the same strategy without the signal (or buy-and-hold);
``vs_baseline`` equals the run's figures minus those of the baseline run on its own."""

from __future__ import annotations

import pandas as pd
import pytest

from liq_signals.backtest.config import load_runs
from liq_signals.errors import ConfigError

CONFIG = """
catalog = "catalog"
instrument = "BTCUSDT-PERP.BINANCE"
bar_type = "BTCUSDT-PERP.BINANCE-15-MINUTE-LAST-EXTERNAL"
start = "2023-11-14T00:00:00Z"
end = "2023-11-24T00:00:00Z"
[actor]
model = "a"
proximity_bps = 100
bucket_floor_usd = 3_000_000
min_cluster_notional = 10_000_000
cooldown_bars = 4
[strategy]
kind = "avoid"
trade_size = "0.5"
fast_ema_period = 12
slow_ema_period = 48
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    from liq_signals.backtest.demo import prepare_catalog

    d = tmp_path_factory.mktemp("baseline")
    prepare_catalog(d / "demo.duckdb", d / "catalog", note=lambda _m: None)
    return d


def _run(workdir, body: str, name: str):
    from liq_signals.backtest.node import run_backtests

    (workdir / f"{name}.toml").write_text(body)
    return run_backtests(workdir / f"{name}.toml", workdir / "out")[0]


def _by_hand(r) -> dict:
    """PnL, max drawdown and trades recomputed from the run's own account.csv / positions.csv."""
    total = pd.read_csv(r.run_dir / "account.csv")["total"].astype(float)
    peak = pd.concat([pd.Series([100_000.0]), total]).cummax().iloc[1:].to_numpy()
    return {
        "pnl_total": total.iloc[-1] - 100_000.0,
        "max_drawdown_usdt": float((peak - total.to_numpy()).max()),
        "trades": len(pd.read_csv(r.run_dir / "positions.csv")),
    }


def test_no_signal_baseline_difference_is_the_two_runs_subtracted(workdir):
    main = _run(workdir, 'baseline = "no_signal"\n' + CONFIG, "main")
    plain = _run(workdir, CONFIG + "use_signals = false\n", "plain")  # the baseline, run as a run of its own
    s, p = main.summary, plain.summary
    assert s.baseline["kind"] == "no_signal"
    # the baseline is the plain EMA cross: it trades differently from the signal-aware run
    assert s.baseline["fills"] == p.fills and s.baseline["trades"] == p.trades != s.trades
    for key in ("pnl_total", "max_drawdown_usdt", "trades", "funding_net_usdt"):
        assert s.baseline[key] == pytest.approx(getattr(p, key), abs=1e-6), key
        assert s.vs_baseline[key] == pytest.approx(getattr(s, key) - getattr(p, key), abs=1e-6), key
    for r in (main, plain):
        hand = _by_hand(r)
        for key, value in hand.items():
            assert getattr(r.summary, key) == pytest.approx(value, abs=1e-6), key


def test_buy_and_hold_baseline_holds_the_trade_size_all_along(workdir):
    r = _run(workdir, 'baseline = "buy_and_hold"\n' + CONFIG, "bh")
    b = r.summary.baseline
    assert b["kind"] == "buy_and_hold" and b["trades"] == 1 and b["fills"] == 2  # bought at the start, sold at the end
    bars = pd.read_parquet(r.run_dir / "bars.parquet")
    # PnL ≈ 0.5 BTC x (last close - first close) minus commissions and funding (taker fees < 0.1 % a side)
    gross = 0.5 * (bars["close"].iloc[-1] - bars["close"].iloc[0])
    fees = 0.5 * 0.001 * (bars["close"].iloc[-1] + bars["close"].iloc[0])
    assert abs(b["pnl_total"] - b["funding_net_usdt"] - gross) <= fees
    assert r.summary.vs_baseline["pnl_total"] == pytest.approx(r.summary.pnl_total - b["pnl_total"], abs=1e-6)


@pytest.mark.parametrize(
    "body, needle",
    [
        ('baseline = "nope"\n' + CONFIG, "baseline must be one of"),
        ('baseline = "no_signal"\n' + CONFIG.split("[strategy]")[0], "needs a [strategy]"),
    ],
)
def test_bad_baselines_are_one_line(tmp_path, body, needle):
    (tmp_path / "c.toml").write_text(body)
    with pytest.raises(ConfigError) as exc:
        load_runs(tmp_path / "c.toml")
    assert needle in str(exc.value) and "\n" not in str(exc.value)


def test_no_signal_needs_a_use_signals_field(tmp_path, monkeypatch):
    (tmp_path / "nosw.py").write_text(
        "from decimal import Decimal\nfrom nautilus_trader.config import StrategyConfig\n"
        "from nautilus_trader.trading.strategy import Strategy\n"
        "class C(StrategyConfig, frozen=True):\n    trade_size: Decimal\n"
        "class S(Strategy):\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    body = (
        'baseline = "no_signal"\n'
        + CONFIG.split("[strategy]")[0]
        + ('[strategy]\nstrategy_path = "nosw:S"\nconfig_path = "nosw:C"\n[strategy.config]\ntrade_size = "0.5"\n')
    )
    (tmp_path / "c.toml").write_text(body)
    with pytest.raises(ConfigError, match="use_signals") as exc:
        load_runs(tmp_path / "c.toml")
    assert "nosw:C" in str(exc.value)
