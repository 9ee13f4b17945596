"""The theme: where the default one lives (inside the package when installed from a
wheel, at the top of the repository in a source checkout), and the files a build takes
from it and from the site's own templates/ and static/, the site's winning."""

from __future__ import annotations

from pathlib import Path

from .inputs import theme_files

_PACKAGE = Path(__file__).resolve().parent


def default_theme_dir() -> Path:
    bundled = _PACKAGE / "theme"
    if (bundled / "templates").is_dir():
        return bundled
    return _PACKAGE.parent


def listed_files(folder: Path, refused: list | None = None) -> list[tuple[str, str]]:
    """inputs.theme_files, trusting the package's own theme folders (an installer may lay
    their files out as links to elsewhere) and no other."""
    return theme_files(folder, refused, trusted=folder.parent == default_theme_dir())


def collect_static(site_dir: Path) -> dict[str, bytes]:
    """The theme's static files, then the site's own over them (same path wins)."""
    files: dict[str, bytes] = {}
    for root in (default_theme_dir() / "static", site_dir / "static"):
        for rel, path in listed_files(root):
            files[rel] = Path(path).read_bytes()
    return dict(sorted(files.items()))


def template_bytes(folders: list[Path]) -> list[tuple[str, bytes]]:
    """Every template file, so editing any of them re-renders the pages."""
    return [(path, Path(path).read_bytes()) for folder in folders for _, path in listed_files(folder)]
