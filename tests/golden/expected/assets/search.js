// Search as you type, for every form[data-search]: the header's box on every page and
// the search page's own. Without JavaScript the forms still go to /search/?q=...
// Pagefind's bundle (pagefind.js, its index and WASM) is fetched only once a reader
// starts typing, so pages that are only read never pay for it.
(() => {
  "use strict";
  const bundle = document.currentScript.dataset.pagefind;
  // A large site's index comes in shards (each re-indexed only when one of its stories
  // changes); the first is the bundle above, the others are merged into it.
  const shards = (document.currentScript.dataset.pagefindMerge || "").split(" ").filter(Boolean);
  const SHOWN = 10;
  let pagefind = null;
  let failures = 0;

  function load() {
    // A browser may remember a module that failed to load by its URL: a retry asks for
    // another one (Pagefind finds its other files from its own folder, not its query).
    const url = failures ? `${bundle}?retry=${failures}` : bundle;
    // Record URLs in the index already carry the base path: stop Pagefind adding it again.
    pagefind ??= import(url).then(async (module) => {
      await module.options({ baseUrl: "/", excerptLength: 24 });
      await Promise.all(shards.map((shard) => module.mergeIndex(shard, { baseUrl: "/" })));
      module.init();
      return module;
    }).catch((error) => {
      pagefind = null; // a network error: the next keystroke tries again
      failures += 1;
      throw error;
    });
    return pagefind;
  }

  // An empty site has no index (Pagefind builds none), so its bundle is not there; any
  // other failure to load it is the network's, and the next keystroke tries again.
  function bundleMissing() {
    return fetch(bundle, { method: "HEAD" }).then((response) => response.status === 404, () => false);
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function enhance(form) {
    const input = form.querySelector("input[name=q]");
    const onPage = form.dataset.search === "page";
    const panel = element("div", "search-results" + (onPage ? "" : " search-results--popup"));
    const status = element("p", "search-results__status");
    status.setAttribute("role", "status");
    const list = element("ol", "search-results__list");
    list.id = input.id + "-results";
    panel.append(status, list);
    panel.hidden = true;
    form.append(panel);
    input.setAttribute("aria-controls", list.id);
    // One search at a time: keys typed while one runs only mark it stale, and the box's
    // latest text is searched when it ends. Pagefind answers searches in turn, so a search
    // per key queued them up: on 90,000 generated stories (0.06-3.7 s a search), "privacy
    // breach" typed at 10 keys a second showed its results 14.6 s after the last key.
    let running = false;
    let stale = false;

    async function run() {
      if (running) {
        stale = true;
        return;
      }
      running = true;
      try {
        do {
          stale = false;
          await searchOnce();
        } while (stale);
      } finally {
        running = false;
      }
    }

    async function searchOnce() {
      const query = input.value.trim();
      if (!query) {
        panel.hidden = true;
        list.replaceChildren();
        return;
      }
      let engine;
      try {
        engine = await load();
      } catch {
        status.textContent = (await bundleMissing())
          ? "Search is not available yet: this site has no stories."
          : "Search could not be loaded. Check the connection, then type again.";
        list.replaceChildren();
        panel.hidden = false;
        return;
      }
      const started = performance.now();
      panel.dataset.searches = Number(panel.dataset.searches || 0) + 1; // for tests
      const found = await engine.search(query);
      const ranked = performance.now();
      if (stale) return; // the box changed meanwhile: its text is searched next
      const shown = await Promise.all(found.results.slice(0, SHOWN).map((result) => result.data()));
      if (stale) return;
      // Query to rendered results, for tests and bench/search_latency.py.
      panel.dataset.searchMs = (ranked - started).toFixed(1);
      panel.dataset.queryMs = (performance.now() - started).toFixed(1);
      panel.dataset.query = query;
      list.replaceChildren(...shown.map(item));
      const count = found.results.length;
      status.textContent = count === 0 ? `No stories match “${query}”.`
        : `${count} ${count === 1 ? "story" : "stories"}` + (count > SHOWN ? `, the best ${SHOWN} shown` : "");
      panel.hidden = false;
    }

    function item(data) {
      const li = element("li", "search-results__item");
      const link = element("a", "search-results__link", data.meta.title);
      link.href = data.meta.href || data.url;
      const meta = element("span", "search-results__meta", data.meta.provider || "");
      if (data.meta.date) {
        const when = new Date(data.meta.date).toLocaleDateString(document.documentElement.lang || undefined,
          { day: "numeric", month: "short", year: "numeric" });
        const time = element("time", "", when);
        time.dateTime = data.meta.date;
        meta.append(meta.textContent ? " · " : "", time);
      }
      li.append(link, meta);
      if (data.meta.excerpt) li.append(element("span", "search-results__excerpt", data.meta.excerpt));
      return li;
    }

    // Keyboard: arrows move between the box and the results, Escape goes back to the box.
    form.addEventListener("keydown", (event) => {
      const links = [...list.querySelectorAll("a")];
      const at = links.indexOf(document.activeElement);
      if (event.key === "ArrowDown" && links.length) {
        links[Math.min(at + 1, links.length - 1)].focus();
      } else if (event.key === "ArrowUp" && at >= 0) {
        (at === 0 ? input : links[at - 1]).focus();
      } else if (event.key === "Escape" && !onPage) {
        panel.hidden = true;
        input.focus();
      } else {
        return;
      }
      event.preventDefault();
    });
    input.addEventListener("input", run);
    // Warm up on focus; a failure is reported when the reader types, not as a page error.
    input.addEventListener("focus", () => load().catch(() => {}), { once: true });
    if (!onPage) {
      form.addEventListener("focusout", (event) => {
        if (!form.contains(event.relatedTarget)) panel.hidden = true;
      });
      input.addEventListener("focus", () => { if (list.childElementCount) panel.hidden = false; });
    } else {
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        history.replaceState(null, "", "?q=" + encodeURIComponent(input.value.trim()));
        run();
      });
      const asked = new URLSearchParams(location.search).get("q");
      if (asked) {
        input.value = asked;
        run();
      }
    }
  }

  document.querySelectorAll("form[data-search]").forEach(enhance);
})();
