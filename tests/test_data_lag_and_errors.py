"""No lookahead through the metrics lag calibration, and database trouble reported as one line.

- the stamp->observation lag is measured per ingested file and never revised by later data;
- a held lock, a file that is not a DuckDB database and a full disk give one line naming the file and the
  real cause from ``ingest``, ``info`` and ``catalog``;
- SIGTERM during ingest: exit 130, the database unchanged, no temporary files left.
"""

from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from liq_signals.data import reader
from liq_signals.data.ingest import ingest_paths

LIQ = Path(sys.executable).parent / "liq-signals"
SAMPLE = Path(__file__).resolve().parents[1] / "liq_signals" / "sample_data"
BTC = SAMPLE / "btcusdt-2023-11"
KLINES = BTC / "BTCUSDT-15m-2023-11-12_2023-12-13.csv"
METRICS = BTC / "BTCUSDT-metrics-2023-11-14_2023-12-12.csv"
MHDR = (
    "create_time,symbol,sum_open_interest,sum_open_interest_value,count_toptrader_long_short_ratio,"
    "sum_toptrader_long_short_ratio,count_long_short_ratio,sum_taker_long_short_vol_ratio\n"
)
STEP_MS = 300_000
T0_MS = int(pd.Timestamp("2024-01-01", tz="UTC").value // 1_000_000)


def frames_equal(a, b) -> None:
    for kind in ("bars", "mark_price", "open_interest", "funding", "trades"):
        pd.testing.assert_frame_equal(a.frame(kind).reset_index(drop=True), b.frame(kind).reset_index(drop=True))


# ------------------------------------------------------------------------------------------ lookahead


def _synthetic(tmp: Path) -> tuple[Path, Path, Path]:
    """3 days of 5m klines; metrics day 1 observed AT its stamp (implied price = close of the bar ending at the
    stamp), days 2-3 observed 5 minutes later (= close of the bar ending at stamp + 5 min)."""
    n = 3 * 288 + 2
    close = 100 * np.exp(np.cumsum(np.random.default_rng(3).normal(0, 5e-3, n)))
    kl = ["open_time,open,high,low,close,volume\n"]
    for j in range(n):
        c = round(close[j], 4)
        kl.append(f"{T0_MS + j * STEP_MS},{c},{c * 1.01:.4f},{c * 0.99:.4f},{c},1\n")
    k = tmp / "TESTUSDT-5m-2024-01-01.csv"
    k.write_text("".join(kl))

    def metrics(name: str, idx: range, shift: int) -> Path:
        rows = [MHDR]
        for i in idx:  # stamp i: the bar ending at stamp i is bar i-1; ending 5 min later is bar i
            stamp = pd.Timestamp(T0_MS + i * STEP_MS, unit="ms")
            price = round(close[i - 1 + shift], 4)
            rows.append(f"{stamp:%Y-%m-%d %H:%M:%S},TESTUSDT,10.0,{10.0 * price},1,1,1,1\n")
        p = tmp / name
        p.write_text("".join(rows))
        return p

    a = metrics("TESTUSDT-metrics-day1.csv", range(1, 289), 0)
    b = metrics("TESTUSDT-metrics-day2-3.csv", range(289, 3 * 288 + 1), 1)
    return k, a, b


def test_later_metrics_files_cannot_move_earlier_observations(tmp_path):
    k, a, b = _synthetic(tmp_path)
    db = tmp_path / "lag.duckdb"
    ingest_paths([k, a], db)
    t = pd.Timestamp(T0_MS + 288 * STEP_MS, unit="ms", tz="UTC")  # end of day 1
    before = reader.market_inputs(db, "TESTUSDT", None, t)
    assert len(before.open_interest) == 288
    # observed at the stamp: ts = stamp (lag 0 measured from day 1's own rows)
    assert before.open_interest["ts_ns"].iloc[0] == (T0_MS + STEP_MS) * 1_000_000
    rep = ingest_paths([b], db)  # twice as many rows, observed 5 minutes late
    assert rep.metrics_lag == {"TESTUSDT": (300_000, "measured")}
    frames_equal(before, reader.market_inputs(db, "TESTUSDT", None, t))
    lags = reader.metrics_lags(db)["TESTUSDT"]
    assert sorted((lag, n) for lag, _, n in lags) == [(0, 1), (300_000, 1)]


def test_changing_open_interest_after_t_leaves_inputs_up_to_t_identical(tmp_path):
    t = pd.Timestamp("2023-12-11 02:00", tz="UTC")
    lines = METRICS.read_text().splitlines(keepends=True)
    changed = [lines[0]]
    for ln in lines[1:]:
        v = ln.split(",")
        if pd.Timestamp(v[0], tz="UTC") > t:
            v[2] = repr(float(v[2]) * 3)
        changed.append(",".join(v))
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / METRICS.name).write_text("".join(changed))
    ingest_paths([KLINES, METRICS], tmp_path / "a.duckdb")
    ingest_paths([KLINES, tmp_path / "b" / METRICS.name], tmp_path / "b.duckdb")
    a = reader.market_inputs(tmp_path / "a.duckdb", "BTCUSDT", None, t)
    b = reader.market_inputs(tmp_path / "b.duckdb", "BTCUSDT", None, t)
    frames_equal(a, b)
    after_a = reader.market_inputs(tmp_path / "a.duckdb", "BTCUSDT", t, None).open_interest
    after_b = reader.market_inputs(tmp_path / "b.duckdb", "BTCUSDT", t, None).open_interest
    assert not after_a["open_interest"].equals(after_b["open_interest"])  # the perturbation is real


def test_shipped_sample_keeps_its_lags(tmp_path):
    db = tmp_path / "s.duckdb"
    ingest_paths([BTC, SAMPLE / "hypeusdt-2025-10-25"], db)
    got = {s: [lag for lag, _, _ in v] for s, v in reader.metrics_lags(db).items()}
    assert got == {"BTCUSDT": [0], "HYPEUSDT": [300_000]}


# ------------------------------------------------------------------------------------------ database errors


def cli(*args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([str(LIQ), *args], capture_output=True, text=True, timeout=180, env=env)


def commands(db: Path, tmp: Path) -> dict[str, list[str]]:
    return {
        "ingest": ["ingest", str(KLINES), "--db", str(db), "-q"],
        "info": ["info", "--db", str(db)],
        "catalog": ["catalog", "--db", str(db), "--catalog", str(tmp / "cat"), "--quiet"],
    }


def assert_one_line(r: subprocess.CompletedProcess, *words: str) -> None:
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
    for w in words:
        assert w in r.stderr, r.stderr


def test_corrupt_database_file_is_one_line_naming_it(tmp_path):
    db = tmp_path / "bad.duckdb"
    db.write_bytes(os.urandom(8192))
    for _name, args in commands(db, tmp_path).items():
        assert_one_line(cli(*args), str(db), "not a DuckDB database file")


def test_locked_database_is_one_line_naming_the_holder(tmp_path):
    db = tmp_path / "locked.duckdb"
    ingest_paths([KLINES], db)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time\nc = duckdb.connect(sys.argv[1]); print('ready', flush=True); time.sleep(120)",
            str(db),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        for _name, args in commands(db, tmp_path).items():
            assert_one_line(cli(*args), str(db), "locked by another process", f"PID {holder.pid}")
    finally:
        holder.kill()
        holder.wait()


FSIZE_RUNNER = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), int(sys.argv[1])))
sys.argv = ["liq-signals", *sys.argv[2:]]
from liq_signals.cli import main
main()
"""


def test_full_disk_at_commit_names_the_cause_and_writes_nothing(tmp_path):
    db = tmp_path / "full.duckdb"
    ingest_paths([BTC / "BTCUSDT-fundingRate-2023-11-12_2023-12-13.csv"], db)  # small: fits
    r = subprocess.run(
        [sys.executable, "-c", FSIZE_RUNNER, str(32 * 1024), "ingest", str(BTC), "--db", str(db), "-q"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert_one_line(r, str(db), "disk full or file size limit reached", "File too large")
    assert "rollback" not in r.stderr.lower()
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM klines").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM funding").fetchone()[0] == 99
    finally:
        con.close()


def test_sigterm_during_ingest_exits_130_and_changes_nothing(tmp_path):
    db = tmp_path / "t.duckdb"
    ingest_paths([KLINES], db)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = dict(os.environ, TMPDIR=str(tmpdir))
    p = subprocess.Popen(
        [str(LIQ), "ingest", str(SAMPLE), "--db", str(db), "-q"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    t0 = time.monotonic()
    while not glob.glob(str(tmpdir / "liq_ingest_*")) and time.monotonic() - t0 < 60 and p.poll() is None:
        time.sleep(0.01)
    time.sleep(0.3)  # inside the ingest (the sample takes seconds)
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert err.strip() == f"interrupted: nothing written to {db}"
    assert os.listdir(tmpdir) == []
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM klines").fetchone()[0] == 2984
        assert con.execute("SELECT count(*) FROM open_interest").fetchone()[0] == 0
    finally:
        con.close()
