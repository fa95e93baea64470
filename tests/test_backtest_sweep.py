"""Parallel sweeps: the same summaries whatever the executor (serial, spawned processes, local Ray), a progress
line per finished run in the CLI."""

from __future__ import annotations

import json

import pytest

CONFIG = """
catalog = "catalog"
instrument = "BTCUSDT-PERP.BINANCE"
bar_type = "BTCUSDT-PERP.BINANCE-15-MINUTE-LAST-EXTERNAL"
start = "2023-11-14T00:00:00Z"
end = "2023-11-20T00:00:00Z"
baseline = "no_signal"
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
id = "s"
[sweep]
"actor.proximity_bps" = [50, 100]
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    from liq_signals.backtest.demo import prepare_catalog

    d = tmp_path_factory.mktemp("sweep")
    prepare_catalog(d / "demo.duckdb", d / "catalog", note=lambda _m: None)
    (d / "sweep.toml").write_text(CONFIG)
    return d


def _comparable(summary) -> dict:
    out = summary.to_dict()
    out.pop("wall_seconds")
    out["baseline"].pop("wall_seconds")
    return out


@pytest.fixture(scope="module")
def by_executor(workdir):
    from liq_signals.backtest.node import run_backtests

    got = {}
    for ex in ("serial", "process", "ray"):
        done = []
        results = run_backtests(
            workdir / "sweep.toml",
            workdir / f"out-{ex}",
            executor=ex,
            workers=2,
            on_done=lambda i, r, done=done: done.append(i),
        )
        assert sorted(done) == [0, 1]
        got[ex] = results
    return got


def test_every_executor_gives_the_same_summaries(by_executor):
    serial = by_executor["serial"]
    assert [r.run_id for r in serial] == ["s-proximity_bps50", "s-proximity_bps100"]
    assert serial[0].summary.fills != serial[1].summary.fills  # the two runs really differ
    for ex in ("process", "ray"):
        other = by_executor[ex]
        assert [r.run_id for r in other] == [r.run_id for r in serial]
        for a, b in zip(serial, other):
            assert _comparable(a.summary) == _comparable(b.summary), (ex, a.run_id)
            on_disk = json.loads((b.run_dir / "summary.json").read_text())
            assert on_disk["pnl_total"] == a.summary.pnl_total
            assert (b.run_dir / "proximity_events.csv").read_bytes() == (
                a.run_dir / "proximity_events.csv"
            ).read_bytes()
            assert b.peak_rss_mb and b.peak_rss_mb > 50


def test_cli_prints_a_line_per_finished_run(workdir, capsys, monkeypatch):
    from liq_signals import cli

    monkeypatch.setattr(
        "sys.argv",
        [
            "liq-signals",
            "backtest",
            str(workdir / "sweep.toml"),
            "--out",
            str(workdir / "out-cli"),
            "--executor",
            "process",
            "--workers",
            "2",
            "--no-report",
        ],
    )
    assert cli.run() == 0
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.startswith("[")]
    assert len(lines) == 2 and {x[:5] for x in lines} == {"[1/2]", "[2/2]"}
    assert all("vs no_signal" in x for x in lines)


def test_cli_refuses_ray_address_without_ray_executor(workdir, capsys, monkeypatch):
    from liq_signals import cli

    monkeypatch.setattr(
        "sys.argv",
        [
            "liq-signals",
            "backtest",
            str(workdir / "sweep.toml"),
            "--ray-address",
            "127.0.0.1:1",
            "--out",
            str(workdir / "out-x"),
        ],
    )
    with pytest.raises(SystemExit) as exc:
        cli.main()
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--ray-address" in err[0]
    assert not (workdir / "out-x").exists()


def test_sweep_page_links_every_run_and_reports_share_one_plotly(workdir, monkeypatch):
    import re
    from html.parser import HTMLParser

    from plotly.offline import get_plotlyjs

    from liq_signals import cli

    out = workdir / "out-page"
    monkeypatch.setattr(
        "sys.argv",
        ["liq-signals", "backtest", str(workdir / "sweep.toml"), "--out", str(out), "--executor", "serial", "--quiet"],
    )
    assert cli.run() == 0

    class Rows(HTMLParser):
        def __init__(self):
            super().__init__()
            self.rows, self.links, self.in_body = 0, [], False

        def handle_starttag(self, tag, attrs):
            self.in_body |= tag == "tbody"
            if self.in_body and tag == "tr":
                self.rows += 1
            if tag == "a":
                self.links.append(dict(attrs)["href"])

    page = Rows()
    page.feed((out / "index.html").read_text())
    ids = ["s-proximity_bps50", "s-proximity_bps100"]
    assert page.rows == 2 and page.links == [f"{i}/report.html" for i in ids]
    for link in page.links:
        assert (out / link).is_file()
    shared = out / "plotly.min.js"
    assert shared.read_text() == get_plotlyjs()
    js_len = len(get_plotlyjs())
    for i in ids:
        report = (out / i / "report.html").read_text()
        assert "src='../plotly.min.js'" in report and (out / i / "../plotly.min.js").resolve() == shared.resolve()
        assert len(report) < js_len and "Plotly.newPlot" in report  # figures kept, library not inlined
    # the PnL cells are the summaries' figures
    text = (out / "index.html").read_text()
    for i in ids:
        s = json.loads((out / i / "summary.json").read_text())
        assert re.search(rf"data-v='{re.escape(repr(float(s['pnl_total'])))}'", text)


def test_a_single_run_report_stays_self_contained(workdir, monkeypatch):
    from plotly.offline import get_plotlyjs

    from liq_signals import cli

    one = workdir / "one.toml"
    one.write_text(CONFIG.split("[[runs]]")[0])
    out = workdir / "out-one"
    monkeypatch.setattr("sys.argv", ["liq-signals", "backtest", str(one), "--out", str(out), "--quiet"])
    assert cli.run() == 0
    assert get_plotlyjs() in (out / "one" / "report.html").read_text()
    assert not (out / "plotly.min.js").exists() and not (out / "index.html").exists()
