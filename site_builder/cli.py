"""Command line: maps flags to builder calls and results to messages and exit codes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__
from .builder import BuildOptions, BuildReport, build, check
from .config import ConfigError
from .render import RenderError
from .routes import PlanError
from .server import PortInUseError, Preview
from .watch import WatchError, wait_for_interrupt, watch_output
from .writer import WriteError

EXIT_OK, EXIT_INVALID_CONTENT, EXIT_USAGE = 0, 1, 2


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
    s = site_command("serve", "preview the site: build, serve over HTTP, rebuild and reload browsers on every change")
    s.add_argument("--port", type=int, metavar="N", help="port (default: 8000, or the next free one)")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    s.add_argument("--poll", action="store_true", help="poll for changes (network and container mounts)")
    s.add_argument("--no-reload", dest="live_reload", action="store_false", help="do not reload browsers")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    options = BuildOptions(
        site_dir=args.site,
        out_dir=getattr(args, "output", None),
        drafts=args.drafts,
        future=args.future,
        base_url=args.base_url,
    )
    if args.command == "serve" or getattr(args, "watch", False):
        return watch(args, options)
    run = {"build": lambda: build(options), "check": lambda: check(options)}[args.command]
    try:
        report = run()
    except (ConfigError, PlanError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (RenderError, WriteError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("The previous site was left as it was.", file=sys.stderr)
        return EXIT_INVALID_CONTENT
    except KeyboardInterrupt:
        print("\nInterrupted; the previous site was left as it was.", file=sys.stderr)
        return 130
    return finish(report, "Checked" if args.command == "check" else "Built")


def finish(report: BuildReport, verb: str) -> int:
    for problem in report.problems:
        print(problem, file=sys.stderr)
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    print(report.summary(verb))
    return EXIT_INVALID_CONTENT if report.errors else EXIT_OK


def watch(args: argparse.Namespace, options: BuildOptions) -> int:
    """`serve` and `build --watch`: run until Ctrl-C; build errors are shown, never fatal."""
    try:
        if args.command == "build":
            watch_output(options, poll=args.poll)
        else:
            serve(args, options)
    except (PortInUseError, WatchError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        pass  # Ctrl-C during the first build
    print("Stopped.", flush=True)
    return EXIT_OK


def serve(args: argparse.Namespace, options: BuildOptions) -> None:
    preview = Preview(options, args.host, args.port, poll=args.poll, live_reload=args.live_reload)
    try:
        preview.start()
        print(f"Serving {preview.url} (press Ctrl-C to stop)", flush=True)
        wait_for_interrupt()
    finally:
        preview.stop()
