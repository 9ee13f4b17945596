"""site-builder: a static site generator for curated tech-news sites."""

__version__ = "0.1.0"
