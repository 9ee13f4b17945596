"""Forked workers (parallel.map_chunks): results come back complete and in order, also
when a large job replaces its workers halfway to bound their memory."""

from __future__ import annotations

import os

from site_builder import parallel


def _squares(chunk):
    return os.getpid(), [n * n for n in chunk]


def test_a_large_job_replaces_its_workers_and_keeps_the_results_in_order(monkeypatch):
    monkeypatch.setenv("SITE_BUILDER_WORKERS", "2")
    items = list(range(1_000))
    kept = parallel.map_chunks(_squares, items)  # below RECYCLE_ABOVE: the same two workers
    monkeypatch.setattr(parallel, "RECYCLE_ABOVE", 500)
    recycled = parallel.map_chunks(_squares, items)
    for results in (kept, recycled):
        assert [n for _, squares in results for n in squares] == [n * n for n in items]
        assert os.getpid() not in {pid for pid, _ in results}  # really in workers
    assert len({pid for pid, _ in kept}) <= 2
    # 16 chunks, each worker replaced after 4 of them: more than two processes did the work.
    assert len({pid for pid, _ in recycled}) > 2
