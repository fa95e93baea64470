"""The shipped BTCUSDT sample (2023-11-12 → 2023-12-13) as frames and as Nautilus objects, without DuckDB.

Used by tests that drive a low-level ``BacktestEngine`` directly and by the benchmark. Files live in
``liq_signals/sample_data/btcusdt-2023-11/``: 15-minute klines, 5-minute metrics, 8-hourly funding.
In this file the metrics row stamped t is a snapshot at t (its implied price equals the close of the kline
ending at t; see domain notes), so the stamp is the observed time — the production path (``ingest`` →
catalog) measures that lag instead of assuming it.

Times: frames carry ``ts`` in epoch ns; bars are stamped at their close (open_time + 15 min).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample_data" / "btcusdt-2023-11"
KLINES = SAMPLE_DIR / "BTCUSDT-15m-2023-11-12_2023-12-13.csv"
METRICS = SAMPLE_DIR / "BTCUSDT-metrics-2023-11-14_2023-12-12.csv"
FUNDING = SAMPLE_DIR / "BTCUSDT-fundingRate-2023-11-12_2023-12-13.csv"
BAR_NS = 15 * 60 * 10**9


@dataclass(frozen=True)
class SampleFrames:
    """bars: ts (close, ns), open, high, low, close, volume (base), taker_buy_volume (base);
    oi: ts (observed, ns), oi (base), oi_value (USDT); funding: ts (ns), rate, mark_price (USDT)."""

    bars: pd.DataFrame
    oi: pd.DataFrame
    funding: pd.DataFrame


def load_sample_frames() -> SampleFrames:
    """Read the three sample CSVs into :class:`SampleFrames`."""
    k = pd.read_csv(KLINES)
    bars = pd.DataFrame(
        {
            "ts": (k["open_time"].to_numpy(dtype=np.int64) * 10**6) + BAR_NS,
            "open": k["open"].astype(float),
            "high": k["high"].astype(float),
            "low": k["low"].astype(float),
            "close": k["close"].astype(float),
            "volume": k["volume"].astype(float),
            "taker_buy_volume": k["taker_buy_base"].astype(float),
        }
    )
    m = pd.read_csv(METRICS)
    oi = pd.DataFrame(
        {
            "ts": pd.to_datetime(m["create_time"], utc=True).astype("int64").to_numpy(),
            "oi": m["sum_open_interest"].astype(float),
            "oi_value": m["sum_open_interest_value"].astype(float),
            "taker_ratio": m["sum_taker_long_short_vol_ratio"].astype(float),
        }
    )
    oi = oi[oi["oi"] > 0]  # zero rows are gaps in the source (ingest stores them as NULL)
    f = pd.read_csv(FUNDING)
    funding = pd.DataFrame(
        {
            "ts": f["fundingTime"].to_numpy(dtype=np.int64) * 10**6,
            "rate": f["fundingRate"].astype(float),
            "mark_price": f["markPrice"].astype(float),
        }
    )
    return SampleFrames(bars.reset_index(drop=True), oi.reset_index(drop=True), funding.reset_index(drop=True))


def nautilus_objects(frames: SampleFrames, instrument, bar_type) -> tuple[list, list, list]:
    """(bars, open-interest, funding) for ``instrument`` from ``frames``.

    Custom objects come wrapped in ``CustomData`` as a low-level ``BacktestEngine.add_data(..., client_id=...)``
    needs (the catalog query wraps them the same way); the raw object is ``.data``.
    """
    from nautilus_trader.model.data import CustomData, DataType
    from nautilus_trader.persistence.wranglers import BarDataWrangler

    from liq_signals.nautilus.data_types import FundingRate, OpenInterest

    df = frames.bars[["open", "high", "low", "close", "volume"]].copy()
    df.index = pd.to_datetime(frames.bars["ts"].to_numpy(), unit="ns", utc=True)
    bars = BarDataWrangler(bar_type, instrument).process(df)
    iid = instrument.id
    oi = [
        CustomData(DataType(OpenInterest), OpenInterest(int(t), int(t), instrument_id=iid, open_interest=float(v),
                                                        open_interest_value=float(w), taker_ratio=float(r)))
        for t, v, w, r in zip(frames.oi["ts"], frames.oi["oi"], frames.oi["oi_value"], frames.oi["taker_ratio"])
    ]
    funding = [
        CustomData(DataType(FundingRate), FundingRate(int(t), int(t), instrument_id=iid, rate=float(r), mark_price=float(p), interval_hours=8))
        for t, r, p in zip(frames.funding["ts"], frames.funding["rate"], frames.funding["mark_price"])
    ]
    return bars, oi, funding


def market_inputs(frames: SampleFrames, start_ns: int | None = None, end_ns: int | None = None, with_taker: bool = False):
    """The engine's ``MarketInputs`` for ``frames`` within [start_ns, end_ns] (epoch ns, inclusive).

    ``with_taker=False`` blanks the bars' taker volumes: Nautilus bars carry none, so this is what the
    Nautilus actor sees (``OpenInterest`` carries the metrics taker ratio, which the engine prefers).
    """
    from liq_signals.engine.inputs import MarketInputs

    def cut(df: pd.DataFrame) -> pd.DataFrame:
        keep = np.ones(len(df), dtype=bool)
        if start_ns is not None:
            keep &= df["ts"].to_numpy() >= start_ns
        if end_ns is not None:
            keep &= df["ts"].to_numpy() <= end_ns
        return df[keep].rename(columns={"ts": "ts_ns"}).reset_index(drop=True)

    bars = cut(frames.bars)
    if not with_taker:
        bars["taker_buy_volume"] = np.nan
    oi = cut(frames.oi).rename(columns={"oi": "open_interest", "oi_value": "open_interest_value"})
    funding = cut(frames.funding)
    empty_marks = pd.DataFrame({"ts_ns": pd.Series(dtype="int64"), "high": [], "low": [], "close": []})
    empty_trades = pd.DataFrame({"ts_ns": pd.Series(dtype="int64"), "price": [], "quantity": [], "is_buyer_maker": []})
    return MarketInputs("BTCUSDT", "15m", bars, empty_marks, oi, funding, empty_trades)
