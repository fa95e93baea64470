"""``FundingSettlementModule``: perpetual funding charged in Nautilus backtests.

Nautilus 1.221's backtest engine charges no perpetual funding. This ``SimulationModule`` does what
``FXRolloverInterestModule`` does for FX rollover: when the simulated clock crosses a real funding time of the
instrument, every open position of it is debited or credited ``-signed quantity × mark price × rate`` (USDT;
longs pay when the rate is positive) through ``exchange.adjust_account``, so the account, its report and the
PnL include it. The mark price is the funding row's own mark price when recorded, else the mid of the venue's
book at that moment.

Funding rows come from the run's ``ParquetDataCatalog`` (``FundingRate`` custom data, the same rows the actor
sees) or, for tests, from ``funding`` ([[ts_ns, rate, mark_price], ...]). A position is charged when the clock
first reaches a funding time with the position open — the bar stamped at or after that time — and each
funding time is settled once. Running totals are kept in the cache under ``funding_cache_key(instrument_id)``
as JSON (``net_usdt``: sum of all payments, negative when paid; ``payments``; ``settlements``).
Load it in a venue: ``BacktestVenueConfig(modules=[ImportableActorConfig(actor_path=MODULE_PATH,
config_path=CONFIG_PATH, config={...})])``.
"""

from __future__ import annotations

import json
import math

from nautilus_trader.backtest.config import SimulationModuleConfig
from nautilus_trader.backtest.modules import SimulationModule
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Money

from liq_signals.errors import ConfigError

MODULE_PATH = "liq_signals.backtest.funding:FundingSettlementModule"
CONFIG_PATH = "liq_signals.backtest.funding:FundingSettlementConfig"


def funding_cache_key(instrument_id: str) -> str:
    """The cache key under which the module keeps its totals for ``instrument_id``."""
    return f"liq_signals.funding:{instrument_id}"


class FundingSettlementConfig(SimulationModuleConfig, frozen=True):
    """``instrument_id`` to settle; funding rows from ``catalog_path`` (a ParquetDataCatalog holding
    ``FundingRate`` for it) or ``funding`` ([[ts_ns, rate, mark_price USDT or NaN], ...]); exactly one."""

    instrument_id: str
    catalog_path: str | None = None
    funding: list[list[float]] | None = None

    def __post_init__(self) -> None:
        if (self.catalog_path is None) == (self.funding is None):
            raise ConfigError("funding settlement: give exactly one of catalog_path and funding")
        InstrumentId.from_str(self.instrument_id)


class FundingSettlementModule(SimulationModule):
    """Settles funding on open positions at each real funding time (see module doc)."""

    def __init__(self, config: FundingSettlementConfig):
        super().__init__(config)
        self.instrument_id = InstrumentId.from_str(config.instrument_id)
        rows = (
            config.funding if config.funding is not None else _catalog_rows(config.catalog_path, config.instrument_id)
        )
        rows = sorted((int(t), float(r), float(m)) for t, r, m in rows)
        self._rows = rows
        self.reset()

    def reset(self) -> None:
        self._next = 0
        self.net_usdt = 0.0
        self.payments = 0
        self.settlements = 0

    def process(self, ts_now: int) -> None:
        rows = self._rows
        while self._next < len(rows) and rows[self._next][0] <= ts_now:
            self._settle(*rows[self._next])
            self._next += 1

    def _settle(self, ts_ns: int, rate: float, mark: float) -> None:
        self.settlements += 1
        positions = [p for p in self.exchange.cache.positions_open() if p.instrument_id == self.instrument_id]
        if not positions or not math.isfinite(rate) or rate == 0.0:
            self._store()
            return
        if not (math.isfinite(mark) and mark > 0):
            book = self.exchange.get_book(self.instrument_id)
            mid = book.midpoint() or book.best_bid_price() or book.best_ask_price()
            if mid is None:
                self._store()
                return
            mark = float(mid)
        currency = self.exchange.instruments[self.instrument_id].settlement_currency
        for p in positions:
            amount = -p.signed_qty * mark * rate
            if amount:
                self.exchange.adjust_account(Money(amount, currency))
                self.net_usdt += amount
                self.payments += 1
        self._store()

    def _store(self) -> None:
        self.exchange.cache.add(funding_cache_key(str(self.instrument_id)), json.dumps(self.totals()).encode())

    def totals(self) -> dict:
        """``net_usdt`` (sum of payments, USDT, negative when paid), ``payments``, ``settlements``."""
        return {"net_usdt": self.net_usdt, "payments": self.payments, "settlements": self.settlements}

    def log_diagnostics(self, logger) -> None:
        logger.info(f"Funding settled on {self.instrument_id}: {self.net_usdt:,.2f} USDT over {self.payments} payments")


def read_totals(cache, instrument_id: str) -> dict:
    """The module's totals from a Nautilus cache (zeros when no module ran)."""
    raw = cache.get(funding_cache_key(instrument_id))
    return json.loads(raw) if raw else {"net_usdt": 0.0, "payments": 0, "settlements": 0}


def _catalog_rows(catalog_path: str, instrument_id: str) -> list[tuple[int, float, float]]:
    from nautilus_trader.persistence.catalog import ParquetDataCatalog

    from liq_signals.nautilus.data_types import FundingRate

    data = ParquetDataCatalog(catalog_path).query(FundingRate, identifiers=[instrument_id])
    rows = [getattr(d, "data", d) for d in data]
    return [(r.ts_event, r.rate, r.mark_price) for r in rows if str(r.instrument_id) == instrument_id]
