/**
 * `EnvelopeCodec`: seals what the outbox carries (a sealed letter and its recipient, or a sealed
 * collective fan-out and the message behind it) for its stay in Redis.
 */
import {
  checkCollectiveMessage,
  type CollectiveMessage,
  type SealedCollectiveMessage,
} from '../../common/collectives/index.js';
import { aeadDecrypt, aeadEncrypt } from '../../common/crypto/index.js';
import { KomradeError } from '../../common/errors/index.js';
import {
  decodeCanonical,
  encodeCanonical,
  fromBase64url,
  toBase64url,
} from '../../common/wire/index.js';

/** What the outbox carries for a letter: a letter already sealed to `to`. */
export interface OutboxEntry {
  readonly to: string;
  readonly sealed: Uint8Array;
}

/**
 * What the outbox carries for a collective message: the fan-out sealed to the members of when it
 * was written, and the message itself, so the job can sign and seal it again (same id, same time)
 * for the members of now if the Operator answers `COLLECTIVE_CONFLICT`.
 */
export interface CollectiveOutboxEntry {
  readonly message: CollectiveMessage;
  readonly sealed: SealedCollectiveMessage;
}

/** Turns outbox entries into opaque strings and back. */
export interface EnvelopeCodec {
  encode(identity: string, entry: OutboxEntry): string;
  /** @throws `DECODE_FAILED` for anything this codec did not produce for `identity` */
  decode(identity: string, envelope: string): OutboxEntry;
  encodeCollective(identity: string, entry: CollectiveOutboxEntry): string;
  /** @throws `DECODE_FAILED` for anything this codec did not produce for `identity` */
  decodeCollective(identity: string, envelope: string): CollectiveOutboxEntry;
}

const AD_TAG = 'komrade/bridge-outbox/v1';
// A separate tag: a letter envelope never opens as a collective one, nor the other way round.
const COLLECTIVE_AD_TAG = 'komrade/bridge-collective-outbox/v1';

const shapeError = () => new KomradeError('DECODE_FAILED', 'An outbox entry has the wrong shape.');

function sealedOf(value: unknown): SealedCollectiveMessage {
  const { body, keys } = (value ?? {}) as { body?: unknown; keys?: unknown };
  if (!(body instanceof Uint8Array) || !Array.isArray(keys)) throw shapeError();
  const checked = keys.map((k: unknown) => {
    const { to, sealed } = (k ?? {}) as { to?: unknown; sealed?: unknown };
    if (typeof to !== 'string' || !(sealed instanceof Uint8Array)) throw shapeError();
    return { to, sealed };
  });
  return { body, keys: checked };
}

/**
 * XChaCha20-Poly1305 under the adapter's queue key; the identity id is bound as associated data,
 * so an envelope cannot be replayed under another identity.
 */
export class AeadEnvelopeCodec implements EnvelopeCodec {
  readonly #key: Uint8Array;

  /** @param key - 32-byte queue key (derived from the adapter's master key) */
  constructor(key: Uint8Array) {
    this.#key = Uint8Array.from(key);
  }

  encode(identity: string, entry: OutboxEntry): string {
    return this.#seal(AD_TAG, identity, { to: entry.to, sealed: entry.sealed });
  }

  decode(identity: string, envelope: string): OutboxEntry {
    const value = this.#open(AD_TAG, identity, envelope) as { to?: unknown; sealed?: unknown };
    if (typeof value.to !== 'string' || !(value.sealed instanceof Uint8Array)) throw shapeError();
    return { to: value.to, sealed: value.sealed };
  }

  encodeCollective(identity: string, entry: CollectiveOutboxEntry): string {
    return this.#seal(COLLECTIVE_AD_TAG, identity, {
      message: entry.message,
      sealed: { body: entry.sealed.body, keys: entry.sealed.keys },
    });
  }

  decodeCollective(identity: string, envelope: string): CollectiveOutboxEntry {
    const value = this.#open(COLLECTIVE_AD_TAG, identity, envelope) as {
      message?: unknown;
      sealed?: unknown;
    };
    const message = checkCollectiveMessage(value.message);
    if (!message.ok) throw shapeError();
    return { message: message.value, sealed: sealedOf(value.sealed) };
  }

  #seal(tag: string, identity: string, value: unknown): string {
    const plain = encodeCanonical(value);
    const sealed = aeadEncrypt(plain, this.#key, encodeCanonical([tag, identity]));
    plain.fill(0);
    return toBase64url(sealed);
  }

  #open(tag: string, identity: string, envelope: string): unknown {
    const bytes = fromBase64url(envelope);
    const plain =
      bytes === undefined
        ? undefined
        : aeadDecrypt(bytes, this.#key, encodeCanonical([tag, identity]));
    if (plain === undefined) {
      throw new KomradeError('DECODE_FAILED', 'An outbox entry cannot be opened.');
    }
    // Not wiped afterwards: decoded byte strings may be views into `plain`.
    const value: unknown = decodeCanonical(plain, 'outbox');
    if (typeof value !== 'object' || value === null) throw shapeError();
    return value;
  }
}
