"""MODEL: the frozen data the rest of the pipeline passes around. No I/O here."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import datetime

MAX_ARTICLE_BYTES = 2 * 1024 * 1024  # real records are a few KB; bound the work per file

# What a terminal or a page could take for something other than text: C0 controls (ESC
# starts escape sequences, BEL, CR), DEL, the C1 controls (0x9b is a one-byte CSI), the
# Unicode line separators, the bidi marks, overrides and isolates that make text read in
# another order than it is stored, and lone surrogates (a file name that is not UTF-8),
# which cannot even be encoded for output.
_OTHERS = "\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_UNSAFE = re.compile(f"[\x00-\x1f{_OTHERS}]")
_UNSAFE_BUT_LINES = re.compile(f"[\x00-\x08\x0b-\x1f{_OTHERS}]")


def _escaped(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, newlines: bool = False) -> str:
    """Text safe to print or show: every control or bidi character written as an escape
    (\\x1b, \\u202e), so a file name or a quoted value cannot move the cursor, retitle
    the terminal, fake a line of output or disguise itself. newlines=True keeps line
    breaks and tabs (a multi-line message); else a message stays on its one line."""
    return (_UNSAFE_BUT_LINES if newlines else _UNSAFE).sub(_escaped, text)


def compact_pickle(cls):
    """Pickle as (class, field values): unpickling then runs the generated __init__
    instead of the generic frozen-dataclass __setstate__, which looks the fields up again
    for every object. The build cache holds 100,000 of these at 10,000 stories."""
    names = tuple(f.name for f in fields(cls))

    def __reduce__(self):
        return cls, tuple(getattr(self, name) for name in names)

    cls.__reduce__ = __reduce__
    return cls


@compact_pickle
@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    domain: str = ""


@compact_pickle
@dataclass(frozen=True, slots=True)
class Image:
    url: str
    width: int | None = None
    height: int | None = None


@compact_pickle
@dataclass(frozen=True, slots=True)
class RelatedStory:
    """An entry of an article's `related` list: another story, usually on another site."""

    title: str
    url: str
    excerpt: str = ""
    published: datetime | None = None
    provider: Provider | None = None


@compact_pickle
@dataclass(frozen=True, slots=True)
class Article:
    source: str  # path relative to the site folder, for messages and stable ordering
    title: str
    web_url: str
    published: datetime  # always timezone-aware
    excerpt: str = ""
    body_html: str = ""  # rendered and sanitised Markdown
    slug: str = ""  # from the `slug` field, else derived from the title
    draft: bool = False
    rejected: bool = False  # turned down by an editor: never published, even with --drafts
    amp_url: str = ""
    category: str = ""
    type: str = ""
    quality: int | None = None
    heat: int | None = None
    provider: Provider | None = None
    topics: tuple[str, ...] = ()
    images: tuple[Image, ...] = ()
    related: tuple[RelatedStory, ...] = ()

    @property
    def image(self) -> Image | None:
        return self.images[0] if self.images else None


@dataclass(frozen=True, slots=True)
class Topic:
    name: str  # display spelling
    slug: str
    key: str  # identity: the case-folded name


@compact_pickle
@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong with one input file; `line` is 1-based within that file."""

    path: str
    message: str
    line: int | None = None
    severity: str = "error"  # or "warning"

    def __str__(self) -> str:
        """The one way a problem is shown (terminal, watch output, the preview's overlay):
        `path:line: severity: message`, with control characters escaped in all of it."""
        where = f"{self.path}:{self.line}" if self.line else self.path
        return printable(f"{where}: {self.severity}: {self.message}")


@compact_pickle
@dataclass(frozen=True, slots=True)
class ReadResult:
    article: Article | None
    problems: tuple[Problem, ...] = field(default_factory=tuple)
