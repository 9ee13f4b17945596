"""MODEL: a story's identity is its URL, normalised; two files with one URL are one story."""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit

from .models import Article, Problem


# A URL already in normal form: lower-case http(s) scheme and host, a path, no fragment,
# no empty query. Most are; they skip urllib (a 100,000-story site has 300,000 URLs).
_NORMAL_URL = re.compile(r"https?://[a-z0-9.-]+(?::[0-9]+)?/[^#?\s]*(?:\?[^#\s]+)?\Z")


def normalize_url(url: str) -> str:
    """The identity of a story's URL: scheme and host are case-insensitive, fragments ignored."""
    return url if _NORMAL_URL.match(url) else normalize_url_fully(url)


def normalize_url_fully(url: str) -> str:
    """normalize_url through urllib, for any URL: what the fast path must agree with."""
    parts = urlsplit(url.strip())
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, ""))


def drop_duplicate_urls(articles: Sequence[Article]) -> tuple[list[Article], list[Problem]]:
    """One card per story: the first file (by path) with a given webUrl wins."""
    kept: dict[str, Article] = {}
    warnings = []
    for article in sorted(articles, key=lambda a: a.source):
        key = normalize_url(article.web_url)
        if key in kept:
            warnings.append(
                Problem(
                    article.source,
                    f"same webUrl as {kept[key].source}; only that one is published",
                    severity="warning",
                )
            )
        else:
            kept[key] = article
    return list(kept.values()), warnings
