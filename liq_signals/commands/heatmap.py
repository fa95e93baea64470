"""``liq-signals heatmap``: estimated liquidation levels over time as a long-format table."""

from __future__ import annotations

from pathlib import Path

import typer

from liq_signals.commands.options import db_option


def register(app: typer.Typer) -> None:
    @app.command("heatmap")
    def heatmap(
        db: Path = db_option(),
        symbol: str = typer.Option(..., "--symbol", help="Symbol, e.g. BTCUSDT."),
        start: str = typer.Option(..., "--start", help="First snapshot time (UTC); inside the stored bars."),
        end: str = typer.Option(
            ..., "--end", help="Last snapshot time (UTC); inside the same stretch of stored bars as --start."
        ),
        model: str = typer.Option("a", "--model", help="a, b, c or ensemble."),
        every: str = typer.Option("15m", "--every", help="Snapshot spacing with a unit, e.g. 15m, 1h."),
        out: Path = typer.Option(..., "--out", help="Output file: .parquet, .csv or .html (interactive report)."),
        bucket_bps: float = typer.Option(
            10.0, "--bucket-bps", help="Price-bucket width in basis points (log buckets)."
        ),
        warmup: str = typer.Option(
            "30d", "--warmup", help="History fed to the engine before the first snapshot, with a unit, e.g. 30d."
        ),
        brackets: Path = typer.Option(None, "--brackets", help="Bracket-table JSON overriding the shipped ones."),
        quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
    ) -> None:
        """Write a long-format table (time, side, tier, price_low, price_high, notional_usd; non-zero cells)
        of estimated liquidation notional every --every from --start to --end. The engine warms up on
        --warmup of stored data before --start; each row uses only data up to its time. A range outside
        the stored bars (or across a gap in them) is refused with the range the database covers.

        Example: liq-signals heatmap --db liq.duckdb --symbol BTCUSDT --start 2023-12-01 --end 2023-12-12 --every 1h --out heat.html
        """
        from liq_signals.commands.bar_range import bar_coverage
        from liq_signals.commands.options import check_snapshot_count, duration_ns
        from liq_signals.commands.progress import progress_bar
        from liq_signals.data.reader import load_market_inputs
        from liq_signals.engine.batch import run_heatmap
        from liq_signals.engine.engine import EngineConfig
        from liq_signals.errors import LiqSignalsError

        suffix = out.suffix.lower()
        if suffix not in (".parquet", ".csv", ".html"):
            raise LiqSignalsError(f"--out must end in .parquet, .csv or .html, got {out.name}")
        cfg = EngineConfig(
            symbol=symbol,
            model=model,
            bucket_mode="bps",
            bucket_bps=bucket_bps,
            brackets_path=str(brackets) if brackets else None,
        )
        from liq_signals.times import ns_to_iso, to_ns

        t0, t1 = to_ns(start, "--start"), to_ns(end, "--end")
        if t1 < t0:
            raise LiqSignalsError(f"--end {end} is before --start {start}")
        step = duration_ns(every, "--every")
        warmup_ns = duration_ns(warmup, "--warmup")
        check_snapshot_count(t0, t1, step, every)
        bar_coverage(db, symbol).require_range(t0, t1)
        inputs = load_market_inputs(db, symbol, ns_to_iso(t0 - warmup_ns), ns_to_iso(t1))
        with progress_bar(quiet) as p:
            task = p.add_task("heatmap", total=None)

            def progress(i, n):
                p.update(task, completed=i, total=n)

            hm = run_heatmap(inputs, cfg, t0, t1, every, progress=progress)
        df = hm.to_frame()
        out.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".html":
            from liq_signals.report.heatmap_report import write_heatmap_html

            bars = inputs.bars[(inputs.bars["ts_ns"] >= hm.times_ns[0]) & (inputs.bars["ts_ns"] <= hm.times_ns[-1])]
            write_heatmap_html(hm, bars, out, {"instrument": f"{symbol.upper()}-PERP.BINANCE", "model": hm.model})
        elif suffix == ".parquet":
            df.to_parquet(out, index=False)
        else:
            df.to_csv(out, index=False)
        if not quiet:
            typer.echo(f"wrote {len(df)} rows ({len(hm.times_ns)} snapshots, model {hm.model}) to {out}")
            for n in hm.notes:
                typer.echo(f"note: {n}")
