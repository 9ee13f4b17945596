"""Slugs: readable ASCII path segments, transliterated, bounded, never climbing out."""

from __future__ import annotations

import functools
import re

from anyascii import anyascii

MAX_SLUG_LENGTH = 64
# Symbols that carry meaning in tech names, so C++ and C# do not both become "c".
_SYMBOL_WORDS = {"+": " plus ", "#": " sharp ", "&": " and ", "@": " at "}
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


@functools.lru_cache(maxsize=1 << 16)
def slugify(text: str, fallback: str = "story", max_length: int = MAX_SLUG_LENGTH) -> str:
    ascii_text = anyascii(text).lower().replace("'", "")  # "Europe's" -> "europes"
    for symbol, word in _SYMBOL_WORDS.items():
        ascii_text = ascii_text.replace(symbol, word)
    slug = _NON_ALNUM.sub("-", ascii_text).strip("-")
    if len(slug) > max_length:
        cut = slug[: max_length + 1]
        slug = cut[: cut.rfind("-")] if "-" in cut[max_length // 2 :] else slug[:max_length]
        slug = slug.strip("-")
    return slug or fallback
