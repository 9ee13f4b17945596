"""Markdown bodies to safe HTML, and the one rule for which URLs may reach href/src."""

from __future__ import annotations

from urllib.parse import urlsplit

import markdown
import nh3

# Tags an editor's commentary may use; everything else (script, iframe, style, forms,
# event handlers, javascript: URLs) is removed by nh3 (the Ammonia sanitiser).
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "dl", "dt", "em", "figcaption",
    "figure", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol",
    "p", "pre", "q", "s", "small", "strong", "sub", "sup", "table", "tbody", "td", "tfoot",
    "th", "thead", "tr", "u", "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "abbr": {"title"},
    "td": {"align"},
    "th": {"align"},
}
URL_SCHEMES = {"http", "https"}


def render_markdown(text: str) -> str:
    """Markdown -> sanitised HTML. Safe to mark `safe` in templates."""
    if not text.strip():
        return ""
    html = markdown.markdown(text, extensions=["extra", "sane_lists"], output_format="html")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
    ).strip()


def is_web_url(value: str) -> bool:
    """An absolute http(s) URL with a host: the only kind of outside link we publish."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return (
        parts.scheme in URL_SCHEMES
        and bool(parts.hostname)
        and not any(ch.isspace() or ord(ch) < 32 for ch in value)
    )
