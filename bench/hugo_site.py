"""Turn a site-builder site folder into an equivalent Hugo site, for the benchmark.

Every article file is read with site-builder's own reader (so Hugo gets exactly the
stories we publish: same drafts, same validation), and written as
`content/posts/<n>.md` with YAML front matter plus the article's raw Markdown note, so
Hugo does its own Markdown work as we do ours. Layouts live in bench/hugo_theme/ and
mirror our templates (see bench/README.md for what is and is not the same work).

    python bench/hugo_site.py SITE HUGO_SITE      # convert once, then: hugo -s HUGO_SITE
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
THEME_DIR = Path(__file__).resolve().parent / "hugo_theme"
BASE_URL = "https://example.org/"
SITE_TITLE = "Tech News"
SITE_DESCRIPTION = "Curated technology news."
PAGER_SIZE = 20
FEED_SIZE = 50

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from site_builder.content import read_article  # noqa: E402
from site_builder.slugs import slugify  # noqa: E402
from site_builder.inputs import find_article_files  # noqa: E402
from site_builder.identity import normalize_url  # noqa: E402
from site_builder.yamlfm import split_and_parse  # noqa: E402

HUGO_CONFIG = f"""\
baseURL = "{BASE_URL}"
title = "{SITE_TITLE}"
locale = "en"
timeZone = "UTC"
enableRobotsTXT = true
disableKinds = ["section"]   # we have no /posts/ listing; stories live under dated URLs

[params]
description = "{SITE_DESCRIPTION}"

[pagination]
pagerSize = {PAGER_SIZE}
disableAliases = true        # no /page/1/ redirect pages (we have none either)

[services.rss]
limit = {FEED_SIZE}

[taxonomies]
topic = "topics"
provider = "providers"
month = "archive"            # emulates our monthly archives: /archive/<yyyy-mm>/

[permalinks.page]
posts = "/:year/:month/:day/:slug/"

[outputs]
home = ["html", "rss", "json"]
taxonomy = ["html"]
term = ["html", "rss"]

[related]
includeNewer = true
toLower = true
  [[related.indices]]
  name = "topics"
  weight = 100

[markup.goldmark.renderer]
unsafe = false               # raw HTML in notes is dropped, as our sanitiser does
"""


@dataclass(frozen=True)
class Conversion:
    hugo_dir: Path
    articles: int  # stories written (non-draft, not in the future, unique webUrl)
    drafts: int
    skipped: int  # invalid files, future-dated stories, duplicate webUrls
    topics: int
    providers: int
    months: int


def convert_site(site_dir: Path, hugo_dir: Path, now: dt.datetime | None = None) -> Conversion:
    """Write a Hugo site for the articles under site_dir/content into hugo_dir (replaced)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    if hugo_dir.exists():
        shutil.rmtree(hugo_dir)
    posts_dir = hugo_dir / "content" / "posts"
    posts_dir.mkdir(parents=True)
    (hugo_dir / "hugo.toml").write_text(HUGO_CONFIG, encoding="utf-8")
    shutil.copytree(THEME_DIR / "layouts", hugo_dir / "layouts")
    static = REPO / "static"  # the same stylesheet our theme ships
    if static.is_dir():
        shutil.copytree(static, hugo_dir / "static")
    # The taxonomies' term lists get our titles; only topic terms have feeds on our site,
    # so provider and month term pages are HTML only.
    for section, title, term_outputs in (("topics", "Topics", None), ("providers", "Sources", "html"), ("archive", "Archive", "html")):
        cascade = f"cascade:\n  - outputs: [{term_outputs}]\n    target:\n      kind: term\n" if term_outputs else ""
        (hugo_dir / "content" / section).mkdir(parents=True)
        (hugo_dir / "content" / section / "_index.md").write_text(f"---\ntitle: {title}\n{cascade}---\n", encoding="utf-8")

    content_dir = site_dir / "content"
    stories = []
    drafts = skipped = 0
    seen_urls = set()
    for path in find_article_files(content_dir):
        rel = path.relative_to(site_dir).as_posix()
        result = read_article(path, rel, dt.timezone.utc)
        article = result.article
        if article is None:
            skipped += 1
            continue
        if article.draft:
            drafts += 1
            continue
        key = normalize_url(article.web_url)
        if article.published > now or key in seen_urls:
            skipped += 1
            continue
        seen_urls.add(key)
        body = split_and_parse(path.read_text(encoding="utf-8-sig")).body
        stories.append((article, body))

    on_site = {normalize_url(a.web_url): f"p{n}" for n, (a, _) in enumerate(stories)}
    topics, providers, months = set(), set(), set()
    for n, (article, body) in enumerate(stories):
        front = _front_matter(article, n, on_site)
        topics.update(t.casefold() for t in article.topics)
        if article.provider and article.provider.domain:
            providers.add(article.provider.domain)
        months.add(front["archive"][0])
        text = "---\n" + json.dumps(front, ensure_ascii=False, indent=1) + "\n---\n" + body
        # JSON is YAML: a JSON object between the fences is valid YAML front matter.
        (posts_dir / f"p{n}.md").write_text(text, encoding="utf-8")
    return Conversion(hugo_dir, len(stories), drafts, skipped, len(topics), len(providers), len(months))


def _front_matter(article, n: int, on_site: dict[str, str]) -> dict:
    published = article.published.astimezone(dt.timezone.utc)
    front = {
        "title": article.title,
        "date": published.isoformat().replace("+00:00", "Z"),
        "draft": article.draft,
        "slug": f"{slugify(article.title)}-{n}",  # -n: Hugo does not resolve slug collisions
        "topics": list(article.topics),
        "archive": [f"{published:%Y-%m}"],
        "webUrl": article.web_url,
        "excerpt": article.excerpt,
    }
    if article.provider:
        front["provider"] = {"name": article.provider.name, "domain": article.provider.domain}
        if article.provider.domain:
            front["providers"] = [article.provider.domain]
    if article.amp_url:
        front["ampUrl"] = article.amp_url
    if article.images:
        front["images"] = [{"url": i.url, "width": i.width, "height": i.height} for i in article.images]
    related = []
    for story in article.related:
        entry = {"title": story.title, "url": story.url}
        if story.provider:
            entry["provider"] = story.provider.name
        if story.published:
            entry["published"] = story.published.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
        internal = on_site.get(normalize_url(story.url))
        if internal:
            entry["key"] = internal  # links to our own page, like site-builder's "On this site"
        related.append(entry)
    if related:
        front["related"] = related
    return front


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit("usage: python bench/hugo_site.py SITE HUGO_SITE")
    result = convert_site(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"wrote {result.articles} stories ({result.drafts} drafts and {result.skipped} others left out) to {result.hugo_dir}")


if __name__ == "__main__":
    main()
