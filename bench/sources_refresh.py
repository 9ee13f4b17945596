#!/usr/bin/env python3
"""Refreshing a site's [[sources]]: `site-builder import` over 50 feeds from a local server.

Serves 50 RSS feeds of 20 stories each (a title, a link, a date and a paragraph of
summary, about 12 KB a feed; tests/feedserver.py, with ETags) on 127.0.0.1,
writes a site whose site.toml lists them, and imports once to fill content/ (1,000
stories) and the state file. Then, in rounds that take turns so a drifting machine
weighs on both alike, times a fresh `python -m site_builder import` process:

- conditional: 5 feeds have changed (2 new stories each, a new ETag), the other 45
  answer 304 to the ETag the state file remembers;
- baseline: the state file is deleted first, so all 50 answer 200 with their full
  bodies, which are parsed and all skipped (the stories are already in content/).

Each run's requests are counted on the server and must be exactly what the case says,
else the benchmark stops. --latency adds a delay to every answer, as a real network has.

    python bench/sources_refresh.py [--repeat 5] [--latency 0] [--out bench/results.md]

With --out, the report replaces the "# Sources refresh" section of that file (added at
its end when there is none), the rest of the file kept as it was.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from feedserver import FeedServer, Route  # noqa: E402

SOURCES, CHANGED, STORIES = 50, 5, 20


SUMMARY = ("The company said the new design would ship next year, after a long delay that analysts blamed on "
           "supply problems; rivals are expected to answer with their own parts within months. ") * 2


def feed(number: int, version: int) -> Route:
    items = "".join(
        f"<item><title>Story {n} of feed {number}: what changed</title>"
        f"<link>https://feed{number}.example/story-{n}</link><guid>https://feed{number}.example/story-{n}</guid>"
        f"<pubDate>Tue, 14 May 2024 08:{n % 60:02d}:00 GMT</pubDate><category>Chips</category>"
        f"<description>{SUMMARY}</description></item>"
        for n in range(STORIES + 2 * version))
    body = (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Feed {number}</title>'
            f"<link>https://feed{number}.example/</link><description>News</description>{items}</channel></rss>")
    return Route(body.encode(), etag=f'"{number}-{version}"')


def import_once(site: Path) -> tuple[float, float, str]:
    """Wall and CPU seconds (user + system) of one `import` process, and its summary line."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "site_builder", "import", "--site", str(site)], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"import failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return elapsed, cpu, done.stdout.splitlines()[-1]


def statuses(server: FeedServer) -> Counter:
    with server.lock:
        found = Counter(seen.status for seen in server.requests)
        server.requests.clear()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="rounds; the median is reported")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds each answer waits before it is sent")
    parser.add_argument("--out", type=Path, help="Markdown file whose '# Sources refresh' section to replace")
    args = parser.parse_args()
    server = FeedServer().start()
    if args.latency:
        slow = server.httpd.RequestHandlerClass.do_GET

        def delayed(handler):
            threading.Event().wait(args.latency)
            slow(handler)

        server.httpd.RequestHandlerClass.do_GET = delayed
    versions = [0] * SOURCES
    server.routes = {f"/feed{n}.json": feed(n, 0) for n in range(SOURCES)}
    times: dict[str, list[float]] = {"conditional": [], "baseline": []}
    cpu: dict[str, list[float]] = {"conditional": [], "baseline": []}
    with tempfile.TemporaryDirectory() as temp:
        site = Path(temp)
        (site / "content").mkdir()
        (site / "site.toml").write_text("".join(f'[[sources]]\nurl = "{server.url}/feed{n}.json"\n\n'
                                                for n in range(SOURCES)))
        first, _, line = import_once(site)
        print(f"first import (all new): {first:.2f} s; {line}; {dict(statuses(server))}", file=sys.stderr)
        for round_ in range(args.repeat):
            for n in range(CHANGED):  # a different five each round
                number = (round_ * CHANGED + n) % SOURCES
                versions[number] += 1
                server.routes[f"/feed{number}.json"] = feed(number, versions[number])
            elapsed, used, line = import_once(site)
            seen = statuses(server)
            if seen != Counter({304: SOURCES - CHANGED, 200: CHANGED}):
                sys.exit(f"conditional run: expected {SOURCES - CHANGED} 304s and {CHANGED} 200s, got {dict(seen)}")
            times["conditional"].append(elapsed)
            cpu["conditional"].append(used)
            print(f"conditional {elapsed:.2f} s: {line}", file=sys.stderr)

            (site / "sources-state.json").unlink()
            elapsed, used, line = import_once(site)
            seen = statuses(server)
            if seen != Counter({200: SOURCES}):
                sys.exit(f"baseline run: expected {SOURCES} 200s, got {dict(seen)}")
            times["baseline"].append(elapsed)
            cpu["baseline"].append(used)
            print(f"baseline {elapsed:.2f} s: {line}", file=sys.stderr)
    server.close()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    command = " ".join(["python", "bench/sources_refresh.py", *sys.argv[1:]])
    report = [
        f"## {SOURCES} feeds, {args.latency * 1000:g} ms latency",
        "",
        f"`{command}`: commit {commit}, Python {platform.python_version()}, nproc {os.cpu_count()}, "
        f"load average {os.getloadavg()[0]:.2f} at the end; median of {args.repeat} fresh `import` processes "
        f"(wall s, and CPU s: user + system).",
        "",
        "| case | answers | median wall s | median CPU s | runs, wall s |",
        "| --- | --- | ---: | ---: | --- |",
    ]
    for case, answers in (("conditional", f"{SOURCES - CHANGED} × 304, {CHANGED} × 200"),
                          ("baseline", f"{SOURCES} × 200, full bodies")):
        runs = ", ".join(f"{t:.2f}" for t in times[case])
        report.append(f"| {case} | {answers} | {statistics.median(times[case]):.2f} | "
                      f"{statistics.median(cpu[case]):.2f} | {runs} |")
    text = "\n".join(report) + "\n"
    print(text)
    if args.out:
        write_section(args.out, text)


def write_section(path: Path, text: str) -> None:
    """Replace this latency's subsection under '# Sources refresh' in `path`, or add it."""
    heading = text.splitlines()[0]
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    head, marker, section = old.partition("\n# Sources refresh\n")
    parts = [] if not marker else section.split("\n## ")
    intro = parts[0] if parts else "\n`bench/sources_refresh.py` (see bench/README.md).\n"
    kept = ["## " + p for p in parts[1:] if not ("## " + p).startswith(heading + "\n")]
    body = "\n".join([intro.rstrip("\n") + "\n", *(k.rstrip("\n") + "\n" for k in kept), text])
    path.write_text(head.rstrip("\n") + "\n\n# Sources refresh\n" + body, encoding="utf-8")


if __name__ == "__main__":
    main()
