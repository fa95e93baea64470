"""The embedded DuckDB store: one file, typed tables keyed by (symbol, time[, interval]).

All ``TIMESTAMP`` columns hold **UTC** wall time (naive, millisecond or better precision).
Prices are in quote currency (USDT), sizes in base asset, notionals in USDT.

Tables
------
klines            one row per candle; ``price_type`` is ``last`` (klines), ``mark`` (markPriceKlines)
                  or ``index`` (indexPriceKlines). ``open_time``/``close_time`` as Binance defines them
                  (close_time = open_time + interval - 1 ms).
open_interest     Binance ``metrics`` rows. ``stamp_time`` is the file's ``create_time``; ``time`` is the
                  moment the snapshot was actually *observed* (stamp + measured lag, see ``metrics_lag``).
                  Use ``time`` for anything causal. OI of 0 in the source is stored as NULL (a repair).
metrics_lag       (schema 1, no longer written) per symbol lag of the first releases.
metrics_file_lag  per ingested metrics file and symbol: the lag (ms) between a stamp and its snapshot, measured
                  at ingest from that file's own rows against the klines then stored, never revised later.
funding           funding events: ``time`` = funding time, ``funding_rate`` per interval (fraction),
                  ``mark_price`` when the source has it, ``interval_hours`` when the source has it.
agg_trades        aggregated trades; ``is_buyer_maker`` true = the taker sold.
liquidations      recorded forceOrder events; ``side`` SELL = a long was liquidated, BUY = a short.
                  ``source`` is the file the event came from (recordings are per file).
liquidation_coverage
                  intervals during which a recording was running (derived from its all-symbol event
                  stream at ingest: a silence longer than ``gap_limit_s`` ends an interval).
ingest_log        one row per ingested file (sha256, kind, counts, repairs).
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from liq_signals.errors import LiqSignalsError

SCHEMA_VERSION = 1
DEFAULT_PATH = Path("data") / "liq_signals.duckdb"  # every command's --db default and the demo's store

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS schema_info (version INTEGER NOT NULL);

CREATE TABLE IF NOT EXISTS klines (
    symbol VARCHAR NOT NULL,
    interval VARCHAR NOT NULL,
    price_type VARCHAR NOT NULL,
    open_time TIMESTAMP NOT NULL,
    close_time TIMESTAMP NOT NULL,
    open DOUBLE NOT NULL,
    high DOUBLE NOT NULL,
    low DOUBLE NOT NULL,
    close DOUBLE NOT NULL,
    volume DOUBLE,
    quote_volume DOUBLE,
    trades BIGINT,
    taker_buy_volume DOUBLE,
    taker_buy_quote_volume DOUBLE,
    PRIMARY KEY (symbol, interval, price_type, open_time)
);

CREATE TABLE IF NOT EXISTS open_interest (
    symbol VARCHAR NOT NULL,
    stamp_time TIMESTAMP NOT NULL,
    time TIMESTAMP NOT NULL,
    sum_open_interest DOUBLE,
    sum_open_interest_value DOUBLE,
    count_toptrader_long_short_ratio DOUBLE,
    sum_toptrader_long_short_ratio DOUBLE,
    count_long_short_ratio DOUBLE,
    sum_taker_long_short_vol_ratio DOUBLE,
    PRIMARY KEY (symbol, stamp_time)
);

CREATE TABLE IF NOT EXISTS metrics_lag (
    symbol VARCHAR PRIMARY KEY,
    lag_ms BIGINT NOT NULL,
    method VARCHAR NOT NULL,
    median_dev_bps DOUBLE,
    n_matched BIGINT
);

CREATE TABLE IF NOT EXISTS metrics_file_lag (
    file VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    symbol VARCHAR NOT NULL,
    lag_ms BIGINT NOT NULL,
    method VARCHAR NOT NULL,
    median_dev_bps DOUBLE,
    n_matched BIGINT,
    PRIMARY KEY (sha256, symbol)
);

CREATE TABLE IF NOT EXISTS funding (
    symbol VARCHAR NOT NULL,
    time TIMESTAMP NOT NULL,
    funding_rate DOUBLE NOT NULL,
    mark_price DOUBLE,
    interval_hours INTEGER,
    PRIMARY KEY (symbol, time)
);

CREATE TABLE IF NOT EXISTS agg_trades (
    symbol VARCHAR NOT NULL,
    agg_trade_id BIGINT NOT NULL,
    time TIMESTAMP NOT NULL,
    price DOUBLE NOT NULL,
    quantity DOUBLE NOT NULL,
    first_trade_id BIGINT,
    last_trade_id BIGINT,
    is_buyer_maker BOOLEAN NOT NULL,
    PRIMARY KEY (symbol, agg_trade_id)
);

CREATE TABLE IF NOT EXISTS liquidations (
    symbol VARCHAR NOT NULL,
    time TIMESTAMP NOT NULL,
    side VARCHAR NOT NULL,
    price DOUBLE NOT NULL,
    quantity DOUBLE NOT NULL,
    usd_value DOUBLE NOT NULL,
    source VARCHAR NOT NULL,
    PRIMARY KEY (symbol, time, side, price, quantity)
);

CREATE TABLE IF NOT EXISTS liquidation_coverage (
    source VARCHAR NOT NULL,
    start_time TIMESTAMP NOT NULL,
    end_time TIMESTAMP NOT NULL,
    gap_limit_s DOUBLE NOT NULL,
    n_events BIGINT NOT NULL,
    PRIMARY KEY (source, start_time)
);

CREATE TABLE IF NOT EXISTS ingest_log (
    file VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    symbol VARCHAR,
    rows_read BIGINT NOT NULL,
    rows_new BIGINT NOT NULL,
    duplicates_dropped BIGINT NOT NULL,
    repairs VARCHAR,
    ingested_at TIMESTAMP NOT NULL,
    PRIMARY KEY (sha256, kind)
);
"""


def describe_db_error(path: str | Path, exc: BaseException) -> str:
    """One line naming the database file and the real cause of a DuckDB/OS error (lock, not a database, disk)."""
    msg = str(exc).strip()
    lock = re.search(r"Conflicting lock is held in (.*?) \(PID (\d+)\)", msg)
    if lock:
        cause = f"locked by another process ({lock.group(1)}, PID {lock.group(2)}); close it and retry"
    elif "not a valid DuckDB database file" in msg:
        cause = "not a DuckDB database file (corrupt, or another format)"
    elif re.search(r"No space left|File too large|EFBIG|ENOSPC|disk is full", msg, re.I):
        cause = f"disk full or file size limit reached ({msg.splitlines()[0] if msg else type(exc).__name__})"
    else:
        cause = msg.splitlines()[0] if msg else type(exc).__name__
    return f"database {path}: {cause}"


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the DuckDB file at ``path`` with the schema in place.

    Raises ``LiqSignalsError`` (one line naming the file and the cause) for a missing file (read-only), a
    lock held by another process, a file that is not a DuckDB database, or a disk error."""
    path = Path(path)
    try:
        if read_only:
            if not path.exists():
                raise LiqSignalsError(f"database {path} does not exist (run `liq-signals ingest` first)")
            return duckdb.connect(str(path), read_only=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(path))
        try:
            con.execute("SET TimeZone = 'UTC'")
            con.execute(SCHEMA_SQL)
            if con.execute("SELECT count(*) FROM schema_info").fetchone()[0] == 0:
                con.execute("INSERT INTO schema_info VALUES (?)", [SCHEMA_VERSION])
        except BaseException:
            con.close()
            raise
        return con
    except (duckdb.Error, OSError) as exc:
        raise LiqSignalsError(describe_db_error(path, exc)) from None
