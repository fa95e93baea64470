"""`liq-signals validate` on the shipped real recordings: structure and invariants, never printed numbers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from liq_signals.data.ingest import ingest_paths
from liq_signals.validate import proxy as px
from liq_signals.validate import report as rp
from liq_signals.validate.run import SKIP_REASONS, ValidateConfig, run_validation

SAMPLE = Path(__file__).resolve().parents[1] / "liq_signals" / "sample_data"


@pytest.fixture(scope="module")
def hype_db(tmp_path_factory) -> str:
    db = tmp_path_factory.mktemp("hype") / "h.duckdb"
    ingest_paths([SAMPLE / "hypeusdt-2025-10-25"], db)
    return str(db)


@pytest.fixture(scope="module")
def btc_burst_db(tmp_path_factory) -> str:
    db = tmp_path_factory.mktemp("burst") / "b.duckdb"
    ingest_paths(
        [
            SAMPLE / "klines" / "BTCUSDT-1m-2025-01-27_1538-1752.csv",
            SAMPLE / "trades" / "aggtrades-stream-large-2025-01-26_2025-02-06.csv",
            SAMPLE / "liquidations" / "forceorder-2025-01-26_2025-02-06.csv",
        ],
        db,
    )
    return str(db)


@pytest.fixture(scope="module")
def btc_2023_db(tmp_path_factory) -> str:
    db = tmp_path_factory.mktemp("y2023") / "p.duckdb"
    ingest_paths([SAMPLE / "btcusdt-2023-11"], db)
    return str(db)


@pytest.fixture(scope="module")
def hype_result(hype_db):
    cfg = ValidateConfig(
        hype_db,
        "HYPEUSDT",
        "2025-10-25 17:50",
        "2025-10-25 18:35",
        models=("a", "b", "c"),
        horizons=("15m", "30m"),
        every="5m",
        min_events=3,
        warmup="3d",
        baseline_draws=50,
    )
    return run_validation(cfg)


def _coverage(db):
    con = duckdb.connect(db, read_only=True)
    try:
        return con.execute("SELECT start_time, end_time FROM liquidation_coverage").fetchall()
    finally:
        con.close()


def _check_invariants(res, horizons, n_times):
    for h in horizons:
        sk = res.skipped[h]
        assert sk["snapshots"] == n_times
        assert sum(sk[r] for r in SKIP_REASONS) + sk["scored"] == n_times
        for d in res.metrics[h].values():
            if d["n_zones"] == 0:
                continue
            p, b = d["precision_at_k"], d["baseline_precision_at_k"]
            assert 0.0 <= p <= 1.0 and 0.0 <= b <= 1.0
            lo, hi = d["precision_wilson95"]
            assert lo <= p <= hi
            for key in ("notional_recall", "baseline_notional_recall"):
                if not math.isnan(d[key]):
                    assert 0.0 <= d[key] <= 1.0 + 1e-9
            if not math.isnan(d["spearman"]):
                assert -1.0 <= d["spearman"] <= 1.0


def test_hype_models_a_b_scored_c_not(hype_result):
    r = hype_result
    n_times = 10  # 17:50 .. 18:35 every 5 minutes
    for m in ("a", "b"):
        res = r.results[m]
        assert res.scored
        _check_invariants(res, ("15m", "30m"), n_times)
        assert res.skipped["15m"]["scored"] > 0
        # every recorded HYPEUSDT liquidation in the window was a short (BUY): no long events exist
        assert res.metrics["15m"]["long"]["n_events"] == 0
        assert res.metrics["15m"]["short"]["n_events"] > 0
    c = r.results["c"]
    assert not c.scored and "trades" in c.reason
    obj = rp.to_json_obj(r)
    assert obj["models"]["c"]["metrics"] is None and obj["models"]["c"]["scored"] is False


def test_hype_coverage_and_no_lookahead(hype_result, hype_db):
    cov = [(pd.Timestamp(a), pd.Timestamp(b)) for a, b in _coverage(hype_db)]
    rows = pd.DataFrame(hype_result.results["a"].rows)
    delta = {"15m": pd.Timedelta(minutes=15), "30m": pd.Timedelta(minutes=30)}
    for row in rows.itertuples():
        inside = any(a <= row.t0 and row.t0 + delta[row.horizon] <= b for a, b in cov)
        if row.status == "scored":
            assert inside
        if not inside:
            assert row.status == "not_covered"
    # the recording ends 18:34:57: the 18:20 + 15m window leaves it and must be skipped
    r = rows[(rows.t0 == pd.Timestamp("2025-10-25 18:20")) & (rows.horizon == "15m")]
    assert r.status.item() == "not_covered"
    # p0 is the close of the 5m bar that ENDS at t0 (opens at t0 - 5m), read straight from the CSV
    k = pd.read_csv(SAMPLE / "hypeusdt-2025-10-25" / "HYPEUSDT-5m-2025-10-20_2025-10-25.csv")
    k["close_time"] = pd.to_datetime(k.open_time, unit="ms") + pd.Timedelta(minutes=5)
    close_at = dict(zip(k.close_time, k.close))
    for row in rows.itertuples():
        assert row.p0 == pytest.approx(close_at[row.t0])


def test_hype_realized_notional_matches_recording(hype_result):
    liq = pd.read_csv(SAMPLE / "hypeusdt-2025-10-25" / "liquidations-2025-10-25_1749-1835.csv")
    liq = liq[liq.symbol == "HYPEUSDT"]
    liq["time"] = pd.to_datetime(liq.timestamp, format="ISO8601")
    rows = pd.DataFrame(hype_result.results["b"].rows)
    scored = rows[rows.status == "scored"]
    assert len(scored)
    for row in scored.itertuples():
        t1 = row.t0 + pd.Timedelta(row.horizon.replace("m", "min"))
        w = liq[(liq.time > row.t0) & (liq.time <= t1)]
        assert row.short_events == len(w)
        assert row.short_realized_usd == pytest.approx(w.usd_value.sum())
        assert row.short_captured_usd <= row.short_realized_usd + 1e-6


def test_btc_burst_model_c(btc_burst_db):
    cfg = ValidateConfig(
        btc_burst_db,
        "BTCUSDT",
        "2025-01-27 16:51",
        "2025-01-27 17:15",
        models=("a", "c"),
        horizons=("5m", "10m"),
        every="1m",
        min_events=3,
        warmup="1d",
        baseline_draws=30,
    )
    r = run_validation(cfg)
    assert not r.results["a"].scored and "open interest" in r.results["a"].reason
    c = r.results["c"]
    assert c.scored
    _check_invariants(c, ("5m", "10m"), 25)
    rows = pd.DataFrame(c.rows)
    first_trade = pd.Timestamp("2025-01-27 16:55:47")  # first BTCUSDT trade of the recording
    assert (rows[rows.t0 < first_trade].status == "no_model_inputs").all()
    cov_end = max(pd.Timestamp(b) for a, b in _coverage(btc_burst_db) if pd.Timestamp(a).day == 27)
    leaving = rows[rows.t0 + rows.horizon.map({"5m": pd.Timedelta("5min"), "10m": pd.Timedelta("10min")}) > cov_end]
    assert len(leaving) and (leaving.status == "not_covered").all()
    assert (rows[rows.status == "scored"].n_events_window >= 3).all()
    assert (rows[rows.status == "too_few_events"].n_events_window < 3).all()


def test_oi_drop_proxy_hand_case():
    oi = pd.DataFrame(
        {
            "time": pd.to_datetime(["2023-12-11 02:05", "2023-12-11 02:10", "2023-12-11 02:15"]),
            "oi": [100.0, 98.0, 98.1],
            "oi_value": [100.0 * 110, 98.0 * 100, 98.1 * 101],
        }
    )
    ev = px.oi_drop_events(oi, pd.DataFrame(columns=["open_time", "close_time", "high", "low"]), min_drop=0.005)
    # one drop of 2 base (2%) while price fell 110 -> 100: longs, notional 2 * 105, band [100, 110]
    assert len(ev) == 1
    e = ev.iloc[0]
    assert e.side == "long" and e.notional_usd == pytest.approx(210.0)
    assert (e.price_low, e.price_high) == (pytest.approx(100.0), pytest.approx(110.0))


def test_proxy_oi_drop_btc_2023_flush(btc_2023_db, tmp_path):
    from liq_signals.cli import app

    out = tmp_path / "out"
    res = CliRunner().invoke(
        app,
        [
            "validate",
            "--db",
            btc_2023_db,
            "--symbol",
            "BTCUSDT",
            "--start",
            "2023-12-11 00:00",
            "--end",
            "2023-12-11 02:00",
            "--model",
            "a",
            "--horizons",
            "1h,30m",
            "--every",
            "15m",
            "--min-events",
            "1",
            "--proxy",
            "oi-drop",
            "--warmup",
            "2d",
            "--baseline-draws",
            "20",
            "--json",
            "--quiet",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    obj = json.loads(res.output)  # exactly one JSON object
    assert obj["proxy"] is True and "PROXY" in obj["ground_truth"]
    assert obj["model"] == "a" and set(obj["metrics"]) == {"1h", "30m"}
    # the 02:05 -> 02:15 OI collapse (81,872 -> 74,900 BTC) is a long proxy event inside 02:00 + 1h
    assert obj["metrics"]["1h"]["long"]["n_events"] >= 1
    assert obj["skipped"]["1h"]["scored"] >= 1
    html = (out / "report.html").read_text()
    assert "PROXY" in html
    assert (out / "metrics.csv").exists() and (out / "snapshots.csv").exists()
    assert pd.read_csv(out / "metrics.csv").proxy.all()
    console = CliRunner().invoke(
        app,
        [
            "validate",
            "--db",
            btc_2023_db,
            "--symbol",
            "BTCUSDT",
            "--start",
            "2023-12-11 01:45",
            "--end",
            "2023-12-11 02:00",
            "--model",
            "a",
            "--horizons",
            "1h",
            "--min-events",
            "1",
            "--proxy",
            "oi-drop",
            "--warmup",
            "1d",
            "--baseline-draws",
            "5",
            "--quiet",
        ],
    )
    assert console.exit_code == 0 and "PROXY" in console.output


def test_bad_arguments_are_user_errors(hype_db):
    from liq_signals.errors import ConfigError

    with pytest.raises(ConfigError):
        ValidateConfig(hype_db, "HYPEUSDT", "2025-10-25 18:00", "2025-10-25 17:00")
    with pytest.raises(ConfigError):
        ValidateConfig(hype_db, "HYPEUSDT", "2025-10-25 17:00", "2025-10-25 18:00", horizons=("1x",))
    with pytest.raises(ConfigError):
        ValidateConfig(hype_db, "HYPEUSDT", "2025-10-25 17:00", "2025-10-25 18:00", models=("z",))


def test_durations_without_a_unit_are_refused(hype_db):
    from liq_signals.errors import ConfigError

    for kw in ({"every": "15"}, {"warmup": "7"}, {"horizons": ("1h", "4")}):
        with pytest.raises(ConfigError, match="no unit"):
            ValidateConfig(hype_db, "HYPEUSDT", "2025-10-25 17:00", "2025-10-25 18:00", **kw)
