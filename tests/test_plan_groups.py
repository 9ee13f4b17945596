"""The last plan's Groups (and keys, and count of providers without a domain) patched for the stories that came, went or moved (a publish, a
reject, a new date or topic) equal Groups made anew: the topic, provider and month lists,
the topics' names and slugs, the trending and top-story strips."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from site_builder import plan_reuse
from site_builder.config import SiteConfig
from site_builder.models import Article, Provider
from site_builder.plan_reuse import PlanMemo, gone_sources, nameless_providers, plan_groups, story_keys
from site_builder.ranking import newest_first

NOW = datetime(2026, 5, 31, 20, tzinfo=timezone.utc)  # near a month's end: months differ by time zone
CONFIG = SiteConfig(timezone="Pacific/Auckland", trending=2, top_stories=2)

record = st.fixed_dictionaries({
    "hours": st.integers(0, 60),  # before NOW; ties on purpose
    "topics": st.lists(st.sampled_from(["AI", "ai", "Ai", "Cloud", "C++", "C", "Robotics"]), max_size=3),
    "provider": st.none() | st.tuples(st.sampled_from(["Wired", "WIRED", "The Verge"]), st.sampled_from(["", "wired.com", "verge.com"])),
    "heat": st.none() | st.integers(-1, 9),
    "quality": st.none() | st.integers(0, 3),
})


def _article(n: int, spec: dict) -> Article:
    provider = Provider(*spec["provider"]) if spec["provider"] else None
    return Article(
        f"content/{n:03d}.md", f"Story {n}", f"https://news.example/{n}", NOW - timedelta(hours=spec["hours"]),
        topics=tuple(spec["topics"]), provider=provider, heat=spec["heat"], quality=spec["quality"],
    )


def _groups(stories: dict[str, Article], previous: PlanMemo):
    articles = newest_first(stories.values())
    keys, changed = story_keys(articles, CONFIG, previous)
    groups = plan_groups(articles, keys, changed, CONFIG, previous)
    nameless = nameless_providers(keys, changed, previous)
    return groups, PlanMemo(keys, {}, groups, CONFIG, nameless=nameless)


def _view(groups) -> tuple:
    """What the plan reads of Groups: the lists' stories by source (a list may hold an
    older copy of a story whose grouped fields did not change)."""
    def sources(members):
        return [a.source for a in members]

    return (
        groups.order, groups.positions, groups.settings, groups.topics,
        [(topic, sources(members)) for topic, members in groups.by_topic.items()],
        [(domain, name, sources(members)) for domain, (name, members) in groups.providers.items()],
        [(month, sources(members)) for month, members in groups.months.items()],
        groups.trending, groups.top_stories,
    )


edit = st.one_of(
    st.tuples(st.just("add"), record),
    st.tuples(st.just("remove"), st.integers(0, 999)),
    st.tuples(st.just("change"), st.integers(0, 999), record),
    st.tuples(st.just("touch"), st.integers(0, 999)),  # a new object, the same fields
)


@settings(max_examples=300, deadline=None)
@given(initial=st.lists(record, min_size=1, max_size=12), batches=st.lists(st.lists(edit, min_size=1, max_size=3), max_size=5))
def test_patched_groups_equal_groups_made_anew(initial, batches):
    stories = {a.source: a for a in (_article(n, spec) for n, spec in enumerate(initial))}
    _, memo = _groups(stories, PlanMemo({}, {}))
    made = len(initial)
    for batch in batches:
        for kind, *args in batch:
            if kind == "add":
                made += 1
                new = _article(made, args[0])
                stories[new.source] = new
            elif stories:
                source = sorted(stories)[args[0] % len(stories)]
                if kind == "remove":
                    del stories[source]
                elif kind == "change":
                    stories[source] = _article(int(source[8:11]), args[1])
                else:
                    stories[source] = replace(stories[source], title=stories[source].title + "!")
        last = memo
        patched, memo = _groups(stories, memo)
        fresh, fresh_memo = _groups(stories, PlanMemo({}, {}))
        assert _view(patched) == _view(fresh)
        assert memo.stories == fresh_memo.stories and list(memo.stories) == list(fresh_memo.stories)
        # A story's keys are the last plan's object exactly when its article is the same object.
        for source, keys in memo.stories.items():
            kept = source in last.stories and last.stories[source].article is stories[source]
            assert (keys is last.stories[source]) if kept else keys.article is stories[source]
        _, changed = story_keys(newest_first(stories.values()), CONFIG, last)
        assert gone_sources(last.stories, memo.stories, changed) == last.stories.keys() - stories.keys()
        assert memo.nameless == fresh_memo.nameless == Counter(
            a.provider.name for a in stories.values() if a.provider is not None and not a.provider.domain
        )


def test_a_publish_patches_the_groups_and_keeps_the_lists_of_the_other_groups(monkeypatch):
    """At a realistic size one story that came is put in: nothing is grouped anew, and
    the lists of the topics, sources and months it is not in are the very same lists."""
    specs = [
        {"hours": n % 900, "topics": [("AI", "Cloud", "Robotics", "C++")[n % 4]], "provider": ("P", f"p{n % 40}.example"),
         "heat": n % 7, "quality": n % 3}
        for n in range(3000)
    ]
    stories = {a.source: a for a in (_article(n, spec) for n, spec in enumerate(specs))}
    before, memo = _groups(stories, PlanMemo({}, {}))
    for name in ("group_by_topic", "group_by_provider", "group_by_month", "build_topics"):
        monkeypatch.setattr(plan_reuse, name, lambda *a, name=name: pytest_fail(name))
    new = _article(5000, {"hours": -1, "topics": ["Cloud"], "provider": ("P", "p3.example"), "heat": 5, "quality": 2})
    stories[new.source] = new
    after, _ = _groups(stories, memo)
    assert after.order[0] == new.source and after.trending[0] == new.source
    ai = next(t for t in after.topics.values() if t.key == "ai")
    cloud = next(t for t in after.topics.values() if t.key == "cloud")
    assert after.by_topic[ai] is before.by_topic[ai] and after.by_topic[cloud][0] is new
    assert after.providers["p4.example"] is before.providers["p4.example"]
    monkeypatch.undo()
    assert _view(after) == _view(_groups(stories, PlanMemo({}, {}))[0])


def pytest_fail(name: str):
    raise AssertionError(f"{name} ran: the groups were made anew, not patched")
