/**
 * A witness of the registry log: cosigns the Operator's checkpoints with its own Ed25519 key, but
 * only a checkpoint that verifies and that is consistent with the last one it cosigned. A client
 * that requires a witness's cosignature cannot be shown a fork that witness did not see.
 */
import { KomradeError } from '../../common/errors/index.js';
import {
  cosignNote,
  noteVerifier,
  openCheckpoint,
  sameHash,
  verifyConsistency,
  type NoteSigner,
  type VerifiedCheckpoint,
} from '../../common/transparency/index.js';
import { registryOrigin } from '../../common/wire/index.js';

/** Where a witness keeps the last checkpoint it cosigned (so a restart cannot be led astray). */
export interface WitnessMemory {
  load(): string | undefined;
  save(note: string): void;
}

/** What a witness is built from. */
export interface WitnessOptions {
  /** The Operator's pinned signing key (32 bytes). */
  readonly operatorSignKey: Uint8Array;
  /** The witness's own key (`noteSigner(name, keys)`); its name is what clients trust. */
  readonly signer: NoteSigner;
  /** @defaultValue in memory only */
  readonly memory?: WitnessMemory;
}

/** Memory that lives as long as the witness object. */
const inMemory = (): WitnessMemory => {
  let note: string | undefined;
  return {
    load: () => note,
    save: (next) => {
      note = next;
    },
  };
};

/**
 * Cosigns checkpoints of one log, each consistent with the last it cosigned.
 *
 * @example
 * ```ts
 * const witness = new Witness({ operatorSignKey, signer: noteSigner('witness.example', keys) });
 * const from = witness.size;
 * const note = await operator.logCheckpoint();
 * const proof = from === 0 ? [] : await operator.logConsistency(from, sizeOf(note));
 * const cosigned = witness.cosign(note, proof);
 * ```
 */
export class Witness {
  readonly #origin: string;
  readonly #signKey: Uint8Array;
  readonly #signer: NoteSigner;
  readonly #memory: WitnessMemory;

  constructor(options: WitnessOptions) {
    this.#signKey = Uint8Array.from(options.operatorSignKey);
    this.#origin = registryOrigin(this.#signKey);
    this.#signer = options.signer;
    this.#memory = options.memory ?? inMemory();
  }

  /** The size of the last checkpoint cosigned (0 before the first). */
  get size(): number {
    const last = this.#memory.load();
    return last === undefined ? 0 : this.#open(last).checkpoint.size;
  }

  /**
   * Cosigns `note` when it is signed by the Operator and `proof` shows the last checkpoint
   * cosigned is a prefix of it (no proof is needed for the first one, or for the same size and
   * root). A checkpoint older than the last is refused: a witness only moves forward.
   * @returns the note with this witness's signature added
   * @throws `BAD_SIGNATURE` for a note the Operator did not sign, `LOG_INCONSISTENT` for one that
   * is not consistent with (or older than) the last cosigned
   */
  cosign(note: string, proof: readonly Uint8Array[] = []): string {
    const next = this.#open(note);
    const lastNote = this.#memory.load();
    if (lastNote !== undefined) {
      const last = this.#open(lastNote).checkpoint;
      const now = next.checkpoint;
      if (now.size < last.size) {
        throw new KomradeError(
          'LOG_INCONSISTENT',
          `The checkpoint of size ${now.size} is older than the one of size ${last.size} this witness cosigned.`,
        );
      }
      const consistent =
        now.size === last.size
          ? sameHash(now.rootHash, last.rootHash)
          : verifyConsistency(last.size, now.size, last.rootHash, now.rootHash, proof);
      if (!consistent) {
        throw new KomradeError(
          'LOG_INCONSISTENT',
          `The checkpoint of size ${now.size} is not consistent with the one of size ${last.size} this witness cosigned: refusing to cosign a fork.`,
        );
      }
    }
    const cosigned = cosignNote(note, this.#signer);
    if (!cosigned.ok) throw cosigned.error;
    this.#memory.save(note);
    return cosigned.value;
  }

  #open(note: string): VerifiedCheckpoint {
    const opened = openCheckpoint(note, {
      origin: this.#origin,
      log: noteVerifier(this.#origin, this.#signKey),
    });
    if (!opened.ok) {
      throw new KomradeError(
        'BAD_SIGNATURE',
        `The checkpoint is not signed by the Operator's key (${opened.error.message}).`,
      );
    }
    return opened.value;
  }
}
