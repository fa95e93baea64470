"""``liq-signals ingest``: load Binance files into the DuckDB store."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from liq_signals.commands.options import DEFAULT_DB
from liq_signals.commands.progress import progress_bar


def register(app: typer.Typer) -> None:
    @app.command("ingest")
    def ingest(
        paths: list[Path] = typer.Argument(..., help="Files (.csv or data.binance.vision .zip) or directories (walked recursively)."),
        db: Path = typer.Option(DEFAULT_DB, "--db", help="DuckDB file (created if missing; default: data/liq_signals.duckdb)."),
        kind: str = typer.Option(None, "--kind", help="Override the kind: klines, markPriceKlines, indexPriceKlines, metrics, fundingRate, aggTrades, liquidations."),
        symbol: str = typer.Option(None, "--symbol", help="Override the symbol, e.g. BTCUSDT."),
        interval: str = typer.Option(None, "--interval", help="Kline interval when the file name has none, e.g. 15m."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or table."),
    ) -> None:
        """Load Binance USD-M files into DuckDB: klines / markPriceKlines, metrics (open interest),
        fundingRate, aggTrades and liquidation recordings. One transaction per run; re-running is safe.

        Example: liq-signals ingest data/futures/um/daily --db liq.duckdb
        """
        from liq_signals.data.ingest import find_data_files, ingest_paths

        files = find_data_files(paths)
        with progress_bar(quiet) as p:
            task = p.add_task("ingest", total=len(files))
            report = ingest_paths(paths, db, kind=kind, symbol=symbol, interval=interval,
                                  progress=lambda _f: p.advance(task))
        if quiet:
            return
        table = Table(title=f"ingested into {db}")
        for col in ("file", "kind", "symbols", "rows", "new", "dup dropped", "repairs"):
            table.add_column(col)
        for f in report.files:
            syms = ",".join(f.symbols[:3]) + (f" +{len(f.symbols) - 3}" if len(f.symbols) > 3 else "")
            table.add_row(Path(f.file).name, f.kind, syms, str(f.rows_read), str(f.rows_new),
                          str(f.duplicates_dropped), "; ".join(f.repairs))
        console = Console(width=max(Console().width, 180))
        console.print(table)
        for sym, (lag, method) in report.metrics_lag.items():
            console.print(f"metrics lag {sym}: {lag // 1000} s ({method})")
