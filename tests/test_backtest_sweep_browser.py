"""A sweep's run report loading the shared ../plotly.min.js renders every panel in headless Chromium."""

from __future__ import annotations

import pytest
from browser import chromium, open_page, severe_logs
from report_fixtures import build_run_dir

from liq_signals.report.run_report import write_run_report
from liq_signals.report.sweep_report import sweep_report_writer, write_shared_plotly

pytestmark = pytest.mark.browser


def test_a_report_with_the_shared_plotly_renders(tmp_path):
    out = tmp_path / "out"
    run = build_run_dir(out, n_bars=300, models=("a",), every=4)  # out/run-test
    write_shared_plotly(out)
    assert run.parent == out
    report = sweep_report_writer()(run)  # what the backtest command uses for a sweep
    inline = write_run_report(run, out=tmp_path / "inline.html")
    assert report.stat().st_size < inline.stat().st_size - 3_000_000  # plotly.js (~4.6 MB) not inlined
    with chromium() as driver:
        state = open_page(driver, report)
        errors = severe_logs(driver)
    assert errors == []
    assert {"heatmap", "liqmap"} <= {s["id"] for s in state}
    for s in state:
        assert s["rendered"] and s["traces"] > 0, s
