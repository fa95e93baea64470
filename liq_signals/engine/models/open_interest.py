"""Model A — positions opened by rising open interest.

Each pair of consecutive open-interest observations (at their *observed* times) gives ΔOI in base:

- ΔOI > 0 opens ``ΔOI * entry`` USDT of new positions. **Entry price** = mean of the OI-implied prices
  (sum_open_interest_value / sum_open_interest) at both ends of the interval: it is known exactly at the
  OI cadence (5 min) even when bars are coarser, it uses nothing later than the observation, and it makes
  the result independent of the bar size. Without an OI value the last bar close is used.
- **Long/short split** = taker buy share of the interval. Preferred: the metrics row's
  ``sum_taker_long_short_vol_ratio`` r (taker buy / sell volume over exactly that 5-minute interval),
  share = r / (1 + r). Else the taker_buy_volume / volume of the bars closed since the previous OI
  observation (or the latest bar when none closed in between), else 1/2. ``side_attribution='even'``
  (``EngineConfig``) ignores the taker flow and splits every opening 1/2 : 1/2.
- The notional of each side is spread over the leverage tiers by the configured weights (it sums to the
  side's notional — never added once per tier).
- ΔOI < 0 closes the fraction |ΔOI| / OI_prev of every open cohort (each open contract equally likely to
  be the one closed).
- After each observation each side's open notional is capped at the OI value (USDT) it came from
  (OI * implied price): a side can never hold more positions than the market has.
- A missing (NULL/NaN/<= 0) OI is skipped; the first observation only sets the baseline.
"""

from __future__ import annotations

import math

import numpy as np

from liq_signals.engine.models.base import BarContext, CohortModel


class OpenInterestModel(CohortModel):
    name = "a"
    inputs = frozenset({"open_interest"})
    requires = frozenset({"open_interest"})

    def __init__(self, config, table_source):
        super().__init__(config, table_source)
        self.prev_oi: float | None = None
        self.prev_price: float | None = None
        self.last_close: float | None = None
        self._taker_buy = 0.0
        self._taker_vol = 0.0
        self._last_bar_share: float | None = None
        self.oi_value_usd: float | None = None
        n_t = len(self.leverages)
        self._sides = np.repeat([1, -1], n_t)  # the rows one rise opens: longs then shorts, every tier
        self._tiers = np.tile(np.arange(n_t), 2)

    def _long_share(self, taker_ratio: float | None) -> float:
        """Share (0..1) of new notional opened as longs; ``side_attribution='even'`` always gives 1/2."""
        if self.config.side_attribution == "even":
            return 0.5
        if taker_ratio is not None and math.isfinite(taker_ratio) and taker_ratio >= 0:
            return taker_ratio / (1.0 + taker_ratio)
        if self._taker_vol > 0:
            return self._taker_buy / self._taker_vol
        if self._last_bar_share is not None:
            return self._last_bar_share
        return 0.5

    def on_open_interest(self, obs) -> None:
        """Apply one :class:`~liq_signals.engine.inputs.OpenInterest` observation (OI base, value USDT)."""
        ts_ns, oi, oi_value, taker_ratio = obs
        if oi is None or not math.isfinite(oi) or oi <= 0:
            return
        price = None
        if oi_value is not None and math.isfinite(oi_value) and oi_value > 0:
            price = oi_value / oi
        elif self.last_close is not None:
            price = self.last_close
        if price is None:
            return
        self.last_input_ns = ts_ns
        if self.prev_oi is not None:
            d = oi - self.prev_oi
            if d > 0:
                entry = 0.5 * (price + self.prev_price) if self.prev_price is not None else price
                share = self._long_share(taker_ratio)
                total = d * entry
                notional = np.concatenate(
                    [total * share * self.tier_weights, total * (1.0 - share) * self.tier_weights]
                )
                self.book.add(
                    self._sides,
                    self._tiers,
                    entry,
                    notional,
                    ts_ns,
                    self.table_source(),
                    self.config.representative_notional_usd,
                )
            elif d < 0:
                self.book.scale(max(0.0, 1.0 - (-d) / self.prev_oi))
        cap = oi * price
        self.oi_value_usd = cap
        for side in (1, -1):
            tot = self.book.total(side)
            if tot > cap:
                self.book.scale(cap / tot, side)
        self.prev_oi, self.prev_price = oi, price
        self._taker_buy = self._taker_vol = 0.0

    def on_bar(self, bar: BarContext) -> None:
        if (
            bar.volume is not None
            and bar.taker_buy_volume is not None
            and bar.volume > 0
            and math.isfinite(bar.taker_buy_volume)
        ):
            self._taker_buy += bar.taker_buy_volume
            self._taker_vol += bar.volume
            self._last_bar_share = bar.taker_buy_volume / bar.volume
        self.last_close = bar.close
        super().on_bar(bar)
