"""Hostile and broken input at ingest (issue 12): SQL text in stored symbols, conflicting re-ingests,
implausible values, rows of another symbol, zip bombs and endless lines."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import pytest

from liq_signals.data.ingest import ingest_paths
from liq_signals.data.limits import IngestLimits
from liq_signals.errors import InputFileError, LiqSignalsError

LIQ = Path(sys.executable).parent / "liq-signals"
SAMPLE = Path(__file__).resolve().parents[1] / "liq_signals" / "sample_data" / "btcusdt-2023-11"
KLINES = SAMPLE / "BTCUSDT-15m-2023-11-12_2023-12-13.csv"
METRICS = SAMPLE / "BTCUSDT-metrics-2023-11-14_2023-12-12.csv"
MHDR = (
    "create_time,symbol,sum_open_interest,sum_open_interest_value,count_toptrader_long_short_ratio,"
    "sum_toptrader_long_short_ratio,count_long_short_ratio,sum_taker_long_short_vol_ratio\n"
)
KHDR = "open_time,open,high,low,close,volume\n"


def head(path: Path, n: int) -> list[str]:
    with open(path) as f:
        return [next(f) for _ in range(n + 1)]  # header + n rows


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(LIQ), *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def scalar(db: Path, sql: str, params=()):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


# ------------------------------------------------------------------------------------------ SQL in symbols

CRAFTED = "x') WHERE d > 0; COPY (SELECT 42) TO 'pwn.csv'; --"
QUOTED = "O'NEIL"


def test_info_prints_crafted_symbols_as_plain_text_and_runs_nothing(tmp_path):
    rows = []
    for sym in (CRAFTED, QUOTED):
        for i in range(3):  # a 10-minute hole: the open-interest gap count runs a query per symbol
            rows.append(f"2024-01-01 00:{i * 10:02d}:00,{sym},100.0,4000000.0,1,1,1,1\n")
    f = tmp_path / "metrics-crafted.csv"
    f.write_text(MHDR + "".join(rows))
    db = tmp_path / "x.duckdb"
    r = cli("ingest", str(f), "--db", str(db), "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = cli("info", "--db", str(db), "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    symbols = {rec["symbol"] for rec in json.loads(r.stdout)}
    # stored as the symbol normaliser makes it: upper case + the USDT quote
    assert symbols == {CRAFTED.upper() + "USDT", QUOTED + "USDT"}
    oi = {rec["symbol"]: rec for rec in json.loads(r.stdout) if rec["kind"] == "open_interest"}
    assert all(rec["rows"] == 3 and rec["gaps"] == 2 and rec["missing_steps"] == 2 for rec in oi.values())
    assert (
        not list(tmp_path.glob("*.csv"))[1:]
        and not (tmp_path / "PWN.CSV").exists()
        and not (tmp_path / "pwn.csv").exists()
    )


def test_non_ascii_symbol_is_bound_not_rejected(tmp_path):
    from liq_signals.data import reader

    sym = "币安人生USDT"
    f = tmp_path / "metrics-cn.csv"
    f.write_text(MHDR + f"2024-01-01 00:00:00,{sym},100.0,4000000.0,1,1,1,1\n", encoding="utf-8")
    db = tmp_path / "cn.duckdb"
    ingest_paths([f], db)
    s = reader.symbol_summary(db)
    assert list(s[s.kind == "open_interest"].symbol) == [sym]
    oi = reader.open_interest_series(db, sym, "2023-12-31", "2024-01-02")
    assert list(oi["oi"]) == [100.0]


# ------------------------------------------------------------------------------------------ conflicts


def _perturbed_klines(tmp: Path, factor: float, n: int = 50) -> Path:
    lines = head(KLINES, n)
    out = [lines[0]]
    for ln in lines[1:]:
        v = ln.rstrip("\n").split(",")
        v[1:5] = [repr(round(float(x) * factor, 2)) for x in v[1:5]]
        out.append(",".join(v) + "\n")
    p = tmp / "v2" / KLINES.name
    p.parent.mkdir(exist_ok=True)
    p.write_text("".join(out))
    return p


def _first(tmp: Path, n: int = 50) -> Path:
    p = tmp / "v1" / KLINES.name
    p.parent.mkdir(exist_ok=True)
    p.write_text("".join(head(KLINES, n)))
    return p


def test_conflicting_reingest_is_an_error_naming_file_row_key_and_writes_nothing(tmp_path):
    db = tmp_path / "c.duckdb"
    ingest_paths([_first(tmp_path)], db)
    before = scalar(db, "SELECT open_time, open, high, low, close FROM klines ORDER BY 1")
    bad = _perturbed_klines(tmp_path, 1.10)
    extra = tmp_path / "v2" / "BTCUSDT-metrics-2023-11-14_x.csv"
    extra.write_text("".join(head(METRICS, 20)))  # a good file in the same run: rolled back too
    with pytest.raises(InputFileError) as e:
        ingest_paths([bad.parent], db)
    msg = str(e.value)
    first_open = head(KLINES, 1)[1].split(",")[0]
    assert e.value.file == str(bad) and e.value.row == 1 and e.value.field == "open"
    assert "symbol=BTCUSDT" in msg and "open_time=2023-11-12 10:45:00" in msg and "50 conflicting" in msg
    assert int(first_open) == 1699785900000  # = 2023-11-12 10:45:00 UTC
    assert scalar(db, "SELECT open_time, open, high, low, close FROM klines ORDER BY 1") == before
    assert scalar(db, "SELECT count(*) FROM open_interest") == [(0,)]
    r = cli("ingest", str(bad), "--db", str(db), "-q")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--on-conflict" in r.stderr


def test_conflict_policies_replace_and_keep_are_counted(tmp_path):
    db = tmp_path / "p.duckdb"
    first = _first(tmp_path)
    ingest_paths([first], db)
    orig = scalar(db, "SELECT close FROM klines ORDER BY open_time")
    bad = _perturbed_klines(tmp_path, 1.10)
    rep = ingest_paths([bad], db, on_conflict="keep")
    assert (rep.files[0].conflicts, rep.files[0].rows_new) == (50, 0)
    assert scalar(db, "SELECT close FROM klines ORDER BY open_time") == orig
    rep = ingest_paths([bad], db, on_conflict="replace")
    assert (rep.files[0].conflicts, rep.files[0].rows_new) == (50, 0)
    got = [r[0] for r in scalar(db, "SELECT close FROM klines ORDER BY open_time")]
    assert got == [round(c * 1.10, 2) for (c,) in orig]
    # exact duplicates stay idempotent: no conflict, nothing new
    rep = ingest_paths([bad], db)
    assert (rep.files[0].conflicts, rep.files[0].rows_new) == (0, 0)
    with pytest.raises(LiqSignalsError, match="on-conflict"):
        ingest_paths([bad], db, on_conflict="merge")


def test_open_interest_tripled_is_a_conflict(tmp_path):
    db = tmp_path / "oi.duckdb"
    lines = head(METRICS, 30)
    a = tmp_path / "a" / METRICS.name
    a.parent.mkdir()
    a.write_text("".join(lines))
    ingest_paths([a], db)
    b = tmp_path / "b" / METRICS.name
    b.parent.mkdir()
    out = [lines[0]]
    for ln in lines[1:]:
        v = ln.split(",")
        v[2] = repr(float(v[2]) * 3)
        out.append(",".join(v))
    b.write_text("".join(out))
    with pytest.raises(InputFileError) as e:
        ingest_paths([b], db)
    assert e.value.row == 1 and e.value.field == "sum_open_interest"


# ------------------------------------------------------------------------------------------ plausibility


def kline_file(tmp: Path, name: str, rows: list[str]) -> Path:
    p = tmp / name
    p.write_text(KHDR + "".join(rows))
    return p


def test_absurd_price_is_refused_and_the_bound_can_be_raised(tmp_path):
    f = kline_file(
        tmp_path, "BTCUSDT-15m-x.csv", ["1699785900000,100,101,99,100,5\n", "1699786800000,2e12,2e12,2e12,2e12,5\n"]
    )
    with pytest.raises(InputFileError) as e:
        ingest_paths([f], tmp_path / "a.duckdb")
    assert (e.value.row, e.value.field) == (2, "open") and "--max-value" in str(e.value)
    rep = ingest_paths([f], tmp_path / "b.duckdb", limits=IngestLimits(max_value=1e13))
    assert rep.files[0].rows_new == 2


def test_rows_dated_in_the_future_are_refused(tmp_path):
    import pandas as pd

    soon = pd.Timestamp.now(tz="UTC").floor("15min") + pd.Timedelta("2D")
    ms = int(soon.value // 1_000_000)
    f = kline_file(tmp_path, "BTCUSDT-15m-f.csv", ["1699785900000,100,101,99,100,5\n", f"{ms},100,101,99,100,5\n"])
    with pytest.raises(InputFileError) as e:
        ingest_paths([f], tmp_path / "f.duckdb")
    assert (e.value.row, e.value.field) == (2, "open_time") and "future" in str(e.value)
    rep = ingest_paths([f], tmp_path / "g.duckdb", limits=IngestLimits(future_slack_ns=3 * 86_400 * 10**9))
    assert rep.files[0].rows_new == 2


def test_file_named_for_one_symbol_holding_another_is_refused(tmp_path):
    f = tmp_path / "BTCUSDT-metrics-2024-01-01.csv"
    f.write_text(MHDR + "2024-01-01 00:00:00,BTCUSDT,1,40000,1,1,1,1\n2024-01-01 00:05:00,ETHUSDT,1,2000,1,1,1,1\n")
    with pytest.raises(InputFileError) as e:
        ingest_paths([f], tmp_path / "s.duckdb")
    assert (e.value.file, e.value.row, e.value.field) == (str(f), 2, "symbol")
    assert "BTCUSDT" in str(e.value)


# ------------------------------------------------------------------------------------------ resource limits


def test_zip_bomb_is_refused_by_ratio_and_by_absolute_size(tmp_path):
    body = KHDR + "1699785900000,100,101,99,100,5\n" * 200_000  # ~6 MB of one repeated row
    z = tmp_path / "BTCUSDT-15m-bomb.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("BTCUSDT-15m-bomb.csv", body)
    info = zipfile.ZipFile(z).infolist()[0]
    assert info.file_size / info.compress_size > 100  # really a high ratio
    with pytest.raises(InputFileError) as e:
        ingest_paths([z], tmp_path / "z.duckdb")
    assert e.value.file == str(z) and "--max-ratio" in str(e.value)
    with pytest.raises(InputFileError) as e:
        ingest_paths([z], tmp_path / "z.duckdb", limits=IngestLimits(max_ratio=1e6, max_unzipped_mb=1))
    assert "--max-unzipped-mb" in str(e.value)
    r = cli(
        "ingest", str(z), "--db", str(tmp_path / "c.duckdb"), "--max-ratio", "1000000", "--max-unzipped-mb", "2", "-q"
    )
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--max-unzipped-mb" in r.stderr


def test_endless_line_and_too_many_columns_are_refused_early(tmp_path):
    f = tmp_path / "BTCUSDT-15m-long.csv"
    f.write_bytes(b"1" * (10 << 20))  # 10 MiB, no newline
    with pytest.raises(InputFileError) as e:
        ingest_paths([f], tmp_path / "l.duckdb")
    assert (e.value.row, "--max-line-kb") == (1, "--max-line-kb") and "--max-line-kb" in str(e.value)
    g = tmp_path / "BTCUSDT-15m-wide.csv"
    g.write_text(",".join(["1"] * 500) + "\n")
    with pytest.raises(InputFileError, match="500 columns"):
        ingest_paths([g], tmp_path / "w.duckdb")
    h = tmp_path / "BTCUSDT-15m-later.csv"  # a long line further down is caught by the CSV reader's limit
    h.write_text(KHDR + "1699785900000,100,101,99,100,5\n" + "1699786800000,100,101,99,100," + "5" * 200_000 + "\n")
    with pytest.raises(InputFileError, match="max-line-kb"):
        ingest_paths([h], tmp_path / "h.duckdb")
