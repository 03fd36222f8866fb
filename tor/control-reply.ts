/** Parsing of Tor control-protocol replies: the line framing, data blocks and keyword arguments. */

/** One line of a reply: `250-text`, `250 text`, or `250+text` followed by a data block. */
export interface ControlReplyLine {
  readonly status: number;
  readonly text: string;
  /** The dot-unescaped data block that followed a `+` line, lines joined with `\n`. */
  readonly data?: string;
}

/** A complete reply (or asynchronous event): every line up to the final `XYZ ` line. */
export interface ControlReply {
  /** The status of the final line: 250 for success, 5xx for errors, 650 for events. */
  readonly status: number;
  readonly lines: readonly ControlReplyLine[];
}

/** True for a `6xx` reply: an asynchronous event rather than the answer to a command. */
export function isAsyncEvent(reply: ControlReply): boolean {
  return reply.status >= 600 && reply.status < 700;
}

/**
 * Incremental parser: feed it raw bytes as they arrive and it emits whole replies. Tor frames
 * lines with CRLF, but a bare LF is accepted too, as Tor itself does.
 */
export class ControlReplyParser {
  #buffer = '';
  #lines: ControlReplyLine[] = [];
  #data: { status: number; text: string; body: string[] } | undefined;
  readonly #onReply: (reply: ControlReply) => void;

  constructor(onReply: (reply: ControlReply) => void) {
    this.#onReply = onReply;
  }

  /** Feeds a chunk; throws on a line that is not valid control-protocol framing. */
  push(chunk: string): void {
    this.#buffer += chunk;
    for (;;) {
      const end = this.#buffer.indexOf('\n');
      if (end < 0) return;
      let line = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 1);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      this.#line(line);
    }
  }

  #line(line: string): void {
    if (this.#data !== undefined) {
      if (line === '.') {
        const { status, text, body } = this.#data;
        this.#lines.push({ status, text, data: body.join('\n') });
        this.#data = undefined;
      } else {
        // Data lines starting with a dot are escaped by doubling it.
        this.#data.body.push(line.startsWith('.') ? line.slice(1) : line);
      }
      return;
    }
    const match = /^(\d{3})([ +-])(.*)$/s.exec(line);
    if (match === null) throw new Error('malformed control reply line');
    const status = Number(match[1]);
    const separator = match[2];
    const text = match[3] ?? '';
    if (separator === '+') {
      this.#data = { status, text, body: [] };
    } else if (separator === '-') {
      this.#lines.push({ status, text });
    } else {
      this.#lines.push({ status, text });
      const lines = this.#lines;
      this.#lines = [];
      this.#onReply({ status, lines });
    }
  }
}

/**
 * Parses a control-protocol argument string into positional words and `KEY=VALUE` pairs, where a
 * value may be a quoted string with C-style escapes. Later duplicates of a key win.
 */
export function parseKeywords(text: string): {
  readonly positional: readonly string[];
  readonly keywords: ReadonlyMap<string, string>;
} {
  const positional: string[] = [];
  const keywords = new Map<string, string>();
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && text[i] === ' ') i++;
    if (i >= n) break;
    const start = i;
    while (i < n && text[i] !== ' ' && text[i] !== '=' && text[i] !== '"') i++;
    const word = text.slice(start, i);
    if (text[i] === '=' && word.length > 0) {
      i++;
      if (text[i] === '"') {
        const { value, next } = readQuoted(text, i);
        keywords.set(word, value);
        i = next;
      } else {
        const valueStart = i;
        while (i < n && text[i] !== ' ') i++;
        keywords.set(word, text.slice(valueStart, i));
      }
    } else if (text[i] === '"' && word.length === 0) {
      const { value, next } = readQuoted(text, i);
      positional.push(value);
      i = next;
    } else {
      // A word that is not a keyword; tolerate stray characters by reading to the next space.
      while (i < n && text[i] !== ' ') i++;
      positional.push(text.slice(start, i));
    }
  }
  return { positional, keywords };
}

/** Reads a quoted string starting at `text[start] === '"'`. */
function readQuoted(text: string, start: number): { value: string; next: number } {
  let i = start + 1;
  let value = '';
  while (i < text.length && text[i] !== '"') {
    const c = text[i] ?? '';
    if (c === '\\' && i + 1 < text.length) {
      const e = text[i + 1] ?? '';
      value += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e;
      i += 2;
    } else {
      value += c;
      i++;
    }
  }
  return { value, next: i + 1 };
}

/** Quotes a string for a control-protocol argument (paths, SOCKS usernames). */
export function quoteControlString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * Parses the `key=value` lines of a GETINFO reply. A value that came in a data block (`250+key=`)
 * is the block's text.
 */
export function parseGetInfo(reply: ControlReply): ReadonlyMap<string, string> {
  const values = new Map<string, string>();
  for (const line of reply.lines) {
    const eq = line.text.indexOf('=');
    if (eq < 0) continue;
    const key = line.text.slice(0, eq);
    values.set(key, line.data ?? line.text.slice(eq + 1));
  }
  return values;
}
