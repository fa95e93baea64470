"""``liq-signals download``: fetch verified Binance Vision USD-M archives into a local mirror."""

from __future__ import annotations

from pathlib import Path

import typer

HELP = """Download Binance USD-M futures archives from data.binance.vision, verified by their sha256 .CHECKSUM.

Files land under DEST mirroring data/futures/um/{daily,monthly}/... with each .CHECKSUM beside its zip, ready for `liq-signals ingest DEST`.

Whole months that are over use monthly archives where the kind has them (a monthly file not yet published falls back to daily files); other days use daily archives. metrics is daily only, fundingRate monthly only.

Re-running skips files that already verify. Missing files (404) are reported, not fatal. Exit code 0 when every file found was verified, 2 when any stayed bad or failed.

Example:

  liq-signals download BTCUSDT --kinds klines:1m,metrics,fundingRate --start 2023-11-01 --end 2023-12-12 --dest data/vision
"""


def register(app: typer.Typer) -> None:
    """Attach the ``download`` command to ``app``."""

    @app.command("download", help=HELP)
    def download(
        symbol: str = typer.Argument(..., help="USD-M symbol, e.g. BTCUSDT."),
        kinds: str = typer.Option(
            "klines:1m,metrics,fundingRate",
            "--kinds",
            help="Comma list: klines:<interval>, markPriceKlines:<i>, indexPriceKlines:<i>, metrics, "
            "fundingRate, aggTrades.",
        ),
        start: str = typer.Option(..., "--start", help="First UTC day, YYYY-MM-DD (inclusive)."),
        end: str = typer.Option(..., "--end", help="Last UTC day, YYYY-MM-DD (inclusive)."),
        dest: Path = typer.Option(..., "--dest", help="Destination folder (the mirror root)."),
        base_url: str = typer.Option("https://data.binance.vision", "--base-url", help="Mirror base URL."),
        attempts: int = typer.Option(4, "--attempts", help="Tries per file for connection errors, 5xx, bad checksums."),
        retry_delay: float = typer.Option(
            1.0, "--retry-delay", help="First backoff delay in seconds (doubles each retry)."
        ),
        timeout: float = typer.Option(
            600.0, "--timeout", help="Longest time one request may take as a whole (connect + body), seconds."
        ),
        max_file_mb: float = typer.Option(8192.0, "--max-file-mb", help="Largest archive accepted, MiB."),
        quiet: bool = typer.Option(False, "--quiet", help="Hide the progress bar."),
    ) -> None:
        from rich.console import Console
        from rich.table import Table

        from liq_signals.commands.progress import progress_bar
        from liq_signals.data import download as dl

        kind_requests = dl.parse_kinds(kinds)
        first, last = dl.parse_date(start, "start"), dl.parse_date(end, "end")
        sym = dl.normalize_symbol(symbol)
        policy = dl.RetryPolicy(attempts=attempts, base_delay_s=retry_delay, timeout_s=timeout, max_file_mb=max_file_mb)
        dl.check_base_url(base_url)
        archives = dl.plan_archives(sym, kind_requests, first, last)
        root = dl.check_dest(dest)

        console = Console()
        with progress_bar(quiet) as p:
            task = p.add_task(f"download {sym}", total=len(archives))

            def on_added(n: int) -> None:
                p.update(task, total=p.tasks[task].total + n)

            def on_outcome(o: dl.FileOutcome) -> None:
                p.advance(task)
                if o.status in (dl.MISSING, dl.REPLACED):
                    p.console.print(f"missing: {o.message}", highlight=False, soft_wrap=True)
                elif o.status == dl.FAILED:
                    p.console.print(f"FAILED: {o.message}", highlight=False, soft_wrap=True)

            report = dl.download_archives(
                archives, root, first, last, base_url, policy, on_outcome=on_outcome, on_added=on_added
            )

        counts = report.counts()
        table = Table(title=f"{sym} {first}..{last}")
        table.add_column("status")
        table.add_column("files", justify="right")
        for status, n in counts.items():
            if status != dl.REPLACED or n:
                table.add_row(status, str(n))
        table.add_row("MB downloaded", f"{sum(o.bytes for o in report.outcomes) / 1e6:.1f}")
        console.print(table)
        console.print(f"files under {root}", highlight=False, soft_wrap=True)
        if not report.ok:  # a user-facing error: cli.main prints it as one line and exits 2
            from liq_signals.errors import LiqSignalsError

            raise LiqSignalsError(f"{counts[dl.FAILED]} file(s) failed (see FAILED lines above)")
