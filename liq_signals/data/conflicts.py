"""Rows of a file whose key is already stored with DIFFERENT values (re-published or tampered data).

An exact re-ingest stays idempotent. A conflicting row is an error naming file, row, key and field unless a
policy is chosen: ``replace`` (the file's values win; for metrics the row's observed time then follows the
file's lag) or ``keep`` (the stored values win). Values compare equal when both are NULL, when one side is NULL
(a source without that optional column, e.g. funding without mark price), or when two numbers differ by less
than 1e-9 relative.
"""

from __future__ import annotations

import duckdb

from liq_signals.errors import ConfigError, InputFileError

POLICIES = ("error", "replace", "keep")

# table -> (key columns, compared value columns with their kind: 'num' or 'eq'); identifiers are constants
COMPARED: dict[str, tuple[tuple[str, ...], tuple[tuple[str, str], ...]]] = {
    "klines": (
        ("symbol", "interval", "price_type", "open_time"),
        tuple(
            (c, "num")
            for c in (
                "open",
                "high",
                "low",
                "close",
                "volume",
                "quote_volume",
                "trades",
                "taker_buy_volume",
                "taker_buy_quote_volume",
            )
        ),
    ),
    "open_interest": (
        ("symbol", "stamp_time"),
        tuple(
            (c, "num")
            for c in (
                "sum_open_interest",
                "sum_open_interest_value",
                "count_toptrader_long_short_ratio",
                "sum_toptrader_long_short_ratio",
                "count_long_short_ratio",
                "sum_taker_long_short_vol_ratio",
            )
        ),
    ),
    "funding": (("symbol", "time"), (("funding_rate", "num"), ("mark_price", "num"), ("interval_hours", "num"))),
    "agg_trades": (
        ("symbol", "agg_trade_id"),
        (
            ("time", "eq"),
            ("price", "num"),
            ("quantity", "num"),
            ("first_trade_id", "num"),
            ("last_trade_id", "num"),
            ("is_buyer_maker", "eq"),
        ),
    ),
    # every value of a liquidation is in its key (usd value is recomputed, source names the recording)
    "liquidations": (("symbol", "time", "side", "price", "quantity"), ()),
}


def check_policy(policy: str) -> str:
    if policy not in POLICIES:
        raise ConfigError(f"--on-conflict: must be one of {', '.join(POLICIES)} (got {policy!r})")
    return policy


def _differs(col: str, kind: str) -> str:
    s, t = f"s.{col}", f"t.{col}"
    if kind == "num":
        return (
            f"({s} IS NOT NULL AND {t} IS NOT NULL AND "
            f"abs(CAST({s} AS DOUBLE) - CAST({t} AS DOUBLE)) > 1e-9 * greatest(abs(CAST({s} AS DOUBLE)), abs(CAST({t} AS DOUBLE))))"
        )
    return f"({s} IS NOT NULL AND {t} IS NOT NULL AND {s} <> {t})"


def resolve(con: duckdb.DuckDBPyConnection, table: str, policy: str, display: str) -> int:
    """Find staged rows conflicting with ``table``; raise (policy error), delete the stored rows (replace) or
    drop the staged ones (keep). Returns the number of conflicting rows."""
    key, values = COMPARED[table]
    if not values:
        return 0
    on = " AND ".join(f"s.{k} = t.{k}" for k in key)
    cond = " OR ".join(_differs(c, kind) for c, kind in values)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE conflicts AS SELECT s.src_row, {', '.join('s.' + k for k in key)} "
        f"FROM staged s JOIN {table} t ON {on} WHERE {cond}"
    )
    n = con.execute("SELECT count(*) FROM conflicts").fetchone()[0]
    if n == 0:
        return 0
    if policy == "error":
        row = con.execute("SELECT * FROM conflicts ORDER BY src_row LIMIT 1").fetchone()
        src_row, keyvals = row[0], row[1:]
        params = list(keyvals)
        where = " AND ".join(f"{k} = ?" for k in key)
        cols = [c for c, _ in values]
        stored = con.execute(f"SELECT {', '.join(cols)} FROM {table} WHERE {where}", params).fetchone()
        new = con.execute(f"SELECT {', '.join(cols)} FROM staged WHERE src_row = ?", [src_row]).fetchone()
        field = next((c for c, a, b in zip(cols, stored, new) if a is not None and b is not None and a != b), cols[0])
        i = cols.index(field)
        keytext = ", ".join(f"{k}={v}" for k, v in zip(key, keyvals))
        raise InputFileError(
            display,
            f"conflicts with the stored row ({keytext}): stored {stored[i]!r}, file {new[i]!r} "
            f"({n} conflicting row(s); pass --on-conflict replace or keep)",
            row=int(src_row),
            field=field,
        )
    using = " AND ".join(f"x.{k} = c.{k}" for k in key)
    if policy == "replace":
        con.execute(f"DELETE FROM {table} x WHERE EXISTS (SELECT 1 FROM conflicts c WHERE {using})")
    else:  # keep
        con.execute(f"DELETE FROM staged x WHERE EXISTS (SELECT 1 FROM conflicts c WHERE {using})")
    return int(n)
