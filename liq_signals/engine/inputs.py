"""The engine's input contract: every kind of market observation, declared once.

An observation is a small frozen record stamped with ``ts_ns``, the epoch-nanosecond time at which it was
*observed* (never a file's stamp when the two differ: the engine uses it at the first bar closing at or after
``ts_ns``, so a later stamp would be lookahead). Prices in USDT, sizes in base asset, notionals in USDT.

- :class:`Bar` — a last-price bar stamped at its close (drives the engine: ``LiquidationEngine.on_bar``);
- :class:`MarkPrice` — a mark-price bar (consumption uses mark high/low when present);
- :class:`OpenInterest` — an open-interest snapshot (+ the taker buy/sell volume ratio of its interval);
- :class:`Funding` — a funding payment (rate per interval, mark price when known);
- :class:`Trade` — an aggregated trade;
- :class:`Liquidation` — a realized (recorded) liquidation: ground truth for validation, not an engine input.

:data:`INPUT_KINDS` maps each kind to its record class and the columns of its frame in :class:`MarketInputs`
(the batch form: one pandas frame per kind, sorted by ``ts_ns``). Models declare the kinds they consume
(``CohortModel.inputs``); the feeder (:mod:`liq_signals.engine.feeder`) and the Nautilus actor read this table
instead of testing model names. To add an input kind: a record here, its frame in :class:`MarketInputs`, its
SQL in ``data/reader.py``, its Nautilus type in ``nautilus/data_types.py`` and the model that uses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import pandas as pd


class Bar(NamedTuple):
    """Last-price bar closing at ``ts_ns``: prices USDT, volumes base (None when unknown)."""

    ts_ns: int
    open: float
    high: float
    low: float
    close: float
    volume: float | None = None
    taker_buy_volume: float | None = None


class MarkPrice(NamedTuple):
    """Mark-price bar closing at ``ts_ns`` (USDT)."""

    ts_ns: int
    high: float
    low: float
    close: float


class OpenInterest(NamedTuple):
    """Open interest observed at ``ts_ns``: base units, value USDT (None when unknown), taker buy/sell volume
    ratio of the interval ending then (None when blank)."""

    ts_ns: int
    open_interest: float | None
    open_interest_value: float | None = None
    taker_ratio: float | None = None


class Funding(NamedTuple):
    """Funding at ``ts_ns``: ``rate`` per interval as a fraction (longs pay when > 0), mark price USDT."""

    ts_ns: int
    rate: float | None
    mark_price: float | None = None


class Trade(NamedTuple):
    """Aggregated trade: price USDT, quantity base; ``is_buyer_maker`` true = the taker sold."""

    ts_ns: int
    price: float
    quantity: float
    is_buyer_maker: bool


class Liquidation(NamedTuple):
    """A realized liquidation (Binance forceOrder): ``side`` of the liquidated position ('long' | 'short'),
    average fill price USDT, filled quantity base, notional USDT."""

    ts_ns: int
    side: str
    price: float
    quantity: float
    notional_usd: float


@dataclass(frozen=True)
class InputKind:
    """One engine input kind: its name (= the ``MarketInputs`` frame; a model consuming it implements
    ``on_<name>(record)``), record class, application rank (observations sharing a timestamp are applied in rank
    order, then by value) and whether non-finite values mean "missing" (stored as None)."""

    name: str
    record: type
    rank: int
    missing_as_none: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        return self.record._fields


# rank order = the order in which same-timestamp observations are applied (mark first: a bar's consumption
# uses the mark extremes; open interest before funding: funding erodes the cohorts the OI step opened)
MARK_PRICE = InputKind("mark_price", MarkPrice, 0)  # used by the engine itself (consumption)
OPEN_INTEREST = InputKind("open_interest", OpenInterest, 1, missing_as_none=True)
FUNDING = InputKind("funding", Funding, 2, missing_as_none=True)
TRADES = InputKind("trades", Trade, 3)  # handed to models in one batch per bar: on_trades(arrays)
INPUT_KINDS: dict[str, InputKind] = {k.name: k for k in (MARK_PRICE, OPEN_INTEREST, FUNDING, TRADES)}
KIND_OF_RECORD: dict[type, InputKind] = {k.record: k for k in INPUT_KINDS.values()}


@dataclass(frozen=True, eq=False)
class MarketInputs:
    """Engine inputs for one symbol in batch form: one frame per kind, sorted by ``ts_ns`` (epoch ns), with
    the columns of that kind's record (``bars``: :class:`Bar`; ``mark_price``: :class:`MarkPrice`;
    ``open_interest``: :class:`OpenInterest`; ``funding``: :class:`Funding`; ``trades``: :class:`Trade`).
    Missing values are NaN. ``interval`` is the bars' Binance interval (e.g. ``15m``)."""

    symbol: str
    interval: str
    bars: pd.DataFrame
    mark_price: pd.DataFrame
    open_interest: pd.DataFrame
    funding: pd.DataFrame
    trades: pd.DataFrame

    @property
    def interval_ns(self) -> int:
        """Bar length in nanoseconds."""
        from liq_signals.times import to_duration_ns

        return to_duration_ns(self.interval.replace("m", "min") if self.interval.endswith("m") else self.interval)

    def frame(self, kind: str) -> pd.DataFrame:
        """The frame of input kind ``kind`` (a key of :data:`INPUT_KINDS`)."""
        return getattr(self, kind)
