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
    """One per core this process may use; SITE_BUILDER_WORKERS=N overrides (1: no workers)."""
    override = os.environ.get("SITE_BUILDER_WORKERS", "")
    if override.isdigit() and int(override) > 0:
        return int(override)
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
    )


CHUNKS_PER_WORKER = 8  # small enough to keep every core busy and to show progress
RECYCLE_ABOVE = 5_000  # items: larger jobs get a new pool of workers halfway (see map_chunks)
MAX_CHUNK = 500  # items: a pool's last chunks, where a core may idle, stay short


def map_chunks(job: Callable[[Sequence], object], items: Sequence, progress: Callable[[int, int], None] | None = None) -> list:
    """job(chunk) over consecutive chunks of items, in worker processes when worth it.
    Results come back in chunk order; an exception in a worker is raised here.
    progress(done, total) is called as chunks finish."""
    global _job
    total = len(items)
    if not can_fork(total):
        results = [job(items)]
        if progress:
            progress(total, total)
        return results
    count = workers()
    # A pool of workers ends when its slowest chunk does, and progress moves by chunks, so
    # a chunk holds at most MAX_CHUNK items however large the job.
    size = max(1, min(-(-total // (count * CHUNKS_PER_WORKER)), MAX_CHUNK))
    chunks = [items[i : i + size] for i in range(0, total, size)]
    _job = job
    # A forked worker writes the reference count of every object it reads, so the memory
    # pages holding them become its private copies: by the end of rendering 10,000
    # stories each worker holds most of the model again. Replacing the workers halfway
    # keeps the peak memory of the whole process tree down, for a little more time
    # (docs/performance.md, "Workers"); smaller jobs keep their workers. The replacements
    # are a second pool, forked by this thread, not Pool(maxtasksperchild), which forks
    # them from its own thread while this one runs on: a fork then could copy a lock this
    # thread holds, or the pipe of a process it is starting (the search index's Pagefind),
    # whose end would never close and whose start would wait forever.
    rounds = 2 if total > RECYCLE_ABOVE else 1
    per_round = -(-len(chunks) // rounds)
    results: list = []
    done = 0
    try:
        for start in range(0, len(chunks), per_round):
            part = chunks[start : start + per_round]
            with multiprocessing.get_context("fork").Pool(count) as pool:
                for chunk, result in zip(part, pool.imap(_run, part)):
                    results.append(result)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
        return results
    finally:
        _job = None


def _run(chunk: Sequence) -> object:
    return _job(chunk)


def process_alive(pid: int) -> bool:
    """Whether a process runs under this pid: what a folder left in /dev/shm names, to
    tell an abandoned one (search records, a preview) from one in use."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process: alive, not ours to judge
    return True
