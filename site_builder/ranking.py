"""MODEL: which stories are shown and in what order: newest first, drafts, rejected and future
stories, the quality bar, trending and top stories. Pure functions, run once per build."""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from datetime import datetime

from .models import Article


def newest_first_key(article: Article):
    # Ties broken by URL then source so the order never depends on the file system.
    return (-article.published.timestamp(), article.web_url, article.source)


def newest_first(articles: Iterable[Article]) -> list[Article]:
    return sorted(articles, key=newest_first_key)


def select_published(
    articles: Iterable[Article], now: datetime, include_drafts: bool, include_future: bool
) -> list[Article]:
    """Rejected stories are left out always: --drafts shows drafts, never rejections."""
    return [
        a
        for a in articles
        if not a.rejected and (include_drafts or not a.draft) and (include_future or a.published <= now)
    ]


def meets_quality(articles: Iterable[Article], min_quality: int) -> list[Article]:
    """`min_quality` hides stories scored below it; a story with no `quality` is kept
    (nobody scored it, so nothing says it is poor)."""
    if min_quality <= 0:
        return list(articles)
    return [a for a in articles if a.quality is None or a.quality >= min_quality]


GRAVITY = 1.8  # Hacker News' gravity: how fast age outweighs heat


def trend_score(article: Article, now: datetime) -> float:
    """heat / (age_hours + 2) ** GRAVITY, the Hacker News ranking with `heat` as the votes.

    The +2 keeps a brand-new story from dividing by (almost) nothing; a story dated after
    `now` (a --future build) counts as age 0.
    """
    age_hours = max(0.0, (now - article.published).total_seconds() / 3600)
    return (article.heat or 0) / (age_hours + 2) ** GRAVITY


def trending(articles: Iterable[Article], now: datetime, limit: int) -> list[Article]:
    """The `limit` hottest stories by trend_score; stories without a positive heat never
    trend (records use -1 for "unknown"). Ties: newest first."""
    hot = (a for a in articles if a.heat is not None and a.heat > 0)
    return heapq.nsmallest(limit, hot, key=lambda a: (-trend_score(a, now), newest_first_key(a)))


def top_stories(articles: Iterable[Article], limit: int) -> list[Article]:
    """The `limit` stories with the highest `quality`; ties: newest first."""
    scored = (a for a in articles if a.quality is not None)
    return heapq.nsmallest(limit, scored, key=lambda a: (-a.quality, newest_first_key(a)))
