#!/usr/bin/env python3
"""The desk of `site-builder serve`: publish -> the story's page served, and the queue's
first page, on generated sites (tests/corpus.py).

1. A site of --count stories (about 10% of them candidates). Several times: wait until
   the preview is idle, then POST the desk's publish form for one candidate (as its
   JavaScript does: the page's token and the file's digest, JSON asked for) and stop the
   clock when the story's permalink is served (200). The baseline, in the same run: the
   same change made by a plain file save (`published: false` -> `true`, written beside
   and renamed over, as editors save), timed to its page served the same way.
2. A site of --count candidates (every story a draft): the queue's first page
   (GET /_desk/), the first time (the filters' index is made) and then --runs times, plus
   one filtered and one sorted view.

    python bench/desk_latency.py [--count 10000] [--runs 7]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from corpus import generate  # noqa: E402

from site_builder.builder import BuildOptions  # noqa: E402
from site_builder.server import Preview  # noqa: E402

TIMEOUT = 60.0
_TOKEN = re.compile(r'name="token" value="([^"]+)"')
_CARD = re.compile(r'data-path="([^"]+)" data-digest="([0-9a-f]{32})"')


def request(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def served(port: int, source: str, started: float) -> float:
    """Wait (on the desk's long poll) until `source` is live, then fetch its page: the
    seconds from `started` to its page served."""
    while True:
        status, body = request(port, "GET", "/_desk/live?" + urlencode({"path": source, "wait": "1"}))
        live = json.loads(body)
        if live["live"]:
            if request(port, "GET", live["url"])[0] == 200:
                return time.perf_counter() - started
        if time.perf_counter() - started > TIMEOUT:
            raise SystemExit(f"{source} was not served within {TIMEOUT} s")


def wait_until_idle(preview: Preview) -> None:
    started = time.perf_counter()
    while preview.builder.pending or preview.session.debouncer.pending:
        if time.perf_counter() - started > TIMEOUT:
            raise SystemExit(f"the preview was still busy after {TIMEOUT} s")
        time.sleep(0.05)
    time.sleep(0.2)  # the index build returns, then its thread settles


def publish_by_desk(port: int, source: str, digest: str, token: str) -> float:
    body = urlencode({"token": token, "action": "publish", "path": source, "digest": digest}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json",
               "Origin": f"http://127.0.0.1:{port}", "Sec-Fetch-Site": "same-origin"}
    started = time.perf_counter()
    status, reply = request(port, "POST", "/_desk/act", body, headers)
    if status != 200:
        raise SystemExit(f"the desk refused: {status} {reply.decode()}")
    return served(port, source, started)


def publish_by_save(site: Path, source: str, port: int) -> float:
    path = site / source
    text = path.read_text(encoding="utf-8").replace("\npublished: false\n", "\npublished: true\n", 1)
    temp = path.with_name("." + path.name + ".tmp")
    temp.write_text(text, encoding="utf-8")
    started = time.perf_counter()
    os.replace(temp, path)
    return served(port, source, started)


def summary(name: str, times: list[float]) -> str:
    ms = [t * 1000 for t in times]
    return f"{name}: median {statistics.median(ms):.0f} ms, worst {max(ms):.0f} ms, best {min(ms):.0f} ms ({len(ms)} runs)"


def publishing(count: int, runs: int) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="desk-latency-") as temp:
        site = Path(temp)
        generate(count, 467, site / "content")
        (site / "site.toml").write_text('base_url = "https://example.org/"\n', encoding="utf-8")
        preview = Preview(BuildOptions(site), port=0)
        preview.start()
        try:
            port = preview.server.port
            page = request(port, "GET", "/_desk/")[1].decode()
            token = _TOKEN.search(page).group(1)
            cards = _CARD.findall(page)
            if len(cards) < 2 * runs:
                raise SystemExit(f"only {len(cards)} candidates on the first page; use fewer --runs")
            desk, save = [], []
            for run in range(runs):  # taking turns, so a machine that slows down weighs on both
                wait_until_idle(preview)
                source, digest = cards[2 * run]
                desk.append(publish_by_desk(port, source, digest, token))
                wait_until_idle(preview)
                save.append(publish_by_save(site, cards[2 * run + 1][0], port))
                print(f"run {run + 1}: desk {desk[-1] * 1000:.0f} ms, file save {save[-1] * 1000:.0f} ms", file=sys.stderr, flush=True)
        finally:
            preview.stop()
    return [summary(f"publish POST -> page served, {count} stories", desk),
            summary(f"the same by a file save -> page served, {count} stories", save)]


def queue_pages(count: int, runs: int) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="desk-queue-") as temp:
        site = Path(temp)
        for path in generate(count, 467, site / "content"):
            path.write_text(path.read_text(encoding="utf-8").replace("\npublished: true\n", "\npublished: false\n", 1), encoding="utf-8")
        preview = Preview(BuildOptions(site), port=0)
        preview.start()
        try:
            port = preview.server.port
            wait_until_idle(preview)  # the search index built after the first pages
            lines = []
            for name, query in (("first page", ""), ("topic 'AI', sorted by quality", "?topic=AI&sort=quality"),
                                ("text 'google'", "?q=google")):
                times = []
                for run in range(runs + 1):
                    started = time.perf_counter()
                    status, body = request(port, "GET", "/_desk/" + query)
                    times.append(time.perf_counter() - started)
                    assert status == 200 and b'class="h-entry card"' in body, (status, body[:200])
                first, rest = times[0], times[1:]
                lines.append(f"{summary(f'queue {name}, {count} candidates', rest)}; the first time {first * 1000:.0f} ms")
        finally:
            preview.stop()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10000, help="stories in each generated site")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    lines = publishing(args.count, args.runs) + queue_pages(args.count, args.runs)
    lines.append(f"1-minute load average: {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end ({os.cpu_count()} cores)")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
