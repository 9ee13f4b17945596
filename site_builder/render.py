"""RENDER: the Jinja environment and its helpers. Pages in, HTML strings out; no files."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

import jinja2
from markupsafe import Markup

from .config import SiteConfig
from .routes import Page, SitePlan


class RenderError(Exception):
    """A template failed; the message names the template, line and page."""


class Renderer:
    def __init__(
        self,
        config: SiteConfig,
        plan: SitePlan,
        template_dirs: list[Path],
        asset_versions: Mapping[str, str],
        build_options: Mapping[str, bool],
    ):
        self.config = config
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(d)) for d in template_dirs]),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        tz = config.tz
        self.env.filters["date"] = lambda dt: _display_date(dt.astimezone(tz))
        self.env.filters["isodate"] = lambda dt: dt.astimezone(tz).isoformat()
        self.env.filters["jsonld"] = jsonld
        self.env.globals.update(
            site=config,
            topics=plan.topics,
            url_for=self.url_for,
            asset_url=lambda name: self.url_for("/" + name) + (
                f"?v={asset_versions[name]}" if name in asset_versions else ""
            ),
            options=build_options,
        )

    def url_for(self, path: str) -> str:
        """The one place site paths become links: under the base path, root-relative."""
        return self.config.base_path + path.lstrip("/")

    def render(self, page: Page) -> str:
        try:
            template = self.env.get_template(page.template)
            return template.render(page.context, page=page)
        except jinja2.TemplateSyntaxError as exc:
            raise RenderError(f"{exc.filename or exc.name}:{exc.lineno}: template error: {exc.message}") from None
        except jinja2.TemplateNotFound as exc:
            raise RenderError(f"template not found: {exc.name} (needed for {page.path})") from None
        except jinja2.UndefinedError as exc:
            raise RenderError(f"{_template_location(exc)}template error while rendering {page.path}: {exc.message}") from None


_JSON_IN_SCRIPT = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def jsonld(value) -> Markup:
    """JSON for a <script type="application/ld+json"> block. `<`, `>` and `&` become
    \\u003c..., so no text (`</script>`, `<!--`) can end the block; JSON readers see the same data."""
    return Markup(json.dumps(value, ensure_ascii=False).translate(_JSON_IN_SCRIPT))


def _display_date(dt: datetime) -> str:
    return f"{dt.day} {dt:%b %Y}"


def _template_location(exc: Exception) -> str:
    """Jinja puts template frames in the traceback with the template's file name."""
    tb = exc.__traceback__
    location = ""
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith((".html", ".xml", ".txt", ".json")):
            location = f"{filename}:{tb.tb_lineno}: "
        tb = tb.tb_next
    return location
