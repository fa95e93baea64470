"""A bounded load test on a real server: 20 concurrent clients × 50 requests of /levels and /heatmap, zero errors,
every answer equal to the first answer to the same query, and /health still answering."""

from __future__ import annotations

import json
import threading
import urllib.parse

import pytest
from api_server import get, running_server

pytestmark = pytest.mark.slow

LEVEL_TIMES = [f"2023-12-{d:02d} {h:02d}:00" for d in (8, 9, 10) for h in (0, 6, 12, 18)]
HEATMAPS = [
    dict(start="2023-12-05", end="2023-12-12", every="1h", model="a"),
    dict(start="2023-12-05", end="2023-12-12", every="1h", model="a", tiers="50,100"),
]


def test_twenty_clients_fifty_requests_each(sample_db):
    with running_server(sample_db) as base:
        urls = [
            f"{base}/levels?" + urllib.parse.urlencode(dict(symbol="BTCUSDT", at=t, model="a")) for t in LEVEL_TIMES
        ]
        urls += [f"{base}/heatmap?" + urllib.parse.urlencode(dict(symbol="BTCUSDT", **h)) for h in HEATMAPS]
        answers: dict[str, str] = {}
        errors, count = [], [0]
        lock = threading.Lock()

        def client(i):
            for j in range(50):
                url = urls[(i * 7 + j) % len(urls)]
                try:
                    status, body, _ = get(url, timeout=300)
                except Exception as exc:  # noqa: BLE001 - collected for the assertion
                    errors.append(f"{url}: {exc!r}")
                    continue
                text = json.dumps(body, sort_keys=True)
                with lock:
                    count[0] += 1
                    if status != 200:
                        errors.append(f"{url}: {status} {text[:200]}")
                    elif answers.setdefault(url, text) != text:
                        errors.append(f"{url}: a different answer to the same query")

        health, stop = [], threading.Event()

        def probe():  # /health keeps answering while the clients run
            while not stop.is_set():
                try:
                    health.append(get(base + "/health", timeout=30)[0])
                except Exception as exc:  # noqa: BLE001 - collected for the assertion
                    health.append(repr(exc))
                stop.wait(0.5)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(20)]
        prober = threading.Thread(target=probe)
        prober.start()
        for th in threads:
            th.start()
        for th in threads:
            th.join(600)
        stop.set()
        prober.join(60)
        assert health and all(h == 200 for h in health), health
        assert not any(th.is_alive() for th in threads)
        assert errors == [] and count[0] == 1000
        assert len(answers) == len(urls)
        status, body, _ = get(base + "/health", timeout=10)
        assert status == 200 and body["status"] == "ok"
