"""Model C — large taker trades as position entries (what py-liquidation-map does, without its defects).

Per bar window (trades with previous bar close < ts <= bar close), the filters apply in order:
``gross_value`` (keep trades with notional >= threshold, USDT), ``top_n`` (keep the N largest),
``portion`` (keep the largest fraction by count). Each kept trade opens a cohort per leverage tier on the
taker's side (taker buy -> long, taker sell -> short, i.e. is_buyer_maker false -> long) at the trade
price with notional = trade notional * tier weight: the tiers *split* the trade, they do not each get all
of it. Same margin maths, consumption and decay as the other models.
"""

from __future__ import annotations

import numpy as np

from liq_signals.engine.models.base import CohortModel


def filter_trades(
    price: np.ndarray, qty: np.ndarray, min_notional: float, top_n: int | None, portion: float | None
) -> np.ndarray:
    """Indices of trades kept by the gross_value / top_n / portion filters (largest first)."""
    notional = price * qty
    idx = np.flatnonzero(notional >= min_notional)
    order = idx[np.lexsort((idx, -notional[idx]))]  # by notional desc, ties by position
    if top_n is not None:
        order = order[:top_n]
    if portion is not None and portion < 1.0:
        order = order[: int(np.ceil(portion * len(order)))]
    return order


class TradeFlowModel(CohortModel):
    name = "c"
    inputs = frozenset({"trades"})
    requires = frozenset({"trades"})

    def __init__(self, config, table_source):
        super().__init__(config, table_source)
        self.opened_usd = 0.0  # total notional opened from trades (before decay), USDT

    def on_trades(self, ts_ns: np.ndarray, price: np.ndarray, qty: np.ndarray, is_buyer_maker: np.ndarray) -> None:
        """Open cohorts from one bar window's trades (arrays; time ns, price USDT, quantity base)."""
        if len(ts_ns) == 0:
            return
        self.last_input_ns = int(np.max(ts_ns))
        cfg = self.config
        keep = filter_trades(price, qty, cfg.trade_min_notional_usd, cfg.trade_top_n, cfg.trade_portion)
        if len(keep) == 0:
            return
        n_t = len(self.leverages)
        p, q, ibm, ts = price[keep], qty[keep], is_buyer_maker[keep], ts_ns[keep]
        side = np.where(ibm, -1, 1)
        notional = p * q
        self.opened_usd += float(notional.sum())
        table = self.table_source()
        self.book.add(
            np.repeat(side, n_t),
            np.tile(np.arange(n_t), len(keep)),
            np.repeat(p, n_t),
            (notional[:, None] * self.tier_weights[None, :]).ravel(),
            np.repeat(ts.astype(np.int64), n_t),
            table,
            cfg.representative_notional_usd,
        )
