"""`site-builder sources` and `import` with no SOURCE: the commands over site.toml's
[[sources]]. `sources add|remove|import-opml` edit the [[sources]] of site.toml the
way a person would, through tomlkit, so every comment, blank line and setting around
them stays byte for byte as it was. The edited text is read back through config.py
before it replaces the file (atomically), so an edit never leaves a site.toml that
does not load."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import tomlkit
from tomlkit.exceptions import TOMLKitError

from .config import CONFIG_FILE, MAX_CONFIG_BYTES, ConfigError, Source, from_mapping, read_config_bytes, source_key
from .models import printable
from .opml import Feed


def add_sources(site_dir: Path, feeds: Sequence[Source]) -> tuple[list[Source], list[Source]]:
    """Append each source not yet in site.toml (compared as story URLs are); returns
    (added, already there). Raises ConfigError for a site.toml that cannot be edited or
    a source that is not valid."""
    path = site_dir / CONFIG_FILE
    doc = _read(path)
    present = {source_key(s.url) for s in from_mapping(doc.unwrap(), str(path)).sources}
    added, skipped = [], []
    for source in feeds:
        key = source_key(source.url)
        if key in present:
            skipped.append(source)
            continue
        present.add(key)
        table = tomlkit.table()
        if doc.as_string().strip():
            table.trivia.indent = "\n"  # a blank line before each new [[sources]]
        table["url"] = source.url
        if source.name:
            table["name"] = source.name
        if source.topics:
            table["topics"] = list(source.topics)
        table["publish"] = source.publish
        if "sources" not in doc:
            doc.append("sources", tomlkit.aot())
        doc["sources"].append(table)
        added.append(source)
    if added:
        _write(path, doc)
    return added, skipped


def remove_source(site_dir: Path, url: str) -> Source:
    """Remove the source with this url from site.toml (its table and the comments
    inside it); ConfigError when there is none."""
    path = site_dir / CONFIG_FILE
    doc = _read(path)
    sources = from_mapping(doc.unwrap(), str(path)).sources
    keys = [source_key(s.url) for s in sources]
    if source_key(url) not in keys:
        known = "".join(f"\n  {s.url}" for s in sources) or " none"
        raise ConfigError(f"{path}: no source with url {url!r}; the sources are:{known}")
    index = keys.index(source_key(url))
    if len(sources) == 1:
        del doc["sources"]
    else:
        del doc["sources"][index]
    _write(path, doc)
    return sources[index]


def sources_from_opml(feeds: Sequence[Feed], topics: Sequence[str], publish: str) -> tuple[list[Source], list[str]]:
    """The OPML file's http(s) feeds as sources, and the addresses that are not http(s)."""
    found, refused = [], []
    for feed in feeds:
        if feed.url.lower().startswith(("http://", "https://")):
            found.append(Source(feed.url, feed.name, tuple(topics), publish))
        else:
            refused.append(feed.url)
    return found, refused


def _read(path: Path) -> tomlkit.TOMLDocument:
    if not path.exists():
        return tomlkit.document()
    raw = read_config_bytes(path)
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: over {MAX_CONFIG_BYTES // 1024} KiB; not edited")
    try:
        doc = tomlkit.parse(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save it as UTF-8") from None
    except TOMLKitError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    if "sources" in doc and not isinstance(doc["sources"], tomlkit.items.AoT):
        raise ConfigError(f"{path}: 'sources' is not a list of [[sources]] tables; not edited")
    return doc


def _write(path: Path, doc: tomlkit.TOMLDocument) -> None:
    from .subscriptions import write_atomically

    text = tomlkit.dumps(doc)
    from_mapping(tomlkit.parse(text).unwrap(), str(path))  # what is written must load
    write_atomically(path, text.encode("utf-8"))


# -- the commands, called by cli.py -----------------------------------------------------

def run_refresh(site_dir: Path, dry_run: bool) -> int:
    """`import` with no SOURCE: one line per source, a summary; 1 when any failed."""
    from .config import load_config
    from .subscriptions import refresh_sources

    if not load_config(site_dir).sources:
        raise ConfigError(f"{site_dir / CONFIG_FILE}: no [[sources]] to refresh; name a feed "
                          "(site-builder import URL) or add one (site-builder sources add URL)")
    report = refresh_sources(site_dir, dry_run)
    for warning in report.warnings:
        print(printable(f"warning: {warning}"), file=sys.stderr)
    for outcome in report.outcomes:
        for invalid in outcome.report.invalid:
            print(printable(f"{invalid.where}: invalid: {invalid.reason}"), file=sys.stderr)
        for path in outcome.report.new:
            print(f"{'would write' if dry_run else 'wrote'} {path}")
    for outcome in report.outcomes:
        print(printable(outcome.line(dry_run)))
    print(report.summary(dry_run))
    return 1 if report.failed else 0


def run_sources(args) -> int:
    """`sources [add|remove|import-opml|export-opml]`; exit 2 (usage) comes as ConfigError."""
    from .config import load_config

    site = args.site
    if args.action is None:
        from .subscriptions import source_lines

        lines, warnings = source_lines(site)
        for warning in warnings:
            print(printable(f"warning: {warning}"), file=sys.stderr)
        print("\n".join(printable(line) for line in lines) if lines else
              f"No [[sources]] in {site / CONFIG_FILE}; add one with: site-builder sources add URL")
        return 0
    if args.action == "export-opml":
        from .opml import write_opml

        config = load_config(site)
        sys.stdout.buffer.write(write_opml(config.title, config.sources))
        return 0
    if args.action == "remove":
        removed = remove_source(site, args.url)
        print(f"Removed {removed.url} from {site / CONFIG_FILE}")
        return 0
    if args.action == "add":
        sources = [Source(args.url, args.name, tuple(args.topic), args.publish)]
    else:  # import-opml
        from .fetch import FetchError, read_file
        from .opml import MAX_OPML_BYTES, OpmlError, read_opml

        try:
            feeds = read_opml(read_file(args.file, MAX_OPML_BYTES))
        except (FetchError, OpmlError) as exc:
            raise ConfigError(f"{args.file}: {exc}") from None
        sources, refused = sources_from_opml(feeds, args.topic, args.publish)
        for url in refused:
            print(printable(f"warning: {args.file}: {url}: not an http(s) address; not added"), file=sys.stderr)
    added, skipped = add_sources(site, sources)
    for source in added:
        print(printable(f"added {source.url}"))
    for source in skipped:
        print(printable(f"skipped {source.url}: already in {CONFIG_FILE}"))
    if args.action == "import-opml":
        print(f"{len(added)} added, {len(skipped)} already there")
    return 0
