"""``liq-signals levels``: estimated liquidation clusters at one moment."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("levels")
    def levels(
        db: Path = typer.Option(Path("liq_signals.duckdb"), "--db", help="DuckDB file written by `ingest`."),
        symbol: str = typer.Option(..., "--symbol", help="Symbol, e.g. BTCUSDT."),
        at: str = typer.Option(..., "--at", help="Time (UTC), e.g. '2023-12-11 02:00'."),
        model: str = typer.Option("a", "--model", help="a (open interest), b (a + funding), c (trade flow) or ensemble."),
        top_k: int = typer.Option(10, "--top", help="Number of clusters to show."),
        min_share: float = typer.Option(0.2, "--min-share", help="A bucket joins a cluster when it holds at least this share of its side's largest bucket (0 = every non-empty bucket)."),
        bucket_bps: float = typer.Option(10.0, "--bucket-bps", help="Price-bucket width in basis points (log buckets)."),
        warmup: str = typer.Option("30d", "--warmup", help="History fed to the engine before the first snapshot, e.g. 30d."),
        brackets: Path = typer.Option(None, "--brackets", help="Bracket-table JSON overriding the shipped ones."),
        json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
        quiet: bool = typer.Option(False, "--quiet", help="No progress output."),
    ) -> None:
        """Largest estimated liquidation clusters (side, price band, notional USDT, distance from price, per
        leverage tier) at --at, using the stored observations in the --warmup before it and nothing later.

        Example: liq-signals levels --db liq.duckdb --symbol BTCUSDT --at "2023-12-11 02:00" --json
        """
        import json

        from liq_signals.data.reader import load_market_inputs
        from liq_signals.engine.batch import levels_at, to_ns
        from liq_signals.engine.engine import EngineConfig

        from liq_signals.errors import LiqSignalsError

        if not 0.0 <= min_share <= 1.0:
            raise LiqSignalsError(f"--min-share must be between 0 and 1, got {min_share}")
        cfg = EngineConfig(symbol=symbol, model=model, bucket_mode="bps", bucket_bps=bucket_bps,
                           brackets_path=str(brackets) if brackets else None)
        t_ns = to_ns(at)
        from liq_signals.engine.batch import to_timedelta_ns

        inputs = load_market_inputs(db, symbol, _iso(t_ns - to_timedelta_ns(warmup)), _iso(t_ns))
        snap = levels_at(inputs, cfg, t_ns)
        out = snap.to_dict(top_k, min_share)
        if json_out:
            typer.echo(json.dumps(out))
            return
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"{out['symbol']} {out['time']} price {out['price']:,.2f} model {out['model']} "
                            f"(brackets {out['brackets_date'] or 'default table'})")
        for col in ("side", "price_low", "price_high", "notional_usd", "distance_bps", "tiers"):
            table.add_column(col)
        for c in out["clusters"]:
            tiers = " ".join(f"{k}x:{v / 1e6:.1f}M" for k, v in c["tiers"].items() if v > 0)
            table.add_row(c["side"], f"{c['price_low']:,.2f}", f"{c['price_high']:,.2f}",
                          f"{c['notional_usd']:,.0f}", f"{c['distance_bps']:.0f}", tiers)
        console = Console(width=160)
        console.print(table)
        for n in out["notes"]:
            console.print(f"note: {n}")


def _iso(t_ns: int) -> str:
    import pandas as pd

    return pd.Timestamp(t_ns, unit="ns").isoformat()
