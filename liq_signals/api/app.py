"""FastAPI application over one DuckDB file: JSON endpoints (documented at ``/docs``), the page at ``/`` and
its static files (plotly.js comes from the installed ``plotly`` package, never a CDN).

Errors: a bad query parameter → 4xx with ``{"error": {"param", "message", "valid"}}``; any other failure →
500 with a one-line JSON message (the traceback goes to the server log, never to the client).
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from liq_signals.api.params import ApiError
from liq_signals.api.service import DEFAULT_WARMUP, Service
from liq_signals.api.store import Store
from liq_signals.errors import LiqSignalsError

STATIC = Path(__file__).parent / "static"
log = logging.getLogger("liq_signals.api")


def plotly_js_path() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _errors(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError):
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError):
        e = exc.errors()[0] if exc.errors() else {}
        loc = [str(x) for x in e.get("loc", ()) if x not in ("query", "body")]
        param = loc[-1] if loc else None
        ctx = {k: v for k, v in (e.get("ctx") or {}).items() if isinstance(v, (int, float, str))}
        return JSONResponse(
            {"error": {"param": param, "message": e.get("msg", "invalid value"), "valid": ctx or None}}, status_code=422
        )

    @app.exception_handler(LiqSignalsError)
    async def user_error(_: Request, exc: LiqSignalsError):
        return JSONResponse({"error": {"param": None, "message": str(exc), "valid": None}}, status_code=422)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception):
        log.exception("internal error on %s", request.url.path)
        return JSONResponse(
            {"error": {"param": None, "message": f"internal error ({type(exc).__name__})", "valid": None}},
            status_code=500,
        )


def _raw(body: bytes, headers: dict | None = None) -> Response:
    """A JSON answer already serialized by ``payloads.dumps`` (cached as bytes)."""
    return Response(body, media_type="application/json", headers=headers)


def create_app(db_path: str | Path) -> FastAPI:
    """The app over ``db_path`` (opened read-only; ``LiqSignalsError`` when it is missing or holds no klines)."""
    store = Store(db_path)
    svc = Service(store)
    app = FastAPI(
        title="liq_signals API",
        docs_url=None,
        redoc_url=None,
        description="Estimated Binance USD-M liquidation levels from the DuckDB store "
        f"`{store.db_path.name}` (read-only). Prices and notionals in USDT, times ISO 8601 "
        "UTC, durations with a unit (15m, 1h, 3d). Same engine and warm-up as the CLI.",
    )
    app.state.service = svc
    _errors(app)
    sym = Query(..., description="Symbol, e.g. BTCUSDT (see /symbols).")
    mdl = Query("a", description="a (open interest), b (a + funding), c (trade flow) or ensemble.")
    warm = Query(
        DEFAULT_WARMUP,
        description="History fed to the engine before the first snapshot (as the CLI's --warmup), "
        "or 'all' (from the first stored record: one engine keeps stepping forward).",
    )

    @app.get("/health", summary="Liveness and cache counters")
    def health():
        return {
            "status": "ok",
            "db": str(store.db_path),
            "symbols": len(store.symbols),
            "levels_served": dict(svc.warm.stats),
        }

    @app.get("/symbols", summary="Symbols, stored kinds and the time ranges covered")
    def symbols():
        return svc.symbols()

    @app.get("/levels", summary="Clusters at a time: distance, tiers, cumulative long/short curves")
    def levels(
        symbol: str = sym,
        at: str = Query(..., description="Time (UTC), e.g. 2023-12-11T02:00."),
        model: str = mdl,
        top_k: int = Query(10, description="Number of clusters (1..100)."),
        min_share: float = Query(0.2, description="Bucket share of its side's largest bucket to join a cluster."),
        warmup: str = warm,
    ):
        body, how = svc.levels(symbol, at, model, top_k, min_share, warmup)
        return _raw(body, {"X-Engine": how})

    @app.get("/heatmap", summary="Heatmap: bucket edges and sparse non-zero cells per side")
    def heatmap(
        symbol: str = sym,
        start: str = Query(..., description="First snapshot time (UTC)."),
        end: str = Query(..., description="Last snapshot time (UTC)."),
        every: str = Query("15m", description="Snapshot spacing with a unit, e.g. 15m, 1h."),
        model: str = mdl,
        tiers: str | None = Query(None, description="Leverage tiers to sum, e.g. 25,50,100 (default all)."),
        warmup: str = warm,
    ):
        return _raw(svc.heatmap(symbol, start, end, every, model, tiers, warmup))

    @app.get("/compare-models", summary="Models a, b, c and the ensemble: agreement over a period")
    def compare(
        symbol: str = sym,
        start: str = Query(...),
        end: str = Query(...),
        every: str = Query("1h"),
        top_k: int = Query(10, description="k of the top-k overlap."),
    ):
        return _raw(svc.compare(symbol, start, end, every, top_k))

    @app.get("/liquidations", summary="Recorded realized liquidations (forceOrder) where a recording covers")
    def liquidations(symbol: str = sym, start: str = Query(...), end: str = Query(...)):
        return svc.liquidations(symbol, start, end)

    @app.get("/", include_in_schema=False)
    def page():
        return HTMLResponse((STATIC / "index.html").read_text())

    @app.get("/docs", include_in_schema=False)
    def docs():  # the endpoints from /openapi.json, rendered without any external asset (no Swagger CDN)
        return HTMLResponse((STATIC / "docs.html").read_text())

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_js():
        return FileResponse(
            plotly_js_path(), media_type="application/javascript", headers={"Cache-Control": "max-age=86400"}
        )

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str):
        f = STATIC / name
        if name not in ("app.js", "app.css", "docs.js") or not f.exists():
            raise ApiError(
                "name", f"no static file {name!r}", ["app.js", "app.css", "docs.js", "plotly.min.js"], status=404
            )
        return FileResponse(f, media_type="application/javascript" if name.endswith(".js") else "text/css")

    return app
