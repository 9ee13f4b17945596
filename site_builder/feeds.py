"""RENDER (feeds): Atom, JSON Feed 1.1 and the sitemap, built as data and serialised.
Strings out.

Atom is written with the standard library's ElementTree (escaping by construction).
feedgen 1.0.0, the usual library, drops `rel` and `type` from entry links, which would
turn each story's source link into a second "alternate" link.

Entry ids are the stories' source URLs: they stay the same when a title edit changes
our permalink or the site moves to another base_url, so readers never see a story twice.
"""

from __future__ import annotations

import json
from html import escape
from collections.abc import Callable, Mapping
from datetime import datetime, timezone

from xml.etree.ElementTree import Element, SubElement, indent, tostring

from . import __version__
from .config import SiteConfig
from .slugs import slugify

ATOM_NS = "http://www.w3.org/2005/Atom"

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def atom(context: Mapping, config: SiteConfig, link: Callable[[str], str]) -> str:
    feed = Element("feed", {"xmlns": ATOM_NS, "xml:lang": config.language})
    _text(feed, "id", _feed_id(context, config, link))
    _text(feed, "title", context["title"])
    _text(feed, "subtitle", config.description)
    _text(feed, "updated", (context["updated"] or EPOCH).isoformat())
    SubElement(feed, "link", {"rel": "alternate", "type": "text/html", "href": link(context["alternate"])})
    SubElement(feed, "link", {"rel": "self", "type": "application/atom+xml", "href": link(context["self"])})
    _text(feed, "generator", "site-builder", version=__version__)
    for entry in context["entries"]:
        article = entry.article
        item = SubElement(feed, "entry")
        _text(item, "id", article.web_url)
        _text(item, "title", article.title)
        SubElement(item, "link", {"rel": "alternate", "type": "text/html", "href": link(entry.path)})
        SubElement(item, "link", {"rel": "related", "type": "text/html", "href": article.web_url})
        _text(item, "published", article.published.isoformat())
        _text(item, "updated", article.published.isoformat())
        if article.excerpt:
            _text(item, "summary", article.excerpt)
        for topic in entry.topics:
            SubElement(item, "category", {"term": topic.name, "label": topic.name, "scheme": link(topic.path)})
        if entry.source:
            author = SubElement(item, "author")
            _text(author, "name", entry.source.name)
            if entry.source.domain:
                _text(author, "uri", f"https://{entry.source.domain}/")
    indent(feed, space=" ")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + tostring(feed, encoding="unicode") + "\n"


def _text(parent: Element, tag: str, text: str, **attributes) -> Element:
    element = SubElement(parent, tag, attributes)
    element.text = text
    return element


def _feed_id(context: Mapping, config: SiteConfig, link: Callable[[str], str]) -> str:
    """The feed's permanent id: its absolute URL, or a stable URN when there is no base_url."""
    url = link(context["self"])
    return url if config.base_url else f"urn:site-builder:{slugify(config.title)}:{context['self']}"


def json_feed(context: Mapping, config: SiteConfig, link: Callable[[str], str]) -> str:
    items = []
    for entry in context["entries"]:
        article = entry.article
        item = {
            "id": article.web_url,
            "url": link(entry.path),
            "external_url": article.web_url,
            "title": article.title,
            "content_text": article.excerpt or article.title,
            "date_published": article.published.isoformat(),
        }
        if article.excerpt:
            item["summary"] = article.excerpt
        if article.image:
            item["image"] = article.image.url
        if entry.topics:
            item["tags"] = [topic.name for topic in entry.topics]
        if entry.source:
            author = {"name": entry.source.name}
            if entry.source.domain:
                author["url"] = f"https://{entry.source.domain}/"
            item["authors"] = [author]
        items.append(item)
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": context["title"],
        "home_page_url": link(context["alternate"]),
        "feed_url": link(context["self"]),
        "description": config.description,
        "language": config.language,
        "items": items,
    }
    return json.dumps(document, ensure_ascii=False, indent=1) + "\n"


def sitemap(
    urls, abs_url: Callable[[str], str], iso_date: Callable[[datetime], str], index: bool = False,
    known: dict[tuple, str] | None = None,
) -> str:
    """The sitemaps.org urlset: each page's absolute URL and, when it shows stories, the
    newest one's date. Written directly: a template loop over every page is slow.
    index: the sitemapindex of a site's sitemap parts instead, in the same shape.
    known: each (path, lastmod)'s element as written before with the same abs_url and
    iso_date (a long-lived preview's), taken from it and added to it."""
    root, item = ("sitemapindex", "sitemap") if index else ("urlset", "url")
    known = {} if known is None else known
    parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n']
    for key in urls:
        text = known.get(key)
        if text is None:
            path, lastmod = key
            text = known[key] = (
                f"  <{item}>\n    <loc>{escape(abs_url(path), quote=False)}</loc>\n"
                + (f"    <lastmod>{iso_date(lastmod)}</lastmod>\n" if lastmod else "")
                + f"  </{item}>\n"
            )
        parts.append(text)
    parts.append(f"</{root}>\n")
    return "".join(parts)
