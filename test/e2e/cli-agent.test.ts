/**
 * `komrade unlock` / `komrade lock` (issue #9): a detached agent holds the derived keystore key
 * on a private socket, so later commands of the same home run with no passphrase at all. `unlock`
 * runs as the built CLI (it starts the agent from dist/), every other command in this process,
 * against a real Operator.
 */
import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KDF_INTERACTIVE, deriveKeyFromPassphrase, initCrypto } from '../../common/crypto/index.js';
import {
  TEST_PASSPHRASE,
  assertCliBuilt,
  runKomradeInProcess,
  runKomradeOk,
  runKomradeOkInProcess,
  type CliRun,
} from '../support/komrade-cli.js';
import { startOperatorProcess, type OperatorProcess } from '../support/operator-process.js';

let operator: OperatorProcess;
let dir: string;
let homes = 0;
const used: string[] = [];

/** No KOMRADE_PASSPHRASE and an empty, closed stdin: nothing can give the passphrase. */
const NO_PASSPHRASE = { KOMRADE_PASSPHRASE: undefined };

const newHome = (): string => {
  const home = join(dir, `h${++homes}`);
  used.push(home);
  return home;
};
const socketOf = (home: string) => join(home, 'agent', 'socket');

const komrade = (
  home: string,
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): Promise<CliRun> => runKomradeInProcess(args, { home, env });

async function ok(
  home: string,
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): Promise<CliRun> {
  return runKomradeOkInProcess(args, { home, env });
}

/** An `unlock` that starts an agent: the built CLI, which finds the agent's entry in dist/. */
async function unlockAgent(home: string, args: readonly string[]): Promise<CliRun> {
  return runKomradeOk(['unlock', ...args], { home });
}

/** What a command does when no passphrase can be had: it asks (and, with no terminal, fails). */
async function expectAsksForPassphrase(home: string): Promise<void> {
  const run = await komrade(home, ['whoami'], NO_PASSPHRASE);
  expect(run.code).toBe(2);
  expect(run.stderr).toContain('No passphrase');
  // The fallback is silent: nothing about an agent.
  expect(run.stderr.toLowerCase()).not.toContain('agent');
}

/** Polls (bounded, not timed) until `done` holds. */
async function eventually(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (done()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`gave up waiting: ${what}`);
}

async function initialised(): Promise<string> {
  const home = newHome();
  await ok(home, ['init', '--operator', operator.url]);
  return home;
}

/** Asks the agent directly for its key (request byte `K`), as any process of this user could. */
function askAgentForKey(socket: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const connection = net.createConnection(socket, () => connection.write(Buffer.from('K')));
    connection.on('data', (chunk: Buffer) => chunks.push(chunk));
    connection.on('end', () => {
      resolve(Buffer.concat(chunks));
    });
    connection.on('error', reject);
  });
}

/** The pid of the agent serving `socket`, found by its title (`komrade-agent SOCKET`) in /proc. */
function agentPid(socket: string): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(join('/proc', entry, 'cmdline'), 'utf8');
    } catch {
      continue;
    }
    if (cmdline.startsWith('komrade-agent') && cmdline.includes(socket)) return Number(entry);
  }
  throw new Error(`no agent process for ${socket}`);
}

/** Every file under `root`, recursively (sockets skipped: they hold no bytes). */
function filesUnder(root: string): string[] {
  return readdirSync(root, { withFileTypes: true }).flatMap((entry) => {
    const path = join(root, entry.name);
    if (entry.isDirectory()) return filesUnder(path);
    return entry.isFile() ? [path] : [];
  });
}

beforeAll(async () => {
  assertCliBuilt();
  await initCrypto();
  operator = await startOperatorProcess({ powBits: 8 });
  dir = mkdtempSync(join(tmpdir(), 'kag-'));
});
afterAll(async () => {
  // No agent outlives the tests.
  for (const home of used) await komrade(home, ['lock']);
  await operator.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe('komrade unlock / lock', () => {
  it('lets whoami and inbox run with no passphrase until lock, then asks again', async () => {
    const home = newHome();
    await ok(home, ['init', '--operator', operator.url]);
    await ok(home, ['register', 'agentuser']);
    await expectAsksForPassphrase(home);

    const unlock = await unlockAgent(home, ['--for', '5m', '--json']);
    expect(JSON.parse(unlock.stdout)).toMatchObject({
      unlocked: true,
      reused: false,
      seconds: 300,
    });
    expect(unlock.stderr).toContain('Deriving key from passphrase');

    const whoami = await ok(home, ['whoami'], NO_PASSPHRASE);
    expect(whoami.stdout).toContain('@agentuser');
    expect(whoami.stderr).not.toContain('Deriving');
    const inbox = await ok(home, ['inbox'], NO_PASSPHRASE);
    expect(inbox.stdout).toContain('Your inbox is empty.');

    // A second unlock reuses the running agent: no passphrase needed to restart its time.
    const again = await ok(home, ['--json', 'unlock', '--for', '10m'], NO_PASSPHRASE);
    expect(JSON.parse(again.stdout)).toMatchObject({ reused: true, seconds: 600 });

    const lock = await ok(home, ['lock']);
    expect(lock.stdout).toContain('Locked');
    // The agent answers, then exits and removes its socket: on a busy machine a moment later.
    await expect.poll(() => existsSync(socketOf(home)), { timeout: 5_000 }).toBe(false);
    await expectAsksForPassphrase(home);
    // Locking again is not an error: there is simply nothing to lock.
    expect((await ok(home, ['lock'])).stdout).toContain('Nothing to lock');
  });

  it('keeps the socket private (0700 folder, 0600 socket) and writes no key bytes to disk', async () => {
    const home = await initialised();
    await unlockAgent(home, ['--for', '5m']);
    expect(statSync(join(home, 'agent')).mode & 0o777).toBe(0o700);
    const socket = statSync(socketOf(home));
    expect(socket.isSocket()).toBe(true);
    expect(socket.mode & 0o777).toBe(0o600);

    // The key the agent holds is the one the passphrase derives for this keystore...
    const file = JSON.parse(readFileSync(join(home, 'keystore.json'), 'utf8')) as {
      kdf: { salt: string; opsLimit: number; memLimitBytes: number };
    };
    expect(file.kdf).toMatchObject({
      opsLimit: KDF_INTERACTIVE.opsLimit,
      memLimitBytes: KDF_INTERACTIVE.memLimitBytes,
    });
    const key = Buffer.from(
      deriveKeyFromPassphrase(TEST_PASSPHRASE, Buffer.from(file.kdf.salt, 'base64url'), file.kdf),
    );
    const held = await askAgentForKey(socketOf(home));
    expect(held.subarray(1).equals(key)).toBe(true);

    // ...and it is in no file under the home, in any common encoding.
    const forms = [
      key,
      ...['hex', 'base64', 'base64url'].map((e) => Buffer.from(key.toString(e as BufferEncoding))),
    ];
    const files = filesUnder(home);
    expect(files.length).toBeGreaterThan(1);
    for (const path of files) {
      const bytes = readFileSync(path);
      for (const form of forms) expect(bytes.includes(form), path).toBe(false);
    }

    // The agent got no environment: no KOMRADE_PASSPHRASE in its memory from there.
    const environ = readFileSync(join('/proc', String(agentPid(socketOf(home))), 'environ'));
    expect(environ.includes('KOMRADE')).toBe(false);
    expect(environ.includes(TEST_PASSPHRASE)).toBe(false);
    await ok(home, ['lock']);
  });

  it('exits by itself when its time is up', async () => {
    const home = await initialised();
    await unlockAgent(home, ['--for', '1s']);
    await eventually(() => !existsSync(socketOf(home)), 'the agent to remove its socket');
    await expectAsksForPassphrase(home);
  });

  it('falls back to the passphrase and removes a socket left by an agent that died', async () => {
    const home = await initialised();
    mkdirSync(join(home, 'agent'), { mode: 0o700 });
    // A process that binds the socket and is killed: the file stays, nobody listens.
    const dead = spawn(process.execPath, [
      '-e',
      "require('net').createServer().listen(process.argv[1], () => process.kill(process.pid, 'SIGKILL'))",
      socketOf(home),
    ]);
    await new Promise((resolve) => dead.once('exit', resolve));
    expect(statSync(socketOf(home)).isSocket()).toBe(true);

    await expectAsksForPassphrase(home);
    expect(existsSync(socketOf(home))).toBe(false);
    await ok(home, ['whoami']);
    // And unlock starts a fresh agent in its place.
    await unlockAgent(home, ['--for', '5m']);
    await ok(home, ['whoami'], NO_PASSPHRASE);
    await ok(home, ['lock']);
  });

  it('refuses an agent folder others could enter, and ignores it for other commands', async () => {
    const home = await initialised();
    mkdirSync(join(home, 'agent'), { mode: 0o700 });
    chmodSync(join(home, 'agent'), 0o755);
    for (const args of [['unlock'], ['lock']]) {
      const run = await komrade(home, args);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('AGENT_UNAVAILABLE');
      expect(run.stderr).toContain('komrade unlock');
    }
    await expectAsksForPassphrase(home);
  });

  it('stops serving a key that no longer opens the keystore (passphrase changed)', async () => {
    const home = await initialised();
    await unlockAgent(home, ['--for', '5m']);
    await ok(home, ['passphrase'], { KOMRADE_NEW_PASSPHRASE: 'another long passphrase' });
    await expectAsksForPassphrase(home);
    expect(existsSync(socketOf(home))).toBe(false);
  });

  it('rejects a bad --for', async () => {
    const home = await initialised();
    for (const bad of ['0s', '15', '25h', 'soon', '-5m']) {
      const run = await komrade(home, ['unlock', '--for', bad]);
      expect(run.code, bad).toBe(2);
      expect(run.stderr).toContain('USAGE');
    }
    expect(existsSync(socketOf(home))).toBe(false);
  });
});
