"""``liq-signals demo``: the README's main command — ingest the shipped real sample into an embedded
DuckDB file and a Nautilus catalog (once), run the demo backtest config, write each run's report."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    from liq_signals.nautilus.demo import REPO_ROOT

    @app.command("demo")
    def demo(
        config: Path = typer.Option(REPO_ROOT / "configs" / "demo-avoid.toml", "--config",
                                    help="Backtest config to run (TOML/YAML); its catalog is filled from the sample if missing."),
        out: Path = typer.Option(REPO_ROOT / "backtests", "--out", help="Run outputs go to OUT/<run-id>/ (report.html inside)."),
        db: Path = typer.Option(REPO_ROOT / "data" / "demo.duckdb", "--db", help="DuckDB file for the sample."),
    ) -> None:
        """Demo on real data: BTCUSDT 2023-11-14 → 2023-12-12 (15-min bars, 5-min open interest, funding),
        signal actor + LiquidationAvoidStrategy, reports in backtests/<run-id>/report.html.

        Example: liq-signals demo --config configs/demo-magnet.toml
        """
        from liq_signals.nautilus.demo import run_demo

        run_demo(config=config, out=out, db_path=db, note=typer.echo)
