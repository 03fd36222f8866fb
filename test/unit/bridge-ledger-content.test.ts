/**
 * An incoming letter travels once: the ledger keeps the triaged letter, as it is to be shown
 * (sender's key holder included), sealed in the vault until shown, as it does collective messages.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteBridgeStore } from '../../bridge/index.js';
import {
  decodeLetterContent,
  encodeLetterContent,
} from '../../bridge/engine/collective-content.js';
import { encodeCanonical } from '../../common/wire/index.js';
import { generateIdentityKeys, randomBytes } from '../../common/crypto/index.js';

const letter = {
  from: 'ann',
  to: 'ben',
  sentAt: 1_700_000_000_000,
  text: 'meet at the library',
  firstContact: true,
  senderKeyHolder: 'telegram',
  post: false,
} as const;

describe('letter content in the delivery ledger', () => {
  it('reads back what was written, and refuses anything else', () => {
    expect(decodeLetterContent(encodeLetterContent(letter))).toEqual(letter);
    expect(decodeLetterContent(encodeLetterContent({ ...letter, senderKeyHolder: null }))).toEqual({
      ...letter,
      senderKeyHolder: null,
    });
    expect(() => decodeLetterContent(encodeCanonical({ ...letter, post: 'no' }))).toThrow(
      expect.objectContaining({ code: 'DECODE_FAILED' }) as unknown,
    );
    expect(() => decodeLetterContent(encodeCanonical({ ...letter, extra: 1 }))).toThrow();
  });

  it('keeps a letter sealed in the vault until shown, then forgets it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'komrade-ledger-letter-'));
    const path = join(dir, 'bridge.db');
    const store = new SqliteBridgeStore(path, {
      vaultKey: randomBytes(32),
      lookupKey: randomBytes(32),
    });
    try {
      const identity = 'AAAAAAAAAAAAAAAAAAAAAA';
      store.createIdentity('test:ben', {
        id: identity,
        keys: generateIdentityKeys(),
        storageKey: randomBytes(32),
        chat: 'chat-ben',
      });
      const content = encodeLetterContent(letter);
      const fetched = store.recordFetched(identity, 'ann', 'letter1', 'op1', {
        collective: null,
        content,
      });
      expect(fetched.collective).toBeNull();
      expect(decodeLetterContent(store.deliveryContent(fetched.id)!)).toEqual(letter);
      // A second copy fetched after a crash: one delivery, the content kept.
      const again = store.recordFetched(identity, 'ann', 'letter1', 'op2');
      expect(again.id).toBe(fetched.id);
      expect(store.deliveryContent(fetched.id)).toEqual(content);
      const raw = new Database(path, { readonly: true });
      const row = raw.prepare('SELECT content FROM deliveries WHERE id = ?').get(fetched.id) as {
        content: Uint8Array;
      };
      raw.close();
      expect(Buffer.from(row.content).includes(Buffer.from('library'))).toBe(false);
      store.markDelivered(fetched.id, 'ref-1');
      expect(store.deliveryContent(fetched.id)).toBeUndefined();
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
