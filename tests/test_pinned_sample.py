"""Regression pins on the shipped sample: restructuring must not change a single published event, heatmap
cell, ``levels`` answer or ``validate`` figure. The pinned files in ``tests/pinned/`` were produced by the
commands below before the architecture rework (engine signals, one feeder, one reader); a legitimate change of
the engine's output must update them in its own commit, saying why. Changes so far: demo-actor-events.csv
relabels 25 'left' exits as 'touched' (partial sweeps, issue 11); every other byte is unchanged.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

PINNED = Path(__file__).parent / "pinned"


def cli(*args: str) -> str:
    r = subprocess.run([sys.executable, "-m", "liq_signals.cli", *args], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


def frame_digest(df: pd.DataFrame) -> str:
    """sha256 over pandas' per-row hashes of every column (exact values, column order and row order)."""
    return hashlib.sha256(
        pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes() + ",".join(df.columns).encode()
    ).hexdigest()


def subset_equal(pinned, got, path="") -> None:
    """Every key of ``pinned`` is in ``got`` with an equal value (new keys in ``got`` are allowed)."""
    if isinstance(pinned, dict):
        for k, v in pinned.items():
            assert k in got, f"{path}.{k} missing"
            subset_equal(v, got[k], f"{path}.{k}")
    elif isinstance(pinned, list):
        assert len(pinned) == len(got), path
        for i, (a, b) in enumerate(zip(pinned, got)):
            subset_equal(a, b, f"{path}[{i}]")
    else:
        assert pinned == got, f"{path}: {pinned!r} != {got!r}"


@pytest.mark.parametrize("model", ["a", "b", "ensemble"])
def test_heatmap_cells_are_pinned(sample_db, tmp_path, model):
    out = tmp_path / f"heatmap-{model}.parquet"
    cli(
        "heatmap",
        "--db",
        str(sample_db),
        "--symbol",
        "BTCUSDT",
        "--start",
        "2023-12-01",
        "--end",
        "2023-12-12",
        "--every",
        "1h",
        "--model",
        model,
        "--out",
        str(out),
    )
    pinned = json.loads((PINNED / "heatmaps-btc-2023-12-01_12.json").read_text())[model]
    df = pd.read_parquet(out)
    assert len(df) == pinned["rows"] and frame_digest(df) == pinned["sha256"]


def test_levels_answer_is_pinned(sample_db):
    got = json.loads(cli("levels", "--db", str(sample_db), "--symbol", "BTCUSDT", "--at", "2023-12-11 02:00", "--json"))
    got["brackets"]["file"] = Path(got["brackets"]["file"]).name  # the checkout's folder is not pinned
    subset_equal(json.loads((PINNED / "levels-btc-2023-12-11T0200.json").read_text()), got)


@pytest.mark.parametrize(
    ("name", "args"),
    [
        (
            "btc",
            [
                "--symbol",
                "BTCUSDT",
                "--start",
                "2023-12-04",
                "--end",
                "2023-12-12",
                "--proxy",
                "oi-drop",
                "--horizons",
                "1h,4h",
            ],
        ),
        (
            "hype",
            [
                "--symbol",
                "HYPEUSDT",
                "--start",
                "2025-10-25 17:50",
                "--end",
                "2025-10-25 18:35",
                "--horizons",
                "15m,30m",
                "--every",
                "5m",
            ],
        ),
    ],
)
def test_validate_figures_are_pinned(sample_db, name, args):
    got = json.loads(cli("validate", "--db", str(sample_db), "--model", "all", "--json", *args))
    subset_equal(json.loads((PINNED / f"validate-{name}.json").read_text()), got)


def test_demo_actor_events_are_pinned(btc_db, tmp_path):
    """The demo signal actor's published events (configs/demo-actor.yaml through BacktestNode)."""
    import shutil

    from liq_signals.backtest.catalog_export import export_catalog
    from liq_signals.backtest.node import run_backtests

    root = Path(__file__).resolve().parents[1]
    (tmp_path / "configs").mkdir()
    shutil.copy(root / "configs" / "demo-actor.yaml", tmp_path / "configs")
    export_catalog(btc_db, tmp_path / "catalog", "BTCUSDT", "15m")
    [run] = run_backtests(tmp_path / "configs" / "demo-actor.yaml", tmp_path / "out")
    got = (run.run_dir / "proximity_events.csv").read_text()
    assert got == (PINNED / "demo-actor-events.csv").read_text()
