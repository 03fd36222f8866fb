/**
 * The client's cost of forward secrecy per letter: a 1 KiB letter signed, encrypted in the
 * pairwise session (each step committed to a real SQLite local store), sealed, then opened and
 * decrypted on the other side; a first message (bundle processed, PQXDH) apart. Baseline in the
 * same run: the same letter signed and sealed with no ratchet (what v1 did), opened and verified.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Ratchet, SqliteLocalStore, ratchetKeyOf } from '../client/index.js';
import {
  generateIdentityKeys,
  openSeal,
  randomBytes,
  seal,
  signDetached,
  verifyDetached,
} from '../common/crypto/index.js';
import {
  openRatchetLetter,
  sealRatchetLetter,
  signLetter,
  type PrekeyBundle,
  type PrekeyUpload,
} from '../common/wire/index.js';

/** Microseconds per letter of each measure, and the bytes on the wire. */
export interface RatchetFigures {
  /** Sign + seal + open + verify, no ratchet (the baseline). */
  readonly plainUs: number;
  /** Sign + ratchet encrypt + seal + open + ratchet decrypt, sessions established. */
  readonly continuingUs: number;
  /** The same for a session's first letter (bundle checked and processed, PQXDH). */
  readonly firstUs: number;
  readonly firstMessageBytes: number;
  readonly continuingMessageBytes: number;
}

const LETTER = {
  v: 2 as const,
  kind: 'text' as const,
  from: 'alice',
  to: 'bob',
  sentAt: 0,
  id: new Uint8Array(16),
  body: 'x'.repeat(1024),
};

/** Measures each for about `ms`. */
export async function benchRatchet(ms: number): Promise<RatchetFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'komrade-bench-ratchet-'));
  const stores: SqliteLocalStore[] = [];
  try {
    const published = new Map<string, PrekeyUpload>();
    const make = (name: string) => {
      const keys = generateIdentityKeys();
      const store = new SqliteLocalStore(join(dir, `${name}.db`), { storageKey: randomBytes(32) });
      stores.push(store);
      const ratchet = new Ratchet({
        store,
        keys,
        self: () => name,
        now: Date.now,
        fetchBundle: (peer) => {
          const upload = published.get(peer);
          const oneTimePrekey = upload?.oneTimePrekeys?.pop();
          if (upload?.signedPrekey === undefined || upload.kyberPrekey === undefined) {
            throw new Error('bench: no prekeys');
          }
          const bundle: PrekeyBundle = {
            name: peer,
            signedPrekey: upload.signedPrekey,
            kyberPrekey: upload.kyberPrekey,
            ...(oneTimePrekey === undefined ? {} : { oneTimePrekey }),
          };
          return Promise.resolve(bundle);
        },
      });
      published.set(name, ratchet.prekeysToPublish(0));
      return { name, keys, store, ratchet, peer: { name, ratchetKey: ratchetKeyOf(keys) } };
    };
    const alice = make('alice');
    const bob = make('bob');

    const plainStart = performance.now();
    let plain = 0;
    while (performance.now() - plainStart < ms) {
      const signed = signLetter(LETTER, alice.keys.signSecret);
      const opened = openSeal(
        seal(signed, bob.keys.boxPublic),
        bob.keys.boxPublic,
        bob.keys.boxSecret,
      );
      if (opened === undefined) throw new Error('bench: seal');
      const sig = signDetached(opened, alice.keys.signSecret);
      if (!verifyDetached(sig, opened, alice.keys.signPublic)) throw new Error('bench: verify');
      plain++;
    }
    const plainUs = ((performance.now() - plainStart) * 1000) / plain;

    const oneLetter = async () => {
      const signed = signLetter(LETTER, alice.keys.signSecret);
      const message = await alice.ratchet.encrypt(bob.peer, signed);
      const sealed = sealRatchetLetter({ v: 2, from: 'alice', ...message }, bob.keys.boxPublic);
      const outer = openRatchetLetter(sealed, bob.keys);
      if (!outer.ok) throw new Error('bench: open');
      const { type, msg } = outer.value;
      const opened = await bob.ratchet.decrypt(alice.peer, { type, msg }, randomBytes(16), sealed);
      if (opened.status !== 'opened') throw new Error(`bench: ${opened.status}`);
      return { type, bytes: msg.length };
    };
    // First letters: a new session each time (restart archives the old one).
    let firstBytes = 0;
    let first = 0;
    const firstStart = performance.now();
    while (performance.now() - firstStart < ms || first < 5) {
      await alice.ratchet.restart(bob.peer);
      if ((published.get('bob')?.oneTimePrekeys?.length ?? 0) === 0) {
        published.set('bob', bob.ratchet.prekeysToPublish(0));
      }
      const sent = await oneLetter();
      if (sent.type !== 'prekey') throw new Error('bench: expected a first message');
      firstBytes = sent.bytes;
      first++;
    }
    const firstUs = ((performance.now() - firstStart) * 1000) / first;
    // Continuing: answered once, then both directions keep the session.
    const reply = await bob.ratchet.encrypt(alice.peer, signLetter(LETTER, bob.keys.signSecret));
    await alice.ratchet.decrypt(bob.peer, reply, randomBytes(16), reply.msg);
    let continuingBytes = 0;
    let continuing = 0;
    const contStart = performance.now();
    while (performance.now() - contStart < ms) {
      const sent = await oneLetter();
      continuingBytes = sent.bytes;
      continuing++;
    }
    const continuingUs = ((performance.now() - contStart) * 1000) / continuing;
    return {
      plainUs,
      continuingUs,
      firstUs,
      firstMessageBytes: firstBytes,
      continuingMessageBytes: continuingBytes,
    };
  } finally {
    for (const store of stores) store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
