"""The backtest harness behind ``liq-signals backtest`` / ``liq-signals demo`` (not needed inside a node).

``config`` (read, merge, sweep, run ids) → ``schema`` (check every table against its config class) →
``node`` (``BacktestRunConfig`` + ``BacktestNode`` per run) → ``outputs`` (write the run directory whole,
as declared in ``run_dir``). ``catalog_export`` fills a Nautilus catalog from DuckDB; ``demo`` runs the
shipped demo configs (``demo_configs/``) on the shipped sample.
"""
