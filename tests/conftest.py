"""Test-session setup: installs Debian's chromium + chromedriver for the browser tests when missing.

The README's test command is the whole setup, so the browser the report tests need is installed here
(apt-get, as root) the first time a session collects a test marked ``browser``. Where it cannot be
installed the browser tests skip with the reason — except under CI (``CI`` set), where they must run.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

BROWSER_PACKAGES = ("chromium", "chromium-driver")
_install_error: str | None = None


def _have_browser() -> bool:
    return bool(shutil.which("chromium") and shutil.which("chromedriver"))


def ensure_chromium() -> str | None:
    """Install chromium/chromedriver with apt-get if missing; return an error text or None."""
    if _have_browser():
        return None
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "chromium/chromedriver missing and apt-get as root is not available to install them"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *BROWSER_PACKAGES]):
        r = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if r.returncode != 0:
            return f"`{' '.join(cmd)}` failed: {(r.stderr or r.stdout).strip().splitlines()[-1:]}"
    return None if _have_browser() else "apt-get ran but chromium/chromedriver are still missing"


def pytest_collection_modifyitems(config, items):
    global _install_error
    if any(item.get_closest_marker("browser") for item in items):
        _install_error = ensure_chromium()


@pytest.fixture(scope="session")
def browser_install_error() -> str | None:
    return _install_error


def browser_unavailable(reason: str) -> None:
    """Skip a browser test with ``reason`` — or fail it under CI, where the browser tests must run."""
    if os.environ.get("CI"):
        pytest.fail(f"browser test cannot run under CI: {reason}")
    pytest.skip(f"headless Chromium unavailable: {reason}")


# ------------------------------------------------------------------------------------------ shared sample data
from pathlib import Path  # noqa: E402

SAMPLE_DATA = Path(__file__).resolve().parents[1] / "liq_signals" / "sample_data"
BTC_SAMPLE = SAMPLE_DATA / "btcusdt-2023-11"  # BTCUSDT 15m klines, 5m metrics, funding: 2023-11-12 → 12-13
HYPE_SAMPLE = SAMPLE_DATA / "hypeusdt-2025-10-25"


@pytest.fixture(scope="session")
def btc_db(tmp_path_factory) -> Path:
    """A DuckDB file holding the shipped BTCUSDT month (ingested once per test session; treat as read-only)."""
    from liq_signals.data.ingest import ingest_paths

    path = tmp_path_factory.mktemp("btc_db") / "btc.duckdb"
    ingest_paths([BTC_SAMPLE], path)
    return path


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory) -> Path:
    """A DuckDB file holding every shipped sample file (read-only)."""
    from liq_signals.data.ingest import ingest_paths

    path = tmp_path_factory.mktemp("sample_db") / "sample.duckdb"
    ingest_paths([SAMPLE_DATA], path)
    return path


@pytest.fixture(scope="session")
def btc_month(btc_db):
    """``MarketInputs`` of the BTCUSDT month (15-minute bars), read through the DuckDB path."""
    from liq_signals.data.reader import load_market_inputs

    return load_market_inputs(btc_db, "BTCUSDT", interval="15m")
