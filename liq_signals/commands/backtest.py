"""``liq-signals backtest``: run the Nautilus backtests described by a TOML/YAML config file."""

from __future__ import annotations

from pathlib import Path

import typer

HELP = """Run one or more Nautilus backtests (signal actor + optional strategy) from a TOML or YAML config.

The config holds base settings, an optional `runs` list of overrides and an optional `sweep` table of values;
the catalog path is relative to the config file. Each run writes DIR/<run-id>/: fills.csv, positions.csv,
orders.csv, account.csv, proximity_events.csv, heatmap.parquet, bars.parquet, stats.json,
run_config.json, summary.json (and report.html when the report module is available).
See backtests/README.md and configs/ for examples.

Example:

  liq-signals backtest configs/demo-avoid.toml --out backtests
"""


def register(app: typer.Typer) -> None:
    """Attach the ``backtest`` command to ``app``."""

    @app.command("backtest", help=HELP)
    def backtest(
        config: Path = typer.Argument(..., help="Backtest config (.toml, .yaml or .yml)."),
        out: Path = typer.Option(Path("backtests"), "--out", help="Output folder; each run writes <out>/<run-id>/."),
        no_report: bool = typer.Option(False, "--no-report", help="Skip report.html."),
        quiet: bool = typer.Option(False, "--quiet", help="Hide the progress bar and the summary table."),
    ) -> None:
        from rich.console import Console
        from rich.table import Table

        from liq_signals.commands.progress import progress_bar
        from liq_signals.nautilus.backtest import load_runs, run_backtests

        n = len(load_runs(config))
        with progress_bar(quiet) as p:
            task = p.add_task(f"backtest {config.name}", total=n)
            done = []

            def on_run(spec) -> None:
                p.update(task, completed=len(done), description=f"backtest {spec.id}")
                done.append(spec.id)

            results = run_backtests(config, out, write_report=not no_report, on_run=on_run)
            p.update(task, completed=n, description=f"backtest {config.name}")
        if quiet:
            return
        table = Table(title=f"{config} → {out}")
        for col in ("run", "bars", "signals", "orders", "fills", "pnl USDT", "wall s", "report"):
            table.add_column(col)
        for r in results:
            s = r.summary
            pnl = "" if s["pnl_total"] is None else f"{s['pnl_total']:,.2f}"
            table.add_row(r.run_id, str(s["bars"]), str(s["signals_published"]), str(s["orders"]), str(s["fills"]),
                          pnl, f"{s['wall_seconds']:.1f}", str(r.report or r.run_dir))
        Console().print(table)
