"""Signal event study on hand-made price paths: touches, returns toward the cluster, sweep continuation,
regimes and the matched controls, each against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from liq_signals.backtest.event_study import EventStudyConfig, regimes, run_event_study
from liq_signals.errors import LiqSignalsError

T0 = pd.Timestamp("2024-01-01", tz="UTC")
STEP = pd.Timedelta("15min")


def bars(closes, spread=0.0) -> pd.DataFrame:
    c = np.asarray(closes, float)
    return pd.DataFrame(
        {
            "ts": [T0 + STEP * (i + 1) for i in range(len(c))],
            "open": c,
            "high": c + spread,
            "low": c - spread,
            "close": c,
            "volume": 1.0,
        }
    )


def event(i, side, dist_bps, kind="entered"):
    return {
        "ts": (T0 + STEP * (i + 1)).isoformat(),
        "side": side,
        "price_low": 0.0,
        "price_high": 0.0,
        "notional_usd": 1e7,
        "distance_bps": dist_bps,
        "model": "a",
        "event": kind,
    }


def result(study, kind, horizon, regime="all"):
    [r] = [r for r in study["results"] if r["event"] == kind and r["horizon"] == horizon and r["regime"] == regime]
    return r


def test_touch_and_return_toward_hand_values():
    # 100 flat for 10 bars, then down 0.2 per bar: a long cluster 50 bps below (99.5) is reached at bar 12
    closes = [100.0] * 10 + [100.0 - 0.2 * k for k in range(1, 31)]
    ev = pd.DataFrame([event(9, "long", 50.0), event(9, "short", 50.0)])
    study = run_event_study(ev, bars(closes), EventStudyConfig(horizons=("30min", "1h"), controls=3))
    rows = pd.DataFrame(study["rows"])
    # 30min = 2 bars: closes 99.8, 99.6 -> the long band at 99.5 not reached; 1h = 4 bars: 99.2 <= 99.5
    long = rows[rows["side"] == "long"].set_index("horizon")
    assert not long.loc["30min", "touched"] and long.loc["1h", "touched"]
    # return toward a long cluster = -(close(t+H)/p0 - 1): 1h -> -(99.2/100 - 1) = +80 bps
    assert long.loc["1h", "return_bps"] == pytest.approx(80.0)
    short = rows[rows["side"] == "short"].set_index("horizon")
    assert not short["touched"].any() and short.loc["1h", "return_bps"] == pytest.approx(-80.0)
    r = result(study, "entered", "1h")
    assert r["events"] == 2 and r["touch"]["rate"] == 0.5


def test_sweep_continuation_is_signed_by_the_sweep_direction():
    closes = [100.0] * 5 + [99.0, 98.0, 97.0, 96.0, 95.0] + [95.0] * 5
    ev = pd.DataFrame([event(5, "long", 0.0, "swept")])  # a long cluster swept at the bar closing 99
    study = run_event_study(ev, bars(closes), EventStudyConfig(horizons=("30min",), controls=2))
    r = result(study, "swept", "30min")
    # down through a long cluster, then 99 -> 97 in 2 bars: continuation = -(97/99 - 1) = +202.02 bps
    assert r["continuation_bps"]["mean"] == pytest.approx((1 - 97 / 99) * 1e4)


def test_flat_prices_give_no_touch_and_zero_returns_for_events_and_controls():
    ev = pd.DataFrame([event(i, "long", 20.0) for i in range(0, 30, 5)])
    study = run_event_study(ev, bars([50.0] * 40), EventStudyConfig(horizons=("1h",), controls=5))
    r = result(study, "entered", "1h")
    assert r["touch"]["rate"] == 0.0 and r["control_touch"]["rate"] == 0.0
    assert r["return_toward_bps"]["mean"] == 0.0 and r["control_return_toward_bps"]["mean"] == 0.0
    assert r["control_touch"]["n"] == 5 * r["events"]


def test_events_past_the_data_are_dropped_and_counted():
    ev = pd.DataFrame([event(2, "long", 10.0), event(38, "long", 10.0)])
    study = run_event_study(ev, bars([100.0] * 40), EventStudyConfig(horizons=("1h",), controls=1))
    r = result(study, "entered", "1h")
    assert r["events"] == 1 and r["dropped_past_data"] == 1


def test_cascade_regime_is_the_most_volatile_trailing_range():
    closes = np.full(100, 100.0)
    closes[60:64] = [90.0, 110.0, 90.0, 110.0]  # a violent hour
    b = bars(closes)
    ts = b["ts"].astype("int64").to_numpy()
    cas = regimes(ts, b["high"].to_numpy(), b["low"].to_numpy(), closes, pd.Timedelta("1h").value, 0.9)
    # the trailing 4-bar range (bars i-3..i) is 0 except where it holds part of the violent hour: bars 60..66
    assert cas[60:67].all() and not cas[:60].any() and not cas[67:].any()


@pytest.mark.parametrize(
    ("kw", "word"),
    [
        ({"horizons": ("60",)}, "--horizons"),
        ({"controls": 0}, "--controls"),
        ({"cascade_quantile": 1.0}, "--cascade-quantile"),
    ],
)
def test_bad_settings_name_the_option(kw, word):
    with pytest.raises(LiqSignalsError, match=word):
        EventStudyConfig(**kw)


def test_command_writes_the_study_and_refuses_a_folder_without_run_files(tmp_path):
    import json
    import subprocess
    import sys

    closes = [100.0] * 10 + [100.0 - 0.2 * k for k in range(1, 31)]
    bars(closes).to_parquet(tmp_path / "bars.parquet")
    pd.DataFrame([event(9, "long", 50.0)]).to_csv(tmp_path / "proximity_events.csv", index=False)
    cmd = [sys.executable, "-m", "liq_signals.cli", "study-signals"]
    r = subprocess.run(
        [*cmd, str(tmp_path), "--horizons", "1h", "--controls", "2", "--json"], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    study = json.loads(r.stdout)
    assert result(study, "entered", "1h")["touch"]["rate"] == 1.0
    assert {p.name for p in tmp_path.iterdir()} >= {"event_study.json", "event_study.csv", "event_study.html"}
    r = subprocess.run([*cmd, str(tmp_path / "nothing")], capture_output=True, text=True)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "proximity_events.csv" in r.stderr
