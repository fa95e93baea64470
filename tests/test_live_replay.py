"""The live node on a loopback replay of the shipped BTCUSDT month: its proximity events equal the engine's
signals stepped outside Nautilus over the same bars and observations.

What "the same inputs" means live (computed here from the database, independently of the live code):
- bars stamped as in the DB (the live actor moves Nautilus's kline close time T up to the interval boundary
  T + 1 ms; the replay sends a closed kline at T + 1 ms after the observations stamped then); prices as
  ``Price(...).as_double()`` of the 0.1-tick wire strings; no taker volume (Nautilus bars carry none to the
  indicator);
- warm start: the database's rows stamped in the 72 h before the replay start (OI with value and taker ratio);
  everything stamped at or after the start is live;
- live OI: every DB row in the replay window, stamped at its observed time, OI as served (3 decimals),
  value = OI × the mark in force then: the last of the bar closes (the DB has no mark klines) and the marks
  implied by the OI rows (value / OI) at or before it, as served (0.1 tick); the taker ratio of the row (as
  served, 8 decimals) when the client fetches it (``taker_ratio = true``), else none;
- live funding: each funding time's rate, stamped at the funding time (the replay sends a mark update then),
  with the mark price known at that time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

START = "2023-11-17T00:00:00Z"
END = "2023-11-19T00:00:00Z"
WARM_HOURS = 72
ACTOR = dict(
    model="a", proximity_bps=60.0, bucket_floor_usd=3e6, min_cluster_notional=1e7, cooldown_bars=4, warmup_bars=96
)
ENGINE = dict(bucket_mode="fixed", bucket_width=50.0, min_history_hours=24.0)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    from liq_signals.backtest.demo import SAMPLE_DIR
    from liq_signals.data.ingest import ingest_paths

    path = tmp_path_factory.mktemp("live") / "btc.duckdb"
    ingest_paths([SAMPLE_DIR], path)
    return path


def _config(tmp_path, strategy=True, model="a", taker_ratio=True) -> object:
    from liq_signals.live.settings import load_live_settings

    actor = "\n".join(
        f"{k} = {v!r}" if isinstance(v, str) else f"{k} = {v}" for k, v in dict(ACTOR, model=model).items()
    )
    engine = "\n".join(f"{k} = {v!r}" if isinstance(v, str) else f"{k} = {v}" for k, v in ENGINE.items())
    text = f'''
instrument = "BTCUSDT-PERP.BINANCE"
bar_type = "BTCUSDT-PERP.BINANCE-15-MINUTE-LAST-EXTERNAL"
[replay]
start = "{START}"
end = "{END}"
[warm_start]
source = "db"
hours = {WARM_HOURS}
[client]
oi_poll_secs = 0.002
gap_secs = 600
taker_ratio = {"true" if taker_ratio else "false"}
[venue]
starting_balance = "100000 USDT"
leverage = 5
[actor]
{actor}
[actor.engine]
{engine}
'''.replace("'", '"')
    if strategy:
        text += '[strategy]\nkind = "avoid"\ntrade_size = "0.5"\nfast_ema_period = 12\nslow_ema_period = 48\n'
    path = tmp_path / "live-test.toml"
    path.write_text(text)
    return load_live_settings(path)


@pytest.fixture(scope="module")
def live_run(db, tmp_path_factory):
    from liq_signals.live.runner import run_live

    tmp = tmp_path_factory.mktemp("liverun")
    return run_live(_config(tmp), tmp / "run", replay_db=db, timeout_s=90)


def _expected_inputs(db, taker_ratio=True):
    """(warm inputs, live OI frame, live bars) from the database, as the module doc describes."""
    from dataclasses import replace

    from liq_signals.data.reader import load_market_inputs
    from liq_signals.times import to_ns

    m = load_market_inputs(db, "BTCUSDT")
    start, end = to_ns(START), to_ns(END)
    bars = m.bars.copy()
    bars["close_ms"] = bars["ts_ns"].to_numpy(np.int64) // 1_000_000 - 1  # Binance's kline close time
    bars["taker_buy_volume"] = np.nan
    warm_from = start - WARM_HOURS * 3_600_000_000_000
    db_ts = bars["ts_ns"].to_numpy(np.int64)
    warm_bars = bars[(db_ts >= warm_from) & (db_ts < start)]
    live_bars = bars[(db_ts >= start) & (db_ts <= end)]
    oi = m.open_interest[m.open_interest["open_interest"].notna()]
    warm_oi = oi[(oi["ts_ns"] >= warm_from) & (oi["ts_ns"] < start)]
    live_oi = oi[(oi["ts_ns"] >= start) & (oi["ts_ns"] <= end)].copy()
    live_oi["open_interest"] = [float(f"{v:.3f}") for v in live_oi["open_interest"]]
    # the mark in force at a time: the last of the bar closes (no mark klines in the DB) and the marks implied by
    # the OI rows (value / OI) at or before it, as served (0.1 tick)
    series = pd.concat(
        [
            pd.DataFrame({"t": bars["close_ms"], "mark": bars["close"]}),
            pd.DataFrame({"t": oi["ts_ns"] // 1_000_000, "mark": oi["open_interest_value"] / oi["open_interest"]}),
        ]
    )
    series = series[np.isfinite(series["mark"])].sort_values("t", kind="stable")
    series["mark"] = [float(f"{v:.1f}") for v in series["mark"]]

    def mark_at(ts_ns):
        return pd.merge_asof(pd.DataFrame({"t": np.asarray(ts_ns) // 1_000_000}), series, on="t")["mark"].to_numpy()

    live_oi["open_interest_value"] = live_oi["open_interest"].to_numpy() * mark_at(live_oi["ts_ns"])
    # the taker ratio of the same 5-minute row as served (8 decimals), when the client asks for it
    live_oi["taker_ratio"] = [
        float(f"{r:.8f}") if taker_ratio and np.isfinite(r) else np.nan for r in live_oi["taker_ratio"]
    ]
    # funding: the DB's rows before the start; live, each funding time's rate with the mark known then
    f = m.funding
    warm_f = f[(f["ts_ns"] >= warm_from) & (f["ts_ns"] < start)]
    live_f = f[(f["ts_ns"] >= start) & (f["ts_ns"] <= end)].copy()
    live_f["mark_price"] = mark_at(live_f["ts_ns"])
    m = replace(m, funding=pd.concat([warm_f, live_f]).reset_index(drop=True))
    return m, warm_bars, warm_oi, live_bars, live_oi


def _engine_events(db, model="a", taker_ratio=True):
    """Proximity events of the engine stepped over the expected inputs (no Nautilus, no live code)."""
    from dataclasses import replace

    from liq_signals.engine.engine import EngineConfig, LiquidationEngine
    from liq_signals.engine.feeder import InputFeeder
    from liq_signals.engine.signals import ProximityConfig, ProximitySignals
    from liq_signals.times import to_ns

    m, warm_bars, warm_oi, live_bars, live_oi = _expected_inputs(db, taker_ratio)
    from nautilus_trader.model.objects import Price

    bars = pd.concat([warm_bars, live_bars]).drop(columns="close_ms").reset_index(drop=True)
    for col in ("open", "high", "low", "close"):  # as the indicator reads Nautilus prices (Price.as_double)
        bars[col] = [Price.from_str(f"{v:.1f}").as_double() for v in bars[col]]
    oi = pd.concat([warm_oi, live_oi]).reset_index(drop=True)
    inputs = replace(m, bars=bars, open_interest=oi, mark_price=m.mark_price.iloc[:0])
    engine = LiquidationEngine(EngineConfig(symbol="BTCUSDT", model=model, **ENGINE))
    feeder = InputFeeder(inputs, engine)
    signals = ProximitySignals(
        ProximityConfig(
            ACTOR["proximity_bps"],
            ACTOR["min_cluster_notional"],
            0.0,
            ACTOR["cooldown_bars"],
            ACTOR["bucket_floor_usd"],
        )
    )
    start = to_ns(START)
    out = []
    for n, bar in enumerate(inputs.bars.itertuples(index=False), start=1):
        feeder.step()
        warm = n >= ACTOR["warmup_bars"] and engine.initialized
        events = signals.on_bar(engine, bar.ts_ns, bar.high, bar.low, bar.close, warm)
        if bar.ts_ns >= start:
            out += [
                (
                    ev.ts_ns,
                    ev.cluster.side,
                    ev.cluster.price_low,
                    ev.cluster.price_high,
                    ev.cluster.notional_usd,
                    ev.cluster.distance_bps,
                    ev.event,
                )
                for ev in events
            ]
    return out, len(warm_bars), live_bars, live_oi


def test_live_events_equal_the_engine_over_the_same_inputs(db, live_run):
    expected, n_warm, live_bars, live_oi = _engine_events(db)
    actor = live_run.actor
    published = [
        (e.ts_event, e.side, e.price_low, e.price_high, e.notional_usd, e.distance_bps, e.event) for e in actor.events
    ]
    assert actor.warm_bars == n_warm > 200
    assert actor.bars_seen == len(live_bars) == 193  # 2 days of 15-minute bars (48 h x 4) + the one closing at START
    assert len(expected) >= 5
    assert published == expected
    assert expected != _engine_events(db, taker_ratio=False)[0]  # the taker ratio matters


def test_live_open_interest_is_every_row_once_valued_at_the_known_mark(db, live_run):
    _, _, _, _, live_oi = _expected_inputs(db)
    got = live_run.actor.open_interest  # (ts_ns, OI base, value USDT) as the actor received them
    assert [t for t, _, _ in got] == live_oi["ts_ns"].tolist()  # every row, in order, no duplicate
    np.testing.assert_array_equal([v for _, v, _ in got], live_oi["open_interest"].to_numpy())
    np.testing.assert_array_equal([w for _, _, w in got], live_oi["open_interest_value"].to_numpy())
    s = live_run.summary
    assert s["replay"]["oi_unconfirmed"] == 0 and s["client"]["oi_gaps"] == 0


def test_live_run_directory_matches_the_backtest_layout(live_run):
    import json

    d = live_run.run_dir
    frame = pd.read_csv(d / "proximity_events.csv")
    assert list(frame.columns) == [
        "ts",
        "side",
        "price_low",
        "price_high",
        "notional_usd",
        "distance_bps",
        "model",
        "event",
    ]
    assert len(frame) == len(live_run.actor.events)
    summary = json.loads((d / "summary.json").read_text())
    assert summary["stop_reason"] == "replay exhausted" and summary["replay"]["done"]
    assert summary["events"] == len(frame) and summary["bars"] == 193  # 2 days of 15-minute bars: 48 h x 4
    assert not d.with_name(d.name + ".partial").exists()


# ------------------------------------------------------------------------------------------ faults


@pytest.fixture(scope="module")
def faulty_run(db, tmp_path_factory):
    """The same replay with model b (OI + funding), a 429 (Retry-After: 1) and a malformed answer on the first
    OI polls and every WebSocket dropped before the 50th live bar."""
    from liq_signals.live.runner import run_live

    tmp = tmp_path_factory.mktemp("faulty")
    settings = _config(tmp, strategy=False, model="b", taker_ratio=False)
    settings.client["backoff_secs"] = 0.2
    seen = {}

    def inject(server):
        server.faults.extend(["http429", "malformed", "drop_ws:50"])
        seen["server"] = server

    result = run_live(settings, tmp / "run", replay_db=db, timeout_s=90, on_server=inject)
    return result, seen["server"]


def test_faults_are_survived_without_changing_the_events(db, faulty_run):
    result, server = faulty_run
    expected, _, _, _ = _engine_events(db, model="b", taker_ratio=False)
    assert expected != _engine_events(db, model="a", taker_ratio=False)[0]  # funding matters to model b
    assert result.actor.funding_seen == 7  # 2 days x 3 funding times (00, 08, 16 UTC) + the one at END
    published = [
        (e.ts_event, e.side, e.price_low, e.price_high, e.notional_usd, e.distance_bps, e.event)
        for e in result.actor.events
    ]
    assert published == expected
    c = result.summary["client"]
    assert c["http_backoffs"] == 1 and c["malformed"] == 1 and c["ws_reconnects"] == 1
    assert server.ws_drops == 1 and not server.faults
    # Retry-After: 1 was honoured; the malformed answer only costs the normal poll interval
    assert server.retry_gaps_s[0] >= 1.0 and server.retry_gaps_s[1] < 0.5


def test_duration_stops_the_node_before_the_replay_ends(db, tmp_path):
    from liq_signals.live.runner import run_live

    settings = _config(tmp_path, strategy=False)
    settings.replay["speed"] = 3600.0  # one replay hour per wall second: the 2 days would take 48 s
    result = run_live(settings, tmp_path / "run", replay_db=db, duration="3s", timeout_s=60)
    s = result.summary
    assert s["stop_reason"] == "duration" and not s["replay"]["done"]
    assert 0 < s["bars"] < 193 and (tmp_path / "run" / "proximity_events.csv").is_file()
