"""Benchmark of ``liq-signals serve`` over real HTTP on 127.0.0.1 (server in a subprocess, the shipped sample
ingested into a temporary DuckDB file): latency of /levels cold, warm (the engine stepped one 15-minute bar
forward) and repeated (answer cache), /heatmap over 7 and 30 days (first computation and cached), requests/s
with 20 concurrent clients × 50 requests of /levels and /heatmap, and the server's resident memory.

Run: uv run python benchmarks/bench_api.py
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BAR_NS = 15 * 60 * 10**9


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[float, int, str]:
    """(seconds, status, X-Engine header) of one GET, body read in full."""
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=600) as r:
            r.read()
            return time.perf_counter() - t0, r.status, r.headers.get("X-Engine", "")
    except urllib.error.HTTPError as e:
        e.read()
        return time.perf_counter() - t0, e.code, ""


def rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of ``pid`` in MB (/proc)."""
    vals = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        if k in ("VmRSS", "VmHWM"):
            vals[k] = int(v.split()[0]) / 1024
    return vals["VmRSS"], vals["VmHWM"]


def pct(xs) -> tuple[float, float, int]:
    a = np.asarray(xs) * 1e3
    return float(np.percentile(a, 50)), float(np.percentile(a, 99)), len(a)


def main() -> int:
    from liq_signals.data.ingest import ingest_paths
    from liq_signals.times import ns_to_iso, to_ns

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "sample.duckdb"
        ingest_paths([ROOT / "liq_signals" / "sample_data"], db)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen(
            [sys.executable, "-m", "liq_signals.cli", "serve", "--db", str(db), "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(300):
                try:
                    if get(base + "/health")[1] == 200:
                        break
                except OSError:
                    time.sleep(0.1)
            rss0 = rss_mb(proc.pid)[0]

            def levels(t_ns: int, model: str = "a") -> str:
                return (
                    base
                    + "/levels?"
                    + urllib.parse.urlencode({"symbol": "BTCUSDT", "at": ns_to_iso(t_ns), "model": model})
                )

            # cold: each time earlier than the last one, so the engine is rebuilt from the warm-up
            t_end = to_ns("2023-12-12 12:00")
            cold = [get(levels(t_end - k * 6 * 3600 * 10**9)) for k in range(12)]
            assert all(c[2] == "cold" for c in cold), [c[2] for c in cold]
            # warm: one 15-minute bar forward each time (model b: no snapshot of it is cached yet)
            t0 = to_ns("2023-12-08 00:00")  # 200 bars later the 30d warm-up still reaches the data start
            warm = [get(levels(t0 + k * BAR_NS, "b")) for k in range(200)]
            assert all(w[2] == "warm" for w in warm[1:]), {w[2] for w in warm}
            cached = [get(levels(t0 + (k % 200) * BAR_NS, "b")) for k in range(400)]
            assert all(c[2] == "cache" for c in cached)
            rows += [
                ("/levels cold (fresh 30d warm-up)",) + pct([c[0] for c in cold]),
                ("/levels warm (one bar forward)",) + pct([w[0] for w in warm[1:]]),
                ("/levels repeated (answer cache)",) + pct([c[0] for c in cached]),
            ]

            def heatmap(start: str, end: str, every: str, model: str) -> str:
                return (
                    base
                    + "/heatmap?"
                    + urllib.parse.urlencode(
                        {"symbol": "BTCUSDT", "start": start, "end": end, "every": every, "model": model}
                    )
                )

            for label, start, every in (
                ("7 days, 1h", "2023-12-05 12:00", "1h"),
                ("30 days, 2h", "2023-11-12 12:00", "2h"),
            ):
                first = [get(heatmap(start, "2023-12-12 12:00", every, m)) for m in ("a", "b", "ensemble")]
                again = [get(heatmap(start, "2023-12-12 12:00", every, "a")) for _ in range(30)]
                assert all(f[1] == 200 for f in first + again)
                rows += [
                    (f"/heatmap {label}: first (models a, b, ensemble)",) + pct([f[0] for f in first]),
                    (f"/heatmap {label}: repeated",) + pct([a[0] for a in again]),
                ]

            # load: 20 clients x 50 requests, /levels at 12 times and two /heatmap queries, in a fresh order
            urls = [levels(to_ns("2023-12-08 00:00") + k * 6 * 3600 * 10**9) for k in range(12)]
            urls += [
                heatmap("2023-12-05 12:00", "2023-12-12 12:00", "1h", "a"),
                heatmap("2023-12-05 12:00", "2023-12-12 12:00", "1h", "b"),
            ]
            lat, errors = [], []
            lock = threading.Lock()

            def client(i: int) -> None:
                for j in range(50):
                    dt, status, _ = get(urls[(i * 5 + j) % len(urls)])
                    with lock:
                        lat.append(dt)
                        if status != 200:
                            errors.append(status)

            t_load = time.perf_counter()
            threads = [threading.Thread(target=client, args=(i,)) for i in range(20)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            wall = time.perf_counter() - t_load
            health = get(base + "/health")
            rows.append(("load 20x50 (/levels + /heatmap), incl. first computations",) + pct(lat))
            rss, peak = rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(10)

    print(f"{'request':58s} {'p50 ms':>9s} {'p99 ms':>9s} {'n':>5s}")
    for name, p50, p99, n in rows:
        print(f"{name:58s} {p50:9.1f} {p99:9.1f} {n:5d}")
    print(
        f"load: {len(lat)} requests in {wall:.1f} s = {len(lat) / wall:.0f} requests/s, {len(errors)} errors, "
        f"/health after: {health[1]} in {health[0] * 1e3:.1f} ms"
    )
    print(f"server RSS: {rss0:.0f} MB after start, {rss:.0f} MB at the end (peak {peak:.0f} MB)")
    warm_p99 = rows[1][2]
    print(f"target /levels warm p99 < 50 ms: {'met' if warm_p99 < 50 else 'NOT met'} ({warm_p99:.1f} ms)")
    print(
        json.dumps({"rows": rows, "load_rps": len(lat) / wall, "errors": len(errors), "rss_mb": rss, "peak_mb": peak}),
        file=sys.stderr,
    )
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
