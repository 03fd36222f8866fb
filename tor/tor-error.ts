/** The error Tor failures raise, and the classification callers use to decide whether to retry. */
import { KomradeError } from '../common/errors/index.js';

/** Non-secret context of a {@link TorError}. */
export interface TorErrorOptions {
  /** True when retrying later may succeed (circuit not ready, descriptor not yet published). */
  readonly transient: boolean;
  /** The SOCKS5 reply code Tor answered with, when the failure came from the SOCKS port. */
  readonly socksReply?: number;
  /** The control-protocol status (e.g. 552), when the failure came from the control port. */
  readonly controlStatus?: number;
  readonly cause?: unknown;
}

/**
 * A Tor failure, always with code `TOR_UNAVAILABLE`. Carries only non-secret context: never a
 * cookie, key or isolation username.
 */
export class TorError extends KomradeError {
  readonly transient: boolean;
  readonly socksReply: number | undefined;
  readonly controlStatus: number | undefined;

  constructor(message: string, options: TorErrorOptions) {
    super('TOR_UNAVAILABLE', message, { cause: options.cause });
    this.transient = options.transient;
    this.socksReply = options.socksReply;
    this.controlStatus = options.controlStatus;
  }
}

/** SOCKS5 replies (RFC 1928, plus Tor's `ExtendedErrors` 0xF0–0xF7) worth retrying. */
const TRANSIENT_SOCKS_REPLIES: ReadonlySet<number> = new Set([
  0x01, // general failure: Tor uses it for circuits that died
  0x03, // network unreachable
  0x04, // host unreachable: without ExtendedErrors, also "descriptor not found"
  0x05, // connection refused: the service's backend is restarting
  0x06, // TTL expired: Tor's timeout while building the rendezvous
  0xf0, // onion service descriptor not found (not yet published)
  0xf1, // descriptor invalid (a stale or half-uploaded one)
  0xf2, // introduction failed
  0xf3, // rendezvous failed
  0xf7, // introduction timed out
]);

/** Permanent: 0x02 not allowed, 0x07/0x08 unsupported, 0xF4/0xF5 client auth, 0xF6 bad address. */
export function isTransientSocksReply(reply: number): boolean {
  return TRANSIENT_SOCKS_REPLIES.has(reply);
}

/** Error codes (Node and undici) of connection failures that a retry can fix. */
const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/**
 * True when `error` (or one of its causes) is a Tor failure that may go away: a circuit or
 * rendezvous that failed, a descriptor not published yet, a timeout, a connection reset. Works on
 * errors that crossed a process boundary too, since it reads `transient` and `code` properties
 * rather than classes.
 */
export function isTransientTorError(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    if (typeof e !== 'object') return false;
    const record = e as { transient?: unknown; code?: unknown; cause?: unknown };
    if (typeof record.transient === 'boolean') return record.transient;
    if (typeof record.code === 'string' && TRANSIENT_CODES.has(record.code)) return true;
    e = record.cause;
  }
  return false;
}
