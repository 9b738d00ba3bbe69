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

/** Names of the sources in `state` (`indexing`, `pending`, …). */
function byState(status, state) {
  return Object.entries(status.sources || {})
    .filter(([, s]) => s.state === state)
    .map(([name]) => name);
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
    ...[
      ["Searchable", status.sources_done],
      ["Partly in", byState(status, "indexing")],
      ["Not started", byState(status, "pending")],
    ].map(([label, names]) =>
      names.length ? el("span", { class: "hint", text: `${label}: ${names.join(", ")}. ` }) : null,
    ),
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
  let refused = null; // the key the gateway refused: not asked again with it
  const tick = async () => {
    let filling = true; // until the gateway says otherwise: a key may come, the gateway return
    const key = api.getKey();
    if (key && key !== refused) {
      try {
        filling = renderIndexStatus(box, await api.indexStatus());
      } catch (err) {
        box.hidden = true; // the page's other states explain a missing key or a gateway away
        if (err && (err.status === 401 || err.status === 403)) refused = key;
      }
    }
    timer = filling ? setTimeout(tick, POLL_MS) : null;
  };
  tick();
  return () => timer && clearTimeout(timer);
}
