"""A real ``liq-signals serve`` process on a free 127.0.0.1 port for the API tests (stopped by the caller)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(db: Path, timeout_s: float = 60.0):
    """Start ``python -m liq_signals.cli serve --db db`` and yield its base URL once /health answers; the
    process is terminated (then killed) on exit, whatever happened."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "liq_signals.cli", "serve", "--db", str(db), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        t0 = time.monotonic()
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {proc.stdout.read().decode()[-2000:]}")
            try:
                if get(base + "/health")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() - t0 > timeout_s:
                raise RuntimeError("server did not answer /health in time")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def get(url: str, timeout: float = 120.0) -> tuple[int, dict, dict]:
    """(status, JSON body, headers) of a GET; 4xx/5xx bodies are returned, not raised."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, json.loads(r.read()), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read()), dict(e.headers)
