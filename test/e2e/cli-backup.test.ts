/** `komrade backup`, `restore` and `passphrase` end to end: the CLI's commands, a real Operator. */
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_PASSPHRASE, runKomradeInProcess, type CliRun } from '../support/komrade-cli.js';
import { startOperatorProcess, type OperatorProcess } from '../support/operator-process.js';

const BACKUP_PASSPHRASE = 'the passphrase of the backup file';
const NEW_PASSPHRASE = 'a new passphrase on the new laptop';

let operator: OperatorProcess;
let dir: string;

type Env = Record<string, string | undefined>;

const komrade = (home: string, args: readonly string[], env: Env = {}): Promise<CliRun> =>
  runKomradeInProcess(args, { home, env });

async function ok(home: string, args: readonly string[], env: Env = {}): Promise<string> {
  const run = await komrade(home, args, env);
  expect(run.code, `komrade ${args.join(' ')} failed:\n${run.stderr}`).toBe(0);
  for (const secret of [TEST_PASSPHRASE, BACKUP_PASSPHRASE, NEW_PASSPHRASE]) {
    expect(run.stdout + run.stderr).not.toContain(secret);
  }
  return run.stdout;
}

async function fails(
  home: string,
  args: readonly string[],
  env: Env,
  code: string,
): Promise<CliRun> {
  const run = await komrade(home, [...args, '--json'], env);
  expect(run.code, run.stderr).toBe(code === 'USAGE' ? 2 : 1);
  const last = run.stderr.trim().split('\n').at(-1) ?? '';
  expect(JSON.parse(last)).toMatchObject({ error: { code } });
  for (const secret of [TEST_PASSPHRASE, BACKUP_PASSPHRASE, NEW_PASSPHRASE]) {
    expect(run.stdout + run.stderr).not.toContain(secret);
  }
  return run;
}

interface Inbox {
  letters: { from: string; text: string }[];
  requests: { from: string; letters: number }[];
}
const inbox = async (home: string, env: Env = {}): Promise<Inbox> =>
  JSON.parse(await ok(home, ['inbox', '--json'], env)) as Inbox;
const texts = (box: Inbox) => box.letters.map((l) => `${l.from}: ${l.text}`);

const withBackupPassphrase = { KOMRADE_BACKUP_PASSPHRASE: BACKUP_PASSPHRASE };

beforeAll(async () => {
  operator = await startOperatorProcess({ powBits: 8 });
  dir = mkdtempSync(join(tmpdir(), 'komrade-cli-backup-'));
});
afterAll(async () => {
  await operator.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe('komrade backup and restore', () => {
  it('brings alice back on a fresh home with her state and the letters sent since', async () => {
    const aliceHome = join(dir, 'alice');
    const bobHome = join(dir, 'bob');
    const freshHome = join(dir, 'alice-new-laptop');
    await ok(aliceHome, ['init', '--operator', operator.url]);
    await ok(bobHome, ['init', '--operator', operator.url]);
    await ok(aliceHome, ['register', 'alice']);
    await ok(bobHome, ['register', 'bob']);

    await ok(bobHome, ['send', '@alice', 'first letter, before the backup']);
    expect((await inbox(aliceHome)).requests).toEqual([{ from: 'bob', letters: 1 }]);
    await ok(aliceHome, ['requests', 'accept', '@bob']);
    expect(texts(await inbox(aliceHome))).toEqual(['bob: first letter, before the backup']);

    const file = join(dir, 'alice.kbackup');
    const backup = JSON.parse(
      await ok(aliceHome, ['backup', file, '--json'], withBackupPassphrase),
    ) as { file: string; bytes: number };
    expect(backup.file).toBe(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const bytes = readFileSync(file);
    expect(bytes.length).toBe(backup.bytes);
    expect(bytes.subarray(0, 14).toString('latin1')).toBe('komrade-backup');
    expect(bytes.includes(Buffer.from(TEST_PASSPHRASE))).toBe(false);
    expect(bytes.includes(Buffer.from('first letter'))).toBe(false);

    // Never over an existing file without --force, and a backup passphrase is required.
    await fails(aliceHome, ['backup', file], withBackupPassphrase, 'USAGE');
    expect(readFileSync(file).equals(bytes)).toBe(true);
    await fails(
      aliceHome,
      ['backup', join(dir, 'missing', 'x.kbackup')],
      withBackupPassphrase,
      'USAGE',
    );
    const short = await fails(
      aliceHome,
      ['backup', join(dir, 'short.kbackup')],
      {
        KOMRADE_BACKUP_PASSPHRASE: 'short',
      },
      'USAGE',
    );
    expect(short.stderr).toContain('at least 8');
    const none = await fails(aliceHome, ['backup', join(dir, 'none.kbackup')], {}, 'USAGE');
    expect(none.stderr).toContain('KOMRADE_BACKUP_PASSPHRASE');
    expect(existsSync(join(dir, 'short.kbackup')) || existsSync(join(dir, 'none.kbackup'))).toBe(
      false,
    );

    await ok(bobHome, ['send', '@alice', 'second letter, after the backup']);

    // Bad passphrase or bad file: BACKUP_INVALID, and nothing is written.
    const restoreEnv = { ...withBackupPassphrase, KOMRADE_PASSPHRASE: NEW_PASSPHRASE };
    const wrong = await fails(
      freshHome,
      ['restore', file],
      { ...restoreEnv, KOMRADE_BACKUP_PASSPHRASE: 'not the backup passphrase' },
      'BACKUP_INVALID',
    );
    expect(wrong.stderr).toContain('cannot tell');
    const truncated = join(dir, 'truncated.kbackup');
    writeFileSync(truncated, bytes.subarray(0, bytes.length - 100));
    await fails(freshHome, ['restore', truncated], restoreEnv, 'BACKUP_INVALID');
    const flipped = join(dir, 'flipped.kbackup');
    const flippedBytes = Buffer.from(bytes);
    flippedBytes[Math.floor(bytes.length / 2)]! ^= 0x40;
    writeFileSync(flipped, flippedBytes);
    await fails(freshHome, ['restore', flipped], restoreEnv, 'BACKUP_INVALID');
    expect(existsSync(freshHome) ? readdirSync(freshHome) : []).toEqual([]);

    const restored = JSON.parse(await ok(freshHome, ['restore', file, '--json'], restoreEnv)) as {
      home: string;
      operator: string;
    };
    expect(restored).toMatchObject({ home: freshHome, operator: operator.url });
    expect(statSync(join(freshHome, 'keystore.json')).mode & 0o777).toBe(0o600);

    // The restored keystore opens with the new local passphrase only.
    const fresh = { KOMRADE_PASSPHRASE: NEW_PASSPHRASE };
    expect(JSON.parse(await ok(freshHome, ['whoami', '--json'], fresh))).toMatchObject({
      name: 'alice',
    });
    await fails(freshHome, ['whoami'], {}, 'WRONG_PASSPHRASE');

    // Old state (bob accepted, the first letter) and the letter that waited at the Operator.
    const freshInbox = await inbox(freshHome, fresh);
    expect(texts(freshInbox)).toEqual([
      'bob: first letter, before the backup',
      'bob: second letter, after the backup',
    ]);
    expect(freshInbox.requests).toEqual([]);

    await ok(freshHome, ['send', '@bob', 'hello from the new laptop'], fresh);
    // Bob wrote to alice first, so her letter from the new laptop goes straight to his inbox.
    expect(texts(await inbox(bobHome))).toEqual(['alice: hello from the new laptop']);

    // A letter fetched (and so acknowledged) by the old machine after the backup is gone for
    // the restored one: only the old machine has it.
    await ok(bobHome, ['send', '@alice', 'third letter, fetched by the old laptop']);
    expect(texts(await inbox(aliceHome))).toContain('bob: third letter, fetched by the old laptop');
    expect(texts(await inbox(freshHome, fresh))).not.toContain(
      'bob: third letter, fetched by the old laptop',
    );
  }, 240_000);

  it('refuses a home that is not empty, and with --force moves its keys aside', async () => {
    const aliceHome = join(dir, 'alice');
    const carolHome = join(dir, 'carol');
    const file = join(dir, 'alice.kbackup');
    await ok(carolHome, ['init', '--operator', operator.url]);
    const carolKeystore = readFileSync(join(carolHome, 'keystore.json'));
    const carolEnv = { ...withBackupPassphrase, KOMRADE_PASSPHRASE: NEW_PASSPHRASE };

    const refused = await fails(carolHome, ['restore', file], carolEnv, 'KEYSTORE_EXISTS');
    expect(refused.stderr).toContain('--force');
    expect(readFileSync(join(carolHome, 'keystore.json')).equals(carolKeystore)).toBe(true);
    const aliceKeystore = readFileSync(join(aliceHome, 'keystore.json'));
    await fails(aliceHome, ['restore', file], carolEnv, 'KEYSTORE_EXISTS');
    expect(readFileSync(join(aliceHome, 'keystore.json')).equals(aliceKeystore)).toBe(true);

    const forced = JSON.parse(
      await ok(carolHome, ['restore', file, '--force', '--json'], carolEnv),
    ) as { movedAside: string };
    expect(readFileSync(join(forced.movedAside, 'keystore.json')).equals(carolKeystore)).toBe(true);
    expect(existsSync(join(forced.movedAside, 'komrade.db'))).toBe(true);
    expect(
      JSON.parse(await ok(carolHome, ['whoami', '--json'], { KOMRADE_PASSPHRASE: NEW_PASSPHRASE })),
    ).toMatchObject({ name: 'alice' });
  }, 120_000);
});

describe('komrade passphrase', () => {
  it('changes the keystore passphrase: the new one unlocks, the old one no longer does', async () => {
    const home = join(dir, 'dora');
    await ok(home, ['init', '--operator', operator.url]);
    await ok(home, ['register', 'dora']);

    // A wrong old passphrase or a too-short new one changes nothing.
    await fails(
      home,
      ['passphrase'],
      { KOMRADE_PASSPHRASE: 'not the passphrase', KOMRADE_NEW_PASSPHRASE: NEW_PASSPHRASE },
      'WRONG_PASSPHRASE',
    );
    await fails(home, ['passphrase'], { KOMRADE_NEW_PASSPHRASE: 'short' }, 'USAGE');
    await fails(home, ['passphrase'], {}, 'USAGE');
    await ok(home, ['whoami']);

    await ok(home, ['passphrase'], { KOMRADE_NEW_PASSPHRASE: NEW_PASSPHRASE });
    expect(
      JSON.parse(await ok(home, ['whoami', '--json'], { KOMRADE_PASSPHRASE: NEW_PASSPHRASE })),
    ).toMatchObject({ name: 'dora' });
    await fails(home, ['whoami'], {}, 'WRONG_PASSPHRASE');
    expect(statSync(join(home, 'keystore.json')).mode & 0o777).toBe(0o600);
    expect(readdirSync(home).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  }, 120_000);
});
