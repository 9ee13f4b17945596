#!/usr/bin/env python3
""""More on" after one story is published (inserted) or removed, against a fresh
computation, at a realistic size, in the same run.

The stories are tests/corpus.py's records (titles, topics, dates) made into Articles in
memory. The topic lists are passed as the plan passes them in a long-lived preview:
the lists of the topics the changed story is not in are the last build's very objects,
and `topics` is the last build's dict when no topic appeared or disappeared.

    python bench/more_on_insert.py [--count 9000] [--repeat 7]

The third case passes every topic list anew, as a plan that groups all stories again
does. Prints, per case, the median time of a fresh computation and of the incremental one
(from the last build's memo), and their ratio.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

import corpus  # noqa: E402

from site_builder.models import Article  # noqa: E402
from site_builder.ranking import newest_first  # noqa: E402
from site_builder.related import more_on_with_memo  # noqa: E402
from site_builder.topics import build_topics, group_by_topic  # noqa: E402


def stories(count: int, seed: int) -> list[Article]:
    rng = random.Random(seed)
    made = []
    for n in range(count):
        record = corpus.make_article(rng, n)
        made.append(Article(f"{n}.md", record["title"], record["webUrl"], record["moment"], topics=tuple(record["topics"])))
    return made


def plan(articles: list[Article], last: tuple | None) -> tuple:
    """(ordered, groups, topics) as the plan hands them over: untouched topics keep the
    last plan's list objects, and the topics dict is the last one when its keys and
    spellings are the same."""
    ordered = newest_first(articles)
    topics = build_topics(ordered)
    groups = group_by_topic(ordered, topics)
    if last is not None:
        _, last_groups, last_topics = last
        if topics == last_topics:
            topics = last_topics
        last_sources = {topic: [a.source for a in members] for topic, members in last_groups.items()}
        groups = {
            topic: last_groups[topic] if last_sources.get(topic) == [a.source for a in members] else members
            for topic, members in groups.items()
        }
    return ordered, groups, topics


def timed(call, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=9000)
    parser.add_argument("--repeat", type=int, default=7)
    options = parser.parse_args()

    base = stories(options.count + 1, seed=467)
    newcomer, base = base[-1], base[:-1]
    before = plan(base, None)
    _, memo = more_on_with_memo(*before, None)
    cases = {
        "insert one": plan([*base, newcomer], before),
        "remove one": plan(base[:1234] + base[1235:], before),
        "insert one, every topic list new": plan([*base, newcomer], None),
    }
    print(f"{options.count:,} stories, median of {options.repeat}")
    for name, (ordered, groups, topics) in cases.items():
        fresh_result, _ = more_on_with_memo(ordered, groups, topics, None)
        incremental_result, _ = more_on_with_memo(ordered, groups, topics, memo)
        assert incremental_result == fresh_result, name
        fresh = timed(lambda: more_on_with_memo(ordered, groups, topics, None), options.repeat)
        incremental = timed(lambda: more_on_with_memo(ordered, groups, topics, memo), options.repeat)
        print(f"{name}: fresh {fresh * 1000:.1f} ms, incremental {incremental * 1000:.1f} ms, ratio {incremental / fresh:.3f}")


if __name__ == "__main__":
    main()
