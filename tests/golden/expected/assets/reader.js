// Reading aids that need JavaScript; the pages are complete without it.
// Relative times ("3 hr. ago") for every <time datetime> on the page. The page's own
// text is the absolute date: it stays the fallback without JavaScript and becomes the
// tooltip here. Refreshed every minute, so a page left open does not go stale.
(() => {
  "use strict";
  const lang = document.documentElement.lang || undefined;
  const format = new Intl.RelativeTimeFormat(lang, { numeric: "always", style: "short" });
  const UNITS = [["year", 31536e6], ["month", 2592e6], ["week", 6048e5], ["day", 864e5],
    ["hour", 36e5], ["minute", 6e4]];

  function relative(date) {
    const ms = date.getTime() - Date.now();
    for (const [unit, size] of UNITS) {
      if (Math.abs(ms) >= size) return format.format(Math.round(ms / size), unit);
    }
    return format.format(0, "minute");
  }

  // Every width is read before any text is written: the relative time keeps at least the
  // room the date took, so no line of a river rewraps and the page does not shift.
  // "1 yr. ago", not "last yr.": always a number, about as wide as "21 Jul 2025".
  function update() {
    const times = [...document.querySelectorAll("time[datetime]")];
    const widths = times.map((time) => time.getBoundingClientRect().width);
    times.forEach((time, i) => {
      const date = new Date(time.dateTime);
      if (Number.isNaN(date.getTime())) return;
      if (!time.title) time.title = time.textContent.trim();
      if (!time.style.minWidth && widths[i]) {
        time.style.display = "inline-block";
        time.style.minWidth = `${widths[i]}px`;
      }
      time.textContent = relative(date);
    });
  }

  // Remote images that fail leave their box's placeholder showing (see .lead__media).
  // Errors do not bubble, so listen in the capture phase; images that failed before this
  // script ran are found by their zero natural width.
  function failed(img) {
    const box = img.closest(".lead__media, .card__media");
    box?.classList.add(box.classList[0] + "--failed");
  }
  document.addEventListener("error", (event) => {
    if (event.target instanceof HTMLImageElement) failed(event.target);
  }, true);
  document.querySelectorAll(".lead__media img, .card__media img").forEach((img) => {
    if (img.complete && img.naturalWidth === 0 && img.currentSrc) failed(img);
  });

  update();
  setInterval(update, 60000);
})();
