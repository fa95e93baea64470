"""Progress without a terminal: plain lines on stderr every 10% of the work or every 10 s, and at the end."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

from liq_signals.commands.progress import LineProgress
from liq_signals.data.ingest import ingest_paths

CLI = Path(sys.executable).parent / "liq-signals"
SAMPLE = Path(__file__).resolve().parents[1] / "liq_signals" / "sample_data" / "btcusdt-2023-11"


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_a_line_per_tenth_of_the_work():
    out, clock = io.StringIO(), Clock()
    with LineProgress(stream=out, clock=clock) as p:
        task = p.add_task("job", total=50)
        for _ in range(50):
            clock.t += 0.1  # fast steps: only the 10% marks print
            p.advance(task)
    lines = out.getvalue().splitlines()
    assert [int(re.search(r"job: (\d+)/50", ln).group(1)) for ln in lines] == list(range(5, 51, 5))
    assert lines[-1] == "job: 50/50 (100%), 5 s elapsed"


def test_a_line_every_10_seconds_when_steps_are_slow_or_total_unknown():
    out, clock = io.StringIO(), Clock()
    with LineProgress(stream=out, clock=clock) as p:
        task = p.add_task("slow", total=None)
        for _ in range(6):
            clock.t += 4.0  # a line once 10 s have passed since the last one: after steps 3 and 6
            p.advance(task)
    assert out.getvalue().splitlines() == ["slow: 3, 12 s elapsed", "slow: 6, 24 s elapsed"]


def test_end_line_for_unreported_work_and_none_for_work_that_never_advanced():
    out, clock = io.StringIO(), Clock()
    with LineProgress(stream=out, clock=clock) as p:
        idle = p.add_task("idle", total=3)  # noqa: F841  (an error before any work: no line)
        busy = p.add_task("busy", total=1000)
        clock.t = 2.0
        p.advance(busy, 3)
    assert out.getvalue().splitlines() == ["busy: 3/1000 (0%), 2 s elapsed"]


def test_heatmap_into_a_pipe_writes_progress_lines_to_stderr(tmp_path):
    db = tmp_path / "btc.duckdb"
    ingest_paths([SAMPLE], db)
    out = tmp_path / "h.parquet"
    r = subprocess.run(
        [
            str(CLI),
            "heatmap",
            "--db",
            str(db),
            "--symbol",
            "BTCUSDT",
            "--start",
            "2023-12-10",
            "--end",
            "2023-12-11",
            "--every",
            "1h",
            "--warmup",
            "3d",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    lines = r.stderr.splitlines()
    assert lines, "no progress lines on stderr"
    assert all(re.fullmatch(r"heatmap: \d+/25 \(\d+%\), \d+ s elapsed", ln) for ln in lines), lines
    assert lines[-1].startswith("heatmap: 25/25 (100%)")
    assert "heatmap:" not in r.stdout and "wrote" in r.stdout
