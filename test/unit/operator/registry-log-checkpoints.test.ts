/** The Operator's checkpoint signer and the log routes' strict query reader. */
import { describe, expect, it } from 'vitest';
import { generateIdentityKeys } from '../../../common/crypto/index.js';
import { isKomradeError } from '../../../common/errors/index.js';
import {
  emptyRoot,
  leafHash,
  noteVerifier,
  openCheckpoint,
} from '../../../common/transparency/index.js';
import { registryOrigin } from '../../../common/wire/index.js';
import { logQuery } from '../../../operator/http/routes/log-query.js';
import { CheckpointSigner } from '../../../operator/registry-log/index.js';

const codeOf = (run: () => unknown): string | undefined => {
  try {
    run();
    return undefined;
  } catch (error) {
    return isKomradeError(error) ? error.code : 'not a KomradeError';
  }
};

describe('CheckpointSigner', () => {
  const keys = generateIdentityKeys();
  const origin = registryOrigin(keys.signPublic);
  const trust = { origin, log: noteVerifier(origin, keys.signPublic) };

  it('signs a C2SP checkpoint under the registry origin, with no extension lines', () => {
    const signer = new CheckpointSigner(keys);
    expect(signer.origin).toBe(origin);
    const root = leafHash(Uint8Array.of(1));
    const note = signer.note({ size: 1, rootHash: root });
    const opened = openCheckpoint(note, trust);
    expect(opened.ok && opened.value.checkpoint).toEqual({
      origin,
      size: 1,
      rootHash: root,
      extensions: [],
    });
    expect(note.split('\n').slice(0, 3)).toEqual([
      origin,
      '1',
      Buffer.from(root).toString('base64'),
    ]);
    // Another Operator's key does not open it.
    const other = generateIdentityKeys();
    const foreign = openCheckpoint(note, { origin, log: noteVerifier(origin, other.signPublic) });
    expect(foreign.ok).toBe(false);
  });

  it('answers the same note for a size again, and refuses a second root for it', () => {
    const signer = new CheckpointSigner(keys);
    const root = leafHash(Uint8Array.of(2));
    const first = signer.note({ size: 2, rootHash: root });
    expect(signer.note({ size: 2, rootHash: Uint8Array.from(root) })).toBe(first);
    expect(codeOf(() => signer.note({ size: 2, rootHash: leafHash(Uint8Array.of(3)) }))).toBe(
      'INTERNAL',
    );
    // A fresh signer signs the same bytes (Ed25519 is deterministic).
    expect(new CheckpointSigner(keys).note({ size: 2, rootHash: root })).toBe(first);
    expect(openCheckpoint(signer.note({ size: 0, rootHash: emptyRoot() }), trust).ok).toBe(true);
  });

  it('keeps only the newest few sizes', () => {
    const signer = new CheckpointSigner(keys);
    const rootOf = (n: number) => leafHash(Uint8Array.of(n));
    for (let size = 1; size <= 20; size++) signer.note({ size, rootHash: rootOf(size) });
    // Size 1 was evicted: a different root for it is no longer compared (nothing is kept).
    expect(codeOf(() => signer.note({ size: 1, rootHash: rootOf(99) }))).toBeUndefined();
    expect(codeOf(() => signer.note({ size: 20, rootHash: rootOf(99) }))).toBe('INTERNAL');
  });
});

describe('logQuery', () => {
  it('reads exactly the named whole numbers, in any order', () => {
    expect(logQuery('from=1&to=22', ['from', 'to'])).toEqual({ from: 1, to: 22 });
    expect(logQuery('to=0&from=9007199254740991', ['from', 'to'])).toEqual({
      from: 9007199254740991,
      to: 0,
    });
  });

  it('refuses anything else with BAD_REQUEST', () => {
    const bad = [
      undefined,
      '',
      'from=1',
      'from=1&to=2&to=2',
      'from=1&to=2&extra=3',
      'from=01&to=2',
      'from=+1&to=2',
      'from=-1&to=2',
      'from=1.0&to=2',
      'from=1e3&to=2',
      'from=0x1&to=2',
      'from=%31&to=2',
      'from= 1&to=2',
      'from&to=2',
      'from=&to=2',
      'from=9007199254740992&to=2',
      'from=99999999999999999&to=2',
    ];
    for (const query of bad) {
      expect({ query, code: codeOf(() => logQuery(query, ['from', 'to'])) }).toEqual({
        query,
        code: 'BAD_REQUEST',
      });
    }
  });
});
