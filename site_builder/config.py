"""Site configuration: `site.toml`, validated into a frozen SiteConfig."""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

CONFIG_FILE = "site.toml"
PERMALINK_FIELDS = ("year", "month", "day", "slug")
MAX_STRIP = 20  # a home page strip is a handful of stories, not a second listing
MAX_CONFIG_BYTES = 1024 * 1024  # a real site.toml is under a kilobyte
IMAGE_MODES = ("remote", "local")


class ConfigError(Exception):
    """A problem with site.toml or the command-line options; the message says what to fix."""


# -- [[sources]]: the feeds a site subscribes to ---------------------------------------

PUBLISH_MODES = ("review", "auto")
SOURCE_KEYS = ("url", "name", "topics", "publish")


@dataclass(frozen=True)
class Source:
    """One `[[sources]]` table: a feed `import` refreshes, and what its stories get."""

    url: str  # an http(s) address, or a file path relative to the site folder
    name: str = ""
    topics: tuple[str, ...] = ()  # added to every story of the feed
    publish: str = "review"  # "review": candidates (published: false); "auto": published

    @property
    def label(self) -> str:
        return self.name or self.url


def source_key(url: str) -> str:
    """What makes two source urls one feed: a web address normalised as a story's is."""
    from .identity import normalize_url

    return normalize_url(url) if url.lower().startswith(("http://", "https://")) else url.replace("\\", "/")


def parse_sources(value, source: str = CONFIG_FILE) -> tuple[Source, ...]:
    """The `sources` setting (TOML's array of tables) as Source values; a ConfigError
    names the file, the entry and what to write instead."""
    if isinstance(value, tuple) and all(isinstance(item, Source) for item in value):
        return value  # already read (a --base-url override re-reads the settings)
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ConfigError(
            f"{source}: 'sources' must be [[sources]] tables, each with a url = \"...\", "
            f"got {value!r} ({type(value).__name__})."
        )
    found: list[Source] = []
    seen: dict[str, int] = {}
    for number, table in enumerate(value, 1):
        url = table.get("url")
        where = f"{source}: [[sources]] number {number}" + (f" ({url})" if isinstance(url, str) and url else "")
        unknown = [key for key in table if key not in SOURCE_KEYS]
        if unknown:
            raise ConfigError(f"{where}: unknown key '{unknown[0]}'; a source has {', '.join(SOURCE_KEYS)}.")
        if not isinstance(url, str) or not url.strip():
            raise ConfigError(f"{where}: 'url' is required: a feed's http(s) address or a file path in the site.")
        url = url.strip()
        if "://" in url and not url.lower().startswith(("http://", "https://")):
            raise ConfigError(f"{where}: 'url' must be an http(s) address or a file path, got {url!r}.")
        if "://" not in url and (Path(url).is_absolute() or ".." in Path(url).parts or url.startswith("~")):
            raise ConfigError(f"{where}: a file 'url' must be a path inside the site folder, such as "
                              f"\"feeds/saved.xml\", got {url!r}.")
        name, topics, publish = table.get("name", ""), table.get("topics", []), table.get("publish", "review")
        if not isinstance(name, str):
            raise ConfigError(f"{where}: 'name' must be a string (in quotes), got {name!r}.")
        if not isinstance(topics, list) or not all(isinstance(t, str) and t.strip() for t in topics):
            raise ConfigError(f"{where}: 'topics' must be a list of names, such as [\"AI\", \"Chips\"], got {topics!r}.")
        if publish not in PUBLISH_MODES:
            raise ConfigError(f"{where}: 'publish' must be \"review\" (stories wait in the desk) or "
                              f"\"auto\" (published at once), got {publish!r}.")
        key = source_key(url)
        if key in seen:
            raise ConfigError(f"{where}: the same url as [[sources]] number {seen[key]}; list a feed once.")
        seen[key] = number
        found.append(Source(url, name.strip(), tuple(t.strip() for t in topics), publish))
    return tuple(found)


@dataclass(frozen=True)
class SiteConfig:
    title: str = "Tech News"
    description: str = "Curated technology news."
    base_url: str = ""
    language: str = "en"
    timezone: str = "UTC"
    paginate: int = 20
    permalink: str = "/{year}/{month}/{day}/{slug}/"
    cname: str = ""  # custom domain for GitHub Pages; `deploy` writes it to CNAME
    search: bool = True  # the Pagefind search index, the search box and /search/
    min_quality: int = 0  # stories with a lower `quality` are not published; 0: off
    trending: int = 5  # stories in the home page's "Trending" strip; 0: no strip
    top_stories: int = 5  # stories in the home page's "Top stories" strip; 0: no strip
    # [[sources]]: the feeds `import` refreshes. Left out of the repr, which page
    # fingerprints hash: a feed added or removed changes no page.
    sources: tuple[Source, ...] = field(default=(), repr=False)
    # Story images and the site's size (docs/images.md).
    images: str = "remote"  # "remote": readers load the publisher's image; "local": WebP copies in the site
    image_timeout: int = 60  # seconds for fetching all new images of one build (images = "local")
    size_budget_mb: int = 1000  # the site's size limit (GitHub Pages: 1 GB); a build warns past 80%

    @property
    def base_path(self) -> str:
        """The path part of base_url, always with slashes at both ends: '/' or '/repo/'."""
        path = urlsplit(self.base_url).path if self.base_url else "/"
        return "/" + path.strip("/") + "/" if path.strip("/") else "/"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


_TYPES = {f.name: type(f.default) for f in fields(SiteConfig)}


def load_config(site_dir: Path, base_url: str | None = None) -> SiteConfig:
    """Read SITE/site.toml (optional) and apply command-line overrides."""
    path = site_dir / CONFIG_FILE
    values: dict = {}
    if path.is_file():
        raw = read_config_bytes(path)
        if len(raw) > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path}: over {MAX_CONFIG_BYTES // 1024} KiB; a site.toml holds a few settings, not data")
        try:
            values = tomllib.loads(raw.decode("utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{path}: not UTF-8 text; save it as UTF-8") from None
    config = from_mapping(values, source=str(path))
    if base_url is not None:
        config = from_mapping({**_as_dict(config), "base_url": base_url}, source="--base-url")
    return config


def read_config_bytes(path: Path) -> bytes:
    """site.toml's bytes, but never more than one over the limit: enough to refuse a huge
    file without reading it whole."""
    with open(path, "rb") as handle:
        return handle.read(MAX_CONFIG_BYTES + 1)


def _as_dict(config: SiteConfig) -> dict:
    return {f.name: getattr(config, f.name) for f in fields(SiteConfig)}


def from_mapping(values: dict, source: str = CONFIG_FILE) -> SiteConfig:
    if "sources" in values:  # a list of tables, not a plain value: read apart
        values = {**values, "sources": parse_sources(values["sources"], source)}
    for key, value in values.items():
        if key not in _TYPES:
            hint = difflib.get_close_matches(key, _TYPES, n=1)
            suggestion = f" Did you mean '{hint[0]}'?" if hint else ""
            raise ConfigError(
                f"{source}: unknown setting '{key}'.{suggestion} "
                f"Known settings: {', '.join(_TYPES)}."
            )
        expected = _TYPES[key]
        if type(value) is not expected:
            raise ConfigError(
                f"{source}: '{key}' must be a {_TYPE_NAMES[expected]}, "
                f"got {value!r} ({type(value).__name__})."
            )
    config = replace(SiteConfig(), **values)
    _validate(config, source)
    return config


_TYPE_NAMES = {str: "string (in quotes)", int: "whole number", bool: "true or false"}


def _validate(config: SiteConfig, source: str) -> None:
    if config.paginate < 1:
        raise ConfigError(f"{source}: 'paginate' must be 1 or more, got {config.paginate}.")
    if config.min_quality < 0:
        raise ConfigError(f"{source}: 'min_quality' must be 0 (off) or more, got {config.min_quality}.")
    if config.images not in IMAGE_MODES:
        raise ConfigError(f"{source}: 'images' must be \"remote\" or \"local\", got {config.images!r}.")
    for key in ("image_timeout", "size_budget_mb"):
        if getattr(config, key) < 1:
            raise ConfigError(f"{source}: '{key}' must be 1 or more, got {getattr(config, key)}.")
    for key in ("trending", "top_stories"):
        if not 0 <= getattr(config, key) <= MAX_STRIP:
            raise ConfigError(
                f"{source}: '{key}' is the number of stories in the strip, 0 (no strip) to {MAX_STRIP}, "
                f"got {getattr(config, key)}."
            )
    if config.base_url:
        parts = urlsplit(config.base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(
                f"{source}: 'base_url' must be an absolute http(s) URL such as "
                f"\"https://user.github.io/repo/\", got {config.base_url!r}."
            )
        if parts.query or parts.fragment:
            raise ConfigError(f"{source}: 'base_url' must not have a query or fragment.")
    try:
        ZoneInfo(config.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{source}: unknown timezone {config.timezone!r}; use an IANA name "
            f"such as \"UTC\", \"Europe/Berlin\" or \"America/New_York\"."
        ) from None
    _validate_permalink(config.permalink, source)
    if config.cname and not is_hostname(config.cname):
        raise ConfigError(
            f"{source}: 'cname' must be a bare host name such as \"news.example.com\" "
            f"(no scheme, path or port), got {config.cname!r}."
        )


_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)", re.IGNORECASE)


def is_hostname(value: str) -> bool:
    """A DNS host name (ASCII labels, no leading or trailing hyphen): for `cname`, and for
    a story's provider domain (content.py, importer.py)."""
    labels = value.split(".")
    return len(value) <= 253 and len(labels) >= 2 and all(_LABEL.fullmatch(label) for label in labels)


def _validate_permalink(pattern: str, source: str) -> None:
    import string

    try:
        names = [name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None]
    except ValueError as exc:
        raise ConfigError(f"{source}: 'permalink' {pattern!r} is malformed: {exc}.") from None
    unknown = [n for n in names if n not in PERMALINK_FIELDS]
    if unknown:
        raise ConfigError(
            f"{source}: 'permalink' uses unknown field {{{unknown[0]}}}; "
            f"available: {', '.join('{' + f + '}' for f in PERMALINK_FIELDS)}."
        )
    if "slug" not in names:
        raise ConfigError(f"{source}: 'permalink' must contain {{slug}} so every story gets its own page.")
    if not (pattern.startswith("/") and pattern.endswith("/")):
        raise ConfigError(
            f"{source}: 'permalink' must start and end with '/', e.g. \"/{{year}}/{{month}}/{{slug}}/\"."
        )
    if ".." in pattern.split("/"):
        raise ConfigError(f"{source}: 'permalink' must not contain '..'.")
