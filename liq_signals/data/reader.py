"""Every query that READS the DuckDB store, in one module.

Callers (commands, the engine feeder, the Nautilus catalog export, validation) ask for named results here
instead of writing SQL. Rules kept by every function below:

- every value (symbol, times, intervals, cadences) goes in as a bound parameter — a stored or user-given
  string is never pasted into SQL (real symbols can be non-ASCII, e.g. ``币安人生USDT``, and are bound as is);
- table / column identifiers only come from this module's own constants (:data:`_TABLES`);
- ``con_or_path`` is an open connection (left open) or the path of a DuckDB file (opened read-only and
  closed; a missing or unreadable file raises ``LiqSignalsError`` naming it).

Units: times in DuckDB are naive UTC ``TIMESTAMP``; frames for the engine carry ``ts_ns`` (epoch ns, UTC);
prices USDT, sizes base asset, notionals USDT.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from liq_signals.data import db as dbmod
from liq_signals.data.layouts import interval_ms
from liq_signals.engine.inputs import MarketInputs
from liq_signals.errors import LiqSignalsError
from liq_signals.times import to_naive_utc

# Identifier whitelist: summary label -> (table, time column, cadence in ms or None = irregular).
_TABLES = {
    "open_interest": ("open_interest", "time", 300_000),
    "funding": ("funding", "time", None),
    "agg_trades": ("agg_trades", "time", None),
    "liquidations": ("liquidations", "time", None),
}
_PRICE_TYPE_KIND = {"last": "klines", "mark": "markPriceKlines", "index": "indexPriceKlines"}
_FAR_PAST = pd.Timestamp("1970-01-01")
_FAR_FUTURE = pd.Timestamp("2262-01-01")


@contextmanager
def _connection(con_or_path):
    """Yield a connection: the given one, or a read-only one on the path (closed afterwards)."""
    if isinstance(con_or_path, (str, Path)):
        con = dbmod.connect(con_or_path, read_only=True)
        try:
            yield con
        finally:
            con.close()
    else:
        yield con_or_path


def _bounds(start, end) -> tuple[pd.Timestamp, pd.Timestamp]:
    lo = to_naive_utc(start, "start") if start is not None else _FAR_PAST
    hi = to_naive_utc(end, "end") if end is not None else _FAR_FUTURE
    return lo, hi


# ------------------------------------------------------------------------------------------ engine inputs


def kline_intervals(con_or_path, symbol: str, price_type: str = "last") -> list[str]:
    """Distinct kline intervals stored for ``symbol`` and ``price_type`` (sorted text)."""
    with _connection(con_or_path) as con:
        return [
            r[0]
            for r in con.execute(
                "SELECT DISTINCT interval FROM klines WHERE symbol = ? AND price_type = ? ORDER BY 1",
                [symbol, price_type],
            ).fetchall()
        ]


def kline_symbols(con_or_path) -> list[str]:
    """Symbols that have klines of any kind, sorted."""
    with _connection(con_or_path) as con:
        return [r[0] for r in con.execute("SELECT DISTINCT symbol FROM klines ORDER BY 1").fetchall()]


def bar_close_times(con_or_path, symbol: str) -> list[tuple[str, int]]:
    """(interval, close time in epoch ns) of every last-price bar of ``symbol``, by interval then time (a bar
    closes at Binance ``close_time`` + 1 ms)."""
    with _connection(con_or_path) as con:
        rows = con.execute(
            "SELECT interval, epoch_ms(close_time) + 1 FROM klines WHERE symbol = ? "
            "AND price_type = 'last' ORDER BY 1, 2",
            [symbol],
        ).fetchall()
    return [(iv, int(ms) * 1_000_000) for iv, ms in rows]


def last_price_symbols(con_or_path) -> list[str]:
    """Symbols that have last-price klines, sorted."""
    with _connection(con_or_path) as con:
        return [
            r[0]
            for r in con.execute("SELECT DISTINCT symbol FROM klines WHERE price_type = 'last' ORDER BY 1").fetchall()
        ]


_KIND_SPANS = {  # kind -> (table, time expression, extra condition): identifiers from the code only
    "klines": ("klines", "close_time + INTERVAL 1 MILLISECOND", "AND price_type = 'last'"),
    "mark_price": ("klines", "close_time + INTERVAL 1 MILLISECOND", "AND price_type = 'mark'"),
    "open_interest": ("open_interest", "time", ""),
    "funding": ("funding", "time", ""),
    "agg_trades": ("agg_trades", "time", ""),
    "liquidations": ("liquidations", "time", ""),
}


def kind_spans(con_or_path, symbol: str) -> dict[str, tuple[int, int, int]]:
    """Per stored kind of ``symbol``: (first time ns, last time ns, rows); kinds without rows are left out.
    Bars count from their close."""
    out = {}
    with _connection(con_or_path) as con:
        for kind, (table, expr, extra) in _KIND_SPANS.items():
            a, b, n = con.execute(
                f"SELECT min(epoch_ns({expr})), max(epoch_ns({expr})), count(*) FROM {table} WHERE symbol = ? {extra}",
                [symbol],
            ).fetchone()
            if n:
                out[kind] = (int(a), int(b), int(n))
    return out


def has_liquidations(con_or_path) -> bool:
    """Whether any recorded liquidation is stored."""
    with _connection(con_or_path) as con:
        return con.execute("SELECT count(*) FROM liquidations").fetchone()[0] > 0


def liquidations_window(
    con_or_path, symbol: str, start_ns: int, end_ns: int, limit: int
) -> tuple[pd.DataFrame, list[tuple[int, int, str]]]:
    """Recorded liquidations of ``symbol`` in [start, end] (ts_ns, liquidated side long/short, price USDT,
    quantity base, usd_value USDT; at most ``limit`` rows, earliest first) and the recording intervals that
    overlap the window [(start ns, end ns, source)]."""
    lo, hi = to_naive_utc(start_ns), to_naive_utc(end_ns)
    with _connection(con_or_path) as con:
        df = con.execute(
            "SELECT epoch_ns(time) AS ts_ns, CASE side WHEN 'SELL' THEN 'long' ELSE 'short' END AS liquidated, "
            "price, quantity, usd_value FROM liquidations WHERE symbol = ? AND time BETWEEN ? AND ? "
            "ORDER BY time, price LIMIT ?",
            [symbol, lo, hi, limit],
        ).df()
        cov = con.execute(
            "SELECT epoch_ns(start_time), epoch_ns(end_time), source FROM liquidation_coverage "
            "WHERE end_time >= ? AND start_time <= ? ORDER BY 1",
            [lo, hi],
        ).fetchall()
    return df, [(int(a), int(b), src) for a, b, src in cov]


def liquidation_rows(con_or_path, symbol: str) -> pd.DataFrame:
    """Every stored liquidation of ``symbol`` as recorded: time_ms (epoch ms), side (order side: SELL = a long
    was liquidated), price (USDT), quantity (base), notional_usd (USDT), by time."""
    with _connection(con_or_path) as con:
        return con.execute(
            "SELECT epoch_ms(time) AS time_ms, side, price, quantity, usd_value AS notional_usd "
            "FROM liquidations WHERE symbol = ? ORDER BY time",
            [symbol],
        ).df()


def market_inputs(con_or_path, symbol: str, start=None, end=None, interval: str | None = None) -> MarketInputs:
    """Engine inputs of ``symbol`` with times in [start, end] (UTC; None = unbounded).

    Bars are stamped at their close (``close_time + 1 ms``), open interest at its *observed* time
    (``open_interest.time``), never at the file's stamp. ``interval``: the last-price kline interval to use
    (default: the finest one with bars in the range, else the finest stored). Raises ``LiqSignalsError`` for a
    missing database, an unknown symbol or a range without bars.
    """
    symbol = symbol.strip().upper()
    where_db = con_or_path if isinstance(con_or_path, (str, Path)) else "the database"
    with _connection(con_or_path) as con:
        intervals = kline_intervals(con, symbol)
        if not intervals:
            known = kline_symbols(con)
            raise LiqSignalsError(
                f"no klines for symbol {symbol} in {where_db} (symbols with klines: {', '.join(known) or 'none'})"
            )
        if interval is not None and interval not in intervals:
            raise LiqSignalsError(f"no {interval} klines for {symbol} in {where_db} (have: {', '.join(intervals)})")
        lo, hi = _bounds(start, end)
        if interval is None:
            in_range = [
                r[0]
                for r in con.execute(
                    "SELECT DISTINCT interval FROM klines WHERE symbol = ? AND price_type = 'last' "
                    "AND close_time BETWEEN ? AND ?",
                    [symbol, lo, hi],
                ).fetchall()
            ]
            interval = min(in_range or intervals, key=interval_ms)

        def q(sql: str, params: list) -> pd.DataFrame:
            return con.execute(sql, params).df()

        close_ns = "epoch_ns(close_time + INTERVAL 1 MILLISECOND)"
        bars = q(
            f"""SELECT {close_ns} AS ts_ns, open, high, low, close, volume, taker_buy_volume
                     FROM klines WHERE symbol = ? AND interval = ? AND price_type = 'last'
                       AND close_time + INTERVAL 1 MILLISECOND BETWEEN ? AND ? ORDER BY ts_ns""",
            [symbol, interval, lo, hi],
        )
        if bars.empty:
            raise LiqSignalsError(f"no {interval} bars for {symbol} between {lo} and {hi}")
        mark = q(
            f"""SELECT {close_ns} AS ts_ns, high, low, close FROM klines
                     WHERE symbol = ? AND interval = ? AND price_type = 'mark'
                       AND close_time + INTERVAL 1 MILLISECOND BETWEEN ? AND ? ORDER BY ts_ns""",
            [symbol, interval, lo, hi],
        )
        oi = q(
            """SELECT epoch_ns(time) AS ts_ns, sum_open_interest AS open_interest,
                         sum_open_interest_value AS open_interest_value,
                         sum_taker_long_short_vol_ratio AS taker_ratio
                  FROM open_interest WHERE symbol = ? AND time BETWEEN ? AND ? ORDER BY ts_ns""",
            [symbol, lo, hi],
        )
        funding = q(
            """SELECT epoch_ns(time) AS ts_ns, funding_rate AS rate, mark_price
                       FROM funding WHERE symbol = ? AND time BETWEEN ? AND ? ORDER BY ts_ns""",
            [symbol, lo, hi],
        )
        trades = q(
            """SELECT epoch_ns(time) AS ts_ns, price, quantity, is_buyer_maker
                      FROM agg_trades WHERE symbol = ? AND time BETWEEN ? AND ? ORDER BY ts_ns, agg_trade_id""",
            [symbol, lo, hi],
        )
    for df in (bars, mark, oi, funding, trades):
        df["ts_ns"] = df["ts_ns"].astype("int64")
        for c in df.columns:
            if c not in ("ts_ns", "is_buyer_maker"):
                df[c] = df[c].astype("float64")
    if not trades.empty:
        trades["is_buyer_maker"] = trades["is_buyer_maker"].astype(bool)
    return MarketInputs(symbol, interval, bars, mark, oi, funding, trades)


def load_market_inputs(
    db_path: str | Path, symbol: str, start=None, end=None, interval: str | None = None
) -> MarketInputs:
    """Former ``data.query.load_market_inputs``: :func:`market_inputs` on a database path."""
    return market_inputs(db_path, symbol, start, end, interval)


def covered_range(con_or_path, symbol: str, interval: str | None = None) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """(first open_time, last open_time) of ``symbol``'s last-price bars (naive UTC), None when it has none."""
    with _connection(con_or_path) as con:
        sql = "SELECT min(open_time), max(open_time) FROM klines WHERE symbol = ? AND price_type = 'last'"
        params: list = [symbol]
        if interval is not None:
            sql += " AND interval = ?"
            params.append(interval)
        first, last = con.execute(sql, params).fetchone()
    return None if first is None else (pd.Timestamp(first), pd.Timestamp(last))


# ------------------------------------------------------------------------------------------ info summary


def _gap_count(con, label: str, where_extra: str, params: list, cadence_ms: int) -> tuple[int, int]:
    """(number of cadence breaks, total missing steps) of a regular series; ``label`` picks the table."""
    table, tcol, _ = _TABLES[label]
    row = con.execute(
        f"""
        SELECT count(*), coalesce(sum(d // ? - 1), 0) FROM (
          SELECT epoch_ms({tcol}) - lag(epoch_ms({tcol})) OVER (ORDER BY {tcol}) AS d
          FROM {table} WHERE symbol = ? {where_extra}) WHERE d > ?""",
        [cadence_ms, *params, cadence_ms],
    ).fetchone()
    return int(row[0]), int(row[1])


def _kline_gaps(con, symbol: str, interval: str, price_type: str) -> tuple[int, int]:
    step = interval_ms(interval)
    row = con.execute(
        """
        SELECT count(*), coalesce(sum(d // ? - 1), 0) FROM (
          SELECT epoch_ms(open_time) - lag(epoch_ms(open_time)) OVER (ORDER BY open_time) AS d
          FROM klines WHERE symbol = ? AND interval = ? AND price_type = ?) WHERE d > ?""",
        [step, symbol, interval, price_type, step],
    ).fetchone()
    return int(row[0]), int(row[1])


def funding_gaps(con, symbol: str) -> tuple[int, int]:
    """Funding cadence breaks, using each row's own interval where known (else 8 h)."""
    row = con.execute(
        """
        SELECT count(*) FROM (
          SELECT epoch_ms(time) - lag(epoch_ms(time)) OVER (ORDER BY time) AS d,
                 coalesce(lag(interval_hours) OVER (ORDER BY time), 8) * 3600000 AS step
          FROM funding WHERE symbol = ?) WHERE d > step * 1.5""",
        [symbol],
    ).fetchone()
    return int(row[0]), 0


def metrics_lags(con_or_path) -> dict[str, list[tuple[int, str, int]]]:
    """Per symbol: the stamp->observation lags measured at ingest, as (lag ms, method, number of files)."""
    with _connection(con_or_path) as con:
        out: dict[str, list[tuple[int, str, int]]] = {}
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        sql = (
            "SELECT symbol, lag_ms, method, count(*) FROM metrics_file_lag GROUP BY ALL ORDER BY 1, 2, 3"
            if "metrics_file_lag" in tables
            # a schema-1 file: one lag per symbol
            else "SELECT symbol, lag_ms, method, 1 FROM metrics_lag ORDER BY 1"
        )
        for sym, lag, method, n in con.execute(sql).fetchall():
            out.setdefault(sym, []).append((int(lag), method, int(n)))
        return out


def _lag_note(lags: list[tuple[int, str, int]]) -> str:
    if not lags:
        return "snapshot lag unknown"
    if len(lags) == 1:
        lag, method, _ = lags[0]
        return f"snapshot lag {lag // 1000} s ({method})"
    return "snapshot lag per file: " + ", ".join(f"{lag // 1000} s ({method}) x{n}" for lag, method, n in lags)


def symbol_summary(con_or_path) -> pd.DataFrame:
    """One row per (symbol, kind): rows, first, last, gaps (cadence breaks), missing steps, note."""
    rows = []
    with _connection(con_or_path) as con:
        for sym, interval, ptype, n, first, last in con.execute(
            "SELECT symbol, interval, price_type, count(*), min(open_time), max(open_time) FROM klines "
            "GROUP BY ALL ORDER BY 1, 2, 3"
        ).fetchall():
            gaps, missing = _kline_gaps(con, sym, interval, ptype)
            rows.append((sym, f"{_PRICE_TYPE_KIND.get(ptype, ptype)} {interval}", n, first, last, gaps, missing, ""))
        lags = metrics_lags(con)
        for label, (table, tcol, cadence) in _TABLES.items():
            for sym, n, first, last in con.execute(
                f"SELECT symbol, count(*), min({tcol}), max({tcol}) FROM {table} GROUP BY 1 ORDER BY 1"
            ).fetchall():
                note = ""
                gaps = missing = 0
                if label == "open_interest":
                    gaps, missing = _gap_count(con, label, "AND sum_open_interest IS NOT NULL", [sym], cadence)
                    nulls = con.execute(
                        "SELECT count(*) FROM open_interest WHERE symbol = ? AND sum_open_interest IS NULL", [sym]
                    ).fetchone()[0]
                    note = _lag_note(lags.get(sym, [])) + (f"; {nulls} missing OI" if nulls else "")
                elif label == "funding":
                    gaps, missing = funding_gaps(con, sym)
                rows.append((sym, label, n, first, last, gaps, missing, note))
        for src, start, end, n in con.execute(
            "SELECT source, start_time, end_time, n_events FROM liquidation_coverage ORDER BY 2"
        ).fetchall():
            rows.append(("*", "coverage", n, start, end, 0, 0, src))
    return pd.DataFrame(rows, columns=["symbol", "kind", "rows", "first", "last", "gaps", "missing_steps", "note"])


# ------------------------------------------------------------------------------------------ validation


RECORDED_EVENT_COLUMNS = ["time", "side", "price_low", "price_high", "notional_usd"]


def recorded_liquidations(con_or_path, symbol: str, start, end) -> pd.DataFrame:
    """Recorded events with ``start < time <= end``: side ``long`` (Binance SELL) / ``short`` (BUY), point price
    bands (USDT), notional USDT; ``time`` naive UTC."""
    lo, hi = _bounds(start, end)
    with _connection(con_or_path) as con:
        df = con.execute(
            """
            SELECT time, CASE WHEN side = 'SELL' THEN 'long' ELSE 'short' END AS side,
                   price AS price_low, price AS price_high, usd_value AS notional_usd
            FROM liquidations
            WHERE symbol = ? AND time > ? AND time <= ? AND side IN ('SELL', 'BUY')
            ORDER BY time
            """,
            [symbol, lo.to_pydatetime(), hi.to_pydatetime()],
        ).df()
    return df[RECORDED_EVENT_COLUMNS] if len(df) else pd.DataFrame(columns=RECORDED_EVENT_COLUMNS)


def coverage_intervals(con_or_path) -> list[tuple[pd.Timestamp, pd.Timestamp, str]]:
    """All recordings' covered intervals as (start, end, source), sorted by start (naive UTC)."""
    with _connection(con_or_path) as con:
        rows = con.execute(
            "SELECT start_time, end_time, source FROM liquidation_coverage ORDER BY start_time"
        ).fetchall()
    return [(pd.Timestamp(a), pd.Timestamp(b), s) for a, b, s in rows]


def open_interest_series(con_or_path, symbol: str, start, end) -> pd.DataFrame:
    """Observed OI snapshots in [start, end] (``time`` = observed time, naive UTC) with a positive OI (base)
    and value (USDT), ascending; columns time, oi, oi_value."""
    lo, hi = _bounds(start, end)
    with _connection(con_or_path) as con:
        return con.execute(
            """
            SELECT time, sum_open_interest AS oi, sum_open_interest_value AS oi_value
            FROM open_interest
            WHERE symbol = ? AND time >= ? AND time <= ?
              AND sum_open_interest > 0 AND sum_open_interest_value > 0
            ORDER BY time
            """,
            [symbol, lo.to_pydatetime(), hi.to_pydatetime()],
        ).df()


# ------------------------------------------------------------------------------------------ Nautilus catalog


def _ns_range(column: str, start_ns: int | None, end_ns: int | None, params: list) -> str:
    """`` AND column >= ? AND column < ?`` for the given bounds (epoch ns), appending the values to params."""
    clause = ""
    if start_ns is not None:
        clause += f" AND {column} >= ?"
        params.append(int(start_ns))
    if end_ns is not None:
        clause += f" AND {column} < ?"
        params.append(int(end_ns))
    return clause


def bars_for_catalog(con_or_path, symbol: str, interval: str, start_ns: int | None, end_ns: int | None) -> pd.DataFrame:
    """Last-price bars with close (``ts``, epoch ns = open + interval) in [start_ns, end_ns); columns ts, open,
    high, low, close (USDT), volume (base, 0 when unknown), ordered by open time."""
    step = interval_ms(interval) * 1_000_000
    close_ns = "(epoch_ns(open_time) + ?)"
    params: list = [step, symbol, interval]
    sql = (
        f"SELECT {close_ns} AS ts, open, high, low, close, coalesce(volume, 0.0) AS volume FROM klines "
        "WHERE symbol = ? AND interval = ? AND price_type = 'last'"
    )
    if start_ns is not None:
        sql += f" AND {close_ns} >= ?"
        params += [step, int(start_ns)]
    if end_ns is not None:
        sql += f" AND {close_ns} < ?"
        params += [step, int(end_ns)]
    with _connection(con_or_path) as con:
        return con.execute(sql + " ORDER BY open_time", params).df()


def open_interest_for_catalog(con_or_path, symbol: str, start_ns: int | None, end_ns: int | None) -> pd.DataFrame:
    """Observed OI (``ts`` epoch ns of the observed time) in [start_ns, end_ns), missing OI left out; columns ts,
    oi (base), oi_value (USDT), taker_ratio."""
    params: list = [symbol]
    sql = (
        "SELECT epoch_ns(time) AS ts, sum_open_interest AS oi, sum_open_interest_value AS oi_value, "
        "sum_taker_long_short_vol_ratio AS taker_ratio "
        "FROM open_interest WHERE symbol = ? AND sum_open_interest IS NOT NULL"
    )
    sql += _ns_range("epoch_ns(time)", start_ns, end_ns, params)
    with _connection(con_or_path) as con:
        return con.execute(sql + " ORDER BY time", params).df()


def funding_for_catalog(con_or_path, symbol: str, start_ns: int | None, end_ns: int | None) -> pd.DataFrame:
    """Funding events in [start_ns, end_ns): columns ts (epoch ns), rate (fraction per interval), mark_price
    (USDT), interval_hours."""
    params: list = [symbol]
    sql = "SELECT epoch_ns(time) AS ts, funding_rate AS rate, mark_price, interval_hours FROM funding WHERE symbol = ?"
    sql += _ns_range("epoch_ns(time)", start_ns, end_ns, params)
    with _connection(con_or_path) as con:
        return con.execute(sql + " ORDER BY time", params).df()
