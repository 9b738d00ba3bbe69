// Server-Sent Events over fetch: EventSource can neither POST nor send an Authorization
// header, so the stream of `POST /v1/ask` is read with a ReadableStream and parsed here.

/**
 * Parse SSE text incrementally.
 *
 * Feed it decoded text as it arrives; it calls `onEvent(name, data)` for every complete
 * event (blank-line terminated). `data` lines are joined with "\n"; comments (":…") and
 * unknown fields are ignored; an event without `event:` is named "message".
 */
export class SseParser {
  /** @param {(name: string, data: string) => void} onEvent */
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.buffer = "";
    this.name = "";
    this.data = [];
  }

  /** @param {string} text the next piece of the stream */
  push(text) {
    this.buffer += text;
    let cut;
    while ((cut = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = this.buffer.slice(0, cut);
      const sep = this.buffer.startsWith("\r\n", cut) ? 2 : 1;
      // a lone "\r" at the very end may be the first half of "\r\n": wait for more
      if (sep === 1 && this.buffer[cut] === "\r" && cut === this.buffer.length - 1) break;
      this.buffer = this.buffer.slice(cut + sep);
      this.line(line);
    }
  }

  /** Flush at end of stream (an unterminated last event is dispatched). */
  end() {
    if (this.buffer) this.line(this.buffer);
    this.buffer = "";
    this.line("");
  }

  line(line) {
    if (line === "") {
      if (this.data.length) this.onEvent(this.name || "message", this.data.join("\n"));
      this.name = "";
      this.data = [];
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.name = value;
    else if (field === "data") this.data.push(value);
  }
}

/**
 * Read a fetch Response body as SSE, calling `onEvent(name, parsedJson)` per event.
 * @param {Response} response
 * @param {(name: string, data: any) => void} onEvent
 * @returns {Promise<void>} resolves at the end of the stream
 */
export async function readEvents(response, onEvent) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser((name, raw) => {
    let data;
    try {
      data = JSON.parse(raw);
    } catch {
      data = { error: { code: "bad_event", message: `unreadable ${name} event from the server` } };
      name = "error";
    }
    onEvent(name, data);
  });
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    parser.push(decoder.decode(value, { stream: true }));
  }
  parser.push(decoder.decode());
  parser.end();
}
