"""``liq-signals record`` against the loopback replay server: every replayed liquidation, OI point and funding
crossing is recorded once; a restart over the same period adds nothing; SIGTERM flushes the last batch."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

START = "2023-11-20T00:00:00Z"
END = "2023-11-20T12:00:00Z"


@pytest.fixture(scope="module")
def source_db(tmp_path_factory):
    """The sample month plus 30 synthetic liquidations (alternating sides) inside the replay window."""
    import duckdb

    from liq_signals.backtest.demo import SAMPLE_DIR
    from liq_signals.data.ingest import ingest_paths

    path = tmp_path_factory.mktemp("rec") / "src.duckdb"
    ingest_paths([SAMPLE_DIR], path)
    con = duckdb.connect(str(path))
    rows = [
        (
            "BTCUSDT",
            f"2023-11-20 00:{i + 10:02d}:07.250",
            "long" if i % 2 else "short",
            37000.0 + 10 * i,
            round(0.1 * (i + 1), 3),
            (37000.0 + 10 * i) * round(0.1 * (i + 1), 3),
            "synthetic",
        )
        for i in range(30)
    ]
    con.executemany("INSERT INTO liquidations VALUES (?, ?::TIMESTAMP, ?, ?, ?, ?, ?)", rows)
    con.close()
    return path


def _server(source_db):
    from liq_signals.live.replay_data import load_replay_data
    from liq_signals.live.replay_server import ReplayServer, ReplayServerThread
    from liq_signals.times import to_ns

    return ReplayServerThread(
        ReplayServer(
            load_replay_data(source_db, "BTCUSDT"),
            start_ms=to_ns(START) // 10**6,
            end_ms=to_ns(END) // 10**6,
            wait_streams=("btcusdt@markPrice", "btcusdt@forceOrder"),
        )
    )


def _cfg(th):
    from liq_signals.live.config import LiqLiveDataClientConfig

    return LiqLiveDataClientConfig(base_url_http=th.base_http, base_url_ws=th.base_ws, oi_poll_secs=0.002, gap_secs=600)


def _record_replay(source_db, db):
    """Record one full replay of the window in-process (bounded); return the recorder's table counts."""
    from liq_signals.live.recorder import Recorder

    th = _server(source_db)
    th.start()
    try:
        rec = Recorder(db, ["BTCUSDT"], _cfg(th), flush_secs=0.2)

        async def main():
            stop = asyncio.Event()
            task = asyncio.ensure_future(rec.run(stop))
            t0 = time.monotonic()
            while not th.server.done and time.monotonic() - t0 < 60:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # the last messages in flight
            stop.set()
            await task

        asyncio.run(main())
        assert th.server.done
        counts = rec.counts()
        rec.close()
        return counts
    finally:
        th.stop()


def _expected(source_db):
    from liq_signals.live.replay_data import load_replay_data
    from liq_signals.times import to_ns

    d = load_replay_data(source_db, "BTCUSDT")
    s, e = to_ns(START) // 10**6, to_ns(END) // 10**6
    oi_t = d.open_interest["time_ms"].to_numpy()
    # every OI row in the window, plus the last one before it (the answer before the clock moves)
    n_oi = int(((oi_t >= s) & (oi_t <= e)).sum()) + 1
    closes = d.bars["close_ms"].to_numpy()
    first_mark = closes[closes < s][-1]
    last_mark = closes[closes <= e][-1]
    ft = d.funding["time_ms"].to_numpy()
    n_funding = int(((ft > first_mark) & (ft <= last_mark)).sum())
    # a mark update at each kline (sent at close time + 1 ms), funding time and OI instant in the window (one
    # row per instant), plus the current one at the start (stamped at the last close time before it)
    kl = closes + 1
    instants = (
        set(ft[(ft >= s) & (ft <= e)].tolist())
        | set(oi_t[(oi_t >= s) & (oi_t <= e)].tolist())
        | set(kl[(kl >= s) & (kl <= e)].tolist())
    )
    n_marks = len(instants) + 1
    return {"live_open_interest": n_oi, "funding": n_funding, "live_mark_price": n_marks, "liquidations": 30}


def test_record_counts_equal_the_replay_and_restart_adds_nothing(source_db, tmp_path):
    import duckdb

    db = tmp_path / "rec.duckdb"
    first = _record_replay(source_db, db)
    exp = _expected(source_db)
    assert exp["funding"] == 2  # 00:00 and 08:00 UTC
    assert exp["live_mark_price"] >= 12 * 4 + 1  # at least every kline instant of the 12 h, and the start's
    assert exp["live_open_interest"] <= 12 * 12 + 1 + 1  # at most 12 h of 5-min rows, both ends (the file has gaps)
    assert first == exp
    con = duckdb.connect(str(db), read_only=True)
    got = con.execute("SELECT side, price, quantity, usd_value FROM liquidations ORDER BY time").fetchall()
    con.close()
    src = duckdb.connect(str(source_db), read_only=True)
    want = src.execute("SELECT side, price, quantity, usd_value FROM liquidations ORDER BY time").fetchall()
    src.close()
    assert [g[:3] for g in got] == [w[:3] for w in want]
    np.testing.assert_allclose([g[3] for g in got], [w[3] for w in want], rtol=1e-12)
    assert _record_replay(source_db, db) == first  # restart over the same period: no duplicates


def test_sigterm_flushes_the_last_batch(source_db, tmp_path):
    import duckdb

    db = tmp_path / "term.duckdb"
    th = _server(source_db)
    th.start()
    try:
        exe = os.path.join(os.path.dirname(sys.executable), "liq-signals")
        proc = subprocess.Popen(
            [
                exe,
                "record",
                "--symbols",
                "BTCUSDT",
                "--db",
                str(db),
                "--flush-every",
                "1h",
                "--oi-poll",
                "20ms",
                "--base-url-http",
                th.base_http,
                "--base-url-ws",
                th.base_ws,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            t0 = time.monotonic()
            while th.server.sent["kline"] < 5 and time.monotonic() - t0 < 30:
                time.sleep(0.05)
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    finally:
        th.stop()
    assert proc.returncode == 0, err
    printed = dict(kv.split("=") for kv in out.strip().split(": ", 1)[1].split(", "))
    con = duckdb.connect(str(db), read_only=True)
    n_oi = con.execute("SELECT count(*) FROM live_open_interest").fetchone()[0]
    n_mark = con.execute("SELECT count(*) FROM live_mark_price").fetchone()[0]
    con.close()
    # nothing was flushed before the signal (--flush-every 1h): every row is from the SIGTERM flush
    assert n_oi >= 5 and n_mark >= 5 and printed["batches"] == "1"
    assert int(printed["live_open_interest"]) == n_oi and int(printed["live_mark_price"]) == n_mark
