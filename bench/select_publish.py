#!/usr/bin/env python3
"""The selection after one publish, patched against made anew, in one run.

Builds `--count` Articles in memory (about 90% published, the rest drafts, a few
scheduled, a few duplicate URLs, qualities around the bar), selects them once, then
for each of `--publishes` drafts flips it to published and times `select` twice: from
the last Selection (patched) and from scratch. Prints medians and their ratio.

    python bench/select_publish.py [--count 10000] [--publishes 30]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from site_builder.models import Article, Provider  # noqa: E402
from site_builder.selection import select  # noqa: E402

NOW = datetime(2026, 5, 1, 12, tzinfo=timezone.utc)
HOSTS = ["techcrunch.com", "theverge.com", "wired.com", "arstechnica.com", "reuters.com"]


def articles(count: int, rng: random.Random) -> list[Article]:
    made = []
    for n in range(count):
        host = rng.choice(HOSTS)
        url = f"https://{host}/2026/{rng.randint(1, 4):02d}/story-{n}"
        if n % 500 == 7:
            url = made[n - 1].web_url  # a duplicate URL: the earlier file wins
        hours = rng.uniform(-48, 24 * 120) if n % 400 else rng.uniform(-72, -1)  # some scheduled
        made.append(Article(
            f"content/{n:05d}.md", f"Story {n}", url, NOW - timedelta(hours=hours),
            draft=rng.random() < 0.1, quality=rng.choice([None, 1, 2, 3, 4]), provider=Provider(host, host),
        ))
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--publishes", type=int, default=30)
    args = parser.parse_args()
    rng = random.Random(467)
    read = articles(args.count, rng)
    settings = (NOW, False, False, 2)
    last = select(read, *settings)
    drafts = [n for n, a in enumerate(read) if a.draft]
    patched_ms, fresh_ms = [], []
    for n in rng.sample(drafts, args.publishes):
        read[n] = replace(read[n], draft=False)
        started = time.perf_counter()
        patched = select(read, *settings, last)
        patched_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        fresh = select(read, *settings)
        fresh_ms.append((time.perf_counter() - started) * 1000)
        assert patched.published == fresh.published and patched.next_change == fresh.next_change
        last = patched
    patched_median, fresh_median = statistics.median(patched_ms), statistics.median(fresh_ms)
    print(
        f"{args.count} articles, {len(last.published)} published, {args.publishes} publishes: "
        f"patched {patched_median:.2f} ms, from scratch {fresh_median:.1f} ms (median); "
        f"ratio {patched_median / fresh_median:.3f} ({fresh_median / patched_median:.0f}x faster)"
    )


if __name__ == "__main__":
    main()
