"""Incremental builds: a rebuild redoes only what changed, and its output is always the
same, byte for byte, as a fresh full build (Hugo's rebuild tests, Lektor's "a second build
builds nothing", and a hypothesis state machine of random edits)."""

from __future__ import annotations

import os
import re
import pickle
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import hypothesis.strategies as st
import pytest
from conftest import BuiltSite, article, make_site, prop, tree_bytes
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from site_builder import cache, search
from site_builder.builder import BuildOptions, Builder, CacheMode, SearchMode
from site_builder.cache import CACHE_DIR, CACHE_FILE, LAST_BUILD_FILE
from site_builder.report import BuildReport
from site_builder.signing import SignedReader, user_key
from site_builder.theme import default_theme_dir
from site_builder.writer import OutputRefused
from site_builder.yamlfm import split_and_parse


def fresh_site(site: Path, out: Path) -> tuple[BuildReport, dict[str, bytes]]:
    """The reference: a build from nothing (no cache, an empty output), its report and bytes."""
    shutil.rmtree(out, ignore_errors=True)
    report = Builder(BuildOptions(site, out), cache=CacheMode.OFF).build()
    return report, tree_bytes(out)


def fresh_build(site: Path, out: Path) -> dict[str, bytes]:
    return fresh_site(site, out)[1]


STORY_PAGE = re.compile(r"\d{4}/\d\d/\d\d/[^/]+/index\.html")  # the default permalinks


def only_later_listing_pages(report: BuildReport, *also: str) -> bool:
    """What a preview's build after a pages-first one renders: the later pages of the
    listings, the feeds, the sitemap and the pages of stories not edited (left for it) and
    the named files, nothing else."""
    pages = [rel for rel in report.write.written if rel.endswith((".html", ".xml", "feed.json"))]
    return report.rendered == len(pages) and all(
        "page/" in rel or rel.endswith((".xml", ".json")) or STORY_PAGE.fullmatch(rel) or rel in also for rel in pages
    )


def story(n: int, title: str | None = None, topics=("AI",), day: int = 1, related: tuple[int, ...] = (), ranks=None) -> str:
    """related: numbers of other stories, linked as they are written in the wild (one
    with a fragment and an upper-case host): on the site while that story exists.
    ranks: (quality, heat, provider number), which the home page's strips and the source
    pages read."""
    links = [f'{{title: "Related {m}", webUrl: "https://{"EXAMPLE.com" if i % 2 else "example.com"}/{m}{"#top" if i % 2 else ""}"}}'
             for i, m in enumerate(related)]
    extra = {"related": "[" + ", ".join(links) + "]"} if links else {}
    if ranks is not None:
        quality, heat, provider = ranks
        extra.update(quality=str(quality), heat=str(heat), provider=f"{{name: Wire {provider}, domain: wire{provider}.example}}")
    return article(title or f"Story number {n}", f"https://example.com/{n}", f"2024-05-{day:02d}T10:00:00Z", topics, **extra)


def small_site(tmp_path: Path, count: int = 30) -> Path:
    topics = [("AI",), ("Cloud", "AI"), ("Robotics",)]
    return make_site(tmp_path / "site", {
        "site.toml": 'paginate = 5\nbase_url = "https://news.example/"\n',
        **{f"content/{n:02d}.md": story(n, topics=topics[n % 3], day=1 + n % 28) for n in range(count)},
    })


def test_second_build_renders_and_writes_nothing(tmp_path):
    site = small_site(tmp_path)
    first = Builder(BuildOptions(site)).build()
    assert first.rendered == first.pages
    second = Builder(BuildOptions(site)).build()  # a new process would do exactly this
    assert (second.rendered, second.write.written, second.write.removed) == (0, [], [])


def test_title_edit_rerenders_only_the_pages_that_show_it(tmp_path):
    site = small_site(tmp_path)
    builder = Builder(BuildOptions(site))
    builder.build()
    (site / "content/07.md").write_text(story(7, "A brand new headline", topics=("Cloud", "AI"), day=8))
    report = builder.build()
    pages_only = lambda rels: {rel for rel in rels if not rel.startswith("pagefind/")}  # noqa: E731
    written = pages_only(report.write.written)
    assert len(written) < len(report.write.written)  # the search index changed too
    # its new page; listings that show it; stories whose "More on" shows it; feeds; sitemap
    assert "2024/05/08/a-brand-new-headline/index.html" in written
    assert pages_only(report.write.removed) == {"2024/05/08/story-number-7/index.html"}
    assert {"feed.xml", "feed.json", "sitemap.xml"} <= written
    assert any(w.startswith("topics/cloud/") for w in written)
    assert not any(w.startswith("topics/robotics/") for w in written)
    assert report.rendered == len(written) < report.pages / 2
    assert tree_bytes(site / "_site") == fresh_build(site, tmp_path / "fresh")


def test_template_change_rerenders_pages_using_it(tmp_path):
    site = small_site(tmp_path)
    builder = Builder(BuildOptions(site))
    builder.build()
    make_site(site, {"templates/404.html": "{% extends 'base.html' %}{% block main %}<h1>Gone</h1>{% endblock %}"})
    report = builder.build()
    assert report.write.written == ["404.html"]  # every page re-rendered; only one changed
    assert tree_bytes(site / "_site") == fresh_build(site, tmp_path / "fresh")


def test_a_long_lived_builder_keeps_its_cards_until_a_story_or_the_card_template_changes(tmp_path):
    """serve's Builder keeps its renderer (templates loaded, cards made) from build to
    build while the site-wide part is the same: an edited story's cards, and every card
    once the card template changes, are made anew; each build equals a fresh one."""
    site = small_site(tmp_path)
    builder = Builder(BuildOptions(site), cache=CacheMode.READ)
    builder.build()
    first = builder._committed.renderer
    (site / "content/03.md").write_text(story(3, "Story three, renamed", topics=("AI",), day=28))
    builder.build()
    assert builder._committed.renderer is first  # nothing site-wide changed
    names = [prop(entry, "name") for entry in BuiltSite(site / "_site").entries("/topics/ai/")]
    assert "Story three, renamed" in names and "Story number 3" not in names
    assert tree_bytes(site / "_site") == fresh_build(site, tmp_path / "fresh")
    river = (default_theme_dir() / "templates/partials/river.html").read_text()
    make_site(site, {"templates/partials/river.html": river.replace('<li class="h-entry">', '<li class="h-entry ours">')})
    builder.build()
    assert builder._committed.renderer is not first
    assert '<li class="h-entry ours">' in (site / "_site/index.html").read_text()
    assert tree_bytes(site / "_site") == fresh_build(site, tmp_path / "fresh")


def test_a_damaged_or_foreign_cache_means_a_full_build(tmp_path):
    site = small_site(tmp_path)
    Builder(BuildOptions(site)).build()
    for cached in (site / CACHE_DIR).rglob("*"):
        if cached.is_file():
            cached.write_bytes(b"\x80\x04 not a pickle, not json")
    builder = Builder(BuildOptions(site))
    report = builder.build()
    assert report.rendered == report.pages and report.write.written == []
    builder.state.key, builder.state.base_id = ("format", "0.0.0-older"), ""  # as if written by another version
    cache.save_state(site, builder.state, set())
    (site / CACHE_DIR / LAST_BUILD_FILE).unlink()
    assert Builder(BuildOptions(site)).build().rendered == report.pages


def test_unchanged_inputs_skip_everything_but_still_report_problems(tmp_path, run):
    site = small_site(tmp_path)
    make_site(site, {"content/zz-bad.md": "---\ntitle: [broken\n---\n"})
    first = run("build", site)
    second = run("build", site)
    assert first.code == second.code == 1
    assert "zz-bad.md:2: error" in second.err
    assert " 0 rendered, 0 written, 0 removed, 1 error" in second.out


def test_a_scheduled_story_appears_once_its_time_comes(tmp_path):
    from datetime import datetime, timezone

    site = small_site(tmp_path, count=3)
    make_site(site, {"content/later.md": story(99, "Embargoed until noon", day=20)})
    before = datetime(2024, 5, 20, 9, tzinfo=timezone.utc)
    after = datetime(2024, 5, 20, 11, tzinfo=timezone.utc)
    assert Builder(BuildOptions(site, now=before)).build().articles == 3
    assert Builder(BuildOptions(site, now=before)).build().rendered == 0
    assert Builder(BuildOptions(site, now=after)).build().articles == 4


def test_a_deleted_output_file_is_written_again(tmp_path):
    site = small_site(tmp_path)
    Builder(BuildOptions(site)).build()
    (site / "_site/topics/index.html").unlink()
    report = Builder(BuildOptions(site)).build()
    assert report.write.written == ["topics/index.html"]


def test_finding_orphans_never_follows_a_link_out_of_the_output(tmp_path):
    """A link in _site to a folder elsewhere (someone's shortcut) is not walked: nothing
    behind it is an orphan to delete or a file to replace. No build wrote it, so the
    build is refused (tests/test_trust_output.py) and the link left as it is."""
    site = small_site(tmp_path)
    Builder(BuildOptions(site)).build()
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    os.symlink(precious, site / "_site/elsewhere")
    (site / "content/11.md").write_text(story(11, "A new title", topics=("Robotics",), day=12))
    with pytest.raises(OutputRefused, match="elsewhere"):
        Builder(BuildOptions(site)).build()  # a new process lists the output for orphans
    assert (precious / "notes.txt").read_text() == "keep me" and (site / "_site/elsewhere").is_symlink()


def test_an_interrupted_commit_is_finished_by_the_next_build(tmp_path, monkeypatch):
    from site_builder import writer

    site = small_site(tmp_path)
    Builder(BuildOptions(site)).build()
    (site / "content/03.md").write_text(story(3, "Renamed while the power failed", topics=("Robotics",), day=4))
    real_replace, moved = writer.os.replace, []

    def dying_replace(source, target):
        if Path(target).is_relative_to(site / "_site"):  # the commit's moves into the output
            if len(moved) == 2:
                raise KeyboardInterrupt  # the process dies halfway through them
            moved.append(target)
        real_replace(source, target)

    monkeypatch.setattr(writer.os, "replace", dying_replace)
    try:
        Builder(BuildOptions(site)).build()
    except KeyboardInterrupt:
        pass
    monkeypatch.setattr(writer.os, "replace", real_replace)
    assert (site / "_site.staging" / writer.JOURNAL).exists()
    Builder(BuildOptions(site)).build()
    assert not (site / "_site.staging").exists()
    assert tree_bytes(site / "_site") == fresh_build(site, tmp_path / "fresh")


TITLES = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=30).filter(str.strip)
TOPICS = st.lists(st.sampled_from(["AI", "ai", "Cloud", "C++", "C#", "Robotics", "Open Source"]), min_size=0, max_size=3)
RELATED = st.lists(st.integers(0, 110), max_size=3)  # stories 0-11 exist at first; adds are 101 and up
RANKS = st.none() | st.tuples(st.integers(0, 3), st.integers(-1, 40), st.integers(1, 2))


class EditSession(RuleBasedStateMachine):
    """Random edits; after each, an incremental build (through the on-disk cache, as the
    CLI does, and through a long-lived Builder, as serve does) equals a fresh build."""

    @initialize()
    def start(self):
        import tempfile

        self.root = Path(tempfile.mkdtemp(prefix="sb-incremental-"))
        self.site = small_site(self.root, count=0)
        for n in range(12):  # every story's related links start out pointing at its neighbours
            (self.site / f"content/{n:02d}.md").write_text(
                story(n, topics=("AI",), day=1 + n, related=(n + 1, (n + 5) % 12), ranks=(n % 4, 3 * n, 1 + n % 2))
            )
        self.next_id = 100
        self.live = Builder(BuildOptions(self.site, self.root / "live"), cache=CacheMode.READ)
        self.preview = Builder(BuildOptions(self.site, self.root / "preview"), cache=CacheMode.READ)  # pages first, as serve

    def teardown(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def articles(self) -> list[Path]:
        return sorted((self.site / "content").glob("*.md"))

    @staticmethod
    def number(path: Path) -> int:
        """The story number in its file name (renamed files keep it as a prefix)."""
        first = path.stem.split("-")[0]
        return int(first) if first.isdigit() else 0

    @precondition(lambda self: self.articles())
    @rule(data=st.data(), title=TITLES, topics=TOPICS, day=st.integers(1, 28), related=RELATED, ranks=RANKS)
    def edit(self, data, title, topics, day, related, ranks):
        path = data.draw(st.sampled_from(self.articles()))
        path.write_text(story(self.number(path), title, tuple(topics), day, tuple(related), ranks))

    @staticmethod
    def as_written(path: Path) -> dict:
        """story()'s arguments that wrote `path`, read back from its front matter."""
        written = split_and_parse(path.read_text()).data
        provider = written.get("provider")
        return {
            "title": written["title"],
            "topics": tuple(written.get("topics") or ()),
            "day": int(written["publishedDateTime"][8:10]),  # 2024-05-DD...
            "related": tuple(int(r["webUrl"].split("/")[3].split("#")[0]) for r in written.get("related") or ()),
            "ranks": (written["quality"], written["heat"], int(provider["name"].split()[-1])) if provider else None,
        }

    @precondition(lambda self: self.articles())
    @rule(data=st.data(), topics=TOPICS, ranks=RANKS)
    def retag(self, data, topics, ranks):
        """Same title and date, so the story keeps its place and its page: only what the
        groupings and strips read changes."""
        path = data.draw(st.sampled_from(self.articles()))
        path.write_text(story(self.number(path), **{**self.as_written(path), "topics": tuple(topics), "ranks": ranks}))

    @precondition(lambda self: self.articles())
    @rule(data=st.data(), title=TITLES)
    def retitle(self, data, title):
        """Only the title: the story keeps its place, but its permalink moves (the slug
        comes from the title), so every page linking to it must follow."""
        path = data.draw(st.sampled_from(self.articles()))
        path.write_text(story(self.number(path), **{**self.as_written(path), "title": title}))

    @precondition(lambda self: self.articles())
    @rule(data=st.data())
    def publish_or_withdraw(self, data):
        """The desk's publish and its undo: a story joins the site at its place, or leaves it."""
        path = data.draw(st.sampled_from(self.articles()))
        text = path.read_text()
        withdrawn = text.replace("\n---\n", "\npublished: false\n---\n", 1)  # the front matter's end
        path.write_text(text.replace("\npublished: false\n", "\n", 1) if "\npublished: false\n" in text else withdrawn)

    @rule(title=TITLES, topics=TOPICS, related=RELATED)
    def add(self, title, topics, related):
        self.next_id += 1
        (self.site / f"content/{self.next_id}.md").write_text(story(self.next_id, title, tuple(topics), related=tuple(related)))

    @precondition(lambda self: len(self.articles()) > 1)
    @rule(data=st.data())
    def delete(self, data):
        data.draw(st.sampled_from(self.articles())).unlink()

    @precondition(lambda self: self.articles())
    @rule(data=st.data())
    def rename(self, data):
        path = data.draw(st.sampled_from(self.articles()))
        path.rename(path.with_name(f"{path.stem}-moved.md"))

    @rule(text=st.sampled_from(["", "<p>x</p>", "{{ site.title }} & more"]))
    def change_template(self, text):
        make_site(self.site, {"templates/404.html": "{% extends 'base.html' %}{% block main %}" + text + "{% endblock %}"})

    @rule(paginate=st.integers(2, 6), title=st.sampled_from(["News", "Other News"]))
    def change_config(self, paginate, title):
        (self.site / "site.toml").write_text(f'paginate = {paginate}\ntitle = "{title}"\nbase_url = "https://news.example/"\n')

    @rule(css=st.sampled_from(["body{}", "a{color:red}"]))
    def change_static(self, css):
        make_site(self.site, {"static/extra.css": css})

    @rule()
    def keep_a_copy_of_the_cache(self):
        shutil.rmtree(self.root / "old-cache", ignore_errors=True)
        if (self.site / CACHE_DIR).exists():
            shutil.copytree(self.site / CACHE_DIR, self.root / "old-cache")

    @precondition(lambda self: (self.root / "old-cache").exists())
    @rule()
    def go_back_to_the_old_cache(self):
        """As if the builds since the copy had died before saving their state: the cache
        is older than the output. It may cost work; it must not cost correctness."""
        shutil.rmtree(self.site / CACHE_DIR, ignore_errors=True)
        shutil.copytree(self.root / "old-cache", self.site / CACHE_DIR)

    @invariant()
    def incremental_equals_fresh(self):
        if not hasattr(self, "site"):
            return
        cli = Builder(BuildOptions(self.site)).build()
        live = self.live.build()
        self.preview.build(search=SearchMode.PAGES_FIRST)
        while self.preview.pending:  # what serve's rebuild does: the follow-up builds
            self.preview.build(search=SearchMode.PAGES_FIRST)
        report, fresh = fresh_site(self.site, self.root / "fresh")
        assert tree_bytes(self.site / "_site") == fresh
        assert tree_bytes(self.root / "live") == fresh
        assert tree_bytes(self.root / "preview") == fresh
        # What the reports say too: a file read under a name it no longer has would only
        # show as a warning (its story is a duplicate of itself).
        for incremental in (cli, live):
            assert (incremental.articles, incremental.files, incremental.problems) == (report.articles, report.files, report.problems)


TestEditSession = EditSession.TestCase
TestEditSession.settings = settings(
    max_examples=20, stateful_step_count=8, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def test_a_long_lived_builder_writes_only_the_sitemap_entries_of_new_paths(tmp_path, monkeypatch):
    """serve keeps the sitemap entries it wrote: after a retitle it writes the entry of the
    story's new path only, and the sitemap is byte for byte a fresh build's. In another
    time zone (other dates) every entry is written anew."""
    from site_builder import feeds

    written: list[str] = []
    escape = feeds.escape
    monkeypatch.setattr(feeds, "escape", lambda text, quote=True: written.append(text) or escape(text, quote))
    site = small_site(tmp_path)
    builder = Builder(BuildOptions(site), cache=CacheMode.READ)
    builder.build()
    urls = len(written)
    assert urls > 30
    written.clear()
    (site / "content/05.md").write_text(story(5, "A sitemap entry of its own", topics=("Robotics",), day=6))  # only retitled
    builder.build()
    assert len(written) == 1 and urlsplit(written[0]).path.endswith("/a-sitemap-entry-of-its-own/")
    assert tree_bytes(site / "_site") == fresh_build(site, tmp_path / "fresh")
    written.clear()
    (site / "site.toml").write_text('paginate = 5\nbase_url = "https://news.example/"\ntimezone = "Asia/Tokyo"\n')
    builder.build()
    assert len(written) == urls
    assert tree_bytes(site / "_site") == fresh_build(site, tmp_path / "fresh-tokyo")


def test_an_edit_re_indexes_one_search_shard(tmp_path, monkeypatch):
    from site_builder import search

    monkeypatch.setattr(search, "SHARD_SIZE", 8)  # 30 stories: 4 shards
    site = small_site(tmp_path)
    builder = Builder(BuildOptions(site))
    builder.build()
    assert len(list((site / "_site/pagefind").glob("shard-*/pagefind-entry.json"))) == 3
    (site / "content/05.md").write_text(story(5, "Quantum kittens", topics=("Cloud", "AI"), day=6))
    report = builder.build()
    written = [rel.split("/") for rel in report.write.written if rel.startswith("pagefind/")]
    folders = {parts[1] if parts[1].startswith("shard-") else "main" for parts in written}
    assert len(folders) == 1
    assert tree_bytes(site / "_site") == fresh_build(site, tmp_path / "fresh")


def test_past_max_shards_the_search_shards_grow_instead_of_multiplying(tmp_path, monkeypatch):
    """A reader's first search fetches a piece of every shard, so a large site gets at
    most MAX_SHARDS of them: every story is still in one, and every page merges them all."""
    import json
    from html.parser import HTMLParser

    from site_builder.config import SiteConfig

    assert [search.shard_count(n, SiteConfig()) for n in (1, 600, 601, 9_039, 100_000)] == [1, 1, 2, 16, 16]
    monkeypatch.setattr(search, "SHARD_SIZE", 1)  # 30 stories: 32 shards, uncapped
    monkeypatch.setattr(search, "MAX_SHARDS", 4)
    site = small_site(tmp_path)
    Builder(BuildOptions(site)).build()
    out = site / "_site"
    entries = {p.parent.relative_to(out).as_posix(): json.loads(p.read_text()) for p in out.glob("pagefind/**/pagefind-entry.json")}
    assert sorted(entries) == ["pagefind", "pagefind/shard-1", "pagefind/shard-2", "pagefind/shard-3"]
    assert sum(entry["languages"]["en"]["page_count"] for entry in entries.values()) == 30

    scripts = []

    class Scripts(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag == "script" and "data-pagefind" in dict(attrs):
                scripts.append(dict(attrs))

    Scripts().feed(BuiltSite(out).html("/topics/"))
    assert [(s["data-pagefind"], s["data-pagefind-merge"].split()) for s in scripts] == [
        ("/pagefind/pagefind.js", ["/pagefind/shard-1/", "/pagefind/shard-2/", "/pagefind/shard-3/"])
    ]


def test_search_shards_carry_their_index_only(tmp_path, monkeypatch):
    """The browser runs Pagefind's script, worker and WASM from the main bundle and merges
    the shards' indexes into it: copies of those in every shard were never fetched."""
    monkeypatch.setattr(search, "SHARD_SIZE", 8)  # 30 stories: 4 shards
    site = small_site(tmp_path)
    Builder(BuildOptions(site)).build()
    bundle = site / "_site/pagefind"
    engine = {"pagefind.js", "pagefind-worker.js", "wasm.en.pagefind"}
    assert engine <= {p.name for p in bundle.iterdir()}
    shards = sorted(bundle.glob("shard-*"))
    assert len(shards) == 3
    for shard in shards:
        names = {p.relative_to(shard).as_posix() for p in shard.rglob("*") if p.is_file()}
        assert "pagefind-entry.json" in names and any(n.startswith("index/") for n in names)
        assert not {n for n in names if n in engine or n.startswith("wasm.")}


def test_a_stable_plan_keeps_the_refs_of_providers_without_a_domain_for_the_next(tmp_path):
    """A provider with no domain has no page of its own, but its ref is handed on to the
    next plan like every other. A retitle (a stable plan, whose kept entries skip the ref
    lookups) must not leave the next, unstable plan (a redate) without them: that plan then
    keeps every untouched story's Entry, not a new one for each story of such a provider
    (equal, so the output is right either way, but each new Entry undoes the plan's reuse)."""

    def text(n: int, title: str | None = None, day: int = 1) -> str:
        provider = "{name: Wire Desk}" if n % 2 else "{name: Wire, domain: wire.example}"
        return article(title or f"Story {n}", f"https://example.com/{n}", f"2024-05-{day:02d}T10:00:00Z", ("AI",), provider=provider)

    files = {f"content/{n:02d}.md": text(n, day=1 + n) for n in range(20)}
    after_retitle = {**files, "content/04.md": text(4, "Story four, retitled", day=5)}
    long_lived, restarted = make_site(tmp_path / "a", files), make_site(tmp_path / "b", after_retitle)
    builder = Builder(BuildOptions(long_lived), cache=CacheMode.READ)
    builder.build()
    (long_lived / "content/04.md").write_text(after_retitle["content/04.md"])
    builder.build()  # stable
    before = {entry.article.source: entry for entry in builder._committed.plan.entries}
    other = Builder(BuildOptions(restarted), cache=CacheMode.READ)
    other.build()
    for site in (long_lived, restarted):
        (site / "content/06.md").write_text(text(6, day=25))  # a redate: not stable
    after, control = builder.build(), other.build()
    new_entries = [e.article.source for e in builder._committed.plan.entries if before.get(e.article.source) is not e]
    assert [Path(source).name for source in new_entries] == ["06.md"]
    assert after.rendered == control.rendered
    assert tree_bytes(long_lived / "_site") == tree_bytes(restarted / "_site")


def test_search_shards_index_one_at_a_time_while_the_pages_render(tmp_path, monkeypatch):
    """A cold build starts waiting shards from the render's progress, not after it, and
    counts only the Pagefind processes still running against its limit."""
    from site_builder import parallel, search
    from site_builder.builder import build

    monkeypatch.setattr(search, "SHARD_SIZE", 4)  # 30 stories: 8 shards
    monkeypatch.setattr(parallel, "MIN_ITEMS", 1)  # rendered in chunks by 2 workers: many progress steps
    monkeypatch.setenv("SITE_BUILDER_WORKERS", "2")
    started: list = []
    real_start = search._start_pagefind
    monkeypatch.setattr(search, "_start_pagefind", lambda *args: started.append(real_start(*args)) or started[-1])
    seen: list[tuple[int, int]] = []  # (shards started, still indexing) at each render step

    def progress(stage, done, total):
        if stage == "Rendering pages":
            seen.append((len(started), sum(process.poll() is None for process in started)))
            for process in started:
                process.wait()  # so the next step has a free place to fill

    site = small_site(tmp_path)
    build(BuildOptions(site), progress=progress)
    assert len(seen) > 2
    assert seen[1][0] == seen[0][0] + 1  # the next shard did not wait for the render to end
    assert all(running <= 1 for _, running in seen)
    assert len(started) == 8
    assert tree_bytes(site / "_site") == fresh_build(site, tmp_path / "fresh")


def test_story_pages_and_listings_are_rendered_by_different_workers(tmp_path, monkeypatch):
    """A listing shows stories from all over the site, so its worker copies most of the
    model into its own memory; workers that render story pages must not be those."""
    from site_builder import parallel
    from site_builder.builder import build
    from site_builder.render import Renderer

    monkeypatch.setattr(parallel, "MIN_ITEMS", 1)
    monkeypatch.setenv("SITE_BUILDER_WORKERS", "2")
    log = tmp_path / "rendered-by.txt"
    real_render = Renderer.render

    def render(self, page):
        with open(log, "a") as handle:  # from each worker process
            handle.write(f"{os.getpid()} {page.template}\n")
        return real_render(self, page)

    monkeypatch.setattr(Renderer, "render", render)
    build(BuildOptions(small_site(tmp_path)))
    lines = [line.split() for line in log.read_text().splitlines()]
    story_workers = {pid for pid, template in lines if template == "article.html"}
    other_workers = {pid for pid, template in lines if template != "article.html"}
    assert story_workers and other_workers and not story_workers & other_workers
    assert str(os.getpid()) not in story_workers | other_workers  # really in workers


def test_progress_is_reported_per_stage_and_only_where_work_is_done(tmp_path):
    from site_builder.builder import build

    site = small_site(tmp_path)
    seen: dict[str, tuple[int, int]] = {}
    build(BuildOptions(site), progress=lambda stage, done, total: seen.__setitem__(stage, (done, total)))
    assert seen["Reading articles"] == (30, 30)
    pages = seen["Rendering pages"][1]
    assert seen["Rendering pages"] == (pages, pages) and pages > 30
    seen.clear()
    build(BuildOptions(site), progress=lambda stage, done, total: seen.__setitem__(stage, (done, total)))
    assert seen == {}  # nothing changed: nothing read, nothing rendered


def test_cli_prints_no_progress_line_when_not_on_a_terminal(tmp_path, run):
    result = run("build", small_site(tmp_path))
    assert "\r" not in result.err and "Rendering pages" not in result.err


def test_the_preview_can_serve_pages_before_the_search_index_follows(tmp_path):
    site = small_site(tmp_path)
    builder = Builder(BuildOptions(site), cache=CacheMode.READ)  # as serve keeps it
    builder.build()
    (site / "content/11.md").write_text(story(11, "Pages first, index next", topics=("Cloud", "AI"), day=12))
    pages_first = builder.build(search=SearchMode.PAGES_FIRST)
    assert builder.pending and pages_first.rendered > 0
    assert not [rel for rel in pages_first.write.written if rel.startswith("pagefind/")]
    index_next = builder.build()  # not skipped as "nothing changed": the index is stale
    assert not builder.pending
    assert [rel for rel in index_next.write.written if rel.startswith("pagefind/")]
    assert only_later_listing_pages(index_next)
    assert tree_bytes(site / "_site") == fresh_build(site, tmp_path / "fresh")


def test_a_pages_first_build_leaves_checking_the_kept_files_to_the_next(tmp_path):
    """The edit's pages are published without a stat of every other file; the build that
    follows (pending) finds a file changed behind the builder's back and writes it again."""
    site = small_site(tmp_path)
    builder = Builder(BuildOptions(site), cache=CacheMode.READ)
    builder.build()
    damaged = site / "_site/404.html"  # a page no story edit touches
    damaged.write_text("edited by hand")
    (site / "content/11.md").write_text(story(11, "Pages first", topics=("Robotics",), day=12))  # a new title only
    assert builder.build(search=SearchMode.PAGES_FIRST).rendered > 0 and builder.pending
    assert damaged.read_text() == "edited by hand"
    assert only_later_listing_pages(builder.build(search=SearchMode.PAGES_FIRST), "404.html") and not builder.pending
    assert damaged.read_text() != "edited by hand"
    assert tree_bytes(site / "_site") == fresh_build(site, tmp_path / "fresh")


def test_the_preview_serves_a_new_story_before_the_listing_pages_it_shifts(tmp_path):
    """A story published at the top shifts every later page of each listing it is in; the
    preview's first build writes its page and the first pages, the next the rest and the
    sitemap, and then the site is the one a fresh build makes."""
    site = small_site(tmp_path)  # 30 stories, 5 a page: home pages 1-6
    builder = Builder(BuildOptions(site), cache=CacheMode.READ)
    builder.build()
    out = site / "_site"
    before = tree_bytes(out)
    # On the busiest topic: the menu of topics by count stays as it was (or every page would change).
    (site / "content/99.md").write_text(story(99, topics=("AI",), day=29))
    first = builder.build(search=SearchMode.PAGES_FIRST)
    assert builder.pending
    after_first = tree_bytes(out)
    home = BuiltSite(out)
    assert "Story number 99" == home.entries("/")[0]["properties"]["name"][0]
    assert after_first["page/2/index.html"] == before["page/2/index.html"]  # left for the next build
    assert after_first["sitemap.xml"] == before["sitemap.xml"]  # and so are the sitemap
    assert after_first["feed.xml"] == before["feed.xml"]  # and the feeds
    # Of the story pages, only the new story's: the others whose "more on" now shows it follow.
    story_pages = [rel for rel in first.write.written if STORY_PAGE.fullmatch(rel)]
    assert story_pages == ["2024/05/29/story-number-99/index.html"]
    assert after_first["topics/ai/index.html"] != before["topics/ai/index.html"]
    second = builder.build(search=SearchMode.PAGES_FIRST)
    assert not builder.pending
    assert {"page/2/index.html", "page/6/index.html", "sitemap.xml", "feed.xml", "feed.json"} <= set(second.write.written)
    shown_later = [rel for rel in second.write.written if STORY_PAGE.fullmatch(rel)]
    assert shown_later and all("Story number 99" in (out / rel).read_text() for rel in shown_later)
    assert first.rendered + second.rendered < 2 * fresh_site(site, tmp_path / "fresh")[0].rendered
    assert tree_bytes(out) == fresh_build(site, tmp_path / "fresh")


def test_a_long_lived_build_follows_a_renamed_file_and_its_later_edits(tmp_path):
    """A rename keeps the number of files and the file's stamp: a Builder that looks
    again only at restamped files must still see the new name, and the edits under it."""
    site = small_site(tmp_path)
    live = Builder(BuildOptions(site, tmp_path / "live"), cache=CacheMode.READ)
    live.build()
    moved = site / "content/05-moved.md"
    (site / "content/05.md").rename(moved)
    live.build()
    moved.write_text(story(5, "Edited after the move", topics=("Cloud", "AI"), day=6))
    live.build()
    assert tree_bytes(tmp_path / "live") == fresh_build(site, tmp_path / "fresh")
    assert BuiltSite(tmp_path / "live").exists("/2024/05/06/edited-after-the-move/")


def test_a_retitled_story_moves_and_a_long_lived_build_moves_the_links_to_it(tmp_path):
    """Story 20 comes to link to story 3 (a related story), on another topic, weeks apart,
    with another title: 3 is not among 20's "more on" stories, so only the related link
    ties them. Retitled, 3 moves (the slug is its title) and 20's page must link the new place."""
    site = small_site(tmp_path)
    (site / "content/20.md").write_text(story(20, "Quantum networking trial", topics=("Robotics",), day=21))
    live = Builder(BuildOptions(site, tmp_path / "live"), cache=CacheMode.READ)
    live.build()
    (site / "content/20.md").write_text(story(20, "Quantum networking trial", topics=("Robotics",), day=21, related=(3,)))
    live.build()  # the link is new: the build must know 20 links to 3 from now on
    (site / "content/03.md").write_text(story(3, "Cloud outage explained", topics=("AI",), day=4))  # only the title
    live.build()
    assert tree_bytes(tmp_path / "live") == fresh_build(site, tmp_path / "fresh")
    page = BuiltSite(tmp_path / "live").mf2("/2024/05/21/quantum-networking-trial/")
    cites = [item for item in page["items"] if item["type"] == ["h-cite"]]  # its related links
    assert [prop(cite, "url") for cite in cites] == ["https://news.example/2024/05/04/cloud-outage-explained/"]


def test_a_story_moved_by_its_slug_alone_moves_in_the_more_on_lists_that_show_it(tmp_path):
    """A new `slug` moves a story without a word of what "more on" reads (title, topics,
    date, URL): the lists are not computed again, yet the pages showing it must link the
    new place."""
    site = small_site(tmp_path)
    live = Builder(BuildOptions(site, tmp_path / "live"), cache=CacheMode.READ)
    live.build()
    text = (site / "content/04.md").read_text()
    (site / "content/04.md").write_text(text.replace("---\n", "---\nslug: moved-by-its-slug\n", 1))
    live.build()
    built = tree_bytes(tmp_path / "live")
    assert built == fresh_build(site, tmp_path / "fresh")
    site_read = BuiltSite(tmp_path / "live")
    moved = "/2024/05/05/moved-by-its-slug/"
    permalink = "https://news.example" + moved  # small_site's base_url
    assert prop(site_read.entries(moved)[0], "url") == permalink
    story_pages = ["/" + rel.removesuffix("index.html") for rel in built if rel.startswith("2024/") and rel.endswith("index.html")]
    showing = [page for page in story_pages if permalink in [prop(other, "url") for other in site_read.entries(page)[1:]]]
    assert showing  # in others' "more on" lists, at its new place


def test_an_unchanged_story_moves_when_a_permalink_clash_is_settled_anew(tmp_path):
    """Two stories of one day with one title share a slug: the first (by URL) has it, the
    other gets "-2". Retitle the first, and the other, its file untouched, moves."""
    site = small_site(tmp_path)
    for n in (6, 7):
        (site / f"content/{n:02d}.md").write_text(story(n, "Same day, same title", day=8))
    live = Builder(BuildOptions(site, tmp_path / "live"), cache=CacheMode.READ)
    live.build()
    assert (tmp_path / "live/2024/05/08/same-day-same-title-2/index.html").is_file()
    (site / "content/06.md").write_text(story(6, "Another title now", day=8))
    live.build()
    built = tree_bytes(tmp_path / "live")
    assert built == fresh_build(site, tmp_path / "fresh")
    assert "2024/05/08/same-day-same-title/index.html" in built and "2024/05/08/same-day-same-title-2/index.html" not in built


def test_indexing_the_search_after_the_pages_reads_and_plans_nothing_again(tmp_path, monkeypatch):
    """As the preview builds (PAGES_FIRST): an edit's pages first, then the index, from
    that build's plan when no input changed since; an edit saved before the index was
    built gets its pages first again."""
    from site_builder import builder as builder_module

    plans = []
    real_plan_site = builder_module.plan_site
    monkeypatch.setattr(builder_module, "plan_site", lambda *a, **k: plans.append(1) or real_plan_site(*a, **k))
    site = small_site(tmp_path)
    builder = Builder(BuildOptions(site), cache=CacheMode.READ)
    builder.build()
    (site / "content/11.md").write_text(story(11, "Pages first", topics=("Cloud",), day=12))
    assert builder.build(search=SearchMode.PAGES_FIRST).rendered > 0 and builder.pending
    assert len(plans) == 2
    assert only_later_listing_pages(builder.build(search=SearchMode.PAGES_FIRST))
    assert len(plans) == 2 and not builder.pending
    assert tree_bytes(site / "_site") == fresh_build(site, tmp_path / "fresh")

    planned = len(plans)  # the fresh build planned too
    (site / "content/11.md").write_text(story(11, "Pages first, then an edit", topics=("Cloud",), day=12))
    builder.build(search=SearchMode.PAGES_FIRST)
    (site / "content/12.md").write_text(story(12, "Saved while the index was pending", day=13))
    assert builder.build(search=SearchMode.PAGES_FIRST).rendered > 0 and builder.pending
    assert only_later_listing_pages(builder.build(search=SearchMode.PAGES_FIRST))
    assert len(plans) == planned + 2 and not builder.pending
    assert tree_bytes(site / "_site") == fresh_build(site, tmp_path / "fresh")


def test_a_long_lived_build_shows_a_date_rewritten_in_another_time_zone(tmp_path):
    """12:00+02:00 is the same instant as 10:00Z, so the two stories compare equal by
    value; the feeds print the offset as written, so a long-lived build must not take
    over the pages that showed the old spelling."""
    site = small_site(tmp_path)
    builder = Builder(BuildOptions(site), cache=CacheMode.READ)
    builder.build()
    path = site / "content/29.md"
    path.write_text(path.read_text().replace("2024-05-02T10:00:00Z", "2024-05-02T12:00:00+02:00"))
    assert "+02:00" in path.read_text()
    builder.build()
    assert tree_bytes(site / "_site") == fresh_build(site, tmp_path / "fresh")


def test_the_snapshot_is_pickled_in_chunks_and_one_cut_short_is_not_used(tmp_path, monkeypatch):
    """Each chunk's pickler memo is dropped before the next (one memo for 100,000
    articles was the build's peak memory); what is read back is the whole state or none."""
    monkeypatch.setattr(cache, "FILES_PER_CHUNK", 7)
    site = small_site(tmp_path)  # 30 articles
    builder = Builder(BuildOptions(site))
    builder.build()
    snapshot = site / CACHE_DIR / CACHE_FILE
    pickles = []
    with open(snapshot, "rb") as handle:
        stream = SignedReader(handle, user_key(), CACHE_FILE)
        while True:
            try:
                pickles.append(pickle.load(stream))
            except EOFError:
                break
    assert pickles[0].files == {} and pickles[-1] is None
    assert [len(chunk) for chunk in pickles[1:-1]] == [7, 7, 7, 7, 2]

    loaded = cache.load_state(site, builder.state.key)
    assert {rel: (c.digest, c.result.article) for rel, c in loaded.files.items()} == {
        rel: (c.digest, c.result.article) for rel, c in builder.state.files.items()
    }
    assert loaded.pages == builder.state.pages and loaded.more_on == builder.state.more_on

    snapshot.write_bytes(snapshot.read_bytes()[: snapshot.stat().st_size * 2 // 3])
    assert cache.load_state(site, builder.state.key).files == {}


def test_small_changes_are_saved_as_a_delta_beside_the_snapshot(tmp_path):
    from site_builder.cache import DELTA_FILE

    site = small_site(tmp_path)
    Builder(BuildOptions(site)).build()
    snapshot, delta = site / CACHE_DIR / CACHE_FILE, site / CACHE_DIR / DELTA_FILE
    snapshot_bytes = snapshot.read_bytes()
    (site / "content/04.md").write_text(story(4, "A small change", topics=("Robotics",), day=5))
    Builder(BuildOptions(site)).build()
    assert snapshot.read_bytes() == snapshot_bytes and delta.exists()  # only the delta written
    # A new process sees snapshot + delta: nothing to re-read, re-render or rewrite.
    report = Builder(BuildOptions(site)).build()
    assert (report.rendered, report.write.written) == (0, [])
    # A damaged delta only means more work, never a wrong site.
    (site / "content/05.md").write_text(story(5, "Another change", topics=("Cloud", "AI"), day=6))
    delta.write_bytes(b"garbage")
    Builder(BuildOptions(site)).build()
    assert tree_bytes(site / "_site") == fresh_build(site, tmp_path / "fresh")


def test_a_site_wide_name_change_reaches_the_search_records_of_unchanged_stories(tmp_path, monkeypatch):
    """A topic shows in its most used spelling. When edits to some stories flip it, the
    search records of stories whose files did not change (in other shards) must show
    the new spelling too: the incremental output equals a fresh build."""
    monkeypatch.setattr(search, "SHARD_SIZE", 1)  # 30 stories in 32 shards: most hold one story
    monkeypatch.setattr(search, "MAX_SHARDS", 32)
    site = small_site(tmp_path)
    Builder(BuildOptions(site)).build()
    robotics = [n for n in range(30) if n % 3 == 2]  # ten stories
    for n in robotics[:6]:  # six of ten now spell it "ROBOTICS"
        (site / f"content/{n:02d}.md").write_text(story(n, topics=("ROBOTICS",), day=1 + n % 28))
    Builder(BuildOptions(site)).build()
    assert tree_bytes(site / "_site") == fresh_build(site, tmp_path / "fresh")


def test_editor_swap_and_backup_files_in_templates_and_static_change_nothing(tmp_path):
    """vim's .base.html.swp or a base.html~ backup is never read by a build, so it is not
    a change either: no page renders again, no file is written."""
    site = small_site(tmp_path)
    Builder(BuildOptions(site)).build()
    make_site(site, {"templates/.base.html.swp": "binary junk", "templates/base.html~": "{{ broken",
                     "static/.site.css.swp": "junk", "static/#notes#": "x"})
    report = Builder(BuildOptions(site)).build()
    assert (report.rendered, report.write.written, report.write.removed) == (0, [], [])
