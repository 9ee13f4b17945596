"""Where the default theme lives: inside the package when installed from a wheel,
at the top of the repository in a source checkout (editable install)."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def default_theme_dir() -> Path:
    bundled = _PACKAGE / "theme"
    if (bundled / "templates").is_dir():
        return bundled
    return _PACKAGE.parent
