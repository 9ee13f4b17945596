"""IMAGES: each story's lead image, fetched once, checked, made into card-sized WebP
renditions (image_files.py) and kept in SITE/.cache/images/ by a hash of its URL, with
`images = "local"` in site.toml.

The cache holds, per image URL: the original (`<key>.orig`), its renditions
(`<key>-<width>.webp`) and an entry in `index.json`, which says what each rendition is
(width, height, hash of its bytes) or why the image could not be used. The index is
sealed with the user's key (signing.py), so a cache folder that came with the site is
never believed: its renditions are used only when their hash matches an entry we wrote,
an original found there is decoded again like any fetched image, and nothing is ever
unpickled. Without a key, every build makes the renditions again from the originals.
Deleting the folder only costs fetching again.

One stage per build, before the plan: `ImageStore.prepare` says, for each URL, which
renditions show it (a LocalImage), or that it cannot be had (the card's placeholder,
one warning), or, for the preview, that it is not there yet (the remote image, while a
background fetch fills the cache). Fetches run a few at a time, each through fetch.py
(http(s) only, at most MAX_BYTES), all within one time limit for the stage.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import threading
import time
from datetime import datetime, timezone
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .cache import cache_folder, file_stamp, make_cache_folder, replace_file
from .config import CONFIG_FILE
from .errors import BuildError
from .models import Problem
from .pages import UNAVAILABLE, LocalImage
from .signing import Untrusted, open_regular, seal_json, unseal_json, user_key

FOLDER = "images"  # below SITE/.cache/
INDEX = "index.json"
OUTPUT = "images"  # below the output folder: /images/<key>-<width>.webp
MAX_BYTES = 10 * 1024 * 1024  # an original larger than this is no card image
THREADS = 4
RETRY_AFTER = 24 * 3600  # seconds before an image that could not be had is tried again
INDEX_LIMIT = 256 << 20
SAVE_EVERY = 2.0  # seconds between saves of the index while the preview's background fetch runs


def url_key(url: str) -> str:
    return hashlib.blake2b(url.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]  # sha256: hardware-accelerated, twice blake2b's speed here


@dataclass
class Prepared:
    """What the image stage decided, for the plan and the writer."""

    shown: dict[str, LocalImage] = field(default_factory=dict)  # by image URL; missing: remote
    files: dict[str, str] = field(default_factory=dict)  # output path -> digest of its bytes
    failed: dict[str, str] = field(default_factory=dict)  # image URL -> why it cannot be had
    pending: list[str] = field(default_factory=list)  # not in the cache: fetched later (preview) or not in time
    # When a build would show something else though no input changed: a failed image is
    # tried again (RETRY_AFTER), or one not fetched in time is due (at once). None: never.
    due: datetime | None = None


class ImageStore:
    """SITE/.cache/images/ for one site. Thread-safe: the preview's background fetch fills
    it while a build reads it. writable=False (`check`): renditions made are kept in
    memory for this process only, nothing is written in the site."""

    def __init__(self, site_dir: Path, writable: bool = True):
        self.writable = writable
        self.folder = (make_cache_folder if writable else cache_folder)(site_dir, FOLDER)
        self.key = user_key()
        self._lock = threading.Lock()
        self._memory: dict[str, bytes] = {}  # rendition file -> bytes, when nothing may be written
        self._stamps: dict[str, tuple[int, int]] = {}  # rendition file -> (size, mtime) the index records
        self._index = self._load_index()
        self._busy: set[str] = set()  # URLs a background fetch is getting
        self._background: threading.Thread | None = None
        self._stopped = threading.Event()

    # -- the stage ---------------------------------------------------------------------
    def prepare(self, urls: Iterable[str], timeout: float, wait_for_network: bool = True, current=None) -> Prepared:
        """urls: the published stories' lead images. wait_for_network=False (the preview):
        only what the cache holds is used; the rest is `pending`. current(rel, digest): the
        output holds that rendition already, so its cache file need not be read."""
        result = Prepared()
        current = current or (lambda rel, hashed: False)
        todo = []
        for url in dict.fromkeys(urls):
            if not self._use(url, result, current):
                todo.append(url)
        if not todo:
            return result
        if not wait_for_network:
            result.pending = [url for url in todo if not self._failed_recently(url, result)]
            return result
        todo = [url for url in todo if not self._failed_recently(url, result)]
        self._produce_all(todo, timeout)
        for url in todo:
            if not self._use(url, result, current) and not self._failed_recently(url, result):
                result.pending.append(url)  # not reached within the time: shown remote, due at once
                result.due = datetime.fromtimestamp(0, timezone.utc)
        self._save_index()
        return result

    def read(self, rel: str, expected: str) -> bytes:
        """A rendition's bytes, for the writer; checked against the hash the index gave
        the plan. Raises Untrusted when the file changed since."""
        name = rel.rsplit("/", 1)[-1]
        data = self._memory.get(name)
        if data is None:
            if self.folder is None:
                raise Untrusted("no cache folder")
            try:
                with open_regular(self.folder / name, MAX_BYTES) as handle:
                    info = os.fstat(handle.fileno())
                    data = handle.read()
            except OSError:
                raise Untrusted("missing") from None
            if self._stamps.get(name) == (info.st_size, info.st_mtime_ns) == (len(data), info.st_mtime_ns):
                return data  # the file our build wrote, untouched since: trusted by its stamp, as pages are
        if digest(data) != expected:
            raise Untrusted("not the bytes the index names")
        return data

    def _has(self, name: str) -> bool:
        return name in self._memory or (self.folder is not None and os.path.isfile(self.folder / name))

    def remake(self, rel: str, expected: str) -> bytes:
        """A rendition whose cache file is not the one the index names (damaged, replaced),
        made again from the cached original: the same bytes, as renditions are deterministic."""
        name = rel.rsplit("/", 1)[-1]
        key, width = name.removesuffix(".webp").rsplit("-", 1)
        from .image_files import ImageRefused, renditions

        original = self._cached_original(key)
        try:
            made = renditions(original) if original is not None else []
        except ImageRefused:
            made = []
        for rendition in made:
            if str(rendition.width) == width and digest(rendition.data) == expected:
                self._stamps.pop(name, None)
                self._store(key, name, rendition.data)
                return rendition.data
        raise BuildError(f"{self.folder}: the cached copy of {rel} and its original are damaged; "
                         f"delete that folder and build again")

    def _use(self, url: str, result: Prepared, current) -> bool:
        """Fill `result` from the index when every rendition of `url` is there, intact."""
        with self._lock:
            entry = self._index.get(url_key(url))
        if not entry or entry.get("url") != url or "renditions" not in entry:
            return False
        key, srcset, files = url_key(url), [], {}
        for width, height, hashed, *stamp in entry["renditions"]:
            name = f"{key}-{width}.webp"
            if stamp:
                self._stamps[name] = tuple(stamp)
            if not current(f"{OUTPUT}/{name}", hashed) and not self._has(name):
                return False  # its bytes are checked when the writer reads them (ImageStage.write)
            srcset.append((f"/{OUTPUT}/{name}", width))
            files[f"{OUTPUT}/{name}"] = hashed
        width, height = entry["renditions"][0][:2]
        result.shown[url] = LocalImage(tuple(srcset), width, height)
        result.files.update(files)
        return True

    def _failed_recently(self, url: str, result: Prepared) -> bool:
        with self._lock:
            entry = self._index.get(url_key(url))
        if entry and entry.get("url") == url and "failed" in entry and time.time() - entry.get("at", 0) < RETRY_AFTER:
            result.failed[url] = entry["failed"]
            retry = datetime.fromtimestamp(entry.get("at", 0) + RETRY_AFTER, timezone.utc)
            result.due = min(result.due, retry) if result.due else retry
            return True
        return False

    # -- fetching and making renditions --------------------------------------------------
    def _produce_all(self, urls: list[str], timeout: float, each: Callable[[], None] | None = None) -> None:
        """each: called after every image made or found not to be had (the preview's poke)."""
        from concurrent.futures import ThreadPoolExecutor, TimeoutError, as_completed

        end = time.monotonic() + timeout
        with ThreadPoolExecutor(THREADS, thread_name_prefix="site-builder-images") as pool:
            futures = [pool.submit(self._produce, url, end) for url in urls]
            saved = time.monotonic()
            try:
                # a decode begun before the end may finish after it
                for future in as_completed(futures, timeout=max(0.0, end - time.monotonic()) + 5.0):
                    if each is not None and future.result() and not self._stopped.is_set():
                        if time.monotonic() - saved > SAVE_EVERY:  # builds read the index in memory
                            self._save_index()
                            saved = time.monotonic()
                        each()
            except TimeoutError:
                pass
            for future in futures:
                future.cancel()  # not started within the time: tried again next build

    def _produce(self, url: str, end: float) -> bool:
        """Whether the index now says something new about `url`."""
        if self._stopped.is_set() or time.monotonic() >= end:
            return False
        from .fetch import FetchError, fetch
        from .image_files import ImageRefused, renditions

        key = url_key(url)
        try:
            original = self._cached_original(key)
            if original is None:
                # what is left of the stage's time, in tenths (the message says "within 1.9 s")
                original = fetch(url, MAX_BYTES, min(20.0, math.ceil((end - time.monotonic()) * 10) / 10))
            made = renditions(original)
        except (FetchError, ImageRefused) as exc:
            self._remember(url, {"url": url, "failed": str(exc), "at": int(time.time())})
            return True
        self._store(key, f"{key}.orig", original)
        entry = {"url": url, "renditions": []}
        for rendition in made:
            name = f"{key}-{rendition.width}.webp"
            stamp = self._store(key, name, rendition.data)
            entry["renditions"].append([rendition.width, rendition.height, digest(rendition.data), *(stamp or ())])
        self._remember(url, entry)
        return True

    def _cached_original(self, key: str) -> bytes | None:
        """An original left by an earlier build (or planted: it is decoded like any other)."""
        if self.folder is None:
            return None
        try:
            from .fetch import FetchError, read_file

            return read_file(self.folder / f"{key}.orig", MAX_BYTES)
        except FetchError:
            return None

    def _store(self, key: str, name: str, data: bytes) -> tuple[int, int] | None:
        """Originals are kept whenever the cache is writable (they are checked again when
        read); renditions only with a key to sign the index that vouches for them, else in
        memory, for this process (`check`, or no key). Returns the written file's stamp."""
        original = name.endswith(".orig")
        if self.writable and self.folder is not None and (original or self.key is not None):
            replace_file(self.folder / name, lambda handle: handle.write(data))
            stamp = file_stamp(self.folder / name)
            if original or stamp is not None:
                return stamp
        if not original:
            with self._lock:
                self._memory[name] = data
        return None

    def _remember(self, url: str, entry: dict) -> None:
        with self._lock:
            self._index[url_key(url)] = entry
            self._dirty = True

    # -- the index -------------------------------------------------------------------
    def _load_index(self) -> dict[str, dict]:
        self._dirty = False
        if self.folder is None or self.key is None:
            return {}
        try:
            with open_regular(self.folder / INDEX, INDEX_LIMIT) as handle:
                data = unseal_json(self.key, INDEX, handle.read())
        except (OSError, Untrusted, ValueError):
            return {}  # none yet, or not ours: the originals are decoded again
        entries = data.get("entries")
        return entries if isinstance(entries, dict) else {}

    def _save_index(self) -> None:
        with self._lock:
            if not self._dirty or not self.writable or self.folder is None or self.key is None:
                return
            sealed = seal_json(self.key, INDEX, {"entries": dict(sorted(self._index.items()))})
            self._dirty = False
        replace_file(self.folder / INDEX, lambda handle: handle.write(sealed))

    # -- the preview's background fetch ---------------------------------------------------
    def fetch_later(self, urls: list[str], timeout: float, arrived: Callable[[], None]) -> None:
        """Fetch `urls` in a background thread, calling `arrived()` (from that thread) as
        each can now be shown or was found not to be had, and once at the end. One run at
        a time: a build during a run asks again when the run's last `arrived()` rebuilds."""
        with self._lock:
            if self._background is not None and self._background.is_alive():
                return
            urls = [url for url in urls if url not in self._busy]
            if not urls:
                return
            self._busy.update(urls)

        def run() -> None:
            try:
                self._produce_all(urls, timeout, arrived)
                self._save_index()
            finally:
                with self._lock:
                    self._busy.difference_update(urls)
            if not self._stopped.is_set():
                arrived()  # a build during this run may have found URLs this run did not have

        self._background = threading.Thread(target=run, name="site-builder-image-fetch", daemon=True)
        self._background.start()

    def stop(self, timeout: float = 1.0) -> None:
        """No new fetch starts; a running one (a daemon thread) ends within its deadline,
        writing nothing but whole cache files."""
        self._stopped.set()
        if self._background is not None:
            self._background.join(timeout)


def failure_warnings(failed: dict[str, str], stories: Iterable[tuple[str, str]]):
    """One (story file, message) per image that cannot be had, naming the newest story
    showing it (and how many others do), never the image's address. stories: (image
    URL, story file), newest first."""
    by_url: dict[str, list[str]] = {}
    for url, source in stories:
        if url in failed:
            by_url.setdefault(url, []).append(source)
    for url, sources in by_url.items():
        others = f" (and {len(sources) - 1} other stories showing it)" if len(sources) > 1 else ""
        yield sources[0], (f"its image could not be used: {failed[url]}; the card shows a placeholder{others}")




class ImageStage:
    """A Builder's image stage, kept as long as the Builder (the preview's: its background
    fetch, its index in memory); its store is opened by the first build with local images
    (this module loads no network or Pillow code until then). arrived: set by the preview,
    called when a background fetch brought an image; then `changed` until the next run."""

    def __init__(self, site_dir: Path, writable: bool, arrived: Callable[[], None] | None = None):
        self.site_dir, self.writable = site_dir, writable
        self.store: ImageStore | None = None
        self.arrived = arrived
        self.changed = False

    def run(self, model, state, out: Path) -> tuple[Prepared | None, list[Problem]]:
        """With images = "local" (else None, no warnings): what each published story's
        lead image shows, and a warning per image that
        cannot be had. state, out: the Builder's BuildState and output folder (a rendition
        the output holds already is not read from the cache). With `arrived` (the preview) nothing waits on the network:
        the URLs the cache lacks are fetched in the background, shown remote meanwhile."""
        config = model.config
        if config.images != "local":
            return None, []
        if self.store is None:
            self.store = ImageStore(self.site_dir, self.writable)
        self.changed = False
        stories = [(a.images[0].url, a.source) for a in model.articles if a.images]
        current = functools.partial(_output_holds, state, out)
        prepared = self.store.prepare((url for url, _ in stories), config.image_timeout, self.arrived is None, current)
        if prepared.pending and self.arrived is not None:
            self.store.fetch_later(prepared.pending, config.image_timeout, self._arrived)
        for url in prepared.failed:
            prepared.shown[url] = UNAVAILABLE
        warnings = [Problem(source, message, severity="warning") for source, message in failure_warnings(prepared.failed, stories)]
        if prepared.pending and self.arrived is None:
            warnings.append(Problem(CONFIG_FILE, (
                f"{_count(len(prepared.pending), 'image was', 'images were')} not fetched within image_timeout "
                f"({config.image_timeout} s); their cards show the publisher's image until a build fetches "
                f"them (the next one goes on), or raise image_timeout"), severity="warning"))
        return prepared, warnings

    def _arrived(self) -> None:
        self.changed = True
        self.arrived()

    def stop(self) -> None:
        """Stop a background fetch (the preview, when it stops)."""
        if self.store is not None:
            self.store.stop()

    def write(self, writer, prepared: Prepared | None, state, new: dict, out: Path) -> None:
        """Stage the renditions the plan shows: kept when the output holds them, else read
        from the cache (checked against their hash) and added. Recorded in `new` (the
        build state's next `pages`) as pages are: output -> (digest, file stamp)."""
        if prepared is None:
            return
        kept = []
        for rel, hashed in sorted(prepared.files.items()):
            if _output_holds(state, out, rel, hashed):
                kept.append(rel)
                new[rel] = state.pages[rel]
                continue
            try:
                data = self.store.read(rel, hashed)
            except Untrusted:
                data = self.store.remake(rel, hashed)
            writer.add(rel, data)
            new[rel] = (hashed, None)
        writer.keep_all(kept)


def _output_holds(state, out: Path, rel: str, hashed: str) -> bool:
    """The output holds the rendition the last commit into it recorded for `rel`, with these bytes."""
    known = state.pages.get(rel) if state.output_dir == str(out) else None
    return known is not None and known[0] == hashed and file_stamp(f"{out}/{rel}") == known[1]


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"
