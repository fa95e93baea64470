"""`--set FIELD=VALUE` engine overrides: parsing, errors naming the field, and that they reach the engine."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from liq_signals.engine import overrides as ov
from liq_signals.engine.brackets import load_bracket_table
from liq_signals.engine.engine import EngineConfig, LiquidationEngine
from liq_signals.engine.inputs import OpenInterest
from liq_signals.errors import ConfigError
from liq_signals.validate.run import ValidateConfig, run_validation

T0 = 1_755_561_600 * 10**9  # 2025-08-19 00:00 UTC
MIN5 = 300 * 10**9


@pytest.mark.parametrize(
    "item, expected",
    [
        ("tier_weights=0.1,0.2,0.3,0.2,0.2", ("tier_weights", (0.1, 0.2, 0.3, 0.2, 0.2))),
        ("tier_half_life_hours = 168, 84,36,12,6", ("tier_half_life_hours", (168.0, 84.0, 36.0, 12.0, 6.0))),
        ("representative_notional_usd=25000", ("representative_notional_usd", 25_000.0)),
        ("trade_top_n=5", ("trade_top_n", 5)),
        ("trade_top_n=none", ("trade_top_n", None)),
        ("use_mark_price=false", ("use_mark_price", False)),
        ("use_mark_price=YES", ("use_mark_price", True)),
        ("side_attribution=even", ("side_attribution", "even")),
        ("brackets_path=/tmp/b.json", ("brackets_path", "/tmp/b.json")),
    ],
)
def test_parse_good_values(item, expected):
    name, value = ov.parse_override(item)
    assert (name, value) == expected
    assert type(value) is type(expected[1])


@pytest.mark.parametrize(
    "item, words",
    [
        ("foo=1", ["unknown", "foo"]),
        ("tier_weights", ["FIELD=VALUE", "tier_weights"]),
        ("tier_weights=a,b", ["tier_weights", "numbers"]),
        ("representative_notional_usd=big", ["representative_notional_usd", "number"]),
        ("trade_top_n=2.5", ["trade_top_n", "whole number"]),
        ("use_mark_price=maybe", ["use_mark_price", "true or false"]),
    ],
)
def test_parse_bad_values_name_the_field(item, words):
    with pytest.raises(ConfigError) as exc:
        ov.parse_override(item)
    for w in words:
        assert w in str(exc.value)


@pytest.mark.parametrize(
    "items, field",
    [
        (["tier_weights=1,1"], "tier_weights"),  # 5 tiers need 5 weights
        (["tier_half_life_hours=1,1,0,1,1"], "tier_half_life_hours"),
        (["side_attribution=random"], "side_attribution"),
        (["representative_notional_usd=-5"], "representative_notional_usd"),
    ],
)
def test_values_the_engine_rejects_name_the_field(items, field):
    with pytest.raises(ConfigError, match=field):
        ov.apply_overrides(ov.parse_overrides(items))


def test_last_value_wins_and_unset_fields_keep_defaults():
    cfg = ov.apply_overrides(
        ov.parse_overrides(["side_attribution=even", "side_attribution=taker", "tier_weights=1,0,0,0,0"]),
        symbol="ETHUSDT",
    )
    assert cfg.side_attribution == "taker" and cfg.tier_weights == (1.0, 0.0, 0.0, 0.0, 0.0)
    assert cfg.symbol == "ETHUSDT"
    assert cfg.tier_half_life_hours == EngineConfig().tier_half_life_hours


def test_validate_config_checks_and_reserves_fields(tmp_path):
    db = str(tmp_path / "none.duckdb")  # not opened at construction
    with pytest.raises(ConfigError, match="--model"):
        ValidateConfig(db, "HYPEUSDT", "2025-10-25 17:50", "2025-10-25 18:00", engine_overrides=["model=b"])
    with pytest.raises(ConfigError, match="tier_weights"):
        ValidateConfig(db, "HYPEUSDT", "2025-10-25 17:50", "2025-10-25 18:00", engine_overrides=["tier_weights=1"])
    cfg = ValidateConfig(
        db, "HYPEUSDT", "2025-10-25 17:50", "2025-10-25 18:00", engine_overrides={"tier_half_life_hours": "1,2,3,4,5"}
    )
    assert cfg.engine_overrides == (("tier_half_life_hours", (1.0, 2.0, 3.0, 4.0, 5.0)),)
    assert cfg.engine_config("b").tier_half_life_hours == (1.0, 2.0, 3.0, 4.0, 5.0)
    assert cfg.engine_config("b").model == "b"


def test_cli_bad_set_is_one_line_exit_2(tmp_path):
    """Through the console entry point: exit code 2, one `error:` line naming the field, no traceback."""
    for item, field in (("foo=1", "foo"), ("tier_weights=1,2", "tier_weights")):
        r = subprocess.run(
            [
                sys.executable,
                "-c",
                "from liq_signals.cli import main; main()",
                "validate",
                "--db",
                str(tmp_path / "x.duckdb"),
                "--symbol",
                "BTCUSDT",
                "--start",
                "2023-12-01",
                "--end",
                "2023-12-02",
                "--set",
                item,
            ],
            capture_output=True,
            text=True,
        )
        assert r.returncode == 2, r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:") and field in lines[0]
        assert "Traceback" not in r.stderr


def test_even_side_attribution_splits_half_half():
    """Taker buy/sell ratio 3 gives 3/(1+3) = 75% longs with 'taker'; 'even' ignores it: 50/50."""
    table = load_bracket_table("BTCUSDT", "2025-08-19")
    out = {}
    for attribution in ("taker", "even"):
        cfg = EngineConfig(
            tiers=(10.0,),
            tier_weights=(1.0,),
            tier_half_life_hours=(1e9,),
            bucket_mode="fixed",
            bucket_width=1.0,
            side_attribution=attribution,
        )
        e = LiquidationEngine(cfg, bracket_table=table)
        e.observe(OpenInterest(T0, 1000.0, 1000.0 * 67_000))
        e.observe(OpenInterest(T0 + MIN5, 1002.0, 1002.0 * 67_000, 3.0))
        e.on_bar(T0 + MIN5, 67_000, 67_000, 67_000, 67_000, 10.0, 5.0)
        out[attribution] = e.open_notional()
    opened = 2 * 67_000  # 2 BTC of new open interest at 67,000 USDT
    assert out["taker"] == pytest.approx((0.75 * opened, 0.25 * opened))
    assert out["even"] == pytest.approx((0.5 * opened, 0.5 * opened))


@pytest.fixture(scope="module")
def hype_db(sample_db) -> str:
    return str(sample_db)


def _run(db, overrides):
    cfg = ValidateConfig(
        db,
        "HYPEUSDT",
        "2025-10-25 17:50",
        "2025-10-25 18:05",
        models=("a",),
        horizons=("15m",),
        every="15m",
        min_events=1,
        warmup="3d",
        baseline_draws=10,
        engine_overrides=overrides,
    )
    return run_validation(cfg)


def test_tier_weights_reach_the_engine(hype_db):
    """All weight on 100x puts every cohort within ~1% of its entry, all on 5x ~19% from it: over the same
    3-day history the 100x-only zones must sit much nearer the price than the 5x-only ones."""
    near = pd.DataFrame(_run(hype_db, ["tier_weights=0,0,0,0,1"]).results["a"].rows)
    far = pd.DataFrame(_run(hype_db, ["tier_weights=1,0,0,0,0"]).results["a"].rows)
    sn, sf = near[near.status == "scored"], far[far.status == "scored"]
    assert len(sn) == len(sf) == 2  # 17:50 and 18:05; the 18:05 + 15m window still ends inside the recording
    assert (sn.all_distance_bps.to_numpy() * 2 < sf.all_distance_bps.to_numpy()).all()


def test_overrides_are_recorded_in_outputs(hype_db, tmp_path):
    from liq_signals.cli import app

    out = tmp_path / "o"
    res = CliRunner().invoke(
        app,
        [
            "validate",
            "--db",
            hype_db,
            "--symbol",
            "HYPEUSDT",
            "--start",
            "2025-10-25 17:50",
            "--end",
            "2025-10-25 18:05",
            "--model",
            "a",
            "--horizons",
            "15m",
            "--every",
            "15m",
            "--min-events",
            "1",
            "--warmup",
            "3d",
            "--baseline-draws",
            "5",
            "--set",
            "tier_weights=0,0,0,0,1",
            "--set",
            "side_attribution=even",
            "--json",
            "--quiet",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    settings = json.loads(res.output)["settings"]
    assert settings["engine_overrides"] == {"tier_weights": [0, 0, 0, 0, 1], "side_attribution": "even"}
    assert settings["engine_priors"]["tier_weights"] == [0, 0, 0, 0, 1]
    assert settings["engine_priors"]["side_attribution"] == "even"
    assert settings["engine_priors"]["tier_half_life_hours"] == list(EngineConfig().tier_half_life_hours)
    assert set(pd.read_csv(out / "metrics.csv").engine_overrides) == {"tier_weights=0,0,0,0,1 side_attribution=even"}
    assert "tier_weights=0,0,0,0,1 side_attribution=even" in (out / "report.html").read_text()
    assert json.loads((out / "result.json").read_text())["settings"] == settings
    plain = CliRunner().invoke(
        app,
        [
            "validate",
            "--db",
            hype_db,
            "--symbol",
            "HYPEUSDT",
            "--start",
            "2025-10-25 17:50",
            "--end",
            "2025-10-25 17:50",
            "--model",
            "a",
            "--horizons",
            "15m",
            "--warmup",
            "3d",
            "--baseline-draws",
            "5",
            "--json",
            "--quiet",
        ],
    )
    assert json.loads(plain.output)["settings"]["engine_overrides"] == {}
