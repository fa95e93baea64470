"""Staging one CSV file: DuckDB reads it into ``staged_raw``, the kind's stage function builds ``staged`` with the
canonical typed columns (times naive UTC; prices USDT; sizes base) and validates it row by row.

Every check names the file, the first bad row (1-based data row) and the field. Values reach SQL as bound
parameters; the SQL text holds only this package's identifiers (``layouts.COLUMNS``). Limits and
plausibility bounds come from :class:`liq_signals.data.limits.IngestLimits`.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pandas as pd

from liq_signals.data.layouts import FileLayout, interval_ms
from liq_signals.data.limits import IngestLimits
from liq_signals.errors import InputFileError

# Stream rows may be out of order by this much (ms) and are sorted; more is an error.
STREAM_REORDER_TOLERANCE_MS = 5_000


_SQL_TYPE = {"num": "DOUBLE", "int": "BIGINT", "str": "VARCHAR", "bool": "VARCHAR"}


def _read_types(layout: FileLayout, sample_line: str) -> dict[str, str]:
    """DuckDB column types for read_csv: times are BIGINT when the file holds epoch numbers."""
    fields = [f.strip() for f in sample_line.rstrip("\r\n").split(",")]
    types = {}
    for i, name in enumerate(layout.columns):
        t = layout.column_type(name)
        if t == "time":
            value = fields[i] if i < len(fields) else ""
            if name == "time" and "event_time" in layout.columns:
                value = "text"  # recorded streams: parsed row by row (see _stage_agg_trades)
            types[name] = "BIGINT" if re.fullmatch(r"\d+", value) else "VARCHAR"
        else:
            types[name] = _SQL_TYPE[t]
    return types


def _duckdb_csv_error(display: str, exc: Exception, has_header: bool) -> InputFileError:
    msg = str(exc)
    line = re.search(r"on Line: (\d+)", msg)
    col = re.search(r'converting column "([^"]+)"', msg)
    row = int(line.group(1)) - (1 if has_header else 0) if line else None
    if col:
        bad = re.search(r'Could not convert string "([^"]*)"', msg)
        what = f"not a valid value: {bad.group(1)!r}" if bad else "not a valid value"
        return InputFileError(display, what, row=row, field=col.group(1))
    cols = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", msg)
    if cols:
        return InputFileError(
            display, f"expected {cols.group(1)} columns, found {cols.group(2)} (truncated line?)", row=row
        )
    if "maximum line size" in msg.lower():
        return InputFileError(display, "line longer than the limit (--max-line-kb)", row=row)
    first = msg.strip().splitlines()[0] if msg.strip() else type(exc).__name__
    return InputFileError(display, first, row=row)


def _epoch_to_ts(col: str) -> str:
    """SQL turning an epoch column (s, ms, µs or ns, detected per value by magnitude) into TIMESTAMP."""
    return (
        f"make_timestamp(CASE WHEN {col} >= 100000000000000000 THEN {col} // 1000 "
        f"WHEN {col} >= 100000000000000 THEN {col} "
        f"WHEN {col} >= 100000000000 THEN {col} * 1000 ELSE {col} * 1000000 END)"
    )


def _time_expr(col: str, sql_type: str) -> str:
    if sql_type == "BIGINT":
        return _epoch_to_ts(col)
    # ISO-8601 / 'YYYY-MM-DD HH:MM:SS'; a zone suffix is honoured, no zone means UTC (session TZ is UTC)
    return f"CAST(TRY_CAST(trim({col}) AS TIMESTAMPTZ) AS TIMESTAMP)"


class Stager:
    """Reads one file into a temp table ``staged`` (with its row number) and validates it."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        csv_path: Path,
        display: str,
        layout: FileLayout,
        lines: tuple[str, str],
        limits: IngestLimits,
    ):
        self.con, self.display, self.layout, self.limits = con, display, layout, limits
        sample = lines[0]
        if layout.has_header:
            sample = lines[1]
            if not sample.strip():
                raise InputFileError(display, "header only, no data rows")
        self.types = _read_types(layout, sample)
        # the column names/types are this module's constants (layouts.COLUMNS); path and limits are bound
        cols = ", ".join(f"'{k}': '{v}'" for k, v in self.types.items())
        src = (
            f"read_csv(?, header={str(layout.has_header).lower()}, auto_detect=false, "
            f"delim=',', quote='\"', columns={{{cols}}}, strict_mode=true, null_padding=false, max_line_size=?)"
        )
        con.execute("DROP TABLE IF EXISTS staged_raw")
        try:
            con.execute(
                f"CREATE TEMP TABLE staged_raw AS SELECT row_number() OVER () AS src_row, * FROM {src}",
                [str(csv_path), max(limits.max_line_bytes, 4096)],
            )
        except duckdb.Error as exc:
            raise _duckdb_csv_error(display, exc, layout.has_header) from None
        self.rows_read = con.execute("SELECT count(*) FROM staged_raw").fetchone()[0]
        if self.rows_read == 0:
            raise InputFileError(display, "no data rows")

    def fail_where(self, condition: str, message: str, field: str | None, params: list | None = None) -> None:
        row = self.con.execute(f"SELECT min(src_row) FROM staged WHERE {condition}", params or []).fetchone()[0]
        if row is not None:
            raise InputFileError(self.display, message, row=int(row), field=field)

    def build(self, select_sql: str, params: list | None = None) -> None:
        """Create ``staged`` with canonical typed columns from ``staged_raw`` via ``select_sql`` (values bound
        through ``params``: ``select_sql`` holds only this module's identifiers)."""
        self.con.execute("DROP TABLE IF EXISTS staged")
        self.con.execute(f"CREATE TEMP TABLE staged AS SELECT src_row, {select_sql} FROM staged_raw", params or [])

    def check_numbers(
        self,
        positive: tuple[str, ...] = (),
        non_negative: tuple[str, ...] = (),
        required: tuple[str, ...] = (),
        optional: tuple[str, ...] = (),
        bounded: tuple[str, ...] = (),
    ) -> None:
        """``bounded``: columns that must stay below ``limits.max_value`` (prices, OI, quantities)."""
        for c in required:
            self.fail_where(f"{c} IS NULL", "missing value", c)
        for c in (*required, *optional):
            self.fail_where(f"isnan({c}) OR isinf({c})", "NaN or infinite value", c)
        for c in positive:
            self.fail_where(f"{c} <= 0", "must be > 0", c)
        for c in non_negative:
            self.fail_where(f"{c} < 0", "must be >= 0", c)
        for c in bounded:
            self.fail_where(
                f"abs({c}) >= ?",
                f"implausible value, must be < {self.limits.max_value:g} (limit --max-value)",
                c,
                [self.limits.max_value],
            )

    def check_times(self, *cols: str) -> None:
        for c in cols:
            self.fail_where(f"{c} IS NULL", "not a timestamp (epoch s/ms/µs or ISO-8601)", c)
            self.fail_where(
                f"{c} < TIMESTAMP '2000-01-01' OR {c} > TIMESTAMP '2100-01-01'",
                "timestamp out of range 2000..2100 (wrong unit?)",
                c,
            )
            latest = (
                pd.Timestamp.now(tz="UTC").tz_localize(None) + pd.Timedelta(self.limits.future_slack_ns, unit="ns")
            ).to_pydatetime()
            self.fail_where(
                f"{c} > ?",
                f"dated in the future (after {latest:%Y-%m-%d %H:%M} UTC, limit --future-slack)",
                c,
                [latest],
            )

    def check_name_symbol(self) -> None:
        """A file whose NAME names a symbol must hold rows of that symbol only."""
        if self.layout.symbol is None and self.layout.name_symbol is not None:
            self.fail_where(
                "symbol IS DISTINCT FROM ?",
                f"row of another symbol than the file name's {self.layout.name_symbol}",
                "symbol",
                [self.layout.name_symbol],
            )

    def dedupe(self, key: str) -> tuple[int, str | None]:
        """Drop exact duplicate rows (counted); a key repeated with different values is an error."""
        before = self.con.execute("SELECT count(*) FROM staged").fetchone()[0]
        cols = [r[0] for r in self.con.execute("DESCRIBE staged").fetchall() if r[0] != "src_row"]
        collist = ", ".join(cols)
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE staged AS SELECT min(src_row) AS src_row, {collist} "
            f"FROM staged GROUP BY ALL ORDER BY src_row"
        )
        n = self.con.execute("SELECT count(*) FROM staged").fetchone()[0]
        conflict = self.con.execute(
            f"SELECT max(src_row) FROM (SELECT src_row, count(*) OVER (PARTITION BY {key}) AS n FROM staged) WHERE n > 1"
        ).fetchone()[0]
        if conflict is not None:
            raise InputFileError(self.display, f"duplicate key ({key}) with different values", row=int(conflict))
        return before - n, None

    def check_order(self, time_col: str, partition: str, repair: bool) -> str | None:
        """Rows must be in time order within ``partition``; streams may be repaired by sorting."""
        bad = self.con.execute(
            f"SELECT src_row, lag_gap FROM (SELECT src_row, {time_col} - lag({time_col}) OVER "
            f"(PARTITION BY {partition} ORDER BY src_row) AS lag_gap FROM staged) "
            f"WHERE lag_gap < INTERVAL 0 SECOND ORDER BY src_row"
        ).fetchall()
        if not bad:
            return None
        worst = min(r[1] for r in bad)
        if not repair or -worst.total_seconds() * 1000 > STREAM_REORDER_TOLERANCE_MS:
            raise InputFileError(
                self.display,
                f"row out of time order (earlier than the row before by {-worst})",
                row=int(bad[0][0]),
                field=time_col,
            )
        return f"sorted {len(bad)} row(s) out of time order by at most {-worst.total_seconds():.3f} s"


def _opt(layout: FileLayout, name: str, expr: str | None = None, sql_type: str = "DOUBLE") -> str:
    if name in layout.columns:
        return f"{expr or name} AS {name}"
    return f"CAST(NULL AS {sql_type}) AS {name}"


def _symbol_expr(layout: FileLayout) -> tuple[str, list]:
    """SQL for the staged symbol column and its bound parameters (a symbol is never pasted into SQL)."""
    if layout.symbol is not None:
        return "CAST(? AS VARCHAR) AS symbol", [layout.symbol]
    return "symbol_norm(symbol) AS symbol", []


def stage_klines(st: Stager, layout: FileLayout) -> list[str]:
    step_ms = interval_ms(layout.interval)
    ot = _time_expr("open_time", st.types["open_time"])
    sym, params = _symbol_expr(layout)
    st.build(
        f"{sym}, CAST(? AS VARCHAR) AS interval, CAST(? AS VARCHAR) AS price_type, "
        f"{ot} AS open_time, {ot} + to_milliseconds(?) AS close_time, "
        f"open, high, low, close, volume, {_opt(layout, 'quote_volume')}, {_opt(layout, 'trades', sql_type='BIGINT')}, "
        f"{_opt(layout, 'taker_buy_volume')}, {_opt(layout, 'taker_buy_quote_volume')}",
        [*params, layout.interval, layout.price_type, step_ms - 1],
    )
    st.check_times("open_time")
    st.check_numbers(
        positive=("open", "high", "low", "close"),
        non_negative=("volume",),
        required=("open", "high", "low", "close", "volume"),
        optional=("quote_volume", "taker_buy_volume", "taker_buy_quote_volume"),
        bounded=("open", "high", "low", "close"),
    )
    st.fail_where(
        "high < greatest(open, close, low) OR low > least(open, close)", "high/low do not bracket open/close", "high"
    )
    st.fail_where("taker_buy_volume > volume * (1 + 1e-9)", "taker-buy volume exceeds volume", "taker_buy_volume")
    st.fail_where(
        "epoch_ms(open_time) % ? <> 0 AND ? <= 86400000",
        f"open_time not on a {layout.interval} boundary (wrong --interval?)",
        "open_time",
        [step_ms, step_ms],
    )
    repairs = []
    st.check_order("open_time", "symbol", repair=False)
    return repairs


def stage_metrics(st: Stager, layout: FileLayout) -> list[str]:
    ct = _time_expr("create_time", st.types["create_time"])
    ratios = (
        "count_toptrader_long_short_ratio",
        "sum_toptrader_long_short_ratio",
        "count_long_short_ratio",
        "sum_taker_long_short_vol_ratio",
    )
    sym, params = _symbol_expr(layout)
    st.build(
        f"{sym}, {ct} AS stamp_time, sum_open_interest, "
        f"{_opt(layout, 'sum_open_interest_value')}, " + ", ".join(_opt(layout, r) for r in ratios),
        params,
    )
    st.check_name_symbol()
    st.check_times("stamp_time")
    st.check_numbers(
        non_negative=("sum_open_interest", "sum_open_interest_value"),
        required=("sum_open_interest",),
        optional=("sum_open_interest_value", *ratios),
        bounded=("sum_open_interest", "sum_open_interest_value"),
    )
    st.check_order("stamp_time", "symbol", repair=False)
    zeros = st.con.execute("SELECT count(*) FROM staged WHERE sum_open_interest = 0").fetchone()[0]
    if zeros:
        st.con.execute(
            "UPDATE staged SET sum_open_interest = NULL, sum_open_interest_value = NULL WHERE sum_open_interest = 0"
        )
        return [f"{zeros} row(s) with zero open interest stored as missing (NULL)"]
    return []


def stage_funding(st: Stager, layout: FileLayout) -> list[str]:
    t = _time_expr("time", st.types["time"])
    sym, params = _symbol_expr(layout)
    st.build(
        f"{sym}, {t} AS time, funding_rate, {_opt(layout, 'mark_price')}, "
        f"{_opt(layout, 'interval_hours', sql_type='INTEGER')}",
        params,
    )
    st.check_name_symbol()
    st.check_times("time")
    st.check_numbers(
        positive=("mark_price",), required=("funding_rate",), optional=("mark_price",), bounded=("mark_price",)
    )
    st.fail_where(
        "abs(funding_rate) > 0.05",
        "funding rate beyond ±5% per interval (percent instead of fraction?)",
        "funding_rate",
    )
    st.fail_where(
        "interval_hours IS NOT NULL AND interval_hours NOT IN (1, 2, 4, 8)",
        "funding interval must be 1, 2, 4 or 8 h",
        "interval_hours",
    )
    st.check_order("time", "symbol", repair=False)
    return []


def _bool_expr(col: str) -> str:
    return (
        f"CASE lower(trim({col})) WHEN 'true' THEN true WHEN 'false' THEN false WHEN '1' THEN true "
        f"WHEN '0' THEN false END"
    )


def stage_agg_trades(st: Stager, layout: FileLayout) -> list[str]:
    repairs = []
    stream = "event_time" in layout.columns
    if stream:  # recorded stream: some recorders wrote the trade time as local clock text (HH:MM:SS)
        t = f"CASE WHEN regexp_full_match(trim(time), '[0-9]+') THEN {_epoch_to_ts('CAST(trim(time) AS BIGINT)')} END"
    else:
        t = _time_expr("time", st.types["time"])
    extra = f", {_time_expr('event_time', st.types['event_time'])} AS event_ts" if stream else ""
    sym, params = _symbol_expr(layout)
    st.build(
        f"{sym}, agg_trade_id, {t} AS time, price, quantity, "
        f"{_opt(layout, 'first_trade_id', sql_type='BIGINT')}, {_opt(layout, 'last_trade_id', sql_type='BIGINT')}, "
        f"{_bool_expr('is_buyer_maker')} AS is_buyer_maker, is_buyer_maker AS is_buyer_maker_raw{extra}",
        params,
    )
    st.check_name_symbol()
    if stream:
        bad = st.con.execute("SELECT count(*) FROM staged WHERE time IS NULL").fetchone()[0]
        if bad:
            st.con.execute("""DELETE FROM staged s WHERE time IS NULL AND EXISTS (SELECT 1 FROM staged t
                WHERE t.symbol = s.symbol AND t.agg_trade_id = s.agg_trade_id AND t.time IS NOT NULL)""")
            left = st.con.execute("UPDATE staged SET time = event_ts WHERE time IS NULL").fetchone()[0]
            repairs.append(
                f"{bad} row(s) with a clock-text trade time: {bad - left} dropped as copies of a "
                f"well-formed row, {left} given the stream event time"
            )
        st.con.execute("ALTER TABLE staged DROP COLUMN event_ts")
    st.check_times("time")
    st.check_numbers(positive=("price", "quantity"), required=("price", "quantity"), bounded=("price", "quantity"))
    st.fail_where("agg_trade_id IS NULL", "missing value", "agg_trade_id")
    st.fail_where("is_buyer_maker IS NULL", "expected true/false", "is_buyer_maker")
    st.con.execute("ALTER TABLE staged DROP COLUMN is_buyer_maker_raw")
    fix = st.check_order("time", "symbol", repair=True)
    return repairs + ([fix] if fix else [])


def stage_liquidations(st: Stager, layout: FileLayout, source: str) -> list[str]:
    t = _time_expr("time", st.types["time"])
    usd = "usd_value" if "usd_value" in layout.columns else "price * quantity"
    sym, params = _symbol_expr(layout)
    st.build(
        f"{sym}, {t} AS time, upper(trim(side)) AS side, price, quantity, "
        f"{usd} AS usd_value, CAST(? AS VARCHAR) AS source",
        [*params, source],
    )
    st.check_name_symbol()
    st.check_times("time")
    st.check_numbers(
        positive=("price", "quantity"),
        non_negative=("usd_value",),
        required=("price", "quantity", "usd_value"),
        bounded=("price", "quantity"),
    )
    st.fail_where("side NOT IN ('BUY', 'SELL')", "side must be BUY or SELL", "side")
    st.fail_where("symbol IS NULL OR symbol = 'USDT'", "missing symbol", "symbol")
    repairs = []
    # usd_value is always average fill price x filled quantity. Recorders' own usd_size uses the order
    # (bankruptcy) price, and one real recording repeats events with usd_size divided by 1e6.
    bad_usd = st.con.execute(
        "SELECT count(*) FROM staged WHERE abs(usd_value - price * quantity) > 0.01 * price * quantity"
    ).fetchone()[0]
    if bad_usd:
        repairs.append(f"{bad_usd} recorded usd value(s) off by >1% from avg price x quantity; recomputed")
    st.con.execute("UPDATE staged SET usd_value = round(price * quantity, 6)")
    fix = st.check_order("time", "source", repair=True)
    return repairs + ([fix] if fix else [])
