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
    site_command("check", "validate every article and the site plan; write nothing")
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
