"""Curation: min_quality, the home page's Trending and Top stories strips, `new`, and
`check` verifying the built site's links. Sites are built through the CLI and read back
with mf2py."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import BuiltSite, article, make_site, prop, text_of
from site_builder.builder import BuildOptions, build
from site_builder.models import Article
from site_builder.ranking import GRAVITY, top_stories, trend_score, trending

NOW = datetime(2024, 6, 1, 12, tzinfo=timezone.utc)


def names(entries) -> list[str]:
    return [text_of(prop(e, "name")) for e in entries]


def _story(n: int, **fields) -> str:
    extra = {k: str(v) for k, v in fields.items()}
    return article(f"Story {n}", f"https://example.com/{n}", f"2024-05-{n:02d}T09:00:00Z", **extra)


def _build(site, **options) -> BuiltSite:
    report = build(BuildOptions(site, now=NOW, **options))
    assert not report.errors, report.errors
    return BuiltSite(site / "_site")


def test_min_quality_hides_exactly_the_low_quality_stories(tmp_path):
    site = make_site(tmp_path, {
        "site.toml": "min_quality = 50\n",
        "content/1.md": _story(1, quality=49),
        "content/2.md": _story(2, quality=50),
        "content/3.md": _story(3, quality=90),
        "content/4.md": _story(4),  # not scored: kept
        "content/5.md": _story(5, quality=-1),
    })
    out = _build(site)
    assert sorted(names(out.entries("/"))) == ["Story 2", "Story 3", "Story 4"]
    assert sorted(names(out.entries("/topics/ai/"))) == ["Story 2", "Story 3", "Story 4"]
    assert not out.exists("/2024/05/01/story-1/")


def test_without_min_quality_every_story_shows(tmp_path):
    site = make_site(tmp_path, {f"content/{n}.md": _story(n, quality=q) for n, q in ((1, -1), (2, 0), (3, 10))})
    assert len(_build(site).entries("/")) == 3


@pytest.mark.parametrize("toml, message", [
    ("min_quality = -1\n", "'min_quality' must be 0"),
    ("min_quality = \"50\"\n", "'min_quality' must be a whole number"),
    ("trending = true\n", "'trending' must be a whole number"),
    ("top_stories = 100\n", "'top_stories' is the number of stories"),
])
def test_curation_settings_are_validated(tmp_path, run, toml, message):
    site = make_site(tmp_path, {"site.toml": toml, "content/1.md": _story(1)})
    result = run("check", site)
    assert result.code == 2
    assert message in result.err


def test_home_strips_rank_by_decayed_heat_and_by_quality(tmp_path):
    site = make_site(tmp_path, {
        # Story 30 is a day old with modest heat; story 20 is ten days old with far more.
        "content/30.md": _story(30, heat=40, quality=60),
        "content/20.md": _story(20, heat=400, quality=95),
        "content/10.md": _story(10, heat=900, quality=95),
        "content/29.md": _story(29, heat=-1, quality=20),  # -1: unknown heat, never trends
        "content/28.md": _story(28),
    })
    out = _build(site)
    trending_names = names(out.feed("/", "Trending"))
    assert trending_names == ["Story 30", "Story 20", "Story 10"]
    # quality ties (20 and 10) go to the newer story
    assert names(out.feed("/", "Top stories")) == ["Story 20", "Story 10", "Story 30", "Story 29"]
    # the strips are extra: the listing is still every story, newest first
    assert names(out.entries("/")) == ["Story 30", "Story 29", "Story 28", "Story 20", "Story 10"]
    strip_card = out.feed("/", "Trending")[0]
    assert prop(strip_card, "url") == prop(out.entries("/")[0], "url")


def test_strips_are_only_on_the_first_home_page_and_can_be_turned_off(tmp_path):
    files = {f"content/{n}.md": _story(n, heat=n, quality=n) for n in range(1, 6)}
    site = make_site(tmp_path, {**files, "site.toml": "paginate = 2\ntop_stories = 0\ntrending = 2\n"})
    out = _build(site)
    assert len(out.feed("/", "Trending")) == 2
    assert out.feed("/", "Top stories") is None
    assert out.feed("/page/2/", "Trending") is None


def test_trend_score_is_hacker_news_gravity():
    story = Article("a.md", "A", "https://a.example/", NOW - timedelta(hours=10), heat=100)
    assert trend_score(story, NOW) == pytest.approx(100 / 12**GRAVITY)
    future = Article("b.md", "B", "https://b.example/", NOW + timedelta(hours=5), heat=100)
    assert trend_score(future, NOW) == pytest.approx(100 / 2**GRAVITY)


def test_ranking_is_bounded_and_deterministic():
    stories = [
        Article(f"{n}.md", f"S{n}", f"https://x.example/{n}", NOW - timedelta(hours=n), quality=n % 7, heat=n % 5)
        for n in range(1000)
    ]
    assert trending(stories, NOW, 5) == trending(list(reversed(stories)), NOW, 5)
    assert len(trending(stories, NOW, 5)) == 5
    best = top_stories(stories, 3)
    assert [a.quality for a in best] == [6, 6, 6]
    assert best == sorted(best, key=lambda a: a.published, reverse=True)


def test_new_writes_a_story_that_builds(tmp_path, run):
    site = make_site(tmp_path, {})
    result = run("new", "Rust: the \"safe\" choice # 1", "--url", "https://example.com/rust",
                 "--topic", "Rust", "--topic", "Programming", "--site", site)
    assert result.code == 0
    path = Path(result.out.strip())
    assert path.parent == site / "content" and path.is_file()
    assert run("build", site).code == 0
    [card] = BuiltSite(site / "_site").entries("/")
    assert text_of(prop(card, "name")) == "Rust: the \"safe\" choice # 1"
    assert card["properties"]["category"] == ["Rust", "Programming"]
    assert prop(card, "bookmark-of") == "https://example.com/rust"
    published = datetime.fromisoformat(prop(card, "published"))
    assert abs(datetime.now(timezone.utc) - published) < timedelta(minutes=5)


def test_new_refuses_a_url_already_on_the_site_and_bad_input(tmp_path, run):
    site = make_site(tmp_path, {"content/a.md": article("Old", "https://example.com/x")})
    again = run("new", "Same story", "--url", "HTTPS://EXAMPLE.COM/x#top", "--site", site)
    assert again.code == 1 and "already in" in again.err
    assert run("new", "Bad", "--url", "javascript:alert(1)", "--site", site).code == 2
    assert run("new", "  ", "--url", "https://example.com/y", "--site", site).code == 2
    with pytest.raises(SystemExit) as exited:  # argparse: --url is required
        run("new", "No url", "--site", site)
    assert exited.value.code == 2
    assert [p.name for p in (site / "content").iterdir()] == ["a.md"]


def test_check_verifies_the_built_sites_internal_links_and_writes_nothing(tmp_path, run):
    good = article("Good", "https://example.com/good", body="See [AI](/topics/ai/) and [elsewhere](https://x.example/).\n")
    site = make_site(tmp_path, {"site.toml": 'base_url = "https://user.github.io/repo/"\n', "content/good.md": good})
    result = run("check", site)
    assert result.code == 0, result.err
    assert result.out.startswith("Checked 1 articles")
    assert not (site / "_site").exists()

    (site / "content" / "bad.md").write_text(
        article("Bad", "https://example.com/bad", body="A [dead link](/topics/nowhere/).\n"), encoding="utf-8")
    result = run("check", site)
    assert result.code == 1
    assert "error: link /repo/topics/nowhere/ points nowhere" in result.err
    assert not (site / "_site").exists()


def _more(articles: list[Article], limit: int = 5) -> dict[str, tuple[Article, ...]]:
    from site_builder.ranking import newest_first
    from site_builder.related import more_on_topics
    from site_builder.topics import build_topics, group_by_topic

    ordered = newest_first(articles)
    topics = build_topics(ordered)
    return more_on_topics(ordered, group_by_topic(ordered, topics), topics, limit)


def _a(n: int, title: str, topics: tuple[str, ...], hours: int = 0) -> Article:
    return Article(f"{n}.md", title, f"https://x.example/{n}", NOW - timedelta(hours=hours or n), topics=topics)


def test_more_on_this_ranks_a_near_identical_title_high_across_topics():
    stories = [
        _a(1, "Nvidia unveils Blackwell GPU for datacenters", ("Hardware",)),
        _a(2, "Nvidia unveils its Blackwell GPU for datacenters", ("Business",)),  # same story, other desk
        _a(3, "Quarterly earnings beat estimates", ("Business",)),
        *[_a(10 + n, f"Chip fab number {n} opens", ("Hardware",)) for n in range(8)],
        _a(30, "Gardening tips for spring", ("Home",)),
    ]
    more = _more(stories)
    assert more["1.md"][0].source == "2.md"
    assert more["2.md"][0].source == "1.md"
    assert "3.md" in {a.source for a in more["2.md"]}  # a shared topic still counts
    assert more["30.md"] == ()  # nothing shares its topic or title
    # a single shared word is not a similar title
    assert not {"30.md"} & {a.source for m in more.values() for a in m}


def test_more_on_this_is_deterministic_and_fast_at_10000_articles():
    import random
    import time

    rng = random.Random(7)
    vocabulary = [f"word{i}" for i in range(3000)] + ["apple", "google", "launch", "update", "security"]
    topic_names = [f"Topic {i}" for i in range(40)]
    stories = [
        _a(n, " ".join(rng.choices(vocabulary, k=rng.randint(5, 12))), tuple(rng.sample(topic_names, rng.randint(1, 3))),
           hours=rng.randint(1, 20_000))
        for n in range(10_000)
    ]
    started = time.perf_counter()
    more = _more(stories)
    elapsed = time.perf_counter() - started
    assert elapsed < 10, f"{elapsed:.1f} s"
    assert all(0 < len(m) <= 5 for m in more.values())
    assert more == _more(list(reversed(stories)))


_URL_PART = st.text(st.sampled_from(list("aAzZ09.-_~%+=&@:/?# ")), max_size=12)


@settings(max_examples=2000, deadline=None)
@given(
    scheme=st.sampled_from(["https://", "http://", "HTTPS://", "ftp://", "", "//"]),
    host=st.text(st.sampled_from(list("abcXYZ019.-")), max_size=10),
    port=st.sampled_from(["", ":8080", ":"]),
    path=_URL_PART, query=st.sampled_from(["", "?", "?a=1", "?A=b&c"]), fragment=st.sampled_from(["", "#", "#top"]),
    noise=st.sampled_from(["", " ", "\n"]),
)
def test_normalize_url_fast_path_agrees_with_urllib(scheme, host, port, path, query, fragment, noise):
    """normalize_url returns URLs already in normal form as they are, without urllib: for
    every URL it must give what the urllib normalisation gives."""
    from site_builder.identity import normalize_url, normalize_url_fully

    url = noise + scheme + host + port + "/" + path + query + fragment + noise
    assert normalize_url(url) == normalize_url_fully(url)
    assert normalize_url(url.rstrip("/")) == normalize_url_fully(url.rstrip("/"))
