"""``liq-signals validate``: accuracy of the liquidation engine against recorded Binance liquidations."""

from __future__ import annotations

from pathlib import Path

import typer

from liq_signals.commands.options import db_option

HELP = """Score the engine's predicted liquidation zones against real recorded liquidations.

At each snapshot time t0 (every EVERY from START to END, UTC) the engine, fed only data observed up to t0, gives its top-k zones per side; each horizon window (t0, t0+H] is scored when it lies inside a recording's covered interval and holds at least MIN_EVENTS events: precision@k (zones with >= 1 same-side event), notional recall, Spearman(predicted, realized) over zones the price touched, each per side, with a distance-matched random baseline (same widths, real distances from price, random zone/side; seeded), lift and a Wilson 95% interval. Models without inputs are reported as "not scored", never as zero.

START and END must lie in one stretch of the stored bars (otherwise the command names the stretches the database covers). Durations (--horizons, --every, --warmup) need a unit: 15m, 4h, 1d.

--proxy oi-drop replaces recordings by open-interest drops (price falling -> longs), labelled PROXY.

--set FIELD=VALUE (repeatable) changes one EngineConfig field for this run, e.g. the leverage mix (--set tier_weights=0.1,0.2,0.3,0.2,0.2), the decay (--set tier_half_life_hours=168,84,36,12,6) or the side attribution (--set side_attribution=even); the outputs record the overrides and the priors used.

Examples:

  liq-signals validate --db liq.duckdb --symbol HYPEUSDT --start "2025-10-25 17:50" --end "2025-10-25 18:35" --model all --horizons 15m,30m --every 5m

  liq-signals validate --db liq.duckdb --symbol BTCUSDT --start 2023-12-10 --end "2023-12-11 03:00" --proxy oi-drop --horizons 1h --min-events 1 --json

  liq-signals validate --db liq.duckdb --symbol HYPEUSDT --start "2025-10-25 17:50" --end "2025-10-25 18:35" --model a --horizons 15m,30m --every 5m --warmup 3d --set side_attribution=even
"""


def register(app: typer.Typer) -> None:
    """Attach the ``validate`` command to ``app``."""

    @app.command("validate", help=HELP)
    def validate(
        db: Path = db_option(),
        symbol: str = typer.Option(..., "--symbol", help="USD-M symbol, e.g. BTCUSDT."),
        start: str = typer.Option(..., "--start", help="First snapshot time, UTC (e.g. '2025-10-25 17:50')."),
        end: str = typer.Option(..., "--end", help="Last snapshot time, UTC."),
        model: str = typer.Option("all", "--model", help="a, b, c, ensemble or all."),
        horizons: str = typer.Option(
            "1h,4h,24h", "--horizons", help="Comma list of horizons: 15m, 30m, 1h, 4h, 1d ..."
        ),
        every: str = typer.Option("15m", "--every", help="Snapshot spacing (e.g. 15m, 1h)."),
        top_k: int = typer.Option(10, "--top-k", help="Zones per side taken from each snapshot."),
        min_events: int = typer.Option(3, "--min-events", help="Skip windows with fewer realized events."),
        proxy: str = typer.Option(None, "--proxy", help="'oi-drop': use open-interest drops as PROXY ground truth."),
        proxy_min_drop: float = typer.Option(
            0.005, "--proxy-min-drop", help="OI fall (fraction of OI) that counts as a proxy event."
        ),
        zones: str = typer.Option(
            "buckets", "--zones", help="'buckets' (top-k price buckets) or 'clusters' (engine clusters)."
        ),
        bucket_bps: float = typer.Option(10.0, "--bucket-bps", help="Bucket width in basis points of price."),
        warmup: str = typer.Option("7d", "--warmup", help="History fed to the engine before START (e.g. 3d)."),
        baseline_draws: int = typer.Option(200, "--baseline-draws", help="Random baseline draws per window."),
        seed: int = typer.Option(0, "--seed", help="Seed of the random baseline."),
        sets: list[str] = typer.Option(
            None,
            "--set",
            help="FIELD=VALUE: override an EngineConfig field (repeatable), e.g. tier_weights=0.1,0.2,0.3,0.2,0.2.",
        ),
        json_out: bool = typer.Option(False, "--json", help="Print exactly one JSON object."),
        out: Path = typer.Option(None, "--out", help="Write metrics.csv, snapshots.csv, report.html here."),
        quiet: bool = typer.Option(False, "--quiet", help="Hide the progress bar."),
    ) -> None:
        from liq_signals.commands.bar_range import bar_coverage
        from liq_signals.commands.options import check_snapshot_count, duration_list_ns, duration_ns
        from liq_signals.commands.progress import progress_bar
        from liq_signals.engine import overrides as ov
        from liq_signals.times import to_ns
        from liq_signals.validate import report as rp
        from liq_signals.validate.run import MODEL_CHOICES, ValidateConfig, run_validation

        t0, t1 = to_ns(start, "--start"), to_ns(end, "--end")
        duration_list_ns(horizons, "--horizons")
        check_snapshot_count(t0, max(t0, t1), duration_ns(every, "--every"), every)
        duration_ns(warmup, "--warmup")
        models = MODEL_CHOICES if model.strip().lower() == "all" else (model.strip().lower(),)
        cfg = ValidateConfig(
            db_path=str(db),
            symbol=symbol,
            start=start,
            end=end,
            models=models,
            horizons=tuple(h for h in horizons.split(",")),
            every=every,
            top_k=top_k,
            min_events=min_events,
            proxy=proxy,
            seed=seed,
            baseline_draws=baseline_draws,
            warmup=warmup,
            zones=zones,
            bucket_bps=bucket_bps,
            proxy_min_drop=proxy_min_drop,
            engine_overrides=tuple(sets or ()),
        )
        bar_coverage(db, cfg.symbol).require_range(t0, t1)
        n_steps = len(cfg.snapshot_times()) * len(models)
        with progress_bar(quiet or json_out) as p:
            task = p.add_task(f"validate {cfg.symbol}", total=n_steps)
            result = run_validation(cfg, progress=lambda: p.advance(task))
        paths = rp.write_outputs(result, out) if out is not None else []
        if json_out:
            typer.echo(rp.to_json(result))
            return
        from liq_signals.commands.tables import new_console, new_table

        console = new_console(180)
        if result.is_proxy:
            console.print(f"[bold yellow]PROXY[/] — {result.ground_truth}", highlight=False)
        table = new_table(
            f"{cfg.symbol} {cfg.start} → {cfg.end} (top {cfg.top_k} {cfg.zones} per side)"
            + (" — PROXY ground truth" if result.is_proxy else ""),
            rp.HEADERS,
        )
        for row in rp.summary_rows(result):
            table.add_row(*row)
        console.print(table)
        for m, res in result.results.items():
            if res.scored:
                for h, d in res.skipped.items():
                    console.print(f"{m} {h}: " + ", ".join(f"{k} {v}" for k, v in d.items()), highlight=False)
        console.print(f"baseline: {result.baseline}", highlight=False)
        if cfg.engine_overrides:
            console.print(f"engine overrides: {ov.override_text(cfg.engine_overrides)}", highlight=False)
        for n in result.notes + [n for res in result.results.values() for n in res.notes]:
            console.print(f"note: {n}", highlight=False)
        for pth in paths:
            console.print(f"wrote {pth}", highlight=False)
