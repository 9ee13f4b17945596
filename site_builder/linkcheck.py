"""Find internal links in a built site that escape its base path or point nowhere.

Pure: reads an output folder, returns problems, writes nothing. Every href, src, srcset,
poster, data and action in every HTML file is checked, and every URL in XML (feeds,
sitemaps) and JSON (search indexes) files, so outputs added later are checked too.
A link is internal when it is relative, root-relative, or absolute on the site's own
origin (when the base is a full URL); it must stay under the base path and name a file
(a folder counts when it holds index.html, as GitHub Pages serves it).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from .writer import output_files

URL_ATTRIBUTES = {"href", "src", "poster", "data", "action", "cite"}
SRCSET_ATTRIBUTES = {"srcset", "imagesrcset"}
NOT_LINKS = ("mailto:", "tel:", "data:", "javascript:", "#")
_ORIGIN = "http://site.invalid"  # a stand-in origin for resolving links when the base is a path
_URL_IN_TEXT = re.compile(r"^(?:https?://|/)\S*$")


@dataclass(frozen=True)
class BadLink:
    source: str  # file in the output folder, posix path
    url: str  # as written
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.url}: {self.reason}"


def check_links(out_dir: Path, base: str = "/") -> list[BadLink]:
    """`base` is the site's base path ("/repo/") or its full base URL."""
    parts = urlsplit(base)
    origin = f"{parts.scheme}://{parts.netloc}" if parts.netloc else _ORIGIN
    base_path = "/" + parts.path.strip("/") + "/" if parts.path.strip("/") else "/"
    files = set(output_files(out_dir))  # listed once: a link resolves by lookup, not a stat
    problems = []
    for rel in sorted(files):
        page_url = origin + base_path + rel
        for url in _urls_in(out_dir / rel):
            reason = _problem(url, page_url, origin, base_path, files)
            if reason:
                problems.append(BadLink(rel, url, reason))
    return problems


def _urls_in(path: Path) -> list[str]:
    suffix = path.suffix.lower()
    try:
        if suffix in (".html", ".htm"):
            collector = _HTMLLinks()
            collector.feed(path.read_text(encoding="utf-8"))
            collector.close()
            return collector.urls
        if suffix == ".xml":
            return _xml_urls(ET.parse(path).getroot())
        if suffix == ".json":
            return list(_json_urls(json.loads(path.read_text(encoding="utf-8"))))
    except (ET.ParseError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        return [f"<unreadable: {exc}>"]
    return []


class _HTMLLinks(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in URL_ATTRIBUTES:
                self.urls.append(value.strip())
            elif name in SRCSET_ATTRIBUTES:
                # "a.png 1x, b.png 2x": each candidate is a URL and an optional descriptor.
                self.urls += [c.split()[0] for c in value.split(",") if c.strip()]


def _xml_urls(root: ET.Element) -> list[str]:
    urls = []
    for element in root.iter():
        urls += [v.strip() for k, v in element.attrib.items() if k.rsplit("}", 1)[-1] in URL_ATTRIBUTES]
        text = (element.text or "").strip()
        if _URL_IN_TEXT.match(text):
            urls.append(text)
    return urls


def _json_urls(value) -> Iterator[str]:
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            yield from _json_urls(item)
    elif isinstance(value, str) and _URL_IN_TEXT.match(value.strip()):
        yield value.strip()


def _problem(url: str, page_url: str, origin: str, base_path: str, files: set[str]) -> str | None:
    if url.startswith("<unreadable"):
        return "file could not be parsed"
    if not url or url.lower().startswith(NOT_LINKS):
        return None
    target = urlsplit(urljoin(page_url, url))
    if f"{target.scheme}://{target.netloc}" != origin:
        return None  # another site
    path = unquote(target.path)
    if not path.startswith(base_path):
        return f"escapes the base path {base_path}"
    rel = path[len(base_path):]
    if any(part == ".." for part in rel.split("/")):
        return f"escapes the base path {base_path}"
    # A file, or a folder holding index.html (as GitHub Pages serves it).
    if rel in files or (rel.rstrip("/") + "/index.html").lstrip("/") in files:
        return None
    return "points nowhere"
