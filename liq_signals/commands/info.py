"""``liq-signals info``: what the DuckDB store holds."""

from __future__ import annotations

from pathlib import Path

import typer

from liq_signals.commands.options import db_option


def register(app: typer.Typer) -> None:
    @app.command("info")
    def info(
        db: Path = db_option(),
        symbol: str = typer.Option(None, "--symbol", help="Only this symbol (liquidations hold many)."),
        json_out: bool = typer.Option(False, "--json", help="Print JSON records instead of a table."),
    ) -> None:
        """Per symbol and kind: row count, first/last time (UTC), gaps (cadence breaks, missing steps),
        the measured open-interest snapshot lag and recording coverage intervals.

        Example: liq-signals info --db liq.duckdb --symbol BTCUSDT
        """
        from rich.console import Console
        from rich.table import Table

        from liq_signals.data.reader import symbol_summary

        df = symbol_summary(db)
        if symbol:
            df = df[(df.symbol == symbol.upper()) | (df.kind == "coverage")]
        if json_out:
            typer.echo(df.to_json(orient="records", date_format="iso"))
            return
        table = Table(title=f"{db}")
        for col in df.columns:
            table.add_column(col)
        for r in df.itertuples(index=False):
            table.add_row(*("" if v is None else str(v) for v in r))
        Console(width=160).print(table)
