// Text utilities: whitespace-tolerant matching, quote highlighting, the raw answer format.
import { el } from "./dom.js";

const BEGIN = "##begin_quote##";
const END = "##end_quote##";

/**
 * The displayable text of a partially streamed raw answer: quote markers become “ and ”, and
 * a marker cut in half at the end of the text so far is held back.
 * @param {string} raw
 */
export function displayOfRaw(raw) {
  const text = raw.split(BEGIN).join("“").split(END).join("”");
  for (let k = Math.min(text.length, BEGIN.length - 1); k >= 1; k -= 1) {
    const tail = text.slice(-k);
    if (BEGIN.startsWith(tail) || END.startsWith(tail)) return text.slice(0, -k);
  }
  return text;
}

// a subdivision's label a passage prints where a line begins: "(1) ", "(1)(A) "
const LABEL = "(?:(?:\\([^()\\s]{1,8}\\))+\\s+)?";

/**
 * Where `needle` occurs in `hay`, ignoring differences in whitespace and letter case, and
 * the subdivision labels `hay` prints between the words (as the verifier does: a quote that
 * runs from a list's opening words into "(1) the purpose …" may leave the "(1)" out).
 * @returns {[number, number] | null} [start, end) in `hay`, or null
 */
export function findLoose(hay, needle) {
  const words = needle
    .replace(/[“”]/g, '"')
    .split(/\s+/)
    .filter(Boolean);
  if (!words.length) return null;
  const escaped = words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/"/g, '["“”]'));
  const re = new RegExp(escaped.join(`\\s+${LABEL}`), "iu");
  const m = re.exec(hay);
  return m ? [m.index, m.index + m[0].length] : null;
}

/**
 * The pieces of a quote worth looking for: an elided quote ("… is not …") is split at the
 * ellipses, and very short fragments are dropped.
 */
export function quoteParts(quote) {
  return quote
    .split(/…|\.\.\./)
    .map((s) => s.trim().replace(/^["“]|["”]$/g, "").trim())
    .filter((s) => s.length >= 3);
}

/**
 * Build `text` as nodes with the given quotes wrapped in <mark>.
 * @param {string} text
 * @param {string[]} quotes
 * @param {string} [markClass]
 * @returns {{nodes: Node[], found: number, missing: number}} the nodes, how many marked
 *   stretches there are, and how many quote parts were not found
 */
export function highlighted(text, quotes, markClass = "quote") {
  const ranges = [];
  let missing = 0;
  for (const quote of quotes) {
    for (const part of quoteParts(quote || "")) {
      const r = findLoose(text, part);
      if (r) ranges.push(r);
      else missing += 1;
    }
  }
  ranges.sort((a, b) => a[0] - b[0]);
  const merged = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  const nodes = [];
  let at = 0;
  for (const [start, end] of merged) {
    if (start > at) nodes.push(document.createTextNode(text.slice(at, start)));
    nodes.push(el("mark", { class: markClass, text: text.slice(start, end) }));
    at = end;
  }
  if (at < text.length) nodes.push(document.createTextNode(text.slice(at)));
  return { nodes, found: merged.length, missing };
}
