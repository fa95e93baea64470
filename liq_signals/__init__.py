"""liq_signals: estimated liquidation levels for Binance USD-M perpetuals, as a Nautilus Trader plugin.

Layers (each a sub-package): ``data`` (Binance files -> DuckDB -> Nautilus catalog), ``engine`` (pure
numpy/pandas margin maths and liquidation models), ``nautilus`` (indicator, actor, strategies, backtest
harness), ``report`` (Plotly HTML), ``validate`` (accuracy against recorded liquidations).
"""

__version__ = "0.1.0"
