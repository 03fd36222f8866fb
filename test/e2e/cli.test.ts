/** The `komrade` command end to end: two real CLI processes talking through a real Operator. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TEST_PASSPHRASE,
  assertCliBuilt,
  runKomrade,
  type CliRun,
} from '../support/komrade-cli.js';
import { startOperatorProcess, type OperatorProcess } from '../support/operator-process.js';

const PASSPHRASE = TEST_PASSPHRASE;

let operator: OperatorProcess;
let dir: string;
let aliceHome: string;
let bobHome: string;

/** Runs `komrade --home <home> ...args` with the test passphrase and the light KDF. */
const komrade = (
  home: string,
  args: readonly string[],
  options: { input?: string; env?: Record<string, string | undefined> } = {},
): Promise<CliRun> => runKomrade(args, { home, ...options });

async function ok(home: string, args: readonly string[], input?: string): Promise<string> {
  const run = await komrade(home, args, input === undefined ? {} : { input });
  expect(run.stderr).not.toContain(PASSPHRASE);
  expect(run.code, `komrade ${args.join(' ')} failed:\n${run.stderr}`).toBe(0);
  return run.stdout;
}

const json = (text: string): unknown => JSON.parse(text);

beforeAll(async () => {
  assertCliBuilt();
  operator = await startOperatorProcess({ powBits: 8 });
  dir = mkdtempSync(join(tmpdir(), 'komrade-cli-'));
  aliceHome = join(dir, 'alice');
  bobHome = join(dir, 'bob');
});
afterAll(async () => {
  await operator.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe('komrade CLI', () => {
  it('takes two komrades from init to letters, requests and the feed', async () => {
    expect(await ok(aliceHome, ['init', '--operator', operator.url])).toContain('Created');
    const bobInit = json(await ok(bobHome, ['--json', 'init', '--operator', operator.url]));
    expect(bobInit).toMatchObject({ operator: operator.url });

    const register = await komrade(aliceHome, ['register', 'alice']);
    expect(register.code).toBe(0);
    expect(register.stdout).toContain('Registered as @alice');
    expect(register.stderr).toContain('proof of work');
    const bob = json(await ok(bobHome, ['register', '@Bob', '--json']));
    expect(bob).toMatchObject({ name: 'bob' });
    expect(json(await ok(aliceHome, ['whoami', '--json']))).toMatchObject({
      name: 'alice',
      keyHolder: 'self',
    });
    expect(await ok(aliceHome, ['whoami'])).toContain('keys held by: this device');
    const bobProfile = await ok(aliceHome, ['lookup', '@bob']);
    expect(bobProfile).toContain('@bob');
    expect(bobProfile).toContain('keys held by: their own device');

    expect(await ok(aliceHome, ['send', '@bob', 'hello', 'bob'])).toContain('Sent to @bob');
    const held = await ok(bobHome, ['inbox']);
    expect(held).toContain('1 new request');
    expect(held).toContain('@alice');
    expect(held).toContain('Your inbox is empty.');
    const requests = await ok(bobHome, ['requests']);
    expect(requests).toContain('Request from @alice');
    expect(requests).toContain('hello bob');
    expect(await ok(bobHome, ['requests', 'accept', '@alice'])).toContain('Accepted @alice');

    const inbox = await ok(bobHome, ['inbox']);
    expect(inbox).toMatch(/From @alice · \d{4}-\d\d-\d\d \d\d:\d\d UTC\n {2}hello bob/);

    await ok(bobHome, ['send', '@alice'], 'hi alice, from stdin\n');
    const aliceInbox = json(await ok(aliceHome, ['inbox', '--json'])) as {
      checked: { received: number };
      letters: { from: string; text: string; sentAt: number }[];
    };
    expect(aliceInbox.checked.received).toBe(1);
    expect(aliceInbox.letters).toEqual([
      expect.objectContaining({ from: 'bob', text: 'hi alice, from stdin' }),
    ]);

    const posted = json(
      await ok(aliceHome, ['post', 'hello', 'komrades', '--days', '3', '--json']),
    );
    expect(posted).toHaveProperty('expiresAt');
    expect(await ok(bobHome, ['feed'])).toContain('hello komrades');
    const feed = json(await ok(bobHome, ['feed', '--json'])) as {
      posts: { from: string; days: number }[];
    };
    expect(feed.posts[0]).toMatchObject({ from: 'alice', days: 3 });

    const block = json(await ok(bobHome, ['requests', 'block', '@mallory', '--json']));
    expect(block).toEqual({ name: 'mallory', deleted: 0 });
  }, 90_000);

  it('fails with a helpful message, never a secret, and the right exit code', async () => {
    const wrong = await komrade(aliceHome, ['whoami'], {
      env: { KOMRADE_PASSPHRASE: 'not the passphrase' },
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('WRONG_PASSPHRASE');
    expect(wrong.stderr).not.toContain('not the passphrase');
    expect(wrong.stdout).toBe('');

    const unknown = await komrade(aliceHome, ['send', '@nobody', 'hi']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('NAME_UNKNOWN');
    expect(unknown.stderr).toContain('Check the spelling');

    const lookalike = await komrade(join(dir, 'carol'), ['init', '--operator', operator.url]);
    expect(lookalike.code).toBe(0);
    const invalid = await komrade(join(dir, 'carol'), ['register', '\u0430lice']);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain('NAME_INVALID');
    expect(invalid.stderr).toContain('other alphabets');

    const missing = await komrade(join(dir, 'nobody'), ['inbox', '--json']);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe('');
    expect(json(missing.stderr.trim().split('\n').at(-1)!)).toMatchObject({
      error: { code: 'KEYSTORE_MISSING', hint: expect.stringContaining('komrade init') as string },
    });

    const again = await komrade(aliceHome, ['init', '--operator', operator.url]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('KEYSTORE_EXISTS');

    const noPassphrase = await komrade(aliceHome, ['whoami'], {
      env: { KOMRADE_PASSPHRASE: undefined },
    });
    expect(noPassphrase.code).toBe(2);
    expect(noPassphrase.stderr).toContain('KOMRADE_PASSPHRASE');

    const usage = await komrade(aliceHome, ['post', 'x', '--days', 'soon']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('USAGE');

    const stopped = await startOperatorProcess({ powBits: 8 });
    await stopped.cleanup();
    const daveHome = join(dir, 'dave');
    await ok(daveHome, ['init', '--operator', stopped.url]);
    const unreachable = await komrade(daveHome, ['register', 'dave']);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain('OPERATOR_UNREACHABLE');
    expect(unreachable.stderr).toContain(`Is the Operator running at ${stopped.url}`);

    for (const run of [wrong, unknown, invalid, missing, again, noPassphrase, unreachable]) {
      expect(run.stderr + run.stdout).not.toContain(PASSPHRASE);
    }
  }, 90_000);
});
