// TimmyBot's dashboard: the little it needs beyond htmx. No inline script and no eval, so the
// page keeps its strict Content-Security-Policy.
"use strict";

// Moves the now-playing position on between polls; each poll brings the server's value.
function tick() {
  for (const el of document.querySelectorAll("[data-position-ms]")) {
    if (!el.dataset.seenAt) el.dataset.seenAt = String(Date.now());
    const base = Number(el.dataset.positionMs);
    const paused = el.dataset.paused === "true";
    const len = el.dataset.durationMs ? Number(el.dataset.durationMs) : Infinity;
    const pos = Math.min(len, base + (paused ? 0 : Date.now() - Number(el.dataset.seenAt)));
    const text = el.querySelector(".pos");
    if (text) text.textContent = clock(pos);
    const bar = el.querySelector("progress");
    if (bar) bar.value = pos;
  }
}

function clock(ms) {
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, r = s % 60;
  const pad = (n) => String(n).padStart(2, "0");
  return h > 0 ? `${h}:${pad(m)}:${pad(r)}` : `${m}:${pad(r)}`;
}

// Polls the player every 5 s while the tab is visible: a hidden tab costs nothing.
const POLL_MS = 5000;
function poll() {
  const live = document.getElementById("live");
  if (document.hidden || !live || !live.dataset.live || !window.htmx) return;
  // Not while a control's answer is on its way.
  if (document.querySelector(".htmx-request")) return;
  window.htmx.ajax("GET", live.dataset.live, {
    target: "#live",
    swap: "outerHTML",
    headers: { "X-Poll-Started": String(Date.now()) },
  });
}

// A poll sent before a control was pressed carries the state from before it: its answer
// must not overwrite the control's.
let lastControl = 0;
document.addEventListener("htmx:beforeRequest", (e) => {
  if (e.detail.requestConfig && e.detail.requestConfig.verb !== "get") lastControl = Date.now();
});
document.addEventListener("htmx:beforeSwap", (e) => {
  const started = e.detail.requestConfig && e.detail.requestConfig.headers["X-Poll-Started"];
  if (started && Number(started) <= lastControl) e.detail.shouldSwap = false;
});

setInterval(tick, 1000);
setInterval(poll, POLL_MS);
document.addEventListener("visibilitychange", () => { if (!document.hidden) poll(); });

// A track that was added leaves the box empty for the next one.
document.addEventListener("htmx:afterRequest", (e) => {
  const form = e.detail.elt;
  if (e.detail.successful && form instanceof HTMLFormElement && form.classList.contains("add")) {
    form.reset();
  }
});
