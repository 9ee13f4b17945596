"""Command line: maps flags to builder calls and results to messages and exit codes.

Each command's own modules (the preview server, the feed importer, git publishing, the
scaffold) are imported when that command runs: `build` does not pay for them at start-up.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .builder import BuildOptions, build, check
from .config import ConfigError
from .errors import BuildError
from .models import printable
from .pages import PlanError
from .report import BuildReport

if TYPE_CHECKING:
    from .deploy import DeployReport

EXIT_OK, EXIT_INVALID_CONTENT, EXIT_USAGE = 0, 1, 2
EXIT_FAILED = EXIT_INVALID_CONTENT  # a push or template failed: 1, like invalid content


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="site-builder", description="Build a curated tech-news site from article records."
    )
    parser.add_argument("--version", action="version", version=f"site-builder {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def site_command(name: str, help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        sub.add_argument("site", nargs="?", default=".", type=Path, help="site folder (default: .)")
        sub.add_argument("--drafts", action="store_true", help="include drafts (published: false)")
        sub.add_argument("--future", action="store_true", help="include stories dated after now")
        sub.add_argument("--base-url", metavar="URL", help="override base_url from site.toml")
        return sub

    b = site_command("build", "build the site into SITE/_site (or -o OUT)")
    b.add_argument("-o", "--output", type=Path, metavar="OUT", help="output folder (default: SITE/_site)")
    b.add_argument("--watch", action="store_true", help="rebuild whenever the site's files change, until Ctrl-C")
    b.add_argument("--poll", action="store_true", help="with --watch: poll for changes (network and container mounts)")
    site_command("check", "validate every article and the site plan; write nothing")
    z = site_command("size", "show the built site's size by kind of page (story pages, listings, feeds, search, images)")
    z.add_argument("-o", "--output", type=Path, metavar="OUT", help="output folder (default: SITE/_site)")
    s = site_command("serve", "preview the site: build, serve over HTTP, rebuild and reload browsers on every change")
    s.add_argument("--port", type=int, metavar="N", help="port (default: 8000, or the next free one)")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    s.add_argument("--poll", action="store_true", help="poll for changes (network and container mounts)")
    s.add_argument("--no-reload", dest="live_reload", action="store_false", help="do not reload browsers")

    d = commands.add_parser(
        "deploy",
        help="build for production and publish as a new commit on a branch (GitHub Pages)",
        description="Build SITE for production (no drafts or future stories) and commit it, with "
        ".nojekyll and CNAME, on top of REMOTE/BRANCH, then push. Your checkout is not touched.",
    )
    d.add_argument("site", nargs="?", default=".", type=Path, help="site folder (default: .)")
    d.add_argument("--remote", default="origin", help="git remote to publish to (default: origin)")
    d.add_argument("--branch", default="gh-pages", help="branch to publish to (default: gh-pages)")
    d.add_argument("-m", "--message", help="commit message")
    d.add_argument("--dry-run", action="store_true", help="build and say what would change; commit nothing")

    i = commands.add_parser(
        "init", help="create a new site: settings, an example story, a GitHub Pages workflow",
        description="Create a new site in DIR: site.toml, content/ with an example story, .gitignore and "
        "a GitHub Actions workflow that publishes on GitHub Pages. Existing files are never overwritten.",
    )
    i.add_argument("dir", nargs="?", default=".", type=Path, help="folder for the new site (default: .)")

    im = commands.add_parser(
        "import", help="add stories from Atom, RSS or JSON feeds (files or URLs) to content/",
        description="Write an article file in SITE/content/ for each feed entry whose webUrl is not there yet; "
        "importing again writes nothing new. With no SOURCE, refresh every [[sources]] feed of site.toml.",
    )
    im.add_argument("sources", nargs="*", metavar="SOURCE", help="feed file or http(s) URL (default: site.toml's [[sources]])")
    im.add_argument("--site", default=".", type=Path, help="site folder (default: .)")
    im.add_argument("--topic", action="append", default=[], metavar="T", help="add topic T to every story (repeatable)")
    im.add_argument("--dry-run", action="store_true", help="say what would be written; write nothing")

    _sources_parser(commands)

    n = commands.add_parser(
        "new", help="add a story by hand: writes an article file dated now and prints its path",
        description="Write a new article file in SITE/content/, dated now, and print its path.",
    )
    n.add_argument("title", help="the headline")
    n.add_argument("--url", required=True, help="the story at its source (http/https)")
    n.add_argument("--topic", action="append", default=[], metavar="T", help="a topic (repeatable)")
    n.add_argument("--site", default=".", type=Path, help="site folder (default: .)")

    r = commands.add_parser(
        "review", help="list the candidates: unpublished stories not rejected, newest first",
        description="List SITE's candidates (published: false, not rejected), sorted and filtered.",
    )
    r.add_argument("site", nargs="?", default=".", type=Path, help="site folder (default: .)")
    r.add_argument("--sort", choices=("date", "quality", "heat"), default="date", help="order (default: date, newest first)")
    r.add_argument("--topic", default="", metavar="T", help="only stories with topic T")
    r.add_argument("--source", default="", metavar="S", help="only stories from S (a provider's domain, or its name)")
    r.add_argument("--min-quality", type=int, metavar="N", help="only stories with a quality of N or more")
    r.add_argument("--search", default="", metavar="TEXT", help="only stories with TEXT in title, excerpt, source or path")
    r.add_argument("--json", action="store_true", help="print a JSON array instead of a table")
    for name, verb in (("publish", "publish"), ("reject", "reject (never published; import never brings it back)")):
        c = commands.add_parser(name, help=f"{verb}: each PATH (a content file) or URL (a story's webUrl)",
                                description=f"{verb.capitalize()} each story named by its file or its webUrl.")
        c.add_argument("targets", nargs="+", metavar="PATH|URL", help="content file or webUrl")
        c.add_argument("--site", default=".", type=Path, help="site folder (default: .)")
    return parser


def _sources_parser(commands) -> None:
    """`sources`: list site.toml's [[sources]] with their health, or edit them."""
    so = commands.add_parser("sources", help="list the feeds import refreshes (site.toml's [[sources]]), or edit them",
                             description="With no ACTION, list each source with its last success and last error.")
    so.add_argument("--site", default=Path("."), type=Path, help="site folder (default: .)")
    actions = so.add_subparsers(dest="action", metavar="ACTION")

    def action(name: str, help: str) -> argparse.ArgumentParser:
        sub = actions.add_parser(name, help=help, description=help)
        sub.add_argument("--site", default=argparse.SUPPRESS, type=Path, help="site folder (default: .)")
        return sub

    def story_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--topic", action="append", default=[], metavar="T", help="add topic T to every story (repeatable)")
        sub.add_argument("--publish", choices=("review", "auto"), default="review",
                         help="review: stories wait in the desk (default); auto: published at once")

    add = action("add", "add a feed to site.toml's [[sources]], keeping its comments")
    add.add_argument("url", help="the feed's http(s) address, or a file path in the site")
    add.add_argument("--name", default="", help="a name to show for it")
    story_options(add)
    action("remove", "remove a feed from site.toml's [[sources]]").add_argument("url")
    opml = action("import-opml", "add every feed of an OPML file (a feed reader's export) not there yet")
    opml.add_argument("file", type=Path)
    story_options(opml)
    action("export-opml", "print the sources as OPML 2.0, for a feed reader")


def run() -> None:
    """The `site-builder` command: main() in a process that ends when it returns. A
    one-shot command (all but serve and build --watch) keeps Python's cyclic garbage
    collector off, since nothing it builds outlives it, and the process ends with
    os._exit once its output is flushed, rather than freeing every object of the model
    one by one first, which takes seconds on a large site."""
    args = _parser().parse_args()
    if args.command != "serve" and not getattr(args, "watch", False):
        gc.disable()
    code = _run(args)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    return _run(_parser().parse_args(argv))


def _run(args: argparse.Namespace) -> int:
    handlers = {
        "build": _build_or_check, "check": _build_or_check, "size": _size, "serve": watch, "deploy": _deploy, "init": _init,
        "import": _import, "new": _new, "review": _review, "publish": _curate, "reject": _curate,
        "sources": _sources,
    }
    command = handlers[args.command]
    try:
        return command(args)
    except (ConfigError, PlanError) as exc:
        _error(exc)
        return EXIT_USAGE
    except BuildError as exc:
        return _not_published(exc)
    except KeyboardInterrupt:
        print("\nInterrupted; the previous site was left as it was.", file=sys.stderr)
        return 130


def _error(exc: object) -> None:
    """An error that stops a command, with control characters in its paths escaped."""
    print(printable(f"error: {exc}", newlines=True), file=sys.stderr)


def _not_published(exc: Exception) -> int:
    _error(exc)
    print("The previous site was left as it was.", file=sys.stderr)
    return EXIT_INVALID_CONTENT


def _build_options(args: argparse.Namespace) -> BuildOptions:
    return BuildOptions(
        site_dir=args.site,
        out_dir=getattr(args, "output", None),
        drafts=args.drafts,
        future=args.future,
        base_url=args.base_url,
    )


def _build_or_check(args: argparse.Namespace) -> int:
    if getattr(args, "watch", False):
        return watch(args)
    options = _build_options(args)
    if args.command == "check":
        return finish(check(options), "Checked")
    report = build(options, progress=_progress_line())
    if report.write is not None:  # the site was built (not refused for invalid site.toml)
        from .config import load_config
        from .sizes import measure

        measure(report, options.output, load_config(options.site_dir, options.base_url))
    return finish(report, "Built")


def _size(args: argparse.Namespace) -> int:
    from .sizes import site_size_report

    lines, warning = site_size_report(_build_options(args))
    print("\n".join(lines))
    if warning:
        print(printable(f"warning: {warning}", newlines=True), file=sys.stderr)
    return EXIT_OK


def _deploy(args: argparse.Namespace) -> int:
    from .deploy import DeployError, DeployOptions, deploy

    try:
        report = deploy(DeployOptions(args.site, args.remote, args.branch, args.message, args.dry_run))
    except DeployError as exc:
        _error(exc)
        return EXIT_FAILED
    code = finish(report.build, "Built")
    if code != EXIT_OK:
        print("error: not deployed: fix the errors above and deploy again", file=sys.stderr)
        return code
    print(deploy_summary(report, args.dry_run))
    print("\n".join(deploy_sizes(report)))
    for warning in report.warnings():
        print(printable(f"warning: {warning}", newlines=True), file=sys.stderr)
    return EXIT_OK


def _init(args: argparse.Namespace) -> int:
    from .scaffold import init_site

    created = init_site(args.dir)
    print(f"Created a site in {args.dir}: {', '.join(created)}")
    print(f"Next: site-builder build {args.dir}, then see \"Publish on GitHub Pages\" in the README.")
    return EXIT_OK


def _import(args: argparse.Namespace) -> int:
    from .importer import import_feeds

    if not args.sources:
        from .source_commands import run_refresh

        if args.topic:
            raise ConfigError("--topic goes with a named SOURCE; give a [[sources]] feed its topics in site.toml")
        return run_refresh(args.site, args.dry_run)

    report = import_feeds(args.site, args.sources, args.topic, args.dry_run)
    for failure in report.failed:
        _error(failure)
    for invalid in report.invalid:
        print(printable(f"{invalid.where}: invalid: {invalid.reason}"), file=sys.stderr)
    for path in report.new:
        print(f"{'would write' if args.dry_run else 'wrote'} {path}")
    print(report.summary(args.dry_run))
    return EXIT_INVALID_CONTENT if report.failed or report.invalid else EXIT_OK


def _sources(args: argparse.Namespace) -> int:
    from .source_commands import run_sources

    return run_sources(args)


def _new(args: argparse.Namespace) -> int:
    from .importer import BadStory, DuplicateStory, new_story

    try:
        path = new_story(args.site, args.title, args.url, args.topic)
    except BadStory as exc:
        _error(f"{exc}; give a title and --url https://...")
        return EXIT_USAGE
    except DuplicateStory as exc:
        _error(exc)
        return EXIT_INVALID_CONTENT
    print(path)
    return EXIT_OK


def _review(args: argparse.Namespace) -> int:
    from .candidates import Filter
    from .curate import as_json, as_table, review

    found, broken = review(args.site, Filter(args.sort, args.topic, args.source, args.min_quality, args.search))
    print(as_json(found) if args.json else as_table(found))
    if broken:
        print(f"note: {broken} article file{'s' if broken > 1 else ''} with errors not listed; "
              f"'site-builder check' names them", file=sys.stderr)
    return EXIT_OK


def _curate(args: argparse.Namespace) -> int:
    from .curate import curate

    outcomes = curate(args.site, args.targets, args.command)
    for outcome in outcomes:
        print(outcome.line, file=sys.stderr if outcome.failed else sys.stdout)
    return EXIT_INVALID_CONTENT if any(o.failed for o in outcomes) else EXIT_OK


def deploy_summary(report: DeployReport, dry_run: bool) -> str:
    if not report.changed:
        return f"Nothing changed since the last deploy: {report.target} is up to date, no commit made."
    changes = ", ".join(f"{n} {name}" for name, n in report.changes.items())
    if dry_run:
        return f"Dry run: would commit {report.files} files to {report.target} ({changes}); nothing was pushed."
    return f"Deployed {report.files} files to {report.target} in commit {report.commit[:10]} ({changes})."


def deploy_sizes(report: DeployReport) -> list[str]:
    from .sizes import table

    return ["The site by kind of page:", *table(report.sizes, report.build.articles)] if report.sizes else []


def _progress_line():
    """A progress line on a terminal; nothing in CI logs or when output is redirected."""
    if not sys.stderr.isatty() or os.environ.get("CI"):
        return None

    def show(stage: str, done: int, total: int) -> None:
        end = "\r\x1b[K" if done == total else ""  # cleared when the stage is done
        print(f"\r\x1b[K{stage}: {done:,}/{total:,}", end=end, file=sys.stderr, flush=True)

    return show


def finish(report: BuildReport, verb: str) -> int:
    for problem in report.problems:
        print(problem, file=sys.stderr)
    for note in report.notes:
        print(printable(f"note: {note}", newlines=True), file=sys.stderr)
    print(report.summary(verb))
    return EXIT_INVALID_CONTENT if report.errors else EXIT_OK


def watch(args: argparse.Namespace) -> int:
    """`serve` and `build --watch`: run until Ctrl-C; build errors are shown, never fatal."""
    from .server import PortInUseError
    from .watch import WatchError, watch_output

    options = _build_options(args)
    try:
        if args.command == "build":
            watch_output(options, poll=args.poll)
        else:
            serve(args, options)
    except (PortInUseError, WatchError) as exc:
        _error(exc)
        return EXIT_USAGE
    except KeyboardInterrupt:
        pass  # Ctrl-C during the first build
    print("Stopped.", flush=True)
    return EXIT_OK


def serve(args: argparse.Namespace, options: BuildOptions) -> None:
    import signal
    import socket
    import threading

    from .serve_guard import is_loopback, is_wildcard
    from .server import Preview
    from .watch import wait_for_interrupt

    if not is_loopback(args.host):
        where = "every address of this machine" if is_wildcard(args.host) else args.host
        print(f"warning: serving on {where}: anyone on the network who can reach it sees the "
              "preview, drafts and future stories included, and can publish from its desk", file=sys.stderr)
        if is_wildcard(args.host):  # its other names (mDNS, DNS aliases) cannot be known
            print("note: browse it by this machine's address or by the name "
                  f"{socket.gethostname()!r}; a request naming any other host gets 403", file=sys.stderr)
    # SIGTERM (kill, systemd, docker stop) stops the preview as Ctrl-C does, so its
    # temporary build folder is removed; only the main thread may set a handler.
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if main else None
    try:
        preview = Preview(options, args.host, args.port, poll=args.poll, live_reload=args.live_reload)
        try:
            preview.start()
            print(f"Serving {preview.url} (press Ctrl-C to stop)", flush=True)
            print(f"The desk (review the candidates): {preview.desk_url}", flush=True)
            wait_for_interrupt()
        finally:
            if main:  # a second SIGTERM must not cut the clean-up short
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
            preview.stop()
    finally:
        if main:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt
