// Live reload for `site-builder serve`; injected into served HTML only, never into built files.
// It is a file of its own (not inline) because the theme's Content-Security-Policy allows
// only same-origin scripts. The server sends its state after every build: a page reloads
// when a newer good build is served, and shows the errors of a failed build over the page.
(() => {
  "use strict";
  const script = document.currentScript;
  const servedGeneration = script.dataset.generation;
  const events = new EventSource(script.dataset.events);
  let overlay = null;

  events.addEventListener("state", (event) => {
    const state = JSON.parse(event.data);
    if (String(state.generation) !== servedGeneration && (state.ok || servedGeneration === "0")) {
      events.close();
      location.reload();
      return;
    }
    showErrors(state.ok ? [] : state.messages);
  });

  function showErrors(messages) {
    if (!messages.length) {
      if (overlay) overlay.remove();
      overlay = null;
      return;
    }
    if (!overlay) {
      overlay = document.createElement("div");
      overlay.id = "site-builder-errors";
      overlay.setAttribute("role", "alert");
      // Styles through the CSSOM: the page's CSP forbids inline style attributes and elements.
      Object.assign(overlay.style, {
        position: "fixed", inset: "0", zIndex: "2147483647", overflow: "auto",
        background: "rgba(20, 20, 20, 0.93)", color: "#ffd6d6", padding: "2rem",
        font: "14px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace",
      });
      document.body.append(overlay);
    }
    const title = document.createElement("h2");
    title.textContent = "The site did not build; showing the last good version.";
    Object.assign(title.style, { color: "#ff8080", font: "bold 18px/1.3 system-ui, sans-serif", margin: "0 0 1rem" });
    const details = document.createElement("pre");
    details.textContent = messages.join("\n");
    Object.assign(details.style, { whiteSpace: "pre-wrap", margin: "0" });
    const hint = document.createElement("p");
    hint.textContent = "Fix the file and save: this page reloads by itself.";
    overlay.replaceChildren(title, details, hint);
  }
})();
