/**
 * What really happened, known only to the test: each delivered letter opened as its recipient
 * opened it (keys from the komrades' keystores; the ratchet message with a copy of the
 * recipient's local store from when the letter waited) says who signed it and what kind it is.
 * The linker never sees this.
 */
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { FileKeystore, Ratchet, SqliteLocalStore, ratchetKeyOf } from '../../../client/index.js';
import type { IdentityKeys } from '../../../common/crypto/index.js';
import {
  openRatchetLetter,
  openSignedLetter,
  verifyLetter,
  type LetterKind,
} from '../../../common/wire/index.js';
import type { DeliveredLetter } from './delivered-letters.js';

/** One delivered letter as its recipient reads it. */
export interface TrueLetter {
  readonly key: string;
  readonly from: string;
  readonly to: string;
  readonly kind: LetterKind;
  readonly sentAt: number;
  readonly sealedLength: number;
}

/** A komrade's identity keys and the key its local store is encrypted under. */
export interface KomradeSecrets {
  readonly keys: IdentityKeys;
  readonly storageKey: Uint8Array;
}

/** Unlocks each komrade's keystore (`<home>/keystore.json`). */
export async function secretsOfKomrades(
  homes: ReadonlyMap<string, string>,
  passphrase: string,
): Promise<Map<string, KomradeSecrets>> {
  const out = new Map<string, KomradeSecrets>();
  for (const [name, home] of homes) {
    const secrets = await new FileKeystore(`${home}/keystore.json`).open(passphrase);
    out.set(name, { keys: secrets.keys, storageKey: secrets.storageKey });
  }
  return out;
}

/** Each komrade's identity keys (see {@link secretsOfKomrades}). */
export async function keysOfKomrades(
  homes: ReadonlyMap<string, string>,
  passphrase: string,
): Promise<Map<string, IdentityKeys>> {
  const secrets = await secretsOfKomrades(homes, passphrase);
  return new Map([...secrets].map(([name, s]) => [name, s.keys]));
}

/** One copy of a komrade's local store, taken while none of its commands ran. */
interface StoreCopy {
  readonly at: number;
  readonly path: string;
}

/**
 * Copies of the komrades' local stores (`<home>/komrade.db`, with the WAL if one is left), taken
 * before each of a komrade's commands: a letter opens with a copy taken after it arrived and
 * before its recipient fetched it (the sessions as they were then, its message keys unspent).
 */
export class StoreSnapshots {
  readonly #dir: string;
  readonly #copies = new Map<string, StoreCopy[]>();
  #count = 0;

  constructor(dir: string) {
    this.#dir = dir;
    mkdirSync(dir, { recursive: true });
  }

  /** Copies `name`'s store; call only while none of its commands runs. */
  take(name: string, home: string): void {
    const path = join(this.#dir, `${name}-${++this.#count}.db`);
    copyStore(join(home, 'komrade.db'), path);
    const copies = this.#copies.get(name) ?? [];
    copies.push({ at: Date.now(), path });
    this.#copies.set(name, copies);
  }

  /**
   * The copies of `name`'s store to try for a letter that arrived `at`: the last taken before it
   * (its command may have been running), then the ones after, oldest first.
   */
  candidates(name: string, at: number): readonly StoreCopy[] {
    const copies = this.#copies.get(name) ?? [];
    const after = copies.findIndex((copy) => copy.at > at);
    const first = after === -1 ? copies.length - 1 : Math.max(0, after - 1);
    return copies.slice(Math.max(0, first));
  }
}

function copyStore(from: string, to: string): void {
  copyFileSync(from, to);
  for (const suffix of ['-wal', '-shm']) {
    if (existsSync(`${from}${suffix}`)) copyFileSync(`${from}${suffix}`, `${to}${suffix}`);
  }
}

/** Decrypts one letter with a scratch copy of `copy`, leaving the copy as it was. */
async function openWithCopy(
  letter: DeliveredLetter,
  copy: StoreCopy,
  recipient: KomradeSecrets,
  sender: { readonly name: string; readonly secrets: KomradeSecrets },
  frame: { readonly type: 'prekey' | 'message'; readonly msg: Uint8Array; readonly renewed?: true },
): Promise<Uint8Array | undefined> {
  const scratch = `${copy.path}.scratch`;
  copyStore(copy.path, scratch);
  const store = new SqliteLocalStore(scratch, { storageKey: recipient.storageKey });
  try {
    const ratchet = new Ratchet({
      store,
      keys: recipient.keys,
      self: () => letter.to,
      // Only opening here: a recipient's side never fetches a bundle.
      fetchBundle: () => Promise.reject(new Error('no bundles in the ground truth')),
      now: Date.now,
    });
    const opened = await ratchet.decrypt(
      { name: sender.name, ratchetKey: ratchetKeyOf(sender.secrets.keys) },
      frame,
      new TextEncoder().encode(`ground-truth:${letter.key}`),
      letter.sealed,
    );
    return opened.status === 'opened' ? opened.plaintext : undefined;
  } finally {
    store.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${scratch}${suffix}`, { force: true });
  }
}

/**
 * Opens every delivered letter addressed to a komrade whose secrets and store copies are known,
 * as its recipient did: the seal with its keys, the ratchet message with a copy of its store from
 * when the letter waited. Letters that do not open as letters (none are expected) are left out
 * and counted.
 */
export async function openDelivered(
  letters: readonly DeliveredLetter[],
  secrets: ReadonlyMap<string, KomradeSecrets>,
  snapshots: StoreSnapshots,
): Promise<{ readonly truth: Map<string, TrueLetter>; readonly unopened: number }> {
  const truth = new Map<string, TrueLetter>();
  let unopened = 0;
  for (const letter of letters) {
    const recipient = secrets.get(letter.to);
    const outer =
      recipient === undefined ? undefined : openRatchetLetter(letter.sealed, recipient.keys);
    const sender = outer?.ok === true ? secrets.get(outer.value.from) : undefined;
    let plaintext: Uint8Array | undefined;
    if (recipient !== undefined && outer?.ok === true && sender !== undefined) {
      const { from, type, msg, renewed } = outer.value;
      const frame = { type, msg, ...(renewed === true ? { renewed } : {}) };
      for (const copy of snapshots.candidates(letter.to, letter.request.at)) {
        plaintext = await openWithCopy(
          letter,
          copy,
          recipient,
          { name: from, secrets: sender },
          frame,
        );
        if (plaintext !== undefined) break;
      }
    }
    const signed = plaintext === undefined ? undefined : openSignedLetter(plaintext);
    const verified =
      signed?.ok === true && sender !== undefined && outer?.ok === true
        ? verifyLetter(signed.value, sender.keys.signPublic, letter.to, outer.value.from)
        : undefined;
    if (verified?.ok !== true) {
      unopened += 1;
      continue;
    }
    const { from, to, kind, sentAt } = verified.value;
    truth.set(letter.key, {
      key: letter.key,
      from,
      to,
      kind,
      sentAt,
      sealedLength: letter.sealed.length,
    });
  }
  return { truth, unopened };
}

/** Who follows whom at the end (`follower>followee`): each pair's newest statement is a follow. */
export function trueFollows(truth: Iterable<TrueLetter>): Set<string> {
  const newest = new Map<string, TrueLetter>();
  for (const letter of truth) {
    if (letter.kind !== 'follow' && letter.kind !== 'unfollow') continue;
    const pair = `${letter.from}>${letter.to}`;
    const seen = newest.get(pair);
    if (seen === undefined || letter.sentAt > seen.sentAt) newest.set(pair, letter);
  }
  return new Set([...newest].filter(([, l]) => l.kind === 'follow').map(([pair]) => pair));
}
