/** FileKeystore: round trip, wrong passphrase, damaged files, and the KDF floor. */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileKeystore, type KeystoreSecrets } from '../../client/index.js';
import { KDF_INTERACTIVE, generateIdentityKeys, randomBytes } from '../../common/crypto/index.js';
import { isKomradeError } from '../../common/errors/index.js';

const PASSPHRASE = 'correct horse battery staple';
let dir: string;
let path: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'komrade-keystore-'));
  path = join(dir, 'keystore.json');
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const secrets = (): KeystoreSecrets => ({
  keys: generateIdentityKeys(),
  storageKey: randomBytes(32),
});

async function expectCode(promise: Promise<unknown>, code: string): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isKomradeError(error)).toBe(true);
  expect((error as { code: string }).code).toBe(code);
  return error as Error;
}

async function created(): Promise<{ keystore: FileKeystore; original: KeystoreSecrets }> {
  const keystore = new FileKeystore(path, { kdf: KDF_INTERACTIVE });
  const original = secrets();
  await keystore.create(PASSPHRASE, original);
  return { keystore, original };
}

describe('FileKeystore', () => {
  it('round-trips the identity and storage key, in a private file', async () => {
    const { keystore, original } = await created();
    let derived = 0;
    const opened = await keystore.open(PASSPHRASE, { onDeriving: () => derived++ });
    expect(derived).toBe(1);
    expect(opened.keys.signPublic).toEqual(original.keys.signPublic);
    expect(opened.keys.signSecret).toEqual(original.keys.signSecret);
    expect(opened.keys.boxPublic).toEqual(original.keys.boxPublic);
    expect(opened.keys.boxSecret).toEqual(original.keys.boxSecret);
    expect(opened.storageKey).toEqual(original.storageKey);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    // No temp file is left behind.
    expect(readFileSync(path, 'utf8')).not.toContain(PASSPHRASE);
  });

  it('refuses to overwrite an existing keystore', async () => {
    const { keystore } = await created();
    const before = readFileSync(path, 'utf8');
    await expectCode(keystore.create(PASSPHRASE, secrets()), 'KEYSTORE_EXISTS');
    expect(readFileSync(path, 'utf8')).toBe(before);
  });

  it('says KEYSTORE_MISSING when there is no file', async () => {
    await expectCode(new FileKeystore(path).open(PASSPHRASE), 'KEYSTORE_MISSING');
  });

  it('says WRONG_PASSPHRASE for a wrong passphrase, without echoing it', async () => {
    const { keystore } = await created();
    const error = await expectCode(keystore.open('not the passphrase'), 'WRONG_PASSPHRASE');
    expect(error.message).not.toContain('not the passphrase');
  });

  it('says KEYSTORE_CORRUPT for a truncated file', async () => {
    await created();
    const text = readFileSync(path, 'utf8');
    writeFileSync(path, text.slice(0, text.length / 2));
    await expectCode(new FileKeystore(path).open(PASSPHRASE), 'KEYSTORE_CORRUPT');
  });

  it('says KEYSTORE_CORRUPT for garbage and for the wrong shape', async () => {
    writeFileSync(path, '\u0000\u0001garbage');
    await expectCode(new FileKeystore(path).open(PASSPHRASE), 'KEYSTORE_CORRUPT');
    writeFileSync(path, JSON.stringify({ format: 'komrade-keystore', version: 1 }));
    await expectCode(new FileKeystore(path).open(PASSPHRASE), 'KEYSTORE_CORRUPT');
  });

  it('detects a tampered ciphertext', async () => {
    await created();
    const file = JSON.parse(readFileSync(path, 'utf8')) as { sealed: string };
    const bytes = Buffer.from(file.sealed, 'base64url');
    bytes[bytes.length - 1]! ^= 1;
    writeFileSync(path, JSON.stringify({ ...file, sealed: bytes.toString('base64url') }));
    await expectCode(new FileKeystore(path).open(PASSPHRASE), 'WRONG_PASSPHRASE');
  });

  it('binds the KDF parameters: raising them in the file breaks decryption', async () => {
    await created();
    const file = JSON.parse(readFileSync(path, 'utf8')) as { kdf: Record<string, unknown> };
    file.kdf.opsLimit = 3;
    writeFileSync(path, JSON.stringify(file));
    await expectCode(new FileKeystore(path).open(PASSPHRASE), 'WRONG_PASSPHRASE');
  });

  it('refuses a file asking for weaker (or absurd) KDF parameters', async () => {
    await created();
    const file = JSON.parse(readFileSync(path, 'utf8')) as { kdf: Record<string, unknown> };
    writeFileSync(path, JSON.stringify({ ...file, kdf: { ...file.kdf, opsLimit: 1 } }));
    await expectCode(new FileKeystore(path).open(PASSPHRASE), 'KEYSTORE_CORRUPT');
    writeFileSync(path, JSON.stringify({ ...file, kdf: { ...file.kdf, memLimitBytes: 8192 } }));
    await expectCode(new FileKeystore(path).open(PASSPHRASE), 'KEYSTORE_CORRUPT');
    writeFileSync(path, JSON.stringify({ ...file, kdf: { ...file.kdf, memLimitBytes: 2 ** 40 } }));
    await expectCode(new FileKeystore(path).open(PASSPHRASE), 'KEYSTORE_CORRUPT');
  });

  it('refuses to create a keystore with a KDF weaker than INTERACTIVE', () => {
    expect(() => new FileKeystore(path, { kdf: { opsLimit: 1, memLimitBytes: 8192 } })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }) as Error,
    );
  });
});
