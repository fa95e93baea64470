"""Ingest of real Binance files into DuckDB: counts, idempotency, repairs and every bad-input case."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import pytest

from liq_signals.data.ingest import ingest_paths
from liq_signals.errors import InputFileError, LiqSignalsError

SAMPLE = Path(__file__).resolve().parents[1] / "liq_signals" / "sample_data"
BTC_DIR = SAMPLE / "btcusdt-2023-11"
KLINES_15M = BTC_DIR / "BTCUSDT-15m-2023-11-12_2023-12-13.csv"
METRICS = BTC_DIR / "BTCUSDT-metrics-2023-11-14_2023-12-12.csv"
FUNDING = BTC_DIR / "BTCUSDT-fundingRate-2023-11-12_2023-12-13.csv"
KLINES_1M = SAMPLE / "klines" / "BTCUSDT-1m-2025-01-27_1538-1752.csv"
FORCEORDER = SAMPLE / "liquidations" / "forceorder-2025-01-26_2025-02-06.csv"
HYPE_LIQ = SAMPLE / "hypeusdt-2025-10-25" / "liquidations-2025-10-25_1749-1835.csv"
TABLES = ("klines", "open_interest", "funding", "agg_trades", "liquidations", "liquidation_coverage")


def counts(db: Path) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    finally:
        con.close()


def data_lines(path: Path, header: bool = True) -> list[str]:
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    return lines[1:] if header else lines


def write(tmp: Path, name: str, text: str) -> Path:
    p = tmp / name
    p.write_text(text)
    return p


@pytest.fixture(scope="module")
def full_db(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("full") / "all.duckdb"
    ingest_paths([SAMPLE], db)
    return db


def test_every_shipped_file_loads_with_its_unique_row_count(full_db):
    c = counts(full_db)
    # unique data rows counted independently from the files (sets of lines)
    kl = (
        len(set(data_lines(KLINES_15M)))
        + len(set(data_lines(KLINES_1M)))
        + len(set(data_lines(SAMPLE / "hypeusdt-2025-10-25" / "HYPEUSDT-5m-2025-10-20_2025-10-25.csv")))
    )
    assert c["klines"] == kl == 2984 + 135 + 1451
    assert c["open_interest"] == 8352 + 1452
    assert c["funding"] == 99 + 164 + 32
    # liquidations: unique lines per file; in the 2025-01 recording 5 events repeat with usd_size / 1e6
    # (same symbol, time, side, prices, quantities), which the documented repair merges
    liq_files = sorted((SAMPLE / "liquidations").glob("*.csv"))
    unique = sum(len(set(data_lines(f, header="with-header" in f.name))) for f in liq_files)
    unique += len(set(data_lines(HYPE_LIQ)))
    assert c["liquidations"] == unique - 5
    # aggTrades stream 2024-08: 1,546 rows carry clock text instead of the trade time and repeat a
    # well-formed row with the same aggregate-trade id
    trades = SAMPLE / "trades"
    ids = set()
    for f in trades.glob("*.csv"):
        for ln in data_lines(f, header=False):
            parts = [x.strip() for x in ln.split(",")]
            ids.add((parts[1], parts[2]))
    assert c["agg_trades"] == len(ids)


def test_second_ingest_changes_nothing(full_db, tmp_path):
    db = tmp_path / "copy.duckdb"
    shutil.copy(full_db, db)
    before = counts(db)
    report = ingest_paths([SAMPLE], db)
    assert counts(db) == before
    assert report.rows_new == 0


def test_metrics_lag_measured_per_source(full_db):
    con = duckdb.connect(str(full_db), read_only=True)
    lags = dict(con.execute("SELECT symbol, lag_ms FROM metrics_file_lag").fetchall())
    # docs/domain.md §2: BTCUSDT 2023 rows are snapshots at their stamp; HYPEUSDT 2025 rows 5 minutes later
    assert lags == {"BTCUSDT": 0, "HYPEUSDT": 300_000}
    # HYPE's first row is stamped 17:45 and must only be usable from 17:50
    row = con.execute(
        "SELECT stamp_time, time FROM open_interest WHERE symbol='HYPEUSDT' ORDER BY stamp_time LIMIT 1"
    ).fetchone()
    assert (row[1] - row[0]).total_seconds() == 300


def test_times_are_utc_and_klines_keep_binance_close_time(full_db):
    con = duckdb.connect(str(full_db), read_only=True)
    first = con.execute(
        "SELECT open_time, close_time FROM klines WHERE symbol='BTCUSDT' AND interval='15m' ORDER BY open_time LIMIT 1"
    ).fetchone()
    import datetime as dt

    # 1699785900000 ms = 2023-11-12 10:45:00 UTC (first row of the file)
    assert first[0] == dt.datetime(2023, 11, 12, 10, 45)
    assert first[1] == dt.datetime(2023, 11, 12, 10, 59, 59, 999000)
    liq = con.execute("SELECT min(time) FROM liquidations WHERE source = ?", [HYPE_LIQ.name]).fetchone()[0]
    assert liq == dt.datetime(2025, 10, 25, 17, 49, 2, 159000)


def test_zero_open_interest_stored_as_missing(full_db):
    con = duckdb.connect(str(full_db), read_only=True)
    n = con.execute(
        "SELECT count(*) FROM open_interest WHERE symbol='BTCUSDT' AND sum_open_interest IS NULL"
    ).fetchone()[0]
    zeros = sum(1 for ln in data_lines(METRICS) if float(ln.split(",")[2]) == 0)
    assert n == zeros == 10


def test_liquidation_sides_symbols_and_usd(full_db):
    con = duckdb.connect(str(full_db), read_only=True)
    # HYPEUSDT in the 2025-10-25 recording: 40 events, all BUY (shorts liquidated)
    assert con.execute("SELECT side, count(*) FROM liquidations WHERE symbol='HYPEUSDT' GROUP BY 1").fetchall() == [
        ("BUY", 40)
    ]
    # forceOrder recordings strip USDT: BTC -> BTCUSDT. The 2025-01-27 burst has 33 unique BTC lines, two
    # of which repeat an event with usd_size / 1e6: 31 distinct (side, avg price, qty, time) events
    lines = [ln.split(",") for ln in set(data_lines(FORCEORDER, header=False))]
    burst = [f for f in lines if f[0] == "BTC" and 1737992280000 <= int(f[10]) < 1738000380000]
    assert len(burst) == 33
    distinct = {(f[1], f[6], f[9], f[10]) for f in burst}
    n = con.execute(
        "SELECT count(*) FROM liquidations WHERE symbol='BTCUSDT' AND time BETWEEN "
        "'2025-01-27 15:38' AND '2025-01-27 17:53' AND source = ?",
        [FORCEORDER.name],
    ).fetchone()[0]
    assert n == len(distinct) == 31
    bad = con.execute("SELECT count(*) FROM liquidations WHERE abs(usd_value - price * quantity) > 1e-5").fetchone()[0]
    assert bad == 0


def test_coverage_intervals_split_at_silences(full_db):
    con = duckdb.connect(str(full_db), read_only=True)
    rows = con.execute(
        "SELECT start_time, end_time, n_events FROM liquidation_coverage WHERE source = ?", [HYPE_LIQ.name]
    ).fetchall()
    # the HYPE recording covers 17:49:02 -> 18:34:57 without a 10-minute silence
    assert len(rows) == 1 and rows[0][2] == 1842
    # independent check on the 2025-01 recording: gaps > 600 s between consecutive unique event times
    times = sorted({int(ln.split(",")[10]) for ln in data_lines(FORCEORDER, header=False)})
    blocks = 1 + sum(1 for a, b in zip(times, times[1:]) if b - a > 600_000)
    n = con.execute("SELECT count(*) FROM liquidation_coverage WHERE source = ?", [FORCEORDER.name]).fetchone()[0]
    assert n == blocks


def test_zip_with_checksum_and_header_less_vision_klines(tmp_path):
    # Vision layout: header-less 12-column klines inside a zip with a .CHECKSUM
    rows = data_lines(KLINES_1M)
    csv = tmp_path / "BTCUSDT-1m-2025-01-27.csv"
    csv.write_text("\n".join(rows) + "\n")
    z = (
        tmp_path
        / "data"
        / "futures"
        / "um"
        / "daily"
        / "markPriceKlines"
        / "BTCUSDT"
        / "1m"
        / "BTCUSDT-1m-2025-01-27.zip"
    )
    z.parent.mkdir(parents=True)
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(csv, csv.name)
    digest = hashlib.sha256(z.read_bytes()).hexdigest()
    (z.parent / (z.name + ".CHECKSUM")).write_text(f"{digest}  {z.name}\n")
    db = tmp_path / "z.duckdb"
    ingest_paths([tmp_path / "data"], db)
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT price_type, interval, count(*) FROM klines GROUP BY ALL").fetchall() == [
        ("mark", "1m", 135)
    ]


def test_microsecond_epochs_are_understood(tmp_path):
    lines = data_lines(KLINES_15M)[:3]
    us = [",".join([ln.split(",")[0] + "000", *ln.split(",")[1:]]) for ln in lines]
    p = write(
        tmp_path,
        "BTCUSDT-15m-us.csv",
        "open_time,open,high,low,close,volume,taker_buy_base,taker_buy_quote\n" + "\n".join(us) + "\n",
    )
    db = tmp_path / "us.duckdb"
    ingest_paths([p], db)
    ms = write(
        tmp_path,
        "BTCUSDT-15m-ms.csv",
        "open_time,open,high,low,close,volume,taker_buy_base,taker_buy_quote\n" + "\n".join(lines) + "\n",
    )
    db2 = tmp_path / "ms.duckdb"
    ingest_paths([ms], db2)
    q = "SELECT open_time, close FROM klines ORDER BY 1"
    assert (
        duckdb.connect(str(db), read_only=True).execute(q).fetchall()
        == duckdb.connect(str(db2), read_only=True).execute(q).fetchall()
    )


def test_overlapping_files_merge(tmp_path):
    lines = data_lines(KLINES_15M)
    hdr = "open_time,open,high,low,close,volume,taker_buy_base,taker_buy_quote\n"
    a = write(tmp_path, "BTCUSDT-15m-a.csv", hdr + "\n".join(lines[:100]) + "\n")
    b = write(tmp_path, "BTCUSDT-15m-b.csv", hdr + "\n".join(lines[50:150]) + "\n")
    db = tmp_path / "m.duckdb"
    ingest_paths([a, b], db)
    assert counts(db)["klines"] == 150


def test_aliases_and_minimal_columns(tmp_path):
    # REST funding history and Vision funding with aliases; kline export with only OHLCV + taker-buy volumes
    p = write(
        tmp_path,
        "ETHUSDT-fundingRate-x.csv",
        "calc_time,funding_interval_hours,last_funding_rate\n1699747200000,8,0.0001\n1699776000000,8,-0.0002\n",
    )
    db = tmp_path / "a.duckdb"
    ingest_paths([p], db)
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT symbol, funding_rate, interval_hours FROM funding ORDER BY time").fetchall() == [
        ("ETHUSDT", 0.0001, 8),
        ("ETHUSDT", -0.0002, 8),
    ]


# ---------------------------------------------------------------- bad input: one clear error, nothing written

HDR = "open_time,open,high,low,close,volume,taker_buy_base,taker_buy_quote\n"
GOOD = "1699785900000,37144.50,37161.20,37108,37124,655.004,287.666,10680866.7656\n"
GOOD2 = "1699786800000,37123.90,37141.50,37122.80,37134.40,439.032,258.679,9605024.0956\n"


@pytest.mark.parametrize(
    "body, row, field, words",
    [
        (
            GOOD + "1699786800000,abc,37141.50,37122.80,37134.40,439.032,258.679,9605024.0956\n",
            2,
            "open",
            "not a valid value",
        ),
        (GOOD + "1699786800000,nan,37141.50,37122.80,37134.40,439.032,258.679,9605024.0956\n", 2, "open", "NaN"),
        (GOOD + "1699786800000,-5,37141.50,-6,37134.40,439.032,258.679,9605024.0956\n", 2, "open", "> 0"),
        (GOOD2 + GOOD, 2, "open_time", "out of time order"),
        (GOOD + "1699786800000,37123.90,37141.50\n", 2, None, "expected 8 columns, found 3"),
        (GOOD2 + GOOD2.replace("439.032", "440"), 2, None, "duplicate key"),
    ],
)
def test_bad_kline_rows(tmp_path, body, row, field, words):
    db = tmp_path / "bad.duckdb"
    good = write(tmp_path, "BTCUSDT-15m-good.csv", HDR + GOOD)
    ingest_paths([good], db)
    before = counts(db)
    bad = write(tmp_path, "BTCUSDT-15m-bad.csv", HDR + body)
    with pytest.raises(InputFileError) as ei:
        ingest_paths([bad], db)
    err = ei.value
    assert "BTCUSDT-15m-bad.csv" in str(err) and words in str(err)
    assert err.row == row
    if field:
        assert err.field == field
    assert counts(db) == before


def test_failure_in_a_later_file_rolls_back_earlier_files(tmp_path):
    db = tmp_path / "r.duckdb"
    good = write(tmp_path, "BTCUSDT-15m-a.csv", HDR + GOOD + GOOD2)
    bad = write(tmp_path, "BTCUSDT-15m-b.csv", HDR + GOOD.replace("37108", "nan"))
    with pytest.raises(InputFileError):
        ingest_paths([good, bad], db)
    assert counts(db)["klines"] == 0


def test_wrong_header_missing_and_extra_columns(tmp_path):
    extra = write(tmp_path, "BTCUSDT-15m-e.csv", HDR.strip() + ",colour\n" + GOOD.strip() + ",red\n")
    with pytest.raises(InputFileError, match="unexpected column") as ei:
        ingest_paths([extra], tmp_path / "e.duckdb")
    assert ei.value.field == "colour"
    missing = write(tmp_path, "BTCUSDT-15m-m.csv", "open_time,open,high,low\n1699785900000,1,2,0.5\n")
    with pytest.raises(InputFileError, match="missing required column") as ei:
        ingest_paths([missing], tmp_path / "m.duckdb")
    assert "close" in ei.value.field


def test_unknown_kind_and_unknown_layout(tmp_path):
    p = write(tmp_path, "something.csv", "1,2,3,4,5\n")
    with pytest.raises(InputFileError, match="cannot tell the kind"):
        ingest_paths([p], tmp_path / "k.duckdb")
    with pytest.raises(InputFileError, match="unknown kind"):
        ingest_paths([p], tmp_path / "k.duckdb", kind="orderbook")
    p2 = write(tmp_path, "BTCUSDT-15m-short.csv", "1699785900000,1,2,0.5,1.5\n")
    with pytest.raises(InputFileError, match="header-less klines file has 5 columns"):
        ingest_paths([p2], tmp_path / "k.duckdb")


def test_truncated_zip_and_wrong_checksum(tmp_path):
    csv = write(tmp_path, "BTCUSDT-15m-2023-11-12.csv", HDR + GOOD + GOOD2)
    z = tmp_path / "BTCUSDT-15m-2023-11-12.zip"
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.write(csv, csv.name)
    csv.unlink()
    data = z.read_bytes()
    trunc = tmp_path / "t" / z.name
    trunc.parent.mkdir()
    trunc.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFileError, match="not a readable zip"):
        ingest_paths([trunc], tmp_path / "z.duckdb")
    (z.parent / (z.name + ".CHECKSUM")).write_text("0" * 64 + f"  {z.name}\n")
    with pytest.raises(InputFileError, match="does not match"):
        ingest_paths([z], tmp_path / "z.duckdb")


def test_timestamp_in_wrong_unit_is_rejected(tmp_path):
    p = write(tmp_path, "BTCUSDT-15m-s.csv", HDR + GOOD.replace("1699785900000", "1699785900000000000000"))
    with pytest.raises(InputFileError):
        ingest_paths([p], tmp_path / "s.duckdb")


def test_cli_error_is_one_line_exit_2(tmp_path):
    bad = write(tmp_path, "BTCUSDT-15m-bad.csv", HDR + GOOD.replace("37108", "x"))
    r = subprocess.run(
        [sys.executable, "-m", "liq_signals.cli", "ingest", str(bad), "--db", str(tmp_path / "c.duckdb"), "-q"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0
    assert "row 1" in r.stderr and "field 'low'" in r.stderr and "Traceback" not in r.stderr


def test_missing_path_is_a_user_error(tmp_path):
    with pytest.raises(LiqSignalsError, match="no such file"):
        ingest_paths([tmp_path / "nope"], tmp_path / "n.duckdb")
