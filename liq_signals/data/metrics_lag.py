"""When was a metrics (open-interest) row really observed? Measured once per ingested FILE, never revised.

Binance stamps a metrics row with ``create_time``; depending on the source the snapshot was taken at that
stamp or 5 minutes later. For each metrics file of an ingest run and each symbol in it, the OI-implied price
(value / OI, USDT) of the file's own rows is compared with the close of the last-price kline ending at
stamp + lag, for each candidate lag; the lag with the smallest median deviation (in bps) wins, given at least
``MIN_MATCHED`` matched rows. Without enough overlapping klines the 5-minute lag is assumed (the safe side:
never early). The result sets ``open_interest.time`` (observed time) of the rows that file *added* (or
replaced); rows stored by earlier runs keep theirs, so later data can never move an earlier observation.
The measurement is stored in ``metrics_file_lag`` (file, sha256, symbol, lag, method, deviation, matches).
"""

from __future__ import annotations

import duckdb

# Metrics stamp-vs-snapshot lags tried when matching OI-implied prices to kline closes (ms).
METRICS_LAG_CANDIDATES_MS = (0, 300_000)
METRICS_LAG_ASSUMED_MS = 300_000
MIN_MATCHED = 10

RUN_TABLE_SQL = """CREATE OR REPLACE TEMP TABLE run_metrics (
    file_no INTEGER, symbol VARCHAR, stamp_time TIMESTAMP, oi DOUBLE, oi_value DOUBLE, is_new BOOLEAN)"""


def start_run(con: duckdb.DuckDBPyConnection) -> None:
    """Create the temp table collecting this run's metrics rows."""
    con.execute(RUN_TABLE_SQL)


def record_file(con: duckdb.DuckDBPyConnection, file_no: int) -> None:
    """Remember the staged metrics rows of file ``file_no``; call BEFORE they are inserted (``is_new`` = the
    key is not stored yet)."""
    con.execute(
        """INSERT INTO run_metrics SELECT ?, s.symbol, s.stamp_time, s.sum_open_interest,
                       s.sum_open_interest_value,
                       NOT EXISTS (SELECT 1 FROM open_interest o WHERE o.symbol = s.symbol AND o.stamp_time = s.stamp_time)
                   FROM staged s""",
        [file_no],
    )


def measure_and_apply(
    con: duckdb.DuckDBPyConnection, files: dict[int, tuple[str, str]]
) -> dict[tuple[int, str], tuple[int, str]]:
    """Measure each recorded file's lag per symbol and set the observed time of the rows it added.

    ``files``: file_no -> (display name, sha256). Returns (file_no, symbol) -> (lag ms, method)."""
    out = {}
    pairs = con.execute("SELECT DISTINCT file_no, symbol FROM run_metrics ORDER BY 1, 2").fetchall()
    for file_no, symbol in pairs:
        display, sha = files[file_no]
        stored = con.execute(
            "SELECT lag_ms, method FROM metrics_file_lag WHERE sha256 = ? AND symbol = ?", [sha, symbol]
        ).fetchone()
        if stored is not None:  # this very file was measured before: never re-measured
            lag, method = int(stored[0]), stored[1]
        else:
            best = None
            for cand in METRICS_LAG_CANDIDATES_MS:
                dev, n = con.execute(
                    """
                    SELECT median(abs(r.oi_value / r.oi / k.close - 1)) * 1e4, count(*)
                    FROM run_metrics r JOIN klines k ON k.symbol = r.symbol AND k.price_type = 'last'
                     AND k.close_time + INTERVAL 1 MILLISECOND = r.stamp_time + to_milliseconds(?)
                    WHERE r.file_no = ? AND r.symbol = ? AND r.oi > 0 AND r.oi_value > 0""",
                    [cand, file_no, symbol],
                ).fetchone()
                if n >= MIN_MATCHED and (best is None or dev < best[1]):
                    best = (cand, dev, n)
            if best is None:
                lag, method, dev, n = METRICS_LAG_ASSUMED_MS, "assumed (no overlapping klines)", None, 0
            else:
                (lag, dev, n), method = best, "measured"
            con.execute(
                "INSERT INTO metrics_file_lag VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [display, sha, symbol, lag, method, dev, n],
            )
        con.execute(
            """UPDATE open_interest o SET time = o.stamp_time + to_milliseconds(?)
                       FROM run_metrics r WHERE r.file_no = ? AND r.symbol = ? AND r.is_new
                         AND o.symbol = r.symbol AND o.stamp_time = r.stamp_time""",
            [lag, file_no, symbol],
        )
        out[(file_no, symbol)] = (lag, method)
    return out
