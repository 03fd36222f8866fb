/**
 * A structured logger (one JSON object a line) that carries no content: fields whose names suggest
 * a secret, a name or a payload are redacted, whatever the caller passes.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Readonly<Record<string, string | number | boolean | null | undefined>>;

/** The logging port. */
export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Field names never written: content, keys, secrets, names, addresses. */
const REDACTED =
  /(name|body|text|key|secret|token|pass|sealed|cipher|plain|sig|nonce|auth|ip|addr|from|to|content|message)/i;

/**
 * Fields written as-is although their name matches {@link REDACTED}, but only when the value has
 * this exact shape: `signal` (it contains "sig") holds a process signal such as `SIGTERM`.
 */
const SAFE_SHAPES: Readonly<Record<string, RegExp>> = { signal: /^SIG[A-Z0-9]{2,10}$/ };

function redacts(field: string, value: string): boolean {
  if (!REDACTED.test(field)) return false;
  return !(SAFE_SHAPES[field]?.test(value) ?? false);
}

/** Options for {@link createJsonLogger}. */
export interface JsonLoggerOptions {
  /** @defaultValue `'info'` */
  readonly level?: LogLevel;
  /** Where lines go. @defaultValue writes to stderr */
  readonly write?: (line: string) => void;
  /** Clock for timestamps. @defaultValue `Date.now` */
  readonly now?: () => number;
}

/** A logger writing one JSON object a line. */
export function createJsonLogger(options: JsonLoggerOptions = {}): Logger {
  const threshold = ORDER[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const now = options.now ?? Date.now;
  const emit = (level: LogLevel, event: string, fields?: LogFields): void => {
    if (ORDER[level] < threshold) return;
    const record: Record<string, unknown> = { t: new Date(now()).toISOString(), level, event };
    if (fields !== undefined) {
      for (const [k, v] of Object.entries(fields)) {
        if (v === undefined) continue;
        record[k] = typeof v === 'string' && redacts(k, v) ? '[redacted]' : v;
      }
    }
    write(JSON.stringify(record));
  };
  return {
    debug: (e, f) => {
      emit('debug', e, f);
    },
    info: (e, f) => {
      emit('info', e, f);
    },
    warn: (e, f) => {
      emit('warn', e, f);
    },
    error: (e, f) => {
      emit('error', e, f);
    },
  };
}

/** A logger that drops everything (tests, benchmarks). */
export const silentLogger: Logger = Object.freeze({
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
});
