/**
 * The CLI's one way to the terminal: results on stdout (human text, or one JSON document with
 * `--json`), and progress, prompts and errors on stderr, so `--json` stdout stays parseable.
 */

/** A stream the output writes to (process.stdout / process.stderr, or a buffer in tests). */
export interface TextSink {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

/** Where {@link Output} writes. */
export interface OutputStreams {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
}

/** An error as the CLI reports it: a stable code, a safe message, and what to do about it. */
export interface ReportedError {
  readonly code: string;
  readonly message: string;
  readonly hint?: string;
}

// Letters and posts come from other people: never let them move the cursor or recolor the screen.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** Replaces terminal control characters (except newline and tab) in text from other people. */
export function safeForTerminal(text: string): string {
  return text.replace(CONTROL, '\uFFFD');
}

/** Writes everything the CLI shows. */
export class Output {
  readonly #out: TextSink;
  readonly #err: TextSink;
  #json = false;
  #progressLineOpen = false;

  constructor(streams: OutputStreams) {
    this.#out = streams.stdout;
    this.#err = streams.stderr;
  }

  /** Switches to one JSON document on stdout (and JSON errors on stderr). */
  set json(value: boolean) {
    this.#json = value;
  }

  get json(): boolean {
    return this.#json;
  }

  /** Whether progress can be redrawn in place. */
  get interactive(): boolean {
    return this.#err.isTTY === true;
  }

  /**
   * Writes a command's result: `value` as JSON with `--json`, otherwise the human text.
   * @param value - the JSON document (no secrets: only public keys and the user's own data)
   * @param human - builds the text for people
   */
  result(value: unknown, human: () => string): void {
    this.#endProgressLine();
    if (this.#json) this.#out.write(`${JSON.stringify(value, null, 2)}\n`);
    else {
      const text = human();
      if (text !== '') this.#out.write(text.endsWith('\n') ? text : `${text}\n`);
    }
  }

  /** A progress message on stderr, one line each. */
  progress(message: string): void {
    this.#endProgressLine();
    this.#err.write(`${message}\n`);
  }

  /** A progress message redrawn in place on a terminal; skipped elsewhere (use {@link progress}). */
  progressUpdate(message: string): void {
    if (!this.interactive) return;
    this.#err.write(`\r\u001b[2K${message}`);
    this.#progressLineOpen = true;
  }

  /** Text for a prompt (no newline), on stderr. */
  prompt(text: string): void {
    this.#err.write(text);
  }

  /** An error on stderr: `Error [CODE]: message` plus the hint, or `{"error": {…}}` with `--json`. */
  error(error: ReportedError): void {
    this.#endProgressLine();
    if (this.#json) {
      const body = {
        code: error.code,
        message: error.message,
        ...(error.hint === undefined ? {} : { hint: error.hint }),
      };
      this.#err.write(`${JSON.stringify({ error: body })}\n`);
      return;
    }
    this.#err.write(`Error [${error.code}]: ${error.message}\n`);
    if (error.hint !== undefined) this.#err.write(`  ${error.hint}\n`);
  }

  /** Commander's own help and version text, on stdout. */
  writeHelp(text: string): void {
    this.#out.write(text);
  }

  /** Commander's help when it is shown because a command is incomplete, on stderr. */
  writeHelpToStderr(text: string): void {
    this.#err.write(text);
  }

  #endProgressLine(): void {
    if (!this.#progressLineOpen) return;
    this.#err.write('\n');
    this.#progressLineOpen = false;
  }
}
