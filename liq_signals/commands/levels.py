"""``liq-signals levels``: estimated liquidation clusters at one moment."""

from __future__ import annotations

from pathlib import Path

import typer

from liq_signals.commands.options import db_option


def register(app: typer.Typer) -> None:
    @app.command("levels")
    def levels(
        db: Path = db_option(),
        symbol: str = typer.Option(..., "--symbol", help="Symbol, e.g. BTCUSDT."),
        at: str = typer.Option(
            ..., "--at", help="Time (UTC), e.g. '2023-12-11 02:00'; must lie inside the stored bars."
        ),
        model: str = typer.Option(
            "a", "--model", help="a (open interest), b (a + funding), c (trade flow) or ensemble."
        ),
        top_k: int = typer.Option(10, "--top", help="Number of clusters to show (>= 1)."),
        min_share: float = typer.Option(
            0.2,
            "--min-share",
            help="A bucket joins a cluster when it holds at least this share of its side's largest bucket (0 = every non-empty bucket).",
        ),
        bucket_bps: float = typer.Option(
            10.0, "--bucket-bps", help="Price-bucket width in basis points (log buckets)."
        ),
        warmup: str = typer.Option(
            "30d", "--warmup", help="History fed to the engine before --at, with a unit, e.g. 30d, 36h."
        ),
        brackets: Path = typer.Option(None, "--brackets", help="Bracket-table JSON overriding the shipped ones."),
        json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
        quiet: bool = typer.Option(False, "--quiet", help="No progress output."),
    ) -> None:
        """Largest estimated liquidation clusters (side, price band, notional USDT, distance from price, per
        leverage tier) at --at, using the stored observations in the --warmup before it and nothing later.
        A time outside the stored bars, or with less history before it than the engine needs
        (min_history_hours, 24 h), is refused.

        Example: liq-signals levels --symbol BTCUSDT --at "2023-12-11 02:00" --json
        """
        import json

        from liq_signals.commands.bar_range import bar_coverage
        from liq_signals.commands.options import duration_ns
        from liq_signals.data.reader import load_market_inputs
        from liq_signals.engine.batch import levels_at
        from liq_signals.engine.engine import EngineConfig
        from liq_signals.errors import LiqSignalsError
        from liq_signals.times import ns_to_iso, to_ns

        if not 0.0 <= min_share <= 1.0:
            raise LiqSignalsError(f"--min-share must be between 0 and 1, got {min_share}")
        if top_k < 1:
            raise LiqSignalsError(f"--top must be >= 1, got {top_k}")
        cfg = EngineConfig(
            symbol=symbol,
            model=model,
            bucket_mode="bps",
            bucket_bps=bucket_bps,
            brackets_path=str(brackets) if brackets else None,
        )
        t_ns = to_ns(at, "--at")
        warmup_ns = duration_ns(warmup, "--warmup")
        coverage = bar_coverage(db, symbol)
        coverage.require(t_ns, "--at")
        inputs = load_market_inputs(db, symbol, ns_to_iso(t_ns - warmup_ns), ns_to_iso(t_ns))
        snap = levels_at(inputs, cfg, t_ns)
        if not snap.initialized:
            raise LiqSignalsError(
                _history_message(
                    cfg.min_history_hours, warmup, warmup_ns, t_ns, int(inputs.bars["ts_ns"].iloc[0]), coverage
                )
            )
        out = snap.to_dict(top_k, min_share)
        if json_out:
            typer.echo(json.dumps(out))
            return
        from liq_signals.commands.tables import new_console, new_table

        table = new_table(
            f"{out['symbol']} {out['time']} price {out['price']:,.2f} model {out['model']} "
            f"(brackets {out['brackets_date'] or 'default table'})",
            ("side", "price_low", "price_high", "notional_usd", "distance_bps", "tiers"),
        )
        for c in out["clusters"]:
            tiers = " ".join(f"{k}x:{v / 1e6:.1f}M" for k, v in c["tiers"].items() if v > 0)
            table.add_row(
                c["side"],
                f"{c['price_low']:,.2f}",
                f"{c['price_high']:,.2f}",
                f"{c['notional_usd']:,.0f}",
                f"{c['distance_bps']:.0f}",
                tiers,
            )
        console = new_console(160)
        console.print(table)
        for n in out["notes"]:
            console.print(f"note: {n}", highlight=False)


def _history_message(
    min_history_hours: float, warmup: str, warmup_ns: int, t_ns: int, first_bar_ns: int, coverage
) -> str:
    """Why the engine is not initialized at ``t_ns``: the --warmup is too short, or the data starts too late."""
    from liq_signals.times import NS_PER_HOUR, ns_to_iso

    need_ns = int(min_history_hours * NS_PER_HOUR)
    have_h = (t_ns - first_bar_ns) / NS_PER_HOUR
    head = (
        f"--at {ns_to_iso(t_ns)}: the engine needs {min_history_hours:g} h of history before --at "
        f"(min_history_hours) but has {have_h:.1f} h"
    )
    if warmup_ns < need_ns:
        return f"{head}: --warmup {warmup} is shorter; use at least {min_history_hours:g}h"
    seg_first, seg_last = coverage.segment_of(t_ns)
    if seg_first + need_ns > seg_last:
        return (
            f"{head}: the stretch of bars holding --at ({ns_to_iso(seg_first)} → {ns_to_iso(seg_last)}) is "
            f"shorter than that ({coverage.describe()})"
        )
    return (
        f"{head}: the bars before it start at {ns_to_iso(first_bar_ns)}; the earliest --at with enough "
        f"history is {ns_to_iso(seg_first + need_ns)} ({coverage.describe()})"
    )
