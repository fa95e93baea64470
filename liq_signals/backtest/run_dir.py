"""The run-directory contract: what ``liq-signals backtest`` writes to ``OUT/<run-id>/`` and the report reads.

Declared once here and used by both sides (the writer :mod:`liq_signals.backtest.outputs` and the reader
:mod:`liq_signals.report.run_data`). Units: prices USDT, sizes base asset, notionals USDT, times UTC
(ISO 8601 strings in CSV/JSON, tz-aware timestamps in parquet).

Files (only ``bars.parquet`` is required by the report; a missing optional file drops its panel):

- ``bars.parquet`` — :data:`BAR_COLUMNS` (``ts`` = bar close);
- ``heatmap.parquet`` — :data:`HEATMAP_COLUMNS` (+ optional ``model``): engine snapshots in long format;
- ``proximity_events.csv`` — :data:`EVENT_COLUMNS`: the published ``LiquidationProximity`` events;
- ``fills.csv`` / ``orders.csv`` / ``positions.csv`` / ``account.csv`` — Nautilus's
  ``generate_order_fills_report`` / ``generate_orders_report`` / ``generate_positions_report`` /
  ``generate_account_report`` as written by ``DataFrame.to_csv`` (the columns the report reads are
  :data:`FILL_COLUMNS`, :data:`ORDER_COLUMNS`, :data:`POSITION_COLUMNS`, :data:`ACCOUNT_COLUMNS`);
- ``stats.json`` — Nautilus portfolio statistics ``{"pnls", "returns", "general"}``;
- ``run_config.json`` — :class:`RunConfigRecord`; ``summary.json`` — :class:`Summary`;
- ``report.html`` — written by the report after the harness.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_OUT = Path("backtests")  # where runs go unless told otherwise (relative to the current directory)

BARS = "bars.parquet"
HEATMAP = "heatmap.parquet"
EVENTS = "proximity_events.csv"
FILLS = "fills.csv"
ORDERS = "orders.csv"
POSITIONS = "positions.csv"
ACCOUNT = "account.csv"
STATS = "stats.json"
RUN_CONFIG = "run_config.json"
SUMMARY = "summary.json"
REPORT = "report.html"

RUN_FILES = (FILLS, POSITIONS, ORDERS, ACCOUNT, EVENTS, HEATMAP, BARS, STATS, RUN_CONFIG, SUMMARY)
"""Every file the harness writes (the report adds :data:`REPORT`)."""

BAR_COLUMNS = ("ts", "open", "high", "low", "close", "volume")
HEATMAP_COLUMNS = ("time", "side", "tier", "price_low", "price_high", "notional_usd")
EVENT_COLUMNS = ("ts", "side", "price_low", "price_high", "notional_usd", "distance_bps", "model", "event")
FILL_COLUMNS = ("client_order_id", "side", "avg_px", "filled_qty", "commissions", "ts_last")
ORDER_COLUMNS = ("client_order_id", "side", "is_reduce_only", "status", "ts_last")
POSITION_COLUMNS = ("opening_order_id",)
ACCOUNT_COLUMNS = ("total", "currency")  # the first (index) column is the time

ORDER_REJECTED = "REJECTED"  # orders.csv ``status`` of an order the venue refused
ORDER_DENIED = "DENIED"  # orders.csv ``status`` of an order Nautilus's risk engine refused before the venue


def _from_dict(cls, data: dict):
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in (data or {}).items() if k in names})


@dataclass
class Summary:
    """``summary.json``: counts and results of one run. ``pnl_total`` USDT (last account balance minus the
    starting balance, commissions and funding included); ``funding_net_usdt`` USDT of perpetual funding settled
    on open positions (negative when paid; 0 with ``venue.funding = false``) over ``funding_payments``
    payments; ``max_drawdown_usdt`` the largest fall of the account balance from its running peak (USDT,
    positive); ``trades`` positions opened; ``sharpe`` Nautilus's annualised Sharpe ratio of daily returns;
    ``baseline`` (optional) the baseline run's ``kind``, ``pnl_total``, ``max_drawdown_usdt``, ``trades``,
    ``fills``, ``funding_net_usdt``, ``wall_seconds`` and ``vs_baseline`` this run minus it for ``pnl_total``,
    ``max_drawdown_usdt``, ``trades``, ``funding_net_usdt`` (see :mod:`liq_signals.backtest.baseline`);
    ``wall_seconds`` of the node run; ``events`` counts per event
    kind; ``orders_rejected`` / ``orders_denied`` count orders refused by the venue / the risk engine."""

    run_id: str = ""
    instrument: str = ""
    bar_type: str = ""
    start: str = ""
    end: str = ""
    model: str = ""
    bars: int = 0
    open_interest_obs: int = 0
    funding_obs: int = 0
    signals_published: int = 0
    events: dict = field(default_factory=dict)
    orders: int = 0
    orders_rejected: int = 0
    orders_denied: int = 0
    fills: int = 0
    positions: int = 0
    pnl_total: float | None = None
    max_drawdown_usdt: float = 0.0
    trades: int = 0
    sharpe: float | None = None
    funding_net_usdt: float = 0.0
    funding_payments: int = 0
    wall_seconds: float = 0.0
    strategy: str | None = None
    strategy_counters: dict = field(default_factory=dict)
    brackets: dict = field(default_factory=dict)
    flush_check: dict | None = None
    baseline: dict | None = None
    vs_baseline: dict | None = None

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        for key in ("flush_check", "baseline", "vs_baseline"):
            if out[key] is None:
                del out[key]
        return out

    @classmethod
    def from_dict(cls, data: dict) -> Summary:
        """Fields present in ``data`` (unknown keys ignored, missing ones default)."""
        return _from_dict(cls, data)


@dataclass
class RunConfigRecord:
    """``run_config.json``: what ran. ``settings`` = the merged config of the run (as read), ``actor`` =
    the actor config as applied, ``engine`` = the ``EngineConfig`` fields, ``data_sources`` = catalog path
    and the covered intervals per data type (ISO UTC)."""

    run_id: str = ""
    config_file: str = ""
    model: str = ""
    settings: dict = field(default_factory=dict)
    actor: dict = field(default_factory=dict)
    engine: dict = field(default_factory=dict)
    strategy: dict | None = None
    brackets: dict = field(default_factory=dict)
    data_sources: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> RunConfigRecord:
        """Fields present in ``data`` (unknown keys ignored, missing ones default)."""
        return _from_dict(cls, data)
