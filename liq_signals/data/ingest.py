"""Load Binance USD-M files (``.csv`` or data.binance.vision ``.zip``) into the DuckDB store.

DuckDB's CSV reader does the parsing; validation and inserts are SQL over the staged table (values bound as
parameters, identifiers only from this package's constants). One transaction per run: any error or interrupt
leaves the database exactly as it was. Re-ingesting a file changes nothing and overlapping files merge; a
row whose key is stored with OTHER values is an error unless ``on_conflict`` says ``replace`` or ``keep``
(:mod:`liq_signals.data.conflicts`). Resource limits and plausibility bounds: :mod:`liq_signals.data.limits`.
Metrics observation lags are measured per file and never revised: :mod:`liq_signals.data.metrics_lag`.

Documented repairs (reported, never silent):
- exact duplicate rows inside a file are dropped and counted (the liquidation recordings have many);
- a liquidation's usd value is recomputed as average price x filled quantity (recorders use the order
  price; one real recording repeats events with usd_size / 1e6: after the repair they are exact duplicates);
- event streams (aggTrades, liquidations) whose rows are out of time order by a little are sorted;
- open interest of exactly 0 (recorder glitch) is stored as NULL = missing.
Anything else that is wrong (bad number, NaN, negative or implausible price, out-of-order candle, conflicting
duplicate, row dated in the future, row of another symbol than the file name's, wrong checksum, truncated
zip, zip bomb, endless line, wrong columns) raises ``InputFileError`` naming file/row/field.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from liq_signals.data import conflicts, metrics_lag
from liq_signals.data import db as dbmod
from liq_signals.data.layouts import KLINE_KINDS, FileLayout, detect_layout, interval_ms, normalise_symbol
from liq_signals.data.limits import DEFAULT_LIMITS, IngestLimits, check_columns, extract_member, read_line
from liq_signals.errors import InputFileError, LiqSignalsError

DATA_SUFFIXES = (".csv", ".zip")
COVERAGE_GAP_LIMIT_S = 600.0
# Stream rows may be out of order by this much (ms) and are sorted; more is an error.
STREAM_REORDER_TOLERANCE_MS = 5_000


@dataclass
class FileResult:
    """What happened to one file: rows read / new / already present, duplicates dropped, repairs."""

    file: str
    kind: str
    symbols: list[str]
    rows_read: int
    rows_new: int
    duplicates_dropped: int
    repairs: list[str] = field(default_factory=list)
    conflicts: int = 0  # rows whose key was stored with other values (handled by the --on-conflict policy)
    conflict_policy: str = "error"


@dataclass
class IngestReport:
    files: list[FileResult] = field(default_factory=list)
    metrics_lag: dict[str, tuple[int, str]] = field(default_factory=dict)

    @property
    def rows_new(self) -> int:
        return sum(f.rows_new for f in self.files)


def find_data_files(paths: list[str | Path]) -> list[Path]:
    """Expand directories (recursively) into ``.csv``/``.zip`` files, in sorted order."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in DATA_SUFFIXES))
        elif p.is_file():
            out.append(p)
        else:
            raise LiqSignalsError(f"{p}: no such file or directory")
    if not out:
        raise LiqSignalsError(f"no .csv or .zip files found in {', '.join(map(str, paths))}")
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _extract_csv(path: Path, tmpdir: Path, display: str, limits: IngestLimits) -> tuple[Path, Path]:
    """Return (csv path, name-bearing path): zips are checksum-verified (when a .CHECKSUM sits next to them)
    and their single CSV extracted into ``tmpdir``."""
    if path.suffix.lower() != ".zip":
        return path, path
    checksum = path.with_name(path.name + ".CHECKSUM")
    if checksum.exists():
        expected = checksum.read_text().split()[0].strip().lower() if checksum.read_text().strip() else ""
        actual = _sha256(path)
        if expected != actual:
            raise InputFileError(display, f"sha256 {actual[:16]}… does not match {checksum.name} ({expected[:16]}…)")
    try:
        with zipfile.ZipFile(path) as zf:
            members = [m for m in zf.namelist() if m.lower().endswith(".csv")]
            if len(members) != 1:
                raise InputFileError(display, f"zip holds {len(members)} CSV files, expected exactly 1")
            target = tmpdir / Path(members[0]).name
            extract_member(zf, members[0], target, limits, display)
    except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError) as exc:
        raise InputFileError(display, f"not a readable zip (truncated or corrupt?): {exc}") from None
    except OSError as exc:
        raise InputFileError(display, f"cannot unpack into {tmpdir}: {exc.strerror or exc}") from None
    # the extracted CSV keeps the zip's folder context (kline kind folders) for kind detection
    return target, path.with_suffix(".csv")


def _first_lines(path: Path, display: str, limits: IngestLimits) -> tuple[str, str]:
    """The first two lines (text; the second is '' when absent), each bounded by the line-length limit."""
    with open(path, "rb") as f:
        raw = read_line(f, limits, display, 1)
        raw2 = read_line(f, limits, display, 2) if raw.strip() else b""
    if not raw.strip():
        raise InputFileError(display, "file is empty")
    try:
        first, second = raw.decode("utf-8-sig"), raw2.decode("utf-8")
    except UnicodeDecodeError:
        raise InputFileError(display, "not UTF-8 text", row=1) from None
    check_columns(first, limits, display, 1)
    return first, second


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
        return InputFileError(display, f"expected {cols.group(1)} columns, found {cols.group(2)} (truncated line?)", row=row)
    if "maximum line size" in msg.lower():
        return InputFileError(display, "line longer than the limit (--max-line-kb)", row=row)
    first = msg.strip().splitlines()[0] if msg.strip() else type(exc).__name__
    return InputFileError(display, first, row=row)


def _epoch_to_ts(col: str) -> str:
    """SQL turning an epoch column (s, ms, µs or ns, detected per value by magnitude) into TIMESTAMP."""
    return (f"make_timestamp(CASE WHEN {col} >= 100000000000000000 THEN {col} // 1000 "
            f"WHEN {col} >= 100000000000000 THEN {col} "
            f"WHEN {col} >= 100000000000 THEN {col} * 1000 ELSE {col} * 1000000 END)")


def _time_expr(col: str, sql_type: str) -> str:
    if sql_type == "BIGINT":
        return _epoch_to_ts(col)
    # ISO-8601 / 'YYYY-MM-DD HH:MM:SS'; a zone suffix is honoured, no zone means UTC (session TZ is UTC)
    return f"CAST(TRY_CAST(trim({col}) AS TIMESTAMPTZ) AS TIMESTAMP)"


class _Stager:
    """Reads one file into a temp table ``staged`` (with its row number) and validates it."""

    def __init__(self, con: duckdb.DuckDBPyConnection, csv_path: Path, display: str, layout: FileLayout,
                 lines: tuple[str, str], limits: IngestLimits):
        self.con, self.display, self.layout, self.limits = con, display, layout, limits
        sample = lines[0]
        if layout.has_header:
            sample = lines[1]
            if not sample.strip():
                raise InputFileError(display, "header only, no data rows")
        self.types = _read_types(layout, sample)
        # the column names/types are this module's constants (layouts.COLUMNS); path and limits are bound
        cols = ", ".join(f"'{k}': '{v}'" for k, v in self.types.items())
        src = (f"read_csv(?, header={str(layout.has_header).lower()}, auto_detect=false, "
               f"delim=',', quote='\"', columns={{{cols}}}, strict_mode=true, null_padding=false, max_line_size=?)")
        con.execute("DROP TABLE IF EXISTS staged_raw")
        try:
            con.execute(f"CREATE TEMP TABLE staged_raw AS SELECT row_number() OVER () AS src_row, * FROM {src}",
                        [str(csv_path), max(limits.max_line_bytes, 4096)])
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

    def check_numbers(self, positive: tuple[str, ...] = (), non_negative: tuple[str, ...] = (),
                      required: tuple[str, ...] = (), optional: tuple[str, ...] = (),
                      bounded: tuple[str, ...] = ()) -> None:
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
            self.fail_where(f"abs({c}) >= ?", f"implausible value, must be < {self.limits.max_value:g} "
                            "(limit --max-value)", c, [self.limits.max_value])

    def check_times(self, *cols: str) -> None:
        for c in cols:
            self.fail_where(f"{c} IS NULL", "not a timestamp (epoch s/ms/µs or ISO-8601)", c)
            self.fail_where(f"{c} < TIMESTAMP '2000-01-01' OR {c} > TIMESTAMP '2100-01-01'",
                            "timestamp out of range 2000..2100 (wrong unit?)", c)
            latest = (pd.Timestamp.now(tz="UTC").tz_localize(None)
                      + pd.Timedelta(self.limits.future_slack_ns, unit="ns")).to_pydatetime()
            self.fail_where(f"{c} > ?", f"dated in the future (after {latest:%Y-%m-%d %H:%M} UTC, "
                            "limit --future-slack)", c, [latest])

    def check_name_symbol(self) -> None:
        """A file whose NAME names a symbol must hold rows of that symbol only."""
        if self.layout.symbol is None and self.layout.name_symbol is not None:
            self.fail_where("symbol IS DISTINCT FROM ?", f"row of another symbol than the file name's "
                            f"{self.layout.name_symbol}", "symbol", [self.layout.name_symbol])

    def dedupe(self, key: str) -> tuple[int, str | None]:
        """Drop exact duplicate rows (counted); a key repeated with different values is an error."""
        before = self.con.execute("SELECT count(*) FROM staged").fetchone()[0]
        cols = [r[0] for r in self.con.execute("DESCRIBE staged").fetchall() if r[0] != "src_row"]
        collist = ", ".join(cols)
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE staged AS SELECT min(src_row) AS src_row, {collist} "
            f"FROM staged GROUP BY ALL ORDER BY src_row")
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
            f"WHERE lag_gap < INTERVAL 0 SECOND ORDER BY src_row").fetchall()
        if not bad:
            return None
        worst = min(r[1] for r in bad)
        if not repair or -worst.total_seconds() * 1000 > STREAM_REORDER_TOLERANCE_MS:
            raise InputFileError(self.display, f"row out of time order (earlier than the row before by {-worst})",
                                 row=int(bad[0][0]), field=time_col)
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


def _stage_klines(st: _Stager, layout: FileLayout) -> list[str]:
    step_ms = interval_ms(layout.interval)
    ot = _time_expr("open_time", st.types["open_time"])
    sym, params = _symbol_expr(layout)
    st.build(
        f"{sym}, CAST(? AS VARCHAR) AS interval, CAST(? AS VARCHAR) AS price_type, "
        f"{ot} AS open_time, {ot} + to_milliseconds(?) AS close_time, "
        f"open, high, low, close, volume, {_opt(layout, 'quote_volume')}, {_opt(layout, 'trades', sql_type='BIGINT')}, "
        f"{_opt(layout, 'taker_buy_volume')}, {_opt(layout, 'taker_buy_quote_volume')}",
        [*params, layout.interval, layout.price_type, step_ms - 1])
    st.check_times("open_time")
    st.check_numbers(positive=("open", "high", "low", "close"), non_negative=("volume",),
                     required=("open", "high", "low", "close", "volume"),
                     optional=("quote_volume", "taker_buy_volume", "taker_buy_quote_volume"),
                     bounded=("open", "high", "low", "close"))
    st.fail_where("high < greatest(open, close, low) OR low > least(open, close)", "high/low do not bracket open/close", "high")
    st.fail_where("taker_buy_volume > volume * (1 + 1e-9)", "taker-buy volume exceeds volume", "taker_buy_volume")
    st.fail_where("epoch_ms(open_time) % ? <> 0 AND ? <= 86400000",
                  f"open_time not on a {layout.interval} boundary (wrong --interval?)", "open_time", [step_ms, step_ms])
    repairs = []
    st.check_order("open_time", "symbol", repair=False)
    return repairs


def _stage_metrics(st: _Stager, layout: FileLayout) -> list[str]:
    ct = _time_expr("create_time", st.types["create_time"])
    ratios = ("count_toptrader_long_short_ratio", "sum_toptrader_long_short_ratio", "count_long_short_ratio",
              "sum_taker_long_short_vol_ratio")
    sym, params = _symbol_expr(layout)
    st.build(f"{sym}, {ct} AS stamp_time, sum_open_interest, "
             f"{_opt(layout, 'sum_open_interest_value')}, " + ", ".join(_opt(layout, r) for r in ratios), params)
    st.check_name_symbol()
    st.check_times("stamp_time")
    st.check_numbers(non_negative=("sum_open_interest", "sum_open_interest_value"), required=("sum_open_interest",),
                     optional=("sum_open_interest_value", *ratios),
                     bounded=("sum_open_interest", "sum_open_interest_value"))
    st.check_order("stamp_time", "symbol", repair=False)
    zeros = st.con.execute("SELECT count(*) FROM staged WHERE sum_open_interest = 0").fetchone()[0]
    if zeros:
        st.con.execute("UPDATE staged SET sum_open_interest = NULL, sum_open_interest_value = NULL WHERE sum_open_interest = 0")
        return [f"{zeros} row(s) with zero open interest stored as missing (NULL)"]
    return []


def _stage_funding(st: _Stager, layout: FileLayout) -> list[str]:
    t = _time_expr("time", st.types["time"])
    sym, params = _symbol_expr(layout)
    st.build(f"{sym}, {t} AS time, funding_rate, {_opt(layout, 'mark_price')}, "
             f"{_opt(layout, 'interval_hours', sql_type='INTEGER')}", params)
    st.check_name_symbol()
    st.check_times("time")
    st.check_numbers(positive=("mark_price",), required=("funding_rate",), optional=("mark_price",),
                     bounded=("mark_price",))
    st.fail_where("abs(funding_rate) > 0.05", "funding rate beyond ±5% per interval (percent instead of fraction?)", "funding_rate")
    st.fail_where("interval_hours IS NOT NULL AND interval_hours NOT IN (1, 2, 4, 8)", "funding interval must be 1, 2, 4 or 8 h", "interval_hours")
    st.check_order("time", "symbol", repair=False)
    return []


def _bool_expr(col: str) -> str:
    return (f"CASE lower(trim({col})) WHEN 'true' THEN true WHEN 'false' THEN false WHEN '1' THEN true "
            f"WHEN '0' THEN false END")


def _stage_agg_trades(st: _Stager, layout: FileLayout) -> list[str]:
    repairs = []
    stream = "event_time" in layout.columns
    if stream:  # recorded stream: some recorders wrote the trade time as local clock text (HH:MM:SS)
        t = f"CASE WHEN regexp_full_match(trim(time), '[0-9]+') THEN {_epoch_to_ts('CAST(trim(time) AS BIGINT)')} END"
    else:
        t = _time_expr("time", st.types["time"])
    extra = f", {_time_expr('event_time', st.types['event_time'])} AS event_ts" if stream else ""
    sym, params = _symbol_expr(layout)
    st.build(f"{sym}, agg_trade_id, {t} AS time, price, quantity, "
             f"{_opt(layout, 'first_trade_id', sql_type='BIGINT')}, {_opt(layout, 'last_trade_id', sql_type='BIGINT')}, "
             f"{_bool_expr('is_buyer_maker')} AS is_buyer_maker, is_buyer_maker AS is_buyer_maker_raw{extra}", params)
    st.check_name_symbol()
    if stream:
        bad = st.con.execute("SELECT count(*) FROM staged WHERE time IS NULL").fetchone()[0]
        if bad:
            st.con.execute("""DELETE FROM staged s WHERE time IS NULL AND EXISTS (SELECT 1 FROM staged t
                WHERE t.symbol = s.symbol AND t.agg_trade_id = s.agg_trade_id AND t.time IS NOT NULL)""")
            left = st.con.execute("UPDATE staged SET time = event_ts WHERE time IS NULL").fetchone()[0]
            repairs.append(f"{bad} row(s) with a clock-text trade time: {bad - left} dropped as copies of a "
                           f"well-formed row, {left} given the stream event time")
        st.con.execute("ALTER TABLE staged DROP COLUMN event_ts")
    st.check_times("time")
    st.check_numbers(positive=("price", "quantity"), required=("price", "quantity"), bounded=("price", "quantity"))
    st.fail_where("agg_trade_id IS NULL", "missing value", "agg_trade_id")
    st.fail_where("is_buyer_maker IS NULL", "expected true/false", "is_buyer_maker")
    st.con.execute("ALTER TABLE staged DROP COLUMN is_buyer_maker_raw")
    fix = st.check_order("time", "symbol", repair=True)
    return repairs + ([fix] if fix else [])


def _stage_liquidations(st: _Stager, layout: FileLayout, source: str) -> list[str]:
    t = _time_expr("time", st.types["time"])
    usd = "usd_value" if "usd_value" in layout.columns else "price * quantity"
    sym, params = _symbol_expr(layout)
    st.build(f"{sym}, {t} AS time, upper(trim(side)) AS side, price, quantity, "
             f"{usd} AS usd_value, CAST(? AS VARCHAR) AS source", [*params, source])
    st.check_name_symbol()
    st.check_times("time")
    st.check_numbers(positive=("price", "quantity"), non_negative=("usd_value",),
                     required=("price", "quantity", "usd_value"), bounded=("price", "quantity"))
    st.fail_where("side NOT IN ('BUY', 'SELL')", "side must be BUY or SELL", "side")
    st.fail_where("symbol IS NULL OR symbol = 'USDT'", "missing symbol", "symbol")
    repairs = []
    # usd_value is always average fill price x filled quantity. Recorders' own usd_size uses the order
    # (bankruptcy) price, and one real recording repeats events with usd_size divided by 1e6.
    bad_usd = st.con.execute("SELECT count(*) FROM staged WHERE abs(usd_value - price * quantity) > 0.01 * price * quantity").fetchone()[0]
    if bad_usd:
        repairs.append(f"{bad_usd} recorded usd value(s) off by >1% from avg price x quantity; recomputed")
    st.con.execute("UPDATE staged SET usd_value = round(price * quantity, 6)")
    fix = st.check_order("time", "source", repair=True)
    return repairs + ([fix] if fix else [])


INSERTS = {
    "klines": ("klines", "symbol, interval, price_type, open_time, close_time, open, high, low, close, volume, "
                         "quote_volume, trades, taker_buy_volume, taker_buy_quote_volume",
               "symbol, interval, price_type, open_time"),
    "metrics": ("open_interest", "symbol, stamp_time, stamp_time AS time, sum_open_interest, sum_open_interest_value, "
                                 "count_toptrader_long_short_ratio, sum_toptrader_long_short_ratio, "
                                 "count_long_short_ratio, sum_taker_long_short_vol_ratio", "symbol, stamp_time"),
    "fundingRate": ("funding", "symbol, time, funding_rate, mark_price, interval_hours", "symbol, time"),
    "aggTrades": ("agg_trades", "symbol, agg_trade_id, time, price, quantity, first_trade_id, last_trade_id, "
                                "is_buyer_maker", "symbol, agg_trade_id"),
    "liquidations": ("liquidations", "symbol, time, side, price, quantity, usd_value, source",
                     "symbol, time, side, price, quantity"),
}


def _ingest_one(con: duckdb.DuckDBPyConnection, path: Path, display: str, tmpdir: Path, file_no: int,
                kind: str | None, symbol: str | None, interval: str | None, limits: IngestLimits,
                on_conflict: str) -> tuple[FileResult, str]:
    csv_path, name_path = _extract_csv(path, tmpdir, display, limits)
    lines = _first_lines(csv_path, display, limits)
    layout = detect_layout(name_path, display, lines[0], kind, symbol, interval)
    st = _Stager(con, csv_path, display, layout, lines, limits)
    k = "klines" if layout.kind in KLINE_KINDS else layout.kind
    if k == "klines":
        repairs = _stage_klines(st, layout)
    elif k == "metrics":
        repairs = _stage_metrics(st, layout)
    elif k == "fundingRate":
        repairs = _stage_funding(st, layout)
    elif k == "aggTrades":
        repairs = _stage_agg_trades(st, layout)
    else:
        repairs = _stage_liquidations(st, layout, path.name)
    table, columns, key = INSERTS[k]
    dropped, _ = st.dedupe(key)
    if dropped:
        repairs.append(f"dropped {dropped} exact duplicate row(s)")
    n_conflicts = conflicts.resolve(con, table, on_conflict, display)
    if n_conflicts:
        did = "replaced by the file's values" if on_conflict == "replace" else "kept as stored"
        repairs.append(f"{n_conflicts} row(s) conflicting with stored values {did} (--on-conflict {on_conflict})")
    if k == "metrics":
        metrics_lag.record_file(con, file_no)
    before = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    con.execute(f"INSERT INTO {table} SELECT {columns} FROM staged ORDER BY src_row ON CONFLICT DO NOTHING")
    after = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    symbols = [r[0] for r in con.execute("SELECT DISTINCT symbol FROM staged ORDER BY 1").fetchall()]
    if k == "liquidations":
        _store_coverage(con, path.name)
    sha = _sha256(path)
    replaced = n_conflicts if on_conflict == "replace" else 0
    con.execute("INSERT OR REPLACE INTO ingest_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, now())",
                [display, sha, layout.kind, ",".join(symbols[:5]) + ("…" if len(symbols) > 5 else ""),
                 st.rows_read, after - before - replaced, dropped, "; ".join(repairs) or None])
    result = FileResult(display, layout.kind, symbols, st.rows_read, after - before - replaced, dropped, repairs,
                        n_conflicts, on_conflict)
    return result, sha


def _store_coverage(con: duckdb.DuckDBPyConnection, source: str, gap_limit_s: float = COVERAGE_GAP_LIMIT_S) -> None:
    """Covered intervals of one recording: its all-symbol event stream, split at silences > gap_limit_s."""
    con.execute("DELETE FROM liquidation_coverage WHERE source = ?", [source])
    con.execute(f"""
        INSERT INTO liquidation_coverage
        SELECT source, min(time), max(time), {gap_limit_s}, count(*) FROM (
            SELECT source, time, sum(new_block) OVER (ORDER BY time) AS block FROM (
                SELECT source, time, CASE WHEN time - lag(time) OVER (ORDER BY time)
                    > INTERVAL {int(gap_limit_s * 1000)} MILLISECOND THEN 1 ELSE 0 END AS new_block
                FROM liquidations WHERE source = ?))
        GROUP BY source, block""", [source])


def _rollback_quietly(con) -> None:
    """Roll back without letting a failing rollback hide the error that caused it."""
    try:
        con.execute("ROLLBACK")
    except Exception:  # noqa: BLE001 - the original error is what the user must see
        pass


def ingest_paths(paths: list[str | Path], db_path: str | Path, kind: str | None = None, symbol: str | None = None,
                 interval: str | None = None, progress=None, limits: IngestLimits = DEFAULT_LIMITS,
                 on_conflict: str = "error") -> IngestReport:
    """Ingest files/directories into the DuckDB file at ``db_path`` in one transaction.

    ``progress`` is an optional callable(file_display_name) called after each file. ``limits``: resource limits
    and plausibility bounds (:mod:`liq_signals.data.limits`). ``on_conflict``: what to do with a row whose key
    is stored with other values — ``error`` (default), ``replace`` or ``keep`` (:mod:`.conflicts`).
    Raises ``InputFileError``/``LiqSignalsError`` (database trouble: one line naming the file and the cause);
    on any error or interrupt nothing is written and the temporary folder is removed.
    """
    conflicts.check_policy(on_conflict)
    files = find_data_files(paths)
    con = dbmod.connect(db_path)
    tmpdir = None
    try:
        con.create_function("symbol_norm", lambda s: normalise_symbol(s) if s and s.strip() else None,
                            ["VARCHAR"], "VARCHAR", null_handling="special")
        report = IngestReport()
        tmpdir = Path(tempfile.mkdtemp(prefix="liq_ingest_"))
        con.execute("BEGIN TRANSACTION")
        try:
            metrics_lag.start_run(con)
            shas: dict[int, tuple[str, str]] = {}
            for i, f in enumerate(files):
                result, sha = _ingest_one(con, f, str(f), tmpdir, i, kind, symbol, interval, limits, on_conflict)
                report.files.append(result)
                shas[i] = (str(f), sha)
                if progress is not None:
                    progress(str(f))
            lags = metrics_lag.measure_and_apply(con, shas)
            for (file_no, sym), (lag, method) in lags.items():
                report.metrics_lag[sym] = (lag, method)
            for t in ("staged", "staged_raw", "run_metrics", "conflicts"):
                con.execute(f"DROP TABLE IF EXISTS {t}")
            con.execute("COMMIT")
        except BaseException as exc:
            _rollback_quietly(con)
            # Ctrl-C / SIGTERM inside a DuckDB call surfaces as its "Query interrupted" error: an interrupt
            if isinstance(exc, (duckdb.InterruptException, RuntimeError)) and "interrupted" in str(exc).lower():
                raise KeyboardInterrupt from None
            if isinstance(exc, duckdb.Error):
                raise LiqSignalsError(dbmod.describe_db_error(db_path, exc)) from None
            raise
    finally:
        try:
            con.close()
        finally:
            if tmpdir is not None:
                shutil.rmtree(tmpdir, ignore_errors=True)
    return report
