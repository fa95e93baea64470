"""``liq-signals demo``: the README's main command — ingest the shipped real sample into an embedded
DuckDB file and a Nautilus catalog (once), run a shipped demo backtest config, write each run's report.
Outputs go to the current directory unless told otherwise."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    from liq_signals.backtest.run_dir import DEFAULT_OUT
    from liq_signals.commands.options import DEFAULT_DB

    @app.command("demo")
    def demo(
        config: Path | None = typer.Option(
            None,
            "--config",
            help="Backtest config (TOML/YAML) or the name of a shipped one (demo-avoid.toml [default], "
            "demo-magnet.toml, demo-actor.yaml); its catalog is filled from the sample if missing.",
        ),
        out: Path = typer.Option(DEFAULT_OUT, "--out", help="Run outputs go to OUT/<run-id>/ (report.html inside)."),
        db: Path = typer.Option(DEFAULT_DB, "--db", help="DuckDB file for the sample."),
        catalog: Path | None = typer.Option(
            None,
            "--catalog",
            help="Nautilus catalog to fill and use (default: ./catalog for a shipped config, "
            "else the config's own `catalog`).",
        ),
        no_report: bool = typer.Option(False, "--no-report", help="Skip report.html."),
    ) -> None:
        """Demo on real data: BTCUSDT 2023-11-14 → 2023-12-12 (15-min bars, 5-min open interest, funding),
        signal actor + LiquidationAvoidStrategy, reports in ./backtests/<run-id>/report.html.

        Example: liq-signals demo --config demo-magnet.toml
        """
        from liq_signals.backtest.demo import run_demo
        from liq_signals.commands.backtest import report_writer

        run_demo(
            config=config, out=out, db_path=db, catalog=catalog, note=typer.echo, finish=report_writer(not no_report)
        )
