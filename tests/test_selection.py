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
    "rejected": st.sampled_from([False, False, False, True]),
})
# What an editor does to one file: any of its fields but the URL (publish, unpublish,
# reject, a new date, a new quality; none: the same article as a new object), a whole new
# record (maybe another URL), or a file that gives no article.
field_edit = st.fixed_dictionaries({}, optional={
    "title": st.sampled_from(["A", "B", "C"]),
    "hours": st.integers(-3, 3),
    "draft": st.booleans(),
    "quality": st.none() | st.integers(0, 3),
    "rejected": st.booleans(),
})
edit = st.one_of(st.none(), record, field_edit, field_edit, field_edit)


def _article(n: int, spec: dict) -> Article:
    return Article(
        f"content/{n:02d}.md", spec["title"], spec["url"], NOW - timedelta(hours=spec["hours"]),
        draft=spec["draft"], quality=spec["quality"], rejected=spec.get("rejected", False),
    )


def _fields(selected):
    return selected.published, selected.unique, selected.duplicates, selected.next_change, selected._places


@settings(max_examples=300, deadline=None)
@given(
    files=st.lists(st.none() | record, min_size=1, max_size=12),
    edits=st.lists(st.tuples(st.integers(0, 11), edit, st.integers(-1, 2)), min_size=1, max_size=8),
    batch=st.integers(1, 3),
    drafts=st.booleans(), future=st.booleans(), min_quality=st.integers(0, 2),
)
def test_a_patched_selection_equals_a_fresh_one(files, edits, batch, drafts, future, min_quality):
    specs = list(files)
    now = NOW
    last = select([None if spec is None else _article(n, spec) for n, spec in enumerate(specs)], now, drafts, future, min_quality)
    read = list(last.read)
    for step, (position, change, hours_later) in enumerate(edits, 1):
        n = position % len(read)
        if change is None or "url" in change:
            specs[n] = change
        elif specs[n] is not None:
            specs[n] = {**specs[n], **change}
        read[n] = None if specs[n] is None else _article(n, specs[n])  # a new object, changed or not
        if step % batch and step < len(edits):
            continue  # several files changed before the next build
        now += timedelta(hours=hours_later)  # scheduled stories may come due; a pinned clock may go back
        last = select(read, now, drafts, future, min_quality, last)
        assert _fields(last) == _fields(select(read, now, drafts, future, min_quality))


def test_a_retitle_is_patched_in_place_not_selected_again(monkeypatch):
    read = [_article(n, {"title": "A", "url": URLS[n], "hours": n, "draft": False, "quality": None}) for n in range(6)]
    last = select(read, NOW, False, False, 0)
    monkeypatch.setattr(selection_module, "drop_duplicate_urls", lambda *a: pytest.fail("selected again"))
    read[3] = replace(read[3], title="Retitled")
    patched = select(read, NOW, False, False, 0, last)
    assert patched.published[3] is read[3]  # the retitled article itself, still the fourth newest


def _fail(*args):
    pytest.fail("selected again")


def test_a_publish_among_thousands_is_patched_not_selected_again(monkeypatch):
    """The preview's common edit: a draft's `published: false` becomes true. It is
    bisected into the published stories, as are an unpublish, a new date and a story
    scheduled sooner than the next one, with duplicate URLs elsewhere on the site."""
    specs = [
        {"title": "A", "url": f"https://news.example/{n}", "hours": n % 700, "draft": n % 5 == 0, "quality": n % 4}
        for n in range(3000)
    ]
    specs[10]["url"] = specs[11]["url"] = "https://news.example/shared"
    specs[20]["hours"] = -5  # scheduled: the next change
    read = [_article(n, spec) for n, spec in enumerate(specs)]
    last = select(read, NOW, False, False, 1)
    assert last.next_change == NOW + timedelta(hours=5) and len(last.duplicates) == 1
    monkeypatch.setattr(selection_module, "drop_duplicate_urls", _fail)
    monkeypatch.setattr(selection_module, "newest_first", _fail)
    edits = [
        (5, {"draft": False}),  # a publish
        (7, {"draft": True}),  # an unpublish
        (9, {"hours": 3.5}),  # a new date
        (13, {"quality": 0}),  # below the bar
        (30, {"hours": -2}),  # scheduled sooner than the next one
    ]
    for n, change in edits:
        read[n] = _article(n, {**specs[n], **change})
        last = select(read, NOW, False, False, 1, last)
        monkeypatch.undo()
        assert _fields(last) == _fields(select(read, NOW, False, False, 1))
        monkeypatch.setattr(selection_module, "drop_duplicate_urls", _fail)
        monkeypatch.setattr(selection_module, "newest_first", _fail)
    assert read[5] in last.published and read[7] not in last.published and read[13] not in last.published
    assert last.next_change == NOW + timedelta(hours=2)
