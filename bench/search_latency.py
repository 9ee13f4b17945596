#!/usr/bin/env python3
"""Search latency in a real browser: query -> results shown, on a generated site.

Generates a site with tests/corpus.py (10,000 stories by default), builds it (the build
writes the Pagefind index), serves it under a base path, opens the search page in
Debian's Chromium and types queries: the full headlines of random stories and single
words. search.js records, per query, the ranking time (`pagefind.search`) and the time
until the results are on screen (ranking plus each shown result's fragment); this prints
their median, 95th percentile and worst, leaving out the first query, which loads the
index. Then it types whole headlines key by key, 10 keys a second, and times the wait
from the last key to that headline's results.

    python bench/search_latency.py [--count 10000] [--queries 40] [--typed 6]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from corpus import generate  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from site_builder.builder import BuildOptions, build, load_model  # noqa: E402
from site_builder.server import LiveState, bind_server  # noqa: E402

BASE = "/bench/"
WORDS = ["quantum", "privacy", "Tesla", "cloud", "robot", "chip", "language model", "breach"]


def summary(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{name}: median {statistics.median(ordered):.1f} ms, p95 {p95:.1f} ms, worst {ordered[-1]:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--typed", type=int, default=6, help="headlines typed key by key (10 a second)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        site = Path(temp)
        generate(args.count, 467, site / "content")
        (site / "site.toml").write_text(f'base_url = "https://example.org{BASE}"\n')
        started = time.perf_counter()
        report = build(BuildOptions(site))
        print(report.summary() + f" (wall {time.perf_counter() - started:.1f} s)")
        bundle = site / "_site" / "pagefind"
        files = [p for p in bundle.rglob("*") if p.is_file()]
        print(f"index: {len(files)} files, {sum(p.stat().st_size for p in files) / 1e6:.1f} MB")
        titles = [a.title for a in load_model(BuildOptions(site)).articles]
        rng = random.Random(8)
        queries = [rng.choice(titles) if i % 2 else rng.choice(WORDS) for i in range(args.queries)]
        typed = [rng.choice(titles) for _ in range(args.typed)]

        state = LiveState()
        state.publish(site / "_site", BASE, [])
        server = bind_server("127.0.0.1", 0, state, live_reload=False)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        search, shown, after_typing = [], [], []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{server.port}{BASE}search/")
            shown_for = "(q) => document.querySelector('.search-results')?.dataset.query === q"
            for query in ["warm up"] + queries:
                page.fill("#search-q", query)
                page.wait_for_function(shown_for, arg=query, timeout=30_000)
                data = page.locator(".search-results").evaluate("(el) => ({...el.dataset})")
                search.append(float(data["searchMs"]))
                shown.append(float(data["queryMs"]))
            # Typed as a reader types, 10 keys a second: the wait after the last key.
            for query in typed:
                page.fill("#search-q", "")
                page.locator("#search-q").type(query, delay=100)
                started = time.perf_counter()
                page.wait_for_function(shown_for, arg=query, timeout=120_000)
                after_typing.append((time.perf_counter() - started) * 1000)
            browser.close()
        server.shutdown()
        print(f"{len(queries)} queries on {len(titles)} stories (after one warm-up query that loads the index):")
        print(summary("ranking (pagefind.search)", search[1:]))
        print(summary("results on screen", shown[1:]))
        print(f"first query, loading the index: {shown[0]:.1f} ms")
        if after_typing:
            print(summary(f"{len(typed)} headlines typed at 10 keys/s, last key to results", after_typing))


if __name__ == "__main__":
    main()
