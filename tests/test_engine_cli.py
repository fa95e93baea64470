"""`liq-signals levels` and `liq-signals heatmap` on the shipped BTCUSDT 2023-11 sample."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from liq_signals.cli import app, main
from liq_signals.data.ingest import ingest_paths

SAMPLE = Path(__file__).resolve().parents[1] / "liq_signals" / "sample_data" / "btcusdt-2023-11"


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "btc.duckdb"
    ingest_paths([str(SAMPLE)], path)
    return path


def run_main(monkeypatch, capsys, args):
    monkeypatch.setattr(sys, "argv", ["liq-signals", *args])
    with pytest.raises(SystemExit) as exc:
        main()
    return exc.value.code, capsys.readouterr()


def test_levels_json(db):
    res = CliRunner().invoke(
        app, ["levels", "--db", str(db), "--symbol", "btcusdt", "--at", "2023-12-11 02:00", "--json"]
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["symbol"] == "BTCUSDT" and out["model"] == "a"
    assert out["time"].startswith("2023-12-11T02:00")
    assert out["price"] == pytest.approx(43_241.7)
    assert out["brackets_date"] == "2021-03-18"
    cl = out["clusters"]
    assert 0 < len(cl) <= 10
    assert [c["notional_usd"] for c in cl] == sorted((c["notional_usd"] for c in cl), reverse=True)
    for c in cl:
        assert set(c) == {"side", "price_low", "price_high", "notional_usd", "distance_bps", "tiers"}
        assert c["price_low"] < c["price_high"] and c["distance_bps"] >= 0
        assert sum(c["tiers"].values()) == pytest.approx(c["notional_usd"])
        if c["side"] == "long":
            assert c["price_low"] < out["price"]
        else:
            assert c["price_high"] > out["price"]
    assert isinstance(out["notes"], list)


def test_heatmap_csv_and_parquet(db, tmp_path):
    for name in ("h.csv", "h.parquet"):
        out = tmp_path / name
        res = CliRunner().invoke(
            app,
            [
                "heatmap",
                "--db",
                str(db),
                "--symbol",
                "BTCUSDT",
                "--start",
                "2023-12-10",
                "--end",
                "2023-12-11",
                "--every",
                "4h",
                "--model",
                "b",
                "--out",
                str(out),
                "--quiet",
            ],
        )
        assert res.exit_code == 0, res.output
        df = pd.read_csv(out) if name.endswith("csv") else pd.read_parquet(out)
        assert list(df.columns) == ["time", "side", "tier", "price_low", "price_high", "notional_usd"]
        assert df["time"].nunique() == 7  # 00:00, 04:00, ..., 2023-12-11 00:00
        assert set(df["side"]) == {"long", "short"}
        assert set(df["tier"]) <= {5.0, 10.0, 25.0, 50.0, 100.0}
        assert (df["notional_usd"] > 0).all()


def test_unknown_symbol_is_one_line_error(db, monkeypatch, capsys):
    code, cap = run_main(monkeypatch, capsys, ["levels", "--db", str(db), "--symbol", "ETHUSDT", "--at", "2023-12-11"])
    assert code == 2
    assert cap.err.count("\n") == 1 and "ETHUSDT" in cap.err


def test_empty_range_is_one_line_error(db, monkeypatch, capsys, tmp_path):
    code, cap = run_main(
        monkeypatch,
        capsys,
        [
            "heatmap",
            "--db",
            str(db),
            "--symbol",
            "BTCUSDT",
            "--start",
            "2020-01-01",
            "--end",
            "2020-01-02",
            "--out",
            str(tmp_path / "x.csv"),
            "--quiet",
        ],
    )
    assert code == 2 and cap.err.count("\n") == 1


def test_bad_model_is_one_line_error(db, monkeypatch, capsys):
    code, cap = run_main(
        monkeypatch, capsys, ["levels", "--db", str(db), "--symbol", "BTCUSDT", "--at", "2023-12-11", "--model", "x"]
    )
    assert code == 2 and "model" in cap.err


def test_heatmap_html_output_is_a_self_contained_report(tmp_path):
    """`heatmap --out FILE.html` writes the interactive page (plotly.js embedded, no CDN script)."""
    import subprocess

    sample = Path(__file__).resolve().parents[1] / "liq_signals" / "sample_data" / "btcusdt-2023-11"
    db = tmp_path / "h.duckdb"
    ingest_paths([sample], db)
    out = tmp_path / "h.html"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "liq_signals.cli",
            "heatmap",
            "--db",
            str(db),
            "--symbol",
            "BTCUSDT",
            "--start",
            "2023-12-10",
            "--end",
            "2023-12-11",
            "--every",
            "1h",
            "--warmup",
            "5d",
            "--out",
            str(out),
            "--quiet",
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert "<script src=" not in text
    assert "Plotly.newPlot" in text
    assert 'id="heatmap"' in text
