// The Juris web client: wires the question form, the streamed answer, citation cards, the
// document panel, search-only mode, the API key and the local history together.
import { Api, WARMING_TRIES, whileWarming } from "./api.js";
import { DocPanel } from "./docpanel.js";
import { append, byId, clear, el } from "./dom.js";
import { watchIndex } from "./indexbanner.js";
import {
  answerAsText,
  passageCard,
  placesNotHeld,
  renderAnswer,
  renderCards,
  renderLegal,
  renderVerification,
} from "./render.js";
import { clearHistory, loadHistory, loadKey, remember, saveKey } from "./storage.js";
import { displayOfRaw } from "./text.js";

const $ = byId;
const form = /** @type {HTMLFormElement} */ ($("ask-form"));
const question = /** @type {HTMLTextAreaElement} */ ($("question"));
const submit = $("submit");
const stop = $("stop");
const statusBox = $("status");
const alertBox = $("alert");
const answerSection = $("answer-section");
const answerBox = $("answer");
const resultsSection = $("results-section");
const keyInput = /** @type {HTMLInputElement} */ ($("api-key"));

const api = new Api(loadKey);
const panel = new DocPanel(api, showError);
// the form's modes, as the history names them
const MODE_LABELS = { ask: "answer", search: "search", documents: "documents" };
let controller = null;
let lastAnswer = null;
let lastFilters = {};

// ---- states --------------------------------------------------------------------------------

function setStatus(text, state = "") {
  statusBox.textContent = text;
  statusBox.dataset.state = state;
}

function clearAlert() {
  alertBox.hidden = true;
  alertBox.dataset.state = "";
  clear(alertBox);
}

/** Explain an error: 401 (no or wrong key), 429, network, validation, index down. */
function showError(err) {
  const code = err.code || "error";
  let title;
  let detail = err.message || "";
  let action = null;
  switch (code) {
    case "no_key":
      title = "An API key is needed.";
      detail = "This gateway requires an API key. Enter yours under “API key” at the top.";
      action = keyAction();
      break;
    case "unauthorized":
      title = "The API key was refused.";
      detail = `${sentence(err.message)} Check the key under “API key” at the top.`;
      action = keyAction();
      break;
    case "rate_limited":
      title = "Rate limited.";
      detail =
        err.retryAfter !== null
          ? `Too many requests with this key. Try again in ${err.retryAfter} s.`
          : "Too many requests with this key. Try again shortly.";
      break;
    case "network_error":
      title = "Network error.";
      detail = `${sentence(err.message)} Check your connection and that the gateway is running, then try again.`;
      break;
    case "index_unavailable":
      title = "The index is unavailable.";
      break;
    case "index_warming_up":
      title = "The index is still warming up.";
      detail = `${sentence(err.message)} Asked ${WARMING_TRIES} times; ask again shortly.`;
      break;
    case "question_too_long":
    case "invalid_request":
    case "payload_too_large":
      title = "The question could not be sent.";
      break;
    default:
      title = `Error (${code}).`;
  }
  clear(alertBox);
  append(alertBox, el("strong", { text: title }), " ", el("span", { text: sentence(detail) }), action);
  alertBox.dataset.state = code;
  alertBox.hidden = false;
  setStatus("");
}

/** While the index computes its tables: the status says so until the next try. */
function sayWarming(seconds) {
  setStatus(
    "The index is still preparing the tables a question reads (the gateway has just " +
      `started). Trying again in ${seconds} s…`,
    "warming",
  );
}

/** Server messages end without a full stop; sentences on the page do. */
function sentence(text) {
  const t = String(text || "").trim();
  return !t || /[.!?…]$/.test(t) ? t : `${t}.`;
}

function keyAction() {
  const button = el("button", { type: "button", class: "link", text: "Enter the API key" });
  button.addEventListener("click", () => {
    $("key-settings").open = true;
    keyInput.focus();
  });
  return el("span", {}, " ", button);
}

// ---- the API key ---------------------------------------------------------------------------

function showKeyState() {
  const key = loadKey();
  $("key-summary").textContent = key ? "API key ✓" : "API key (none)";
  $("key-state").textContent = key
    ? `A key ending in …${key.slice(-4)} is saved in this browser.`
    : "No key saved.";
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  saveKey(keyInput.value.trim());
  keyInput.value = "";
  showKeyState();
  clearAlert();
  /** @type {HTMLDetailsElement} */ ($("key-settings")).open = false;
  setStatus("API key saved.");
  question.focus();
  modelsLoaded = false;
});
$("key-forget").addEventListener("click", () => {
  saveKey("");
  keyInput.value = "";
  showKeyState();
  setStatus("API key forgotten.");
});

// ---- history -------------------------------------------------------------------------------

function showHistory() {
  const list = $("history");
  clear(list);
  const items = loadHistory();
  $("history-empty").hidden = items.length > 0;
  $("history-clear").hidden = items.length === 0;
  for (const item of items) {
    const filters = Object.entries(item.filters || {})
      .filter(([, v]) => v)
      .map(([k, v]) => `${k.replace("_", " ")} ${v}`)
      .join(", ");
    const button = el(
      "button",
      { type: "button", class: "history-item" },
      el("span", { class: "history-q", text: item.question }),
      el("span", {
        class: "hint",
        text: [MODE_LABELS[item.mode] || "answer", filters].filter(Boolean).join(" · "),
      }),
    );
    button.addEventListener("click", () => {
      question.value = item.question;
      setMode(item.mode in MODE_LABELS ? item.mode : "ask");
      /** @type {HTMLSelectElement} */ ($("jurisdiction")).value = item.filters.jurisdiction || "";
      /** @type {HTMLSelectElement} */ ($("kind")).value = item.filters.kind || "";
      /** @type {HTMLInputElement} */ ($("as-of")).value = item.filters.as_of || "";
      question.focus();
    });
    list.append(el("li", {}, button));
  }
}

$("history-clear").addEventListener("click", () => {
  clearHistory();
  showHistory();
  question.focus();
  setStatus("History cleared.");
});

// ---- the form ------------------------------------------------------------------------------

function mode() {
  const checked = form.querySelector('input[name="mode"]:checked');
  return checked ? /** @type {HTMLInputElement} */ (checked).value : "ask";
}

function setMode(value) {
  for (const input of form.querySelectorAll('input[name="mode"]')) {
    /** @type {HTMLInputElement} */ (input).checked = /** @type {HTMLInputElement} */ (input).value === value;
  }
  submit.textContent = value === "ask" ? "Ask" : "Search";
  $("model-choice").hidden = value !== "ask"; // only an answer is written by a model
}

form.addEventListener("change", (event) => {
  if (/** @type {HTMLInputElement} */ (event.target).name === "mode") setMode(mode());
});

question.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    form.requestSubmit();
  }
});

function filtersOf() {
  const value = (id) => /** @type {HTMLInputElement} */ ($(id)).value.trim();
  const filters = {};
  if (value("jurisdiction")) filters.jurisdiction = value("jurisdiction");
  if (value("kind")) filters.kind = value("kind");
  if (value("as-of")) filters.as_of = value("as-of");
  return filters;
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = question.value.trim();
  if (!text) {
    setStatus("Type a question first.", "empty");
    question.focus();
    return;
  }
  const filters = filtersOf();
  remember({ question: text, mode: mode(), filters, at: new Date().toISOString() });
  showHistory();
  if (mode() === "ask") runAsk(text, filters);
  else runSearch(text, filters, mode() === "documents");
});

stop.addEventListener("click", () => {
  if (controller) controller.abort();
});

function busy(on) {
  submit.disabled = on;
  stop.hidden = !on;
  form.setAttribute("aria-busy", on ? "true" : "false");
}

// ---- ask (streamed) ------------------------------------------------------------------------

function openPassage(p, quotes, opener) {
  panel.open(
    {
      docId: p.doc_id,
      anchor: p.anchor,
      // the version the question asked about; without one, the version the passage is from
      // (the current one when the passage is current)
      asOf: lastFilters.as_of || (p.valid_to ? p.valid_from || "" : ""),
      quotes,
      label: p.citation,
      version: p.version || null,
    },
    opener,
  );
}

function openLegal(c, opener) {
  panel.open(
    {
      docId: c.doc_id,
      anchor: c.anchor || null,
      asOf: lastFilters.as_of || "",
      quotes: [],
      label: c.citation,
      version: null,
    },
    opener,
  );
}

function goToCard(n) {
  const card = document.getElementById(`card-${n}`);
  if (!card) return;
  for (const c of document.querySelectorAll(".card.flash")) c.classList.remove("flash");
  card.classList.add("flash");
  card.scrollIntoView({ block: "nearest" });
  card.focus({ preventScroll: true });
}

function resetAnswer() {
  clearAlert();
  resultsSection.hidden = true;
  answerSection.hidden = false;
  clear(answerBox);
  for (const id of ["verification", "cards", "legal", "results"]) clear($(id));
  $("cards-heading").hidden = true;
  $("legal-heading").hidden = true;
  $("degraded").hidden = true;
  showIndexNote($("answer-index-note"), null);
  $("not-addressed").hidden = true;
  $("weak-match").hidden = true;
  $("cards-heading").textContent = "Sources cited";
  $("answer-meta").textContent = "";
  /** @type {HTMLButtonElement} */ ($("copy")).disabled = true;
  answerBox.dataset.state = "streaming";
  answerBox.dataset.tokens = "0";
  lastAnswer = null;
}

/** What set the model's answer aside, by the `degraded` reason. */
function degradedCause(reason) {
  if (reason === "repetition") return "the language model's answer fell into a loop and was stopped";
  if (reason === "model_declined")
    return (
      "the language model said that its passages do not answer this question, but retrieval " +
      "matched them to it closely, so they are quoted instead: check that they govern"
    );
  if (reason === "model_uncited")
    return "the language model's answer cited none of its sources, so it was set aside";
  return `the language model is unavailable (${reason})`;
}

function showDegraded(reason, message) {
  const box = $("degraded");
  clear(box);
  append(
    box,
    el("strong", { text: "Degraded mode: " }),
    degradedCause(reason) +
      "; this answer was composed from the sources by the extractive backend, quoting them verbatim.",
    message ? el("span", { class: "hint", text: ` ${message}` }) : null,
  );
  box.hidden = false;
}

async function runAsk(text, filters) {
  if (controller) controller.abort();
  controller = new AbortController();
  lastFilters = filters;
  resetAnswer();
  busy(true);
  answerBox.setAttribute("aria-busy", "true");
  let raw = "";
  let tokens = 0;
  let final = null;
  try {
    const signal = controller.signal;
    const model = /** @type {HTMLSelectElement} */ ($("model")).value;
    const onEvent = (name, data) => {
      if (name === "token") {
        if (tokens === 0) setStatus("Writing the answer…", "streaming");
        tokens += 1;
        raw += data.text;
        answerBox.textContent = displayOfRaw(raw);
        answerBox.dataset.tokens = String(tokens);
      } else if (name === "degraded") {
        raw = ""; // the generator failed: what came so far is discarded
        answerBox.textContent = "";
        showDegraded(data.reason, data.message);
      } else if (name === "citations") {
        final = data;
        showFinal(data);
      } else if (name === "error") {
        showError(data.error || { code: "error", message: "the answer failed" });
      }
    };
    const ask = () => {
      setStatus("Retrieving the governing sources…", "working");
      return api.askStream(text, filters, onEvent, signal, model);
    };
    await whileWarming(ask, signal, sayWarming);
    if (!final && alertBox.hidden) {
      showError({ code: "network_error", message: "The answer stopped before it was complete." });
    }
  } catch (err) {
    if (err && err.name === "AbortError") setStatus("Stopped.", "stopped");
    else showError(err);
    if (!final) answerSection.hidden = !answerBox.textContent;
  } finally {
    busy(false);
    answerBox.setAttribute("aria-busy", "false");
    answerBox.dataset.state = final ? "done" : "failed";
  }
}

/** "legal (LoRA adapter of smollm2-135m-instruct)" / "base (smollm2-135m-instruct)". */
function writer(response) {
  if (response.adapter) return `${response.model} (LoRA adapter of ${response.base_model || "the base model"})`;
  return response.base_model ? `${response.model} (${response.base_model})` : response.model;
}

// ---- the model choice ----------------------------------------------------------------------

/** Fill the model menu from `GET /v1/models` (kept to "Default" when it cannot be read); done
 * when the menu is first used, so that a page load spends none of the key's request budget. */
let modelsLoaded = false;
async function loadModels() {
  const select = /** @type {HTMLSelectElement} */ ($("model"));
  if (modelsLoaded || !loadKey()) return;
  modelsLoaded = true;
  let listing;
  try {
    listing = await api.models();
  } catch {
    modelsLoaded = false;
    return;
  }
  const chosen = select.value;
  clear(select);
  select.append(el("option", { value: "", text: `Default (${listing.default})` }));
  for (const m of listing.data) {
    const what =
      m.kind === "adapter"
        ? `LoRA adapter of ${m.base_model || m.parent}`
        : m.kind === "base"
          ? `base model${m.base_model ? ` ${m.base_model}` : ""}`
          : "no model: quotes the sources";
    select.append(el("option", { value: m.id, text: `${m.id} — ${what}` }));
  }
  if ([...select.options].some((o) => o.value === chosen)) select.value = chosen;
}

/** The result's note when sources its filters ask for are not indexed yet. */
function showIndexNote(box, note) {
  box.textContent = note ? note.message : "";
  box.hidden = !note;
}

/** Why the question was not answered, by who found so (`declined_by`), and the places it
 * names whose law the index holds none of (`not_held`). */
function notAddressedReason(response) {
  if (response.declined_by === "model") {
    return "the model found that the passages it was given do not answer this question";
  }
  return placesNotHeld(response) || "the indexed sources do not appear to address this question";
}

function showNotAddressed(response) {
  const box = $("not-addressed");
  clear(box);
  append(
    box,
    el("strong", { text: "Not answered: " }),
    `${notAddressedReason(response)}. The passages below are the ` +
      "nearest ones in the index, shown for reference; they are not an answer and may not " +
      "govern the question.",
  );
  box.hidden = false;
  $("cards-heading").textContent = "Nearest passages (not an answer)";
}

/** An answer written from passages retrieval matched only weakly (`weak_match`); when the
 * question names places whose law the index holds none of (`not_held`), the banner names
 * them. */
function showWeakMatch(response) {
  const box = $("weak-match");
  clear(box);
  const relevance =
    response.relevance == null ? "" : ` (relevance ${response.relevance.toFixed(2)})`;
  const places = placesNotHeld(response);
  append(
    box,
    el("strong", { text: "Weak match: " }),
    (places
      ? `${places[0].toUpperCase()}${places.slice(1)}; the passages are the indexed law ` +
        "nearest the question. "
      : `retrieval matched these passages to the question only weakly${relevance}. `) +
      "They may not govern it, even where every citation is verified: check them before " +
      "relying on this answer.",
  );
  box.hidden = false;
}

function showFinal(response) {
  lastAnswer = response;
  if (response.degraded) showDegraded(response.degraded_reason || "unavailable", "");
  showIndexNote($("answer-index-note"), response.index_note);
  const addressed = response.answered !== false;
  if (!addressed && response.passages.length) showNotAddressed(response);
  if (response.weak_match && response.passages.length) showWeakMatch(response);
  if (!response.passages.length) {
    clear(answerBox);
    answerBox.append(
      el("p", {
        class: "empty",
        text:
          "No passages in the index match this question with these filters, so there is no " +
          "answer. Try other words, or remove a filter.",
      }),
    );
    answerBox.dataset.empty = "true";
    setStatus("No results.", "no_results");
    return;
  }
  answerBox.dataset.empty = "false";
  renderAnswer(answerBox, response, goToCard);
  // a model's own "the sources do not answer" is its words: any claim it adds is checked
  if (addressed || response.declined_by === "model") {
    renderVerification($("verification"), response);
  }
  renderCards($("cards"), response, openPassage);
  renderLegal($("legal"), response, openLegal);
  $("cards-heading").hidden = !response.passages.length;
  $("legal-heading").hidden = !response.citations.some((c) => c.kind === "legal");
  $("answer-meta").textContent =
    `${response.mode === "llm" ? `Written by ${writer(response)}` : "Extractive answer (quoted from the sources)"}` +
    ` · index ${response.index_version}` +
    (lastFilters.as_of ? ` · law as of ${lastFilters.as_of}` : "");
  /** @type {HTMLButtonElement} */ ($("copy")).disabled = false;
  const v = response.verification;
  if (!addressed) {
    $("answer-meta").textContent =
      "Not answered" +
      (response.mode === "llm" ? ` · written by ${writer(response)}` : "") +
      ` · index ${response.index_version}`;
    setStatus(
      `Not answered: ${notAddressedReason(response)}; ` +
        `${response.passages.length} nearest passages shown.`,
      "not_addressed",
    );
    return;
  }
  setStatus(
    `Answer complete: ${response.passages.length} sources, ` +
      (v.all_verified ? "every citation verified" : `${v.unsupported_claims} unsupported claims`) +
      (response.weak_match ? "; a weak match: check that the sources govern." : "."),
    "done",
  );
}

// ---- copy ----------------------------------------------------------------------------------

async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // permission refused: fall back below
    }
  }
  const area = el("textarea", { class: "offscreen", readonly: true, "aria-hidden": "true" });
  area.value = text;
  document.body.append(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  area.remove();
  return ok;
}

$("copy").addEventListener("click", async () => {
  if (!lastAnswer) return;
  const ok = await copyText(answerAsText(lastAnswer));
  setStatus(ok ? "Answer and citations copied." : "Copying failed: select the text and copy it.", ok ? "copied" : "copy_failed");
});

// ---- search only ---------------------------------------------------------------------------

async function runSearch(text, filters, byDocument = false) {
  if (controller) controller.abort();
  controller = new AbortController();
  lastFilters = filters;
  clearAlert();
  answerSection.hidden = true;
  resultsSection.hidden = false;
  const list = $("results");
  clear(list);
  clear($("cards")); // card ids are per passage number: one list on the page at a time
  $("results-meta").textContent = "";
  busy(true);
  try {
    const signal = controller.signal;
    const search = () => {
      setStatus("Searching…", "working");
      return api.search(text, filters, signal, byDocument);
    };
    const data = await whileWarming(search, signal, sayWarming);
    if (!data.passages.length) {
      list.append(
        el("li", { class: "empty", text: "No passages match. Try other words, or remove a filter." }),
      );
      if (data.index_note) list.append(el("li", { class: "empty", text: data.index_note.message }));
      setStatus("No results.", "no_results");
      return;
    }
    for (const p of data.passages) {
      list.append(passageCard(p, { onOpen: openPassage, quotes: [] }));
    }
    const unit = byDocument ? "documents" : "passages";
    $("results-meta").textContent =
      `${data.passages.length} ${unit} · index ${data.index_version}` +
      (filters.as_of ? ` · law as of ${filters.as_of}` : "") +
      (data.index_note ? ` · ${data.index_note.message}` : "");
    setStatus(`${data.passages.length} ${unit} found.`, "done");
  } catch (err) {
    if (err && err.name === "AbortError") setStatus("Stopped.", "stopped");
    else {
      resultsSection.hidden = true;
      showError(err);
    }
  } finally {
    busy(false);
  }
}

// ---- start ---------------------------------------------------------------------------------

showKeyState();
showHistory();
setMode(mode());
document.documentElement.dataset.ready = "true";
for (const type of ["focus", "pointerdown"]) $("model").addEventListener(type, loadModels);
watchIndex(api, $("index-banner"));
