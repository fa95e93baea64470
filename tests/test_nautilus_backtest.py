"""Nautilus layer, high level: the config-driven BacktestNode harness on the real sample catalog.

Checks that 'entered' events match the engine run outside Nautilus, that the Avoid strategy's entries
follow the events, determinism, the output files, start-time config/data errors (order sizes the instrument
cannot take), the rejected/denied order counts and whole-directory replacement on re-runs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from liq_signals.backtest.config import load_runs
from liq_signals.backtest.node import BacktestDataError, run_backtests
from liq_signals.errors import ConfigError

PROX = 50.0
CONFIG = f"""
catalog = "catalog"
instrument = "BTCUSDT-PERP.BINANCE"
bar_type = "BTCUSDT-PERP.BINANCE-15-MINUTE-LAST-EXTERNAL"
start = "2023-11-14T00:00:00Z"
end = "2023-12-12T23:59:59Z"
[actor]
model = "a"
proximity_bps = {PROX}
bucket_floor_usd = 3_000_000
min_cluster_notional = 10_000_000
cooldown_bars = 4
heatmap_every = 4
[actor.engine]
bucket_mode = "fixed"
bucket_width = 50.0
[strategy]
kind = "avoid"
trade_size = "0.5"
fast_ema_period = 12
slow_ema_period = 48
[flush_check]
time = "2023-12-11T02:00:00Z"
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    from liq_signals.backtest.demo import prepare_catalog

    d = tmp_path_factory.mktemp("nt")
    prepare_catalog(d / "demo.duckdb", d / "catalog", note=lambda _m: None)
    (d / "avoid.toml").write_text(CONFIG + '\n[[runs]]\nid = "a1"\n\n[[runs]]\nid = "a2"\n')
    return d


@pytest.fixture(scope="module")
def runs(workdir):
    return run_backtests(workdir / "avoid.toml", workdir / "out")


def test_outputs_written(runs):
    r = runs[0]
    for name in (
        "fills.csv",
        "positions.csv",
        "orders.csv",
        "account.csv",
        "proximity_events.csv",
        "heatmap.parquet",
        "bars.parquet",
        "stats.json",
        "run_config.json",
        "summary.json",
    ):
        assert (r.run_dir / name).is_file(), name
    s = json.loads((r.run_dir / "summary.json").read_text())
    assert s["bars"] == 29 * 96  # 2023-11-14 00:00 → 2023-12-12 23:45 closes, 15-minute bars
    assert s["orders"] > 0 and s["fills"] > 0 and s["signals_published"] > 0
    # pnl_total (ending balance - configured starting balance) agrees with Nautilus's own portfolio analysis
    stats = json.loads((r.run_dir / "stats.json").read_text())
    assert s["pnl_total"] == pytest.approx(stats["pnls"]["PnL (total)"], abs=1e-6)
    bars = pd.read_parquet(r.run_dir / "bars.parquet")
    assert list(bars.columns) == ["ts", "open", "high", "low", "close", "volume"] and len(bars) == s["bars"]
    fc = s["flush_check"]
    # the flush bar (closing 02:15) fell from ~43.2k to ~40.3k; the snapshot at 02:00 is what waited below
    assert fc["available"] and 40_000 < fc["low_after"] < 40_500 and 43_000 < fc["close_before"] < 43_500
    hm = pd.read_parquet(r.run_dir / "heatmap.parquet")
    snap = hm[(hm["time"] == pd.Timestamp("2023-12-11T02:00Z")) & (hm["side"] == "long")]
    in_range = snap[(snap["price_high"] > fc["low_after"]) & (snap["price_low"] < fc["close_before"])]
    assert fc["long_notional_in_range_usd"] == pytest.approx(in_range["notional_usd"].sum())
    assert fc["open_interest_change_base"] < -5000  # OI fell ~7k BTC in the flush


def test_runs_are_deterministic(runs):
    a, b = runs
    uuid = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # event/position ids hold random UUIDs

    def load(path):
        df = pd.read_csv(path, dtype=str).fillna("")
        return df.apply(lambda col: col.str.replace(uuid, "<uuid>", regex=True))

    for name in ("fills.csv", "positions.csv", "orders.csv", "proximity_events.csv"):
        fa, fb = load(a.run_dir / name), load(b.run_dir / name)
        assert len(fa) > 0, name
        pd.testing.assert_frame_equal(fa, fb)


def test_entered_events_match_the_engine_outside_nautilus(runs, workdir):
    """Each 'entered' event is a cluster the engine, stepped over the DuckDB inputs, also reports."""
    from liq_signals.backtest.node import actor_config
    from liq_signals.data.reader import load_market_inputs
    from liq_signals.engine.batch import levels_at
    from liq_signals.engine.engine import LiquidationEngine
    from liq_signals.engine.feeder import InputFeeder
    from liq_signals.nautilus.actor import LiquidationSignalActorConfig  # noqa: F401 (config type)

    spec = load_runs(workdir / "avoid.toml")[0]
    acfg = actor_config(spec)
    ecfg = acfg.engine_config()
    inputs = load_market_inputs(
        workdir / "demo.duckdb", "BTCUSDT", start="2023-11-14T00:00:00Z", end="2023-12-12T23:59:59Z", interval="15m"
    )
    # Nautilus bars carry no taker volumes (OpenInterest carries the metrics taker ratio, which the engine
    # prefers): blank the bars' taker volume for the engine outside Nautilus
    inputs.bars["taker_buy_volume"] = np.nan
    ev = pd.read_csv(runs[0].run_dir / "proximity_events.csv")
    entered = ev[ev["event"] == "entered"]
    assert len(entered) >= 5
    engine = LiquidationEngine(ecfg)
    feeder = InputFeeder(inputs, engine)
    for row in entered.itertuples():
        t = pd.Timestamp(row.ts).value
        feeder.run_until(t)
        clusters = engine.snapshot().with_floor(acfg.bucket_floor_usd).clusters()
        match = [
            c
            for c in clusters
            if c.side == row.side
            and c.price_low == pytest.approx(row.price_low)
            and c.price_high == pytest.approx(row.price_high)
        ]
        assert match, (row.ts, row.side, row.price_low)
        assert match[0].distance_bps <= PROX and match[0].notional_usd == pytest.approx(row.notional_usd, rel=1e-9)
    # and the public one-shot API agrees at the first event
    first = entered.iloc[0]
    snap = levels_at(inputs, ecfg, first["ts"]).with_floor(acfg.bucket_floor_usd)
    assert any(c.side == first["side"] and c.price_low == pytest.approx(first["price_low"]) for c in snap.clusters())


def test_avoid_opens_nothing_while_an_adverse_cluster_is_near(runs):
    ev = pd.read_csv(runs[0].run_dir / "proximity_events.csv")
    ev["t"] = pd.to_datetime(ev["ts"], utc=True)
    fills = pd.read_csv(runs[0].run_dir / "fills.csv")
    fills["t"] = pd.to_datetime(fills["ts_last"], utc=True)  # order fills report: one row per filled order
    pos = 0.0
    opened = 0
    for f in fills.sort_values("t", kind="stable").itertuples():
        qty = float(f.filled_qty) * (1 if f.side == "BUY" else -1)
        if pos == 0.0:  # an opening fill: no adverse cluster may be 'entered' at that time
            upto = ev[ev["t"] <= f.t]
            last = upto.groupby("side")["event"].last().to_dict()
            adverse = "long" if qty > 0 else "short"
            assert last.get(adverse) != "entered", (f.t, f.side)
            opened += 1
        pos = round(pos + qty, 9)
    assert opened > 10


def test_unknown_model_fails_at_start(workdir):
    bad = workdir / "bad_model.toml"
    bad.write_text(CONFIG.replace('model = "a"', 'model = "zz"'))
    with pytest.raises(ConfigError, match="model must be one of"):
        load_runs(bad)


def test_negative_threshold_fails_at_start(workdir):
    bad = workdir / "bad_prox.yaml"
    bad.write_text(
        "catalog: catalog\ninstrument: BTCUSDT-PERP.BINANCE\n"
        "bar_type: BTCUSDT-PERP.BINANCE-15-MINUTE-LAST-EXTERNAL\nstart: 2023-11-14\nend: 2023-11-20\n"
        "actor: {proximity_bps: -5}\n"
    )
    with pytest.raises(ConfigError, match="proximity_bps"):
        load_runs(bad)


def test_missing_catalog_data_for_range_fails_before_running(workdir):
    bad = workdir / "bad_range.toml"
    bad.write_text(
        CONFIG.replace("2023-11-14T00:00:00Z", "2022-01-01T00:00:00Z").replace(
            "2023-12-12T23:59:59Z", "2022-02-01T00:00:00Z"
        )
    )
    with pytest.raises(BacktestDataError, match="has no bars"):
        run_backtests(bad, workdir / "out_bad")
    assert not (workdir / "out_bad").exists()


def test_cli_maps_config_errors_to_exit_code_2(workdir, monkeypatch, capsys):
    from liq_signals import cli

    bad = workdir / "bad_model2.toml"
    bad.write_text(CONFIG.replace('model = "a"', 'model = "zz"'))
    monkeypatch.setattr("sys.argv", ["liq-signals", "backtest", str(bad), "--quiet"])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    assert exc.value.code == 2
    assert "model must be one of" in capsys.readouterr().err


def test_sweep_expands_runs(workdir):
    cfg = workdir / "sweep.toml"
    cfg.write_text(CONFIG + '\n[[runs]]\nid = "s"\n[sweep]\n"actor.proximity_bps" = [25, 100]\n')
    specs = load_runs(cfg)
    assert [s.id for s in specs] == ["s-proximity_bps25", "s-proximity_bps100"]
    assert [s.settings["actor"]["proximity_bps"] for s in specs] == [25, 100]


def test_actor_catalog_path_is_relative_to_the_config_file(workdir):
    from liq_signals.backtest.node import actor_config

    sub = workdir / "sub"
    sub.mkdir(exist_ok=True)
    cfg = sub / "persist.yaml"
    cfg.write_text(
        f"catalog: {workdir / 'catalog'}\ninstrument: BTCUSDT-PERP.BINANCE\n"
        "bar_type: BTCUSDT-PERP.BINANCE-15-MINUTE-LAST-EXTERNAL\nstart: 2023-11-14\nend: 2023-11-20\n"
        "actor: {catalog_path: events}\n"
    )
    assert actor_config(load_runs(cfg)[0]).catalog_path == str((sub / "events").resolve())


@pytest.mark.parametrize(
    "size, why",
    [("5000", "above the max quantity"), ("0.0001", "below the min quantity"), ("0.0015", "off the size increment")],
)
def test_trade_sizes_the_instrument_cannot_take_fail_before_running(workdir, size, why):
    from nautilus_trader.persistence.catalog import ParquetDataCatalog

    inst = ParquetDataCatalog(str(workdir / "catalog")).instruments()[0]
    lo, hi, inc = (inst.min_quantity.as_decimal(), inst.max_quantity.as_decimal(), inst.size_increment.as_decimal())
    from decimal import Decimal

    d = Decimal(size)
    assert {
        "above the max quantity": d > hi,
        "below the min quantity": d < lo,
        "off the size increment": lo <= d <= hi and d % inc != 0,
    }[why]  # the case is what it claims
    bad = workdir / f"size_{size}.toml"
    bad.write_text(CONFIG.replace('trade_size = "0.5"', f'trade_size = "{size}"') + '\n[[runs]]\nid = "s"\n')
    with pytest.raises(ConfigError, match=f"trade_size {size} is not an order size") as exc:
        run_backtests(bad, workdir / "out_size")
    assert "\n" not in str(exc.value)
    assert not (workdir / "out_size").exists()


def test_rejected_and_denied_orders_are_counted_and_the_avoid_example_has_none(runs):
    for r in runs:
        orders = pd.read_csv(r.run_dir / "orders.csv")
        s = json.loads((r.run_dir / "summary.json").read_text())
        assert s["orders_rejected"] == int((orders["status"] == "REJECTED").sum()) == 0
        assert s["orders_denied"] == int((orders["status"] == "DENIED").sum()) == 0
        # no position is closed twice: every reduce-only order filled
        ro = orders[orders["is_reduce_only"].astype(str) == "True"]
        assert len(ro) > 10 and (ro["status"] == "FILLED").all()


def test_a_rerun_replaces_the_run_directory_whole(workdir):
    from liq_signals.report.run_report import write_run_report

    cfg = workdir / "rerun.toml"
    cfg.write_text(
        CONFIG.replace('end = "2023-12-12T23:59:59Z"', 'end = "2023-11-18T00:00:00Z"').replace(
            '[flush_check]\ntime = "2023-12-11T02:00:00Z"\n', ""
        )
        + '\n[[runs]]\nid = "r"\n'
    )
    out = workdir / "out_rerun"
    first = run_backtests(cfg, out, finish=write_run_report)[0]
    assert first.finished == out / "r" / "report.html" and first.finished.is_file()
    (out / "r" / "stray.txt").write_text("left by hand")
    run_backtests(cfg, out)  # like --no-report
    assert sorted(p.name for p in (out / "r").iterdir()) == sorted(
        [
            "fills.csv",
            "positions.csv",
            "orders.csv",
            "account.csv",
            "proximity_events.csv",
            "heatmap.parquet",
            "bars.parquet",
            "stats.json",
            "run_config.json",
            "summary.json",
        ]
    )
    assert [p.name for p in out.iterdir()] == ["r"]  # no temporary folders left beside it

    def broken_report(run_dir):
        raise RuntimeError("report failed")

    before = {p.name: p.stat().st_mtime_ns for p in (out / "r").iterdir()}
    with pytest.raises(RuntimeError):
        run_backtests(cfg, out, finish=broken_report)
    assert {p.name: p.stat().st_mtime_ns for p in (out / "r").iterdir()} == before
    assert [p.name for p in out.iterdir()] == ["r"]
