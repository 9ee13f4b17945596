"""`init`: a new site folder, ready to build and to publish on GitHub Pages."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from .config import ConfigError

SITE_TOML = """\
# Settings for site-builder. Every setting is optional; see the README for all of them.

title = "Tech News"
description = "Curated technology news."

# Where the site is published. Its path becomes the prefix of every link, so a project
# site works under /<repo>/. `site-builder deploy` needs it; the GitHub Actions workflow
# sets it for you from the Pages settings.
# base_url = "https://<user>.github.io/<repo>/"

# A custom domain: `deploy` writes it to a CNAME file (then base_url = "https://<domain>/").
# cname = "news.example.com"

# language = "en"
# timezone = "UTC"          # IANA name; dates without an offset are read in it
# paginate = 20             # stories per listing page
# permalink = "/{year}/{month}/{day}/{slug}/"

# Feeds to import from: `site-builder import` with no feed named reads each one, and the
# GitHub Actions workflow does it every hour. `site-builder sources add URL` adds one.
# [[sources]]
# url = "https://example.com/feed.xml"
# topics = ["Inbox"]        # added to every story of the feed
# publish = "review"        # "review": stories wait in the desk; "auto": published at once
"""

EXAMPLE_ARTICLE = """\
---
title: "Welcome to your news site"
webUrl: "https://docs.github.com/en/pages"
publishedDateTime: {published}
excerpt: "An example story: replace it with the first one you pick."
provider: {{name: GitHub Docs, domain: docs.github.com}}
topics: [Meta]
---
Each file in `content/` is one story you picked: front matter that points to the source,
and an optional note like this one, in Markdown. Links from the site root, such as
[all topics](/topics/), keep working when the site lives under `/<repo>/`.
"""

GITIGNORE = """\
# site-builder output and its staging folders
_site/
_site.*/
# caches
__pycache__/
.cache/
.pytest_cache/
"""

# Both jobs that run site-builder install it the same way.
_INSTALL = """\
      - uses: actions/setup-python@v7
        with:
          python-version: "3.12"
      - name: Install site-builder
        run: |
          case "$SITE_BUILDER" in
            *"<owner>"*) echo "::error::Set SITE_BUILDER in .github/workflows/pages.yml to where pip can get site-builder"; exit 1 ;;
          esac
          python -m pip install "$SITE_BUILDER"
"""

WORKFLOW = """\
# Publishes the site on GitHub Pages: on every push to main, and every hour, when it
# first imports the new stories of the feeds in site.toml's [[sources]] and commits them.
# Once: in the repository's Settings > Pages, set Source to "GitHub Actions".
name: Import and publish

on:
  push:
    branches: [main]
  schedule:
    # Every hour at minute 17 (UTC). Edit to taste, e.g. "17 6-22 * * *" for hourly from
    # 06:17 to 22:17, or "17 */3 * * *" for every three hours.
    - cron: "17 * * * *"
  workflow_dispatch:

# Each job asks for what it needs: only the import may push.
permissions: {}

# One run at a time: a newer run waits, so two imports never race to push, and no
# deployment is cancelled half way.
concurrency:
  group: pages
  cancel-in-progress: false

env:
  # What pip installs. site-builder is not on PyPI: point this at its repository and pin
  # a tag or commit, e.g. "site-builder @ git+https://github.com/<owner>/site-builder@v0.1.0".
  SITE_BUILDER: "site-builder @ git+https://github.com/<owner>/site-builder"

jobs:
  import:
    # On the schedule and by hand; a push brings its own stories.
    if: github.event_name != 'push'
    runs-on: ubuntu-latest
    permissions:
      contents: write  # to push the commit with the new stories
    outputs:
      commit: ${{ steps.commit.outputs.commit }}
      failed: ${{ steps.import.outputs.failed }}
    steps:
      - uses: actions/checkout@v7
      # INSTALL
      - name: Import new stories
        id: import
        # One line per source. A source that fails fails the run at its end, after the
        # other sources' stories are committed and published.
        run: |
          if ! grep -Eq '^[[:space:]]*\\[\\[[[:space:]]*sources[[:space:]]*\\]\\]' site.toml 2>/dev/null; then
            echo "No [[sources]] in site.toml: nothing to import."
            exit 0
          fi
          site-builder import || echo "failed=true" >> "$GITHUB_OUTPUT"
      - name: Commit new stories
        id: commit
        # New article files, with the sources' state (ETags, last success and error).
        # A run that only moved the state's times commits nothing.
        run: |
          git add -A -- content
          if [ -e sources-state.json ]; then git add -- sources-state.json; fi
          stories=$(git diff --cached --name-only -- content)
          state=$(git diff --cached -U0 -- sources-state.json | grep -E '^[-+][[:space:]]+"(etag|last_modified|last_error)"' || true)
          if [ -z "$stories$state" ]; then
            echo "Nothing new: no commit."
            exit 0
          fi
          git -c user.name="github-actions[bot]" \\
              -c user.email="41898282+github-actions[bot]@users.noreply.github.com" \\
              commit --quiet -m "Import new stories from the sources"
          git push origin "HEAD:$GITHUB_REF_NAME"
          echo "commit=$(git rev-parse HEAD)" >> "$GITHUB_OUTPUT"

  build:
    needs: import
    # After the import, or without it on a push; not when the import job broke.
    if: ${{ !cancelled() && needs.import.result != 'failure' }}
    runs-on: ubuntu-latest
    permissions:
      contents: read
    steps:
      - uses: actions/checkout@v7
        with:
          # The commit the import pushed, when it pushed one.
          ref: ${{ needs.import.outputs.commit || github.sha }}
      # INSTALL
      - name: Read the Pages settings
        id: pages
        uses: actions/configure-pages@v6
      - name: Build
        # base_url has no trailing slash ("https://<user>.github.io/<repo>"); add one.
        run: site-builder build --base-url "${{ steps.pages.outputs.base_url }}/"
      - uses: actions/upload-pages-artifact@v5
        with:
          path: _site

  deploy:
    needs: build
    # Without a status function here, a skipped import (on every push) would skip
    # this job too, however the build went.
    if: ${{ !cancelled() && needs.build.result == 'success' }}
    runs-on: ubuntu-latest
    permissions:
      pages: write
      id-token: write
    environment:
      name: github-pages
      url: ${{ steps.deployment.outputs.page_url }}
    steps:
      - name: Publish
        id: deployment
        uses: actions/deploy-pages@v5

  sources:
    # The run is marked failed when a source failed; its log says which and why.
    needs: [import, deploy]
    if: ${{ !cancelled() && needs.import.outputs.failed == 'true' }}
    runs-on: ubuntu-latest
    steps:
      - name: Report failing sources
        run: |
          echo "::error::A source could not be imported: see the import job's log. The other sources' stories were published."
          exit 1
""".replace("      # INSTALL\n", _INSTALL)

WORKFLOW_PATH = ".github/workflows/pages.yml"


def scaffold_files(now: datetime | None = None) -> dict[str, str]:
    """Relative path -> text of every file `init` writes."""
    published = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(second=0, microsecond=0)
    return {
        "site.toml": SITE_TOML,
        f"content/{published:%Y-%m-%d}-welcome.md": EXAMPLE_ARTICLE.format(
            published=published.strftime("%Y-%m-%dT%H:%M:%SZ")
        ),
        ".gitignore": GITIGNORE,
        WORKFLOW_PATH: WORKFLOW,
    }


def init_site(target: Path, now: datetime | None = None) -> list[str]:
    """Write the scaffold into `target`; refuses (writing nothing) if any file exists."""
    files = scaffold_files(now)
    existing = [rel for rel in files if (target / rel).exists()]
    if existing:
        raise ConfigError(
            f"{target}: refusing to overwrite {', '.join(existing)}; "
            f"move {'it' if len(existing) == 1 else 'them'} away or choose another folder"
        )
    for rel, text in files.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as handle:  # "x": never replace a file
            handle.write(text)
    return list(files)
