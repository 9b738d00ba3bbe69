// The document panel: a cited document at its section, the passage highlighted, section
// anchors to move around, and the version in force on an "as of" date.
import { append, byId, clear, el } from "./dom.js";
import { highlighted } from "./text.js";

function range(v) {
  const from = v.valid_from ? `from ${v.valid_from}` : "";
  const to = v.valid_to ? ` until ${v.valid_to}` : " (current)";
  return `${from}${to}`.trim();
}

const sectionId = (anchor) => `doc-sec-${anchor}`;

/** A day on which version `v` is in force (ISO date): its first day, else the day before its end. */
function dayInForce(v) {
  if (v.valid_from) return v.valid_from;
  if (!v.valid_to) return "";
  const d = new Date(`${v.valid_to}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - 1);
  return d.toISOString().slice(0, 10);
}

export class DocPanel {
  /**
   * @param {import("./api.js").Api} api
   * @param {(err: any) => void} onError shows an error state
   */
  constructor(api, onError) {
    this.api = api;
    this.onError = onError;
    this.dialog = /** @type {HTMLDialogElement} */ (byId("doc-panel"));
    this.title = byId("doc-title");
    this.meta = byId("doc-meta");
    this.note = byId("doc-note");
    this.nav = byId("doc-nav");
    this.body = byId("doc-body");
    this.asOf = /** @type {HTMLInputElement} */ (byId("doc-as-of"));
    this.versions = /** @type {HTMLSelectElement} */ (byId("doc-version"));
    this.target = null;
    this.opener = null;
    this.controller = null;
    byId("doc-close").addEventListener("click", () => this.dialog.close());
    // Escape closes a modal <dialog> natively ("cancel"); focus goes back to the opener
    this.dialog.addEventListener("close", () => {
      if (this.controller) this.controller.abort();
      if (this.opener && this.opener.isConnected) this.opener.focus();
    });
    byId("doc-asof-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.load(this.asOf.value || "");
    });
    this.versions.addEventListener("change", () => {
      const from = this.versions.value;
      if (from === "") return;
      this.asOf.value = from;
      this.load(from);
    });
  }

  /**
   * Open a document at a section.
   * @param {{docId: string, anchor: string|null, asOf: string, quotes: string[],
   *          label: string, version: string|null}} target what to show
   * @param {HTMLElement} opener focus returns here on close
   */
  open(target, opener) {
    this.target = target;
    this.opener = opener;
    this.asOf.value = target.asOf || "";
    clear(this.body);
    clear(this.nav);
    this.title.textContent = target.label;
    this.meta.textContent = "Loading…";
    this.note.textContent = "";
    if (!this.dialog.open) this.dialog.showModal();
    this.title.focus();
    return this.load(target.asOf || "");
  }

  async load(asOf) {
    if (this.controller) this.controller.abort();
    this.controller = new AbortController();
    this.dialog.setAttribute("aria-busy", "true");
    try {
      const doc = await this.api.document(this.target.docId, asOf, this.controller.signal);
      this.render(doc, asOf);
    } catch (err) {
      if (err && err.name === "AbortError") return;
      this.meta.textContent = "";
      this.note.textContent = `Could not load ${this.target.label}: ${err.message}`;
      this.dialog.dataset.state = err.code || "error";
      if (err.code === "unauthorized" || err.code === "no_key" || err.code === "rate_limited") {
        this.onError(err);
      }
    } finally {
      this.dialog.setAttribute("aria-busy", "false");
    }
  }

  render(doc, asOf) {
    const t = this.target;
    this.dialog.dataset.state = "loaded";
    this.dialog.dataset.version = doc.version.label;
    this.title.textContent = doc.title ? `${doc.citation} — ${doc.title}` : doc.citation;
    this.meta.textContent =
      `Version ${doc.version.label}, in force ${range(doc.version)}` +
      (asOf ? ` · shown as of ${asOf}` : " · current version") +
      ` · ${doc.source}`;
    clear(this.versions);
    this.versions.append(
      el("option", { value: "", text: `Other versions (${doc.versions.length} in all)` }),
    );
    for (const v of doc.versions) {
      this.versions.append(
        el("option", {
          value: dayInForce(v),
          text: `${v.label}: ${range(v)}`,
          selected: v.label === doc.version.label,
        }),
      );
    }
    clear(this.nav);
    clear(this.body);
    const links = el("ol", { class: "doc-nav-list" });
    let cited = null;
    let found = 0;
    let missing = 0;
    for (const s of doc.sections) {
      const isCited = t.anchor !== null && s.anchor === t.anchor;
      const label = s.pinpoint ? s.citation : s.heading_path[s.heading_path.length - 1] || s.citation;
      const link = el("a", {
        href: `#${sectionId(s.anchor)}`,
        text: label,
        "aria-current": isCited ? "location" : false,
      });
      link.addEventListener("click", (event) => {
        event.preventDefault();
        this.goTo(s.anchor);
      });
      links.append(el("li", {}, link));
      const text = highlighted(s.text, isCited ? t.quotes : []);
      if (isCited) ({ found, missing } = text);
      const section = el(
        "section",
        {
          id: sectionId(s.anchor),
          class: isCited ? "doc-section cited" : "doc-section",
          tabindex: "-1",
          "aria-label": isCited ? `${s.citation} (cited passage)` : s.citation,
        },
        el("h3", { text: s.citation }),
        isCited ? el("p", { class: "cited-label", text: "Cited passage" }) : null,
        el("p", { class: "doc-text" }, ...text.nodes),
      );
      if (isCited) cited = section;
      this.body.append(section);
    }
    append(this.nav, links);
    const notes = [];
    if (t.anchor !== null && !cited) {
      notes.push(`The cited section is not in version ${doc.version.label}.`);
    } else if (cited && t.quotes.length && !found) {
      notes.push(`The quoted words do not appear in version ${doc.version.label}.`);
    } else if (cited && missing) {
      notes.push(`Some of the quoted words do not appear in version ${doc.version.label}.`);
    }
    if (t.version && t.version !== doc.version.label) {
      notes.push(`The answer cited version ${t.version}; this is version ${doc.version.label}.`);
    }
    this.note.textContent = notes.join(" ");
    if (cited) cited.scrollIntoView({ block: "start" });
  }

  goTo(anchor) {
    const section = document.getElementById(sectionId(anchor));
    if (!section) return;
    section.scrollIntoView({ block: "start" });
    section.focus({ preventScroll: true });
  }
}
