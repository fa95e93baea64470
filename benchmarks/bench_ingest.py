"""Ingest throughput vs a plain DuckDB CSV read of the same files, in one process.

Generates a month of 1-minute klines (Binance Vision header-less layout, 43,200 rows) and a month of
5-minute metrics (8,640 rows) from a seeded random walk, then times
  baseline: duckdb.read_csv(file).fetch_arrow_table() for each file (parse + materialise only)
  ingest:   liq_signals.data.ingest.ingest_paths (parse, validate, dedupe, keyed insert, lag measurement)
and prints rows/s, MB/s and the ratio ingest/baseline throughput (target >= 0.7).

Run: uv run python benchmarks/bench_ingest.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from liq_signals.data.ingest import ingest_paths


def make_files(d: Path) -> list[Path]:
    rng = np.random.default_rng(7)
    n = 30 * 24 * 60
    t0 = int(pd.Timestamp("2024-03-01", tz="UTC").value // 1_000_000)
    open_time = t0 + np.arange(n) * 60_000
    close = 60_000 * np.exp(np.cumsum(rng.normal(0, 6e-4, n)))
    open_ = np.r_[close[0], close[:-1]]
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 5e-4, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 5e-4, n))
    vol = rng.uniform(50, 500, n)
    kl = pd.DataFrame(
        {
            "open_time": open_time,
            "open": open_.round(1),
            "high": high.round(1),
            "low": low.round(1),
            "close": close.round(1),
            "volume": vol.round(3),
            "close_time": open_time + 59_999,
            "quote_volume": (vol * close).round(4),
            "count": rng.integers(1000, 9000, n),
            "taker_buy_volume": (vol * 0.5).round(3),
            "taker_buy_quote_volume": (vol * close * 0.5).round(4),
            "ignore": 0,
        }
    )
    kdir = d / "klines" / "BTCUSDT" / "1m"
    kdir.mkdir(parents=True)
    kfile = kdir / "BTCUSDT-1m-2024-03.csv"
    kl.to_csv(kfile, header=False, index=False)
    m = n // 5
    ts = pd.to_datetime(open_time[::5] + 300_000, unit="ms")
    oi = 80_000 + np.cumsum(rng.normal(0, 50, m))
    px = close[4::5]
    met = pd.DataFrame(
        {
            "create_time": ts.strftime("%Y-%m-%d %H:%M:%S"),
            "symbol": "BTCUSDT",
            "sum_open_interest": oi.round(3),
            "sum_open_interest_value": (oi * px).round(4),
            "count_toptrader_long_short_ratio": 1.1,
            "sum_toptrader_long_short_ratio": 1.3,
            "count_long_short_ratio": 1.05,
            "sum_taker_long_short_vol_ratio": 0.9,
        }
    )
    mdir = d / "metrics" / "BTCUSDT"
    mdir.mkdir(parents=True)
    mfile = mdir / "BTCUSDT-metrics-2024-03.csv"
    met.to_csv(mfile, index=False)
    return [kfile, mfile]


def baseline(files: list[Path]) -> int:
    con = duckdb.connect()
    rows = 0
    for f in files:
        rows += con.read_csv(str(f), header=f.name.find("metrics") >= 0).fetch_arrow_table().num_rows
    con.close()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        files = make_files(d / "src")
        mb = sum(f.stat().st_size for f in files) / 1e6
        best_base = best_ing = float("inf")
        rows = 0
        for i in range(args.repeat):
            t = time.perf_counter()
            rows = baseline(files)
            best_base = min(best_base, time.perf_counter() - t)
            db = d / f"bench{i}.duckdb"
            t = time.perf_counter()
            ingest_paths(files, db)
            best_ing = min(best_ing, time.perf_counter() - t)
        print(f"{rows:,} rows, {mb:.1f} MB (1m klines + 5m metrics, one month), best of {args.repeat}")
        print(f"{'run':<28}{'seconds':>10}{'rows/s':>14}{'MB/s':>10}")
        for name, s in (("duckdb.read_csv (baseline)", best_base), ("liq-signals ingest", best_ing)):
            print(f"{name:<28}{s:>10.3f}{rows / s:>14,.0f}{mb / s:>10.1f}")
        print(f"ratio ingest/baseline throughput: {best_base / best_ing:.2f}  (target >= 0.70)")


if __name__ == "__main__":
    main()
