""""More on" recomputed near changes only (the next build's memo) must equal "more on"
computed from scratch, after any sequence of edits, adds and deletes.

The window and the rare-word limit are made small here so that a few dozen stories
already cross every boundary the incremental path reasons about: a story entering or
leaving a topic's window, a word becoming common or rare again, an edit that moves a
story past its neighbours.
"""

from __future__ import annotations

import pickle
import random
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from site_builder import related as related_module
from site_builder import related_tables
from site_builder.models import Article
from site_builder.ranking import newest_first
from site_builder.related import more_on_with_memo
from site_builder.topics import build_topics, group_by_topic

NOW = datetime(2026, 5, 1, tzinfo=timezone.utc)
WORDS = ["apple", "chip", "launch", "quantum", "rust", "cloud", "outage", "model", "robot", "battery"]
TOPICS = ["AI", "Hardware", "Cloud", "Security"]

story = st.tuples(
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=4),  # title words
    st.lists(st.sampled_from(TOPICS), max_size=3, unique=True),
    st.integers(0, 40),  # hours before NOW; ties on purpose
)
edit = st.one_of(
    st.tuples(st.just("add"), story),
    st.tuples(st.just("delete"), st.integers(0, 10_000)),
    st.tuples(st.just("retitle"), st.integers(0, 10_000), st.lists(st.sampled_from(WORDS), min_size=1, max_size=4)),
    st.tuples(st.just("retopic"), st.integers(0, 10_000), st.lists(st.sampled_from(TOPICS), max_size=3, unique=True)),
    st.tuples(st.just("redate"), st.integers(0, 10_000), st.integers(0, 40)),
)


def _article(n: int, words: list[str], topic_names: list[str], hours: int) -> Article:
    return Article(f"{n}.md", " ".join(words), f"https://x.example/{n}", NOW - timedelta(hours=hours), topics=tuple(topic_names))


def _more_on(articles: list[Article], previous, lists: str = "kept"):
    """Much as the plan calls it. lists="kept": a topic whose list holds the same stories
    in the same order keeps the last build's very list object, the others are new lists,
    so the last tables are patched, not made. (The plan keeps a list only when its
    stories' dates, URLs and topics are the same too: this keeps them more often, which
    only tests the patching harder.) "anew": every list is new, as when the plan groups
    anew. "updated in place": the last build's list objects, their contents replaced, as
    a caller that reuses its lists would pass them; the tables must not trust a list's
    identity where a story entered, left or moved. "saved": the memo as the next process
    reads it from the cache, without its tables."""
    if lists == "saved" and previous is not None:
        previous = pickle.loads(pickle.dumps(previous))
        assert previous.tables is None
    ordered = newest_first(articles)
    found = build_topics(ordered)
    groups = group_by_topic(ordered, found)
    if lists != "anew" and previous is not None and previous.tables is not None:
        last = previous.tables.lists
        kept = {}
        for topic, members in groups.items():
            if topic.key in last and (lists == "updated in place" or _names(last[topic.key]) == _names(members)):
                last[topic.key][:] = members
                members = last[topic.key]
            kept[topic] = members
        groups = kept
    return more_on_with_memo(ordered, groups, found, previous)


def _names(members: list[Article]) -> list[str]:
    return [a.source for a in members]


def _apply(stories: dict[str, Article], change, counter: list[int]) -> None:
    kind = change[0]
    if kind == "add":
        counter[0] += 1
        words, topic_names, hours = change[1]
        new = _article(counter[0], words, topic_names, hours)
        stories[new.source] = new
        return
    if not stories:
        return
    source = sorted(stories)[change[1] % len(stories)]
    old = stories[source]
    if kind == "delete":
        del stories[source]
    elif kind == "retitle":
        stories[source] = _article(int(source.split(".")[0]), change[2], list(old.topics), int((NOW - old.published).total_seconds() // 3600))
    elif kind == "retopic":
        stories[source] = Article(old.source, old.title, old.web_url, old.published, topics=tuple(change[2]))
    else:
        stories[source] = Article(old.source, old.title, old.web_url, NOW - timedelta(hours=change[2]), topics=old.topics)


@pytest.fixture
def tight_limits(monkeypatch):
    monkeypatch.setattr(related_module, "MORE_WINDOW", 2)
    monkeypatch.setattr(related_module, "RARE_WORD_LIMIT", 3)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    initial=st.lists(story, min_size=0, max_size=30),
    edits=st.lists(st.tuples(st.lists(edit, min_size=1, max_size=3), st.sampled_from(["kept", "anew", "updated in place", "saved"])), max_size=6),
)
def test_more_on_from_the_last_builds_memo_equals_a_fresh_computation(tight_limits, initial, edits):
    counter = [0]
    stories: dict[str, Article] = {}
    for spec in initial:
        _apply(stories, ("add", spec), counter)
    _, memo = _more_on(list(stories.values()), None)
    for batch, lists in edits:
        for change in batch:
            _apply(stories, change, counter)
        incremental, memo = _more_on(list(stories.values()), memo, lists)
        fresh, _ = _more_on(list(stories.values()), None)
        assert incremental == fresh


def _realistic_stories() -> dict[str, Article]:
    """2,000 stories on a vocabulary of 410 words, one or two of four topics each."""
    rng = random.Random(11)
    vocabulary = [f"w{i}" for i in range(400)] + WORDS
    return {
        a.source: a
        for a in (
            _article(n, rng.choices(vocabulary, k=rng.randint(3, 8)), rng.sample(TOPICS, rng.randint(1, 2)), rng.randint(0, 5000))
            for n in range(2000)
        )
    }


def test_the_memo_recomputes_only_near_an_edit_at_a_realistic_size(monkeypatch):
    """At default limits and 2,000 stories, one retitled story recomputes a few dozen
    stories, not all of them; and the result still equals a fresh computation."""
    stories = _realistic_stories()
    _, memo = _more_on(list(stories.values()), None)
    seen: list[int] = []
    made: list[int] = []
    original, make = related_module._similar_titles, related_module.make_tables
    monkeypatch.setattr(related_module, "_similar_titles", lambda *args: seen.append(1) or original(*args))
    monkeypatch.setattr(related_module, "make_tables", lambda *args: made.append(1) or make(*args))
    _apply(stories, ("retitle", 1234, ["quantum", "battery", "w7"]), [0])
    incremental, _ = _more_on(list(stories.values()), memo)
    recomputed, tables_made = len(seen), len(made)
    fresh, _ = _more_on(list(stories.values()), None)
    assert incremental == fresh
    assert 0 < recomputed < 200, recomputed
    assert tables_made == 0  # same stories, order and topic lists: the last tables, patched


def _not_again(*args):
    raise AssertionError("the tables were made anew")


def test_publishing_or_removing_a_story_patches_the_tables_at_a_realistic_size(monkeypatch):
    """A story published as the newest, one back-dated into the middle, then one removed,
    each from the last build's memo, the untouched topics' lists being the last build's
    objects: the tables are patched, never made (nor their word index), a few dozen
    stories are ranked again, and the result equals a fresh computation each time."""
    stories = _realistic_stories()
    _, memo = _more_on(list(stories.values()), None)
    counter = [len(stories)]
    changes = [
        ("add", (["quantum", "battery", "w7", "w123"], ["AI", "Cloud"], 0)),
        ("add", (["rust", "w7", "w300"], ["Security"], 2500)),
        ("delete", 777),
    ]
    original = related_module._similar_titles
    for change in changes:
        _apply(stories, change, counter)
        seen: list[int] = []
        with monkeypatch.context() as patch:
            patch.setattr(related_module, "make_tables", _not_again)
            patch.setattr(related_tables, "word_index", _not_again)
            patch.setattr(related_module, "_similar_titles", lambda *args: seen.append(1) or original(*args))
            incremental, memo = _more_on(list(stories.values()), memo)
        fresh, _ = _more_on(list(stories.values()), None)
        assert incremental == fresh, change
        assert set(fresh) == set(stories)
        assert 0 < len(seen) < 200, (change, len(seen))
