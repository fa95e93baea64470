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
import shutil
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from liq_signals.data import conflicts, metrics_lag
from liq_signals.data import db as dbmod
from liq_signals.data.layouts import KLINE_KINDS, detect_layout, normalise_symbol
from liq_signals.data.limits import DEFAULT_LIMITS, IngestLimits, check_columns, extract_member, read_line
from liq_signals.data.staging import (
    Stager,
    stage_agg_trades,
    stage_funding,
    stage_klines,
    stage_liquidations,
    stage_metrics,
)
from liq_signals.errors import InputFileError, LiqSignalsError

DATA_SUFFIXES = (".csv", ".zip")
COVERAGE_GAP_LIMIT_S = 600.0


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


INSERTS = {
    "klines": (
        "klines",
        "symbol, interval, price_type, open_time, close_time, open, high, low, close, volume, "
        "quote_volume, trades, taker_buy_volume, taker_buy_quote_volume",
        "symbol, interval, price_type, open_time",
    ),
    "metrics": (
        "open_interest",
        "symbol, stamp_time, stamp_time AS time, sum_open_interest, sum_open_interest_value, "
        "count_toptrader_long_short_ratio, sum_toptrader_long_short_ratio, "
        "count_long_short_ratio, sum_taker_long_short_vol_ratio",
        "symbol, stamp_time",
    ),
    "fundingRate": ("funding", "symbol, time, funding_rate, mark_price, interval_hours", "symbol, time"),
    "aggTrades": (
        "agg_trades",
        "symbol, agg_trade_id, time, price, quantity, first_trade_id, last_trade_id, is_buyer_maker",
        "symbol, agg_trade_id",
    ),
    "liquidations": (
        "liquidations",
        "symbol, time, side, price, quantity, usd_value, source",
        "symbol, time, side, price, quantity",
    ),
}


def _ingest_one(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    display: str,
    tmpdir: Path,
    file_no: int,
    kind: str | None,
    symbol: str | None,
    interval: str | None,
    limits: IngestLimits,
    on_conflict: str,
) -> tuple[FileResult, str]:
    csv_path, name_path = _extract_csv(path, tmpdir, display, limits)
    lines = _first_lines(csv_path, display, limits)
    layout = detect_layout(name_path, display, lines[0], kind, symbol, interval)
    st = Stager(con, csv_path, display, layout, lines, limits)
    k = "klines" if layout.kind in KLINE_KINDS else layout.kind
    if k == "klines":
        repairs = stage_klines(st, layout)
    elif k == "metrics":
        repairs = stage_metrics(st, layout)
    elif k == "fundingRate":
        repairs = stage_funding(st, layout)
    elif k == "aggTrades":
        repairs = stage_agg_trades(st, layout)
    else:
        repairs = stage_liquidations(st, layout, path.name)
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
    con.execute(
        "INSERT OR REPLACE INTO ingest_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, now())",
        [
            display,
            sha,
            layout.kind,
            ",".join(symbols[:5]) + ("…" if len(symbols) > 5 else ""),
            st.rows_read,
            after - before - replaced,
            dropped,
            "; ".join(repairs) or None,
        ],
    )
    result = FileResult(
        display,
        layout.kind,
        symbols,
        st.rows_read,
        after - before - replaced,
        dropped,
        repairs,
        n_conflicts,
        on_conflict,
    )
    return result, sha


def _store_coverage(con: duckdb.DuckDBPyConnection, source: str, gap_limit_s: float = COVERAGE_GAP_LIMIT_S) -> None:
    """Covered intervals of one recording: its all-symbol event stream, split at silences > gap_limit_s."""
    con.execute("DELETE FROM liquidation_coverage WHERE source = ?", [source])
    con.execute(
        f"""
        INSERT INTO liquidation_coverage
        SELECT source, min(time), max(time), {gap_limit_s}, count(*) FROM (
            SELECT source, time, sum(new_block) OVER (ORDER BY time) AS block FROM (
                SELECT source, time, CASE WHEN time - lag(time) OVER (ORDER BY time)
                    > INTERVAL {int(gap_limit_s * 1000)} MILLISECOND THEN 1 ELSE 0 END AS new_block
                FROM liquidations WHERE source = ?))
        GROUP BY source, block""",
        [source],
    )


def _rollback_quietly(con) -> None:
    """Roll back without letting a failing rollback hide the error that caused it."""
    try:
        con.execute("ROLLBACK")
    except Exception:  # noqa: BLE001 - the original error is what the user must see
        pass


def ingest_paths(
    paths: list[str | Path],
    db_path: str | Path,
    kind: str | None = None,
    symbol: str | None = None,
    interval: str | None = None,
    progress=None,
    limits: IngestLimits = DEFAULT_LIMITS,
    on_conflict: str = "error",
) -> IngestReport:
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
        con.create_function(
            "symbol_norm",
            lambda s: normalise_symbol(s) if s and s.strip() else None,
            ["VARCHAR"],
            "VARCHAR",
            null_handling="special",
        )
        report = IngestReport()
        tmpdir = Path(tempfile.mkdtemp(prefix="liq_ingest_"))
        con.execute("BEGIN TRANSACTION")
        try:
            metrics_lag.start_run(con)
            shas: dict[int, tuple[str, str]] = {}
            for i, f in enumerate(files):
                try:
                    result, sha = _ingest_one(con, f, str(f), tmpdir, i, kind, symbol, interval, limits, on_conflict)
                except (duckdb.ConversionException, duckdb.InvalidInputException, duckdb.ConstraintException) as exc:
                    # data the checks above did not foresee: still the file's fault, named as such
                    msg = str(exc).strip().splitlines()
                    raise InputFileError(str(f), msg[0] if msg else type(exc).__name__) from None
                report.files.append(result)
                shas[i] = (str(f), sha)
                if progress is not None:
                    progress(str(f))
            lags = metrics_lag.measure_and_apply(con, shas)
            for (_file_no, sym), (lag, method) in lags.items():
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
