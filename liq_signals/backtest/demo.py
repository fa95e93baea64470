"""The README's main flow on the shipped sample: ingest → catalog → backtest.

:func:`run_demo` ingests ``liq_signals/sample_data/btcusdt-2023-11`` into a DuckDB file and exports a
Nautilus catalog when it is missing, then runs a demo config (default :data:`DEFAULT_CONFIG`, shipped in
the package under ``demo_configs/``) against that catalog. Outputs default to the current directory:
``./backtests/<run-id>/``, ``./data/liq_signals.duckdb``, ``./catalog``. The command adds the report.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from liq_signals.backtest.config import load_runs
from liq_signals.backtest.node import check_catalogs, run_backtests
from liq_signals.backtest.run_dir import DEFAULT_OUT
from liq_signals.data.db import DEFAULT_PATH

DEMO_CONFIGS = Path(__file__).resolve().parent / "demo_configs"
SAMPLE_DIR = Path(__file__).resolve().parents[1] / "sample_data" / "btcusdt-2023-11"  # the shipped BTCUSDT month
DEFAULT_CONFIG = DEMO_CONFIGS / "demo-avoid.toml"
DEFAULT_DB = DEFAULT_PATH
DEFAULT_CATALOG = Path("catalog")


def prepare_catalog(db_path: Path, catalog_path: Path, note=print) -> None:
    """Ingest the BTCUSDT sample into ``db_path`` and export ``catalog_path`` unless the catalog has bars."""
    from liq_signals.backtest.catalog_export import export_catalog
    from liq_signals.data.ingest import ingest_paths

    if (catalog_path / "data" / "bar").is_dir():
        note(f"catalog {catalog_path} exists: skipping ingest/export")
        return
    db_path.parent.mkdir(parents=True, exist_ok=True)
    report = ingest_paths([SAMPLE_DIR], db_path)
    note(f"ingested {sum(f.rows_new for f in report.files)} new rows into {db_path}")
    exp = export_catalog(db_path, catalog_path, "BTCUSDT", "15m")
    note(f"catalog {catalog_path}: {exp.bars} bars, {exp.open_interest} OI, {exp.funding} funding")


def demo_config(config: Path | str | None) -> Path:
    """``config`` as given, or the shipped demo config of that name (``demo-magnet.toml``) when no such file
    exists; :data:`DEFAULT_CONFIG` for None."""
    if config is None:
        return DEFAULT_CONFIG
    path = Path(config)
    if not path.exists() and (DEMO_CONFIGS / path.name).is_file() and path.name == str(config):
        return DEMO_CONFIGS / path.name
    return path


def run_demo(
    config: Path | None = None,
    out: Path = DEFAULT_OUT,
    db_path: Path = DEFAULT_DB,
    catalog: Path | None = None,
    note=print,
    finish=None,
):
    """Prepare the catalog, run the demo ``config`` (see :func:`demo_config`), note one line per run and
    return the run results. The catalog: ``catalog`` when given, else ``./catalog`` for a shipped demo config
    and the config's own ``catalog`` for any other. ``finish(run_dir)`` as in
    :func:`~liq_signals.backtest.node.run_backtests` (the command passes the report writer)."""
    config = demo_config(config)
    specs = load_runs(config)
    if catalog is None and config.resolve().parent == DEMO_CONFIGS:
        catalog = DEFAULT_CATALOG
    if catalog is not None:
        where = str(Path(catalog).resolve())
        specs = [dataclasses.replace(s, settings={**s.settings, "catalog": where}) for s in specs]
    prepare_catalog(Path(db_path), specs[0].catalog_path, note)
    results = run_backtests(config, out, finish=finish, prepared=(specs, check_catalogs(specs)))
    for r in results:
        s = r.summary
        fc = s.flush_check or {}
        flush = ""
        if fc.get("available"):
            flush = (
                f"; {fc['time'][:16].replace('T', ' ')} flush: {fc['long_notional_in_range_usd'] / 1e6:,.0f}M "
                f"USDT of estimated long liquidations lay between {fc['low_after']:,.0f} and "
                f"{fc['close_before']:,.0f}"
            )
        note(
            f"{r.run_id}: {s.bars} bars, {s.signals_published} signals, {s.fills} fills, "
            f"{s.orders_rejected} rejected / {s.orders_denied} denied orders{flush}"
        )
        d = s.vs_baseline or {}
        if d.get("pnl_total") is not None and s.pnl_total is not None:
            note(
                f"  PnL {s.pnl_total:,.2f} USDT (funding {s.funding_net_usdt:,.2f}); vs {s.baseline['kind']} baseline: "
                f"PnL {d['pnl_total']:+,.2f}, max drawdown {d['max_drawdown_usdt']:+,.2f}, trades {d['trades']:+d}"
            )
        note(f"  outputs: {r.run_dir}" + (f"  report: {r.finished}" if r.finished else ""))
    if len(results) > 1:
        from liq_signals.report.sweep_report import write_sweep_page

        note(f"comparison of the runs: {write_sweep_page(out, [r.run_id for r in results], title=config.name)}")
    return results
