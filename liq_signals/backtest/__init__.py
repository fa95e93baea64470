"""The backtest harness behind ``liq-signals backtest`` / ``liq-signals demo`` (not needed inside a node).

``config`` (read, merge, sweep, run ids) → ``schema`` (check every table against its config class) →
``node`` (``BacktestRunConfig`` + ``BacktestNode`` per run) → ``outputs`` (write the run directory whole,
as declared in ``run_dir``). ``strategy_table`` resolves ``[strategy]`` (a shipped kind or any strategy by
path), ``funding`` settles perpetual funding in the venue, ``baseline`` pairs each run with a no-signal or
buy-and-hold run, ``executors`` runs the jobs of a sweep (serial, processes, Ray), ``walk_forward`` selects on
one period and reports on a later one. ``catalog_export`` fills a Nautilus catalog from DuckDB; ``demo`` runs
the shipped demo configs (``demo_configs/``) on the shipped sample.
"""
