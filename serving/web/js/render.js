// Rendering answers, citation cards and search results from the gateway's JSON (as text).
import { append, clear, el } from "./dom.js";
import { findLoose, highlighted } from "./text.js";

/** Badge text and explanation per verification status. */
export const STATUS = {
  verified: ["verified", "Verified: the cited source was given and the quoted words are in it"],
  misquoted: ["misquoted", "The quoted words are not in the cited source"],
  misattributed: [
    "wrong source",
    "The law named just before this marker is not the source it points to",
  ],
  not_in_sources: ["not among the sources", "No such source was given for this answer"],
  in_corpus: [
    "not among the sources",
    "This law is in the corpus but was not among the sources given for this answer",
  ],
  unknown: ["not in the corpus", "This citation does not resolve to a document in the corpus"],
};

const SEVERITY = [
  "verified",
  "in_corpus",
  "misquoted",
  "misattributed",
  "not_in_sources",
  "unknown",
];

/** The badge element of a status. */
export function badge(status) {
  const [label, title] = STATUS[status] || [status, status];
  return el("span", { class: `badge badge-${status}`, title, text: label });
}

function worst(statuses) {
  return statuses.reduce((a, b) => (SEVERITY.indexOf(b) > SEVERITY.indexOf(a) ? b : a));
}

/** Status of each `[n]` (the worst among the source citations carrying that n). */
export function statusByNumber(response) {
  const byN = new Map();
  for (const c of response.citations) {
    if (c.kind !== "source" || c.n === null) continue;
    byN.set(c.n, [...(byN.get(c.n) || []), c.status]);
  }
  return new Map([...byN].map(([n, s]) => [n, worst(s)]));
}

function unsupportedRanges(text, sentences) {
  const ranges = [];
  for (const s of sentences) {
    const clean = s.replace(/##begin_quote##/g, "“").replace(/##end_quote##/g, "”");
    const r = findLoose(text, clean);
    if (r) ranges.push(r);
  }
  ranges.sort((a, b) => a[0] - b[0]);
  return ranges.filter((r, i) => i === 0 || r[0] >= ranges[i - 1][1]);
}

function withRefs(text, statuses, onRef) {
  const nodes = [];
  const re = /\[(\d+)\]/g;
  let at = 0;
  let m;
  while ((m = re.exec(text))) {
    if (m.index > at) nodes.push(document.createTextNode(text.slice(at, m.index)));
    const n = Number(m[1]);
    const status = statuses.get(n) || "not_in_sources";
    const label = `Citation ${n}: ${(STATUS[status] || [status])[0]}`;
    nodes.push(
      el("a", {
        class: `cite-ref ref-${status}`,
        href: `#card-${n}`,
        "aria-label": label,
        title: label,
        dataset: { n: String(n) },
        text: m[0],
        onclick: (event) => {
          event.preventDefault();
          onRef(n);
        },
      }),
    );
    at = m.index + m[0].length;
  }
  if (at < text.length) nodes.push(document.createTextNode(text.slice(at)));
  return nodes;
}

/**
 * Render the final answer: `[n]` links to the cards, unsupported claims marked.
 * @param {HTMLElement} target
 * @param {Object} response the AskResponse
 * @param {(n: number) => void} onRef called when a `[n]` link is followed
 */
export function renderAnswer(target, response, onRef) {
  clear(target);
  const text = response.answer || "";
  const statuses = statusByNumber(response);
  const ranges = unsupportedRanges(text, response.verification.unsupported || []);
  let at = 0;
  for (const [start, end] of ranges) {
    append(target, ...withRefs(text.slice(at, start), statuses, onRef));
    append(
      target,
      el(
        "span",
        { class: "unsupported", title: "No verified citation supports this claim" },
        el("span", { class: "unsupported-label", text: "Unsupported: " }),
        ...withRefs(text.slice(start, end), statuses, onRef),
      ),
    );
    at = end;
  }
  append(target, ...withRefs(text.slice(at), statuses, onRef));
}

/** The summary line of the verification. */
export function renderVerification(target, response) {
  clear(target);
  const v = response.verification;
  const counts = Object.entries(v.citations_by_status || {})
    .map(([status, count]) => `${count} ${(STATUS[status] || [status])[0]}`)
    .join(", ");
  const ok = v.all_verified;
  target.className = `verification ${ok ? "ok" : "warn"}`;
  append(
    target,
    el("strong", {
      text: ok
        ? "Every citation verified."
        : v.unsupported_claims
          ? `${v.unsupported_claims} claim${v.unsupported_claims === 1 ? "" : "s"} without a verified citation.`
          : "Some citations could not be verified.",
    }),
    counts ? ` Citations: ${counts}.` : " No citations.",
  );
}

function versionLine(p) {
  if (!p.valid_from && !p.valid_to) return p.version ? `version ${p.version}` : "";
  const from = p.valid_from ? `from ${p.valid_from}` : "";
  const to = p.valid_to ? ` until ${p.valid_to}` : " (current)";
  return `version ${p.version}, in force ${from}${to}`;
}

/**
 * One card per source passage (id `card-n`), plus cards for `[n]` naming no given source.
 * @param {HTMLElement} list the <ol>
 * @param {Object} response the AskResponse
 * @param {(p: Object, quotes: string[], opener: HTMLElement) => void} onOpen
 */
export function renderCards(list, response, onOpen) {
  clear(list);
  const statuses = statusByNumber(response);
  const quotesOf = (n) =>
    response.citations
      .filter((c) => c.kind === "source" && c.n === n)
      .flatMap((c) => (c.quotes && c.quotes.length ? c.quotes : c.quote ? [c.quote] : []));
  for (const p of response.passages) {
    const status = statuses.get(p.n);
    const quotes = quotesOf(p.n);
    const failed = response.citations.filter(
      (c) =>
        c.kind === "source" &&
        c.n === p.n &&
        (c.status === "misquoted" || c.status === "misattributed"),
    );
    list.append(
      passageCard(p, {
        status,
        quotes,
        onOpen,
        notes: failed.map(
          (c) =>
            c.message ||
            (c.status === "misquoted"
              ? "A quoted span is not in this source."
              : "The law named before this marker is not this source."),
        ),
        cited: statuses.has(p.n),
      }),
    );
  }
  const given = new Set(response.passages.map((p) => p.n));
  for (const [n, status] of statuses) {
    if (given.has(n)) continue;
    list.append(
      el(
        "li",
        { class: "card card-missing", id: `card-${n}`, tabindex: "-1" },
        el("div", { class: "card-head" }, el("span", { class: "num", text: `[${n}]` }), badge(status)),
        el("p", { text: `The answer cites [${n}], but no source ${n} was given to it.` }),
      ),
    );
  }
}

/**
 * A card for a passage (answers and search results).
 * @returns {HTMLLIElement}
 */
export function passageCard(p, { status, quotes = [], onOpen, notes = [], cited = true }) {
  const { nodes } = highlighted(p.text, quotes);
  const open = el("button", {
    type: "button",
    class: "secondary open-doc",
    text: `Open ${p.doc_citation || p.citation}`,
  });
  open.addEventListener("click", () => onOpen(p, quotes, open));
  return el(
    "li",
    { class: `card${cited ? "" : " uncited"}`, id: `card-${p.n}`, tabindex: "-1" },
    el(
      "div",
      { class: "card-head" },
      el("span", { class: "num", text: `[${p.n}]` }),
      el("cite", { class: "citation", text: p.citation }),
      status ? badge(status) : null,
      !cited ? el("span", { class: "hint", text: "not cited in the answer" }) : null,
    ),
    el("p", { class: "card-title", text: [p.title, versionLine(p)].filter(Boolean).join(" · ") }),
    el("blockquote", { class: "passage" }, ...nodes),
    ...notes.map((n) => el("p", { class: "note warn", text: n })),
    el("div", { class: "row" }, open),
  );
}

/**
 * The citations written in the answer's text (U.S.C., rules, GDPR, cases) with their status.
 * @param {HTMLElement} list the <ul>
 * @param {Object} response
 * @param {(c: Object, opener: HTMLElement) => void} onOpen
 */
export function renderLegal(list, response, onOpen) {
  clear(list);
  for (const c of response.citations.filter((x) => x.kind === "legal")) {
    const item = el(
      "li",
      { class: "legal-item" },
      el("cite", { text: c.text || c.citation }),
      " ",
      badge(c.status),
      c.message ? el("span", { class: "hint", text: ` ${c.message}` }) : null,
    );
    if (c.doc_id && c.status !== "unknown") {
      const open = el("button", { type: "button", class: "link", text: "open" });
      open.addEventListener("click", () => onOpen(c, open));
      append(item, " ", open);
    }
    list.append(item);
  }
}

/** "the question names X, and the indexed sources hold no law of it" for the places a
 * question names whose law the index holds none of (`not_held`); "" for none. */
export function placesNotHeld(response) {
  const places = response.not_held || [];
  if (!places.length) return "";
  const names =
    places.length === 1
      ? places[0]
      : `${places.slice(0, -1).join(", ")} and ${places[places.length - 1]}`;
  return `the question names ${names}, and the indexed sources hold no law of ${places.length === 1 ? "it" : "them"}`;
}

/** Plain text of the answer with its citations, for the clipboard. */
export function answerAsText(response) {
  const lines = [response.answer.trim(), "", "Sources:"];
  if (response.weak_match) {
    const places = placesNotHeld(response);
    const note = places
      ? `Weak match: ${places}; check that these sources govern it.`
      : "Weak match: retrieval matched these sources to the question only weakly; check that they govern it.";
    lines.splice(1, 0, "", note);
  }
  const statuses = statusByNumber(response);
  for (const p of response.passages) {
    const status = statuses.get(p.n);
    const label = status ? ` (${(STATUS[status] || [status])[0]})` : "";
    lines.push(`[${p.n}] ${p.citation}${label}${p.title ? ` — ${p.title}` : ""}`);
  }
  const legal = response.citations.filter((c) => c.kind === "legal");
  if (legal.length) {
    lines.push("", "Citations in the text:");
    for (const c of legal) lines.push(`${c.text || c.citation} (${(STATUS[c.status] || [c.status])[0]})`);
  }
  if (response.verification.unsupported_claims) {
    lines.push("", `Unsupported claims: ${response.verification.unsupported_claims}`);
  }
  return lines.join("\n");
}
