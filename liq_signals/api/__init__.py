"""HTTP API and page over a DuckDB store (``liq-signals serve``): FastAPI routes in ``app``, parameter checks in
``params``, the one module that reads the database in ``store``, warm engines in ``engines``, JSON payloads in
``payloads`` and the static page in ``static/``."""
