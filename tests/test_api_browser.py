"""The page at / of a real ``liq-signals serve`` process in headless Chromium: heatmap and liquidation map draw
with data, range and model switches redraw them, no console errors, and no request leaves 127.0.0.1."""

from __future__ import annotations

import time

import pytest
from api_server import running_server
from browser import chromium, image_stats, severe_logs, shot

pytestmark = pytest.mark.browser


def wait_ready(driver, timeout_s: float = 120.0) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        state = driver.execute_script("return document.body.dataset.ready")
        if state == "1":
            return
        assert state != "error", driver.find_element("id", "status").text
        time.sleep(0.2)
    raise AssertionError("page did not finish drawing")


def figures(driver) -> dict:
    return driver.execute_script("""
        const h = document.getElementById('heatmap'), m = document.getElementById('map');
        const z = h.data[0].z, cells = z.flat().filter(v => v !== null && v > 0).length;
        const bars = m.data.filter(t => t.type === 'bar');
        return {heat_cells: cells, heat_x: [h.data[0].x[0], h.data[0].x[h.data[0].x.length - 1]],
                title: h.layout.title.text, candles: h.data[1].close.filter(v => v !== null).length,
                bar_total: bars.reduce((s, t) => s + t.x.reduce((a, b) => a + b, 0), 0),
                curves: m.data.filter(t => t.type === 'scatter').length,
                rows: document.querySelectorAll('#clusters tbody tr').length};""")


def test_page_draws_switches_and_stays_local(sample_db):
    with running_server(sample_db) as base, chromium(1400, 1100) as driver:
        driver.get(base + "/")
        wait_ready(driver)
        f = figures(driver)
        assert f["heat_cells"] > 1000 and f["candles"] > 100 and f["bar_total"] > 0 and f["curves"] == 2
        assert f["rows"] == 10 and "model a" in f["title"]
        hours = (
            time.mktime(time.strptime(f["heat_x"][1][:16], "%Y-%m-%dT%H:%M"))
            - time.mktime(time.strptime(f["heat_x"][0][:16], "%Y-%m-%dT%H:%M"))
        ) / 3600
        assert 160 <= hours <= 168  # the default 7d view
        stats = image_stats(shot(driver))
        assert stats["colours"] > 200 and stats["std"] > 10  # a picture, not a blank page

        driver.find_element("id", "range-3d").click()
        wait_ready(driver)
        f3 = figures(driver)
        hours = (
            time.mktime(time.strptime(f3["heat_x"][1][:16], "%Y-%m-%dT%H:%M"))
            - time.mktime(time.strptime(f3["heat_x"][0][:16], "%Y-%m-%dT%H:%M"))
        ) / 3600
        assert 66 <= hours <= 72 and f3["heat_cells"] > 500

        driver.execute_script(
            "const s = document.getElementById('model'); s.value = 'ensemble';s.dispatchEvent(new Event('change'));"
        )
        wait_ready(driver)
        fe = figures(driver)
        assert "model ensemble" in fe["title"] and fe["heat_cells"] > 500 and fe["bar_total"] > 0

        driver.find_element("id", "tier-5").click()  # leverage filter: drop the 5x tier
        wait_ready(driver)
        ft = figures(driver)
        assert "10/25/50/100x" in ft["title"] and ft["bar_total"] < fe["bar_total"]

        driver.execute_script(
            "const s = document.getElementById('symbol'); s.value = 'HYPEUSDT';s.dispatchEvent(new Event('change'));"
        )
        wait_ready(driver)
        fh = figures(driver)
        assert "HYPEUSDT" in fh["title"] and fh["heat_cells"] > 0
        # the HYPEUSDT recording (2025-10-25 17:49-18:35) lies in the view: one marker per recorded event
        markers = driver.execute_script(
            "return document.getElementById('heatmap').data"
            ".filter(t => t.name === 'recorded liquidations').map(t => t.x.length)"
        )
        assert len(markers) == 1 and markers[0] > 0
        assert f"{markers[0]} recorded liquidations" in driver.find_element("id", "status").text

        assert severe_logs(driver) == []
        urls = driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name).concat([location.href])"
        )
        assert urls and all(u.startswith(base + "/") or u.startswith("data:") for u in urls), urls


def test_docs_page_lists_every_endpoint_without_external_assets(sample_db):
    with running_server(sample_db) as base, chromium(1200, 900) as driver:
        driver.get(base + "/docs")
        t0 = time.monotonic()
        while time.monotonic() - t0 < 30 and not driver.find_elements("css selector", "#paths h2"):
            time.sleep(0.2)
        heads = [h.text for h in driver.find_elements("css selector", "#paths h2")]
        for path in ("/levels", "/heatmap", "/compare-models", "/liquidations", "/symbols", "/health"):
            assert any(f"GET {path} " in h for h in heads), heads
        cells = [td.text for td in driver.find_elements("css selector", "table.p td")]
        assert "top_k" in cells and "every" in cells and "warmup" in cells
        assert severe_logs(driver) == []
        urls = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        assert urls and all(u.startswith(base + "/") for u in urls), urls
