"""The run report opened in real headless Chromium, checked as a person would: it renders without JS
errors, every panel has data, and the screenshot is a picture, not a blank page."""

from __future__ import annotations

import time

import pytest
from browser import chromium, decode_png, image_stats, open_page, severe_logs, shot
from report_fixtures import build_run_dir

from liq_signals.report.run_report import write_run_report

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    run = build_run_dir(tmp_path_factory.mktemp("run"), n_bars=400, models=("a", "b"), every=4)
    return write_run_report(run)


def test_png_decoder_reads_a_known_image():
    import struct
    import zlib

    # 2x2 RGB with filters None and Sub: red, green / blue, white
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    raw = b"\x00" + bytes([255, 0, 0, 0, 255, 0]) + b"\x01" + bytes([0, 0, 255, 255, 255, 0])
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    img = decode_png(png)
    assert img[0, 0].tolist() == [255, 0, 0] and img[0, 1].tolist() == [0, 255, 0]
    assert img[1, 0].tolist() == [0, 0, 255] and img[1, 1].tolist() == [255, 255, 255]


def test_report_renders_every_panel_without_errors(report, tmp_path):
    with chromium() as driver:
        state = open_page(driver, report)
        errors = severe_logs(driver)
        png = shot(driver, full_page=True)
        # hovering needs plotly's data in place: the heatmap's z and customdata arrays have the same shape
        dims = driver.execute_script(
            "const t = document.getElementById('heatmap')._fullData[0];"
            "return [t.type, t.z.length, t.z[0].length, t.customdata.length, t.customdata[0].length,"
            " t.customdata[0][0].length];"
        )
    (tmp_path / "report.png").write_bytes(png)
    assert errors == []
    ids = {s["id"] for s in state}
    assert {"heatmap", "liqmap", "compare", "strategy"} <= ids
    for s in state:
        assert s["rendered"] and s["traces"] > 0 and s["points"] > 0, s
    assert dims[0] == "heatmap" and dims[1] == dims[3] and dims[2] == dims[4] and dims[5] == 4
    stats = image_stats(png)
    assert stats["height"] > 2000  # header + four panels
    assert stats["colours"] > 500 and stats["std"] > 10, stats


def test_slider_moves_the_liquidation_map_to_another_snapshot(report):
    with chromium() as driver:
        open_page(driver, report)
        get_title = "return document.getElementById('liqmap').layout.title.text"
        before = driver.execute_script(get_title)
        driver.execute_script(
            "const d = document.getElementById('liqmap'); const s = d.layout.sliders[0].steps[0];"
            "Plotly.update(d, s.args[0], s.args[1]);"
        )
        deadline = time.monotonic() + 10
        after = before
        while after == before and time.monotonic() < deadline:
            time.sleep(0.1)
            after = driver.execute_script(get_title)
        visible = driver.execute_script(
            "return document.getElementById('liqmap').data.filter(t => t.visible === true).length"
        )
        errors = severe_logs(driver)
    assert after != before and "at " in after
    assert visible == 7  # five tier bar traces + two cumulative curves of the chosen snapshot
    assert errors == []


def test_checks_catch_a_broken_or_blank_page(tmp_path):
    """The checks above can fail: a JS error is logged as SEVERE and a blank page has ~1 colour."""
    page = tmp_path / "broken.html"
    page.write_text(
        "<html><body style='background:#fff'><div class='js-plotly-plot'></div>"
        "<script>throw new Error('boom')</script></body></html>"
    )
    with chromium() as driver:
        driver.get(page.resolve().as_uri())
        time.sleep(0.3)
        errors = severe_logs(driver)
        stats = image_stats(shot(driver))
    assert any("boom" in e for e in errors)
    assert stats["colours"] <= 2 and stats["std"] < 1
