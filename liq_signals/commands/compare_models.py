"""``liq-signals compare-models``: the engine's models side by side in one self-contained HTML page."""

from __future__ import annotations

from pathlib import Path

import typer

from liq_signals.commands.options import db_option

HELP = """Run models a, b, c and the ensemble over the same data and write an HTML comparison: their estimated
liquidation maps side by side at one snapshot time (--at, default the last snapshot) with per-bin
agreement, pairwise agreement over the period (Spearman, cosine, top-k overlap) and each model's heatmap.
Intensities are estimates (USDT notional of positions estimated to liquidate in a band). The page embeds
plotly.js and opens offline. --start and --end must lie in one stretch of the stored bars (otherwise the
command names the stretches the database covers).

Example:

  liq-signals compare-models --symbol BTCUSDT --start 2023-12-01 --end 2023-12-12 --every 1h --interval 15m --out compare.html
"""


def register(app: typer.Typer) -> None:
    """Attach the ``compare-models`` command to ``app``."""

    @app.command("compare-models", help=HELP)
    def compare_models(
        db: Path = db_option(),
        symbol: str = typer.Option(..., "--symbol", help="Symbol, e.g. BTCUSDT."),
        start: str = typer.Option(..., "--start", help="First snapshot time (UTC)."),
        end: str = typer.Option(..., "--end", help="Last snapshot time (UTC)."),
        every: str = typer.Option("1h", "--every", help="Snapshot spacing with a unit, e.g. 15m, 1h."),
        at: str = typer.Option(
            None, "--at", help="Time (UTC) of the side-by-side maps, between --start and --end; default: last snapshot."
        ),
        interval: str = typer.Option(
            None, "--interval", help="Kline interval to use, e.g. 15m (default: finest stored)."
        ),
        top_k: int = typer.Option(10, "--top-k", help="k for the top-k overlap of the agreement table."),
        out: Path = typer.Option(..., "--out", help="Output HTML file."),
        brackets: Path = typer.Option(None, "--brackets", help="Bracket-table JSON overriding the shipped ones."),
        quiet: bool = typer.Option(False, "--quiet", help="No progress output."),
    ) -> None:
        from liq_signals.commands.bar_range import bar_coverage
        from liq_signals.commands.options import check_snapshot_count, duration_ns
        from liq_signals.commands.progress import progress_bar
        from liq_signals.data.reader import load_market_inputs
        from liq_signals.engine.batch import compare_models as run_compare
        from liq_signals.engine.engine import EngineConfig
        from liq_signals.errors import LiqSignalsError
        from liq_signals.report.heatmap_report import write_compare_html
        from liq_signals.times import ns_to_iso, to_ns

        if out.suffix.lower() not in (".html", ".htm"):
            raise LiqSignalsError(f"--out must end in .html, got {out.name}")
        if top_k < 1:
            raise LiqSignalsError(f"--top-k must be >= 1, got {top_k}")
        cfg = EngineConfig(symbol=symbol, brackets_path=str(brackets) if brackets else None)
        t0, t1 = to_ns(start, "--start"), to_ns(end, "--end")
        if t1 < t0:
            raise LiqSignalsError(f"--end {end} is before --start {start}")
        check_snapshot_count(t0, t1, duration_ns(every, "--every"), every)
        if at is not None and not t0 <= to_ns(at, "--at") <= t1:
            raise LiqSignalsError(f"--at {at} is not between --start {start} and --end {end}")
        bar_coverage(db, symbol, interval).require_range(t0, t1)
        inputs = load_market_inputs(db, symbol, None, ns_to_iso(t1), interval=interval)
        with progress_bar(quiet) as p:
            task = p.add_task("compare models", total=2)
            comparison = run_compare(inputs, cfg, t0, t1, every, top_k=top_k)
            p.advance(task)
            bars = inputs.bars[inputs.bars["ts_ns"] <= max(h.times_ns[-1] for h in comparison.heatmaps.values())]
            meta = {
                "instrument": symbol,
                "sources": f"{db} (ingested Binance data)",
                "parameters": {
                    "every": every,
                    "top_k": top_k,
                    "bucket_width": cfg.bucket_width,
                    "tiers": list(cfg.tiers),
                    "tier_weights": list(cfg.tier_weights),
                },
            }
            path = write_compare_html(comparison, bars, out, meta, at=at)
            p.advance(task)
        if not quiet:
            typer.echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
            typer.echo(comparison.agreement.to_string(index=False))
