"""Liquidation-level models: A (open interest), B (A + funding), C (trade flow) and their ensemble."""

from liq_signals.engine.models.funding import FundingModel
from liq_signals.engine.models.open_interest import OpenInterestModel
from liq_signals.engine.models.trade_flow import TradeFlowModel

MODEL_CLASSES = {"a": OpenInterestModel, "b": FundingModel, "c": TradeFlowModel}

__all__ = ["FundingModel", "OpenInterestModel", "TradeFlowModel", "MODEL_CLASSES"]
