/**
 * `RetryingOperatorClient`: any `OperatorClient` with transient transport failures (a Tor circuit
 * not ready, a descriptor not yet published, a timeout) retried with backoff, where that is safe.
 */
import {
  decodeCollectiveEvent,
  eventHash,
  type SealedCollectiveMessage,
  type SignedCollectiveEvent,
} from '../../common/collectives/index.js';
import { KomradeError, isKomradeError } from '../../common/errors/index.js';
import {
  bytesEqual,
  type CollectiveHead,
  type OperatorInfo,
  type PrekeyBundle,
  type PrekeyBundleRequest,
  type PrekeyUpload,
  type PrekeyUploadAnswer,
  type RatchetKeyRequest,
  type Receipt,
  type RegisterRequest,
  type TokenIssueResponse,
} from '../../common/wire/index.js';
import { TorError, isTransientTorError, retryWithBackoff } from '../../tor/index.js';
import type {
  AnonymousLetter,
  CollectiveLogPage,
  FeedPageRequest,
  FetchedLetters,
  FetchOptions,
  MailWaitOptions,
  MailWaitResult,
  OperatorClient,
  PostedToFeed,
  RequestSigner,
  SentAnonymously,
  SentToCollective,
} from './operator-client.js';

/** One retry about to happen, for a progress line ("retrying in 2 s…"). */
export interface OperatorRetry {
  /** The operation being retried, e.g. `send`. */
  readonly operation: keyof OperatorClient;
  /** The attempt that just failed (1-based). */
  readonly attempt: number;
  /** Total attempts allowed. */
  readonly attempts: number;
  /** How long until the next attempt. */
  readonly delayMs: number;
  /** Why, in a few words, e.g. `descriptor not published`. Never a secret. */
  readonly reason: string;
  /** Whether the failure came from Tor (SOCKS), rather than the connection after it. */
  readonly tor: boolean;
}

/** When and how often to retry; see {@link RetryingOperatorClient}. */
export interface OperatorRetryPolicy {
  /** Total tries, the first included. @defaultValue 6 */
  readonly attempts?: number;
  /** Delay before the first retry, doubled each time (±20% jitter). @defaultValue 1000 */
  readonly baseMs?: number;
  /** Upper bound of one delay. @defaultValue 15000 */
  readonly maxMs?: number;
  /** Called before each wait. */
  readonly onRetry?: (retry: OperatorRetry) => void;
  /** Stops retrying (the last error is thrown) once aborted. */
  readonly signal?: AbortSignal;
}

/**
 * How safe an operation is to send again when its first attempt may have reached the Operator.
 * `always`: reads, idempotent writes, and writes the protocol deduplicates. `unsent`: only when
 * the failure proves nothing reached the Operator.
 */
type RetrySafety = 'always' | 'unsent';

/** Node and undici codes of failures that happen before any request byte is written. */
const UNSENT_CODES: ReadonlySet<string> = new Set(['UND_ERR_CONNECT_TIMEOUT', 'ECONNREFUSED']);

const SOCKS_REASONS: Readonly<Record<number, string>> = {
  0x01: 'circuit failed',
  0x03: 'network unreachable',
  0x04: 'descriptor not found',
  0x05: 'the service refused the connection',
  0x06: 'circuit timed out',
  0xf0: 'descriptor not published',
  0xf1: 'descriptor not valid yet',
  0xf2: 'introduction failed',
  0xf3: 'rendezvous failed',
  0xf7: 'introduction timed out',
};

const CODE_REASONS: Readonly<Record<string, string>> = {
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_HEADERS_TIMEOUT: 'no answer in time',
  UND_ERR_BODY_TIMEOUT: 'answer stalled',
  ETIMEDOUT: 'connection timed out',
};

/** The chain of `error` and its causes (bounded). */
function* causes(error: unknown): Generator {
  for (let e = error, depth = 0; typeof e === 'object' && e !== null && depth < 8; depth++) {
    yield e;
    e = (e as { cause?: unknown }).cause;
  }
}

/**
 * True when `error` proves the request never left this machine: Tor refused or failed the SOCKS
 * connection (the HTTP request is written only after it), or the connection was never opened.
 */
export function failedBeforeSending(error: unknown): boolean {
  for (const e of causes(error)) {
    if (e instanceof TorError) return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && UNSENT_CODES.has(code)) return true;
  }
  return false;
}

/**
 * A few words on why a request failed, for a retry message.
 * @returns e.g. `descriptor not published`, `no answer in time`, `connection lost`
 */
export function describeTransientFailure(error: unknown): { reason: string; tor: boolean } {
  for (const e of causes(error)) {
    if (e instanceof TorError) {
      const reason =
        e.socksReply === undefined
          ? e.message.replace(/^Tor could not connect: /, '').replace(/\.$/, '')
          : (SOCKS_REASONS[e.socksReply] ?? `SOCKS reply 0x${e.socksReply.toString(16)}`);
      return { reason, tor: true };
    }
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code in CODE_REASONS) {
      return { reason: CODE_REASONS[code] ?? code, tor: false };
    }
  }
  return { reason: 'connection lost', tor: false };
}

/**
 * Wraps an {@link OperatorClient} so transient transport failures (`isTransientTorError`: Tor
 * SOCKS failures marked transient, timeouts, resets) are retried with exponential backoff. Every
 * other failure, including every answer from the Operator, is passed on at once. Adapters get the
 * same behaviour by wrapping their client the same way.
 *
 * Why retrying is safe here:
 * - Each attempt calls the inner client again, and `HttpOperatorClient` signs each call afresh:
 *   a retried signed request carries a new nonce and time, so the Operator never sees a replay.
 * - Reads (`info`, `lookup`, the log's, `fetch`, `feedPage`) change nothing; `ack` deletes by id, so a second
 *   ack of the same ids deletes nothing more.
 * - `register`: if the lost attempt did register, the retry answers `NAME_TAKEN`, and
 *   `KomradeClient.register` adopts the existing receipt when its keys are ours.
 * - `sendAnonymously` resends the same letter with the same token. The Operator records a spent
 *   token with a hash of the letter it paid for and answers an identical retry with the same id,
 *   without a second copy; each attempt goes on a circuit the anonymous pool picks.
 * - `setRatchetKey` sends the same key and proof: the Operator answers the stored receipt when
 *   the key is already set to it. `uploadPrekeys` resends the same keys: a signed or Kyber prekey
 *   replaces itself; one-time prekeys stored by a lost attempt make the resend fail with
 *   `PREKEY_ID_USED`, which the caller reads as "already there" (check with an empty upload).
 * - `fetchPrekeyBundle` resends the same name and token, on a circuit the anonymous pool picks,
 *   as an anonymous send does: the Operator answers a retry with the bundle again, without the
 *   one-time prekey a lost answer carried (that one is gone; first contact works without it).
 * - `issueTokens` asks again with the same blinded elements. If the lost attempt was answered,
 *   that batch is lost and counts against the day's allowance (a cost, not a leak: the blinded
 *   elements are fresh randomness).
 * - `post` is retried only when the failure proves nothing reached the Operator (the SOCKS or TCP
 *   connection never opened): the Operator refuses a second post with the same id, and a resent
 *   post after a lost answer would report `POST_INVALID` for a post that in fact went up.
 * - `collectiveHead` and `collectiveLog` are reads. `sendToCollective` resends the same body and
 *   envelopes, like `send`: members store collective messages by (collective, sender, id), so a
 *   copy is dropped.
 * - `appendEvent` and `createCollective` resend the very same signed event. It names its `seq`
 *   and `prev`, so the Operator can append it at most once, whatever the number of copies: a
 *   resend after a lost success is refused (`COLLECTIVE_CONFLICT`, or the collective exists). A
 *   retried append that is refused therefore asks the Operator whether the event already sits at
 *   its `seq` (the head's hash, else one log entry); if it does, the append succeeded and the
 *   current head is returned. Otherwise the refusal is passed on and the caller re-syncs.
 *
 * @example
 * ```ts
 * const operator = new RetryingOperatorClient(new HttpOperatorClient({ baseUrl, dispatcher, now }), {
 *   onRetry: (r) => ui.note(`Tor: ${r.reason}; retrying in ${Math.round(r.delayMs / 1000)} s…`),
 * });
 * ```
 */
export class RetryingOperatorClient implements OperatorClient {
  readonly #inner: OperatorClient;
  readonly #policy: OperatorRetryPolicy;

  /**
   * @param inner - the client doing the requests (usually {@link HttpOperatorClient})
   * @param policy - attempts, delays, and the retry callback
   */
  constructor(inner: OperatorClient, policy: OperatorRetryPolicy = {}) {
    this.#inner = inner;
    this.#policy = policy;
  }

  info(): Promise<OperatorInfo> {
    return this.#retry('info', 'always', () => this.#inner.info());
  }

  register(request: RegisterRequest): Promise<Receipt> {
    return this.#retry('register', 'always', () => this.#inner.register(request));
  }

  lookup(name: string): Promise<Receipt> {
    return this.#retry('lookup', 'always', () => this.#inner.lookup(name));
  }

  logCheckpoint(): Promise<string> {
    return this.#retry('logCheckpoint', 'always', () => this.#inner.logCheckpoint());
  }

  logConsistency(from: number, to: number): Promise<readonly Uint8Array[]> {
    return this.#retry('logConsistency', 'always', () => this.#inner.logConsistency(from, to));
  }

  logEntries(start: number, end: number): Promise<readonly Receipt[]> {
    return this.#retry('logEntries', 'always', () => this.#inner.logEntries(start, end));
  }

  setRatchetKey(signer: RequestSigner, request: RatchetKeyRequest): Promise<Receipt> {
    return this.#retry('setRatchetKey', 'always', () => this.#inner.setRatchetKey(signer, request));
  }

  uploadPrekeys(signer: RequestSigner, upload: PrekeyUpload): Promise<PrekeyUploadAnswer> {
    return this.#retry('uploadPrekeys', 'always', () => this.#inner.uploadPrekeys(signer, upload));
  }

  fetchPrekeyBundle(request: PrekeyBundleRequest): Promise<PrekeyBundle> {
    return this.#retry('fetchPrekeyBundle', 'always', () => this.#inner.fetchPrekeyBundle(request));
  }

  issueTokens(
    signer: RequestSigner,
    blinded: readonly Uint8Array[],
    epoch: number,
  ): Promise<TokenIssueResponse> {
    return this.#retry('issueTokens', 'always', () =>
      this.#inner.issueTokens(signer, blinded, epoch),
    );
  }

  sendAnonymously(letter: AnonymousLetter): Promise<SentAnonymously> {
    return this.#retry('sendAnonymously', 'always', () => this.#inner.sendAnonymously(letter));
  }

  // Retrying is safe with `ack`: deleting a letter already deleted deletes nothing.
  fetch(signer: RequestSigner, options?: FetchOptions): Promise<FetchedLetters> {
    return this.#retry('fetch', 'always', () => this.#inner.fetch(signer, options));
  }

  waitForMail(
    signers: readonly RequestSigner[],
    options: MailWaitOptions,
  ): Promise<MailWaitResult> {
    return this.#inner.waitForMail(signers, options);
  }

  ack(signer: RequestSigner, ids: readonly Uint8Array[]): Promise<number> {
    return this.#retry('ack', 'always', () => this.#inner.ack(signer, ids));
  }

  post(signer: RequestSigner, sealed: Uint8Array): Promise<PostedToFeed> {
    return this.#retry('post', 'unsent', () => this.#inner.post(signer, sealed));
  }

  feedPage(signer: RequestSigner, request?: FeedPageRequest): Promise<Uint8Array> {
    return this.#retry('feedPage', 'always', () => this.#inner.feedPage(signer, request));
  }

  createCollective(
    signer: RequestSigner,
    genesis: SignedCollectiveEvent,
    pow: Uint8Array,
  ): Promise<CollectiveHead> {
    return this.#retry(
      'createCollective',
      'always',
      () => this.#inner.createCollective(signer, genesis, pow),
      () => this.#landed(signer, genesis),
    );
  }

  appendEvent(signer: RequestSigner, event: SignedCollectiveEvent): Promise<CollectiveHead> {
    return this.#retry(
      'appendEvent',
      'always',
      () => this.#inner.appendEvent(signer, event),
      () => this.#landed(signer, event),
    );
  }

  collectiveHead(signer: RequestSigner, collective: string): Promise<CollectiveHead> {
    return this.#retry('collectiveHead', 'always', () =>
      this.#inner.collectiveHead(signer, collective),
    );
  }

  collectiveLog(
    signer: RequestSigner,
    collective: string,
    from: number,
    limit?: number,
  ): Promise<CollectiveLogPage> {
    return this.#retry('collectiveLog', 'always', () =>
      this.#inner.collectiveLog(signer, collective, from, limit),
    );
  }

  sendToCollective(
    signer: RequestSigner,
    collective: string,
    sealed: SealedCollectiveMessage,
  ): Promise<SentToCollective> {
    return this.#retry('sendToCollective', 'always', () =>
      this.#inner.sendToCollective(signer, collective, sealed),
    );
  }

  /**
   * Whether `event` already sits at its `seq` in the Operator's log: the head when it does,
   * `undefined` when it does not or the Operator will not say (e.g. `NOT_MEMBER` after a leave).
   */
  async #landed(
    signer: RequestSigner,
    event: SignedCollectiveEvent,
  ): Promise<CollectiveHead | undefined> {
    const decoded = decodeCollectiveEvent(event.signed);
    if (!decoded.ok) return undefined;
    const { collective, seq } = decoded.value;
    try {
      const head = await this.collectiveHead(signer, collective);
      if (head.length === seq + 1 && bytesEqual(head.head, eventHash(event.signed))) return head;
      if (head.length <= seq + 1) return undefined;
      const page = await this.collectiveLog(signer, collective, seq, 1);
      const found = page.from === seq ? page.events[0] : undefined;
      return found !== undefined && bytesEqual(found.signed, event.signed) ? head : undefined;
    } catch {
      // Unknown: pass on the original refusal, and the caller re-syncs.
      return undefined;
    }
  }

  /**
   * @param landed - for a write that the protocol applies at most once: after a retry was refused
   * as a conflict, says whether an earlier attempt in fact went through (its answer, or undefined)
   */
  async #retry<T>(
    operation: keyof OperatorClient,
    safety: RetrySafety,
    call: () => Promise<T>,
    landed?: () => Promise<T | undefined>,
  ): Promise<T> {
    const attempts = Math.max(1, this.#policy.attempts ?? 6);
    const retryable = (error: unknown): boolean =>
      isTransientTorError(error) && (safety === 'always' || failedBeforeSending(error));
    let tries = 0;
    try {
      return await retryWithBackoff(
        () => {
          tries++;
          return call();
        },
        {
          attempts,
          baseMs: this.#policy.baseMs ?? 1_000,
          maxMs: this.#policy.maxMs ?? 15_000,
          retryIf: retryable,
          onRetry: ({ attempt, delayMs, error }) => {
            this.#policy.onRetry?.({
              operation,
              attempt,
              attempts,
              delayMs,
              ...describeTransientFailure(error),
            });
          },
          ...(this.#policy.signal === undefined ? {} : { signal: this.#policy.signal }),
        },
      );
    } catch (error) {
      if (
        tries > 1 &&
        landed !== undefined &&
        REFUSED_AS_DONE.some((c) => isKomradeError(error, c))
      ) {
        const answer = await landed();
        if (answer !== undefined) return answer;
      }
      throw tries > 1 && retryable(error) ? gaveUp(error, tries) : error;
    }
  }
}

/** How the Operator refuses a second copy of a write it applies at most once. */
const REFUSED_AS_DONE = ['COLLECTIVE_CONFLICT', 'COLLECTIVE_RULE', 'NAME_TAKEN'] as const;

/** The last transient error, restated with how many attempts were made; still transient. */
function gaveUp(error: unknown, tries: number): unknown {
  const { reason, tor } = describeTransientFailure(error);
  const message = tor
    ? `Could not reach the Operator's onion service through Tor (${reason}), ${tries} attempts.`
    : `Could not reach the Operator (${reason}), ${tries} attempts.`;
  if (error instanceof TorError) {
    return new TorError(message, {
      transient: true,
      ...(error.socksReply === undefined ? {} : { socksReply: error.socksReply }),
      cause: error,
    });
  }
  if (isKomradeError(error)) return new KomradeError(error.code, message, { cause: error });
  return error;
}
