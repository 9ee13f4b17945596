"""Spread CPU-bound build steps over the machine's cores with forked worker processes.

Forking shares the parsed model, the plan and the compiled templates with the workers at
no cost. It is used only where it is safe and worth it: many items, more than one core,
and no other threads in the process (forking a threaded process can copy a held lock;
the preview server's rebuilds are small and run in one process).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Sequence

MIN_ITEMS = 200  # below this, starting processes costs more than it saves

_job: Callable | None = None  # the work, inherited by forked workers


def workers() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def can_fork(items: int) -> bool:
    return (
        items >= MIN_ITEMS
        and workers() > 1
        and threading.active_count() == 1
        and "fork" in multiprocessing.get_all_start_methods()
        and os.environ.get("SITE_BUILDER_WORKERS") != "1"
    )


def map_chunks(job: Callable[[Sequence], object], items: Sequence) -> list:
    """job(chunk) for interleaved chunks of items, in worker processes when worth it.
    Results come back in chunk order; an exception in a worker is raised here."""
    global _job
    if not can_fork(len(items)):
        return [job(items)]
    count = workers()
    chunks = [items[i::count] for i in range(count)]
    _job = job
    try:
        with multiprocessing.get_context("fork").Pool(count) as pool:
            return pool.map(_run, chunks, chunksize=1)
    finally:
        _job = None


def _run(chunk: Sequence) -> object:
    return _job(chunk)
