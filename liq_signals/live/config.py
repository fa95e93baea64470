"""Config of :class:`~liq_signals.live.client.LiqLiveDataClient` (a Nautilus ``LiveDataClientConfig``).

``instrument_ids``: Nautilus ids of Binance USD-M perpetuals (``BTCUSDT-PERP.BINANCE``; the Binance symbol is
the part before ``-PERP``). ``base_url_http`` / ``base_url_ws``: REST and WebSocket bases (point them at
the replay server for tests). ``oi_poll_secs``: seconds between ``/fapi/v1/openInterest`` polls per symbol.
``mark_price`` / ``liquidations``: subscribe ``@markPrice`` (funding + the mark used to value OI) and
``@forceOrder``. ``gap_secs``: an OI ``time`` step longer than this (seconds) is logged as a gap (default
3 × ``oi_poll_secs``). ``backoff_secs`` / ``max_backoff_secs``: first and largest wait (seconds) after a
failed request or a dropped WebSocket when the server gives no ``Retry-After``. ``mark_wait_secs``: how long
an OI point may wait for the mark update of its instant (its value uses the mark in force then).
``taker_ratio``: also fetch ``/futures/data/takerlongshortRatio`` per new OI point (one more request) for
the engine's long/short split; without it model a/b split new open interest 1/2 : 1/2.
"""

from __future__ import annotations

import math

from nautilus_trader.config import LiveDataClientConfig

from liq_signals.errors import ConfigError


class LiqLiveDataClientConfig(LiveDataClientConfig, frozen=True):
    """See module doc."""

    instrument_ids: tuple[str, ...] = ("BTCUSDT-PERP.BINANCE",)
    base_url_http: str = "https://fapi.binance.com"
    base_url_ws: str = "wss://fstream.binance.com"
    oi_poll_secs: float = 5.0
    mark_price: bool = True
    liquidations: bool = True
    gap_secs: float | None = None
    backoff_secs: float = 1.0
    max_backoff_secs: float = 60.0
    mark_wait_secs: float = 3.0
    taker_ratio: bool = False

    def __post_init__(self) -> None:
        if not self.instrument_ids:
            raise ConfigError("live client: instrument_ids must name at least one instrument")
        for iid in self.instrument_ids:
            if not str(iid).endswith(".BINANCE") or "-PERP" not in str(iid):
                raise ConfigError(
                    f"live client: instrument id {iid!r} is not a Binance perpetual (SYMBOL-PERP.BINANCE)"
                )
        for name in ("base_url_http", "base_url_ws"):
            url = getattr(self, name)
            scheme = ("http://", "https://") if name == "base_url_http" else ("ws://", "wss://")
            if not isinstance(url, str) or not url.startswith(scheme):
                raise ConfigError(f"live client: {name} must start with {' or '.join(scheme)}, got {url!r}")
        for name in ("oi_poll_secs", "backoff_secs", "max_backoff_secs", "gap_secs", "mark_wait_secs"):
            v = getattr(self, name)
            if v is None and name == "gap_secs":
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise ConfigError(f"live client: {name} must be a number of seconds > 0, got {v!r}")

    @property
    def gap_ns(self) -> int:
        """OI gap threshold in ns."""
        return int((self.gap_secs if self.gap_secs is not None else 3 * self.oi_poll_secs) * 1e9)


def binance_symbol(instrument_id: str) -> str:
    """``BTCUSDT-PERP.BINANCE`` → ``BTCUSDT``."""
    return str(instrument_id).split(".")[0].split("-")[0].upper()
