"""Read the DuckDB store into the pandas frames the engine consumes.

All time columns are ``ts_ns`` (epoch nanoseconds, UTC). Bars are stamped at their **close**
(Binance close_time + 1 ms); open interest at its *observed* time (``open_interest.time``, i.e. stamp +
measured lag), never at the file's stamp.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from liq_signals.data import db as dbmod
from liq_signals.data.layouts import interval_ms
from liq_signals.engine.inputs import MarketInputs
from liq_signals.errors import LiqSignalsError


def _ts(value) -> pd.Timestamp | None:
    if value is None:
        return None
    t = pd.Timestamp(value)
    if t.tzinfo is not None:
        t = t.tz_convert("UTC").tz_localize(None)
    return t


def load_market_inputs(db_path: str | Path, symbol: str, start=None, end=None, interval: str | None = None) -> MarketInputs:
    """Load ``symbol``'s data with times in [start, end] (UTC; None = unbounded) from the DuckDB file.

    ``interval``: the last-price kline interval to use (default: the finest one with bars in the range).
    Raises ``LiqSignalsError`` for a missing database, an unknown symbol or a range without bars.
    """
    symbol = symbol.strip().upper()
    try:
        con = dbmod.connect(db_path, read_only=True)
    except FileNotFoundError as exc:
        raise LiqSignalsError(str(exc)) from None
    except Exception as exc:  # duckdb errors opening a non-database file
        raise LiqSignalsError(f"cannot open database {db_path}: {exc}".splitlines()[0]) from None
    try:
        intervals = [r[0] for r in con.execute(
            "SELECT DISTINCT interval FROM klines WHERE symbol = ? AND price_type = 'last'", [symbol]).fetchall()]
        if not intervals:
            known = [r[0] for r in con.execute("SELECT DISTINCT symbol FROM klines ORDER BY 1").fetchall()]
            raise LiqSignalsError(
                f"no klines for symbol {symbol} in {db_path} (symbols with klines: {', '.join(known) or 'none'})")
        if interval is not None and interval not in intervals:
            raise LiqSignalsError(f"no {interval} klines for {symbol} in {db_path} (have: {', '.join(intervals)})")
        t0, t1 = _ts(start), _ts(end)
        lo = t0 if t0 is not None else pd.Timestamp("1970-01-01")
        hi = t1 if t1 is not None else pd.Timestamp("2262-01-01")
        if interval is None:  # the finest interval with bars in the range, else the finest stored
            in_range = [r[0] for r in con.execute(
                "SELECT DISTINCT interval FROM klines WHERE symbol = ? AND price_type = 'last' "
                "AND close_time BETWEEN ? AND ?", [symbol, lo, hi]).fetchall()]
            interval = min(in_range or intervals, key=interval_ms)

        def q(sql: str, params: list) -> pd.DataFrame:
            return con.execute(sql, params).df()

        close_ns = "epoch_ns(close_time + INTERVAL 1 MILLISECOND)"
        bars = q(f"""SELECT {close_ns} AS ts_ns, open, high, low, close, volume, taker_buy_volume
                     FROM klines WHERE symbol = ? AND interval = ? AND price_type = 'last'
                       AND close_time + INTERVAL 1 MILLISECOND BETWEEN ? AND ? ORDER BY ts_ns""",
                 [symbol, interval, lo, hi])
        if bars.empty:
            raise LiqSignalsError(f"no {interval} bars for {symbol} between {lo} and {hi}")
        mark = q(f"""SELECT {close_ns} AS ts_ns, high, low, close FROM klines
                     WHERE symbol = ? AND interval = ? AND price_type = 'mark'
                       AND close_time + INTERVAL 1 MILLISECOND BETWEEN ? AND ? ORDER BY ts_ns""",
                 [symbol, interval, lo, hi])
        oi = q("""SELECT epoch_ns(time) AS ts_ns, sum_open_interest AS open_interest,
                         sum_open_interest_value AS open_interest_value,
                         sum_taker_long_short_vol_ratio AS taker_ratio
                  FROM open_interest WHERE symbol = ? AND time BETWEEN ? AND ? ORDER BY ts_ns""",
               [symbol, lo, hi])
        funding = q("""SELECT epoch_ns(time) AS ts_ns, funding_rate AS rate, mark_price
                       FROM funding WHERE symbol = ? AND time BETWEEN ? AND ? ORDER BY ts_ns""",
                    [symbol, lo, hi])
        trades = q("""SELECT epoch_ns(time) AS ts_ns, price, quantity, is_buyer_maker
                      FROM agg_trades WHERE symbol = ? AND time BETWEEN ? AND ? ORDER BY ts_ns, agg_trade_id""",
                   [symbol, lo, hi])
    finally:
        con.close()
    for df in (bars, mark, oi, funding, trades):
        df["ts_ns"] = df["ts_ns"].astype("int64")
        for c in df.columns:
            if c not in ("ts_ns", "is_buyer_maker"):
                df[c] = df[c].astype("float64")
    if not trades.empty:
        trades["is_buyer_maker"] = trades["is_buyer_maker"].astype(bool)
    return MarketInputs(symbol, interval, bars, mark, oi, funding, trades)
