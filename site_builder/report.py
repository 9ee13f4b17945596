"""What a build says it did: counts, problems, notes and the summary line. Its own module
so that the builder and the cache (which replays the last build's report) both import it."""

from __future__ import annotations

from dataclasses import dataclass, field

from .models import Problem
from .writer import WriteResult


@dataclass
class BuildReport:
    articles: int = 0  # published on the site
    files: int = 0  # article files read
    pages: int = 0
    rendered: int = 0  # pages whose inputs changed, so they were rendered again
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    write: WriteResult | None = None
    seconds: float = 0.0
    size: int | None = None  # bytes of the output folder, when measured (sizes.py)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def summary(self, verb: str = "Built") -> str:
        parts = [f"{verb} {self.articles} articles", f"{self.pages} pages"]
        if self.write is not None:
            parts.append(f"{self.rendered} rendered, {len(self.write.written)} written, {len(self.write.removed)} removed")
        parts.append(_plural(len(self.errors), "error"))
        if self.warnings:
            parts.append(_plural(len(self.warnings), "warning"))
        size = f"; the site is {human(self.size)}" if self.size is not None else ""
        return ", ".join(parts) + f" in {self.seconds:.2f} s" + size


def human(n: int) -> str:
    """Bytes as a reader says them (SI units, as GitHub states its 1 GB limit)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")
