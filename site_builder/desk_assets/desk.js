// The desk with JavaScript: keys (j/k move, p publish, x reject, e edit, u undo, / filter)
// and actions sent with fetch(), the same forms the page posts without it, answered in JSON.
(() => {
  "use strict";
  const DESK = "/_desk";
  const announcer = document.getElementById("announce");
  const say = (text) => { if (announcer) announcer.textContent = text; };
  const cards = () => [...document.querySelectorAll(".queue .h-entry:not(.card--done)")];
  const current = () => document.querySelector(".queue .card--current:not(.card--done)");

  function select(card) {
    document.querySelectorAll(".card--current").forEach((c) => c.classList.remove("card--current"));
    if (!card) return;
    card.classList.add("card--current");
    card.focus({ preventScroll: true });
    card.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    const all = cards();
    if (!all.length) return;
    const at = all.indexOf(current());
    select(all[at < 0 ? 0 : Math.min(all.length - 1, Math.max(0, at + step))]);
  }

  async function post(form, submitter, action) {
    const data = new FormData(form, submitter || undefined);
    if (action) data.set("action", action);
    let reply;
    try {
      const response = await fetch(form.getAttribute("action"), {
        method: "POST", body: new URLSearchParams(data), credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      reply = await response.json().catch(() => ({ ok: false, message: `${response.status} ${response.statusText}` }));
    } catch (error) {
      reply = { ok: false, message: `The preview did not answer: ${error}` };
    }
    say(reply.message);
    return reply;
  }

  function status(card, text, error) {
    const line = card.querySelector(".card__status");
    line.hidden = false;
    line.classList.toggle("card__status--error", !!error);
    line.textContent = text;
    return line;
  }

  async function showLive(card, path) {
    const line = status(card, "Published; waiting for its page…");
    const response = await fetch(`${DESK}/live?wait=1&path=${encodeURIComponent(path)}`, { headers: { Accept: "application/json" } });
    const live = await response.json();
    if (!live.live) { line.textContent = "Published; its page is not in the preview yet."; return; }
    line.textContent = "Live: ";
    const link = document.createElement("a");
    link.className = "u-url";
    link.href = live.url;
    link.textContent = live.url;
    line.append(link);
  }

  async function refreshUndo() {
    const page = await fetch(location.href).then((r) => r.text());
    const fresh = new DOMParser().parseFromString(page, "text/html");
    const top = document.querySelector("header.top");
    top.replaceWith(document.importNode(fresh.querySelector("header.top"), true));
    return fresh;
  }

  async function act(form, submitter, action) {
    action = action || (submitter && submitter.value) || new FormData(form).get("action");
    const card = form.closest(".h-entry");
    const reply = await post(form, submitter, action);
    if (!reply.ok) {
      if (card) status(card, reply.message, true);
      return;
    }
    if (action === "undo") {
      const fresh = await refreshUndo();
      document.querySelector(".queue").replaceWith(document.importNode(fresh.querySelector(".queue"), true));
      say(reply.message);
      return;
    }
    if (action === "edit") {
      const path = reply.done[0];
      const old = document.querySelector(`.queue .h-entry[data-path="${CSS.escape(path)}"]`);
      const back = new URLSearchParams(location.search).toString();
      const html = await fetch(`${DESK}/card?${new URLSearchParams({ path, back })}`).then((r) => r.text());
      const fresh = new DOMParser().parseFromString(html, "text/html").querySelector(".h-entry");
      if (old && fresh) { const node = document.importNode(fresh, true); old.replaceWith(node); select(node); }
      refreshUndo();
      say(reply.message);
      return;
    }
    const next = cards().find((c, n, all) => all[n - 1] === (card || current()));
    for (const path of reply.done) {
      const done = document.querySelector(`.queue .h-entry[data-path="${CSS.escape(path)}"]`);
      if (!done) continue;
      done.classList.add("card--done");
      done.classList.remove("card--current");
      const box = done.querySelector('input[name="item"]');
      if (box) { box.checked = false; box.disabled = true; }
      if (action === "publish") showLive(done, path); else status(done, "Rejected.");
    }
    if (card) select(next || cards()[0]);
    refreshUndo();
    say(reply.message);
  }

  async function edit(card) {
    if (card.querySelector(".edit-form")) { card.querySelector(".edit-form input[name=title]").focus(); return; }
    const link = card.querySelector("a.card__edit");
    const html = await fetch(link.href).then((r) => r.text());
    const form = new DOMParser().parseFromString(html, "text/html").querySelector(".edit-form");
    if (!form) { status(card, "This story cannot be edited here.", true); return; }
    const node = document.importNode(form, true);
    card.querySelector(".card__links").after(node);
    node.querySelector(".edit-cancel").addEventListener("click", (event) => { event.preventDefault(); node.remove(); select(card); });
    node.querySelector("input[name=title]").focus();
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!form.matches("[data-desk-action]")) return;
    event.preventDefault();
    act(form, event.submitter);
  });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (event.key === "Escape" && target.closest && target.closest(".queue .edit-form")) {
      const card = target.closest(".h-entry");
      target.closest(".edit-form").remove();
      select(card);
      return;
    }
    if (target.matches && target.matches("input, textarea, select, [contenteditable]")) return;
    const card = current() || cards()[0];
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "/": document.getElementById("q").focus(); break;
      case "p": case "x":
        if (!card) return;
        select(card);
        act(card.querySelector(".card__actions"), null, event.key === "p" ? "publish" : "reject");
        break;
      case "e": if (card) { select(card); edit(card); } break;
      case "u": {
        const undo = document.querySelector(".top__undo");
        if (undo) act(undo, null, "undo"); else say("Nothing to undo.");
        break;
      }
      default: return;
    }
    event.preventDefault();
  });
})();
