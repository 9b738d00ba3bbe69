// The "still indexing" banner: while the index build fills, say what is searchable and what is
// not yet, and hide once the build is complete. It reads GET /readyz (no key needed, and it
// does not spend the key's rate limit), whose `index` object carries the build's progress
// while it fills (GET /v1/index/status has the same in full, per source).
import { append, clear, el } from "./dom.js";

const POLL_MS = 5000;

/** "12 min", "40 s": a rough duration for people. */
export function roughDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "";
  if (seconds >= 5400) return `${Math.round(seconds / 3600)} h`;
  if (seconds >= 90) return `${Math.round(seconds / 60)} min`;
  return `${Math.max(1, Math.round(seconds))} s`;
}

const list = (text) => (text ? String(text).split(", ").filter(Boolean) : []);

/**
 * Fill `box` from `/readyz`'s `index` object; returns true while the build is still filling
 * or the index searches use is incomplete (its build stopped part-way).
 * @param {HTMLElement} box
 * @param {any} index the `index` object of the `GET /readyz` body
 */
export function renderIndexStatus(box, index) {
  clear(box);
  if (index && index.incomplete) {
    // a build served while it filled, then stopped (a demo interrupted): say what is missing
    const passages = Number(index.passages || 0).toLocaleString("en-US");
    const missing = list(index.sources_pending);
    append(
      box,
      el("strong", { text: "Incomplete index: " }),
      `its build stopped before it was complete (${passages} passages). Answers use what is ` +
        "indexed; a build run to the end (python -m indexing build) completes it. ",
      missing.length
        ? el("span", { class: "hint", text: `Not fully indexed: ${missing.join(", ")}. ` })
        : null,
    );
    box.dataset.state = "incomplete";
    box.hidden = false;
    return true; // keep watching: a new build may start
  }
  if (!index || !index.filling) {
    box.hidden = true;
    box.dataset.state = "complete";
    return false;
  }
  const fmt = (n) => Number(n || 0).toLocaleString("en-US");
  const eta = roughDuration(index.eta_s);
  const where = index.serving_filling_build
    ? "Answers use what is indexed so far."
    : "Answers use the previous index until the new one is complete.";
  append(
    box,
    el("strong", { text: "Still indexing: " }),
    `${fmt(index.passages)} of about ${fmt(index.passages_estimated)} passages` +
      (eta ? `, about ${eta} to go` : "") +
      `. ${where} `,
    ...[
      ["Searchable", list(index.sources_done)],
      ["Not yet", list(index.sources_pending)],
    ].map(([label, names]) =>
      names.length ? el("span", { class: "hint", text: `${label}: ${names.join(", ")}. ` }) : null,
    ),
  );
  box.dataset.state = "filling";
  box.hidden = false;
  return true;
}

/**
 * Poll the index's readiness into `box` until the build is complete.
 * @param {import("./api.js").Api} api
 * @param {HTMLElement} box
 */
export function watchIndex(api, box) {
  let timer = null;
  const tick = async () => {
    let filling = true; // until the gateway says otherwise (it may be away, or not ready)
    try {
      filling = renderIndexStatus(box, (await api.readiness()).index);
    } catch {
      box.hidden = true; // the page's other states explain a gateway away
    }
    timer = filling ? setTimeout(tick, POLL_MS) : null;
  };
  tick();
  return () => timer && clearTimeout(timer);
}
