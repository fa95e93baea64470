"""Live trading node: a Binance USD-M data client for open interest, funding and liquidations, a loopback
replay server, warm start and the ``liq-signals live`` node builder (see README, "Live trading node")."""
