"""Permalink clashes are settled as if every story went through the loop in (date, URL)
order, though only the clashing stories do: titles that end in "2" (a path a clash's
"-2" would take), listing paths, several clashes on one day."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from site_builder.config import SiteConfig
from site_builder.models import Article
from site_builder.permalinks import article_paths, paths_with_memo, patched_paths, permalink, slug_of
from site_builder.plan_reuse import PlanMemo, story_keys

DAY = datetime(2026, 5, 1, 9, tzinfo=timezone.utc)
CONFIG = SiteConfig()


def every_story_through_the_loop(keys, config, taken) -> dict[str, str]:
    """The rule, spelled out: each story in (date, URL) order takes its path or the first
    free -2, -3..."""
    paths, used = {}, set(taken)
    for story in sorted(keys.values(), key=lambda k: k.order):
        path, n = story.base_path, 2
        while path in used:
            path, n = permalink(story.article, f"{slug_of(story.article)}-{n}", config), n + 1
        used.add(path)
        paths[story.article.source] = path
    return paths


story = st.tuples(st.sampled_from(["Launch", "Launch 2", "Launch 2 2", "Launch 3", "Topics", "Page"]), st.integers(0, 2))


@settings(max_examples=300, deadline=None)
@given(stories=st.lists(story, max_size=14), taken=st.sets(st.sampled_from(["/2026/05/01/launch/", "/2026/05/01/launch-2/", "/topics/"])))
def test_only_the_clashing_stories_are_settled_and_the_paths_are_the_same(stories, taken):
    articles = [
        Article(f"content/{n:02d}.md", title, f"https://x.example/{n}", DAY + timedelta(days=day))
        for n, (title, day) in enumerate(stories)
    ]
    keys, _ = story_keys(articles, CONFIG, PlanMemo({}, {}))
    paths = article_paths(keys, CONFIG, frozenset(taken))
    assert paths == every_story_through_the_loop(keys, CONFIG, taken)
    assert len(set(paths.values())) == len(paths) and not set(paths.values()) & taken


@settings(max_examples=300, deadline=None)
@given(
    before=st.lists(story, max_size=10), after=st.lists(st.one_of(st.none(), story), max_size=10),
    taken=st.sets(st.sampled_from(["/2026/05/01/launch/", "/2026/05/01/launch-2/", "/topics/"])),
)
def test_permalinks_patched_for_the_stories_touched_are_the_ones_settled_anew(before, after, taken):
    """A plan patches the last plan's permalinks for the stories that came, went or
    changed: where it does, they are article_paths' of the new stories."""
    taken = frozenset(taken)

    def keyed(stories):
        articles = [Article(f"content/{n:02d}.md", title, f"https://x.example/{n}", DAY + timedelta(days=day))
                    for n, pair in enumerate(stories) if pair is not None for title, day in [pair]]
        return story_keys(articles, CONFIG, PlanMemo({}, {}))[0]

    old = keyed(before)
    _, memo = paths_with_memo(old, CONFIG, taken, None, ())
    new_stories = [after[n] if n < len(after) else pair for n, pair in enumerate(before)] + after[len(before):]
    new = keyed(new_stories)
    touched = [s for s in old.keys() | new.keys() if s not in old or s not in new or old[s].base_path != new[s].base_path]
    paths, _ = paths_with_memo(new, CONFIG, taken, memo, touched)
    assert paths == article_paths(new, CONFIG, taken)
    patched = patched_paths(new, taken, memo, touched)
    clash_free = not any(p.base_path in taken for p in new.values()) and len({p.base_path for p in new.values()}) == len(new)
    if memo is not None and clash_free and memo.settled.isdisjoint(touched):
        assert patched is not None  # no clash then among those touched, none now: patched, not settled anew
