"""IMPORT: feed bytes (Atom, RSS, JSON Feed) become stories, or the reason an entry cannot
be one. Pure: no files, no network. Every text is made plain here (markup, scripts and
event handlers stripped) and bounded; pages escape it again when they show it."""

from __future__ import annotations

import calendar
import html
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urljoin, urlsplit
from xml.sax import SAXParseException

import feedparser
import nh3

from .config import is_hostname
from .content import MAX_TOPICS
from .markup import is_web_url
from .models import Image, Provider


MAX_TITLE = 300


MAX_EXCERPT = 400  # a card's summary, not the article


MAX_TOPIC = 100


MAX_IMAGES = 4


JSON_FEED_VERSION = "https://jsonfeed.org/version/"


class FeedError(Exception):
    """A source that cannot be read as a feed at all; the message says which and why."""


@dataclass(frozen=True)
class Story:
    """One story to write: already plain text, bounded and validated."""

    title: str
    web_url: str
    published: datetime  # timezone-aware
    excerpt: str = ""
    provider: Provider | None = None
    topics: tuple[str, ...] = ()
    images: tuple[Image, ...] = ()


@dataclass(frozen=True)
class Invalid:
    """A feed entry that cannot become a story."""

    where: str  # "feed.xml: entry 3 (\"Title\")"
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


# -- text -------------------------------------------------------------------------------

def plain_text(markup: str | None, limit: int) -> str:
    """Markup -> one line of plain text, at most `limit` characters (cut at a word).

    nh3 with no allowed tags drops every tag (and the content of script/style); entities
    are decoded after. Entity-encoded markup ("&lt;script&gt;") decodes to markup, so
    this repeats until nothing changes: no tag survives, however deeply encoded.
    """
    text = markup or ""
    for _ in range(4):
        cleaned = html.unescape(nh3.clean(text, tags=set()))
        if cleaned == text:
            break
        text = cleaned
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    return (cut[: cut.rfind(" ")] if " " in cut[limit // 2 :] else cut).rstrip(" ,;:-") + "…"


def _topics(names: Iterable[str], extra: Sequence[str]) -> tuple[str, ...]:
    """Plain, bounded, one per name case-insensitively, at most as many as a record may
    have (as the site reads topics)."""
    topics, seen = [], set()
    for name in [*names, *extra]:
        name = plain_text(name, MAX_TOPIC)
        if name and name.casefold() not in seen:
            seen.add(name.casefold())
            topics.append(name)
    return tuple(topics[:MAX_TOPICS])


def provider_for(name: str, url: str) -> Provider | None:
    """The feed's title and the story link's domain (without "www.")."""
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    try:
        domain = host.encode("idna").decode("ascii") if host else ""
    except UnicodeError:
        domain = ""
    if not is_hostname(domain):
        domain = ""  # localhost, my_host: not a domain the site reads (content.py would warn)
    name = plain_text(name, 200)
    if not name and not domain:
        return None
    return Provider(name or domain, domain)


def _image(url, width=None, height=None) -> Image | None:
    if not isinstance(url, str) or not is_web_url(url.strip()):
        return None
    size = [_dimension(width), _dimension(height)]
    if None in size:
        size = [None, None]
    return Image(url.strip(), *size)


def _dimension(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= 20_000 else None


def _images(found: Iterable[Image | None]) -> tuple[Image, ...]:
    images: dict[str, Image] = {}
    for image in found:
        if image is not None and image.url not in images:
            images[image.url] = image
    return tuple(images.values())[:MAX_IMAGES]


# -- feeds -> stories -------------------------------------------------------------------

def parse_feed(data: bytes, source: str, extra_topics: Sequence[str] = ()) -> tuple[list[Story], list[Invalid]]:
    """A feed's entries as stories, plus the entries that cannot be one and why.
    Raises FeedError when `data` is no feed at all."""
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return _parse_json_feed(data, source, extra_topics)
    try:
        # A file object: given bytes or a str that names a path or URL, feedparser reads
        # that. It fetches nothing itself: no DOCTYPE entity survives, expat loads none.
        parsed = feedparser.parse(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - a parser failing on hostile bytes costs this source only
        raise FeedError(f"{source}: not a feed: the feed parser failed ({type(exc).__name__})") from None
    error = parsed.get("bozo_exception")
    bad_xml = isinstance(error, SAXParseException)
    # an empty body has no version at all; entries recovered from bad XML are kept
    if not parsed.entries and (bad_xml or not parsed.get("version")):
        why = f"bad XML: {error.getMessage()}" if bad_xml else error  # feedparser's edits shift its lines
        raise FeedError(f"{source}: not a feed: {why or 'no Atom, RSS or JSON Feed found'}")
    feed_title = parsed.feed.get("title", "")
    stories, invalid = [], []
    for number, entry in enumerate(parsed.entries, 1):
        summary = entry.get("summary") or (entry.get("content") or [{}])[0].get("value", "")
        images = [_image(m.get("url"), m.get("width"), m.get("height")) for m in entry.get("media_content", [])
                  if m.get("medium", "image") == "image" and not m.get("type", "image/").startswith(("video", "audio"))]
        images += [_image(t.get("url"), t.get("width"), t.get("height")) for t in entry.get("media_thumbnail", [])]
        images += [_image(e.get("href")) for e in entry.get("enclosures", []) if e.get("type", "").startswith("image/")]
        when = entry.get("published_parsed") or entry.get("updated_parsed")
        result = make_story(
            title=entry.get("title"),
            url=entry.get("link"),
            # feedparser gives every date as a UTC struct_time
            published=datetime.fromtimestamp(calendar.timegm(when), timezone.utc) if when else None,
            summary=summary,
            feed_title=feed_title,
            topics=[tag.get("term") or tag.get("label") or "" for tag in entry.get("tags", [])],
            extra_topics=extra_topics,
            images=images,
        )
        _sort(result, f"{source}: entry {number}", stories, invalid)
    return stories, invalid


def _parse_json_feed(data: bytes, source: str, extra_topics: Sequence[str]) -> tuple[list[Story], list[Invalid]]:
    """JSON Feed 1.0/1.1 (https://jsonfeed.org/version/1.1), which feedparser 6 does not read."""
    try:
        feed = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FeedError(f"{source}: not a feed: invalid JSON: {exc}") from None
    except (RecursionError, MemoryError) as exc:
        why = "nested too deeply" if isinstance(exc, RecursionError) else "too large"
        raise FeedError(f"{source}: not a feed: JSON {why} to read") from None
    if not isinstance(feed, dict) or not str(feed.get("version", "")).startswith(JSON_FEED_VERSION) \
            or not isinstance(feed.get("items"), list):
        raise FeedError(f"{source}: not a feed: JSON without a JSON Feed version and items")
    home = feed.get("home_page_url") if isinstance(feed.get("home_page_url"), str) else ""
    feed_title = feed.get("title") if isinstance(feed.get("title"), str) else ""
    stories, invalid = [], []
    for number, item in enumerate(feed["items"], 1):
        where = f"{source}: item {number}"
        if not isinstance(item, dict):
            invalid.append(Invalid(where, "not an object"))
            continue
        url = item.get("url") or item.get("external_url")
        date = item.get("date_published") or item.get("date_modified")
        attachments = item.get("attachments") if isinstance(item.get("attachments"), list) else []
        images = [_image(item.get("image")), _image(item.get("banner_image"))]
        images += [_image(a.get("url")) for a in attachments
                   if isinstance(a, dict) and str(a.get("mime_type", "")).startswith("image/")]
        tags = item.get("tags") if isinstance(item.get("tags"), list) else []
        result = make_story(
            title=item.get("title") if isinstance(item.get("title"), str) else None,
            url=urljoin(home, url) if isinstance(url, str) else None,
            published=_rfc3339(date),
            summary=next((item[k] for k in ("summary", "content_text", "content_html") if isinstance(item.get(k), str)), ""),
            feed_title=feed_title,
            topics=[t for t in tags if isinstance(t, str)],
            extra_topics=extra_topics,
            images=images,
        )
        _sort(result, where, stories, invalid)
    return stories, invalid


def _rfc3339(value) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    # RFC 3339 requires an offset; without one, read UTC as feedparser does for XML feeds.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def make_story(*, title, url, published, summary, feed_title, topics, extra_topics, images) -> Story | str:
    """A validated story, or why the entry cannot be one."""
    clean_title = plain_text(title, MAX_TITLE)
    if not clean_title:
        return "no title"
    url = url.strip() if isinstance(url, str) else ""
    if not url:
        return f"\"{clean_title}\": no link to the story"
    if not is_web_url(url):
        return f"\"{clean_title}\": the link is not an http(s) address ({url[:60]!r})"
    if published is None:
        return f"\"{clean_title}\": no valid published or updated date"
    return Story(
        title=clean_title,
        web_url=url,
        published=published,
        excerpt=plain_text(summary, MAX_EXCERPT),
        provider=provider_for(feed_title, url),
        topics=_topics(topics, extra_topics),
        images=_images(images),
    )


def _sort(result: Story | str, where: str, stories: list[Story], invalid: list[Invalid]) -> None:
    if isinstance(result, Story):
        stories.append(result)
    else:
        invalid.append(Invalid(where, result))
