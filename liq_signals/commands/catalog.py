"""``liq-signals catalog``: export one symbol from the DuckDB store into a Nautilus ParquetDataCatalog."""

from __future__ import annotations

from pathlib import Path

import typer

from liq_signals.commands.options import db_option


def register(app: typer.Typer) -> None:
    """Add the ``catalog`` command to ``app``."""

    @app.command("catalog")
    def catalog(
        db: Path = db_option(),
        catalog_dir: Path = typer.Option(..., "--catalog", help="Catalog directory (created if missing)."),
        symbol: str = typer.Option("BTCUSDT", "--symbol", help="Binance USD-M symbol, e.g. BTCUSDT."),
        bar: str = typer.Option("15m", "--bar", help="Kline interval to export as bars (one per catalog)."),
        start: str | None = typer.Option(None, "--start", help="First event time, UTC ISO 8601 (inclusive)."),
        end: str | None = typer.Option(None, "--end", help="End event time, UTC ISO 8601 (exclusive)."),
        quiet: bool = typer.Option(False, "--quiet", help="No progress or summary output."),
    ) -> None:
        """Write the instrument, bars (stamped at close), open interest and funding to a Nautilus catalog.

        Re-running for the same range replaces that range. Example:

            liq-signals catalog --db data.duckdb --catalog catalog/ --symbol BTCUSDT --bar 15m --start 2023-11-14 --end 2023-12-13
        """
        from liq_signals.backtest.catalog_export import export_catalog
        from liq_signals.commands.progress import progress_bar

        with progress_bar(quiet) as p:
            task = p.add_task(f"catalog {symbol.upper()}", total=3)
            report = export_catalog(
                db, catalog_dir, symbol, bar, start=start, end=end, progress=lambda _msg: p.advance(task)
            )
        if not quiet:
            typer.echo(
                f"{report.catalog}: {report.instrument_id} — {report.bars} bars ({report.bar_type}), "
                f"{report.open_interest} open-interest snapshots, {report.funding} funding events"
            )
