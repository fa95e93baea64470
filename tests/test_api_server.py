"""``liq-signals serve`` on a real uvicorn process: every endpoint over real HTTP, checked against the CLI's own
output for the same query (same numbers), and bad input answered with a 4xx naming the parameter."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.parse

import numpy as np
import pandas as pd
import pytest
from api_server import get, running_server


@pytest.fixture(scope="module")
def server(sample_db):
    with running_server(sample_db) as base:
        yield base


def cli(*args) -> str:
    r = subprocess.run([sys.executable, "-m", "liq_signals.cli", *args], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout


def q(base: str, path: str, **params) -> tuple[int, dict, dict]:
    return get(f"{base}{path}?{urllib.parse.urlencode(params)}")


def test_health_and_symbols(server):
    status, body, _ = get(server + "/health")
    assert status == 200 and body["status"] == "ok"
    status, body, _ = get(server + "/symbols")
    assert status == 200
    syms = {s["symbol"]: s for s in body["symbols"]}
    assert set(syms) == {"BTCUSDT", "HYPEUSDT"}  # the symbols with klines in the sample
    btc = syms["BTCUSDT"]
    # 15m klines open 2023-11-12 10:45 .. 2023-12-13 12:30 (2984 candles), stamped at their close
    seg = btc["segments"][0]
    assert (seg["interval"], seg["bars"]) == ("15m", 2984)
    assert seg["first"] == "2023-11-12T11:00:00+00:00" and seg["last"] == "2023-12-13T12:45:00+00:00"
    # and a separate stretch of 1m klines on 2025-01-27, 15:38 .. 17:52 open times
    assert btc["segments"][1]["interval"] == "1m" and btc["segments"][1]["first"] == "2025-01-27T15:39:00+00:00"
    assert {"klines", "open_interest", "funding"} <= set(btc["kinds"])
    assert "liquidations" in syms["HYPEUSDT"]["kinds"]


@pytest.mark.parametrize(
    "symbol,at,model",
    [
        ("BTCUSDT", "2023-12-11 02:00", "a"),
        ("BTCUSDT", "2023-12-11 02:07", "b"),
        ("HYPEUSDT", "2025-10-25 18:00", "ensemble"),
    ],
)
def test_levels_equal_the_cli(server, sample_db, symbol, at, model):
    want = json.loads(
        cli(
            "levels",
            "--db",
            str(sample_db),
            "--symbol",
            symbol,
            "--at",
            at,
            "--model",
            model,
            "--top",
            "7",
            "--json",
            "--quiet",
        )
    )
    status, got, _ = q(server, "/levels", symbol=symbol, at=at, model=model, top_k=7)
    assert status == 200
    for k, v in want.items():
        assert got[k] == v, k
    assert len(got["clusters"]) == 7
    a = got["assumptions"]
    assert a["model"] == model and a["warmup"] == "30d" and a["brackets"]["date"] == want["brackets_date"]
    assert [t["leverage"] for t in a["tiers"]] == [5, 10, 25, 50, 100]
    assert abs(sum(t["weight"] for t in a["tiers"]) - 1) < 1e-9
    # the map: per-tier rows add up to the totals; cumulative curves are monotone away from the price
    m = got["map"]
    long = np.array([m["long"][k] for k in m["long"]])
    assert np.isclose(long.sum(), got["long_total_usd"], rtol=1e-9)
    edges, cl, cs = np.array(m["edges"]), np.array(m["cumulative_long"]), np.array(m["cumulative_short"])
    below = edges[:-1] < got["price"]
    assert np.all(np.diff(cl[below]) <= 1e-6) and np.all(cl[~below] == 0)
    above = edges[1:] > got["price"]
    assert np.all(np.diff(cs[above]) >= -1e-6) and np.all(cs[~above] == 0)


def test_second_later_query_is_served_warm_and_equals_the_cli(server, sample_db):
    q(server, "/levels", symbol="BTCUSDT", at="2023-12-05 00:00", model="c")
    status, got, headers = q(server, "/levels", symbol="BTCUSDT", at="2023-12-06 13:00", model="c")
    assert status == 200 and headers.get("x-engine") == "warm"
    want = json.loads(
        cli(
            "levels",
            "--db",
            str(sample_db),
            "--symbol",
            "BTCUSDT",
            "--at",
            "2023-12-06 13:00",
            "--model",
            "c",
            "--json",
            "--quiet",
        )
    )
    assert {k: got[k] for k in want} == want
    _, again, headers = q(server, "/levels", symbol="BTCUSDT", at="2023-12-06 13:00", model="c")
    assert headers.get("x-engine") == "cache" and again == got


def test_heatmap_cells_equal_the_cli_table(server, sample_db, tmp_path):
    out = tmp_path / "heat.parquet"
    cli(
        "heatmap",
        "--db",
        str(sample_db),
        "--symbol",
        "BTCUSDT",
        "--start",
        "2023-12-10",
        "--end",
        "2023-12-11 06:00",
        "--every",
        "2h",
        "--model",
        "b",
        "--out",
        str(out),
        "--quiet",
    )
    table = pd.read_parquet(out)
    for tier in (5, 100):
        status, hm, _ = q(
            server,
            "/heatmap",
            symbol="BTCUSDT",
            start="2023-12-10",
            end="2023-12-11 06:00",
            every="2h",
            model="b",
            tiers=str(tier),
        )
        assert status == 200 and hm["tiers"] == [tier]
        times = pd.to_datetime(hm["times"])
        edges = np.array(hm["edges"])
        assert len(times) == 16  # 2023-12-10 00:00 .. 2023-12-11 06:00 every 2 h
        for side in ("long", "short"):
            cells = hm[side]
            got = pd.DataFrame(
                {
                    "time": times[cells["t"]],
                    "price_low": edges[cells["b"]],
                    "price_high": edges[np.array(cells["b"]) + 1],
                    "notional_usd": cells["v"],
                }
            )
            want = table[(table["side"] == side) & (table["tier"] == tier)][list(got.columns)]
            got = got.sort_values(["time", "price_low"], ignore_index=True)
            want = want.sort_values(["time", "price_low"], ignore_index=True)
            assert len(got) > 0
            pd.testing.assert_frame_equal(got, want, check_exact=True, check_dtype=False)
        assert hm["assumptions"]["model"] == "b" and hm["assumptions"]["every"] == "2h"
        assert len(hm["candles"]["close"]) == len(times)


def test_compare_models_equals_the_cli_table(server, sample_db, tmp_path):
    printed = cli(
        "compare-models",
        "--db",
        str(sample_db),
        "--symbol",
        "BTCUSDT",
        "--start",
        "2023-12-10",
        "--end",
        "2023-12-11",
        "--every",
        "3h",
        "--out",
        str(tmp_path / "c.html"),
        "--quiet",
    )
    assert printed == ""  # --quiet prints nothing; run again without it to read the agreement table
    printed = cli(
        "compare-models",
        "--db",
        str(sample_db),
        "--symbol",
        "BTCUSDT",
        "--start",
        "2023-12-10",
        "--end",
        "2023-12-11",
        "--every",
        "3h",
        "--out",
        str(tmp_path / "c.html"),
    )
    lines = printed.splitlines()
    head = next(i for i, ln in enumerate(lines) if ln.split()[:2] == ["a", "b"])
    rows = [ln.split() for ln in lines[head + 1 :] if ln.strip()]
    status, got, _ = q(server, "/compare-models", symbol="BTCUSDT", start="2023-12-10", end="2023-12-11", every="3h")
    assert status == 200 and len(got["agreement"]) == len(rows) == 6
    for r, g in zip(rows, got["agreement"]):
        assert (r[0], r[1], int(r[2])) == (g["a"], g["b"], g["n_times"])
        for txt, key in zip(r[3:6], ("spearman", "cosine", "top_k_overlap")):
            assert (txt == "NaN" and g[key] is None) or abs(float(txt) - g[key]) <= 1e-6, key
    assert set(got["models"]) == {"a", "b", "c", "ensemble"} and len(got["times"]) == 9


def test_liquidations_are_the_recorded_events(server, sample_db):
    import duckdb

    status, got, _ = q(server, "/liquidations", symbol="HYPEUSDT", start="2025-10-25", end="2025-10-26")
    assert status == 200 and got["recorded"] and got["coverage"]
    con = duckdb.connect(str(sample_db), read_only=True)
    n, sells, usd = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE side = 'SELL'), sum(usd_value) "
        "FROM liquidations WHERE symbol = 'HYPEUSDT'"
    ).fetchone()
    con.close()
    ev = got["events"]
    assert len(ev["time"]) == n > 0
    assert ev["liquidated"].count("long") == sells  # SELL forceOrder = a long was liquidated
    assert abs(sum(ev["usd_value"]) - usd) < 1e-6 * usd
    assert ev["time"] == sorted(ev["time"])
    status, none, _ = q(server, "/liquidations", symbol="BTCUSDT", start="2023-12-01", end="2023-12-12")
    assert status == 200 and none["events"]["time"] == [] and not none["recorded"]


BAD = [
    ("/levels", dict(symbol="NOPE", at="2023-12-11"), 404, "symbol", ["BTCUSDT", "HYPEUSDT"]),
    ("/levels", dict(symbol="BTCUSDT", at="2024-06-01"), 422, "at", "segments"),  # in the pause between stretches
    ("/levels", dict(symbol="BTCUSDT", at="2026-01-01"), 422, "at", "segments"),  # past the data
    ("/levels", dict(symbol="BTCUSDT", at="2023-11-01"), 422, "at", "segments"),  # before the data
    ("/levels", dict(symbol="BTCUSDT", at="yesterday-ish"), 422, "at", None),
    ("/levels", dict(symbol="BTCUSDT", at="2023-12-11", top_k=101), 422, "top_k", {"min": 1, "max": 100}),
    ("/levels", dict(symbol="BTCUSDT", at="2023-12-11", top_k="ten"), 422, "top_k", None),
    ("/levels", dict(symbol="BTCUSDT", at="2023-12-11", model="z"), 422, "model", ["a", "b", "c", "ensemble"]),
    ("/levels", dict(symbol="BTCUSDT", at="2023-12-11", warmup="30"), 422, "warmup", None),
    ("/levels", dict(symbol="BTCUSDT"), 422, "at", None),
    ("/heatmap", dict(symbol="BTCUSDT", start="2023-12-05", end="2023-12-06", every="60"), 422, "every", None),
    ("/heatmap", dict(symbol="BTCUSDT", start="2023-12-05", end="2023-12-06", every="1s"), 422, "every", None),
    ("/heatmap", dict(symbol="BTCUSDT", start="2023-12-05", end="2023-12-06", every="-1h"), 422, "every", None),
    ("/heatmap", dict(symbol="BTCUSDT", start="2023-11-13", end="2023-12-13", every="1m"), 422, "every", None),
    ("/heatmap", dict(symbol="BTCUSDT", start="2023-12-06", end="2023-12-05"), 422, "end", None),
    ("/heatmap", dict(symbol="BTCUSDT", start="2023-12-05", end="2025-01-27 16:00"), 422, "end", None),
    ("/heatmap", dict(symbol="BTCUSDT", start="2023-12-05", end="2023-12-06", tiers="7"), 422, "tiers", None),
    ("/compare-models", dict(symbol="BTCUSDT", start="2023-12-05", end="2024-02-01"), 422, "end", "segments"),
    ("/liquidations", dict(symbol="HYPEUSDT", start="2025-10-26", end="2025-10-25"), 422, "end", None),
]


@pytest.mark.parametrize("path,params,code,param,valid", BAD)
def test_bad_input_is_a_4xx_naming_the_parameter(server, path, params, code, param, valid):
    status, body, _ = q(server, path, **params)
    assert status == code, body
    err = body["error"]
    assert err["param"] == param and err["message"]
    if valid == "segments":  # the covered ranges
        assert [s["interval"] for s in err["valid"]] == ["15m", "1m"]
        assert err["valid"][0]["last"] == "2023-12-13T12:45:00+00:00"
    elif valid is not None:
        assert err["valid"] == valid
    assert "Traceback" not in json.dumps(body)


def test_last_bar_answers_until_the_next_would_close_then_refused(server):
    # the last 15m bar closes 2023-12-13 12:45; up to 13:00 that is the current state, later is past the data
    status, body, _ = q(server, "/levels", symbol="BTCUSDT", at="2023-12-13 12:59")
    assert status == 200 and body["time"] == "2023-12-13T12:45:00+00:00"
    status, body, _ = q(server, "/levels", symbol="BTCUSDT", at="2023-12-13 13:01")
    assert status == 422 and body["error"]["param"] == "at"


def test_page_and_plotly_are_served_locally(server):
    import urllib.request

    with urllib.request.urlopen(server + "/") as r:
        html = r.read().decode()
    assert "/static/plotly.min.js" in html and "cdn" not in html.lower()
    with urllib.request.urlopen(server + "/static/plotly.min.js") as r:
        js = r.read()
    from liq_signals.api.app import plotly_js_path

    assert js == plotly_js_path().read_bytes()
    status, schema, _ = get(server + "/openapi.json")
    assert status == 200
    assert {"/levels", "/heatmap", "/compare-models", "/liquidations", "/symbols", "/health"} <= set(schema["paths"])


def test_warmup_all_steps_one_engine_and_equals_the_cli_command_it_names(server, sample_db):
    import shlex

    # at 2023-12-12 12:00 a 30-day warm-up starts after the first record (funding 2023-11-12 00:00): 'all' differs
    _, w30, _ = q(server, "/levels", symbol="BTCUSDT", at="2023-12-12 12:00")
    q(server, "/levels", symbol="BTCUSDT", at="2023-12-12 06:00", warmup="all")
    status, got, headers = q(server, "/levels", symbol="BTCUSDT", at="2023-12-12 12:00", warmup="all")
    assert status == 200 and headers.get("x-engine") == "warm" and got["clusters"] != w30["clusters"]
    cmd = shlex.split(got["assumptions"]["cli"])
    assert cmd[:2] == ["liq-signals", "levels"] and cmd[cmd.index("--warmup") + 1] == "31d"
    want = json.loads(cli(*cmd[1:], "--db", str(sample_db), "--quiet"))
    assert {k: got[k] for k in want} == want


def test_serve_refuses_a_bad_database_or_a_busy_port_in_one_line(sample_db, tmp_path):
    import socket

    bad = tmp_path / "not.duckdb"
    bad.write_text("not a database")
    for args in (["--db", str(tmp_path / "missing.duckdb")], ["--db", str(bad)]):
        r = subprocess.run(
            [sys.executable, "-m", "liq_signals.cli", "serve", *args, "--port", "1"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode == 2 and r.stderr.startswith("error: ") and len(r.stderr.strip().splitlines()) == 1
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = subprocess.run(
            [sys.executable, "-m", "liq_signals.cli", "serve", "--db", str(sample_db), "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert (
        r.returncode == 2
        and r.stderr.strip() == f"error: --port {port}: cannot listen on 127.0.0.1:{port} (Address already in use)"
    )
