"""Backtest config checks that need no catalog and run nothing: unknown fields and sweep keys, type errors,
Nautilus enum values, run limits, run ids. Each mistake is one ``ConfigError`` (exit 2 in the CLI) raised
before any run starts."""

from __future__ import annotations

import time

import pytest

from liq_signals.backtest.config import DEFAULT_MAX_RUNS, expand_runs, load_runs
from liq_signals.errors import ConfigError

BASE = """
catalog = "catalog"
instrument = "BTCUSDT-PERP.BINANCE"
bar_type = "BTCUSDT-PERP.BINANCE-15-MINUTE-LAST-EXTERNAL"
start = "2023-11-14T00:00:00Z"
end = "2023-12-12T23:59:59Z"
"""
AVOID = '[strategy]\nkind = "avoid"\ntrade_size = "0.5"\n'
MAGNET = '[strategy]\nkind = "magnet"\ntrade_size = "0.5"\n'


def _write(tmp_path, body: str, name: str = "c.toml"):
    p = tmp_path / name
    p.write_text(BASE + body)
    return p


def _error(tmp_path, body: str, **kw) -> str:
    with pytest.raises(ConfigError) as exc:
        load_runs(_write(tmp_path, body), **kw)
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


def test_a_valid_config_loads(tmp_path):
    specs = load_runs(_write(tmp_path, AVOID + "fast_ema_period = 12\nslow_ema_period = 48\n"))
    assert [s.id for s in specs] == ["c"]


@pytest.mark.parametrize(
    "body, field, known",
    [
        (AVOID + "fast_ema = 12\n", "fast_ema", "fast_ema_period"),
        (MAGNET + "max_hold_bar = 3\n", "max_hold_bar", "max_hold_bars"),
        ("[actor]\nproximity = 50\n", "proximity", "proximity_bps"),
        ("[actor.engine]\nbucket_widht = 50.0\n", "bucket_widht", "bucket_width"),
        ('[venue]\nstarting_balanse = "1 USDT"\n', "starting_balanse", "starting_balance"),
        ('[flush_check]\ntime = "2023-12-11T02:00:00Z"\nbar = 2\n', "bar", "bars"),
    ],
)
def test_unknown_fields_of_every_table_are_refused(tmp_path, body, field, known):
    msg = _error(tmp_path, body)
    assert repr(field) in msg and known in msg


def test_unknown_keys_in_a_run_override_are_refused(tmp_path):
    msg = _error(tmp_path, '[[runs]]\nid = "r"\nactr = { proximity_bps = 10 }\n')
    assert "run 'r'" in msg and "'actr'" in msg and "actor" in msg


def test_a_misspelt_sweep_key_is_refused_naming_it(tmp_path):
    msg = _error(tmp_path, MAGNET + '[[runs]]\nid = "m"\n[sweep]\n"strategy.max_hold_bar" = [1, 2, 3]\n')
    assert "sweep key 'strategy.max_hold_bar'" in msg and "max_hold_bars" in msg
    msg = _error(tmp_path, '[sweep]\n"actr.proximity_bps" = [25, 50]\n')
    assert "actr" in msg


def test_a_valid_sweep_expands(tmp_path):
    specs = load_runs(_write(tmp_path, MAGNET + '[[runs]]\nid = "m"\n[sweep]\n"strategy.max_hold_bars" = [1, 2, 3]\n'))
    assert [s.settings["strategy"]["max_hold_bars"] for s in specs] == [1, 2, 3]
    assert len({s.id for s in specs}) == 3


@pytest.mark.parametrize(
    "body, needle",
    [
        ("[actor]\nwarmup_bars = 96.5\n", "warmup_bars"),
        ("[venue]\nstarting_balance = 100000\n", "starting_balance"),
        ('[venue]\nstarting_balance = "100000"\n', "starting_balance"),
        ('[venue]\nleverage = "five"\n', "leverage"),
        ('[venue]\noms_type = "BOGUS"\n', "NETTING"),
        ('[venue]\nfunding = "yes"\n', "venue.funding"),
        (AVOID + 'fast_ema_period = "twelve"\n', "fast_ema_period"),
        ('[flush_check]\ntime = "2023-12-11T02:00:00Z"\nbars = 1.5\n', "flush_check.bars"),
        ("[actor]\nengine = 3\n", "actor.engine"),
        ('[actor.engine]\nbucket_width = "wide"\n', "actor.engine.bucket_width"),
        (AVOID + 'oms_type = "BOGUS"\n', "strategy.oms_type"),
        ('[strategy]\nkind = "avoidx"\ntrade_size = "1"\n', "strategy.kind"),
    ],
)
def test_type_errors_are_one_line_naming_the_field(tmp_path, body, needle):
    assert needle in _error(tmp_path, body)


def test_every_run_is_validated_before_any_starts(tmp_path):
    body = AVOID + '[[runs]]\nid = "good"\n\n[[runs]]\nid = "bad"\nactor = { warmup_bars = 96.5 }\n'
    msg = _error(tmp_path, body)
    assert "run 'bad'" in msg and "warmup_bars" in msg


def test_oms_type_bogus_is_refused_before_a_node_is_built(tmp_path, monkeypatch):
    import nautilus_trader.backtest.node as node

    def boom(*a, **k):  # pragma: no cover - must not be reached
        raise AssertionError("a node was built")

    monkeypatch.setattr(node, "BacktestNode", boom)
    from liq_signals.backtest.node import run_backtests

    with pytest.raises(ConfigError, match="oms_type"):
        run_backtests(_write(tmp_path, '[venue]\noms_type = "BOGUS"\n'), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_sweep_grids_over_the_limit_are_refused_at_once(tmp_path):
    grid = "\n".join(f'"actor.p{i}" = [{", ".join(str(v) for v in range(10))}]' for i in range(6))  # 10^6 runs
    t0 = time.perf_counter()
    msg = _error(tmp_path, "[sweep]\n" + grid + "\n")
    assert time.perf_counter() - t0 < 2.0
    assert "1,000,000 runs" in msg and f"max_runs {DEFAULT_MAX_RUNS:,}" in msg


def test_max_runs_from_the_config_and_the_argument(tmp_path):
    body = '[sweep]\n"actor.proximity_bps" = [10, 20, 30]\n'
    assert "max_runs 2" in _error(tmp_path, "max_runs = 2\n" + body)
    assert "max_runs 2" in _error(tmp_path, body, max_runs=2)
    assert len(load_runs(_write(tmp_path, "max_runs = 3\n" + body))) == 3
    assert "max_runs" in _error(tmp_path, "max_runs = 0\n")


def test_duplicate_id_check_is_linear(tmp_path):
    # 60,000 distinct ids + one duplicate: a quadratic check (ids.count per id) takes minutes here
    runs = [{"id": f"r{i}"} for i in range(60_000)] + [{"id": "r7"}]
    data = {"catalog": "c", "runs": runs, "max_runs": 100_000}
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match="duplicate run id.*r7"):
        expand_runs(tmp_path / "c.toml", data)
    assert time.perf_counter() - t0 < 10.0


@pytest.mark.parametrize("rid", ["../escape", "a/b", "/abs", "a\\\\b", "..", "", "   "])
def test_run_ids_must_be_plain_names(tmp_path, rid):
    msg = _error(tmp_path, f'[[runs]]\nid = "{rid}"\n')
    assert "run id" in msg


def test_cli_reports_config_errors_as_one_line_exit_2(tmp_path, capsys, monkeypatch):
    from liq_signals import cli

    cfg = _write(tmp_path, AVOID + "fast_ema = 12\n")
    monkeypatch.setattr("sys.argv", ["liq-signals", "backtest", str(cfg), "--out", str(tmp_path / "out")])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "fast_ema" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists()
    cfg = _write(tmp_path, '[sweep]\n"actor.proximity_bps" = [10, 20, 30]\n')
    monkeypatch.setattr(
        "sys.argv", ["liq-signals", "backtest", str(cfg), "--out", str(tmp_path / "out"), "--max-runs", "2"]
    )
    with pytest.raises(SystemExit) as exc:
        cli.main()
    assert exc.value.code == 2
    assert "max_runs 2" in capsys.readouterr().err


def test_repo_configs_are_the_shipped_demo_configs_and_say_which_one_the_demo_runs():
    from pathlib import Path

    from liq_signals.backtest.demo import DEFAULT_CONFIG, DEMO_CONFIGS

    repo = Path(__file__).resolve().parents[1] / "configs"
    shipped = sorted(p.name for p in DEMO_CONFIGS.iterdir() if p.suffix in (".toml", ".yaml"))
    # configs/ also holds the live config (name contains 'live'); every other file is a shipped demo config
    assert shipped == sorted(p.name for p in repo.iterdir() if p.suffix in (".toml", ".yaml") and "live" not in p.name)
    for name in shipped:
        assert (repo / name).read_text() == (DEMO_CONFIGS / name).read_text(), name
        text = (DEMO_CONFIGS / name).read_text().lower()
        claims_default = "this is the demo's config" in text or "the default demo config\n" in text
        assert not claims_default or name == DEFAULT_CONFIG.name, name
        assert len(load_runs(DEMO_CONFIGS / name)) >= 1  # each shipped config passes every check
