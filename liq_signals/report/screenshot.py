"""Render a report in headless Chromium and save a PNG (used for the README picture and browser tests).

    python -m liq_signals.report.screenshot RUN_DIR OUT.png [--panel heatmap|page|full] [--width 1500]

RUN_DIR is a backtest run directory (its report.html is written first when missing) or an HTML file.
Needs Debian's ``chromium`` and ``chromium-driver`` packages and the ``selenium`` dev dependency.
``--panel heatmap`` (default) shoots the heatmap figure alone (the README picture), ``page`` the first
screen, ``full`` the whole page; any other value is the id of a figure div (liqmap, compare, strategy).
"""

from __future__ import annotations

import argparse
import base64
import shutil
import sys
import tempfile
import time
from pathlib import Path

from liq_signals.errors import LiqSignalsError

CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHROMEDRIVER_PATHS = ("/usr/bin/chromedriver",)
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)

# JS: per Plotly graph div, whether it is rendered and how many points its traces hold.
GRAPH_STATE_JS = """
const divs = Array.from(document.querySelectorAll('.js-plotly-plot'));
return divs.map(d => {
  const data = d._fullData || [];  // decoded traces (d.data may still hold base64 specs)
  const points = data.map(t => {
    if (t.type === 'table') return ((t.cells || {}).values || [[]])[0].length;
    for (const k of ['z', 'x', 'y']) {
      const v = t[k];
      if (v !== undefined && v !== null && typeof v.length === 'number' && v.length > 0) return v.length;
    }
    return 0;
  });
  return {id: d.id, rendered: !!d._fullLayout && !!d.querySelector('.main-svg'),
          traces: data.length, points: points.reduce((a, b) => a + b, 0)};
});
"""


class BrowserUnavailable(LiqSignalsError):
    """Chromium or chromedriver (or selenium) is not installed / cannot start."""


def find_binary(paths) -> str | None:
    return next((p for p in paths if Path(p).exists()), None)


def start_chromium(width: int = 1500, height: int = 1000, profile_dir: Path | None = None):
    """A selenium Chrome driver on headless Chromium with a fresh profile and browser logging enabled."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as exc:
        raise BrowserUnavailable(f"selenium is not installed ({exc}); it is a dev dependency") from None
    chrome = find_binary(CHROMIUM_PATHS)
    driver_bin = find_binary(CHROMEDRIVER_PATHS) or shutil.which("chromedriver")
    if not chrome or not driver_bin:
        raise BrowserUnavailable("chromium/chromedriver not found (apt-get install -y chromium chromium-driver)")
    profile = Path(profile_dir or tempfile.mkdtemp(prefix="liq-chromium-"))
    opts = webdriver.ChromeOptions()
    opts.binary_location = chrome
    for flag in CHROMIUM_FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={profile}")
    opts.add_argument(f"--window-size={width},{height}")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(service=Service(driver_bin), options=opts)
    except Exception as exc:  # selenium raises WebDriverException / SessionNotCreatedException
        shutil.rmtree(profile, ignore_errors=True)
        raise BrowserUnavailable(f"chromium did not start: {str(exc).splitlines()[0]}") from None
    driver.liq_profile_dir = profile
    return driver


def stop_chromium(driver) -> None:
    """Quit the browser and delete its temporary profile."""
    try:
        driver.quit()
    finally:
        profile = getattr(driver, "liq_profile_dir", None)
        if profile is not None:
            shutil.rmtree(profile, ignore_errors=True)


def wait_rendered(driver, timeout_s: float = 90.0, poll_s: float = 0.25) -> list[dict]:
    """Poll until every Plotly graph div is rendered (at least one); return GRAPH_STATE_JS's result."""
    deadline = time.monotonic() + timeout_s
    state: list[dict] = []
    while time.monotonic() < deadline:
        state = driver.execute_script(GRAPH_STATE_JS) or []
        ready = driver.execute_script("return document.readyState") == "complete"
        if ready and state and all(s["rendered"] for s in state):
            time.sleep(0.5)  # let the last paint finish
            return driver.execute_script(GRAPH_STATE_JS)
        time.sleep(poll_s)
    raise TimeoutError(f"plots not rendered after {timeout_s:.0f} s: {state}")


def screenshot_png(driver, full_page: bool = False) -> bytes:
    """PNG bytes of the viewport, or of the whole page (Chrome DevTools capture beyond the viewport)."""
    if not full_page:
        return driver.get_screenshot_as_png()
    size = driver.execute_script("return [document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1},
        },
    )
    return base64.b64decode(shot["data"])


def capture(html_path: Path, out_png: Path, width: int = 1500, height: int = 1000, panel: str = "heatmap") -> Path:
    """Open ``html_path`` via file://, wait for the plots, and save a PNG of ``panel`` to ``out_png``."""
    driver = start_chromium(width, height)
    try:
        driver.get(Path(html_path).resolve().as_uri())
        wait_rendered(driver)
        if panel in ("page", "full"):
            png = screenshot_png(driver, panel == "full")
        else:
            found = driver.find_elements("id", panel)
            if not found:
                raise LiqSignalsError(f"{html_path}: no figure with id {panel!r}")
            driver.execute_script("arguments[0].scrollIntoView()", found[0])
            png = found[0].screenshot_as_png
    finally:
        stop_chromium(driver)
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    out_png.write_bytes(png)
    return out_png


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m liq_signals.report.screenshot", description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dir", type=Path, help="run directory (or a report .html file)")
    ap.add_argument("out", type=Path, help="PNG to write, e.g. docs/report.png")
    ap.add_argument("--width", type=int, default=1500)
    ap.add_argument("--height", type=int, default=1000)
    ap.add_argument("--panel", default="heatmap", help="heatmap (default), page, full, or a figure div id")
    args = ap.parse_args(argv)
    try:
        html_path = args.run_dir
        if html_path.is_dir():
            html_path = html_path / "report.html"
            if not html_path.exists():
                from liq_signals.report.run_report import write_run_report

                html_path = write_run_report(args.run_dir)
        elif not html_path.exists():
            raise LiqSignalsError(f"{html_path}: not found")
        out = capture(html_path, args.out, args.width, args.height, args.panel)
    except LiqSignalsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
