"""The INSTALLED `liq-signals` command: every usage error is one `error:` line on stderr with exit code 2.

Each case runs `.venv/bin/liq-signals` (the console script users run) in an empty directory, so commands
that reach the database find none at the default path. Expected: exit code 2, nothing on stdout, exactly
one line on stderr, starting `error:`, naming the offending option / argument / command, no traceback.
"""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading
from pathlib import Path

import pytest

CLI = Path(sys.executable).parent / "liq-signals"
LEVELS = ["levels", "--symbol", "BTCUSDT", "--at", "2023-12-11 02:00"]
HEATMAP = ["heatmap", "--symbol", "BTCUSDT", "--start", "2023-12-01", "--end", "2023-12-02", "--out", "h.parquet"]
VALIDATE = ["validate", "--symbol", "BTCUSDT", "--start", "2023-12-04", "--end", "2023-12-05"]
COMPARE = ["compare-models", "--symbol", "BTCUSDT", "--start", "2023-12-01", "--end", "2023-12-02", "--out", "c.html"]
LIQ = ["liq-price", "--side", "long", "--size", "1", "--entry", "67000", "--brackets-date", "2025-08-19"]
DOWNLOAD = ["download", "BTCUSDT", "--start", "2023-01-01", "--end", "2023-01-01", "--dest", "d"]

# (argv, text the error line must contain)
CASES = [
    (["nosuch"], "nosuch"),
    (["--bogus"], "--bogus"),
    # levels
    (["levels", "--bogus", "1"], "--bogus"),
    (["levels", "--symbol", "BTCUSDT"], "--at"),
    ([*LEVELS, "--top", "ten"], "--top"),
    ([*LEVELS, "--top", "0"], "--top"),
    ([*LEVELS, "--warmup", "5"], "--warmup"),
    ([*LEVELS, "--warmup", "soon"], "--warmup"),
    (["levels", "--symbol", "BTCUSDT", "--at", "not-a-time"], "--at"),
    ([*LEVELS, "--min-share", "2"], "--min-share"),
    ([*LEVELS, "--bucket-bps", "wide"], "--bucket-bps"),
    (LEVELS, "data/liq_signals.duckdb"),  # no --db: the default path, which does not exist here
    # heatmap
    ([*HEATMAP, "--every", "60"], "--every"),
    ([*HEATMAP, "--every", "0m"], "--every"),
    ([*HEATMAP, "--warmup", "30"], "--warmup"),
    ([*HEATMAP, "--every", "1s"], "--every"),
    (["heatmap", "--symbol", "BTCUSDT", "--start", "2023-12-01", "--end", "2023-12-02"], "--out"),
    ([*HEATMAP[:-1], "h.txt"], "--out"),
    ([*HEATMAP, "--start", "2023-12-03"], "--start"),
    # validate
    ([*VALIDATE, "--top-k", "ten"], "--top-k"),
    ([*VALIDATE, "--horizons", "1h,4"], "--horizons"),
    ([*VALIDATE, "--horizons", "1h,,4h"], "--horizons"),
    ([*VALIDATE, "--every", "15"], "--every"),
    ([*VALIDATE, "--warmup", "7"], "--warmup"),
    ([*VALIDATE, "--min-events", "x"], "--min-events"),
    (["validate", "--symbol", "BTCUSDT", "--start", "2023-12-04"], "--end"),
    # compare-models
    ([*COMPARE, "--every", "5"], "--every"),
    ([*COMPARE, "--top-k", "x"], "--top-k"),
    ([*COMPARE, "--at", "2023-12-05"], "--at"),
    # liq-price
    (["liq-price", "--side", "long", "--size", "1", "--entry", "abc", "--leverage", "10"], "--entry"),
    (["liq-price", "--size", "1", "--entry", "67000", "--leverage", "10"], "--side"),
    ([*LIQ, "--leverage", "0.5"], "--leverage"),
    ([*LIQ, "--leverage", "151"], "--leverage"),
    ([*LIQ, "--wallet", "100"], "--wallet"),
    ([*LIQ, "--leverage"], "--leverage"),
    ([*LIQ[:-1], "someday", "--leverage", "10"], "--brackets-date"),
    # study-priors, ingest, info, catalog, backtest, demo, download
    (["study-priors", "--bogus"], "--bogus"),
    (["study-priors", "--db", "missing.duckdb"], "missing.duckdb"),
    (["ingest"], "paths"),
    (["ingest", "--kind"], "--kind"),
    (["info", "--bogus"], "--bogus"),
    (["catalog", "--catalog"], "--catalog"),
    (["backtest"], "config"),
    (["backtest", "missing.toml"], "missing.toml"),
    (["demo", "--bogus"], "--bogus"),
    (["download"], "symbol"),
    ([*DOWNLOAD, "--attempts", "x"], "--attempts"),
]


def run_cli(args, cwd, timeout=120):
    return subprocess.run([str(CLI), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_the_console_script_is_installed():
    assert CLI.exists(), f"{CLI} missing: run `uv sync`"


@pytest.mark.parametrize(("args", "names"), CASES, ids=[" ".join(a) for a, _ in CASES])
def test_usage_error_is_one_line_exit_2(args, names, tmp_path):
    r = run_cli(args, tmp_path)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in r.stderr
    assert names in lines[0]


def test_version_prints_the_package_version(tmp_path):
    from importlib.metadata import version

    r = run_cli(["--version"], tmp_path)
    assert r.returncode == 0 and r.stderr == ""
    assert r.stdout.strip() == f"liq-signals {version('liq-signals')}"


def test_help_exits_0(tmp_path):
    r = run_cli(["levels", "--help"], tmp_path)
    assert r.returncode == 0 and "--warmup" in r.stdout


class _AlwaysFailing(http.server.BaseHTTPRequestHandler):
    """A mirror whose every request fails with HTTP 500."""

    def do_GET(self):  # noqa: N802
        self.send_response(500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_exit_code_of_the_command_is_honoured(tmp_path):
    """`download` ends with typer.Exit(2) when a file failed: the process must exit 2, not 0."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _AlwaysFailing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        r = run_cli(
            [
                *DOWNLOAD,
                "--kinds",
                "fundingRate",
                "--base-url",
                f"http://127.0.0.1:{server.server_port}",
                "--attempts",
                "1",
                "--retry-delay",
                "0",
                "--timeout",
                "5",
                "--quiet",
            ],
            tmp_path,
            timeout=60,
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "failed" in r.stderr
