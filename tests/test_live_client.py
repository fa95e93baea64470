"""Live client pieces without a node: Binance payload parsing (hand-worked numbers), funding crossings,
Retry-After, config and CLI errors, and the REST warm start against the loopback replay server."""

from __future__ import annotations

import numpy as np
import pytest

from liq_signals.errors import ConfigError
from liq_signals.live.parse import (
    FeedFormatError,
    FundingTracker,
    MarkUpdate,
    parse_force_order,
    parse_mark_price,
    parse_open_interest,
)

H8 = 8 * 3_600_000_000_000


def test_open_interest_payload():
    pt = parse_open_interest({"openInterest": "10659.509", "symbol": "BTCUSDT", "time": 1589437530011})
    assert pt.ts_ns == 1_589_437_530_011_000_000 and pt.open_interest == 10659.509


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {"openInterest": "x", "time": 1},
        {"openInterest": "1"},
        {"openInterest": "1", "time": "12"},
        {"openInterest": "nan", "time": 1},
    ],
)
def test_malformed_open_interest_is_refused(payload):
    with pytest.raises(FeedFormatError):
        parse_open_interest(payload)


def test_force_order_side_is_the_liquidated_position():
    sell = {
        "e": "forceOrder",
        "E": 5,
        "o": {"s": "BTCUSDT", "S": "SELL", "q": "0.014", "p": "9910", "ap": "9910", "z": "0.014", "T": 1568014460893},
    }
    f = parse_force_order(sell)
    assert (f.side, f.symbol, f.ts_ns) == ("long", "BTCUSDT", 1_568_014_460_893_000_000)
    assert f.notional_usd == pytest.approx(138.74)  # 9910 x 0.014
    buy = dict(sell, o=dict(sell["o"], S="BUY", ap="10000", z="0.5"))
    assert parse_force_order(buy).side == "short" and parse_force_order(buy).notional_usd == 5000.0
    with pytest.raises(FeedFormatError):
        parse_force_order(dict(sell, o=dict(sell["o"], S="HOLD")))


def test_mark_price_payload():
    m = parse_mark_price(
        {
            "e": "markPriceUpdate",
            "E": 1562305380000,
            "s": "BTCUSDT",
            "p": "11794.15",
            "r": "0.00038167",
            "T": 1562306400000,
        }
    )
    assert m == MarkUpdate(1_562_305_380_000_000_000, 11794.15, 0.00038167, 1_562_306_400_000_000_000)


def test_funding_crossing_once_per_funding_time_with_the_rate_in_force():
    tr = FundingTracker()
    t = 10 * H8
    assert tr.update(MarkUpdate(t - 2000, 100.0, 0.0001, t)) is None
    assert tr.update(MarkUpdate(t - 1000, 101.0, 0.0002, t)) is None  # rate in force just before: 0.0002
    c = tr.update(MarkUpdate(t + 500, 102.0, 0.0005, t + H8))  # first update at/after the funding time
    assert (c.ts_ns, c.funding_ns, c.rate, c.mark_price, c.interval_hours) == (t + 500, t, 0.0002, 102.0, 8)
    assert tr.update(MarkUpdate(t + 900, 103.0, 0.0005, t + H8)) is None  # no second crossing
    c2 = tr.update(MarkUpdate(t + H8, 104.0, 0.0001, t + 2 * H8))
    assert (c2.funding_ns, c2.rate) == (t + H8, 0.0005)


def test_retry_after_header():
    from liq_signals.live.client import retry_after_secs

    assert retry_after_secs({"Retry-After": "7"}, 1.0) == 7.0
    assert retry_after_secs({}, 1.5) == 1.5
    assert retry_after_secs({"Retry-After": "soon"}, 2.0) == 2.0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"base_url_http": "ftp://x"}, "base_url_http"),
        ({"base_url_ws": "http://x"}, "base_url_ws"),
        ({"oi_poll_secs": 0}, "oi_poll_secs"),
        ({"instrument_ids": ("BTCUSDT.BINANCE",)}, "BTCUSDT.BINANCE"),
        ({"gap_secs": -1.0}, "gap_secs"),
    ],
)
def test_client_config_errors_name_the_field(kwargs, field):
    from liq_signals.live.config import LiqLiveDataClientConfig

    with pytest.raises(ConfigError, match=field):
        LiqLiveDataClientConfig(**kwargs)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('instrument = "BTCUSDT-PERP.BINANCE"\nbar_type = "x"\nspeeed = 1\n', "speeed"),
        ('instrument = "BTCUSDT-PERP.BINANCE"\nbar_type = "x"\n[replay]\nsped = 1\n', "sped"),
        ('instrument = "BTCUSDT-PERP.BINANCE"\n', "bar_type"),
        ('instrument = "BTCUSDT-PERP.BINANCE"\nbar_type = "x"\n[warm_start]\nsource = "disk"\n', "warm_start.source"),
        ('instrument = "BTCUSDT-PERP.BINANCE"\nbar_type = "x"\nduration = "10"\n', "duration"),
    ],
)
def test_live_config_errors_exit_2_with_one_line(tmp_path, capsys, monkeypatch, text, needle):
    import sys

    from liq_signals.cli import main

    cfg = tmp_path / "live-bad.toml"
    cfg.write_text(text)
    monkeypatch.setattr(sys, "argv", ["liq-signals", "live", str(cfg), "--out", str(tmp_path / "out")])
    with pytest.raises(SystemExit) as exc:
        main()
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and err.startswith("error: ") and needle in err and "\n" not in err
    assert not (tmp_path / "out").exists()


def test_rest_warm_start_reads_what_the_database_holds(tmp_path):
    """The REST history (klines, openInterestHist + takerlongshortRatio, fundingRate) served by the replay
    server equals the DB history the DB warm start reads (the sample's OI is observed at its stamp)."""
    from liq_signals.backtest.demo import SAMPLE_DIR
    from liq_signals.data.ingest import ingest_paths
    from liq_signals.live.replay_data import load_replay_data
    from liq_signals.live.replay_server import ReplayServer, ReplayServerThread
    from liq_signals.live.warm import history_from_db, history_from_rest
    from liq_signals.times import to_ns

    db = tmp_path / "btc.duckdb"
    ingest_paths([SAMPLE_DIR], db)
    until = to_ns("2023-11-20T00:00:00Z")
    start = until - 48 * 3_600_000_000_000
    th = ReplayServerThread(
        ReplayServer(load_replay_data(db, "BTCUSDT"), start_ms=until // 1_000_000, wait_streams=("never@started",))
    )
    th.start()
    try:
        rest = history_from_rest(th.base_http, "BTCUSDT", "15m", start, until)
    finally:
        th.stop()
    ref = history_from_db(db, "BTCUSDT", start, until)
    # bars strictly inside (start, until): what warm_up applies (< until) and both sources hold
    rb = rest.bars[(rest.bars["ts_ns"] > start) & (rest.bars["ts_ns"] < until)]
    db_b = ref.bars[(ref.bars["ts_ns"] > start) & (ref.bars["ts_ns"] < until)]
    assert len(rb) == len(db_b) == 48 * 4 - 1
    for col in ("ts_ns", "open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(rb[col].to_numpy(), db_b[col].to_numpy())
    ro, do = rest.open_interest, ref.open_interest[(ref.open_interest["ts_ns"] < until)]
    assert len(ro) == len(do) == 48 * 12
    np.testing.assert_array_equal(ro["ts_ns"].to_numpy(), do["ts_ns"].to_numpy())
    for col in ("open_interest", "open_interest_value", "taker_ratio"):
        np.testing.assert_allclose(ro[col].to_numpy(), do[col].to_numpy(), rtol=1e-12, atol=1e-8)
    np.testing.assert_array_equal(
        rest.funding["ts_ns"].to_numpy(), ref.funding["ts_ns"][ref.funding["ts_ns"] < until].to_numpy()
    )
