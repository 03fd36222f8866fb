/** `EnvelopeCodec`: seals an outbox entry (recipient and sealed letter) for its stay in Redis. */
import { aeadDecrypt, aeadEncrypt } from '../../common/crypto/index.js';
import { KomradeError } from '../../common/errors/index.js';
import {
  decodeCanonical,
  encodeCanonical,
  fromBase64url,
  toBase64url,
} from '../../common/wire/index.js';

/** What the outbox carries: a letter already sealed to `to`. */
export interface OutboxEntry {
  readonly to: string;
  readonly sealed: Uint8Array;
}

/** Turns an outbox entry into an opaque string and back. */
export interface EnvelopeCodec {
  encode(identity: string, entry: OutboxEntry): string;
  /** @throws `DECODE_FAILED` for anything this codec did not produce for `identity` */
  decode(identity: string, envelope: string): OutboxEntry;
}

const AD_TAG = 'komrade/bridge-outbox/v1';

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
    const plain = encodeCanonical({ to: entry.to, sealed: entry.sealed });
    return toBase64url(aeadEncrypt(plain, this.#key, encodeCanonical([AD_TAG, identity])));
  }

  decode(identity: string, envelope: string): OutboxEntry {
    const bytes = fromBase64url(envelope);
    const plain =
      bytes === undefined
        ? undefined
        : aeadDecrypt(bytes, this.#key, encodeCanonical([AD_TAG, identity]));
    if (plain === undefined) {
      throw new KomradeError('DECODE_FAILED', 'An outbox entry cannot be opened.');
    }
    const value = decodeCanonical(plain, 'outbox') as { to?: unknown; sealed?: unknown };
    if (typeof value.to !== 'string' || !(value.sealed instanceof Uint8Array)) {
      throw new KomradeError('DECODE_FAILED', 'An outbox entry has the wrong shape.');
    }
    return { to: value.to, sealed: value.sealed };
  }
}
