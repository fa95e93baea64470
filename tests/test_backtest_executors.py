"""Sweep executors: the same results in job order from one process, a spawned process pool and a local Ray
instance; errors as one line; bad settings named."""

from __future__ import annotations

import pytest

from liq_signals.backtest.executors import run_jobs
from liq_signals.errors import ConfigError, LiqSignalsError

# a real library function that any worker can import: durations in ns, worked out by hand
JOBS = [("15m",), ("1h",), ("3d",), ("500ms",)]
EXPECTED = [15 * 60 * 10**9, 3600 * 10**9, 3 * 86400 * 10**9, 500 * 10**6]
FN = "liq_signals.times:to_duration_ns"


@pytest.mark.parametrize("executor", ["serial", "process", "ray"])
def test_every_executor_returns_the_same_results_in_job_order(executor):
    done = []
    got = run_jobs(FN, JOBS, executor=executor, workers=2, on_done=lambda i, r: done.append(i))
    assert got == EXPECTED
    assert sorted(done) == [0, 1, 2, 3]


@pytest.mark.parametrize("executor", ["process", "ray"])
def test_a_jobs_user_error_comes_back_as_one_line(executor):
    with pytest.raises(LiqSignalsError, match="has no unit"):
        run_jobs(FN, [("1h",), ("60",)], executor=executor, workers=2)


@pytest.mark.parametrize(
    ("kw", "word"),
    [
        ({"executor": "dask"}, "--executor"),
        ({"workers": 0}, "--workers"),
        ({"executor": "process", "ray_address": "x:1"}, "--ray-address"),
    ],
)
def test_bad_settings_are_named(kw, word):
    with pytest.raises(ConfigError, match=word):
        run_jobs(FN, JOBS, **kw)
