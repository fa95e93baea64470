"""data/reader.py: the one module reading the store — values bound, results in the documented units."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from liq_signals.data import reader
from liq_signals.data.ingest import ingest_paths
from liq_signals.errors import LiqSignalsError

KLINES = (
    Path(__file__).resolve().parents[1]
    / "liq_signals"
    / "sample_data"
    / "btcusdt-2023-11"
    / "BTCUSDT-15m-2023-11-12_2023-12-13.csv"
)


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("reader") / "r.duckdb"
    ingest_paths([KLINES], p)
    return p


def test_covered_range_is_first_and_last_bar_open(db):
    rows = KLINES.read_text().splitlines()[1:]
    first, last = int(rows[0].split(",")[0]), int(rows[-1].split(",")[0])
    assert reader.covered_range(db, "BTCUSDT") == (pd.Timestamp(first, unit="ms"), pd.Timestamp(last, unit="ms"))
    assert reader.covered_range(db, "ETHUSDT") is None


def test_catalog_bars_are_stamped_at_close_and_bounded_half_open(db):
    step = 15 * 60 * 10**9
    first_open = int(KLINES.read_text().splitlines()[1].split(",")[0]) * 10**6
    bars = reader.bars_for_catalog(db, "BTCUSDT", "15m", first_open + step, first_open + 3 * step)
    assert list(bars["ts"]) == [first_open + step, first_open + 2 * step]  # [start, end): the 3rd close excluded


@pytest.mark.parametrize("symbol", ["x'; DROP TABLE klines; --", "币安人生USDT", "O'NEIL"])
def test_strange_symbols_are_values_not_sql(db, symbol):
    with pytest.raises(LiqSignalsError, match="no klines for symbol"):
        reader.market_inputs(db, symbol)
    assert reader.covered_range(db, "BTCUSDT") is not None  # nothing was dropped
    assert reader.open_interest_series(db, symbol, "2023-01-01", "2024-01-01").empty


def test_market_inputs_match_the_file(db):
    rows = [r.split(",") for r in KLINES.read_text().splitlines()[1:]]
    inputs = reader.market_inputs(db, "BTCUSDT", None, None)
    assert len(inputs.bars) == len(rows)
    assert inputs.bars["ts_ns"].iloc[0] == (int(rows[0][0]) + 15 * 60_000) * 10**6
    assert inputs.bars["close"].iloc[-1] == float(rows[-1][4])
