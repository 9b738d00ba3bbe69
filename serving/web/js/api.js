// The gateway's HTTP API as the page uses it: the key header, JSON errors, SSE answers.
import { readEvents } from "./sse.js";

/** An error the page can explain: `code` is the gateway's stable code, or a client one. */
export class ApiError extends Error {
  /**
   * @param {string} code e.g. "unauthorized", "rate_limited", "network_error"
   * @param {string} message human text (from the server, shown as text)
   * @param {number} status HTTP status (0 when no response came)
   * @param {number|null} retryAfter seconds, from `Retry-After`
   */
  constructor(code, message, status = 0, retryAfter = null) {
    super(message);
    this.code = code;
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

export class Api {
  /** @param {() => string} getKey returns the stored API key ("" when none) */
  constructor(getKey) {
    this.getKey = getKey;
  }

  headers(json) {
    const headers = { Accept: json ? "application/json" : "text/event-stream" };
    const key = this.getKey();
    if (key) headers.Authorization = `Bearer ${key}`;
    return headers;
  }

  async request(method, path, body, { json = true, signal } = {}) {
    const headers = this.headers(json);
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
        credentials: "same-origin",
        cache: "no-store",
      });
    } catch (err) {
      if (err && err.name === "AbortError") throw err;
      throw new ApiError("network_error", "The Juris gateway could not be reached.", 0);
    }
    if (!response.ok) throw await errorOf(response, !!this.getKey());
    return response;
  }

  /**
   * `POST /v1/search` → `{passages, index_version}`; `byDocument`: one passage per document,
   * the documents ranked as a whole (`group_by_doc`).
   */
  async search(query, filters, signal, byDocument = false) {
    const body = { query, ...filters, ...(byDocument ? { group_by_doc: true } : {}) };
    const response = await this.request("POST", "/v1/search", body, { signal });
    return response.json();
  }

  /**
   * `POST /v1/ask` with `stream: true`; calls `onEvent(name, data)` per SSE event.
   * @returns {Promise<void>}
   */
  async askStream(question, filters, onEvent, signal, model = "") {
    const response = await this.request(
      "POST",
      "/v1/ask",
      { question, ...filters, ...(model ? { model } : {}), stream: true },
      { json: false, signal },
    );
    try {
      await readEvents(response, onEvent);
    } catch (err) {
      if (err && err.name === "AbortError") throw err;
      throw new ApiError("network_error", "The connection broke while the answer was streaming.");
    }
  }

  /** `GET /v1/models` → `{data: [{id, kind, parent, base_model}], default, generator_ok}`. */
  async models(signal) {
    const response = await this.request("GET", "/v1/models", undefined, { signal });
    return response.json();
  }

  /**
   * `GET /readyz` → `{status, index, generator}` (no key needed, not rate limited); while a
   * build fills, `index.filling` with `sources_done`, `sources_pending`, `passages`, `eta_s`.
   */
  async readiness(signal) {
    const response = await this.request("GET", "/readyz", undefined, { signal });
    return response.json();
  }

  /** `GET /v1/index/status` → what is indexed and what is still being indexed. */
  async indexStatus(signal) {
    const response = await this.request("GET", "/v1/index/status", undefined, { signal });
    return response.json();
  }

  /** `GET /v1/documents/{id}?as_of=` → the document version with its sections. */
  async document(docId, asOf, signal) {
    const query = asOf ? `?as_of=${encodeURIComponent(asOf)}` : "";
    const path = `/v1/documents/${docId.split("/").map(encodeURIComponent).join("/")}${query}`;
    const response = await this.request("GET", path, undefined, { signal });
    return response.json();
  }
}

/** How many times a call is made while the index warms up (about a minute at 5 s each). */
export const WARMING_TRIES = 12;

/**
 * `call()`, made again while the gateway answers `503 index_warming_up` (the index is still
 * computing the tables a question reads, just after the gateway started), waiting its
 * `Retry-After` (1–30 s) between tries; `onWait(seconds, attempt)` says so meanwhile. Stops
 * with an `AbortError` when `signal` aborts; the last error is thrown after `tries` calls.
 * @template T
 * @param {() => Promise<T>} call
 * @param {AbortSignal} signal
 * @param {(seconds: number, attempt: number) => void} onWait
 * @param {number} tries
 * @returns {Promise<T>}
 */
export async function whileWarming(call, signal, onWait, tries = WARMING_TRIES) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await call();
    } catch (err) {
      const warming = err instanceof ApiError && err.code === "index_warming_up";
      if (!warming || attempt >= tries) throw err;
      const seconds = Math.min(Math.max(err.retryAfter ?? 5, 1), 30);
      onWait(seconds, attempt);
      await pause(seconds * 1000, signal);
    }
  }
}

function pause(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new DOMException("Stopped.", "AbortError"));
      return;
    }
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(new DOMException("Stopped.", "AbortError"));
      },
      { once: true },
    );
  });
}

/** The ApiError of a non-2xx response (the gateway's JSON error body when it has one). */
async function errorOf(response, sentKey) {
  let code = `http_${response.status}`;
  let message = `The gateway answered ${response.status} ${response.statusText}.`;
  try {
    const body = await response.json();
    if (body && body.error && typeof body.error.code === "string") {
      code = body.error.code;
      message = String(body.error.message || message);
    }
  } catch {
    // not JSON (a proxy's page): keep the status text
  }
  if (response.status === 401 && !sentKey) code = "no_key";
  const retry = Number.parseInt(response.headers.get("Retry-After") || "", 10);
  return new ApiError(code, message, response.status, Number.isFinite(retry) ? retry : null);
}
