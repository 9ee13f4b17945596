"""A realistic corpus built through the CLI and read back as a microformats client."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
from conftest import EXAMPLE_RECORD, BuiltSite, prop, secured_tokens, text_of, url

from corpus import generate
from site_builder.content import read_article
from site_builder.identity import normalize_url
from site_builder.related import MIN_SIMILARITY, title_similarity, title_words

COUNT, SEED = 300, 2024


@pytest.fixture(scope="module")
def corpus_site(tmp_path_factory):
    site = tmp_path_factory.mktemp("corpus")
    generate(COUNT, SEED, site / "content")
    shutil.copy(EXAMPLE_RECORD, site / "content" / EXAMPLE_RECORD.name)
    return site


def _expected(site: Path, drafts: bool):
    """What should be on the site, from the source files (independent of the pipeline's
    grouping and ordering code): published, not future, de-duplicated by webUrl."""
    now = datetime.now(timezone.utc)
    articles, seen = [], set()
    for path in sorted((site / "content").iterdir()):
        article = read_article(path, path.name, timezone.utc).article
        assert article is not None, path
        if (article.draft and not drafts) or article.published > now:
            continue
        if normalize_url(article.web_url) in seen:
            continue
        seen.add(normalize_url(article.web_url))
        articles.append(article)
    return articles


@pytest.fixture(scope="module")
def built(corpus_site, tmp_path_factory):
    from site_builder.cli import main

    out = tmp_path_factory.mktemp("out") / "_site"
    assert main(["build", str(corpus_site), "-o", str(out)]) == 0
    return BuiltSite(out)


def _when(value) -> datetime:
    return datetime.fromisoformat(text_of(value))


def _collect(site: BuiltSite, start: str) -> list[dict]:
    entries = []
    for page in site.follow(start):
        entries += site.entries(page)
    return entries


def test_home_lists_every_published_story_newest_first(corpus_site, built):
    expected = _expected(corpus_site, drafts=False)
    entries = _collect(built, "/")
    assert [prop(e, "bookmark-of") for e in entries] == [
        a.web_url for a in sorted(expected, key=lambda a: (-a.published.timestamp(), a.web_url))
    ]
    dates = [_when(prop(e, "published")) for e in entries]
    assert dates == sorted(dates, reverse=True)
    pages = built.follow("/")
    assert len(pages) == -(-len(expected) // 20)
    # rel=prev walks back the same chain
    for newer, older in zip(pages, pages[1:]):
        assert built.mf2(older)["rels"]["prev"] == [newer]


def test_cards_follow_the_h_entry_contract(corpus_site, built):
    """Every story in a river is an h-entry; the lead also carries its summary (the
    other headlines leave it to the story's page) and its photo when it has one."""
    by_url = {a.web_url: a for a in _expected(corpus_site, drafts=False)}
    entries = built.entries("/")
    lead = by_url[prop(entries[0], "bookmark-of")]
    assert prop(entries[0], "summary") == lead.excerpt
    assert text_of(prop(entries[0], "photo", "")) == (lead.image.url if lead.image else "")
    for entry in entries:
        article = by_url[prop(entry, "bookmark-of")]
        assert text_of(prop(entry, "name")) == article.title
        assert _when(prop(entry, "published")) == article.published
        assert entry["properties"].get("category", []) == list(article.topics)
        author = prop(entry, "author")
        assert author["type"] == ["h-card"] and prop(author, "name") == article.provider.name
        assert prop(entry, "url").startswith(url("/"))


def test_each_permalink_page_holds_its_story(corpus_site, built):
    expected = _expected(corpus_site, drafts=False)
    permalinks = {prop(e, "bookmark-of"): prop(e, "url") for e in _collect(built, "/")}
    on_site = {normalize_url(a.web_url): a for a in expected}
    assert len(set(permalinks.values())) == len(expected)  # one page per story
    for article in expected:
        page = permalinks[article.web_url]
        main_entry = built.entries(page)[0]
        assert prop(main_entry, "url") == page
        assert text_of(prop(main_entry, "name")) == article.title
        assert _when(prop(main_entry, "published")) == article.published
        assert main_entry["properties"].get("category", []) == list(article.topics)
        # Related links: to our own page when the story is here, else to its source.
        cites = [i for i in built.mf2(page)["items"] if i["type"] == ["h-cite"]]
        assert [text_of(prop(c, "name")) for c in cites] == [r.title for r in article.related]
        assert [prop(c, "url") for c in cites] == _resolved(article.related, on_site, permalinks)


def _resolved(related, on_site: dict, permalinks: dict) -> list[str]:
    """Where each related link should lead: our own page when the story is on the site,
    else its source."""
    return [permalinks[on_site[normalize_url(r.url)].web_url] if normalize_url(r.url) in on_site else r.url for r in related]


def test_leading_stories_carry_their_clusters_as_h_cite_children(corpus_site, built):
    """On the first page of the home and topic listings, each of the four leading stories
    holds up to three of its related links as h-cite children of its h-entry, resolved as
    on its own page; the other headlines hold none."""
    expected = _expected(corpus_site, drafts=False)
    by_url = {a.web_url: a for a in expected}
    on_site = {normalize_url(a.web_url): a for a in expected}
    permalinks = {prop(e, "bookmark-of"): prop(e, "url") for e in _collect(built, "/")}
    topic = next(t for t in built.mf2("/topics/")["rels"]["tag"] if len(built.entries(t)) > 4)
    clustered = 0
    for listing in ("/", topic):
        entries = built.entries(listing)
        for n, entry in enumerate(entries):
            cites = [c for c in entry.get("children", []) if c["type"] == ["h-cite"]]
            related = by_url[prop(entry, "bookmark-of")].related[:3] if n < 4 else ()
            assert [text_of(prop(c, "name")) for c in cites] == [r.title for r in related]
            assert [prop(c, "url") for c in cites] == _resolved(related, on_site, permalinks)
            for cite, story in zip(cites, related):
                author = prop(cite, "author")
                assert (text_of(prop(author, "name")) if author else None) == (story.provider.name if story.provider else None)
            clustered += len(cites)
    assert clustered >= 4  # the corpus's leading stories have related coverage to show
    page_two = built.entries(built.follow("/")[1])
    assert not any(e.get("children") for e in page_two)  # later pages: headlines only


def test_topic_pages_list_exactly_their_stories(corpus_site, built):
    expected = _expected(corpus_site, drafts=False)
    by_topic: dict[str, list] = {}
    for article in expected:
        for topic in article.topics:
            by_topic.setdefault(topic.casefold(), []).append(article)
    index = built.mf2("/topics/")
    topic_links = {u: index["rel-urls"][u]["text"] for u in index["rels"]["tag"]}
    assert sorted(name.casefold() for name in topic_links.values()) == sorted(by_topic)
    for topic_url, name in topic_links.items():
        wanted = sorted(by_topic[name.casefold()], key=lambda a: (-a.published.timestamp(), a.web_url))
        entries = _collect(built, topic_url)
        assert [prop(e, "bookmark-of") for e in entries] == [a.web_url for a in wanted]


def test_more_on_topic_shows_other_stories_sharing_a_topic_or_a_similar_title(corpus_site, built):
    for entry in built.entries("/")[:10]:
        page = prop(entry, "url")
        main_entry, *more = built.entries(page)
        assert 0 < len(more) <= 5
        own = {c.casefold() for c in main_entry["properties"]["category"]}
        own_words = title_words(text_of(prop(main_entry, "name")))
        for other in more:
            assert prop(other, "url") != page
            similarity = title_similarity(own_words, title_words(text_of(prop(other, "name"))))
            assert own & {c.casefold() for c in other["properties"].get("category", [])} or similarity >= MIN_SIMILARITY


def test_drafts_and_secrets_stay_out(corpus_site, built):
    record = read_article(EXAMPLE_RECORD, "x", timezone.utc).article
    assert record.draft
    urls = {prop(e, "bookmark-of") for e in _collect(built, "/")}
    assert record.web_url not in urls
    secrets = secured_tokens(*(corpus_site / "content").iterdir())
    assert len(secrets) == COUNT + 1
    for file in built.all_files():
        data = file.read_bytes()
        assert b"secured" not in data
        for secret in secrets[:: 7]:
            assert secret.split(";")[0][:40].encode() not in data


def test_drafts_flag_adds_the_draft_with_a_badge(corpus_site, tmp_path, run):
    out = tmp_path / "_site"
    assert run("build", corpus_site, "-o", out, "--drafts").code == 0
    site = BuiltSite(out)
    record = read_article(EXAMPLE_RECORD, "x", timezone.utc).article
    entries = {prop(e, "bookmark-of"): e for e in _collect(site, "/")}
    assert len(entries) == len(_expected(corpus_site, drafts=True))
    draft_entry = entries[record.web_url]
    assert "Draft" in _card_text(site, prop(draft_entry, "url"), record.web_url)
    other = next(u for u in entries if u != record.web_url)
    assert "Draft" not in _card_text(site, prop(entries[other], "url"), other)


def _card_text(site: BuiltSite, page: str, web_url: str) -> str:
    """The visible text of the card whose source link is web_url."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(site.html(page), "html.parser")
    link = soup.find("a", href=web_url)
    return " ".join(link.find_parent("article").stripped_strings)
