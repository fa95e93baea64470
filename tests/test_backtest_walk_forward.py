"""Walk-forward: the sweep runs on the selection period, the best run by the metric is reported alone on the
later period; overlapping periods are refused in one line."""

from __future__ import annotations

import json

import pytest

from liq_signals.backtest.config import load_runs
from liq_signals.errors import ConfigError

HEAD = """
catalog = "catalog"
instrument = "BTCUSDT-PERP.BINANCE"
bar_type = "BTCUSDT-PERP.BINANCE-15-MINUTE-LAST-EXTERNAL"
"""
BODY = """
[actor]
model = "a"
bucket_floor_usd = 3_000_000
min_cluster_notional = 10_000_000
cooldown_bars = 4
[strategy]
kind = "avoid"
trade_size = "0.5"
fast_ema_period = 12
slow_ema_period = 48
[[runs]]
id = "wf"
[sweep]
"actor.proximity_bps" = [25, 100]
"""


def wf(
    select=("2023-11-14T00:00:00Z", "2023-11-24T00:00:00Z"),
    report=("2023-11-24T00:00:00Z", "2023-12-04T00:00:00Z"),
    metric="pnl_total",
) -> str:
    return (
        HEAD + f'walk_forward = {{ select_start = "{select[0]}", select_end = "{select[1]}", '
        f'report_start = "{report[0]}", report_end = "{report[1]}", metric = "{metric}" }}\n' + BODY
    )


@pytest.mark.parametrize(
    "body, needle",
    [
        (wf(report=("2023-11-23T00:00:00Z", "2023-12-04T00:00:00Z")), "overlaps"),
        (
            wf(
                select=("2023-11-20T00:00:00Z", "2023-12-01T00:00:00Z"),
                report=("2023-11-14T00:00:00Z", "2023-11-21T00:00:00Z"),
            ),
            "overlaps",
        ),
        (wf(metric="pnl"), "walk_forward.metric"),
        (wf().replace("select_end", "select_ends"), "select_ends"),
        (wf().replace("bar_type = ", 'start = "2023-11-14T00:00:00Z"\nbar_type = '), "remove start/end"),
    ],
)
def test_bad_walk_forward_is_one_line(tmp_path, body, needle):
    (tmp_path / "c.toml").write_text(body)
    with pytest.raises(ConfigError) as exc:
        load_runs(tmp_path / "c.toml")
    assert needle in str(exc.value) and "\n" not in str(exc.value)


def test_the_best_selection_run_is_reported_alone_on_the_later_period(tmp_path, monkeypatch):
    from liq_signals import cli
    from liq_signals.backtest.demo import prepare_catalog

    prepare_catalog(tmp_path / "demo.duckdb", tmp_path / "catalog", note=lambda _m: None)
    (tmp_path / "c.toml").write_text(wf())
    out = tmp_path / "out"
    monkeypatch.setattr(
        "sys.argv",
        ["liq-signals", "backtest", str(tmp_path / "c.toml"), "--out", str(out), "--executor", "serial", "--quiet"],
    )
    assert cli.run() == 0
    ids = ["wf-proximity_bps25", "wf-proximity_bps100"]
    select = {i: json.loads((out / "select" / i / "summary.json").read_text()) for i in ids}
    assert all(s["start"].startswith("2023-11-14") and s["end"].startswith("2023-11-24") for s in select.values())
    assert select[ids[0]]["pnl_total"] != select[ids[1]]["pnl_total"]
    best = max(ids, key=lambda i: select[i]["pnl_total"])
    rec = json.loads((out / "walk_forward.json").read_text())
    assert rec["chosen"] == best
    assert [p.name for p in (out / "report").iterdir()] == [best]  # only the choice runs on the report period
    rep = json.loads((out / "report" / best / "summary.json").read_text())
    assert rep["start"].startswith("2023-11-24") and rep["end"].startswith("2023-12-04")
    assert rec["report_summary"]["pnl_total"] == rep["pnl_total"]
    assert (out / "report" / best / "report.html").is_file()
    assert (out / "select" / "index.html").read_text().count("<tr>") == 3  # header + the two candidates
