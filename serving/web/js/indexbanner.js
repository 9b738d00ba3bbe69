// The "still indexing" banner: while the index build fills, say what is searchable and what is
// not yet (GET /v1/index/status), and hide once the build is complete.
import { append, clear, el } from "./dom.js";

const POLL_MS = 5000;

/** "12 min", "40 s": a rough duration for people. */
export function roughDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "";
  if (seconds >= 5400) return `${Math.round(seconds / 3600)} h`;
  if (seconds >= 90) return `${Math.round(seconds / 60)} min`;
  return `${Math.max(1, Math.round(seconds))} s`;
}

/**
 * Fill `box` from a status body; returns true while the build is still filling.
 * @param {HTMLElement} box
 * @param {any} status the `GET /v1/index/status` body
 */
export function renderIndexStatus(box, status) {
  clear(box);
  if (!status || status.state !== "filling") {
    box.hidden = true;
    box.dataset.state = status ? status.state : "unknown";
    return false;
  }
  const fmt = (n) => Number(n || 0).toLocaleString("en-US");
  const eta = roughDuration(status.eta_s);
  const where = status.serving
    ? "Answers use what is indexed so far."
    : "Answers use the previous index until the new one is complete.";
  append(
    box,
    el("strong", { text: "Still indexing: " }),
    `${fmt(status.passages)} of about ${fmt(status.passages_estimated)} passages` +
      (eta ? `, about ${eta} to go` : "") +
      `. ${where} `,
    status.sources_done.length
      ? el("span", { class: "hint", text: `Searchable: ${status.sources_done.join(", ")}. ` })
      : null,
    status.sources_pending.length
      ? el("span", { class: "hint", text: `Not yet: ${status.sources_pending.join(", ")}.` })
      : null,
  );
  box.dataset.state = "filling";
  box.hidden = false;
  return true;
}

/**
 * Poll the index status into `box` until the build is complete (or the page cannot ask).
 * @param {import("./api.js").Api} api
 * @param {HTMLElement} box
 */
export function watchIndex(api, box) {
  let timer = null;
  const tick = async () => {
    let filling = false;
    try {
      filling = renderIndexStatus(box, await api.indexStatus());
    } catch {
      box.hidden = true; // no key yet, or the gateway is away: other states say so
      filling = true; // ask again: the key may come
    }
    timer = filling ? setTimeout(tick, POLL_MS) : null;
  };
  tick();
  return () => timer && clearTimeout(timer);
}
