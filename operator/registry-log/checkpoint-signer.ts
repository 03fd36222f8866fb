/**
 * Signs the registry log's C2SP checkpoints with the Operator's Ed25519 key: origin and note key
 * name both `registryOrigin(signPublic)`, no extension lines. Ed25519 is deterministic, so the
 * note of a size never changes: the newest few are kept and each head is signed once.
 */
import { KomradeError } from '../../common/errors/index.js';
import {
  noteSigner,
  sameHash,
  signCheckpoint,
  type NoteSigner,
} from '../../common/transparency/index.js';
import { registryOrigin } from '../../common/wire/index.js';
import type { LogHead } from '../store/registry-log.js';

/** Sizes whose notes are kept: answers read at a size just passed still find theirs. */
const CACHED_SIZES = 8;

interface Signed {
  readonly rootHash: Uint8Array;
  readonly note: string;
}

/** The Operator's checkpoint signer and its cache of signed notes. */
export class CheckpointSigner {
  /** The log's origin line, also the signature's key name. */
  readonly origin: string;
  readonly #signer: NoteSigner;
  readonly #notes = new Map<number, Signed>();

  constructor(keys: { readonly signSecret: Uint8Array; readonly signPublic: Uint8Array }) {
    this.origin = registryOrigin(keys.signPublic);
    this.#signer = noteSigner(this.origin, keys);
  }

  /** The signed checkpoint note of `head`. */
  note(head: LogHead): string {
    const cached = this.#notes.get(head.size);
    if (cached !== undefined) {
      if (sameHash(cached.rootHash, head.rootHash)) return cached.note;
      // Two roots for one size: the store's log changed under us. Never sign both.
      throw new KomradeError('INTERNAL', 'The registry log changed a signed tree head.');
    }
    const note = signCheckpoint(
      { origin: this.origin, size: head.size, rootHash: head.rootHash, extensions: [] },
      this.#signer,
    );
    this.#notes.set(head.size, { rootHash: Uint8Array.from(head.rootHash), note });
    for (const size of this.#notes.keys()) {
      if (this.#notes.size <= CACHED_SIZES) break;
      this.#notes.delete(size);
    }
    return note;
  }
}
