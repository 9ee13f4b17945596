"""RENDER: the Jinja environment and its helpers. Pages in, HTML strings out; no files
but the compiled templates' cache.

A site's own templates are code from wherever the site came from, so they run in Jinja's
sandbox (no attribute starting with `_`, no call that changes a list or dict): they
reach the values given to them, never the machine. They are read only from the files
`theme_files` lists, and compiled ones only from a cache signed with the user's key.
"""

from __future__ import annotations

import contextlib
import json
import operator
import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from itertools import compress, repeat
from pathlib import Path
from urllib.parse import urlsplit

import jinja2
from jinja2.loaders import split_template_path
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from markupsafe import Markup

from . import feeds
from .config import SiteConfig
from .errors import BuildError
from .cache import file_stamp, replace_file
from .fingerprint import FIRST, LEFT, NO_PAIR
from .markup import rebase_links
from .pages import ARTICLE, ATOM, JSON_FEED, SITEMAP, SITEMAP_INDEX, Page, SitePlan
from .parallel import map_chunks
from .search import shard_count, shard_folder
from .signing import Untrusted, open_regular, seal, unseal
from .theme import listed_files


class RenderError(BuildError):
    """A template failed; the message names the template, line and page."""


class Renderer:
    def __init__(
        self,
        config: SiteConfig,
        plan: SitePlan,
        template_dirs: list[Path],
        asset_versions: Mapping[str, str],
        build_options: Mapping[str, bool],
        bytecode_cache: SignedBytecodeCache | None = None,
        previous: tuple | None = None,
        site_wide: str = "",
    ):
        """template_dirs: the first holding a name wins. previous: the last build's memo()
        (serve keeps it). site_wide: the site-wide part of the page fingerprints (templates,
        settings, assets, navigation, see Builder._renderer); while it is the same, a
        long-lived preview keeps this renderer for its next build (for_plan)."""
        self.config = config
        self.env = Sandbox(
            loader=ListedLoader(template_dirs),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            # Compiled templates are reused by the next build (Jinja checks they are current).
            bytecode_cache=bytecode_cache,
        )
        # Memos owned by this renderer: a class-level lru_cache would keep every renderer
        # (and its whole plan) alive in a long-running preview.
        # card() and item(): (macro, id(entry), *arguments) -> (entry, HTML). A card shows
        # its Entry alone (and the site-wide part), and an unchanged story's Entry is the
        # very same object in the next plan (plan_reuse); holding it keeps its id from
        # being reused.
        self.site_wide = site_wide
        self._shown: dict[tuple, tuple[object, Markup]] = {}
        self._dates: dict[datetime, str] = {}
        self._iso_dates: dict[datetime, str] = {}
        # Sitemap elements by (path, lastmod), kept from build to build by a long-lived
        # preview while the base URL and time zone stay: an edit changes a few of 11,500
        # (10,000 stories), and writing them all took 20 ms of a 168 ms pages-first build.
        # Dropped once twice the site's pages, so a long session's old paths do not pile up.
        self._sitemap_settings = (config.base_url, config.timezone)
        known = previous[1] if previous is not None and previous[0] == self._sitemap_settings else {}
        self._sitemap_elements: dict[tuple, str] = known if len(known) <= 2 * len(plan.pages) else {}
        self._base_path = config.base_path
        origin = urlsplit(config.base_url) if config.base_url else None
        self._origin = f"{origin.scheme}://{origin.netloc}" if origin else None  # abs_url runs for every sitemap entry
        self._tz = config.tz
        self.env.filters["date"] = self.display_date
        self.env.filters["isodate"] = self.iso_date
        self.env.filters["jsonld"] = jsonld
        self.env.filters["rebase"] = lambda html: rebase_links(html, config.base_path)
        self.env.globals.update(
            site=config,
            nav_topics=plan.nav_topics,
            site_feeds=plan.feeds,
            url_for=self.url_for,
            abs_url=self.abs_url,
            news_article=self.news_article,
            card=self.card,
            item=self.item,
            # The main bundle's script, and the other shards the browser merges into it.
            search_bundle=self.url_for(f"/{shard_folder(0)}/pagefind.js"),
            search_shards=[self.url_for(f"/{shard_folder(n)}/") for n in range(1, shard_count(len(plan.entries), config))],
            asset_url=lambda name: self.url_for("/" + name) + (
                f"?v={asset_versions[name]}" if name in asset_versions else ""
            ),
            options=build_options,
        )

    def memo(self) -> tuple:
        """What the next build's Renderer may take over (its `previous`)."""
        return self._sitemap_settings, self._sitemap_elements

    def for_plan(self, plan: SitePlan) -> Renderer:
        """This renderer, for the next build of a long-lived preview whose site-wide part
        is the same (so is everything it was made from): its templates stay loaded and
        its cards made (a publish renders pages showing 100 cards: 30 ms when the
        templates load again and the cards are made anew). Memos past a few times the
        site's size start again, so a long session's old entries do not pile up."""
        if len(self._shown) > 4 * len(plan.entries) + 100:
            self._shown = {}
        if len(self._sitemap_elements) > 2 * len(plan.pages):
            self._sitemap_elements = {}
        return self

    def url_for(self, path: str) -> str:
        """The one place site paths become links: under the base path, root-relative."""
        return self._base_path + path.lstrip("/")

    def card(self, entry, heading: str = "h2", compact: bool = False, link_title: bool = True) -> Markup:
        """The story card (partials/card.html) for each way it is shown: a story appears
        on many pages (home, topics, source, month, "more on")."""
        return self._once("partials/card.html", "card", entry, heading, compact, link_title)

    def item(self, entry, heading: str = "h2") -> Markup:
        """A story's line in a river of headlines (partials/river.html)."""
        return self._once("partials/river.html", "river_item", entry, heading)

    def _once(self, template: str, macro: str, entry, *args) -> Markup:
        """A macro's HTML for one story, made once per build for each set of arguments."""
        key = (macro, id(entry), *args)
        shown = self._shown.get(key)
        if shown is None:
            shown = self._shown[key] = (entry, getattr(self.env.get_template(template).module, macro)(entry, *args))
        return shown[1]

    def display_date(self, dt: datetime) -> str:
        text = self._dates.get(dt)
        if text is None:
            local = dt.astimezone(self._tz)
            text = self._dates[dt] = f"{local.day} {local:%b %Y}"
        return text

    def iso_date(self, dt: datetime) -> str:
        text = self._iso_dates.get(dt)
        if text is None:
            text = self._iso_dates[dt] = dt.astimezone(self._tz).isoformat()
        return text

    def abs_url(self, path: str) -> str | None:
        """The absolute URL of a site path; None without a base_url to anchor it."""
        if self._origin is None:
            return None
        return self._origin + self.url_for(path)

    def feed_link(self, path: str) -> str:
        """Feeds are read away from the site: absolute URLs where we can make them."""
        return self.abs_url(path) or self.url_for(path)

    def news_article(self, entry) -> dict:
        """schema.org NewsArticle for a story page (serialise with the jsonld filter)."""
        article = entry.article
        data = {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": article.title,
            "datePublished": article.published.isoformat(),
            "url": self.abs_url(entry.path) or self.url_for(entry.path),
            "isBasedOn": article.web_url,
        }
        if article.excerpt:
            data["description"] = article.excerpt
        if article.image:
            image = {"@type": "ImageObject", "url": article.image.url}
            if article.image.width:
                image.update(width=article.image.width, height=article.image.height)
            data["image"] = image
        if entry.source:
            organization = {"@type": "Organization", "name": entry.source.name}
            if entry.source.domain:
                organization["url"] = f"https://{entry.source.domain}/"
            data["author"] = organization
            data["publisher"] = organization
        if entry.topics:
            data["keywords"] = [topic.name for topic in entry.topics]
        return data

    def render(self, page: Page) -> str:
        if page.template == ATOM:
            return feeds.atom(page.context, self.config, self.feed_link)
        if page.template == JSON_FEED:
            return feeds.json_feed(page.context, self.config, self.feed_link)
        if page.template == SITEMAP:
            return feeds.sitemap(page.context["urls"].items, self.abs_url, self.iso_date, known=self._sitemap_elements)
        if page.template == SITEMAP_INDEX:
            return feeds.sitemap(page.context["urls"].items, self.abs_url, self.iso_date, index=True)
        try:
            template = self.env.get_template(page.template)
            return template.render(page.context, page=page)
        except jinja2.TemplateSyntaxError as exc:
            raise RenderError(f"{exc.filename or exc.name}:{exc.lineno}: template error: {exc.message}") from None
        except jinja2.TemplateNotFound as exc:
            raise RenderError(f"template not found: {exc.name} (needed for {page.path})") from None
        except SecurityError as exc:  # an unsafe attribute (an Undefined that raises this when used) or call
            raise RenderError(
                f"{_template_location(exc)}template error while rendering {page.path}: {exc} "
                f"(templates run sandboxed: no attributes starting with '_', no changing lists or dicts)"
            ) from None
        except jinja2.UndefinedError as exc:
            raise RenderError(f"{_template_location(exc)}template error while rendering {page.path}: {exc.message}") from None


_JSON_IN_SCRIPT = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def jsonld(value) -> Markup:
    """JSON for a <script type="application/ld+json"> block. `<`, `>` and `&` become
    \\u003c..., so no text (`</script>`, `<!--`) can end the block; JSON readers see the same data."""
    return Markup(json.dumps(value, ensure_ascii=False).translate(_JSON_IN_SCRIPT))



class Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, its verdict on an attribute kept by (the object's type,
    the attribute's name), all that verdict depends on (a few isinstance tests): checked
    on every access, it made a 4,000-story cold build take a third more CPU."""

    def __init__(self, **options):
        super().__init__(**options)
        self._verdicts: dict[tuple[type, str], bool] = {}

    def is_safe_attribute(self, obj, attr: str, value) -> bool:
        key = (type(obj), attr)
        verdict = self._verdicts.get(key)
        if verdict is None:
            verdict = self._verdicts[key] = super().is_safe_attribute(obj, attr, value)
        return verdict


class ListedLoader(jinja2.BaseLoader):
    """Templates by name from the files `listed_files` lists in each folder, the first
    folder's over the next's: nothing else (a name with `..`, a link the listing left
    out) is ever opened. Current while the file's mtime is, as FileSystemLoader does."""

    def __init__(self, folders: list[Path]):
        self.files: dict[str, str] = {}
        for folder in reversed(folders):
            self.files.update(listed_files(folder))

    def get_source(self, environment, template: str):
        path = self.files.get("/".join(split_template_path(template)))
        if path is None:
            raise jinja2.TemplateNotFound(template)
        try:
            with open(path, encoding="utf-8") as handle:
                source = handle.read()
                mtime = os.fstat(handle.fileno()).st_mtime
        except OSError:
            raise jinja2.TemplateNotFound(template) from None

        def uptodate() -> bool:
            try:
                return os.path.getmtime(path) == mtime
            except OSError:
                return False

        return source, os.path.normpath(path), uptodate

    def list_templates(self) -> list[str]:
        return sorted(self.files)


class SignedBytecodeCache(jinja2.BytecodeCache):
    """Compiled templates in `folder`, each file sealed with the user's key for this
    sandbox: one that does not verify is never unmarshalled (nor its checksum, a pickle,
    loaded). Such files, found when the cache is opened, are removed, and `foreign` says
    so (the build notes it once). Jinja's own file names, so a planted one is found."""

    MAX_BYTES = 64 << 20  # a compiled template is kilobytes; a larger file is not ours

    def __init__(self, folder: Path, key: bytes):
        self.folder, self.key = folder, key
        self._verified: dict[str, bytes] = {}  # by bucket key: what _sweep read and checked
        self.foreign = self._sweep()

    def _path(self, bucket_key: str) -> Path:
        return self.folder / f"__jinja2_{bucket_key}.cache"

    def _read(self, path, bucket_key: str) -> bytes:
        with open_regular(path, self.MAX_BYTES) as handle:
            return unseal(self.key, _purpose(bucket_key), handle.read())

    def _sweep(self) -> bool:
        found = False
        with contextlib.suppress(OSError), os.scandir(self.folder) as entries:
            for entry in entries:
                name = entry.name
                if not (name.startswith("__jinja2_") and name.endswith(".cache")):
                    continue  # never read
                bucket_key = name[len("__jinja2_") : -len(".cache")]
                try:
                    self._verified[bucket_key] = self._read(entry.path, bucket_key)
                except Untrusted:
                    found = True
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)
                except OSError:
                    continue
        return found

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        data = self._verified.pop(bucket.key, None)  # read once: checked when the cache opened
        if data is None:
            try:
                data = self._read(self._path(bucket.key), bucket.key)
            except (OSError, Untrusted):
                return  # none yet, or not ours: compiled afresh (and saved over it)
        bucket.bytecode_from_string(data)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        sealed = seal(self.key, _purpose(bucket.key), bucket.bytecode_to_string())
        replace_file(self._path(bucket.key), lambda handle: handle.write(sealed))


def _purpose(bucket_key: str) -> str:
    # Code compiled for another environment class (outside the sandbox) never verifies here.
    return f"{ImmutableSandboxedEnvironment.__name__} template {bucket_key}"


def _template_location(exc: Exception) -> str:
    """Jinja puts template frames in the traceback with the template's file name."""
    tb = exc.__traceback__
    location = ""
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith((".html", ".xml", ".txt", ".json")):
            location = f"{filename}:{tb.tb_lineno}: "
        tb = tb.tb_next
    return location


def render_pages(
    writer, plan: SitePlan, renderer: Renderer, fingerprints, state, out, check_files=True, progress=None,
    pages_first=False, edited: set[str] | None = None,
) -> tuple[dict[str, tuple], int, int]:
    """Render the pages whose inputs changed (or whose file is not the one we wrote, when
    check_files: 11,500 stat calls at 10,000 stories); keep the rest. Returns
    {output: (fingerprint, stamp or None until written)}, the count rendered and the count
    left for the next build. Each page's bytes go to `writer` (a SiteWriter: rendering
    hands files over, it never writes its own).

    pages_first (the preview, after an edit): listing pages past the first, feeds and the
    sitemap (_looked_at_later) that exist are kept as they are, marked LEFT, for the next build. A
    story published at the top of a listing shifts every later page of it (500 pages at
    10,000 stories); the story's own page and the first pages are what the editor looks at.
    edited: the stories whose files the edit changed, when only stories changed (not the
    templates, settings or assets): the pages of other stories are left too (those whose
    "more on" or related links now show an edited story: a dozen renders for each publish)."""
    new_pages: dict[str, tuple] = {}
    to_render: list[int] = []
    kept: list[str] = []
    later = 0
    base = f"{out}/"  # plain strings: pathlib would cost a tenth of a second at 10,000 stories
    last = state.pages

    only_stories = bool(edited) and fingerprints.same_site_wide  # an image that arrived edits no story

    def left_for_later(page) -> bool:
        if page.output not in last:
            return False
        if page.template == ARTICLE:
            return only_stories and page.sources[0] not in edited
        return _looked_at_later(page)

    pages = plan.pages
    page_fingerprints = fingerprints.pages(pages, left_for_later if pages_first else None)
    indices: Iterable[int] = range(len(pages))
    if not check_files:  # C loops keep the pages whose fingerprint is the one last written
        outputs = list(map(operator.attrgetter("output"), pages))
        knowns = list(map(last.get, outputs, repeat(NO_PAIR)))  # (None, None): not written last time
        same = list(map(operator.and_, map(bool, page_fingerprints), map(operator.eq, map(FIRST, knowns), page_fingerprints)))
        kept += compress(outputs, same)
        new_pages.update(compress(zip(outputs, knowns), same))
        indices = compress(indices, map(operator.not_, same))
    for index in indices:
        page, fingerprint = pages[index], page_fingerprints[index]
        rel = page.output
        known = last.get(rel)
        if fingerprint and known and known[0] == fingerprint and (  # None: always rendered; LEFT: changed
            not check_files or file_stamp(base + rel) == known[1]
        ):
            kept.append(rel)
            new_pages[rel] = known
        elif pages_first and known and left_for_later(page):
            kept.append(rel)
            new_pages[rel] = (LEFT, known[1])
            later += 1
        else:
            to_render.append(index)
            if fingerprint is not None:
                new_pages[rel] = (fingerprint, None)
    writer.keep_all(kept)

    def render(indices):
        # In a worker this writes into the shared staging folder and reports back.
        local = writer.for_worker()
        for i in indices:
            page = plan.pages[i]
            local.add(page.output, renderer.render(page).encode("utf-8"))
        return local.result.written, local.result.unchanged, sorted(local.produced)

    # Story pages, then the rest, each by workers of their own. A listing, feed or the
    # sitemap shows stories from all over the site, so a worker rendering them writes to
    # (and so copies, memory page by page) most of the model; one that renders story
    # pages only never does. At 10,000 stories the process tree's peak went from 390 to
    # 355 MB, for about 2% more time (one more pool of workers to start).
    story_pages = [i for i in to_render if plan.pages[i].template == ARTICLE]
    other_pages = [i for i in to_render if plan.pages[i].template != ARTICLE]
    for before, part in ((0, story_pages), (len(story_pages), other_pages)):
        steps = progress and (lambda done, _, before=before: progress(before + done, len(to_render)))
        for written, unchanged, produced in map_chunks(render, part, steps) if part else ():
            writer.merge(written, unchanged, produced)
    return new_pages, len(to_render), later



def _looked_at_later(page) -> bool:
    """What the editor does not look at right after an edit: the listing pages past the
    first, the feeds (feed readers poll them) and the sitemap (its every URL is read to
    fingerprint it; at 10,000 stories that is 11,500, and a new story changes it)."""
    if page.template in (SITEMAP, SITEMAP_INDEX, ATOM, JSON_FEED):
        return True
    pagination = page.context.get("pagination")
    return pagination is not None and pagination.number > 1
