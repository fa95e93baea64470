"""Run-directory writing without Nautilus: all-or-nothing replacement, the contract's summary fields, order
status counts, and the summary table that never cuts run ids or paths."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from liq_signals.backtest import run_dir as RD
from liq_signals.backtest.outputs import order_status_counts, run_directory


def test_a_new_directory_replaces_the_old_one_whole(tmp_path):
    target = tmp_path / "out" / "run-1"
    target.mkdir(parents=True)
    (target / "report.html").write_text("stale")
    with run_directory(target) as tmp:
        assert tmp.parent == target.parent and tmp != target
        (tmp / "summary.json").write_text("{}")
        assert (target / "report.html").exists()  # the old directory stays until the end
    assert [p.name for p in target.iterdir()] == ["summary.json"]
    assert [p.name for p in target.parent.iterdir()] == ["run-1"]


def test_an_error_leaves_the_old_directory_and_no_temporary_files(tmp_path):
    target = tmp_path / "run-1"
    target.mkdir()
    (target / "summary.json").write_text("old")
    with pytest.raises(ValueError):
        with run_directory(target) as tmp:
            (tmp / "summary.json").write_text("half")
            raise ValueError("writer failed")
    assert (target / "summary.json").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["run-1"]
    with pytest.raises(ValueError):
        with run_directory(tmp_path / "fresh"):
            raise ValueError("writer failed")
    assert not (tmp_path / "fresh").exists()


def test_order_status_counts():
    orders = pd.DataFrame({"status": ["FILLED", "REJECTED", "DENIED", "REJECTED", "CANCELED"]})
    assert order_status_counts(orders) == (2, 1)
    assert order_status_counts(pd.DataFrame()) == (0, 0)


def test_summary_round_trips_through_the_contract():
    s = RD.Summary(run_id="x", orders=5, orders_rejected=2, orders_denied=1, flush_check={"available": False})
    d = s.to_dict()
    assert {"orders_rejected", "orders_denied"} <= set(d)
    assert RD.Summary.from_dict({**d, "unknown_extra": 1}) == s
    assert "flush_check" not in RD.Summary(run_id="y").to_dict()


def test_summary_table_never_cuts_run_ids_or_paths():
    from rich.console import Console

    from liq_signals.backtest.node import RunResult
    from liq_signals.commands.backtest import print_summary

    rid = "a-very-long-run-id-proximity_bps25-min_cluster_notional10000000-cooldown_bars4"
    path = Path("/some/quite/long/output/folder/that/does/not/fit/in/eighty/columns") / rid / "report.html"
    result = RunResult(
        rid,
        path.parent,
        RD.Summary(
            run_id=rid, bars=2784, orders=120, orders_rejected=3, orders_denied=4, pnl_total=-1558.06, wall_seconds=1.7
        ),
        path,
    )
    for width in (80, 120):
        console = Console(width=width, record=True, color_system=None)
        print_summary("title", [result], console)
        text = console.export_text()
        assert "…" not in text
        assert "".join(text.split()).count(rid) >= 1  # folded over lines, never cut
        assert str(path) in text  # paths printed whole, on their own line
        flat = "".join(text.split())
        assert "-1,558.06" in flat and "3/4" in flat and "1.7" in flat  # every column is there
