"""``liq-signals ingest``: load Binance files into the DuckDB store."""

from __future__ import annotations

import signal
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from liq_signals.commands.options import DEFAULT_DB
from liq_signals.commands.progress import progress_bar


def _raise_interrupt(_signum, _frame):
    raise KeyboardInterrupt


def register(app: typer.Typer) -> None:
    @app.command("ingest")
    def ingest(
        paths: list[Path] = typer.Argument(
            ..., help="Files (.csv or data.binance.vision .zip) or directories (walked recursively)."
        ),
        db: Path = typer.Option(
            DEFAULT_DB, "--db", help="DuckDB file (created if missing; default: data/liq_signals.duckdb)."
        ),
        kind: str = typer.Option(
            None,
            "--kind",
            help="Override the kind: klines, markPriceKlines, indexPriceKlines, metrics, fundingRate, aggTrades, liquidations.",
        ),
        symbol: str = typer.Option(None, "--symbol", help="Override the symbol, e.g. BTCUSDT."),
        interval: str = typer.Option(None, "--interval", help="Kline interval when the file name has none, e.g. 15m."),
        on_conflict: str = typer.Option(
            "error",
            "--on-conflict",
            help="A row whose key is stored with OTHER values: error (default, nothing written), replace (the file wins) or keep (the store wins).",
        ),
        max_unzipped_mb: float = typer.Option(
            8192.0, "--max-unzipped-mb", help="Largest CSV a zip may unpack to, MiB."
        ),
        max_ratio: float = typer.Option(
            100.0,
            "--max-ratio",
            help="Largest unpacked/compressed size ratio of a zip member (members < 1 MiB exempt).",
        ),
        max_line_kb: int = typer.Option(64, "--max-line-kb", help="Longest line, KiB."),
        max_columns: int = typer.Option(64, "--max-columns", help="Most fields on a line."),
        max_value: float = typer.Option(
            1e12,
            "--max-value",
            help="Upper bound for prices (USDT), open interest (base) and its value (USDT), quantities (base).",
        ),
        future_slack: str = typer.Option(
            "1d", "--future-slack", help="Rows dated after now + this are refused (duration, e.g. 1d, 6h)."
        ),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or table."),
    ) -> None:
        """Load Binance USD-M files into DuckDB: klines / markPriceKlines, metrics (open interest),
        fundingRate, aggTrades and liquidation recordings. One transaction per run; re-running is safe.
        Limits and policies: docs/data-limits.md. Ctrl-C / SIGTERM: exit 130, the database unchanged.

        Example: liq-signals ingest data/futures/um/daily --db liq.duckdb
        """
        from liq_signals.data.conflicts import check_policy
        from liq_signals.data.ingest import find_data_files, ingest_paths
        from liq_signals.data.limits import IngestLimits
        from liq_signals.times import to_duration_ns

        check_policy(on_conflict)
        limits = IngestLimits(
            max_unzipped_mb=max_unzipped_mb,
            max_ratio=max_ratio,
            max_line_kb=max_line_kb,
            max_columns=max_columns,
            max_value=max_value,
            future_slack_ns=to_duration_ns(future_slack, "--future-slack"),
        )
        files = find_data_files(paths)
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)  # SIGTERM rolls back like Ctrl-C
        try:
            with progress_bar(quiet) as p:
                task = p.add_task("ingest", total=len(files))
                report = ingest_paths(
                    paths,
                    db,
                    kind=kind,
                    symbol=symbol,
                    interval=interval,
                    progress=lambda _f: p.advance(task),
                    limits=limits,
                    on_conflict=on_conflict,
                )
        except KeyboardInterrupt:  # rolled back and the temp folder removed by ingest_paths
            typer.echo(f"interrupted: nothing written to {db}", err=True)
            raise SystemExit(130) from None
        finally:
            signal.signal(signal.SIGTERM, previous)
        if quiet:
            return
        table = Table(title=f"ingested into {db}")
        for col in ("file", "kind", "symbols", "rows", "new", "dup dropped", "conflicts", "repairs"):
            table.add_column(col)
        for f in report.files:
            syms = ",".join(f.symbols[:3]) + (f" +{len(f.symbols) - 3}" if len(f.symbols) > 3 else "")
            conflicts = (
                f"{f.conflicts} {'replaced' if f.conflict_policy == 'replace' else 'kept'}" if f.conflicts else "0"
            )
            table.add_row(
                Path(f.file).name,
                f.kind,
                syms,
                str(f.rows_read),
                str(f.rows_new),
                str(f.duplicates_dropped),
                conflicts,
                "; ".join(f.repairs),
            )
        console = Console(width=max(Console().width, 180))
        console.print(table)
        for sym, (lag, method) in report.metrics_lag.items():
            console.print(f"metrics lag {sym}: {lag // 1000} s ({method})")
