#!/usr/bin/env python3
"""Image benchmark: a cold build with `images = "local"` from a warm image cache against
the same cold build with remote images, in one run (see bench/README.md, "Images").

The corpus is tests/corpus.py's (fixed seed); its image URLs are rewritten to a server on
this machine that makes a JPEG for each (smooth noise, photo-like, seeded by the path, at
the size the URL names), so nothing leaves the machine and every run sees the same bytes.

    python bench/images.py                     # 4,000 articles, median of 3
    python bench/images.py --count 500 --repeat 1
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from corpus import generate  # noqa: E402

SEED = 467
SIZES = {1500: 860, 800: 450, 770: 500, 1200: 630, 640: 360}  # corpus.image()'s choices
CORPUS_IMAGE = re.compile(r'"https://www\.[^/"]+/wp-content/uploads/([^"]+_(\d+)\.jpg)"')
SUMMARY = re.compile(r"^Built .* in (?P<seconds>[\d.]+) s; the site is (?P<size>.+)$", re.M)


def photo(name: str, width: int) -> bytes:
    """A JPEG that compresses like a photo: smooth coloured noise, seeded by its name."""
    from PIL import Image

    height = SIZES[width]
    seed = int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big")
    channels = []
    for n in range(3):
        small = Image.effect_noise((max(1, width // 16), max(1, height // 16)), 60 + (seed >> (8 * n)) % 40)
        channels.append(small.resize((width, height), Image.Resampling.BICUBIC))
    buffer = io.BytesIO()
    Image.merge("RGB", channels).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


class Server:
    """Serves /<name>_<width>.jpg as a generated JPEG; counts requests."""

    def __init__(self):
        self.requests = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                owner.requests += 1
                match = re.fullmatch(r"/(.+_(\d+)\.jpg)", self.path)
                if not match or int(match.group(2)) not in SIZES:
                    self.send_error(404)
                    return
                data = photo(match.group(1), int(match.group(2)))
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def make_sites(work: Path, count: int, base: str) -> dict[str, Path]:
    content = work / "corpus"
    generate(count, SEED, content)
    for path in content.iterdir():
        text = path.read_text(encoding="utf-8")
        path.write_text(CORPUS_IMAGE.sub(lambda m: f'"{base}{m.group(1)}"', text), encoding="utf-8")
    sites = {}
    for mode in ("remote", "local"):
        site = work / mode
        shutil.copytree(content, site / "content")
        (site / "site.toml").write_text(f'base_url = "https://example.org/"\nimages = "{mode}"\nimage_timeout = 3600\n')
        sites[mode] = site
    return sites


def build(site: Path, env: dict) -> tuple[float, float, str, str]:
    """One `site-builder build`: (wall seconds, CPU seconds of it and the workers it forked,
    the site's size as printed, stderr). On a machine shared with other work, CPU time
    varies much less than wall time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "site_builder", "build", str(site), "-o", str(site / "_site")],
                          capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    match = SUMMARY.search(proc.stdout)
    if proc.returncode != 0 or not match:
        raise SystemExit(f"build of {site} failed:\n{proc.stdout}\n{proc.stderr}")
    return seconds, cpu, match.group("size"), proc.stderr


def make_cold(site: Path, trash: Path) -> None:
    """The output and the build cache moved out of the way (not deleted: see bench/README.md,
    "Nothing is deleted while measuring"); the image cache stays warm."""
    trash.mkdir(exist_ok=True)
    for path in [site / "_site", *(site / ".cache").glob("*")]:
        if path.exists() and path.name != "images":
            os.replace(path, trash / f"{len(list(trash.iterdir()))}-{path.name}")


def bytes_per_story(site: Path) -> dict[str, int]:
    sys.path.insert(0, str(REPO))
    from site_builder.builder import BuildOptions, Builder, CacheMode
    from site_builder.routes import plan_site
    from site_builder.sizes import breakdown, page_kinds

    model = Builder(BuildOptions(site), cache=CacheMode.READ_ONLY).load_model()
    sizes = breakdown(site / "_site", page_kinds(plan_site(model.articles, model.config)))
    stories = len(model.articles)
    pages = sum(size for kind, (_, size) in sizes.items() if kind not in ("search index", "images"))
    return {"stories": stories, "pages per story": pages // stories, "images per story": sizes["images"][1] // stories,
            "total": sum(size for _, size in sizes.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=4000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="site-builder-bench-images-", dir=args.workdir))
    env = {**os.environ, "PYTHONPATH": str(REPO), "XDG_CACHE_HOME": str(work / "xdg"), "CI": "true"}
    try:
        server = Server()
        sites = make_sites(work, args.count, server.base)
        print(f"[bench] corpus of {args.count} written; warming the image cache", file=sys.stderr, flush=True)
        warm_seconds, _, _, warnings = build(sites["local"], env)
        fetched = server.requests
        times: dict[str, list[float]] = {"remote": [], "local": []}
        cpus: dict[str, list[float]] = {"remote": [], "local": []}
        sizes = {}
        for round_ in range(args.repeat):
            for mode in ("remote", "local"):
                make_cold(sites[mode], work / "trash")
                seconds, cpu, sizes[mode], _ = build(sites[mode], env)
                times[mode].append(seconds)
                cpus[mode].append(cpu)
                print(f"[bench] round {round_ + 1}: {mode} cold {seconds:.2f} s, CPU {cpu:.2f} s", file=sys.stderr, flush=True)
        assert server.requests == fetched, "a build from the warm cache fetched images"
        remote, local = statistics.median(times["remote"]), statistics.median(times["local"])
        cpu_remote, cpu_local = statistics.median(cpus["remote"]), statistics.median(cpus["local"])
        per_story = {mode: bytes_per_story(site) for mode, site in sites.items()}
        lines = [
            f"Image benchmark: {args.count} articles ({per_story['local']['stories']} published), "
            f"median of {args.repeat}, `python bench/images.py --count {args.count} --repeat {args.repeat}"
            f"{f' --workdir {args.workdir}' if args.workdir else ''}`",
            "",
            "| build | cold build | CPU | each round (wall) | site size | pages per story | images per story |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for mode in ("remote", "local"):
            story = per_story[mode]
            rounds = ", ".join(f"{t:.1f}" for t in times[mode])
            lines.append(f"| `images = \"{mode}\"` | {statistics.median(times[mode]):.2f} s | "
                         f"{statistics.median(cpus[mode]):.2f} s | {rounds} | {sizes[mode]} | "
                         f"{story['pages per story'] / 1000:.1f} KB | {story['images per story'] / 1000:.1f} KB |")
        lines += ["", f"local / remote: {local / remote:.2f} wall, {cpu_local / cpu_remote:.2f} CPU (target: at most 1.15); "
                      f"the image cache was filled by one build of {warm_seconds:.1f} s ({fetched} images fetched, "
                      f"{warnings.count('warning:')} warnings); the measured builds fetched nothing."]
        print("\n".join(lines))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
