"""Benchmark: a 16-run backtest sweep on the shipped BTCUSDT sample through each executor.

The sweep is the shipped ``demo-avoid.toml`` (full month, 2,784 15-minute bars, funding settled, the
``no_signal`` baseline in every job) with ``actor.proximity_bps`` x ``actor.cooldown_bars`` = 4 x 4 values,
run without reports. Executors: ``serial`` (1 process: this one; ``--executor process --workers 1`` does the
same), ``process`` with 2 workers (a spawned process per run: the imports and start-up are paid per run) and a
local Ray instance with 2 workers (started and stopped inside the measurement; its workers are reused). Peak
memory per worker is each job's process ``VmHWM`` (for serial and Ray, whose processes run several jobs, the
peak so far). Every executor must give the same
summaries (wall times aside); the script checks it.

Run: uv run python benchmarks/bench_sweep.py [--executors serial,process2,ray2]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

SWEEP = {"actor.proximity_bps": [25, 50, 75, 100], "actor.cooldown_bars": [2, 4, 8, 16]}
EXECUTORS = {"serial": ("serial", 1), "process2": ("process", 2), "ray2": ("ray", 2)}


def sweep_specs(catalog: Path) -> list:
    """The 16 runs: demo-avoid's first run with the sweep grid, on ``catalog``."""
    from liq_signals.backtest.config import load_runs, set_path
    from liq_signals.backtest.demo import DEFAULT_CONFIG

    base = load_runs(DEFAULT_CONFIG)[0]
    specs = []
    for bps in SWEEP["actor.proximity_bps"]:
        for cd in SWEEP["actor.cooldown_bars"]:
            s = set_path(set_path(base.settings, "actor.proximity_bps", bps), "actor.cooldown_bars", cd)
            s["catalog"] = str(catalog)
            specs.append(dataclasses.replace(base, id=f"bench-bps{bps}-cd{cd}", settings=s))
    return specs


def comparable(summary) -> dict:
    d = summary.to_dict()
    d.pop("wall_seconds")
    if d.get("baseline"):
        d["baseline"] = {k: v for k, v in d["baseline"].items() if k != "wall_seconds"}
    return d


def main() -> None:
    from liq_signals.backtest.demo import prepare_catalog
    from liq_signals.backtest.node import check_catalogs, run_backtests

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--executors", default=",".join(EXECUTORS))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        prepare_catalog(tmp / "s.duckdb", tmp / "catalog", note=lambda _m: None)
        specs = sweep_specs(tmp / "catalog")
        prepared = (specs, check_catalogs(specs))
        rows, reference = [], None
        for name in args.executors.split(","):
            executor, workers = EXECUTORS[name]
            t0 = time.perf_counter()
            results = run_backtests(None, tmp / f"out-{name}", prepared=prepared, executor=executor, workers=workers)
            wall = time.perf_counter() - t0
            got = [comparable(r.summary) for r in results]
            reference = reference or got
            rss = [r.peak_rss_mb for r in results]
            rows.append(
                (
                    name,
                    workers,
                    wall,
                    sum(r.summary.wall_seconds for r in results),
                    statistics.median(rss),
                    max(rss),
                    got == reference,
                )
            )
    print(
        f"16-run sweep (demo-avoid x proximity_bps {SWEEP['actor.proximity_bps']} x cooldown_bars "
        f"{SWEEP['actor.cooldown_bars']}, no_signal baseline, no reports)"
    )
    print(
        "| executor | workers | wall s | runs/min | node run s (sum) | peak RSS MB per worker (median / max) | "
        "same summaries |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, w, wall, node_s, med, mx, same in rows:
        print(
            f"| {name} | {w} | {wall:.1f} | {16 / wall * 60:.1f} | {node_s:.1f} | {med:.0f} / {mx:.0f} | "
            f"{'yes' if same else 'NO'} |"
        )


if __name__ == "__main__":
    main()
