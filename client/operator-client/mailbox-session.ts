/**
 * The client's mailbox sessions: one signed handshake per signer, then each mailbox request
 * carries a MAC and a sequence number instead of a signature, so the Operator keeps no durable
 * row per request. Session keys live in this object's memory only and are never logged nor sent.
 */
import {
  clientSessionKey,
  sessionKeyPair,
  sessionMac,
  verifyDetached,
} from '../../common/crypto/index.js';
import { KomradeError } from '../../common/errors/index.js';
import {
  CLOCK_SKEW_MS,
  MAX_SESSION_SEQ,
  formatSessionAuth,
  sessionGrantBytes,
  sessionRequestBytes,
  type SessionOpenResponse,
} from '../../common/wire/index.js';
import type { RequestSigner } from './operator-client.js';

/** What a session request's MAC covers besides the session and its sequence number. */
export interface SessionRequest {
  readonly method: string;
  /** The path exactly as the Operator receives it. */
  readonly path: string;
  readonly body: Uint8Array;
}

/** Options for {@link MailboxSessions}. */
export interface MailboxSessionsOptions {
  /** Sends the signed handshake (`POST /v2/session`) for `signer` with the client's key. */
  readonly handshake: (
    signer: RequestSigner,
    clientKey: Uint8Array,
  ) => Promise<SessionOpenResponse>;
  /** The Operator's sign key its grants must verify under (the pinned one when known). */
  readonly operatorKey: () => Promise<Uint8Array>;
  /** Told when a grant does not verify (e.g. to read the Operator's key again next time). */
  readonly onBadGrant?: () => void;
  /** The clock expiries are compared with (ms since the epoch). */
  readonly now: () => number;
  /**
   * A session is renewed this long before the expiry the Operator granted: more than the clock
   * difference the Operator tolerates, so a client whose clock lags still renews in time.
   * @defaultValue twice CLOCK_SKEW_MS
   */
  readonly renewBeforeMs?: number;
}

interface ClientSession {
  readonly id: Uint8Array;
  readonly key: Uint8Array;
  readonly expiresAt: number;
  /** The next sequence number to use. */
  seq: number;
}

/** One signer's session: being opened, then open. */
interface Slot {
  readonly opening: Promise<ClientSession>;
  session?: ClientSession;
}

/**
 * Sessions by signer name, opened lazily on a signer's first mailbox request and shared by its
 * concurrent requests (one handshake for all of them).
 */
export class MailboxSessions {
  readonly #options: MailboxSessionsOptions;
  readonly #renewBeforeMs: number;
  readonly #slots = new Map<string, Slot>();

  constructor(options: MailboxSessionsOptions) {
    this.#options = options;
    this.#renewBeforeMs = options.renewBeforeMs ?? 2 * CLOCK_SKEW_MS;
  }

  /**
   * Runs `send` with the `Authorization` header of `request` in `signer`'s session. When the
   * Operator no longer knows the session (it restarted, or evicted or expired it) the request is
   * sent once more in a new session; when its sequence number came too late for the Operator's
   * window, once more with a fresh number. Either refusal changed nothing at the Operator.
   * @throws the handshake's failures (`OPERATOR_ERROR` for a grant that does not verify under the
   * Operator's key, `KEY_INVALID` for an unusable server key), and whatever `send` throws
   */
  async run<T>(
    signer: RequestSigner,
    request: SessionRequest,
    send: (authorization: string) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const session = await this.#session(signer);
      const seq = session.seq++;
      const mac = sessionMac(
        session.key,
        sessionRequestBytes({ ...request, session: session.id, seq }),
      );
      try {
        return await send(formatSessionAuth({ session: session.id, seq, mac }));
      } catch (error) {
        if (attempt > 0 || !(error instanceof KomradeError)) throw error;
        if (error.code === 'SESSION_UNKNOWN') this.#forget(signer.name, session);
        else if (error.code !== 'REPLAY') throw error;
      }
    }
  }

  /**
   * Forgets every session, e.g. when the Operator's key is read again. Keys are dropped, not
   * wiped: a request that took its session a moment ago may still be computing its MAC.
   */
  clear(): void {
    this.#slots.clear();
  }

  /** The signer's open session, opened (or renewed) first when needed. */
  async #session(signer: RequestSigner): Promise<ClientSession> {
    const slot = this.#slots.get(signer.name);
    const session = slot?.session;
    if (
      session !== undefined &&
      (this.#options.now() >= session.expiresAt - this.#renewBeforeMs ||
        session.seq >= MAX_SESSION_SEQ)
    ) {
      this.#forget(signer.name, session);
    } else if (slot !== undefined) {
      return slot.opening;
    }
    const opening = this.#open(signer);
    const fresh: Slot = { opening };
    this.#slots.set(signer.name, fresh);
    try {
      fresh.session = await opening;
    } catch (error) {
      // A failed handshake is not kept: the next request tries again.
      if (this.#slots.get(signer.name) === fresh) this.#slots.delete(signer.name);
      throw error;
    }
    return fresh.session;
  }

  async #open(signer: RequestSigner): Promise<ClientSession> {
    // A fresh ephemeral pair per attempt: its secret is dropped once the key is derived.
    const pair = sessionKeyPair();
    try {
      const [grant, operatorKey] = await Promise.all([
        this.#options.handshake(signer, pair.publicKey),
        this.#options.operatorKey(),
      ]);
      const signed = sessionGrantBytes({
        name: signer.name,
        clientKey: pair.publicKey,
        serverKey: grant.serverKey,
        session: grant.session,
        expiresAt: grant.expiresAt,
      });
      if (!verifyDetached(grant.sig, signed, operatorKey)) {
        this.#options.onBadGrant?.();
        throw new KomradeError(
          'OPERATOR_ERROR',
          "The Operator's session grant does not verify under its sign key; nothing was sent in it.",
        );
      }
      let key: Uint8Array;
      try {
        key = clientSessionKey(pair, grant.serverKey);
      } catch {
        throw new KomradeError(
          'KEY_INVALID',
          'The Operator sent an unusable session key (a low-order X25519 point).',
        );
      }
      return { id: grant.session, key, expiresAt: grant.expiresAt, seq: 0 };
    } finally {
      pair.secretKey.fill(0);
    }
  }

  /** Drops `session` unless a newer one already took its place. */
  #forget(name: string, session: ClientSession): void {
    const slot = this.#slots.get(name);
    if (slot?.session === session) this.#slots.delete(name);
  }
}
