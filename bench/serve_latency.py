#!/usr/bin/env python3
"""Edit -> page served with the change, for `site-builder serve` on a generated site.

Generates a site with tests/corpus.py in a temp folder, starts the real preview (watcher,
builder, HTTP server) in-process on a free port, then several times: waits until the
preview is idle (the last edit's search shard indexed, no change pending), saves one
article with a new title the way editors do (write a temp file, rename it over), and waits
as an open page does: on the preview's live-reload event stream, for a new good build,
then fetches the home page over HTTP, until it is served with the new title. So each time
includes the watcher's debounce. --poll fetches the home page every 20 ms instead (each
request takes the GIL from the build it waits for). Prints each time and the median.

    python bench/serve_latency.py [--count 1000] [--runs 5] [--poll]
"""

from __future__ import annotations

import argparse
import contextlib
import html
import http.client
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from corpus import generate  # noqa: E402

from site_builder.builder import BuildOptions  # noqa: E402
from site_builder.server import Preview  # noqa: E402

CARD_TITLE = re.compile(r'class="u-url" href="[^"]+">([^<]+)</a>')
TIMEOUT = 60.0


def get(port: int, path: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        return conn.getresponse().read().decode("utf-8")
    finally:
        conn.close()


def story_on_home_page(port: int, content: Path) -> Path:
    """An article file whose card is on the home page, found by its unique title line."""
    texts = {path: path.read_text(encoding="utf-8") for path in content.iterdir()}
    for title in map(html.unescape, CARD_TITLE.findall(get(port, "/"))):
        line = f"\ntitle: {json.dumps(title, ensure_ascii=False)}\n"
        sources = [path for path, text in texts.items() if line in text]
        if len(sources) == 1:
            return sources[0]
    raise SystemExit("no story of the home page could be traced to its file")


def edit_and_wait(port: int, source: Path, new_title: str, poll: bool) -> float:
    text = re.sub(r"^title: .*$", f"title: {json.dumps(new_title)}", source.read_text(encoding="utf-8"), count=1, flags=re.M)
    temp = source.with_name("." + source.name + ".tmp")
    temp.write_text(text, encoding="utf-8")
    with reload_events(port) as builds:
        next(builds)  # the state now: subscribed before the save, as an open page is
        started = time.perf_counter()
        os.replace(temp, source)
        while new_title not in get(port, "/"):
            if time.perf_counter() - started > TIMEOUT:
                raise SystemExit(f"the change was not served within {TIMEOUT} s")
            if poll:
                time.sleep(0.02)
            else:
                next(builds)  # a page reloads on the next good build
    return time.perf_counter() - started


@contextlib.contextmanager
def reload_events(port: int):
    """The live-reload stream a served page listens to: yields once per good build (the
    first time for the build being served)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        conn.request("GET", "/__livereload")
        stream = conn.getresponse()

        def builds():
            generation = None
            for line in stream:
                if line.startswith(b"data: "):
                    state = json.loads(line[6:])
                    if state["ok"] and state["generation"] != generation:
                        generation = state["generation"]
                        yield generation

        yield builds()
    finally:
        conn.close()


def wait_until_idle(preview: Preview) -> None:
    started = time.perf_counter()
    while preview.builder.pending or preview.session.debouncer.pending:
        if time.perf_counter() - started > TIMEOUT:
            raise SystemExit(f"the preview was still busy after {TIMEOUT} s")
        time.sleep(0.05)
    time.sleep(0.2)  # the index build returns, then its thread settles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="articles in the generated site")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--poll", action="store_true", help="fetch the page every 20 ms rather than on reload events")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="serve-latency-") as temp:
        site = Path(temp)
        generate(args.count, 467, site / "content")
        preview = Preview(BuildOptions(site), port=0)
        preview.start()
        try:
            source = story_on_home_page(preview.server.port, site / "content")
            times = []
            for run in range(args.runs):
                wait_until_idle(preview)
                seconds = edit_and_wait(preview.server.port, source, f"Benchmark edit number {run}", args.poll)
                times.append(seconds)
                print(f"run {run + 1}: {seconds * 1000:.0f} ms", flush=True)
        finally:
            preview.stop()
    print(f"edit -> served on {args.count} articles: median {statistics.median(times) * 1000:.0f} ms "
          f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}, {args.runs} runs)")


if __name__ == "__main__":
    main()
