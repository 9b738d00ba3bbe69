// What the page keeps in the browser: the API key and the history of past questions.

const KEY = "juris.apiKey";
const HISTORY = "juris.history";
const HISTORY_MAX = 30;

function store() {
  try {
    return window.localStorage;
  } catch {
    return null; // storage disabled (private mode, policies): the page still works, unsaved
  }
}

/** The saved API key, or "". */
export function loadKey() {
  const s = store();
  return (s && s.getItem(KEY)) || "";
}

/** Save (or, with "", forget) the API key. */
export function saveKey(key) {
  const s = store();
  if (!s) return;
  if (key) s.setItem(KEY, key);
  else s.removeItem(KEY);
}

/**
 * Past questions, newest first: `[{question, mode, filters, at}]`.
 * @returns {Array<{question: string, mode: string, filters: Object, at: string}>}
 */
export function loadHistory() {
  const s = store();
  if (!s) return [];
  try {
    const items = JSON.parse(s.getItem(HISTORY) || "[]");
    return Array.isArray(items)
      ? items.filter((i) => i && typeof i.question === "string" && i.question)
      : [];
  } catch {
    return [];
  }
}

/** Record a question (a repeat moves to the top). */
export function remember(entry) {
  const s = store();
  if (!s) return;
  const same = (i) =>
    i.question === entry.question &&
    i.mode === entry.mode &&
    JSON.stringify(i.filters) === JSON.stringify(entry.filters);
  const items = [entry, ...loadHistory().filter((i) => !same(i))].slice(0, HISTORY_MAX);
  s.setItem(HISTORY, JSON.stringify(items));
}

/** Forget every past question. */
export function clearHistory() {
  const s = store();
  if (s) s.removeItem(HISTORY);
}
