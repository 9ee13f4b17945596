#!/usr/bin/env python3
"""Output weight: what a story costs on disk, by page kind.

Generates a corpus with tests/corpus.py (the benchmark's seed), builds it with the
working tree's site-builder (search on, base_url set, as deployed), and prints the bytes
of each page kind and the bytes per published story: every output file but the search
index and images, divided by the number of published stories.

    python bench/weight.py --count 4000
    python bench/weight.py --count 4000 --site /tmp/w4000   # keep (and reuse) the site
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from corpus import generate  # noqa: E402
from site_builder.builder import BuildOptions, load_model  # noqa: E402
from site_builder.pages import ARTICLE, ATOM, JSON_FEED, SITEMAP, SITEMAP_INDEX  # noqa: E402
from site_builder.routes import plan_site  # noqa: E402

SEED = 467
KINDS = {  # template -> the kind it is counted under
    ARTICLE: "story pages", "index.html": "home listing", "topic.html": "topic listings",
    "source.html": "source listings", "month.html": "month listings",
    ATOM: "feeds", JSON_FEED: "feeds", SITEMAP: "sitemap", SITEMAP_INDEX: "sitemap",
}
EXCLUDED = ("search index", "images")


def kind_of(rel: str, templates: dict[str, str]) -> str:
    if rel.startswith("pagefind/"):
        return "search index"
    if rel.startswith("images/") or rel.rsplit(".", 1)[-1] in ("webp", "jpg", "jpeg", "png", "avif", "gif"):
        return "images"
    template = templates.get(rel)
    if template is None:
        return "static and bookkeeping"
    return KINDS.get(template, "other pages")


def measure(site: Path) -> tuple[Counter, Counter, int]:
    """(bytes by kind, files by kind, published stories) of site/_site."""
    model = load_model(BuildOptions(site))
    plan = plan_site(model.articles, model.config)
    templates = {page.output: page.template for page in plan.pages}
    sizes, files = Counter(), Counter()
    for path in (site / "_site").rglob("*"):
        if path.is_file():
            kind = kind_of(path.relative_to(site / "_site").as_posix(), templates)
            sizes[kind] += path.stat().st_size
            files[kind] += 1
    return sizes, files, len(plan.entries)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=4000, help="articles to generate (about 90%% are published)")
    parser.add_argument("--site", type=Path, help="build here and keep it (default: a temporary folder)")
    args = parser.parse_args()
    temp = None if args.site else Path(tempfile.mkdtemp(prefix="weight-"))
    site = args.site or temp
    try:
        if not (site / "content").is_dir():
            generate(args.count, SEED, site / "content")
            (site / "site.toml").write_text('title = "Weight"\nbase_url = "https://example.org/"\n')
        env = {**os.environ, "PYTHONPATH": str(REPO)}  # this tree's code, whatever is installed
        subprocess.run([sys.executable, "-m", "site_builder", "build", str(site)], check=True, env=env, stdout=subprocess.DEVNULL)
        sizes, files, stories = measure(site)
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
    print(f"{stories} published stories")
    print(f"| kind | files | bytes | bytes per story |\n| --- | ---: | ---: | ---: |")
    for kind, size in sorted(sizes.items(), key=lambda kv: -kv[1]):
        print(f"| {kind} | {files[kind]:,} | {size:,} | {size / stories:,.0f} |")
    counted = sum(size for kind, size in sizes.items() if kind not in EXCLUDED)
    print(f"\nbytes per story (all but {' and '.join(EXCLUDED)}): {counted / stories:,.0f} ({counted / stories / 1024:.1f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
