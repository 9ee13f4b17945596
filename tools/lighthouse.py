#!/usr/bin/env python3
"""Lighthouse scores of the default theme: home, topic and story pages of the generated
400-story site that tools/screenshots.py shoots, served locally, measured offline with
Debian's Chromium (remote story images cannot load, as in the browser tests). Needs the
npm package: `npm install -g lighthouse`. Not part of the test suite.

    python tools/lighthouse.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
sys.path.insert(0, str(TOOLS))

from screenshots import CHROMIUM, make_site  # noqa: E402
from site_builder.server import LiveState, bind_server  # noqa: E402

CATEGORIES = ("performance", "accessibility", "best-practices", "seo")


def scores(url: str, report: Path) -> dict[str, int]:
    subprocess.run(
        ["lighthouse", url, f"--only-categories={','.join(CATEGORIES)}", "--quiet", "--output=json",
         f"--output-path={report}", "--chrome-flags=--headless=new --no-sandbox"],
        check=True, env={**os.environ, "CHROME_PATH": CHROMIUM},
    )
    data = json.loads(report.read_text())
    found = {name: round(category["score"] * 100) for name, category in data["categories"].items()}
    metrics = ("first-contentful-paint", "largest-contentful-paint", "total-blocking-time", "cumulative-layout-shift")
    found["metrics"] = ", ".join(f"{m.split('-')[0]} {data['audits'][m]['displayValue']}" for m in metrics)
    for name in CATEGORIES[1:]:  # what costs points beyond speed, which varies with the machine's load
        for ref in data["categories"][name]["auditRefs"]:
            audit = data["audits"][ref["id"]]
            if ref["weight"] and audit["score"] is not None and audit["score"] < 1:
                print(f"{url}: {name}: {audit['title']}", file=sys.stderr)
    return found


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="lighthouse-") as temp:
        site = Path(temp)
        pages = make_site(site)
        state = LiveState()
        state.publish(site / "_site", "/", [])
        server = bind_server("127.0.0.1", 0, state, live_reload=False)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            print("| page | " + " | ".join(CATEGORIES) + " | simulated metrics |\n| --- |" + " ---: |" * len(CATEGORIES) + " --- |")
            for kind, path in pages.items():
                found = scores(f"http://127.0.0.1:{server.port}{path}", site / f"{kind}.json")
                print(f"| {kind} | " + " | ".join(str(found[name]) for name in CATEGORIES) + f" | {found['metrics']} |", flush=True)
        finally:
            server.shutdown()
            server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
