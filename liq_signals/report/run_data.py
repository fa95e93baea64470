"""Load a backtest run directory into plain pandas frames for the report.

A run directory (written by ``liq-signals backtest``) follows the contract in
:mod:`liq_signals.backtest.run_dir` (file names, columns, ``summary.json`` / ``run_config.json`` fields),
read here through the same declarations. Only ``bars.parquet`` is required; every other file is optional
and its panel is left out when it is missing or empty.

Conventions of the returned frames: times are **naive UTC** ``datetime64[ns]`` (Plotly shows them as
written; axes are labelled "UTC"), prices in USDT, sizes in base asset, notionals in USDT.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from liq_signals.backtest import run_dir as RD
from liq_signals.backtest.run_dir import BAR_COLUMNS, EVENT_COLUMNS, HEATMAP_COLUMNS, RunConfigRecord, Summary
from liq_signals.errors import InputFileError

HEATMAP_SIDES = ("long", "short")


@dataclass
class RunData:
    """Everything the run report shows; optional parts are ``None`` (or empty) when absent."""

    run_dir: Path
    bars: pd.DataFrame  # ts (naive UTC), open, high, low, close, volume
    heatmap: pd.DataFrame | None = None  # HEATMAP_COLUMNS (+ model), time naive UTC
    events: pd.DataFrame | None = None  # EVENT_COLUMNS, ts naive UTC
    fills: pd.DataFrame | None = None  # normalised by ``normalise_fills``
    account: pd.DataFrame | None = None  # ts, balance (USDT)
    stats: dict = field(default_factory=dict)
    run_config: dict = field(default_factory=dict)  # run_config.json as written (fields of RunConfigRecord)
    summary: dict = field(default_factory=dict)  # summary.json as written (fields of Summary)

    @property
    def summary_record(self) -> Summary:
        return Summary.from_dict(self.summary)

    @property
    def run_config_record(self) -> RunConfigRecord:
        return RunConfigRecord.from_dict(self.run_config)


def to_naive_utc(values, file: str, column: str) -> pd.Series:
    """Parse times (epoch ns/ms/s integers, ISO strings, datetimes, tz-aware or not) to naive UTC."""
    s = pd.Series(values)
    try:
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            v = s.astype("float64")
            mag = np.nanmax(np.abs(v.to_numpy())) if len(v) else 0.0
            unit = "ns" if mag > 1e17 else "us" if mag > 1e14 else "ms" if mag > 1e11 else "s"
            out = pd.to_datetime(s.astype("int64"), unit=unit, utc=True)
        else:
            out = pd.to_datetime(s, utc=True, format="mixed")
    except (ValueError, TypeError, OverflowError) as exc:
        raise InputFileError(file, f"cannot parse times: {exc}", field=column) from None
    return out.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]")


def require_columns(df: pd.DataFrame, columns, file: str) -> None:
    """Raise ``InputFileError`` naming the first missing column."""
    for col in columns:
        if col not in df.columns:
            raise InputFileError(file, f"missing column (has {', '.join(map(str, df.columns))})", field=col)


def normalise_bars(df: pd.DataFrame, file: str = "bars") -> pd.DataFrame:
    """Bars sorted by ``ts`` (naive UTC); accepts ``ts`` as a column or as the index."""
    if "ts" not in df.columns:
        if isinstance(df.index, pd.DatetimeIndex) or df.index.name in ("ts", "timestamp", "time"):
            df = df.reset_index().rename(columns={df.index.name or "index": "ts"})
        elif "timestamp" in df.columns:
            df = df.rename(columns={"timestamp": "ts"})
    require_columns(df, ("ts", "open", "high", "low", "close"), file)
    out = df.copy()
    out["ts"] = to_naive_utc(out["ts"].to_numpy(), file, "ts").to_numpy()
    if "volume" not in out.columns:
        out["volume"] = np.nan
    for col in ("open", "high", "low", "close", "volume"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    if out.empty:
        raise InputFileError(file, "no bars")
    return out[list(BAR_COLUMNS)].sort_values("ts").reset_index(drop=True)


def normalise_heatmap(df: pd.DataFrame, file: str = "heatmap") -> pd.DataFrame:
    """Heatmap rows in long format; ``time`` naive UTC, ``tier`` int, ``side`` 'long'/'short'."""
    require_columns(df, HEATMAP_COLUMNS, file)
    cols = list(HEATMAP_COLUMNS) + (["model"] if "model" in df.columns else [])
    out = df[cols].copy()
    out["time"] = to_naive_utc(out["time"].to_numpy(), file, "time").to_numpy()
    out["side"] = out["side"].astype(str).str.lower()
    bad = ~out["side"].isin(HEATMAP_SIDES)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 1
        raise InputFileError(file, f"side must be 'long' or 'short', got {out['side'].iloc[row - 1]!r}", row, "side")
    for col in ("price_low", "price_high", "notional_usd"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    out["tier"] = pd.to_numeric(out["tier"], errors="coerce").round().astype("int64")
    ok = np.isfinite(out["price_low"]) & np.isfinite(out["price_high"]) & np.isfinite(out["notional_usd"])
    ok &= (out["notional_usd"] > 0) & (out["price_low"] > 0)
    out = out[ok.to_numpy()]
    if "model" in out.columns:
        out["model"] = out["model"].astype(str)
    return out.reset_index(drop=True)


def normalise_events(df: pd.DataFrame, file: str = "proximity_events.csv") -> pd.DataFrame:
    """Proximity events; accepts ``ts`` (ISO or epoch) or ``ts_ns``."""
    if "ts" not in df.columns and "ts_ns" in df.columns:
        df = df.rename(columns={"ts_ns": "ts"})
    require_columns(df, ("ts", "side", "price_low", "price_high", "notional_usd", "event"), file)
    out = df.copy()
    out["ts"] = to_naive_utc(out["ts"].to_numpy(), file, "ts").to_numpy()
    for col in ("distance_bps", "model"):
        if col not in out.columns:
            out[col] = np.nan if col == "distance_bps" else ""
    for col in ("price_low", "price_high", "notional_usd", "distance_bps"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    out["side"] = out["side"].astype(str).str.lower()
    out["event"] = out["event"].astype(str).str.lower()
    out["model"] = out["model"].fillna("").astype(str)
    return out[list(EVENT_COLUMNS)].sort_values("ts").reset_index(drop=True)


def _money(values: pd.Series) -> np.ndarray:
    """'0.0667 USDT' / "['0.0667 USDT']" / 0.0667 -> float (first amount; NaN when unparseable)."""
    text = values.astype(str).str.extract(r"(-?\d+(?:\.\d+)?(?:[eE]-?\d+)?)")[0]
    return pd.to_numeric(text, errors="coerce").fillna(0.0).to_numpy(dtype="float64")


def normalise_fills(
    fills: pd.DataFrame,
    positions: pd.DataFrame | None = None,
    orders: pd.DataFrame | None = None,
    file: str = "fills.csv",
) -> pd.DataFrame:
    """One row per fill: ts, order_side (BUY/SELL), price (USDT), qty (base), commission (USDT),
    role ('entry'/'exit'), client_order_id.

    Accepts Nautilus ``generate_fills_report`` (ts_event, order_side, last_px, last_qty) and
    ``generate_order_fills_report`` (ts_last, side, avg_px, filled_qty) layouts. A fill is an *entry* when
    its order opened a position (positions.csv ``opening_order_id``), else an exit when its order closed one
    or was reduce-only; without positions/orders, a fill that moves the net position away from zero is an
    entry.
    """
    pick = {
        "ts": ("ts_event", "ts_last", "ts_init", "ts"),
        "order_side": ("order_side", "side"),
        "price": ("last_px", "avg_px", "price"),
        "qty": ("last_qty", "filled_qty", "quantity", "qty"),
    }
    out = pd.DataFrame(index=range(len(fills)))
    for name, options in pick.items():
        col = next((c for c in options if c in fills.columns), None)
        if col is None:
            raise InputFileError(file, f"missing column (one of {', '.join(options)})", field=name)
        out[name] = fills[col].to_numpy()
    out["ts"] = to_naive_utc(out["ts"].to_numpy(), file, "ts").to_numpy()
    out["order_side"] = out["order_side"].astype(str).str.upper()
    out["price"] = pd.to_numeric(out["price"], errors="coerce").astype("float64")
    out["qty"] = pd.to_numeric(out["qty"], errors="coerce").astype("float64")
    comm_col = (
        "commission" if "commission" in fills.columns else "commissions" if "commissions" in fills.columns else None
    )
    out["commission"] = _money(fills[comm_col]) if comm_col else 0.0
    out["client_order_id"] = (
        fills["client_order_id"].astype(str).to_numpy() if "client_order_id" in fills.columns else ""
    )
    out = out.sort_values("ts", kind="stable").reset_index(drop=True)
    out["role"] = _fill_roles(out, positions, orders)
    return out


def _fill_roles(fills: pd.DataFrame, positions: pd.DataFrame | None, orders: pd.DataFrame | None) -> np.ndarray:
    ids = fills["client_order_id"]
    if positions is not None and "opening_order_id" in positions.columns and len(positions):
        opening = set(positions["opening_order_id"].astype(str))
        return np.where(ids.isin(opening), "entry", "exit")
    if orders is not None and {"client_order_id", "is_reduce_only"} <= set(orders.columns) and len(orders):
        reduce_only = set(
            orders.loc[orders["is_reduce_only"].astype(str).str.lower() == "true", "client_order_id"].astype(str)
        )
        return np.where(ids.isin(reduce_only), "exit", "entry")
    signed = np.where(fills["order_side"].to_numpy() == "BUY", 1.0, -1.0) * fills["qty"].to_numpy()
    before = np.concatenate([[0.0], np.cumsum(signed)[:-1]])
    after = before + signed
    return np.where(np.abs(after) > np.abs(before) + 1e-12, "entry", "exit")


def normalise_account(df: pd.DataFrame, file: str = "account.csv") -> pd.DataFrame:
    """Account balance over time: ts (naive UTC), balance (``total``, USDT or the main currency)."""
    if "ts" not in df.columns:
        first = df.columns[0]
        df = df.rename(columns={first: "ts"})
    require_columns(df, ("ts", "total"), file)
    out = df.copy()
    if "currency" in out.columns and out["currency"].nunique() > 1:
        main = "USDT" if (out["currency"] == "USDT").any() else out["currency"].mode().iloc[0]
        out = out[out["currency"] == main]
    out["ts"] = to_naive_utc(out["ts"].to_numpy(), file, "ts").to_numpy()
    out["balance"] = pd.to_numeric(out["total"], errors="coerce").astype("float64")
    return out[["ts", "balance"]].dropna().sort_values("ts", kind="stable").reset_index(drop=True)


def _read_csv(path: Path) -> pd.DataFrame | None:
    if not path.exists():
        return None
    try:
        df = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputFileError(str(path), f"not a readable CSV: {exc}") from None
    return df if len(df) else None


def _read_json(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        value = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputFileError(str(path), f"not valid JSON: {exc}") from None
    return value if isinstance(value, dict) else {"value": value}


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise InputFileError(str(path), f"not a readable parquet file: {exc}") from None


def load_run(run_dir: Path) -> RunData:
    """Read a run directory (see module doc); raises ``InputFileError`` for missing/corrupt required parts."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputFileError(str(run_dir), "run directory not found")
    bars_path = run_dir / RD.BARS
    if not bars_path.exists():
        raise InputFileError(str(bars_path), f"missing (a run directory needs {RD.BARS})")
    data = RunData(run_dir=run_dir, bars=normalise_bars(_read_parquet(bars_path), str(bars_path)))
    hm_path = run_dir / RD.HEATMAP
    if hm_path.exists():
        hm = normalise_heatmap(_read_parquet(hm_path), str(hm_path))
        data.heatmap = hm if len(hm) else None
    ev = _read_csv(run_dir / RD.EVENTS)
    if ev is not None:
        data.events = normalise_events(ev, str(run_dir / RD.EVENTS))
    fills = _read_csv(run_dir / RD.FILLS)
    if fills is not None:
        data.fills = normalise_fills(
            fills, _read_csv(run_dir / RD.POSITIONS), _read_csv(run_dir / RD.ORDERS), str(run_dir / RD.FILLS)
        )
    acc = _read_csv(run_dir / RD.ACCOUNT)
    if acc is not None:
        data.account = normalise_account(acc, str(run_dir / RD.ACCOUNT))
    data.stats = _read_json(run_dir / RD.STATS)
    data.run_config = _read_json(run_dir / RD.RUN_CONFIG)
    data.summary = _read_json(run_dir / RD.SUMMARY)
    return data
