"""Summaries of what the DuckDB store holds: per symbol and kind, row count, first/last time, gaps."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from liq_signals.data import db as dbmod
from liq_signals.data.layouts import interval_ms

# kind label -> (table, time column, grouping columns beyond symbol, cadence in ms or None = irregular)
_SOURCES = {
    "open_interest": ("open_interest", "time", (), 300_000),
    "funding": ("funding", "time", (), None),
    "agg_trades": ("agg_trades", "time", (), None),
    "liquidations": ("liquidations", "time", (), None),
}


def _gap_count(con, table: str, time_col: str, where: str, cadence_ms: int) -> tuple[int, int]:
    """(number of cadence breaks, total missing steps) in a regular series."""
    row = con.execute(f"""
        SELECT count(*), coalesce(sum(d // {cadence_ms} - 1), 0) FROM (
          SELECT epoch_ms({time_col}) - lag(epoch_ms({time_col})) OVER (ORDER BY {time_col}) AS d
          FROM {table} WHERE {where}) WHERE d > {cadence_ms}""").fetchone()
    return int(row[0]), int(row[1])


def funding_gaps(con, symbol: str) -> tuple[int, int]:
    """Funding cadence breaks, using each row's own interval where known (else the median spacing)."""
    row = con.execute("""
        SELECT count(*) FROM (
          SELECT epoch_ms(time) - lag(epoch_ms(time)) OVER (ORDER BY time) AS d,
                 coalesce(lag(interval_hours) OVER (ORDER BY time), 8) * 3600000 AS step
          FROM funding WHERE symbol = ?) WHERE d > step * 1.5""", [symbol]).fetchone()
    return int(row[0]), 0


def summarize(db_path: str | Path) -> pd.DataFrame:
    """One row per (symbol, kind): rows, first, last, gaps (cadence breaks), missing steps, note."""
    con = dbmod.connect(db_path, read_only=True)
    rows = []
    try:
        for sym, interval, ptype, n, first, last in con.execute(
                "SELECT symbol, interval, price_type, count(*), min(open_time), max(open_time) FROM klines "
                "GROUP BY ALL ORDER BY 1, 2, 3").fetchall():
            where = f"symbol = '{sym}' AND interval = '{interval}' AND price_type = '{ptype}'"
            gaps, missing = _gap_count(con, "klines", "open_time", where, interval_ms(interval))
            kind = {"last": "klines", "mark": "markPriceKlines", "index": "indexPriceKlines"}[ptype]
            rows.append((sym, f"{kind} {interval}", n, first, last, gaps, missing, ""))
        lags = {s: (lag, m) for s, lag, m in con.execute("SELECT symbol, lag_ms, method FROM metrics_lag").fetchall()}
        for label, (table, tcol, _, cadence) in _SOURCES.items():
            for sym, n, first, last in con.execute(
                    f"SELECT symbol, count(*), min({tcol}), max({tcol}) FROM {table} GROUP BY 1 ORDER BY 1").fetchall():
                note = ""
                gaps = missing = 0
                if table == "open_interest":
                    gaps, missing = _gap_count(con, table, tcol, f"symbol = '{sym}' AND sum_open_interest IS NOT NULL", cadence)
                    lag, method = lags.get(sym, (0, "unknown"))
                    nulls = con.execute("SELECT count(*) FROM open_interest WHERE symbol = ? AND sum_open_interest IS NULL",
                                        [sym]).fetchone()[0]
                    note = f"snapshot lag {lag // 1000} s ({method})" + (f"; {nulls} missing OI" if nulls else "")
                elif table == "funding":
                    gaps, missing = funding_gaps(con, sym)
                rows.append((sym, label, n, first, last, gaps, missing, note))
        for src, start, end, n in con.execute(
                "SELECT source, start_time, end_time, n_events FROM liquidation_coverage ORDER BY 2").fetchall():
            rows.append(("*", "coverage", n, start, end, 0, 0, src))
    finally:
        con.close()
    return pd.DataFrame(rows, columns=["symbol", "kind", "rows", "first", "last", "gaps", "missing_steps", "note"])
