"""Example strategies driven by ``LiquidationProximity`` events of :class:`LiquidationSignalActor`.

- :mod:`.avoid` — ``LiquidationAvoidStrategy``: EMA-cross trend follower that refuses to open, and
  flattens, while a large cluster sits on the adverse side within the actor's proximity.
- :mod:`.magnet` — ``LiquidationMagnetStrategy``: trades toward a large nearby cluster and exits when it
  is swept, leaves proximity or decays.

Both are examples with no claimed edge; they show how to consume the actor's events in Nautilus.
"""
