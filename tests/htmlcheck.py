"""Find anything executable in built pages, reading them with an HTML parser (as a
browser tokenises them: entities decoded, case folded), never by grepping markup."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

URL_ATTRIBUTES = {
    "href", "src", "action", "formaction", "poster", "data", "background", "cite", "srcset",
    "ping", "manifest", "longdesc", "usemap", "codebase", "archive", "lowsrc", "dynsrc", "xlink:href",
}
ACTIVE_TAGS = {"iframe", "frame", "frameset", "object", "embed", "applet", "base", "form", "svg", "math"}
SAFE_SCHEMES = {"", "http", "https"}


class _Scanner(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        self._check(tag, attrs)

    def _check(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script" and attributes.get("type") != "application/ld+json" and not _theme_script(attributes):
            self.found.append(f"<script {attrs}>")
        if tag in ACTIVE_TAGS and not (tag == "form" and _site_search_form(attributes)):
            self.found.append(f"<{tag}>")
        if tag == "meta" and (attributes.get("http-equiv") or "").lower() == "refresh":
            self.found.append("<meta http-equiv=refresh>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            for url in _urls(name, value):
                if scheme_of(url) not in SAFE_SCHEMES:
                    self.found.append(f"<{tag} {name}={url!r}>")


def _urls(name: str, value: str | None) -> list[str]:
    """The URLs an attribute holds: none, one, or each candidate of a srcset."""
    if name not in URL_ATTRIBUTES or value is None:
        return []
    return [part.split()[0] for part in value.split(",") if part.split()] if name == "srcset" else [value]


class _Links(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.urls += [url for name, value in attrs for url in _urls(name, value)]


def page_urls(html: str) -> list[str]:
    """Every URL a page points at (href, src, each srcset candidate, ...), entities decoded."""
    parser = _Links()
    parser.feed(html)
    parser.close()
    return parser.urls


def _theme_script(attributes: dict) -> bool:
    """The theme's own same-origin files (reader.js, search.js): no inline code, no host."""
    src = attributes.get("src") or ""
    parts = urlsplit(src)
    return not parts.scheme and not parts.netloc and "/assets/" in parts.path and parts.path.endswith(".js")


def _site_search_form(attributes: dict) -> bool:
    """The header's search box: a GET form to the site's own /search/ page."""
    action = urlsplit(attributes.get("action") or "")
    return attributes.get("role") == "search" and not action.scheme and not action.netloc and action.path.endswith("/search/")


def scheme_of(url: str) -> str:
    """The scheme a browser would use (WHATWG URL parsing): C0 controls and spaces trimmed
    from the ends, tabs and newlines removed everywhere."""
    cleaned = url.strip("".join(map(chr, range(33)))).replace("\t", "").replace("\n", "").replace("\r", "")
    try:
        return urlsplit(cleaned).scheme.lower()
    except ValueError:
        return "<unparsable>"


def executable_parts(html: str) -> list[str]:
    scanner = _Scanner()
    scanner.feed(html)
    scanner.close()
    return scanner.found


def executable_in_site(out: Path) -> dict[str, list[str]]:
    """Every built page with something executable in it, and what."""
    found = {}
    for path in sorted(out.rglob("*.html")):
        parts = executable_parts(path.read_text(encoding="utf-8"))
        if parts:
            found[str(path.relative_to(out))] = parts
    return found


class _ProseUrls(HTMLParser):
    """href/src values inside the theme's `<div class="prose">` (the Markdown body)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if self.depth:
            self.depth += tag == "div"
            self.urls += [value for name, value in attrs if name in ("href", "src") and value is not None]
        elif tag == "div" and "prose" in (attributes.get("class") or "").split():
            self.depth = 1

    def handle_endtag(self, tag):
        if self.depth and tag == "div":
            self.depth -= 1


def body_urls(html: str) -> list[str]:
    parser = _ProseUrls()
    parser.feed(html)
    return parser.urls
