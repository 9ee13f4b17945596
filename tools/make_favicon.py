"""Make static/favicon.ico from static/favicon.svg, so the two show one mark.

Chromium (Debian's, driven by Playwright) draws the SVG at 256 px on a transparent
background; Pillow scales it to 16, 32 and 48 px and writes the ICO. Run it again after
editing the SVG, and commit both files:

    pip install pillow && python tools/make_favicon.py
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

STATIC = Path(__file__).resolve().parent.parent / "static"
SIZES = [(16, 16), (32, 32), (48, 48)]


def render_svg(svg: str, size: int = 256) -> Image.Image:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": size, "height": size})
        sized = svg.replace("<svg ", f'<svg width="{size}" height="{size}" ', 1)
        page.set_content(f'<body style="margin:0">{sized}</body>')
        png = page.screenshot(omit_background=True)
        browser.close()
    return Image.open(io.BytesIO(png)).convert("RGBA")


def main() -> None:
    mark = render_svg((STATIC / "favicon.svg").read_text(encoding="utf-8"))
    mark.save(STATIC / "favicon.ico", sizes=SIZES)
    print(f"wrote {STATIC / 'favicon.ico'} ({(STATIC / 'favicon.ico').stat().st_size} bytes, sizes {SIZES})")


if __name__ == "__main__":
    main()
