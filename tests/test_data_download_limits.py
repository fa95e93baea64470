"""Hostile download servers (real ``http.server`` on 127.0.0.1): a trickling body, an endless body, and the
installed ``liq-signals download`` command's exit code when files fail."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from liq_signals.data import download as dl

LIQ = Path(sys.executable).parent / "liq-signals"
DAY = date(2023, 11, 14)
BODY = b"PK-not-really-a-zip" * 100
SHA = hashlib.sha256(BODY).hexdigest()


class Hostile(BaseHTTPRequestHandler):
    """Serves a valid CHECKSUM for every .zip; the zip body depends on ``mode``: ok, trickle, endless, 500."""

    mode = "ok"
    stop = threading.Event()

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        name = self.path.rsplit("/", 1)[-1]
        if self.mode == "500":
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if name.endswith(".CHECKSUM"):
            text = f"{SHA}  {name.removesuffix('.CHECKSUM')}\n".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)
            return
        self.send_response(200)
        if self.mode == "ok":
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)
            return
        self.end_headers()  # no length: the body ends when the connection closes
        t_end = time.monotonic() + 20  # bounded: the server stops by itself
        try:
            while time.monotonic() < t_end and not self.stop.is_set():
                if self.mode == "trickle":
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.05)
                else:  # endless
                    self.wfile.write(b"\0" * 65536)
        except OSError:
            pass


@pytest.fixture
def server():
    handler = type("H", (Hostile,), {"mode": "ok", "stop": threading.Event()})
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    th = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    th.start()
    try:
        yield handler, f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        handler.stop.set()
        srv.shutdown()
        srv.server_close()
        th.join()


def archive() -> dl.ArchiveFile:
    return dl.plan_archives("BTCUSDT", dl.parse_kinds("metrics"), DAY, DAY)[0]


def test_a_normal_body_downloads(server, tmp_path):
    handler, url = server
    out = dl.fetch_archive(archive(), tmp_path, url, dl.RetryPolicy(attempts=1, timeout_s=5))
    assert out.status == dl.DOWNLOADED
    assert (tmp_path / archive().rel_path).read_bytes() == BODY


def test_a_trickling_server_cannot_exceed_the_timeout(server, tmp_path):
    handler, url = server
    handler.mode = "trickle"  # one byte every 50 ms: the socket timeout alone would never fire
    t0 = time.monotonic()
    out = dl.fetch_archive(archive(), tmp_path, url, dl.RetryPolicy(attempts=1, timeout_s=1.0))
    took = time.monotonic() - t0
    assert out.status == dl.FAILED
    assert "--timeout" in out.message
    assert took < 3.0  # the whole request bounded by ~timeout (+ one socket read)
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]  # no .part file, no zip left


def test_an_endless_body_is_refused_at_the_size_cap(server, tmp_path):
    handler, url = server
    handler.mode = "endless"
    policy = dl.RetryPolicy(attempts=3, base_delay_s=0, timeout_s=15, max_file_mb=2)
    t0 = time.monotonic()
    out = dl.fetch_archive(archive(), tmp_path, url, policy)
    assert out.status == dl.FAILED
    assert "--max-file-mb" in out.message and str(2 * 1024 * 1024) in out.message
    assert time.monotonic() - t0 < 10  # refused, not retried three times for 15 s each
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_a_stale_part_file_of_a_killed_run_is_discarded(server, tmp_path):
    handler, url = server
    target = tmp_path / archive().rel_path
    target.parent.mkdir(parents=True)
    stale = target.with_name(f".{target.name}.part-999999")
    stale.write_bytes(b"half")
    out = dl.fetch_archive(archive(), tmp_path, url, dl.RetryPolicy(attempts=1, timeout_s=5))
    assert out.status == dl.DOWNLOADED and not stale.exists()


@pytest.mark.parametrize("mode", ["500", "endless"])
def test_installed_command_exits_2_when_files_fail(server, tmp_path, mode):
    handler, url = server
    handler.mode = mode
    r = subprocess.run(
        [
            str(LIQ),
            "download",
            "BTCUSDT",
            "--kinds",
            "metrics",
            "--start",
            "2023-11-14",
            "--end",
            "2023-11-14",
            "--dest",
            str(tmp_path / "d"),
            "--base-url",
            url,
            "--attempts",
            "1",
            "--retry-delay",
            "0",
            "--timeout",
            "5",
            "--max-file-mb",
            "1",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.strip().splitlines()[-1] == "error: 1 file(s) failed (see FAILED lines above)"
    assert "Traceback" not in r.stderr


def test_installed_command_exits_0_when_all_verify(server, tmp_path):
    handler, url = server
    r = subprocess.run(
        [
            str(LIQ),
            "download",
            "BTCUSDT",
            "--kinds",
            "metrics",
            "--start",
            "2023-11-14",
            "--end",
            "2023-11-14",
            "--dest",
            str(tmp_path / "d"),
            "--base-url",
            url,
            "--attempts",
            "1",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
