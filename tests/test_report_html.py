"""Run report and standalone HTML: self-contained, every panel present, size bounded."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from report_fixtures import build_run_dir, real_bars, synth_heatmap

from liq_signals.errors import LiqSignalsError
from liq_signals.report.heatmap_report import write_compare_html, write_heatmap_html
from liq_signals.report.run_report import write_run_report

PLOTLY_BANNER = "plotly.js v"  # the banner comment at the top of the bundled library


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return build_run_dir(tmp_path_factory.mktemp("run"), n_bars=500, models=("a", "b"), every=4)


def test_run_report_is_self_contained_with_all_panels(run_dir):
    out = write_run_report(run_dir)
    assert out == run_dir / "report.html"
    text = out.read_text()
    assert text.count(PLOTLY_BANNER) == 1  # plotly.js embedded exactly once
    assert not re.search(r"<script[^>]+src=", text)  # no external scripts (no CDN)
    for div in ("heatmap", "liqmap", "compare", "strategy"):
        assert f'id="{div}"' in text, div
    # header facts a trader needs
    for fact in ("BTCUSDT-PERP.BINANCE", "binance-usdm-2021-03-18", "estimated", "2023-11-12 10:45"):
        assert fact in text, fact
    # rejected and denied orders from summary.json are shown in the results row
    assert "rejected orders 1" in text and "denied orders 2" in text


def test_report_without_heatmap_or_strategy_still_renders(run_dir, tmp_path):
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "bars.parquet").write_bytes((run_dir / "bars.parquet").read_bytes())
    text = write_run_report(bare).read_text()
    assert "heatmap.parquet missing" in text
    assert 'id="strategy"' not in text


def test_month_of_5min_snapshots_stays_under_15mb(tmp_path):
    """8,640 five-minute snapshots x ~120 bands: aggregated, not dropped, and the file stays small."""
    rng = np.random.default_rng(7)
    bars = real_bars(None)
    ts = pd.date_range("2023-11-13", periods=8640, freq="5min")
    bars5 = pd.DataFrame({"ts": ts})
    src = bars.set_index("ts").reindex(ts, method="ffill").bfill()
    for c in ("open", "high", "low", "close", "volume"):
        bars5[c] = src[c].to_numpy()
    n_per = 120
    t = np.repeat(ts.to_numpy(), n_per)
    centre = np.repeat(bars5["close"].to_numpy(), n_per)
    lo = np.floor(centre * rng.uniform(0.8, 1.2, len(t)) / 50) * 50
    hm = pd.DataFrame(
        {
            "time": t,
            "side": np.where(lo < centre, "long", "short"),
            "tier": rng.choice([5, 10, 25, 50, 100], len(t)),
            "price_low": lo,
            "price_high": lo + 50,
            "notional_usd": rng.lognormal(12, 1.5, len(t)),
        }
    )
    out = write_heatmap_html(hm, bars5, tmp_path / "month.html", {"instrument": "BTCUSDT", "model": "synthetic"})
    size_mb = out.stat().st_size / 1e6
    assert size_mb < 15, size_mb
    assert 'id="heatmap"' in out.read_text()


def test_compare_html_from_model_frames(tmp_path):
    bars = real_bars(300)
    hm = synth_heatmap(bars, every=8, models=("a", "b"))
    maps = {name: g.drop(columns="model") for name, g in hm.groupby("model")}
    text = write_compare_html(maps, bars, tmp_path / "cmp.html", {"instrument": "BTCUSDT"}).read_text()
    assert text.count(PLOTLY_BANNER) == 1
    assert "profile overlap" in text
    assert 'id="heatmap-0"' in text and 'id="heatmap-1"' in text


def test_compare_needs_two_models(tmp_path):
    bars = real_bars(100)
    with pytest.raises(LiqSignalsError, match="two models"):
        write_compare_html({"a": synth_heatmap(bars, every=8)}, bars, tmp_path / "x.html")


def test_engine_heatmap_object_is_accepted(tmp_path):
    """A real engine Heatmap (liq_signals.engine.batch) renders directly, with its notes and brackets."""
    batch = pytest.importorskip("liq_signals.engine.batch")
    bars = real_bars(200)
    edges = np.arange(30_000.0, 45_000.0, 50.0)
    times = bars["ts"].iloc[[100, 150, 199]].astype("int64").to_numpy()
    lt = np.zeros((3, 5, len(edges) - 1), np.float32)
    st = np.zeros_like(lt)
    lt[:, 2, 100] = 1e6
    st[:, 3, 200] = 2e6
    hm = batch.Heatmap(
        "BTCUSDT",
        "a",
        (5.0, 10.0, 25.0, 50.0, 100.0),
        times,
        bars["close"].iloc[[100, 150, 199]].to_numpy(),
        edges,
        lt,
        st,
        ("brackets: test note",),
        {"snapshot": "binance-usdm-2021-03-18"},
    )
    text = write_heatmap_html(hm, bars, tmp_path / "hm.html").read_text()
    assert "brackets: test note" in text and "binance-usdm-2021-03-18" in text
