"""Where the runs of a sweep execute: one after another, a pool of processes, or tasks on a Ray cluster.

Each job is a call ``fn(*args)`` with ``fn`` named by path (``"module:function"``) so every worker imports it
itself; arguments and results must pickle. Nautilus initialises logging once per process and keeps backtests
single-threaded, so the process pool runs one job per process at a time (spawned, never forked: the parent may
hold a Nautilus kernel) — the community norm for sweeps. Pool processes are kept for further jobs, as Ray keeps
its workers (a fresh process per job paid ~5 s of imports and first-run warm-up each: a 16-run sweep on the
sample took 181 s instead of 84 s with 2 workers). Results come back in job order whatever the executor,
so a sweep's outputs do not depend on it.

``ray`` is an optional extra (``pip install 'liq-signals[ray]'``): ``ray.init()`` starts a local instance, or
``address=`` joins a running cluster; every worker must see the same paths (catalog, output folder).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Sequence

from liq_signals.errors import ConfigError, LiqSignalsError

EXECUTORS = ("serial", "process", "ray")
TASKS_PER_CHILD = None  # pool processes run jobs one after another (like Ray workers); 1 = a fresh process per job


def resolve(path: str) -> Callable:
    """The function named ``module:function``."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def call(path: str, args: tuple):
    """Run one job (in whichever process or Ray worker it landed)."""
    return resolve(path)(*args)


def default_workers(n_jobs: int) -> int:
    """One worker per core, never more than the jobs."""
    return max(1, min(n_jobs, os.cpu_count() or 1))


def run_jobs(
    path: str,
    jobs: Sequence[tuple],
    executor: str = "process",
    workers: int | None = None,
    ray_address: str | None = None,
    on_done: Callable[[int, object], None] | None = None,
) -> list:
    """Results of ``path(*args)`` for every ``args`` in ``jobs``, in job order. ``on_done(i, result)`` is called
    as each job finishes (in completion order). A job's ``LiqSignalsError`` is re-raised as is."""
    if executor not in EXECUTORS:
        raise ConfigError(f"--executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ConfigError(f"--workers must be an integer >= 1, got {workers!r}")
    if ray_address is not None and executor != "ray":
        raise ConfigError("--ray-address needs --executor ray")
    jobs = [tuple(a) for a in jobs]
    results: list = [None] * len(jobs)
    if not jobs:
        return results
    workers = workers or default_workers(len(jobs))
    if executor == "serial" or (executor == "process" and (workers == 1 or len(jobs) == 1)):
        for i, args in enumerate(jobs):
            results[i] = call(path, args)
            if on_done:
                on_done(i, results[i])
        return results
    if executor == "process":
        return _process_pool(path, jobs, workers, on_done, results)
    return _ray(path, jobs, workers, ray_address, on_done, results)


def _process_pool(path, jobs, workers, on_done, results) -> list:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, max_tasks_per_child=TASKS_PER_CHILD) as pool:
        futures = {pool.submit(call, path, args): i for i, args in enumerate(jobs)}
        try:
            for fut in as_completed(futures):
                i = futures[fut]
                results[i] = fut.result()
                if on_done:
                    on_done(i, results[i])
        except BaseException:
            for f in futures:
                f.cancel()
            raise
    return results


def _ray(path, jobs, workers, address, on_done, results) -> list:
    try:
        import ray
    except ImportError:
        raise LiqSignalsError(
            "--executor ray needs Ray: pip install 'liq-signals[ray]' (or `uv sync --extra ray`)"
        ) from None
    started = not ray.is_initialized()
    if started:
        # a local instance stays on the loopback interface
        kwargs = {"address": address} if address else {"num_cpus": workers, "_node_ip_address": "127.0.0.1"}
        try:
            ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False, **kwargs)
        except Exception as exc:  # connection refused, bad address ...
            raise LiqSignalsError(
                f"--ray-address {address}: cannot start or join Ray: {str(exc).splitlines()[0]}"
                if address
                else f"cannot start a local Ray instance: {str(exc).splitlines()[0]}"
            ) from None
    try:
        remote = ray.remote(num_cpus=1, max_retries=0)(call)
        refs = {remote.remote(path, args): i for i, args in enumerate(jobs)}
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            i = refs[done[0]]
            try:
                results[i] = ray.get(done[0])
            except ray.exceptions.RayTaskError as exc:
                if isinstance(exc.cause, LiqSignalsError):
                    raise LiqSignalsError(str(exc.cause)) from None
                raise
            if on_done:
                on_done(i, results[i])
    finally:
        if started:
            ray.shutdown()
    return results
