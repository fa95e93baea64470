"""Headless-Chromium helpers for browser tests: open a page, wait for Plotly, read logs, judge a screenshot.

The PNG decoder is here (zlib + the five PNG row filters) so no imaging library is needed.
"""

from __future__ import annotations

import struct
import zlib
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from liq_signals.report.screenshot import (
    BrowserUnavailable,
    screenshot_png,
    start_chromium,
    stop_chromium,
    wait_rendered,
)


@contextmanager
def chromium(width: int = 1400, height: int = 1000):
    """A headless Chromium driver; skips the test (with the reason) only when Chromium cannot start."""
    try:
        driver = start_chromium(width, height)
    except BrowserUnavailable as exc:
        from conftest import browser_unavailable

        browser_unavailable(str(exc))
    try:
        yield driver
    finally:
        stop_chromium(driver)


def open_page(driver, html: Path) -> list[dict]:
    """Load ``html`` via file:// and return the per-graph state once every Plotly div has rendered."""
    driver.get(Path(html).resolve().as_uri())
    return wait_rendered(driver)


def severe_logs(driver) -> list[str]:
    """Browser console entries at level SEVERE (JS errors, failed loads)."""
    return [e["message"] for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def decode_png(data: bytes) -> np.ndarray:
    """Decode an 8-bit RGB/RGBA/grey PNG into a (height, width, channels) uint8 array."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and interlace == 0, "only 8-bit non-interlaced PNGs"
            channels = {0: 1, 2: 3, 4: 2, 6: 4}[color]
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), np.uint8)
    stride = width * channels
    rows = raw.reshape(height, stride + 1)
    out = np.zeros((height, stride), np.int32)
    prev = np.zeros(stride, np.int32)
    for y in range(height):
        f, line = rows[y, 0], rows[y, 1:].astype(np.int32)
        if f == 0:
            cur = line
        elif f == 1:  # Sub: running sum per channel
            cur = line.copy()
            for x in range(channels, stride, channels):
                cur[x : x + channels] = (cur[x : x + channels] + cur[x - channels : x]) & 0xFF
        elif f == 2:  # Up
            cur = (line + prev) & 0xFF
        elif f == 3:  # Average
            cur = line.copy()
            for x in range(stride):
                left = cur[x - channels] if x >= channels else 0
                cur[x] = (cur[x] + ((left + prev[x]) >> 1)) & 0xFF
        else:  # Paeth
            cur = line.copy()
            for x in range(stride):
                a = cur[x - channels] if x >= channels else 0
                b = prev[x]
                c = prev[x - channels] if x >= channels else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                cur[x] = (cur[x] + pred) & 0xFF
        out[y] = cur
        prev = cur
    return out.reshape(height, width, channels).astype(np.uint8)


def image_stats(png: bytes) -> dict:
    """Size, number of distinct RGB colours and the pixel standard deviation of a PNG screenshot."""
    img = decode_png(png)[..., :3]
    flat = img.reshape(-1, 3)
    colours = np.unique(flat[:: max(1, len(flat) // 200_000)], axis=0)
    return {"height": img.shape[0], "width": img.shape[1], "colours": len(colours), "std": float(img.std())}


def shot(driver, full_page: bool = False) -> bytes:
    return screenshot_png(driver, full_page)
