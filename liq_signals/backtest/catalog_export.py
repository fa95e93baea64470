"""DuckDB → Nautilus ``ParquetDataCatalog`` export (instrument, bars, open interest, funding).

What one export writes for ``symbol`` (e.g. BTCUSDT → instrument ``BTCUSDT-PERP.BINANCE``):

- the ``CryptoPerpetual`` from :mod:`liq_signals.nautilus.instruments` (ts 0, overwritten each run);
- ``Bar`` s from ``klines`` (``price_type='last'``, one interval) with BarType
  ``<ID>-<step>-<MINUTE|HOUR|DAY>-LAST-EXTERNAL``, stamped at the bar **close**
  (``open_time + interval``, = Binance close_time + 1 ms), ``ts_event = ts_init``;
- :class:`~liq_signals.nautilus.data_types.OpenInterest` at the *observed* snapshot time
  (``open_interest.time``); rows whose ``sum_open_interest`` is NULL are skipped;
- :class:`~liq_signals.nautilus.data_types.FundingRate` at the funding time.

Funding type choice: Nautilus 1.221's native ``FundingRateUpdate`` cannot be written to the catalog as
shipped (``TypeError: ... register_arrow()``). Registering an Arrow schema/encoder/decoder for it makes
write, query and a BacktestNode replay to ``on_funding_rate`` work (checked with 1.221.0), but the type
only carries ``rate`` and ``next_funding_ns``: it has no mark price, which the liquidation engine needs to settle funding
(margin change = -side * rate * size * mark price), and no interval. So funding is exported as the
custom ``FundingRate`` (rate, mark_price, interval_hours), replayed like ``OpenInterest`` (custom data,
``client_id`` set, subscribe with ``subscribe_data(DataType(FundingRate))``).

Time ranges are half-open ``[start, end)`` on the event timestamp (bar close, OI observed time, funding
time). Re-exporting a range first deletes that range for each written type, so repeated runs replace
rather than duplicate. A catalog holds one bar type per instrument: on the Rust query path Nautilus
does not filter bar types (``BacktestDataConfig(bar_spec=...)`` returns every interval), so a second
interval is refused.

Custom data is written as one pyarrow table per type with the class's Arrow schema through
:func:`write_custom_table`, the only place that uses the catalog's private helpers
(``catalog.write_data`` builds one RecordBatch per object: ~100x slower).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from liq_signals.data import reader
from liq_signals.errors import LiqSignalsError

_INTERVAL_RE = re.compile(r"^(\d+)([mhd])$")
_UNIT_NS = {"m": 60 * 10**9, "h": 3600 * 10**9, "d": 86400 * 10**9}
_UNIT_AGGREGATION = {"m": "MINUTE", "h": "HOUR", "d": "DAY"}


class CatalogExportError(LiqSignalsError):
    """The export cannot proceed (no data, conflicting bar type, bad interval or range)."""


@dataclass(frozen=True)
class ExportReport:
    """Outcome of one export: counts written and wall seconds per part."""

    catalog: str
    instrument_id: str
    bar_type: str
    bars: int
    open_interest: int
    funding: int
    start_ns: int | None
    end_ns: int | None
    seconds: dict[str, float] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------- helpers


def interval_ns(interval: str) -> int:
    """Length of a Binance kline interval (``1m``, ``15m``, ``1h``, ``1d`` ...) in nanoseconds."""
    m = _INTERVAL_RE.match(interval)
    if not m or int(m.group(1)) <= 0:
        raise CatalogExportError(f"bar interval '{interval}' not supported (use e.g. 1m, 5m, 15m, 1h, 4h, 1d)")
    return int(m.group(1)) * _UNIT_NS[m.group(2)]


def bar_type_for(instrument_id, interval: str):
    """``BarType`` ``<instrument_id>-<n>-<MINUTE|HOUR|DAY>-LAST-EXTERNAL`` for a Binance interval."""
    from nautilus_trader.model.data import BarType

    interval_ns(interval)  # validates
    m = _INTERVAL_RE.match(interval)
    return BarType.from_str(f"{instrument_id}-{int(m.group(1))}-{_UNIT_AGGREGATION[m.group(2)]}-LAST-EXTERNAL")


def to_ns(value) -> int | None:
    """Epoch ns (UTC) of an ISO string / datetime / Timestamp / int ns; ``None`` stays ``None``."""
    if value is None:
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise CatalogExportError(
            f"cannot parse time '{value}' (use ISO 8601, e.g. 2023-11-20 or 2023-11-20T12:00)"
        ) from exc
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return int(ts.tz_convert("UTC").value)


def custom_table(data_cls: type, ts_ns: np.ndarray, columns: dict[str, object]) -> pa.Table:
    """A pyarrow table with ``data_cls``'s Arrow schema; ``ts_event = ts_init = ts_ns`` (epoch ns).

    ``columns`` maps every field of ``data_cls`` to an array (or a scalar, e.g. the instrument id string,
    broadcast to every row).
    """
    schema: pa.Schema = data_cls._schema
    n = len(ts_ns)
    arrays = []
    for f in schema:
        if f.name in ("ts_event", "ts_init"):
            values = np.asarray(ts_ns, dtype=np.int64)
        elif f.name == "type":
            values = [data_cls.__name__] * n
        else:
            if f.name not in columns:
                raise ValueError(f"column '{f.name}' missing for {data_cls.__name__}")
            values = columns[f.name]
            if np.isscalar(values) or isinstance(values, str):
                values = [values] * n
        arrays.append(pa.array(values, type=f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def write_custom_table(catalog, data_cls: type, table: pa.Table, identifier: str | None) -> str:
    """Write ``table`` (rows of ``data_cls`` sorted by ts_init) as one catalog parquet file; return its path.

    Equivalent to ``catalog.write_data(objects)`` for the same rows (same directory, file name
    ``<first ts_init>_<last ts_init>.parquet`` and schema) without building an object per row. This is the
    single place that touches ``ParquetDataCatalog`` private helpers (nautilus_trader 1.221).
    """
    import pyarrow.parquet as pq
    from nautilus_trader.persistence.catalog.parquet import _are_intervals_disjoint, _timestamps_to_filename

    schema = data_cls._schema
    if not table.schema.equals(schema):
        raise ValueError(f"table schema does not match {data_cls.__name__}._schema")
    if table.num_rows == 0:
        raise ValueError("refusing to write an empty table")
    ts_init = table.column("ts_init").to_numpy()
    if np.any(np.diff(ts_init) < 0):
        raise ValueError(f"{data_cls.__name__} rows must be sorted by ts_init")

    directory = catalog._make_path(data_cls=data_cls, identifier=identifier)
    catalog.fs.mkdirs(directory, exist_ok=True)
    path = f"{directory}/{_timestamps_to_filename(int(ts_init[0]), int(ts_init[-1]))}"
    pq.write_table(table, where=path, filesystem=catalog.fs, row_group_size=catalog.max_rows_per_group)
    if not _are_intervals_disjoint(catalog._get_directory_intervals(directory)):
        raise RuntimeError(f"overlapping files in {directory} after writing {path}")
    return path


def _check_single_bar_type(catalog_path: Path, bar_type) -> None:
    """Refuse a second bar type for the same instrument in one catalog."""
    from nautilus_trader.persistence.funcs import urisafe_identifier

    bar_dir = catalog_path / "data" / "bar"
    if not bar_dir.is_dir():
        return
    prefix = urisafe_identifier(str(bar_type.instrument_id)) + "-"
    own = urisafe_identifier(str(bar_type))
    for d in sorted(bar_dir.iterdir()):
        if d.is_dir() and d.name.startswith(prefix) and d.name != own and any(d.glob("*.parquet")):
            raise CatalogExportError(
                f"catalog {catalog_path} already holds bars {d.name} for {bar_type.instrument_id}; "
                f"one bar type per instrument per catalog (use another --catalog for {bar_type})"
            )


# --------------------------------------------------------------------------------------------- readers


def _read_bars(con, symbol: str, interval: str, start_ns, end_ns) -> pd.DataFrame:
    return reader.bars_for_catalog(con, symbol, interval, start_ns, end_ns)


def _read_open_interest(con, symbol: str, start_ns, end_ns) -> pd.DataFrame:
    return reader.open_interest_for_catalog(con, symbol, start_ns, end_ns)


def _read_funding(con, symbol: str, start_ns, end_ns) -> pd.DataFrame:
    return reader.funding_for_catalog(con, symbol, start_ns, end_ns)


def _available_intervals(con, symbol: str) -> list[str]:
    return reader.kline_intervals(con, symbol)


# --------------------------------------------------------------------------------------------- builders


def bars_from_frame(frame: pd.DataFrame, bar_type, instrument) -> list:
    """Nautilus ``Bar`` s from a frame with ``ts`` (bar close, epoch ns) and open/high/low/close/volume."""
    from nautilus_trader.persistence.wranglers import BarDataWrangler

    df = frame[["open", "high", "low", "close", "volume"]].astype("float64")
    df.index = pd.to_datetime(frame["ts"].to_numpy(dtype=np.int64), unit="ns", utc=True)
    return BarDataWrangler(bar_type, instrument).process(df)


def open_interest_table(frame: pd.DataFrame, instrument_id: str) -> pa.Table:
    """``OpenInterest`` table from a frame with ts (observed, ns), oi (base), oi_value (USDT) and
    optionally taker_ratio (taker buy/sell volume ratio; NaN when unknown)."""
    from liq_signals.nautilus.data_types import OpenInterest

    value = frame["oi_value"].to_numpy(dtype="float64", na_value=np.nan)
    ratio = (
        frame["taker_ratio"].to_numpy(dtype="float64", na_value=np.nan)
        if "taker_ratio" in frame
        else np.full(len(frame), np.nan)
    )
    return custom_table(
        OpenInterest,
        frame["ts"].to_numpy(dtype=np.int64),
        {
            "instrument_id": instrument_id,
            "open_interest": frame["oi"].to_numpy(dtype="float64"),
            "open_interest_value": value,
            "taker_ratio": ratio,
        },
    )


def funding_table(frame: pd.DataFrame, instrument_id: str) -> pa.Table:
    """``FundingRate`` table; unknown mark price → NaN, unknown interval → 0."""
    from liq_signals.nautilus.data_types import FundingRate

    return custom_table(
        FundingRate,
        frame["ts"].to_numpy(dtype=np.int64),
        {
            "instrument_id": instrument_id,
            "rate": frame["rate"].to_numpy(dtype="float64"),
            "mark_price": frame["mark_price"].to_numpy(dtype="float64", na_value=np.nan),
            "interval_hours": frame["interval_hours"].fillna(0).to_numpy(dtype=np.int64),
        },
    )


# --------------------------------------------------------------------------------------------- export


def _replace_range(catalog, data_cls, identifier: str, start_ns, end_ns, first_ts: int, last_ts: int) -> None:
    """Delete what the catalog holds for ``identifier`` in the export range (inclusive ns bounds)."""
    lo = start_ns if start_ns is not None else first_ts
    hi = end_ns - 1 if end_ns is not None else last_ts
    catalog.delete_data_range(data_cls, identifier, lo, hi)


def export_catalog(
    db_path: str | Path,
    catalog_path: str | Path,
    symbol: str,
    bar_interval: str = "15m",
    start=None,
    end=None,
    progress: Callable[[str], None] | None = None,
) -> ExportReport:
    """Export ``symbol`` from the DuckDB file into the catalog at ``catalog_path`` (created if needed).

    ``start``/``end`` (ISO strings, timestamps or epoch ns, UTC) bound event times as ``[start, end)``.
    Raises :class:`CatalogExportError` (one line) when there are no bars for the symbol/interval/range.
    """
    from nautilus_trader.model.data import Bar
    from nautilus_trader.persistence.catalog import ParquetDataCatalog

    from liq_signals.data.db import connect
    from liq_signals.nautilus.data_types import FundingRate, OpenInterest
    from liq_signals.nautilus.instruments import binance_perpetual

    symbol = symbol.upper()
    instrument = binance_perpetual(symbol)  # raises for unknown symbols before any work
    bar_type = bar_type_for(instrument.id, bar_interval)
    start_ns, end_ns = to_ns(start), to_ns(end)
    if start_ns is not None and end_ns is not None and end_ns <= start_ns:
        raise CatalogExportError(f"--end ({end}) must be after --start ({start})")
    note = progress or (lambda _msg: None)
    seconds: dict[str, float] = {}
    catalog_path = Path(catalog_path)
    _check_single_bar_type(catalog_path, bar_type)

    db_path = Path(db_path)
    try:
        con = connect(db_path, read_only=True)
    except FileNotFoundError as exc:
        raise CatalogExportError(str(exc)) from exc
    try:
        t0 = time.perf_counter()
        bars_df = _read_bars(con, symbol, bar_interval, start_ns, end_ns)
        oi_df = _read_open_interest(con, symbol, start_ns, end_ns)
        funding_df = _read_funding(con, symbol, start_ns, end_ns)
        intervals = _available_intervals(con, symbol) if bars_df.empty else []
    finally:
        con.close()
    seconds["read_db"] = time.perf_counter() - t0

    if bars_df.empty:
        where = f" in [{start}, {end})" if start is not None or end is not None else ""
        have = f" (klines present: {', '.join(intervals)})" if intervals else ""
        raise CatalogExportError(f"{db_path}: no {bar_interval} klines for {symbol}{where}{have}")

    catalog_path.mkdir(parents=True, exist_ok=True)
    catalog = ParquetDataCatalog(str(catalog_path))
    iid = instrument.id.value

    catalog.write_data([instrument])

    note(f"bars: {len(bars_df)}")
    t0 = time.perf_counter()
    bars = bars_from_frame(bars_df, bar_type, instrument)
    _replace_range(catalog, Bar, str(bar_type), start_ns, end_ns, bars[0].ts_init, bars[-1].ts_init)
    catalog.write_data(bars)
    seconds["bars"] = time.perf_counter() - t0

    for name, frame, data_cls, build in (
        ("open_interest", oi_df, OpenInterest, open_interest_table),
        ("funding", funding_df, FundingRate, funding_table),
    ):
        note(f"{name}: {len(frame)}")
        if frame.empty:
            continue
        t0 = time.perf_counter()
        table = build(frame, iid)
        ts = table.column("ts_init").to_numpy()
        _replace_range(catalog, data_cls, iid, start_ns, end_ns, int(ts[0]), int(ts[-1]))
        write_custom_table(catalog, data_cls, table, iid)
        seconds[name] = time.perf_counter() - t0

    return ExportReport(
        catalog=str(catalog_path),
        instrument_id=iid,
        bar_type=str(bar_type),
        bars=len(bars),
        open_interest=len(oi_df),
        funding=len(funding_df),
        start_ns=start_ns,
        end_ns=end_ns,
        seconds=seconds,
    )


# --------------------------------------------------------------------------------------------- replay

#: ``client_id`` given to custom-data configs: without one ``BacktestNode`` refuses (or, with
#: ``raise_exception`` false, silently skips) non-Nautilus data.
CUSTOM_DATA_CLIENT_ID = "LIQ_SIGNALS"


def backtest_data_configs(catalog_path, instrument_id, bar_type, start=None, end=None) -> list:
    """``BacktestDataConfig`` s replaying bars, ``OpenInterest`` and ``FundingRate`` for one instrument.

    ``data_cls`` are import-path strings so the configs serialise to JSON. ``start``/``end`` are passed
    to Nautilus as-is (ISO string or epoch ns; Nautilus treats both bounds as inclusive). Custom data gets ``client_id=CUSTOM_DATA_CLIENT_ID``; subscribe to it in actors with
    ``subscribe_data(DataType(OpenInterest))`` / ``subscribe_data(DataType(FundingRate))``.
    """
    from nautilus_trader.config import BacktestDataConfig

    path = str(Path(catalog_path).resolve())
    iid = str(instrument_id)
    times = dict(catalog_path=path, start_time=start, end_time=end)
    custom = "liq_signals.nautilus.data_types:"
    return [
        BacktestDataConfig(data_cls="nautilus_trader.model.data:Bar", bar_types=[str(bar_type)], **times),
        BacktestDataConfig(
            data_cls=custom + "OpenInterest", instrument_id=iid, client_id=CUSTOM_DATA_CLIENT_ID, **times
        ),
        BacktestDataConfig(
            data_cls=custom + "FundingRate", instrument_id=iid, client_id=CUSTOM_DATA_CLIENT_ID, **times
        ),
    ]
