"""The published stories selected from the last Selection (a long-lived build patching
it for the changed files) equal those selected from scratch, after any edits: drafts,
scheduled stories, quality below the bar, duplicate URLs, a clock that moves on."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from site_builder import selection as selection_module
from site_builder.models import Article
from site_builder.selection import select

NOW = datetime(2026, 5, 1, 12, tzinfo=timezone.utc)
URLS = [f"https://news.example/{n}" for n in range(6)] + ["HTTPS://NEWS.example/0#top"]  # the last is the first again

record = st.fixed_dictionaries({
    "title": st.sampled_from(["A", "B", "C"]),
    "url": st.sampled_from(URLS),
    "hours": st.integers(-3, 3),  # before NOW; negative: scheduled
    "draft": st.booleans(),
    "quality": st.none() | st.integers(0, 3),
})


def _article(n: int, spec: dict) -> Article:
    return Article(
        f"content/{n:02d}.md", spec["title"], spec["url"], NOW - timedelta(hours=spec["hours"]),
        draft=spec["draft"], quality=spec["quality"],
    )


def _fields(selected):
    return selected.published, selected.unique, selected.duplicates, selected.next_change


@settings(max_examples=300, deadline=None)
@given(
    files=st.lists(st.none() | record, min_size=1, max_size=12),
    edits=st.lists(st.tuples(st.integers(0, 11), st.none() | record, st.integers(-1, 2)), min_size=1, max_size=8),
    drafts=st.booleans(), min_quality=st.integers(0, 2),
)
def test_a_patched_selection_equals_a_fresh_one(files, edits, drafts, min_quality):
    read = [None if spec is None else _article(n, spec) for n, spec in enumerate(files)]
    now = NOW
    last = select(read, now, drafts, False, min_quality)
    for position, spec, hours_later in edits:
        n = position % len(read)
        if spec is None and read[n] is not None:
            read[n] = replace(read[n], title=read[n].title + "!")  # same place, new object
        else:
            read[n] = None if spec is None else _article(n, spec)
        now += timedelta(hours=hours_later)  # scheduled stories may come due; a pinned clock may go back
        last = select(read, now, drafts, False, min_quality, last)
        assert _fields(last) == _fields(select(read, now, drafts, False, min_quality))


def test_a_retitle_is_patched_in_place_not_selected_again(monkeypatch):
    read = [_article(n, {"title": "A", "url": URLS[n], "hours": n, "draft": False, "quality": None}) for n in range(6)]
    last = select(read, NOW, False, False, 0)
    monkeypatch.setattr(selection_module, "drop_duplicate_urls", lambda *a: pytest.fail("selected again"))
    read[3] = replace(read[3], title="Retitled")
    patched = select(read, NOW, False, False, 0, last)
    assert patched.published[3] is read[3]  # the retitled article itself, still the fourth newest
