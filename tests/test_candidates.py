"""Rejections and the review queue: `rejected: true` is read, checked and never published
(not even with --drafts), `import` never brings a rejected story back, and
candidates.queue sorts, filters and counts what is left to review, quickly."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from conftest import EXAMPLE_RECORD, BuiltSite, article, make_site, prop, text_of
from site_builder.builder import BuildOptions, load_model
from site_builder.candidates import Filter, candidates, queue, source_key
from site_builder.models import Article, Provider

NOW = datetime(2024, 6, 1, 12, tzinfo=timezone.utc)


def names(entries) -> list[str]:
    return sorted(text_of(prop(e, "name")) for e in entries)


# -- rejected: the field -----------------------------------------------------------------

def _site(tmp_path):
    return make_site(tmp_path / "site", {
        "content/kept.md": article("Kept story", "https://example.com/kept", published="true"),
        "content/draft.md": article("Draft story", "https://example.com/draft", published="false"),
        "content/rejected.md": article("Rejected story", "https://example.com/rejected",
                                       published="false", rejected="true"),
        # a rejection wins over a stray `published: true`
        "content/both.md": article("Rejected but marked published", "https://example.com/both",
                                   published="true", rejected="true"),
        "content/undone.md": article("Rejection undone", "https://example.com/undone", rejected="false"),
    })


@pytest.mark.parametrize("drafts", [False, True])
def test_rejected_stories_are_never_published_even_with_drafts(tmp_path, run, drafts):
    site = _site(tmp_path)
    result = run("build", site, *(["--drafts"] if drafts else []))
    assert result.code == 0, result.err
    out = BuiltSite(site / "_site")
    expected = ["Kept story", "Rejection undone"] + (["Draft story"] if drafts else [])
    assert names(out.entries("/")) == sorted(expected)
    assert names(out.entries("/topics/ai/")) == sorted(expected)
    every_page = "".join(p.read_text("utf-8", errors="replace") for p in out.all_files())
    assert "Rejected story" not in every_page and "Rejected but marked published" not in every_page
    assert "example.com/rejected" not in every_page and "example.com/both" not in every_page
    assert (site / "content" / "rejected.md").is_file()  # its file stays, so `import` knows it


@pytest.mark.parametrize("value", ["maybe", "yes", "1", "", "[true]"])
def test_rejected_must_be_true_or_false(tmp_path, run, value):
    site = make_site(tmp_path, {"content/odd.md": article("Odd", "https://example.com/odd", rejected=value)})
    result = run("check", site)
    assert result.code == 1
    assert "content/odd.md:7: error: 'rejected' must be true or false" in result.err


def test_import_never_brings_a_rejected_story_back(tmp_path, run):
    site = _site(tmp_path)
    feed = tmp_path / "feed.xml"
    feed.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><link>https://example.com/</link>'
        "<item><title>Rejected story, again</title><link>HTTPS://EXAMPLE.COM/rejected#top</link>"
        "<pubDate>Tue, 14 May 2024 09:30:00 GMT</pubDate></item>"
        "<item><title>Rejected but marked published</title><link>https://example.com/both</link>"
        "<pubDate>Tue, 14 May 2024 09:30:00 GMT</pubDate></item>"
        "</channel></rss>",
        encoding="utf-8",
    )
    before = sorted(p.name for p in (site / "content").iterdir())
    result = run("import", feed, "--site", site)
    assert result.code == 0, result.err
    assert result.out.splitlines()[-1] == "0 new, 2 skipped, 0 invalid"
    assert sorted(p.name for p in (site / "content").iterdir()) == before


# -- candidates and the queue ------------------------------------------------------------

def _story(n, hours=None, quality=None, heat=None, topics=("AI",), provider=None, draft=True, rejected=False,
           title=None, excerpt=""):
    return Article(
        f"content/{n}.md", title or f"Story {n}", f"https://x.example/{n}",
        NOW - timedelta(hours=n if hours is None else hours), excerpt=excerpt, draft=draft, rejected=rejected,
        quality=quality, heat=heat, topics=tuple(topics), provider=provider,
    )


def sources(items) -> list[str]:
    return [a.source for a in items]


def test_candidates_are_unrejected_drafts_newest_first():
    stories = [_story(3), _story(1), _story(2, rejected=True), _story(4, draft=False), None, _story(5, draft=False, rejected=True), _story(0)]
    assert sources(candidates(stories)) == ["content/0.md", "content/1.md", "content/3.md"]


def test_queue_sorts_by_date_quality_and_heat():
    cands = candidates([
        _story(1, quality=10, heat=None),
        _story(2, quality=None, heat=5),
        _story(3, quality=90, heat=5),
        _story(4, quality=90, heat=-1),
        _story(5, quality=None, heat=None),
    ])
    assert sources(queue(cands, Filter()).items) == [f"content/{n}.md" for n in (1, 2, 3, 4, 5)]
    # highest first, None last, ties newest first
    assert sources(queue(cands, Filter(sort="quality")).items) == [f"content/{n}.md" for n in (3, 4, 1, 2, 5)]
    assert sources(queue(cands, Filter(sort="heat")).items) == [f"content/{n}.md" for n in (2, 3, 4, 1, 5)]
    with pytest.raises(ValueError, match="unknown sort 'random'"):
        queue(cands, Filter(sort="random"))


def test_queue_filters_and_counts():
    spectrum = Provider("IEEE Spectrum", "spectrum.ieee.org")
    blog = Provider("A Blog")
    cands = candidates([
        _story(1, quality=70, topics=("AI", "Chips"), provider=spectrum, title="Chip news", excerpt="2nm at last"),
        _story(2, quality=40, topics=("ai",), provider=blog, title="Models"),
        _story(3, quality=None, topics=("Rust",), provider=spectrum, title="Rust 2.0"),
        _story(4, quality=90, topics=(), provider=None, title="No provider"),
    ])
    everything = queue(cands, Filter())
    assert everything.total == 4 and len(everything.items) == 4
    assert everything.topics == (("AI", 2), ("Chips", 1), ("Rust", 1))
    assert everything.sources == (("spectrum.ieee.org", 2), ("A Blog", 1))

    by_topic = queue(cands, Filter(topic="  ai "))
    assert sources(by_topic.items) == ["content/1.md", "content/2.md"]
    assert by_topic.total == 4
    assert by_topic.topics == (("AI", 2), ("Chips", 1))
    assert by_topic.sources == (("A Blog", 1), ("spectrum.ieee.org", 1))

    assert sources(queue(cands, Filter(source="Spectrum.IEEE.org")).items) == ["content/1.md", "content/3.md"]
    assert sources(queue(cands, Filter(source="a blog")).items) == ["content/2.md"]
    assert sources(queue(cands, Filter(min_quality=50)).items) == ["content/1.md", "content/4.md"]
    assert sources(queue(cands, Filter(text="2NM")).items) == ["content/1.md"]  # the excerpt
    assert sources(queue(cands, Filter(text="ieee")).items) == ["content/1.md", "content/3.md"]  # provider name
    assert sources(queue(cands, Filter(text="content/4")).items) == ["content/4.md"]  # file path
    assert sources(queue(cands, Filter(text="news 2nm")).items) == []  # never across two fields
    assert sources(queue(cands, Filter(text="news\0")).items) == []
    combined = queue(cands, Filter(sort="quality", topic="ai", min_quality=30, text="mod"))
    assert sources(combined.items) == ["content/2.md"]
    assert sources(queue(cands, Filter(sort="quality", topic="ai", min_quality=30)).items) == ["content/1.md", "content/2.md"]
    assert [source_key(a) for a in cands] == ["spectrum.ieee.org", "A Blog", "spectrum.ieee.org", ""]


def test_queue_of_ten_thousand_candidates_takes_a_few_milliseconds():
    providers = [Provider(f"Source {n}", f"s{n}.example") for n in range(50)]
    cands = candidates(
        _story(n, quality=n % 100 if n % 7 else None, heat=n % 37, topics=(f"Topic {n % 40}", "AI"),
               provider=providers[n % 50], title=f"Story number {n} about things", excerpt="An excerpt " * 20)
        for n in range(10_000)
    )
    queue(cands, Filter())  # the first call indexes the candidates
    filters = [Filter(), Filter(sort="quality"), Filter(sort="heat", topic="topic 3"),
               Filter(source="s7.example", min_quality=20), Filter(text="number 99")]
    best = {}
    for f in filters:
        times = []
        for _ in range(5):
            start = time.perf_counter()
            result = queue(cands, f)
            times.append(time.perf_counter() - start)
        best[f] = min(times)
        assert result.total == 10_000
    assert len(queue(cands, Filter(text="number 99")).items) == 111  # 99, 990-999, 9900-9999
    assert max(best.values()) < 0.05, best  # a few ms on an idle machine; slack for a busy one


def test_queue_on_a_real_sites_model(tmp_path):
    record = EXAMPLE_RECORD.read_bytes()
    site = make_site(tmp_path, {
        "content/real.txt": record,
        "content/published.md": article("On the site", "https://example.com/on", published="true"),
        "content/rejected.md": article("Turned down", "https://example.com/no", published="false", rejected="true"),
        "content/other.md": article("Another candidate", "https://example.com/other", date="2019-01-01T00:00:00Z",
                                    published="false", topics=("Rust",)),
    })
    model = load_model(BuildOptions(site, now=NOW))
    assert not [p for p in model.problems if p.severity == "error"]
    cands = candidates(model.selection.unique)
    assert [a.title for a in cands] == [
        "Leading Law Enforcement Facial Recognition Provider Clearview AI Faces Joint International Privacy Investigation",
        "Another candidate",
    ]
    real = cands[0]
    assert (real.quality, real.heat, source_key(real)) == (53, -1, "cpomagazine.com")
    q = queue(cands, Filter(topic="computer vision"))
    assert q.items == (real,) and q.total == 2
    assert q.topics == (("AI", 1), ("Computer Vision", 1))
    assert q.sources == (("cpomagazine.com", 1),)
    assert queue(cands, Filter(text="clearview")).items == (real,)
    assert queue(cands, Filter(min_quality=54)).items == ()
