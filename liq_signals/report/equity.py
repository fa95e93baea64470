"""Mark-to-market equity of a linear USDT-margined perpetual strategy from its fills and bar closes."""

from __future__ import annotations

import numpy as np
import pandas as pd


def equity_curve(bars: pd.DataFrame, fills: pd.DataFrame | None, start_balance: float) -> pd.DataFrame:
    """Equity (USDT) at every bar: ``start_balance`` + cash flows of fills up to the bar (``-signed qty *
    price - commission``) + net position (base) x bar close. Returns ts, equity, position, drawdown_pct
    (equity / running peak - 1, in percent, <= 0). Funding is not included (Nautilus does not apply it).
    """
    ts = bars["ts"].to_numpy()
    close = bars["close"].to_numpy(float)
    if fills is None or len(fills) == 0:
        cash = np.zeros(len(ts))
        pos = np.zeros(len(ts))
    else:
        f = fills.sort_values("ts", kind="stable")
        signed = np.where(f["order_side"].to_numpy() == "BUY", 1.0, -1.0) * f["qty"].to_numpy(float)
        flow = -signed * f["price"].to_numpy(float) - f["commission"].to_numpy(float)
        k = np.searchsorted(f["ts"].to_numpy(), ts, side="right")  # fills at or before each bar
        cum_pos = np.concatenate([[0.0], np.cumsum(signed)])
        cum_cash = np.concatenate([[0.0], np.cumsum(flow)])
        pos, cash = cum_pos[k], cum_cash[k]
    equity = start_balance + cash + pos * close
    peak = np.maximum.accumulate(equity)
    with np.errstate(divide="ignore", invalid="ignore"):
        dd = np.where(peak > 0, (equity / peak - 1.0) * 100.0, 0.0)
    return pd.DataFrame({"ts": ts, "equity": equity, "position": pos, "drawdown_pct": dd})
