/** The backup file: round trip, the header, and every kind of bad file or passphrase. */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  SqliteLocalStore,
  openBackup,
  sealBackup,
  snapshotLocalStore,
  writeBackupFile,
  writeLocalStoreImage,
  type BackupContents,
} from '../../client/index.js';
import {
  KDF_INTERACTIVE,
  generateIdentityKeys,
  randomBytes,
  secretsOf,
} from '../../common/crypto/index.js';
import { isKomradeError } from '../../common/errors/index.js';

const PASSPHRASE = 'the backup passphrase';
const kdf = KDF_INTERACTIVE;
/** magic (14) ‖ version (1) ‖ opsLimit (4) ‖ memLimitBytes (8) ‖ salt (16). */
const HEADER = 43;
const VERSION_AT = 14;
const OPS_AT = 15;
const MEM_AT = 19;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'komrade-backup-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const contents = (): BackupContents => ({
  keys: generateIdentityKeys(),
  storageKey: randomBytes(32),
  store: new TextEncoder().encode('SQLite format 3\0 pretend store with a secret letter'),
  createdAt: 1_760_000_000_000,
});

async function codeOf(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isKomradeError(error), String(error)).toBe(true);
  return error as { code: string; message: string };
}

const contains = (haystack: Uint8Array, needle: Uint8Array): boolean =>
  Buffer.from(haystack).includes(Buffer.from(needle));

describe('backup file format', () => {
  it('round-trips keys, storage key, store and time under the passphrase', async () => {
    const original = contents();
    const file = await sealBackup(original, PASSPHRASE, { kdf });
    const opened = await openBackup(file, PASSPHRASE);
    expect(opened.keys.signPublic).toEqual(original.keys.signPublic);
    expect(opened.keys.signSecret).toEqual(original.keys.signSecret);
    expect(opened.keys.boxSecret).toEqual(original.keys.boxSecret);
    expect(opened.keys.boxPublic).toEqual(original.keys.boxPublic);
    expect(opened.storageKey).toEqual(original.storageKey);
    expect(opened.store).toEqual(original.store);
    expect(opened.createdAt).toBe(original.createdAt);
  });

  it('starts with a readable versioned header and holds nothing in the clear', async () => {
    const original = contents();
    const file = await sealBackup(original, PASSPHRASE, { kdf });
    expect(Buffer.from(file.subarray(0, 14)).toString('latin1')).toBe('komrade-backup');
    expect(file[VERSION_AT]).toBe(1);
    expect(Buffer.from(file).readUInt32BE(OPS_AT)).toBe(kdf.opsLimit);
    expect(Number(Buffer.from(file).readBigUInt64BE(MEM_AT))).toBe(kdf.memLimitBytes);
    expect(contains(file, original.storageKey)).toBe(false);
    expect(contains(file, secretsOf(original.keys).signSeed)).toBe(false);
    expect(contains(file, original.keys.boxSecret)).toBe(false);
    expect(contains(file, new TextEncoder().encode('secret letter'))).toBe(false);
    expect(contains(file, new TextEncoder().encode(PASSPHRASE))).toBe(false);
    // A fresh salt and nonce each time: two backups of the same state differ.
    const again = await sealBackup(original, PASSPHRASE, { kdf });
    expect(Buffer.from(again).equals(Buffer.from(file))).toBe(false);
  });

  it('refuses a wrong passphrase with BACKUP_INVALID, saying it cannot tell from damage', async () => {
    const file = await sealBackup(contents(), PASSPHRASE, { kdf });
    const error = await codeOf(openBackup(file, 'not the backup passphrase'));
    expect(error.code).toBe('BACKUP_INVALID');
    expect(error.message).toContain('cannot tell');
    expect(error.message).not.toContain('not the backup passphrase');
  });

  it('refuses truncated files of every size with BACKUP_INVALID', async () => {
    const file = await sealBackup(contents(), PASSPHRASE, { kdf });
    for (const length of [0, 5, 14, HEADER - 1, HEADER, HEADER + 24, file.length - 1]) {
      const error = await codeOf(openBackup(file.slice(0, length), PASSPHRASE));
      expect(error.code, `length ${length}`).toBe('BACKUP_INVALID');
    }
    const padded = new Uint8Array(file.length + 1);
    padded.set(file);
    expect((await codeOf(openBackup(padded, PASSPHRASE))).code).toBe('BACKUP_INVALID');
  });

  it('refuses a flipped bit anywhere (magic, header, nonce, ciphertext, tag)', async () => {
    const file = await sealBackup(contents(), PASSPHRASE, { kdf });
    const positions = [0, VERSION_AT, OPS_AT + 3, MEM_AT + 7, HEADER - 1, HEADER, HEADER + 30];
    positions.push(Math.floor((HEADER + file.length) / 2), file.length - 1);
    for (const at of positions) {
      const bad = file.slice();
      bad[at] = (bad[at] ?? 0) ^ 0x01;
      const error = await codeOf(openBackup(bad, PASSPHRASE));
      expect(error.code, `bit flipped at ${at}`).toBe('BACKUP_INVALID');
    }
  });

  it('names an unknown format version and refuses out-of-range KDF costs before deriving', async () => {
    const file = await sealBackup(contents(), PASSPHRASE, { kdf });
    const newer = file.slice();
    newer[VERSION_AT] = 2;
    const version = await codeOf(openBackup(newer, PASSPHRASE));
    expect(version.code).toBe('BACKUP_INVALID');
    expect(version.message).toContain('format version 2');

    const cheaper = file.slice();
    Buffer.from(cheaper.buffer).writeUInt32BE(1, OPS_AT);
    expect((await codeOf(openBackup(cheaper, PASSPHRASE))).message).toContain('out of range');

    const huge = file.slice();
    Buffer.from(huge.buffer).writeBigUInt64BE(2n ** 62n, MEM_AT);
    expect((await codeOf(openBackup(huge, PASSPHRASE))).message).toContain('out of range');

    const costlier = file.slice();
    Buffer.from(costlier.buffer).writeUInt32BE(kdf.opsLimit + 1, OPS_AT);
    // In range, but the header is bound to the ciphertext: raising it breaks decryption too.
    expect((await codeOf(openBackup(costlier, PASSPHRASE))).code).toBe('BACKUP_INVALID');
  });

  it('refuses to write with a KDF cost below the floor', async () => {
    const error = await codeOf(
      sealBackup(contents(), PASSPHRASE, { kdf: { opsLimit: 1, memLimitBytes: 8192 } }),
    );
    expect(error.code).toBe('CONFIG_INVALID');
  });
});

describe('backup files and store images on disk', () => {
  it('writes the backup with mode 0600 and never over a file without replace', () => {
    const path = join(dir, 'alice.kbackup');
    writeBackupFile(path, new Uint8Array([1, 2, 3]), false);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    let error: unknown;
    try {
      writeBackupFile(path, new Uint8Array([4, 5, 6]), false);
    } catch (e) {
      error = e;
    }
    expect(isKomradeError(error, 'USAGE')).toBe(true);
    expect([...readFileSync(path)]).toEqual([1, 2, 3]);
    expect(() => {
      writeBackupFile(join(dir, 'no-such-folder', 'x.kbackup'), new Uint8Array([1]), false);
    }).toThrow(expect.objectContaining({ code: 'USAGE' }) as Error);
    writeBackupFile(path, new Uint8Array([7, 8]), true);
    expect([...readFileSync(path)]).toEqual([7, 8]);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('snapshots a store that is open (WAL) and restores it to an equivalent store', () => {
    const storageKey = randomBytes(32);
    const source = join(dir, 'komrade.db');
    const store = new SqliteLocalStore(source, { storageKey });
    let image: Uint8Array;
    try {
      store.setOperatorUrl('http://127.0.0.1:8470');
      store.pinTokenKey(new Uint8Array(32).fill(7));
      store.saveTokens([{ epoch: 20_000, input: randomBytes(32), output: randomBytes(64) }]);
      // Still open: the change may sit only in the WAL, which a raw copy of komrade.db would miss.
      image = snapshotLocalStore(source);
    } finally {
      store.close();
    }
    const target = join(dir, 'restored.db');
    writeLocalStoreImage(target, image);
    expect(statSync(target).mode & 0o777).toBe(0o600);
    const restored = new SqliteLocalStore(target, { storageKey });
    try {
      expect(restored.operatorUrl()).toBe('http://127.0.0.1:8470');
      // Tokens stay behind (the original goes on spending them); the pinned key comes along.
      expect(restored.tokenCount([20_000])).toBe(0);
      expect(restored.pinnedTokenKey()).toEqual(new Uint8Array(32).fill(7));
    } finally {
      restored.close();
    }
    expect(() => {
      writeLocalStoreImage(target, image);
    }).toThrow(expect.objectContaining({ code: 'KEYSTORE_EXISTS' }) as Error);
    expect(() => {
      writeLocalStoreImage(join(dir, 'other.db'), new Uint8Array(4096));
    }).toThrow(expect.objectContaining({ code: 'BACKUP_INVALID' }) as Error);
  });

  it('leaves no temp files behind', () => {
    const source = join(dir, 'komrade.db');
    new SqliteLocalStore(source, { storageKey: randomBytes(32) }).close();
    snapshotLocalStore(source);
    writeFileSync(join(dir, 'x'), '');
    writeBackupFile(join(dir, 'b.kbackup'), new Uint8Array([1]), false);
    const leftovers = readdirSync(dir).filter((name) => name.startsWith('.'));
    expect(leftovers).toEqual([]);
  });
});
