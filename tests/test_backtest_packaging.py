"""Packaging: the built wheel, installed into a fresh virtualenv, runs ``liq-signals demo`` from any directory
(demo configs and sample data ship inside the package; outputs go to the current directory)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _uv() -> list[str] | None:
    if shutil.which("uv"):
        return ["uv"]
    for python in ("python3", sys.executable):
        if subprocess.run([python, "-m", "uv", "--version"], capture_output=True).returncode == 0:
            return [python, "-m", "uv"]
    return None


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_installed_wheel_runs_the_demo_from_any_directory(tmp_path):
    uv = _uv()
    if uv is None:
        pytest.skip("uv not available to build the wheel")

    def run(*args, cwd=REPO, **kw):
        done = subprocess.run([*args], cwd=cwd, capture_output=True, text=True, **kw)
        assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        return done

    dist = tmp_path / "dist"
    run(*uv, "build", "--wheel", "--out-dir", str(dist))
    wheel = next(dist.glob("liq_signals-*.whl"))
    constraints = tmp_path / "constraints.txt"
    constraints.write_text(run(*uv, "export", "--frozen", "--no-dev", "--no-hashes", "--no-emit-project").stdout)
    venv = tmp_path / "venv"
    run(*uv, "venv", "-q", "--python", f"{sys.version_info.major}.{sys.version_info.minor}", str(venv))
    run(*uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), "-c", str(constraints), str(wheel))

    work = tmp_path / "elsewhere"
    work.mkdir()
    out = run(str(venv / "bin" / "liq-signals"), "demo", cwd=work, timeout=600)
    for rid in ("avoid-50bps", "avoid-100bps"):
        assert (work / "backtests" / rid / "report.html").is_file(), out.stdout
        assert (work / "backtests" / rid / "proximity_events.csv").is_file()
    assert (work / "catalog" / "data" / "bar").is_dir()
    assert (work / "data" / "liq_signals.duckdb").is_file()
    # the package imported is the installed one, and nothing was written inside it
    site = run(
        str(venv / "bin" / "python"),
        "-c",
        "import liq_signals, pathlib; print(pathlib.Path(liq_signals.__file__).parent)",
        cwd=work,
    ).stdout.strip()
    assert Path(site).is_relative_to(venv)
    assert not (Path(site) / "backtest" / "catalog").exists()
    assert not (Path(site).parent / "catalog").exists()
