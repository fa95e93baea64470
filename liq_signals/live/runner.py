"""Build and run the live ``TradingNode`` of ``liq-signals live`` and write its run directory.

The node: Nautilus's own Binance data client (USD-M futures; bars and the instrument), the liq_signals live
client (:mod:`liq_signals.live.client`: open interest, funding, liquidations), the warm-started signal actor
(:mod:`liq_signals.live.warm`), the config's example strategy, and execution on Nautilus's sandbox (paper)
venue. With a replay database the loopback replay server (:mod:`liq_signals.live.replay_server`) runs in a
thread and both data clients point at it; the node stops when the replay is exhausted (every bar reached the
actor), after ``duration``, or on Ctrl-C. Output: ``proximity_events.csv`` (the backtest's columns),
``summary.json``, ``run_config.json``, ``node.log``.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from liq_signals.errors import ConfigError
from liq_signals.live.settings import LiveSettings

LIVE_CLIENT_ID = "LIQ_SIGNALS"
ACTOR_PATH = "liq_signals.live.warm:WarmStartSignalActor"
ACTOR_CONFIG_PATH = "liq_signals.live.warm:WarmStartSignalActorConfig"
REAL_HTTP, REAL_WS = "https://fapi.binance.com", "wss://fstream.binance.com"


@dataclass
class LiveResult:
    run_dir: Path
    summary: dict
    events: object  # pandas frame of the published events
    actor: object


def _replay_server(settings: LiveSettings, db: Path):
    from liq_signals.live.replay_data import load_replay_data
    from liq_signals.live.replay_server import ReplayServer, ReplayServerThread
    from liq_signals.times import to_ns

    sym = settings.instrument.split("-")[0]
    r = settings.replay
    data = load_replay_data(db, sym)
    start_ms = to_ns(r["start"], "replay.start") // 1_000_000 if r.get("start") else None
    end_ms = to_ns(r["end"], "replay.end") // 1_000_000 if r.get("end") else None
    streams = (f"{sym.lower()}@kline_{data.interval}",)
    if settings.client.get("mark_price", True):
        streams += (f"{sym.lower()}@markPrice",)
    server = ReplayServer(data, start_ms=start_ms, end_ms=end_ms, speed=float(r.get("speed", 0)), wait_streams=streams)
    return ReplayServerThread(server)


def node_config(settings: LiveSettings, base_http: str, base_ws: str, out_dir: Path, warm: dict, replay: bool = False):
    """The ``TradingNodeConfig`` (see module doc). Nautilus's Binance instrument provider reads the account's
    fee tier (a signed request): against real Binance the keys come from ``BINANCE_API_KEY`` /
    ``BINANCE_API_SECRET`` (read-only keys suffice); the replay server accepts any."""
    from nautilus_trader.adapters.binance import BinanceAccountType, BinanceDataClientConfig
    from nautilus_trader.adapters.sandbox.config import SandboxExecutionClientConfig
    from nautilus_trader.common.config import ImportableActorConfig
    from nautilus_trader.config import InstrumentProviderConfig, LoggingConfig, TradingNodeConfig

    from liq_signals.backtest.config import RunSpec
    from liq_signals.backtest.node import strategy_config
    from liq_signals.live.config import LiqLiveDataClientConfig

    actor = dict(settings.actor)
    actor.update(
        instrument_id=settings.instrument,
        bar_type=settings.bar_type,
        open_interest_client_id=LIVE_CLIENT_ID,
        heatmap_every=0,
        **warm,
    )
    strategy = (
        strategy_config(
            RunSpec(
                "live",
                {"strategy": settings.strategy, "instrument": settings.instrument, "bar_type": settings.bar_type},
                settings.source,
            )
        )
        if settings.strategy
        else None
    )
    venue = settings.venue
    return TradingNodeConfig(
        trader_id="LIQSIGNALS-001",
        logging=LoggingConfig(
            log_level="ERROR", log_level_file="INFO", log_directory=str(out_dir), log_file_name="node", use_pyo3=False
        ),
        data_clients={
            "BINANCE": BinanceDataClientConfig(
                api_key="replay" if replay else None,
                api_secret="replay" if replay else None,
                account_type=BinanceAccountType.USDT_FUTURES,
                base_url_http=base_http,
                base_url_ws=base_ws,
                update_instruments_interval_mins=None,
                instrument_provider=InstrumentProviderConfig(load_all=True),
            ),
            LIVE_CLIENT_ID: LiqLiveDataClientConfig(
                instrument_ids=(settings.instrument,), base_url_http=base_http, base_url_ws=base_ws, **settings.client
            ),
        },
        exec_clients={
            "BINANCE": SandboxExecutionClientConfig(
                venue="BINANCE",
                starting_balances=[str(venue.get("starting_balance", "100000 USDT"))],
                oms_type="NETTING",
                account_type="MARGIN",
                default_leverage=Decimal(str(venue.get("leverage", 1))),
            )
        },
        actors=[ImportableActorConfig(actor_path=ACTOR_PATH, config_path=ACTOR_CONFIG_PATH, config=actor)],
        strategies=[strategy] if strategy is not None else [],
        timeout_connection=20.0,
        timeout_reconciliation=1.0,
        timeout_portfolio=1.0,
        timeout_disconnection=5.0,
        timeout_post_stop=0.5,
    )


def run_live(
    settings: LiveSettings,
    out_dir: Path,
    replay_db: Path | None = None,
    duration: str | None = None,
    timeout_s: float | None = None,
    note=print,
    on_server=None,
) -> LiveResult:
    """Run the node (module doc) and write ``out_dir``. ``timeout_s``: wall-clock safety stop (tests);
    ``on_server``: called with the :class:`ReplayServer` before it starts (tests inject faults)."""
    from liq_signals.times import to_duration_ns

    duration = duration or settings.duration
    dur_s = to_duration_ns(duration, "--duration") / 1e9 if duration else None
    replay_db = replay_db or settings.path(settings.replay.get("db"))
    server = None
    if replay_db is not None:
        if not Path(replay_db).is_file():
            if not settings.replay.get("ingest_sample"):
                raise ConfigError(f"replay database {replay_db} not found")
            from liq_signals.backtest.demo import SAMPLE_DIR
            from liq_signals.data.ingest import ingest_paths

            Path(replay_db).parent.mkdir(parents=True, exist_ok=True)
            ingest_paths([SAMPLE_DIR], replay_db)
            note(f"ingested the shipped sample into {replay_db}")
        server = _replay_server(settings, Path(replay_db))
        if on_server is not None:
            on_server(server.server)
    warm = _warm_settings(settings, replay_db, server)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise ConfigError(f"--out {out_dir} exists and is not empty")
    tmp = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        result = _run(settings, tmp, server, warm, dur_s, timeout_s, note)
        if out_dir.exists():
            out_dir.rmdir()
        tmp.rename(out_dir)
        result.run_dir = out_dir
        return result
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _warm_settings(settings: LiveSettings, replay_db, server) -> dict:
    from liq_signals.times import ns_to_iso

    w = settings.warm_start
    src = w.get("source", "db")
    out = {"warm_start_hours": float(w.get("hours", 72.0))}
    if server is not None:
        out["warm_start_until"] = ns_to_iso(server.server.start_ms * 1_000_000)
    if src == "db":
        db = settings.path(w.get("db")) or replay_db
        if db is None:
            raise ConfigError(f"{settings.source}: warm_start.source = 'db' needs warm_start.db (or --replay)")
        if not Path(db).is_file():
            raise ConfigError(f"{settings.source}: warm_start.db {db} not found")
        out["warm_start_db"] = str(db)
    elif src == "rest":
        out["warm_start_rest"] = "<replay>" if server is not None else settings.binance.get("base_url_http", REAL_HTTP)
    return out


def _run(settings, run_dir: Path, server, warm: dict, dur_s, timeout_s, note) -> LiveResult:
    from nautilus_trader.adapters.binance import BinanceLiveDataClientFactory
    from nautilus_trader.adapters.sandbox.factory import SandboxLiveExecClientFactory
    from nautilus_trader.live.node import TradingNode

    from liq_signals.live.factory import LiqLiveDataClientFactory

    t0 = time.monotonic()
    base_http = settings.binance.get("base_url_http", REAL_HTTP)
    base_ws = settings.binance.get("base_url_ws", REAL_WS)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    node = None
    try:
        if server is not None:
            server.start()
            base_http, base_ws = server.base_http, server.base_ws
            if warm.get("warm_start_rest") == "<replay>":
                warm["warm_start_rest"] = base_http
        config = node_config(settings, base_http, base_ws, run_dir, warm, replay=server is not None)
        node = TradingNode(config=config, loop=loop)
        node.add_data_client_factory("BINANCE", BinanceLiveDataClientFactory)
        node.add_data_client_factory(LIVE_CLIENT_ID, LiqLiveDataClientFactory)
        node.add_exec_client_factory("BINANCE", SandboxLiveExecClientFactory)
        node.build()
        _feed_bars_to_sandbox(node, settings.bar_type)
        actor = node.trader.actors()[0]
        client = (
            node.kernel.data_engine._clients.get(_client_id(LIVE_CLIENT_ID))
            if hasattr(node.kernel.data_engine, "_clients")
            else None
        )
        stop_reason = {}
        loop.create_task(_watch(node, actor, server, dur_s, timeout_s, stop_reason))
        node.run()
        summary = _summary(node, actor, client, server, stop_reason, warm, time.monotonic() - t0)
        events = actor.events_frame()
        events.to_csv(run_dir / "proximity_events.csv", index=False)
        (run_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
        (run_dir / "run_config.json").write_text(
            json.dumps(
                {
                    "config": str(settings.source),
                    "instrument": settings.instrument,
                    "bar_type": settings.bar_type,
                    "actor": settings.actor,
                    "strategy": settings.strategy,
                    "client": settings.client,
                    "replay": settings.replay,
                    "warm_start": warm,
                    "base_url_http": base_http,
                    "base_url_ws": base_ws,
                },
                indent=2,
                default=str,
            )
        )
        if summary.get("error"):
            raise ConfigError(f"live node stopped on an error: {summary['error']}")
        return LiveResult(run_dir, summary, events, actor)
    finally:
        if node is not None:
            node.dispose()
        if server is not None:
            server.stop()
        if not loop.is_closed():
            loop.close()
        asyncio.set_event_loop(None)


def _feed_bars_to_sandbox(node, bar_type: str) -> None:
    """Nautilus's sandbox execution client listens on ``data.*.BINANCE.*``, which bar topics
    (``data.bars.<bar type>``) do not match: without this its matching engine never sees a price and rejects
    every order ('no market'). Subscribe it to the bar topic explicitly."""
    from nautilus_trader.adapters.sandbox.execution import SandboxExecutionClient

    clients = [
        c for c in getattr(node.kernel.exec_engine, "_clients", {}).values() if isinstance(c, SandboxExecutionClient)
    ]
    for c in clients:
        node.kernel.msgbus.subscribe(topic=f"data.bars.{bar_type}", handler=c.on_data)


def _client_id(name):
    from nautilus_trader.model.identifiers import ClientId

    return ClientId(name)


async def _watch(node, actor, server, dur_s, timeout_s, stop_reason: dict) -> None:
    """Stop the node when the replay is exhausted and every bar reached the actor, after ``dur_s`` seconds,
    after ``timeout_s`` (safety), or when the actor failed."""
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    while True:
        await asyncio.sleep(0.05)
        el = loop.time() - t0
        if (
            server is not None
            and server.server.done
            and actor.bars_seen + actor.stale_bars >= server.server.sent["kline"]
        ):
            stop_reason["reason"] = "replay exhausted"
            break
        if dur_s is not None and el >= dur_s:
            stop_reason["reason"] = "duration"
            break
        if timeout_s is not None and el >= timeout_s:
            stop_reason["reason"] = "timeout"
            break
        if el > 5 and not actor.is_running and not node.kernel.trader.is_running:
            stop_reason["reason"] = "actor stopped"
            break
        if actor.is_faulted if hasattr(actor, "is_faulted") else False:
            stop_reason["reason"] = "actor faulted"
            break
    await asyncio.sleep(0.1)
    await node.stop_async()


def _summary(node, actor, client, server, stop_reason, warm, wall_s) -> dict:
    cache = node.kernel.cache
    out = {
        "stop_reason": stop_reason.get("reason"),
        "bars": actor.bars_seen,
        "warm_bars": actor.warm_bars,
        "stale_bars": actor.stale_bars,
        "history_repeats": actor.history_repeats,
        "repeated_deliveries": actor.repeated_deliveries,
        "open_interest_seen": actor.oi_seen,
        "funding_seen": actor.funding_seen,
        "signals_published": actor.signals_published,
        "events": len(actor.events),
        "orders": len(cache.orders()),
        "positions": len(cache.positions()),
        "fills": sum(len(o.trade_ids) for o in cache.orders()),
        "client": dict(getattr(client, "stats", {}) or {}),
        "warm_start": warm,
        "wall_seconds": round(wall_s, 2),
    }
    if server is not None:
        s = server.server
        out["replay"] = {
            "start_ms": s.start_ms,
            "end_ms": s.end_ms,
            "clock_ms": s.clock_ms,
            "done": s.done,
            "sent": dict(s.sent),
            "oi_unconfirmed": s.oi_unconfirmed,
        }
        if not s.done:
            out["error"] = (
                f"replay not exhausted (stopped: {stop_reason.get('reason')})"
                if stop_reason.get("reason") == "timeout"
                else None
            )
    return out
