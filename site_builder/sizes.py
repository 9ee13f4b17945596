"""The built site's size, by kind of page: what a host's size limit (GitHub Pages: 1 GB)
is spent on, for `build`'s summary line, `site-builder size` and `deploy`.

A file's kind comes from the plan (the page that made it: a story page, a paginated
listing, a feed) or from the folder it is in (the search index, the image renditions);
anything else (static assets, the sitemap, the topic and archive indexes, 404) is
"other". Sizes are the files' bytes, so the kinds add up to the folder's total.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from .config import CONFIG_FILE, ConfigError, SiteConfig
from .models import Problem
from .pages import ARTICLE, ATOM, JSON_FEED, SitePlan
from .report import BuildReport, human
from .search import SEARCH_DIR

KINDS = ("story pages", "listings", "feeds", "search index", "images", "other")
IMAGES_DIR = "images"
WARN_AT = 0.8  # of size_budget_mb: past it, a build warns


def page_kinds(plan: SitePlan) -> dict[str, str]:
    """Output file -> kind, for the pages of the plan."""
    kinds = {}
    for page in plan.pages:
        if page.template == ARTICLE:
            kinds[page.output] = "story pages"
        elif page.template in (ATOM, JSON_FEED):
            kinds[page.output] = "feeds"
        elif "pagination" in page.context:  # home, topic, source and month pages, numbered
            kinds[page.output] = "listings"
    return kinds


def kind_of(rel: str, kinds: Mapping[str, str]) -> str:
    top = rel.split("/", 1)[0]
    if top == SEARCH_DIR:
        return "search index"
    if top == IMAGES_DIR and rel.endswith(".webp"):
        return "images"
    return kinds.get(rel, "other")


def breakdown(out: Path, kinds: Mapping[str, str]) -> dict[str, tuple[int, int]]:
    """kind -> (files, bytes) for every file below `out` (no link followed), in KINDS order."""
    totals = {kind: [0, 0] for kind in KINDS}
    for rel, size in _files(out):
        total = totals[kind_of(rel, kinds)]
        total[0] += 1
        total[1] += size
    return {kind: (files, size) for kind, (files, size) in totals.items()}


def total_size(out: Path) -> int:
    return sum(size for _, size in _files(out))


def _files(root: Path):
    stack = [(str(root), "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append((entry.path, f"{prefix}{entry.name}/"))
                        else:
                            yield prefix + entry.name, entry.stat(follow_symlinks=False).st_size
                    except OSError:
                        continue  # removed while we looked
        except OSError:
            continue


def table(sizes: Mapping[str, tuple[int, int]], stories: int | None = None) -> list[str]:
    """The breakdown as aligned lines, largest share first; stories: the published count,
    for a bytes-per-story line."""
    total = sum(size for _, size in sizes.values()) or 1
    lines = []
    for kind, (files, size) in sorted(sizes.items(), key=lambda item: -item[1][1]):
        lines.append(f"  {kind:<13} {human(size):>10}  {100 * size / total:5.1f}%  {files:>7,} files")
    lines.append(f"  {'total':<13} {human(sum(s for _, s in sizes.values())):>10}")
    if stories:
        lines.append(f"  {human(total // stories)} per story ({stories:,} stories)")
    return lines


def measure(report: BuildReport, out: Path, config: SiteConfig) -> None:
    """`build`: the site's size on the summary line, and a warning past the budget."""
    report.size = total_size(out)
    warning = budget_warning(report.size, config)
    if warning:
        report.problems.append(Problem(CONFIG_FILE, warning, severity="warning"))


def budget_warning(size: int, config: SiteConfig, sizes: Mapping[str, tuple[int, int]] | None = None) -> str | None:
    """A warning past WARN_AT of size_budget_mb, naming the settings that shrink the site
    (the largest kinds' first, when the breakdown is known)."""
    budget = config.size_budget_mb * 1_000_000
    if size <= WARN_AT * budget:
        return None
    shrink = {
        "images": 'images = "remote" (readers load the publishers\' images; no copies in the site)',
        "search index": "search = false (no search index)",
        "listings": "a larger paginate (fewer listing pages, less repeated page markup)",
    }
    order = sorted(shrink, key=lambda kind: -(sizes or {}).get(kind, (0, 0))[1])
    if config.images != "local":
        order.remove("images")
    if not config.search:
        order.remove("search index")
    ways = "; ".join(shrink[kind] for kind in order)
    ways += "; or publish fewer stories: min_quality, or moving old article files out of content/"
    return (
        f"the site is {human(size)}, {100 * size / budget:.0f}% of size_budget_mb ({config.size_budget_mb} MB); "
        f"`site-builder size` shows what takes the room. To shrink it: {ways}"
    )


def site_size_report(options) -> tuple[list[str], str | None]:
    """`site-builder size`: the lines to print and the budget warning, for the output of
    `options` as it is (read, not built: the kinds come from the current plan). Raises
    ConfigError when there is no built site there."""
    from .builder import Builder, CacheMode
    from .routes import plan_site

    out = options.output
    if not out.is_dir():
        raise ConfigError(f"{out}: no built site here; run `site-builder build` first")
    model = Builder(options, cache=CacheMode.READ_ONLY).load_model()
    sizes = breakdown(out, page_kinds(plan_site(model.articles, model.config)))
    total = sum(size for _, size in sizes.values())
    lines = [f"{out}: {human(total)}, by kind of page:", *table(sizes, len(model.articles))]
    return lines, budget_warning(total, model.config, sizes)
