"""READ: turn one article file into an Article, or into named problems (inputs.py finds the files)."""

from __future__ import annotations

import os
import re
from datetime import date, datetime, time, timezone, tzinfo
from pathlib import Path

from .config import is_hostname
from .markup import MarkupTooComplex, is_web_url, render_markdown
from .models import MAX_ARTICLE_BYTES, Article, Image, Problem, Provider, ReadResult, RelatedStory
from .slugs import slugify
from .yamlfm import FrontMatterError, split_and_parse

MAX_FILE_BYTES = MAX_ARTICLE_BYTES
_LIMIT = f"article files are limited to {MAX_FILE_BYTES // 1024:,} KiB ({MAX_FILE_BYTES / 2**20:g} MiB)"
MAX_TEXT = 2_000  # characters kept of a title
MAX_EXCERPT = 5_000
MAX_TOPICS = 30  # each topic is a page of its own: one file must not add thousands
_MISSING = object()
DATE_EXAMPLE = "2024-05-14T09:30:00Z"


def read_article(path: Path, rel: str, tz: tzinfo) -> ReadResult:
    """Read one file. Never raises for bad input: problems come back named and located.
    A file over the limit is refused by its size, before any of it is read."""
    try:
        with open(path, "rb") as handle:
            refused = too_large(rel, os.fstat(handle.fileno()).st_size)
            if refused is not None:
                return refused
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return _fail(rel, f"cannot read the file: {exc.strerror}")
    return parse_article(raw, rel, tz)


def too_large(rel: str, size: int) -> ReadResult | None:
    """The refusal of a file whose size (as listed or stat'ed) is over the limit, else None."""
    if size <= MAX_FILE_BYTES:
        return None
    shown = f"{size / 2**20:,.0f} MiB" if size >= 10 * 2**20 else f"{size // 1024:,} KiB"
    return _fail(rel, f"the file is {shown}; {_LIMIT}, so it was not read")


def read_limited(path: str) -> bytes:
    """An article file's bytes, but never more than one over the limit: a file that grew
    after its size was taken is refused by parse_article, without being read whole."""
    with open(path, "rb") as handle:
        return handle.read(MAX_FILE_BYTES + 1)


def parse_article(raw: bytes, rel: str, tz: tzinfo) -> ReadResult:
    if len(raw) > MAX_FILE_BYTES:
        return _fail(rel, f"the file is over {MAX_FILE_BYTES // 1024:,} KiB; {_LIMIT}")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if b"\x00" in raw:
        line = raw.count(b"\n", 0, raw.index(b"\x00")) + 1
        return _fail(rel, "the file contains a NUL byte; it looks binary, not a text article", line)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        return _fail(rel, f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); re-save the file as UTF-8", line)
    try:
        parsed = split_and_parse(text)
    except FrontMatterError as exc:
        return _fail(rel, exc.message, exc.line)
    return _ArticleReader(rel, parsed.data, parsed.key_lines, tz).read(parsed.body, parsed.body_line)


def _fail(rel: str, message: str, line: int | None = None) -> ReadResult:
    return ReadResult(None, (Problem(rel, message, line),))


class _ArticleReader:
    """Validates one front-matter mapping field by field, collecting every problem."""

    def __init__(self, rel: str, data: dict, key_lines: dict, tz: tzinfo):
        self.rel, self.data, self.key_lines, self.tz = rel, data, key_lines, tz
        self.problems: list[Problem] = []
        secret = data.get("secured")  # a real token is hundreds of characters; "x" is no secret
        self.secret = secret.strip() if isinstance(secret, str) and len(secret.strip()) >= 8 else None

    def quote(self, value) -> str:
        """A field's value as a message shows it: text shortened, a list or mapping by its
        kind only, and never text that holds the record's `secured` token or runs into
        that field (a quote left open on the line above takes the next lines in)."""
        if isinstance(value, str) and "secured:" in value:
            return "text that runs into the 'secured' line (not shown); check the quotes on the lines above"
        if isinstance(value, str) and self.secret and self.secret in value:
            return "the record's 'secured' token (not shown)"
        return _short(value)

    def error(self, key: str, message: str) -> None:
        self.problems.append(Problem(self.rel, message, self.key_lines.get(key, 1)))

    def warn(self, key: str, message: str) -> None:
        self.problems.append(Problem(self.rel, message, self.key_lines.get(key, 1), "warning"))

    def read(self, body: str, body_line: int) -> ReadResult:
        d = self.data
        title = self.required_text("title", "the headline, e.g. title: \"Chip maker unveils ...\"")
        web_url = self.required_url("webUrl")
        published = self.required_date("publishedDateTime")
        draft = self.read_draft()
        rejected = self.read_rejected()
        if any(p.severity == "error" for p in self.problems):
            return ReadResult(None, tuple(self.problems))  # no body is rendered for a record that failed
        try:
            body_html = render_markdown(body)
        except MarkupTooComplex as exc:
            hint = "; long runs of unclosed '[' or '<' are the usual cause"
            self.problems.append(Problem(self.rel, f"{exc}{hint}", body_line))
            return ReadResult(None, tuple(self.problems))
        article = Article(
            source=self.rel,
            title=title,
            web_url=web_url,
            published=published,
            excerpt=self.optional_text("excerpt", MAX_EXCERPT),
            body_html=body_html,
            slug=slugify(self.optional_text("slug", 200), fallback="") if "slug" in d else "",
            draft=draft,
            rejected=rejected,
            amp_url=self.optional_url("ampWebUrl"),
            category=self.optional_text("category", 100),
            type=self.optional_text("type", 100),
            quality=self.optional_int("quality"),
            heat=self.optional_int("heat"),
            provider=self.read_provider(d.get("provider"), "provider"),
            topics=self.read_topics(),
            images=self.read_images(d.get("images"), "images"),
            related=self.read_related(),
        )
        return ReadResult(article, tuple(self.problems))

    # -- required fields -------------------------------------------------------------
    def required_text(self, key: str, example: str) -> str:
        value = self.data.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            self.error(key, f"missing required field '{key}': add {example}")
            return ""
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            self.error(key, f"'{key}' must be text, got {_kind(value)}; put it in quotes")
            return ""
        return _clean_text(value)[:MAX_TEXT]

    def required_url(self, key: str) -> str:
        value = self.data.get(key)
        if value is None or value == "":
            self.error(key, f"missing required field '{key}': add the story's address, e.g. {key}: \"https://example.com/story\"")
            return ""
        if not isinstance(value, str) or not is_web_url(value.strip()):
            self.error(key, f"'{key}' must be an http:// or https:// address, got {self.quote(value)}")
            return ""
        return value.strip()

    def required_date(self, key: str) -> datetime:
        value = self.data.get(key)
        if value is None or value == "":
            self.error(key, f"missing required field '{key}': add the publication time, e.g. {key}: {DATE_EXAMPLE}")
            return datetime.min
        parsed = self.to_datetime(value)
        if parsed is None:
            self.error(key, f"'{key}' is not a valid date and time: {self.quote(value)}; write ISO 8601, e.g. {DATE_EXAMPLE}")
            return datetime.min
        return parsed

    def to_datetime(self, value) -> datetime | None:
        if isinstance(value, datetime):
            parsed = value
        elif isinstance(value, date):
            parsed = datetime.combine(value, time())
        elif isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value.strip())
            except ValueError:
                return None
        else:
            return None
        # A date without an offset means the site's local time, not the machine's.
        parsed = parsed.replace(tzinfo=self.tz) if parsed.tzinfo is None else parsed
        return parsed if can_show(parsed, self.tz) else None

    def read_draft(self) -> bool:
        value = self.data.get("published", True)
        if value is None:
            return False
        if not isinstance(value, bool):
            # Guessing here could publish a draft: refuse and say how to write it.
            self.error("published", f"'published' must be true or false, got {self.quote(value)}")
            return True
        return not value

    def read_rejected(self) -> bool:
        value = self.data.get("rejected", False)
        if not isinstance(value, bool):
            # An empty or mistyped value could be either: refuse rather than publish it.
            self.error("rejected", f"'rejected' must be true or false, got {self.quote(value)}")
            return True
        return value

    # -- optional fields: a bad value is dropped with a warning -----------------------
    def optional_text(self, key: str, limit: int) -> str:
        value = self.data.get(key)
        if value is None:
            return ""
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            self.warn(key, f"'{key}' should be text, got {_kind(value)}; ignored")
            return ""
        return _clean_text(value)[:limit]

    def optional_url(self, key: str, value=_MISSING, where: str | None = None) -> str:
        """The one check for every optional link field (`where` names a nested one, e.g.
        images[2].url): a value that is not an http(s) URL never reaches href/src."""
        value = self.data.get(key) if value is _MISSING else value
        if value is None or value == "":
            return ""
        if isinstance(value, str) and is_web_url(value.strip()):
            return value.strip()
        self.warn(key, f"'{where or key}' is not an http(s) address ({self.quote(value)}); ignored")
        return ""

    def optional_int(self, key: str) -> int | None:
        value = self.data.get(key)
        if value is None:
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.warn(key, f"'{key}' should be a whole number, got {self.quote(value)}; ignored")
            return None
        return value

    def read_provider(self, value, key: str, where: str | None = None) -> Provider | None:
        where = where or key
        if value is None:
            return None
        if isinstance(value, str):
            return Provider(_clean_text(value)[:200]) if value.strip() else None
        if not isinstance(value, dict):
            self.warn(key, f"'{where}' should have 'name' and 'domain', got {_kind(value)}; ignored")
            return None
        name = value.get("name")
        raw_domain = value.get("domain")
        name = _clean_text(name)[:200] if isinstance(name, str) else ""
        domain = raw_domain.strip().lower() if isinstance(raw_domain, str) else ""
        if raw_domain not in (None, "") and not is_hostname(domain):
            self.warn(key, f"'{where}.domain' is not a domain name ({self.quote(raw_domain)}); ignored")
            domain = ""
        if not name and not domain:
            return None
        return Provider(name or domain, domain)

    def read_topics(self) -> tuple[str, ...]:
        value = self.data.get("topics")
        if value is None:
            return ()
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            value = [value]  # `topics: AI` means one topic
        if not isinstance(value, list):
            self.warn("topics", f"'topics' should be a list of names, got {_kind(value)}; ignored")
            return ()
        if len(value) > MAX_TOPICS:
            self.warn("topics", f"'topics' lists {len(value)} names; only the first {MAX_TOPICS} are used")
            value = value[:MAX_TOPICS]
        topics, seen = [], set()
        for item in value:
            if isinstance(item, (int, float)) and not isinstance(item, bool):
                item = str(item)
            if not isinstance(item, str) or not item.strip():
                self.warn("topics", f"a topic should be a name, got {self.quote(item)}; ignored")
                continue
            name = " ".join(_clean_text(item).split())[:100]
            if name.casefold() not in seen:
                seen.add(name.casefold())
                topics.append(name)
        return tuple(topics)

    def read_images(self, value, key: str) -> tuple[Image, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.warn(key, f"'{key}' should be a list of {{url, width, height}}; ignored")
            return ()
        images = []
        for number, item in enumerate(value, 1):
            where = f"{key}[{number}]"
            if not isinstance(item, dict) or item.get("url") in (None, ""):
                self.warn(key, f"'{where}' has no url; ignored")
                continue
            url = self.optional_url(key, item["url"], f"{where}.url")
            if not url:
                continue
            width, height = (_dimension(item.get(k)) for k in ("width", "height"))
            if width is None or height is None:
                width = height = None  # one without the other cannot reserve the space
            images.append(Image(url, width, height))
        return tuple(images)

    def read_related(self) -> tuple[RelatedStory, ...]:
        value = self.data.get("related")
        if value is None:
            return ()
        if not isinstance(value, list):
            self.warn("related", "'related' should be a list of stories; ignored")
            return ()
        stories = []
        for number, item in enumerate(value, 1):
            where = f"related[{number}]"
            if not isinstance(item, dict):
                self.warn("related", f"'{where}' is not a mapping; ignored")
                continue
            title = item.get("title")
            if not isinstance(title, str) or not title.strip() or item.get("webUrl") in (None, ""):
                self.warn("related", f"'{where}' needs a title and an http(s) webUrl; ignored")
                continue
            url = self.optional_url("related", item["webUrl"], f"{where}.webUrl")
            if not url:
                continue
            published = self.to_datetime(item.get("publishedDateTime")) if item.get("publishedDateTime") else None
            excerpt = item.get("excerpt")
            stories.append(
                RelatedStory(
                    title=_clean_text(title)[:MAX_TEXT],
                    url=url,
                    excerpt=_clean_text(excerpt)[:MAX_EXCERPT] if isinstance(excerpt, str) else "",
                    published=published,
                    provider=self.read_provider(item.get("provider"), "related", f"{where}.provider"),
                )
            )
        return tuple(stories)


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # all but tab and newline


def _clean_text(value: str) -> str:
    """Plain text as it will be shown: control characters dropped, ends trimmed."""
    return _CONTROL_CHARACTERS.sub("", value).strip()


def _dimension(value) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 20_000:
        return None
    return value


def can_show(moment: datetime, tz: tzinfo) -> bool:
    """Whether a date exists in the site's zone, where pages show it: 9999-12-31T23:59-10:00
    has no UTC equivalent, and would crash whatever formats it."""
    try:
        moment.astimezone(timezone.utc).astimezone(tz)
    except OverflowError:
        return False
    return True


def _kind(value) -> str:
    return {dict: "a mapping", list: "a list", bool: "true/false"}.get(type(value), type(value).__name__)


def _short(value) -> str:
    if isinstance(value, (dict, list)):
        return _kind(value)  # whatever it holds (any field's text) stays out of the message
    text = value.isoformat() if isinstance(value, date) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
