"""``liq-signals demo``: the README's main command, on the shipped real sample data."""

from __future__ import annotations

from pathlib import Path

import typer

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "sample_data"


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        db: Path = typer.Option(Path("data/demo.duckdb"), "--db", help="DuckDB file for the sample (created if missing)."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
    ) -> None:
        """Ingest the shipped real Binance sample into an embedded DuckDB file (once) and summarise it.

        Example: liq-signals demo --db data/demo.duckdb
        """
        from rich.console import Console

        from liq_signals.commands.progress import progress_bar
        from liq_signals.data.info import summarize
        from liq_signals.data.ingest import find_data_files, ingest_paths

        console = Console(width=160)
        files = find_data_files([SAMPLE_DIR])
        with progress_bar(quiet) as p:
            task = p.add_task("ingest sample", total=len(files))
            report = ingest_paths([SAMPLE_DIR], db, progress=lambda _f: p.advance(task))
        console.print(f"{db}: {report.rows_new} new rows from {len(files)} files (re-runs add nothing)")
        df = summarize(db)
        console.print(df[df.kind != "coverage"].to_string(index=False))
