"""``LiqLiveDataClientFactory``: registers :class:`~liq_signals.live.client.LiqLiveDataClient` with a node::

node = TradingNode(TradingNodeConfig(data_clients={"LIQ_SIGNALS": LiqLiveDataClientConfig(...)}, ...))
node.add_data_client_factory("LIQ_SIGNALS", LiqLiveDataClientFactory)
"""

from __future__ import annotations

from nautilus_trader.live.factories import LiveDataClientFactory
from nautilus_trader.model.identifiers import ClientId

from liq_signals.live.client import LiqLiveDataClient
from liq_signals.live.config import LiqLiveDataClientConfig


class LiqLiveDataClientFactory(LiveDataClientFactory):
    """Creates the liq_signals live data client; the client id is the ``data_clients`` key."""

    @staticmethod
    def create(loop, name: str, config: LiqLiveDataClientConfig, msgbus, cache, clock) -> LiqLiveDataClient:
        return LiqLiveDataClient(loop, ClientId(name), msgbus, cache, clock, config)
