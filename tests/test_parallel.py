"""Forked workers (parallel.map_chunks): results come back complete and in order, also
when a large job replaces its workers halfway to bound their memory."""

from __future__ import annotations

import os
import threading

from site_builder import parallel


def _squares(chunk):
    return os.getpid(), [n * n for n in chunk]


_forks: list[int] | None = None  # while a test listens: the thread that made each fork


def _note_fork() -> None:
    if _forks is not None:
        _forks.append(threading.get_ident())


os.register_at_fork(before=_note_fork)


def _map_and_note_forks(items) -> tuple[list, list[int]]:
    global _forks
    _forks = []
    try:
        return parallel.map_chunks(_squares, items), _forks
    finally:
        _forks = None


def test_a_large_job_replaces_its_workers_and_keeps_the_results_in_order(monkeypatch):
    monkeypatch.setenv("SITE_BUILDER_WORKERS", "2")
    items = list(range(1_000))
    kept, kept_forks = _map_and_note_forks(items)  # below RECYCLE_ABOVE: the same two workers
    monkeypatch.setattr(parallel, "RECYCLE_ABOVE", 500)
    recycled, recycled_forks = _map_and_note_forks(items)
    for results in (kept, recycled):
        assert [n for _, squares in results for n in squares] == [n * n for n in items]
        assert os.getpid() not in {pid for pid, _ in results}  # really in workers
    assert len(kept_forks) == 2
    assert len(recycled_forks) == 4  # both workers replaced halfway
    # Every fork comes from the thread that called map_chunks. Pool(maxtasksperchild) forks
    # replacements from its own thread while the caller runs on (its progress callback
    # starts the search index's Pagefind processes): a fork then can copy a held lock, or
    # the pipe of a process being started, and hang the build.
    assert set(kept_forks + recycled_forks) == {threading.get_ident()}


def _sizes(chunk):
    return len(chunk)


def test_a_large_job_goes_in_short_chunks(monkeypatch):
    """A pool ends when its slowest chunk does, and progress moves by chunks: large jobs
    are cut into chunks of at most MAX_CHUNK items, not into a fixed number of them."""
    monkeypatch.setenv("SITE_BUILDER_WORKERS", "2")
    monkeypatch.setattr(parallel, "MAX_CHUNK", 10)
    steps = []
    sizes = parallel.map_chunks(_sizes, list(range(1_000)), lambda done, total: steps.append(done))
    assert sum(sizes) == 1_000 and max(sizes) == 10
    assert steps == list(range(10, 1_001, 10))
