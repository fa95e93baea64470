"""What the replay server serves, read from a liq_signals DuckDB file in ONE place (:func:`load_replay_data`).

Units: times epoch **ms** (Binance's unit on the wire), prices USDT, sizes base, notionals USDT.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from liq_signals.data.layouts import interval_ms


@dataclass(frozen=True)
class ReplayData:
    """One symbol's market data in wire units. ``bars``: open_ms, close_ms (Binance close time = next open − 1
    ms), open, high, low, close, volume, taker_buy_volume; ``mark``: close_ms, close (mark-price bars; empty
    when the DB has none — the last-price close is served as mark then); ``open_interest``: time_ms (observed),
    open_interest (base), open_interest_value (USDT),
    taker_ratio (taker buy/sell volume ratio of the 5-minute interval); ``funding``: time_ms, rate, mark_price;
    ``liquidations``: time_ms, side ('long'|'short' liquidated position), price, quantity, notional_usd."""

    symbol: str
    interval: str
    bars: pd.DataFrame
    mark: pd.DataFrame
    open_interest: pd.DataFrame
    funding: pd.DataFrame
    liquidations: pd.DataFrame

    @property
    def interval_ms(self) -> int:
        return interval_ms(self.interval)


def load_replay_data(db_path, symbol: str, interval: str | None = None) -> ReplayData:
    """Read ``symbol`` from the DuckDB file through the reader (bars, mark, OI, funding, realized
    liquidations). The only function here that touches the database."""
    from liq_signals.data.reader import liquidation_rows, load_market_inputs

    m = load_market_inputs(db_path, symbol, interval=interval)
    ms = 1_000_000
    b = m.bars
    iv = interval_ms(m.interval)
    close_ms = b["ts_ns"].to_numpy(np.int64) // ms - 1
    bars = pd.DataFrame(
        {
            "open_ms": close_ms + 1 - iv,
            "close_ms": close_ms,
            "open": b["open"],
            "high": b["high"],
            "low": b["low"],
            "close": b["close"],
            "volume": b["volume"],
            "taker_buy_volume": b["taker_buy_volume"],
        }
    )
    mark = pd.DataFrame(
        {"close_ms": m.mark_price["ts_ns"].to_numpy(np.int64) // ms - 1, "close": m.mark_price["close"]}
    )
    oi = m.open_interest[m.open_interest["open_interest"].notna()]
    open_interest = pd.DataFrame(
        {
            "time_ms": oi["ts_ns"].to_numpy(np.int64) // ms,
            "open_interest": oi["open_interest"],
            "open_interest_value": oi["open_interest_value"],
            "taker_ratio": oi["taker_ratio"],
        }
    )
    funding = pd.DataFrame(
        {
            "time_ms": m.funding["ts_ns"].to_numpy(np.int64) // ms,
            "rate": m.funding["rate"],
            "mark_price": m.funding["mark_price"],
        }
    )
    liq = liquidation_rows(db_path, m.symbol)
    return ReplayData(
        m.symbol,
        m.interval,
        bars.reset_index(drop=True),
        mark.reset_index(drop=True),
        open_interest.reset_index(drop=True),
        funding.reset_index(drop=True),
        liq,
    )
