/**
 * Mailbox sessions, in memory only: a restart forgets them all (clients open new ones), and
 * nothing about them reaches the disk, so a copy of the data folder holds no trace of requests.
 */
import { randomBytes, serverSessionKey, sessionKeyPair } from '../../common/crypto/index.js';
import { KomradeError } from '../../common/errors/index.js';
import {
  ReplayWindow,
  SESSION_ID_BYTES,
  SESSION_TTL_MS,
  bytesEqual,
  toBase64url,
} from '../../common/wire/index.js';

/** One live session: whose it is, its MAC key, until when, and the sequence numbers it saw. */
export interface MailboxSession {
  readonly name: string;
  readonly key: Uint8Array;
  readonly expiresAt: number;
  readonly window: ReplayWindow;
  /** The client's handshake key: a replay of a live session's handshake is refused. */
  readonly clientKey: Uint8Array;
}

/** What the Operator answers a handshake with (before signing it). */
export interface OpenedSession {
  readonly session: Uint8Array;
  readonly serverKey: Uint8Array;
  readonly expiresAt: number;
}

/** Options for {@link SessionTable}. */
export interface SessionTableOptions {
  /** Live sessions one name may hold; opening one more evicts its oldest. @defaultValue 8 */
  readonly perName?: number;
  /** Live sessions in all; opening one more evicts the oldest of anyone's. @defaultValue 100000 */
  readonly total?: number;
  /** @defaultValue SESSION_TTL_MS */
  readonly ttlMs?: number;
}

/**
 * The live sessions by id. Every session lives equally long, so the Map's insertion order is also
 * expiry order: expired sessions are dropped from its front on each handshake, and on lookup.
 * Bounded per name (a client with many devices, or a replayed handshake, cannot grow it without
 * end) and in total.
 */
export class SessionTable {
  readonly #sessions = new Map<string, MailboxSession>();
  /** Session ids per name, oldest first. */
  readonly #byName = new Map<string, string[]>();
  readonly #perName: number;
  readonly #total: number;
  readonly #ttlMs: number;

  constructor(options: SessionTableOptions = {}) {
    this.#perName = Math.max(1, options.perName ?? 8);
    this.#total = Math.max(1, options.total ?? 100_000);
    this.#ttlMs = options.ttlMs ?? SESSION_TTL_MS;
  }

  /** Live sessions now held (expired ones may still count until the next sweep). */
  get size(): number {
    return this.#sessions.size;
  }

  /**
   * Opens a session for `name`, whose handshake carried `clientKey`: an ephemeral key pair of the
   * Operator's own, the key both sides derive, kept under a fresh random id.
   * @throws KomradeError `KEY_INVALID` (a low-order client key), `REPLAY` (the handshake of a
   * session still live)
   */
  open(name: string, clientKey: Uint8Array, now: number): OpenedSession {
    this.sweep(now);
    const ids = this.#byName.get(name) ?? [];
    for (const id of ids) {
      const live = this.#sessions.get(id);
      if (live !== undefined && bytesEqual(live.clientKey, clientKey)) {
        throw new KomradeError('REPLAY', 'This session handshake was already received once.');
      }
    }
    const server = sessionKeyPair();
    let key: Uint8Array;
    try {
      key = serverSessionKey(server, clientKey);
    } catch {
      throw new KomradeError('KEY_INVALID', 'clientKey: not a usable X25519 public key.');
    } finally {
      server.secretKey.fill(0);
    }
    while (ids.length >= this.#perName) this.#drop(ids[0] as string);
    while (this.#sessions.size >= this.#total) {
      const oldest = this.#sessions.keys().next();
      if (oldest.done === true) break;
      this.#drop(oldest.value);
    }
    const session = randomBytes(SESSION_ID_BYTES);
    const id = toBase64url(session);
    const expiresAt = now + this.#ttlMs;
    this.#sessions.set(id, {
      name,
      key,
      expiresAt,
      window: new ReplayWindow(),
      clientKey: Uint8Array.from(clientKey),
    });
    const list = this.#byName.get(name);
    if (list === undefined) this.#byName.set(name, [id]);
    else list.push(id);
    return { session, serverKey: server.publicKey, expiresAt };
  }

  /** The live session with this id, or `undefined` (unknown, evicted or expired). */
  find(session: Uint8Array, now: number): MailboxSession | undefined {
    const id = toBase64url(session);
    const found = this.#sessions.get(id);
    if (found === undefined) return undefined;
    if (found.expiresAt <= now) {
      this.#drop(id);
      return undefined;
    }
    return found;
  }

  /** Drops expired sessions from the front (the oldest); returns how many. */
  sweep(now: number): number {
    let dropped = 0;
    for (const [id, session] of this.#sessions) {
      if (session.expiresAt > now) break;
      this.#drop(id);
      dropped++;
    }
    return dropped;
  }

  /** Forgets every session (and wipes their keys). */
  clear(): void {
    for (const id of [...this.#sessions.keys()]) this.#drop(id);
  }

  #drop(id: string): void {
    const session = this.#sessions.get(id);
    if (session === undefined) return;
    this.#sessions.delete(id);
    session.key.fill(0);
    const ids = this.#byName.get(session.name);
    if (ids === undefined) return;
    const at = ids.indexOf(id);
    if (at !== -1) ids.splice(at, 1);
    if (ids.length === 0) this.#byName.delete(session.name);
  }
}
