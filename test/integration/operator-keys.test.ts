/** The Operator's keys at rest: created once, reloaded, encrypted under a passphrase or master.key. */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  blind,
  blindEvaluate,
  finalize,
  generateIdentityKeys,
  randomBytes,
  secretsOf,
  type KdfParams,
} from '../../common/crypto/index.js';
import { isKomradeError } from '../../common/errors/index.js';
import { silentLogger, type Logger } from '../../common/logging/index.js';
import { encodeCanonical, tokenEpochInfo } from '../../common/wire/index.js';
import {
  KEY_FILE,
  KeyProtection,
  MASTER_KEY_FILE,
  TokenVerifier,
  loadOperatorKeys,
  type OperatorKeys,
} from '../../operator/index.js';

// Cheap Argon2id for tests; production uses KDF_MODERATE.
const kdf: KdfParams = { opsLimit: 1, memLimitBytes: 8 * 1024 * 1024 };
const temps: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'komrade-operator-keys-'));
  temps.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return isKomradeError(error) ? error.code : 'not a KomradeError';
  }
}

describe('loadOperatorKeys', () => {
  it('creates keys under a 0600 master.key with a loud warning, then reloads the same keys', () => {
    const dataDir = tempDir();
    const warnings: string[] = [];
    const logger: Logger = { ...silentLogger, warn: (event) => warnings.push(event) };
    const first = loadOperatorKeys({ dataDir, logger, kdf });
    expect(warnings).toContain('operator.keys.unprotected');
    expect(statSync(join(dataDir, MASTER_KEY_FILE)).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, KEY_FILE)).mode & 0o777).toBe(0o600);
    const text = readFileSync(join(dataDir, KEY_FILE), 'utf8');
    expect(text).not.toContain(Buffer.from(first.signSecret.slice(0, 32)).toString('base64url'));
    const second = loadOperatorKeys({ dataDir, logger: silentLogger, kdf });
    expect(hex(second.signPublic)).toBe(hex(first.signPublic));
    expect(hex(second.boxPublic)).toBe(hex(first.boxPublic));
  });

  it('encrypts under a passphrase and refuses a wrong or missing one', () => {
    const dataDir = tempDir();
    const keys = loadOperatorKeys({
      dataDir,
      passphrase: 'correct horse',
      logger: silentLogger,
      kdf,
    });
    const again = loadOperatorKeys({
      dataDir,
      passphrase: 'correct horse',
      logger: silentLogger,
      kdf,
    });
    expect(hex(again.signPublic)).toBe(hex(keys.signPublic));
    expect(
      codeOf(() => loadOperatorKeys({ dataDir, passphrase: 'wrong', logger: silentLogger, kdf })),
    ).toBe('WRONG_PASSPHRASE');
    expect(codeOf(() => loadOperatorKeys({ dataDir, logger: silentLogger, kdf }))).toBe(
      'WRONG_PASSPHRASE',
    );
  });

  it('re-encrypts master.key-protected keys once a passphrase is set', () => {
    const dataDir = tempDir();
    const keys = loadOperatorKeys({ dataDir, logger: silentLogger, kdf });
    loadOperatorKeys({ dataDir, passphrase: 'now with a passphrase', logger: silentLogger, kdf });
    const file = JSON.parse(readFileSync(join(dataDir, KEY_FILE), 'utf8')) as {
      protection: string;
    };
    expect(file.protection).toBe('passphrase');
    const again = loadOperatorKeys({
      dataDir,
      passphrase: 'now with a passphrase',
      logger: silentLogger,
      kdf,
    });
    expect(hex(again.signPublic)).toBe(hex(keys.signPublic));
  });

  it('refuses a corrupt key file or a mismatched master.key', () => {
    const dataDir = tempDir();
    loadOperatorKeys({ dataDir, logger: silentLogger, kdf });
    writeFileSync(join(dataDir, MASTER_KEY_FILE), Buffer.alloc(32, 7));
    expect(codeOf(() => loadOperatorKeys({ dataDir, logger: silentLogger, kdf }))).toBe(
      'KEYSTORE_CORRUPT',
    );
    writeFileSync(join(dataDir, KEY_FILE), '{"v":1');
    expect(codeOf(() => loadOperatorKeys({ dataDir, logger: silentLogger, kdf }))).toBe(
      'KEYSTORE_CORRUPT',
    );
  });

  it('keeps the token key with the others: encrypted, and the same on every load', () => {
    const dataDir = tempDir();
    const first = loadOperatorKeys({
      dataDir,
      passphrase: 'token pass',
      logger: silentLogger,
      kdf,
    });
    expect(first.token.publicKey).toHaveLength(32);
    expect(first.token.secretKey).toHaveLength(32);
    const text = readFileSync(join(dataDir, KEY_FILE), 'utf8');
    for (const secret of [first.token.secretKey, first.tokenSeed]) {
      expect(text).not.toContain(Buffer.from(secret).toString('base64url'));
      expect(text).not.toContain(Buffer.from(secret).toString('hex'));
    }
    const again = loadOperatorKeys({
      dataDir,
      passphrase: 'token pass',
      logger: silentLogger,
      kdf,
    });
    expect(hex(again.token.publicKey)).toBe(hex(first.token.publicKey));
    expect(hex(again.token.secretKey)).toBe(hex(first.token.secretKey));
    // Two Operators never share a token key.
    const other = loadOperatorKeys({ dataDir: tempDir(), logger: silentLogger, kdf });
    expect(hex(other.token.publicKey)).not.toBe(hex(first.token.publicKey));
  });

  it('adds a token key to a key file from before tokens, keeping the identity keys', () => {
    const dataDir = tempDir();
    const identity = generateIdentityKeys();
    const { signSeed, boxSecret } = secretsOf(identity);
    const protection = new KeyProtection({ dataDir, logger: silentLogger, kdf });
    // The file as an Operator without tokens wrote it: two secrets only.
    const old = protection.seal(
      encodeCanonical({ signSeed, feedSecret: boxSecret }),
      'operator-keys',
    );
    writeFileSync(join(dataDir, KEY_FILE), JSON.stringify(old), { mode: 0o600 });
    const events: string[] = [];
    const logger: Logger = { ...silentLogger, info: (event) => events.push(event) };
    const upgraded: OperatorKeys = loadOperatorKeys({ dataDir, logger, kdf });
    expect(events).toContain('operator.keys.token_key_added');
    expect(hex(upgraded.signPublic)).toBe(hex(identity.signPublic));
    expect(hex(upgraded.boxPublic)).toBe(hex(identity.boxPublic));
    expect(readFileSync(join(dataDir, KEY_FILE), 'utf8')).not.toBe(JSON.stringify(old));
    const again = loadOperatorKeys({ dataDir, logger: silentLogger, kdf });
    expect(hex(again.token.publicKey)).toBe(hex(upgraded.token.publicKey));
    expect(hex(again.signPublic)).toBe(hex(identity.signPublic));

    // The loaded key issues tokens that check out against itself.
    const epoch = 20_000;
    const input = randomBytes(32);
    const batch = blind('POPRF', [input]);
    const params = { mode: 'POPRF' as const, info: tokenEpochInfo(epoch) };
    const [output] = finalize(
      params,
      again.token.publicKey,
      batch,
      blindEvaluate(params, again.token, batch.blindedElements),
    );
    const verifier = new TokenVerifier(again.token);
    expect(verifier.check({ epoch, input, output: output! }, epoch * 86_400_000 + 1)).toHaveLength(
      32,
    );
  });
});
