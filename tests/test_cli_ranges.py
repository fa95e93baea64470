"""Requests outside the stored data are refused with the range the database covers; `levels` with too little
history says how much it needs; every command finds the database at the default path without --db.

The database is built by the installed `liq-signals ingest` WITHOUT --db in a fresh directory (so it lands
at data/liq_signals.duckdb) from the shipped BTCUSDT 15m sample (2023-11-12 → 2023-12-13) plus the 1m
excerpt of 2025-01-27: two stretches of bars with a gap of a year between them. Expected ranges are read
from the CSV files here, not from the code under test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from liq_signals.commands.bar_range import BarCoverage, merge_segments, split_segments
from liq_signals.errors import LiqSignalsError

CLI = Path(sys.executable).parent / "liq-signals"
SAMPLE = Path(__file__).resolve().parents[1] / "liq_signals" / "sample_data"
K15 = SAMPLE / "btcusdt-2023-11" / "BTCUSDT-15m-2023-11-12_2023-12-13.csv"
K1 = SAMPLE / "klines" / "BTCUSDT-1m-2025-01-27_1538-1752.csv"
MIN = 60 * 10**9
HOUR = 60 * MIN


def run_cli(args, cwd, timeout=300):
    return subprocess.run([str(CLI), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def _stretch(csv: Path, minutes: int) -> tuple[str, str]:
    """First and last bar CLOSE time (open + interval) of a kline CSV, as 'YYYY-MM-DD HH:MM'."""
    t = pd.to_datetime(pd.read_csv(csv)["open_time"], unit="ms") + pd.Timedelta(minutes=minutes)
    return t.min().strftime("%Y-%m-%d %H:%M"), t.max().strftime("%Y-%m-%d %H:%M")


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    cwd = tmp_path_factory.mktemp("ranges")
    r = run_cli(["ingest", str(SAMPLE / "btcusdt-2023-11"), str(K1), "--quiet"], cwd)
    assert r.returncode == 0, r.stderr
    assert (cwd / "data" / "liq_signals.duckdb").exists()
    return cwd


def _refused(r, *texts):
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    for t in texts:
        assert t in lines[0], (t, lines[0])
    return lines[0]


def test_levels_without_db_uses_the_default_path(work):
    r = run_cli(["levels", "--symbol", "BTCUSDT", "--at", "2023-12-11T02:00", "--json"], work)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    k = pd.read_csv(K15)
    bar = k[k.open_time == int(pd.Timestamp("2023-12-11 01:45", tz="UTC").value // 10**6)]  # closes at 02:00
    assert out["price"] == pytest.approx(float(bar.close.iloc[0]))


def test_levels_after_the_data_names_the_covered_range(work):
    first15, last15 = _stretch(K15, 15)
    first1, last1 = _stretch(K1, 1)
    line = _refused(run_cli(["levels", "--symbol", "BTCUSDT", "--at", "2023-12-14"], work), "--at", first15, last15)
    assert first1 in line and last1[-5:] in line


def test_levels_in_the_gap_between_stretches_is_refused(work):
    _refused(run_cli(["levels", "--symbol", "BTCUSDT", "--at", "2024-06-01"], work), "--at 2024-06-01", "outside")


def test_levels_before_enough_history_says_how_much_is_needed(work):
    first15, _ = _stretch(K15, 15)
    at = pd.Timestamp(first15) + pd.Timedelta(hours=1)
    line = _refused(run_cli(["levels", "--symbol", "BTCUSDT", "--at", str(at)], work), "24 h")
    earliest = (pd.Timestamp(first15) + pd.Timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M")
    assert f"earliest --at with enough history is {earliest}" in line


def test_levels_with_a_warmup_shorter_than_the_minimum_history(work):
    _refused(
        run_cli(["levels", "--symbol", "BTCUSDT", "--at", "2023-12-11T02:00", "--warmup", "5h"], work),
        "--warmup 5h",
        "24",
    )


def test_heatmap_end_after_the_data_is_refused_and_writes_nothing(work):
    _, last15 = _stretch(K15, 15)
    out = work / "late.parquet"
    _refused(
        run_cli(
            [
                "heatmap",
                "--symbol",
                "BTCUSDT",
                "--start",
                "2023-12-12",
                "--end",
                "2023-12-20",
                "--every",
                "1h",
                "--out",
                str(out),
            ],
            work,
        ),
        "--end 2023-12-20",
        last15,
    )
    assert not out.exists()


def test_heatmap_across_the_gap_is_refused(work):
    _refused(
        run_cli(
            [
                "heatmap",
                "--symbol",
                "BTCUSDT",
                "--start",
                "2023-12-12",
                "--end",
                "2025-01-27T16:00",
                "--every",
                "1h",
                "--out",
                "x.parquet",
            ],
            work,
        ),
        "gap",
    )


def test_heatmap_up_to_the_last_bar_runs(work):
    _, last15 = _stretch(K15, 15)
    out = work / "tail.csv"
    r = run_cli(
        [
            "heatmap",
            "--symbol",
            "BTCUSDT",
            "--start",
            "2023-12-13 08:00",
            "--end",
            last15,
            "--every",
            "1h",
            "--warmup",
            "3d",
            "--out",
            str(out),
            "--quiet",
        ],
        work,
    )
    assert r.returncode == 0, r.stderr
    times = pd.to_datetime(pd.read_csv(out)["time"]).dt.tz_localize(None)
    assert times.max() <= pd.Timestamp(last15)


def test_compare_models_for_a_month_without_bars_is_refused(work):
    out = work / "june.html"
    _refused(
        run_cli(
            [
                "compare-models",
                "--symbol",
                "BTCUSDT",
                "--start",
                "2024-06-01",
                "--end",
                "2024-06-30",
                "--out",
                str(out),
            ],
            work,
        ),
        "--start 2024-06-01",
    )
    assert not out.exists()


def test_validate_outside_the_data_is_refused(work):
    _refused(
        run_cli(
            ["validate", "--symbol", "BTCUSDT", "--start", "2023-12-10", "--end", "2023-12-20", "--proxy", "oi-drop"],
            work,
        ),
        "--end 2023-12-20",
    )


# ---------------------------------------------------------------------------------------- bar_range unit
def test_split_segments_breaks_only_at_gaps_longer_than_the_threshold():
    # 15m bars: threshold max(4 x 15m, 1h) = 1h. A 1h step stays in the stretch, 1h + 1ns splits it.
    t = np.array([0, 15 * MIN, 75 * MIN, 75 * MIN + HOUR + 1, 90 * MIN + HOUR + 1], dtype=np.int64)
    assert split_segments(t, 15 * MIN) == [(0, 75 * MIN), (75 * MIN + HOUR + 1, 90 * MIN + HOUR + 1)]
    # daily bars: threshold 4 days; a 3-day step does not split
    day = 24 * HOUR
    assert split_segments(np.array([0, day, 4 * day]), day) == [(0, 4 * day)]
    assert split_segments(np.array([], dtype=np.int64), MIN) == []


def test_merge_segments_unions_overlaps_across_intervals():
    assert merge_segments([(10, 20), (0, 5), (15, 30), (40, 50)]) == ((0, 5), (10, 30), (40, 50))


def test_coverage_bounds_are_inclusive_and_ranges_must_share_a_stretch():
    cov = BarCoverage("BTCUSDT", ((0, 10 * HOUR), (100 * HOUR, 110 * HOUR)))
    cov.require(0, "--at")
    cov.require(10 * HOUR, "--at")
    with pytest.raises(LiqSignalsError, match="--at"):
        cov.require(10 * HOUR + 1, "--at")
    cov.require_range(100 * HOUR, 110 * HOUR)
    with pytest.raises(LiqSignalsError, match="gap"):
        cov.require_range(HOUR, 105 * HOUR)
