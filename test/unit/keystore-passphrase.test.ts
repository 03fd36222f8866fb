/** FileKeystore.changePassphrase: new works, old fails, and a failure half-way leaves the old one. */
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FileKeystore } from '../../client/index.js';
import { KDF_INTERACTIVE, generateIdentityKeys, randomBytes } from '../../common/crypto/index.js';
import { isKomradeError } from '../../common/errors/index.js';

/** Which fs step should fail next, standing in for a crash or a full disk at that point. */
const failing: { step: 'renameSync' | 'writeSync' | undefined } = { step: undefined };

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof fs>();
  const failable =
    <A extends unknown[], R>(step: 'renameSync' | 'writeSync', fn: (...args: A) => R) =>
    (...args: A): R => {
      if (failing.step === step) {
        failing.step = undefined;
        throw Object.assign(new Error(`simulated failure in ${step}`), { code: 'EIO' });
      }
      return fn(...args);
    };
  return {
    ...real,
    renameSync: failable('renameSync', real.renameSync),
    writeSync: failable('writeSync', real.writeSync as (...args: unknown[]) => number),
  };
});

const OLD = 'the old passphrase';
const NEW = 'the brand new passphrase';
let dir: string;
let path: string;

beforeEach(() => {
  dir = fs.mkdtempSync(join(tmpdir(), 'komrade-passphrase-'));
  path = join(dir, 'keystore.json');
  failing.step = undefined;
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  return isKomradeError(error) ? error.code : String(error);
}

async function created(): Promise<{ keystore: FileKeystore; signPublic: Uint8Array }> {
  const keystore = new FileKeystore(path, { kdf: KDF_INTERACTIVE });
  const keys = generateIdentityKeys();
  await keystore.create(OLD, { keys, storageKey: randomBytes(32) });
  return { keystore, signPublic: keys.signPublic };
}

describe('FileKeystore.changePassphrase', () => {
  it('locks the same secrets under the new passphrase; the old one stops working', async () => {
    const { keystore, signPublic } = await created();
    const storageKey = (await keystore.open(OLD)).storageKey;
    await keystore.changePassphrase(OLD, NEW);
    const reopened = await keystore.open(NEW);
    expect(reopened.keys.signPublic).toEqual(signPublic);
    expect(reopened.storageKey).toEqual(storageKey);
    expect(await codeOf(keystore.open(OLD))).toBe('WRONG_PASSPHRASE');
    expect(fs.statSync(path).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir)).toEqual(['keystore.json']);
  });

  it('changes nothing for a wrong old passphrase', async () => {
    const { keystore } = await created();
    const before = fs.readFileSync(path);
    expect(await codeOf(keystore.changePassphrase('a wrong guess', NEW))).toBe('WRONG_PASSPHRASE');
    expect(fs.readFileSync(path).equals(before)).toBe(true);
  });

  for (const step of ['writeSync', 'renameSync'] as const) {
    it(`leaves the old passphrase working when ${step} fails half-way`, async () => {
      const { keystore, signPublic } = await created();
      const before = fs.readFileSync(path);
      failing.step = step;
      expect(await codeOf(keystore.changePassphrase(OLD, NEW))).toContain('simulated failure');
      expect(fs.readFileSync(path).equals(before)).toBe(true);
      expect((await keystore.open(OLD)).keys.signPublic).toEqual(signPublic);
      expect(await codeOf(keystore.open(NEW))).toBe('WRONG_PASSPHRASE');
      expect(fs.readdirSync(dir)).toEqual(['keystore.json']);
    });
  }

  it('ignores a temp file a crash left behind, and can change again', async () => {
    const { keystore } = await created();
    fs.writeFileSync(join(dir, '.keystore.json.0123456789ab.tmp'), '{"half":');
    await keystore.changePassphrase(OLD, NEW);
    expect(await codeOf(keystore.open(OLD))).toBe('WRONG_PASSPHRASE');
    await keystore.changePassphrase(NEW, OLD);
    expect(await codeOf(keystore.open(NEW))).toBe('WRONG_PASSPHRASE');
    await keystore.open(OLD);
  });
});
