"""MODEL: the frozen data the rest of the pipeline passes around. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime


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
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.severity}: {self.message}"


@compact_pickle
@dataclass(frozen=True, slots=True)
class ReadResult:
    article: Article | None
    problems: tuple[Problem, ...] = field(default_factory=tuple)
