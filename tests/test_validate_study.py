"""The time-split prior study: window ordering, the choice rule, and that the choice reads only the tuning window."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from liq_signals.data.ingest import ingest_paths
from liq_signals.errors import ConfigError
from liq_signals.validate import study as st
from liq_signals.validate import study_report as sr

SAMPLE = Path(__file__).resolve().parents[1] / "liq_signals" / "sample_data"

# a small split on the BTCUSDT 2023 sample: tuning snapshots 12-04 00:00 .. 12-10 08:00 (+4 h -> 12:00)
TUNE = st.StudyWindow(
    "tune",
    "BTCUSDT",
    "2023-12-04 00:00",
    "2023-12-10 08:00",
    horizons=("1h", "4h"),
    every="2h",
    warmup="1d",
    models=("a",),
    proxy="oi-drop",
    baseline_draws=10,
)
TRUTH_END = "2023-12-10 12:00"
EVAL = st.StudyWindow(
    "later",
    "BTCUSDT",
    TRUTH_END,
    "2023-12-11 06:00",
    horizons=("1h", "4h"),
    every="1h",
    warmup="1d",
    models=("a",),
    proxy="oi-drop",
    baseline_draws=10,
)
GRID = st.default_grid()
SMALL = (GRID[0], *[c for c in GRID if c.name in ("mix=higher decay=x1 side=taker", "mix=lower decay=x1 side=taker")])


def _window(name, start, end):
    return st.StudyWindow(
        name, "BTCUSDT", start, end, horizons=("1h",), every="1h", warmup="1d", models=("a",), proxy="oi-drop"
    )


def test_truth_end_is_last_snapshot_plus_longest_horizon():
    assert str(TUNE.truth_end) == "2023-12-10 12:00:00"
    first, last = TUNE.reads()
    assert str(first) == "2023-12-03 00:00:00" and str(last) == "2023-12-10 12:00:00"


@pytest.mark.parametrize(
    "start, end",
    [
        ("2023-12-10 11:00", "2023-12-11 00:00"),  # inside the last 4 h horizon of the tuning window
        ("2023-12-09 12:00", "2023-12-12 00:00"),  # overlaps the tuning snapshots
        ("2023-11-20 00:00", "2023-11-21 00:00"),  # wholly before the tuning window (out of order)
    ],
)
def test_study_refuses_evaluation_before_tuning_ends(start, end):
    with pytest.raises(ConfigError, match="split by time") as exc:
        st.PriorStudy("unused.duckdb", tuning=TUNE, evaluation=(_window("early", start, end),), candidates=SMALL)
    assert "early" in str(exc.value)


def test_study_accepts_evaluation_starting_at_tuning_end():
    s = st.PriorStudy("unused.duckdb", tuning=TUNE, evaluation=(EVAL,), candidates=SMALL)
    assert s.reference is GRID[0]


def test_default_split_is_ordered_and_documented_grid():
    s = st.PriorStudy("unused.duckdb")  # the shipped defaults must pass their own check
    assert all(w.start >= s.tuning.truth_end for w in s.evaluation)
    assert len(GRID) == 4 * 3 * 2 and len({c.name for c in GRID}) == len(GRID)
    ref = dict(GRID[0].overrides)
    assert GRID[0].changed == 0 and ref["tier_weights"] == st.PRE_STUDY_TIER_WEIGHTS
    assert ref["tier_half_life_hours"] == st.PRE_STUDY_HALF_LIVES and ref["side_attribution"] == "taker"
    assert [c.changed for c in GRID] == sorted(c.changed for c in GRID)
    # the EngineConfig defaults are the grid point study-priors chose (docs/priors-study.md)
    assert [c.name for c in GRID if st.matches_defaults(c)] == ["mix=higher decay=x2 side=taker"]


def _score(hits, base, zones):
    return st.TuningScore(hits, base, zones, 0.0, 0.0, 0.0, 0.0)


def test_choice_rule_on_hand_scores():
    a, b, c = SMALL
    # excess precision: a (2-1)/1000 = 0.1%, b (50-10)/1000 = 4%, c (40-0)/1000 = 4% (tie with b -> b, earlier)
    chosen, adopt, _ = st.choose(
        SMALL, {a.name: _score(2, 1, 1000), b.name: _score(50, 10, 1000), c.name: _score(40, 0, 1000)}
    )
    assert chosen is b and adopt  # Wilson lower bound of 50/1000 is about 3.8% > 1% baseline
    # equal scores everywhere: the reference (first) keeps its place and nothing is adopted
    chosen, adopt, reason = st.choose(SMALL, {x.name: _score(5, 1, 100) for x in SMALL})
    assert chosen is a and not adopt and "pre-study" in reason
    # best by the criterion (1% vs 0%) but 2 hits in 100 zones: Wilson lower bound ~0.55% < 1% baseline
    chosen, adopt, reason = st.choose(
        SMALL, {a.name: _score(1, 1, 100), b.name: _score(2, 1, 100), c.name: _score(0, 0, 0)}
    )  # c: no zone scored -> NaN, never wins
    assert chosen is b and not adopt and "not supported" in reason


@pytest.fixture(scope="module")
def dbs(tmp_path_factory):
    """The 2023 sample, a copy changed only AFTER the tuning window's end, and a copy changed just before it."""
    d = tmp_path_factory.mktemp("study")
    orig = d / "orig.duckdb"
    ingest_paths([SAMPLE / "btcusdt-2023-11"], orig)
    after, before = d / "after.duckdb", d / "before.duckdb"
    for path, cond_oi, cond_k in (
        (after, f"time > '{TRUTH_END}'", f"open_time >= '{TRUTH_END}'"),
        (before, "time > '2023-12-10 10:00'", "open_time >= '2023-12-10 10:00'"),
    ):
        shutil.copy(orig, path)
        con = duckdb.connect(str(path))
        # a 10 % open-interest collapse (a proxy long-liquidation event) and wider candles from then on
        con.execute(
            f"UPDATE open_interest SET sum_open_interest = sum_open_interest * 0.9, "
            f"sum_open_interest_value = sum_open_interest_value * 0.9 WHERE {cond_oi}"
        )
        con.execute(f"UPDATE klines SET low = low * 0.97, high = high * 1.03 WHERE {cond_k}")
        con.execute(f"UPDATE funding SET funding_rate = funding_rate * 5 WHERE {cond_oi}")
        con.close()
    return {"orig": str(orig), "after": str(after), "before": str(before)}


def _study(db):
    return st.PriorStudy(db, tuning=TUNE, evaluation=(EVAL,), candidates=SMALL)


@pytest.fixture(scope="module")
def orig_result(dbs):
    return st.run_study(_study(dbs["orig"]))


def test_choice_depends_only_on_the_tuning_window(dbs, orig_result):
    base = orig_result.tuning
    # not a trivial choice: the candidates score differently and the reference is not the winner here
    assert len({s.criterion for s in base.scores.values()}) == len(SMALL) and base.chosen is not SMALL[0]
    changed_later = st.tune(_study(dbs["after"]))
    assert changed_later.scores == base.scores and changed_later.chosen == base.chosen
    assert changed_later.adopt == base.adopt
    # the same change starting 2 h before the tuning window ends does reach the tuning scores ...
    assert st.tune(_study(dbs["before"])).scores != base.scores
    # ... and the change after it does reach the later evaluation window
    ev0 = st.evaluate(_study(dbs["orig"]), [SMALL[0]])["later"][SMALL[0].name]
    ev1 = st.evaluate(_study(dbs["after"]), [SMALL[0]])["later"][SMALL[0].name]
    assert st.pooled_score(ev0) != st.pooled_score(ev1)


def test_run_study_outputs(orig_result, tmp_path):
    result = orig_result
    assert set(result.evaluation) == {"later"}
    names = set(result.evaluation["later"])
    assert SMALL[0].name in names and result.tuning.chosen.name in names
    paths = sr.write_outputs(result, tmp_path)
    obj = json.loads(paths[0].read_text())
    assert obj["chosen"] == result.tuning.chosen.name and obj["reference"] == SMALL[0].name
    assert obj["tuning_window"]["truth_end"] == "2023-12-10T12:00:00"
    assert [c["name"] for c in obj["candidates"]] == [c.name for c in SMALL]
    assert obj["evaluation"]["later"]["pre-study"]["result"]["settings"]["engine_overrides"]["tier_weights"] == list(
        st.PRE_STUDY_TIER_WEIGHTS
    )
    md = paths[1].read_text()
    assert "## Tuning window" in md and result.tuning.chosen.name in md


def test_cli_refuses_overlapping_split(tmp_path):
    from liq_signals.cli import app

    db = tmp_path / "empty.duckdb"
    db.write_bytes(b"")  # never opened: the split is checked first
    res = CliRunner().invoke(app, ["study-priors", "--db", str(db), "--tune-end", "2023-12-08 00:00", "--quiet"])
    assert isinstance(res.exception, ConfigError) and "split by time" in str(res.exception)
