/**
 * A monitor of the registry log: downloads every leaf, rebuilds the tree and checks what a client
 * alone cannot see: that no name ever got a second leaf other than the one allowed key update, and
 * that the identities it watches over (its own) have exactly the keys they registered. The bots
 * run one over the identities they hold; `komrade verify-me` runs one over the komrade's own.
 */
import {
  MemoryMerkleTree,
  leafHash,
  noteVerifier,
  openCheckpoint,
  rootHash,
  sameHash,
  verifyConsistency,
  type VerifiedCheckpoint,
} from '../../common/transparency/index.js';
import { KomradeError, isKomradeError } from '../../common/errors/index.js';
import {
  MAX_LOG_ENTRIES,
  bytesEqual,
  fromBase64url,
  isAllowedKeyUpdate,
  receiptLeaf,
  registryOrigin,
  toBase64url,
  verifyReceipt,
  type KeyHolder,
  type Receipt,
} from '../../common/wire/index.js';
import type { OperatorClient } from '../operator-client/operator-client.js';

/** The part of the Operator a monitor reads: the log's three routes. */
export type LogReader = Pick<OperatorClient, 'logCheckpoint' | 'logConsistency' | 'logEntries'>;

/** An identity the monitor watches over: its name and the keys it registered. */
export interface WatchedIdentity {
  readonly name: string;
  readonly signKey: Uint8Array;
  readonly boxKey: Uint8Array;
  /**
   * The identity's ratchet key: its leaves carry it, or none at all (a registration from before
   * forward secrecy, followed by the one leaf that adds it).
   */
  readonly ratchetKey: Uint8Array | null;
  readonly keyHolder: KeyHolder;
  /**
   * The leaf index of the identity's newest receipt, when its proof gave one: a leaf beyond the
   * scanned log is not missing yet (a registration newer than the checkpoint).
   */
  readonly leafIndex?: number;
}

/** What kind of lie a problem is. */
export type MonitorProblemKind =
  /** The entries do not rebuild the signed root, or two signed checkpoints are not one log. */
  | 'log-inconsistent'
  /** A leaf's receipt is not signed by the pinned Operator key (or is malformed). */
  | 'bad-receipt'
  /** A name has a later leaf that is not the one allowed key update. */
  | 'second-leaf'
  /** A watched identity's leaf carries keys that are not its own. */
  | 'not-your-keys'
  /** A watched identity has no leaf in the log. */
  | 'missing';

/** One finding. Public data only: names, leaf indexes and why; never a secret. */
export interface MonitorProblem {
  readonly kind: MonitorProblemKind;
  /** The name concerned (absent for a whole-log problem). */
  readonly name?: string;
  /** The leaf indexes concerned, in log order. */
  readonly leaves: readonly number[];
  readonly reason: string;
}

/** The signed notes and proof that show a log inconsistency to anyone holding the Operator key. */
export interface MonitorEvidence {
  /** The checkpoint the monitor had verified before (absent on a first scan). */
  readonly previous?: string;
  /** The checkpoint it was then shown. */
  readonly next: string;
  /** The consistency proof it was given, base64url (empty when none was asked for). */
  readonly proof: readonly string[];
  /** What failed. */
  readonly reason: string;
}

/** What one run of the monitor found. */
export interface MonitorReport {
  /** The log's size as scanned and verified. */
  readonly size: number;
  /** Its root hash (standard base64, as on the checkpoint's third line). */
  readonly root: string;
  /** The checkpoint note the scan verified (the newest good one). */
  readonly checkpoint: string | undefined;
  /** Leaves downloaded by this run (0 when the log did not grow). */
  readonly downloaded: number;
  /** Every problem found in the log so far, and those of the watched identities now. */
  readonly problems: readonly MonitorProblem[];
  /** Set once the log proved inconsistent: the monitor stops there for good. */
  readonly evidence?: MonitorEvidence;
}

/** Progress of a download: leaves scanned of the checkpoint's size. */
export interface MonitorProgress {
  readonly scanned: number;
  readonly total: number;
}

/** What a monitor is built from. */
export interface RegistryMonitorOptions {
  readonly operator: LogReader;
  /** The pinned Operator signing key (32 bytes). */
  readonly operatorSignKey: Uint8Array;
  /** Leaves per page: at most `MAX_LOG_ENTRIES`. @defaultValue MAX_LOG_ENTRIES */
  readonly pageSize?: number;
}

/** What the monitor remembers of a name: its leaves and the keys of its newest one. */
interface NameState {
  /** The first leaf's index, and the later ones' (rare: a key update, or a lie). */
  readonly first: number;
  later?: number[];
  /** The newest leaf's receipt, packed (see {@link pack}): a few hundred bytes a name. */
  last: string;
}

const leavesOf = (state: NameState): number[] => [state.first, ...(state.later ?? [])];

/**
 * A monitor of one Operator's registry log, incremental: a second {@link RegistryMonitor.scan}
 * checks the new checkpoint's consistency with the last one scanned, then downloads only the new
 * leaves. Memory grows with the log: 64 bytes of tree hashes a leaf and about 200 bytes a name
 * (measured: 18 MB of heap for 100,000 names); checking each leaf's receipt signature makes a
 * first scan cost about 0.1 ms a leaf.
 *
 * @example
 * ```ts
 * const monitor = new RegistryMonitor({ operator, operatorSignKey: pinned.signKey });
 * const report = await monitor.scan([me], { onProgress: (p) => show(p) });
 * if (report.problems.length > 0) warn(report.problems);
 * ```
 */
export class RegistryMonitor {
  readonly #operator: LogReader;
  readonly #signKey: Uint8Array;
  readonly #pageSize: number;
  readonly #origin: string;
  readonly #tree = new MemoryMerkleTree();
  readonly #names = new Map<string, NameState>();
  readonly #logProblems: MonitorProblem[] = [];
  #checkpoint: VerifiedCheckpoint | undefined;
  /** The signed note of {@link RegistryMonitor.#checkpoint}, as the Operator sent it. */
  #note: string | undefined;
  #evidence: MonitorEvidence | undefined;
  #running: Promise<unknown> = Promise.resolve();

  constructor(options: RegistryMonitorOptions) {
    this.#operator = options.operator;
    this.#signKey = Uint8Array.from(options.operatorSignKey);
    const pageSize = options.pageSize ?? MAX_LOG_ENTRIES;
    if (!Number.isSafeInteger(pageSize) || pageSize < 1 || pageSize > MAX_LOG_ENTRIES) {
      throw new KomradeError('USAGE', `A log page holds 1 to ${MAX_LOG_ENTRIES} entries.`);
    }
    this.#pageSize = pageSize;
    this.#origin = registryOrigin(this.#signKey);
  }

  /** The size scanned so far. */
  get size(): number {
    return this.#tree.size;
  }

  /**
   * Fetches the newest checkpoint, checks it follows the last one scanned, downloads the new
   * leaves and checks them, and checks `watched`. Runs one at a time.
   * @throws what the Operator client throws (`OPERATOR_UNREACHABLE`, `OPERATOR_ERROR`…), and
   * `BAD_SIGNATURE` for a checkpoint the pinned key did not sign; never for a finding
   */
  async scan(
    watched: readonly WatchedIdentity[] = [],
    options: { readonly onProgress?: (progress: MonitorProgress) => void } = {},
  ): Promise<MonitorReport> {
    const run = this.#running.then(() => this.#scan(watched, options.onProgress));
    this.#running = run.catch(() => undefined);
    return run;
  }

  async #scan(
    watched: readonly WatchedIdentity[],
    onProgress: ((progress: MonitorProgress) => void) | undefined,
  ): Promise<MonitorReport> {
    if (this.#evidence !== undefined) return this.#report(watched, 0);
    const note = await this.#operator.logCheckpoint();
    const opened = openCheckpoint(note, {
      origin: this.#origin,
      log: noteVerifier(this.#origin, this.#signKey),
    });
    // Not signed by the pinned key: nobody vouched for it, so it proves nothing either way.
    if (!opened.ok) {
      throw new KomradeError(
        'BAD_SIGNATURE',
        `The Operator's log checkpoint does not verify (${opened.error.message}).`,
      );
    }
    const next = opened.value;
    const previous = this.#checkpoint;
    // Leaves kept from a scan a failure cut short are checked with the next root, as new ones.
    const scanned = this.#tree.size;
    const size = next.checkpoint.size;
    // From an empty log there is nothing to prove (and no proof to ask for).
    if (previous !== undefined && previous.checkpoint.size > 0) {
      const consistent = await this.#consistent(previous, next, note);
      if (!consistent) return this.#report(watched, 0);
      // An older checkpoint than the one scanned, proven a prefix of it: nothing new to read.
      if (size <= previous.checkpoint.size) return this.#report(watched, 0);
    }
    if (size < scanned) {
      // Leaves beyond this checkpoint were read before a failure: check the prefix it signs.
      return this.#adopt(
        previous,
        next,
        note,
        sameHash(rootHash(this.#tree, size), next.checkpoint.rootHash),
        watched,
        0,
      );
    }
    let at = scanned;
    onProgress?.({ scanned: at, total: size });
    while (at < size) {
      const end = Math.min(size, at + this.#pageSize);
      const entries = await this.#operator.logEntries(at, end);
      // A shorter page is allowed (the Operator may cap it); an empty one would never end.
      if (entries.length === 0 || entries.length > end - at) {
        throw new KomradeError(
          'OPERATOR_ERROR',
          `The Operator answered ${entries.length} log entries from ${at} of a log of ${size}.`,
        );
      }
      for (const receipt of entries) this.#append(receipt);
      at += entries.length;
      onProgress?.({ scanned: at, total: size });
    }
    const rebuilt = sameHash(rootHash(this.#tree), next.checkpoint.rootHash);
    return this.#adopt(previous, next, note, rebuilt, watched, size - scanned);
  }

  /** Takes `next` as the newest checkpoint scanned when the leaves rebuild its root; else stops. */
  #adopt(
    previous: VerifiedCheckpoint | undefined,
    next: VerifiedCheckpoint,
    note: string,
    rebuilt: boolean,
    watched: readonly WatchedIdentity[],
    downloaded: number,
  ): MonitorReport {
    if (!rebuilt) {
      this.#stop({
        ...(previous === undefined || this.#note === undefined ? {} : { previous: this.#note }),
        next: note,
        proof: [],
        reason: `The log's ${next.checkpoint.size} entries do not rebuild the root the Operator signed.`,
      });
      return this.#report(watched, downloaded);
    }
    this.#checkpoint = next;
    this.#note = note;
    return this.#report(watched, downloaded);
  }

  /** Whether `next` and the checkpoint scanned before are one log; records evidence if not. */
  async #consistent(
    previous: VerifiedCheckpoint,
    next: VerifiedCheckpoint,
    nextNote: string,
  ): Promise<boolean> {
    const previousNote = this.#note ?? previous.text;
    const old = previous.checkpoint;
    const now = next.checkpoint;
    if (old.size === now.size) {
      if (sameHash(old.rootHash, now.rootHash)) return true;
      this.#stop({
        previous: previousNote,
        next: nextNote,
        proof: [],
        reason: `Two checkpoints of size ${now.size} have different roots.`,
      });
      return false;
    }
    const [small, large] = old.size < now.size ? [old, now] : [now, old];
    let proof: readonly Uint8Array[];
    try {
      proof = await this.#operator.logConsistency(small.size, large.size);
    } catch (error) {
      // Refusing to prove a size it signed is a lie too; a network failure is not.
      if (!isKomradeError(error, 'BAD_REQUEST')) throw error;
      proof = [];
    }
    if (verifyConsistency(small.size, large.size, small.rootHash, large.rootHash, proof)) {
      return true;
    }
    this.#stop({
      previous: previousNote,
      next: nextNote,
      proof: proof.map(toBase64url),
      reason: `The checkpoint of size ${now.size} is not consistent with the one of size ${old.size} scanned before.`,
    });
    return false;
  }

  #stop(evidence: MonitorEvidence): void {
    this.#evidence = evidence;
    this.#logProblems.push({ kind: 'log-inconsistent', leaves: [], reason: evidence.reason });
  }

  #append(receipt: Receipt): void {
    const index = this.#tree.size;
    this.#tree.append(leafHash(receiptLeaf(receipt)));
    if (!verifyReceipt(receipt, this.#signKey)) {
      this.#logProblems.push({
        kind: 'bad-receipt',
        name: receipt.name,
        leaves: [index],
        reason: 'The receipt in this leaf is not signed by the Operator key.',
      });
      return;
    }
    const known = this.#names.get(receipt.name);
    if (known === undefined) {
      this.#names.set(receipt.name, { first: index, last: pack(receipt) });
      return;
    }
    if (!isAllowedKeyUpdate(unpack(receipt.name, known.last), receipt)) {
      this.#logProblems.push({
        kind: 'second-leaf',
        name: receipt.name,
        leaves: [...leavesOf(known), index],
        reason: `@${receipt.name} has another leaf that is not its one allowed key update: the Operator rewrote a registration.`,
      });
    }
    (known.later ??= []).push(index);
    known.last = pack(receipt);
  }

  #report(watched: readonly WatchedIdentity[], downloaded: number): MonitorReport {
    const size = this.#checkpoint?.checkpoint.size ?? 0;
    const root = this.#checkpoint?.checkpoint.rootHash;
    return {
      size,
      root: root === undefined ? '' : Buffer.from(root).toString('base64'),
      checkpoint: this.#note,
      downloaded,
      problems: [
        ...this.#logProblems,
        ...(this.#evidence === undefined ? watched.flatMap((w) => this.#check(w, size)) : []),
      ],
      ...(this.#evidence === undefined ? {} : { evidence: this.#evidence }),
    };
  }

  /** The problems of one watched identity in the log scanned so far. */
  #check(identity: WatchedIdentity, size: number): MonitorProblem[] {
    const state = this.#names.get(identity.name);
    if (state === undefined) {
      if (identity.leafIndex !== undefined && identity.leafIndex >= size) return [];
      return [
        {
          kind: 'missing',
          name: identity.name,
          leaves: [],
          reason: `@${identity.name} has no leaf in the log of ${size} entries.`,
        },
      ];
    }
    const last = unpack(identity.name, state.last);
    const mine =
      bytesEqual(last.signKey, identity.signKey) &&
      bytesEqual(last.boxKey, identity.boxKey) &&
      last.keyHolder === identity.keyHolder &&
      (last.ratchetKey === null
        ? identity.ratchetKey === null || state.later === undefined
        : identity.ratchetKey !== null && bytesEqual(last.ratchetKey, identity.ratchetKey));
    if (mine) return [];
    return [
      {
        kind: 'not-your-keys',
        name: identity.name,
        leaves: leavesOf(state),
        reason: `The log's newest leaf for @${identity.name} carries keys that are not yours.`,
      },
    ];
  }
}

/**
 * A receipt as kept per name: what the checks read again (keys, label, time), as one string
 * (far smaller in memory than a receipt's byte arrays); its signature was checked already.
 */
function pack(receipt: Receipt): string {
  const ratchet = receipt.ratchetKey === null ? '' : toBase64url(receipt.ratchetKey);
  const keys = [toBase64url(receipt.signKey), toBase64url(receipt.boxKey), ratchet];
  return [...keys, receipt.keyHolder, String(receipt.registeredAt)].join(' ');
}

/** Bytes {@link pack} wrote (always decodable: it wrote them). */
const bytesOf = (text: string): Uint8Array => fromBase64url(text) ?? new Uint8Array(0);

function unpack(name: string, packed: string): Receipt {
  const [sign = '', box = '', ratchet = '', keyHolder = '', at = '0'] = packed.split(' ');
  return {
    name,
    signKey: bytesOf(sign),
    boxKey: bytesOf(box),
    ratchetKey: ratchet === '' ? null : bytesOf(ratchet),
    keyHolder,
    registeredAt: Number(at),
    sig: new Uint8Array(0),
  };
}
