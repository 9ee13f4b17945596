#!/usr/bin/env python3
"""Screenshots of the default theme: home, topic and story pages at 375 and 1280 px, in
light and dark, from a generated 400-story site, for the docs.

    python tools/screenshots.py --out docs/screenshots

Each shot is the first screen (375x800, 1280x900), saved as a palette PNG (Pillow) so
the docs stay light. Story images are the publishers' remote URLs, which a screenshot
must not fetch: each is answered with a generated picture of its size instead.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import tempfile
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from PIL import Image, ImageDraw  # noqa: E402

from corpus import generate  # noqa: E402
from site_builder.builder import BuildOptions, build, load_model  # noqa: E402
from site_builder.routes import plan_site  # noqa: E402
from site_builder.server import LiveState, bind_server  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
SCREENS = {375: 800, 1280: 900}


def stand_in(url: str) -> bytes:
    """A JPEG for a remote image: two colours from the URL's hash, in a diagonal band."""
    digest = hashlib.sha256(url.encode()).digest()
    image = Image.new("RGB", (640, 360), tuple(64 + b // 2 for b in digest[:3]))
    ImageDraw.Draw(image).polygon([(0, 360), (420, 0), (640, 0), (220, 360)], fill=tuple(96 + b // 3 for b in digest[3:6]))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70)
    return out.getvalue()


def make_site(root: Path) -> dict[str, str]:
    """A built 400-story site; the paths of the pages to shoot."""
    from datetime import datetime, timezone

    generate(400, 8, root / "content")
    (root / "site.toml").write_text('title = "Tech Desk"\nbase_url = "https://example.org/"\n')
    options = BuildOptions(root, now=datetime(2026, 11, 1, tzinfo=timezone.utc))
    report = build(options)
    if report.errors:
        raise SystemExit(f"the build failed: {report.errors}")
    model = load_model(options)
    plan = plan_site(model.articles, model.config)
    story = next(e for e in plan.entries if e.article.image and e.article.related and e.article.body_html)
    return {"home": "/", "topic": plan.nav_topics[0].path, "story": story.path}


def shoot(site: Path, pages: dict[str, str], out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    state = LiveState()
    state.publish(site / "_site", "/", [])
    server = bind_server("127.0.0.1", 0, state, live_reload=False)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.port}"

    def route(request_route):
        url = request_route.request.url
        if url.startswith(origin):
            return request_route.continue_()
        if request_route.request.resource_type == "image":
            return request_route.fulfill(status=200, content_type="image/jpeg", body=stand_in(url))
        return request_route.abort()

    written = []
    out.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            for scheme in ("light", "dark"):
                for width, height in SCREENS.items():
                    context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme)
                    context.route("**/*", route)
                    for kind, path in pages.items():
                        page = context.new_page()
                        page.goto(origin + path, wait_until="networkidle")
                        png = page.screenshot()
                        target = out / f"{kind}-{width}-{scheme}.png"
                        save_small(png, target)
                        written.append(target)
                        page.close()
                    context.close()
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    return written


def save_small(png: bytes, target: Path) -> None:
    """As a 128-colour palette PNG, optimised: a fraction of the browser's bytes."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    image.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots", help="folder for the PNG files")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="screenshots-") as temp:
        site = Path(temp)
        written = shoot(site, make_site(site), args.out)
    for path in written:
        print(f"{path} {path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
