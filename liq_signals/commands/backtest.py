"""``liq-signals backtest``: run the Nautilus backtests described by a TOML/YAML config file, then the report."""

from __future__ import annotations

from pathlib import Path

import typer

HELP = """Run one or more Nautilus backtests (signal actor + optional strategy) from a TOML or YAML config.

The config holds base settings, an optional `runs` list of overrides and an optional `sweep` table of values;
the catalog path is relative to the config file. Every table and sweep key is checked against its config
class and every run is validated before the first starts. Each run writes DIR/<run-id>/ whole (replacing an
older one): fills.csv, positions.csv, orders.csv, account.csv, proximity_events.csv, heatmap.parquet,
bars.parquet, stats.json, run_config.json, summary.json and report.html (unless --no-report). A config with
several runs also writes DIR/index.html (a sortable table of the runs linking their reports) and one shared
DIR/plotly.min.js the reports load; a single run's report embeds plotly.js.
See backtests/README.md and configs/ for examples.

Runs execute in parallel (--executor process, the default: one BacktestNode per spawned process; ray: a
local Ray instance or --ray-address; serial: one after another); results do not depend on the executor.
A line is printed as each run finishes.

Example:

  liq-signals backtest configs/demo-avoid.toml --out backtests --workers 2
"""


def summary_table(title: str, results):
    """Rich table of run results (``rej/den`` = orders rejected by the venue / denied by the risk engine).
    Run ids fold onto further lines instead of being cut (the table fits 80 columns); the output paths are
    printed in full below the table by :func:`print_summary`."""
    from rich import box
    from rich.table import Table

    widest = max((len(r.run_id) for r in results), default=3)
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False)
    table.add_column("run", overflow="fold", min_width=min(widest, 12))
    for col in ("bars", "signals", "orders", "rej/den", "fills", "pnl USDT", "wall s"):
        table.add_column(col, overflow="fold", justify="right")
    for r in results:
        s = r.summary
        pnl = "" if s.pnl_total is None else f"{s.pnl_total:,.2f}"
        table.add_row(
            r.run_id,
            str(s.bars),
            str(s.signals_published),
            str(s.orders),
            f"{s.orders_rejected}/{s.orders_denied}",
            str(s.fills),
            pnl,
            f"{s.wall_seconds:.1f}",
        )
    return table


def print_summary(title: str, results, console=None) -> None:
    """The summary table, then one line per run with its full output path (never truncated)."""
    from rich.console import Console

    if console is None:
        console = Console()
        if not console.is_terminal:  # a pipe or file: as wide as the table needs, not 80 columns
            console = Console(
                width=max(
                    80,
                    console.measure(
                        summary_table(title, results), options=console.options.update(max_width=10_000)
                    ).maximum,
                )
            )
    console.print(summary_table(title, results))
    for r in results:
        console.print(f"{r.run_id}: {r.finished or r.run_dir}", soft_wrap=True, highlight=False, markup=False)


def progress_line(k: int, n: int, result) -> str:
    """'[3/16] run-id: 198 fills, PnL -19.16 USDT (vs baseline -222.92), 1.5 s' for a finished run."""
    s = result.summary
    pnl = "n/a" if s.pnl_total is None else f"{s.pnl_total:,.2f}"
    vs = (s.vs_baseline or {}).get("pnl_total")
    base = f" (vs {s.baseline['kind']} {vs:+,.2f})" if vs is not None else ""
    return (
        f"[{k}/{n}] {result.run_id}: {s.signals_published} signals, {s.fills} fills, PnL {pnl} USDT{base}, "
        f"{s.wall_seconds:.1f} s"
    )


def report_writer(enabled: bool):
    """``finish`` callback writing report.html into a run directory (None when disabled)."""
    if not enabled:
        return None
    from liq_signals.report.run_report import write_run_report

    return write_run_report


def register(app: typer.Typer) -> None:
    """Attach the ``backtest`` command to ``app``."""

    @app.command("backtest", help=HELP)
    def backtest(
        config: Path = typer.Argument(..., help="Backtest config (.toml, .yaml or .yml)."),
        out: Path = typer.Option(Path("backtests"), "--out", help="Output folder; each run writes <out>/<run-id>/."),
        no_report: bool = typer.Option(False, "--no-report", help="Skip report.html."),
        max_runs: int | None = typer.Option(
            None,
            "--max-runs",
            min=1,
            help="Refuse configs expanding to more runs (default: the config's max_runs, else 1000).",
        ),
        quiet: bool = typer.Option(False, "--quiet", help="Hide the progress lines and the summary table."),
        executor: str = typer.Option(
            "process",
            "--executor",
            help="Where runs execute: process (a pool of spawned processes, one "
            "BacktestNode each), ray (local Ray, or --ray-address) or serial.",
        ),
        workers: int | None = typer.Option(
            None, "--workers", min=1, help="Parallel runs (default: one per core, at most the runs)."
        ),
        ray_address: str | None = typer.Option(
            None,
            "--ray-address",
            help="Join this Ray cluster (host:port) instead of starting a local instance; needs --executor ray.",
        ),
    ) -> None:
        from liq_signals.backtest.executors import EXECUTORS
        from liq_signals.backtest.node import prepare_runs, run_backtests
        from liq_signals.errors import ConfigError

        if executor not in EXECUTORS:
            raise ConfigError(f"--executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
        if ray_address is not None and executor != "ray":
            raise ConfigError("--ray-address needs --executor ray")
        from liq_signals.backtest.config import read_config_file
        from liq_signals.backtest.walk_forward import parse as parse_walk_forward
        from liq_signals.backtest.walk_forward import run_walk_forward
        from liq_signals.report.sweep_report import sweep_report_writer, write_shared_plotly, write_sweep_page

        # every run is validated (config, catalog data) before the first starts and before anything is written
        prepared = prepare_runs(config, max_runs)
        n = len(prepared[0])
        wf = parse_walk_forward(config.resolve(), read_config_file(config))
        finish = report_writer(not no_report)
        if n > 1 and finish is not None and wf is None:  # a sweep's reports share one plotly.js; one run embeds it
            write_shared_plotly(out)
            finish = sweep_report_writer()
        done = []

        def on_done(i, result) -> None:
            done.append(i)
            if not quiet:
                typer.echo(progress_line(len(done), n, result), err=True)

        kw = dict(executor=executor, workers=workers, ray_address=ray_address, on_done=on_done)
        if wf is not None:
            rec = run_walk_forward(wf, prepared, out, finish=report_writer(not no_report), **kw)
            r = rec["report_summary"]
            typer.echo(
                f"walk-forward: chose {rec['chosen']} by {wf.metric} on {wf.select_start} → {wf.select_end}; "
                f"on {wf.report_start} → {wf.report_end}: PnL {r['pnl_total']} USDT, {r['fills']} fills; "
                f"report {rec['report_dir']} (record {out / 'walk_forward.json'})"
            )
            return
        results = run_backtests(config, out, finish=finish, prepared=prepared, **kw)
        page = write_sweep_page(out, [r.run_id for r in results], title=f"{config.name}: {n} runs") if n > 1 else None
        if not quiet:
            print_summary(f"{config} → {out}", results)
            if page is not None:
                typer.echo(f"sweep comparison: {page}")
