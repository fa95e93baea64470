"""Model B — model A's cohorts with funding paid out of (or into) their margin.

At each real funding event (rate per interval, fraction) every cohort's wallet per unit of base moves by
``-side * rate * mark`` USDT (longs pay when rate > 0), and its liquidation price is recomputed from the
eroded wallet with the full bracket iteration (docs/domain.md §1) — no ad-hoc price shift. Mark price = the
funding row's mark price when present, else the last bar close.
"""

from __future__ import annotations

import math

from liq_signals.engine.models.open_interest import OpenInterestModel


class FundingModel(OpenInterestModel):
    name = "b"
    inputs = frozenset({"open_interest", "funding"})

    def __init__(self, config, table_source):
        super().__init__(config, table_source)
        self.last_funding_ns: int | None = None
        self.funding_events = 0

    def on_funding(self, obs) -> None:
        """Apply one :class:`~liq_signals.engine.inputs.Funding` event (rate per interval, mark USDT)."""
        ts_ns, rate, mark_price = obs
        if rate is None or not math.isfinite(rate):
            return
        mark = (
            mark_price if (mark_price is not None and math.isfinite(mark_price) and mark_price > 0) else self.last_close
        )
        if mark is None:
            return
        self.last_funding_ns = ts_ns
        self.funding_events += 1
        book = self.book
        if book.n == 0 or rate == 0:
            return
        book._wallet[: book.n] -= book.side * rate * mark
        book.recompute_lp(self.table_source(), self.config.representative_notional_usd)
