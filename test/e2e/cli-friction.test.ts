/**
 * What a new komrade meets at the `komrade` command (issue #9): an Operator that is down, a
 * mistyped passphrase, a taken or folded name, and the texts that say what to do next. The CLI's
 * commands in this process against a real Operator; the version and the terminal cases (under a
 * pseudo-terminal, `script`) run the built CLI as a process.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  KOMRADE_CLI,
  TEST_PASSPHRASE,
  assertCliBuilt,
  runKomrade,
  runKomradeInProcess,
  type CliRun,
} from '../support/komrade-cli.js';
import { startOperatorProcess, type OperatorProcess } from '../support/operator-process.js';

const ONION = `http://${'b'.repeat(56)}.onion`;

let operator: OperatorProcess;
let dir: string;
let homes = 0;

const newHome = (): string => join(dir, `home-${++homes}`);

const komrade = (
  home: string,
  args: readonly string[],
  options: { input?: string; env?: Record<string, string | undefined> } = {},
): Promise<CliRun> => runKomradeInProcess(args, { home, ...options });

async function ok(home: string, args: readonly string[]): Promise<CliRun> {
  const run = await komrade(home, args);
  expect(run.code, `komrade ${args.join(' ')} failed:\n${run.stderr}`).toBe(0);
  return run;
}

/** A home registered as `name` at the test Operator. */
async function registered(name: string): Promise<string> {
  const home = newHome();
  await ok(home, ['init', '--operator', operator.url]);
  await ok(home, ['register', name]);
  return home;
}

/**
 * A SOCKS5 proxy that speaks like tor but reports every destination unreachable (what tor says
 * for an onion service that is not running), counting the CONNECT requests.
 */
async function unreachableSocks(reply: number): Promise<{
  port: number;
  connects: () => number;
  close: () => Promise<void>;
}> {
  let connects = 0;
  const server = net.createServer((socket) => {
    let buffer = Buffer.alloc(0);
    let stage: 'greeting' | 'auth' | 'connect' = 'greeting';
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (stage === 'greeting' && buffer.length >= 2 && buffer.length >= 2 + (buffer[1] ?? 0)) {
        buffer = buffer.subarray(2 + (buffer[1] ?? 0));
        stage = 'auth';
        socket.write(Buffer.from([0x05, 0x02]));
      }
      if (stage === 'auth' && buffer.length >= 2) {
        const userLength = buffer[1] ?? 0;
        const passLength = buffer[2 + userLength];
        if (passLength === undefined || buffer.length < 3 + userLength + passLength) return;
        buffer = buffer.subarray(3 + userLength + passLength);
        stage = 'connect';
        socket.write(Buffer.from([0x01, 0x00]));
      }
      if (stage === 'connect' && buffer.length >= 5) {
        connects++;
        socket.end(Buffer.from([0x05, reply, 0x00, 0x01, 0, 0, 0, 0, 0, 0]));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    connects: () => connects,
    close: () =>
      new Promise((resolve) => {
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  return address.port;
}

/** One answer typed at the terminal once `after` has appeared (again) in the output. */
interface TerminalStep {
  readonly after: string;
  readonly type: string;
}

/**
 * Runs the CLI on a pseudo-terminal (util-linux `script`), typing each step's text only once
 * its prompt has appeared, so nothing depends on timing.
 */
function komradeOnTerminal(
  home: string,
  args: readonly string[],
  steps: readonly TerminalStep[],
  env: Record<string, string | undefined> = {},
): Promise<{ code: number | null; output: string }> {
  const command = [process.execPath, KOMRADE_CLI, '--home', home, ...args]
    .map((word) => `'${word.replace(/'/g, `'\\''`)}'`)
    .join(' ');
  const fullEnv = Object.fromEntries(
    Object.entries<string | undefined>({
      ...process.env,
      KOMRADE_PASSPHRASE: TEST_PASSPHRASE,
      KOMRADE_KDF: 'interactive',
      KOMRADE_TOR_SOCKS: undefined,
      ...env,
    }).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      env: fullEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    let from = 0;
    let next = 0;
    const advance = (): void => {
      const step = steps[next];
      if (step === undefined) return;
      const found = output.indexOf(step.after, from);
      if (found < 0) return;
      from = found + step.after.length;
      next++;
      child.stdin.write(step.type);
      advance();
    };
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      advance();
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, output });
    });
  });
}

beforeAll(async () => {
  assertCliBuilt();
  operator = await startOperatorProcess({ powBits: 8 });
  dir = mkdtempSync(join(tmpdir(), 'komrade-cli-friction-'));
});
afterAll(async () => {
  await operator.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe('an Operator that does not answer', () => {
  it('on loopback: names the Operator at once, without retrying or blaming Tor', async () => {
    const home = newHome();
    const url = `http://127.0.0.1:${await closedPort()}`;
    await ok(home, ['init', '--operator', url]);
    const run = await komrade(home, ['register', 'dave']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`The Operator at ${url} is not answering (is it running?)`);
    expect(run.stderr).toContain('OPERATOR_UNREACHABLE');
    expect(run.stderr).not.toContain('TOR_UNAVAILABLE');
    expect(run.stderr).not.toContain('Install tor');
    expect(run.stderr).not.toContain('retrying');
    // Checked before the proof of work: nothing was solved for an Operator that is down.
    expect(run.stderr).not.toContain('Solving');
  });

  it('through a tor that reports the onion unreachable: blames the Operator, after a few retries shown', async () => {
    const socks = await unreachableSocks(0x04);
    try {
      const home = newHome();
      await ok(home, ['init', '--operator', ONION, '--tor-socks', `127.0.0.1:${socks.port}`]);
      const run = await komrade(home, ['lookup', '@bob']);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('OPERATOR_UNREACHABLE');
      expect(run.stderr).toContain(`The Operator at ${ONION} is not answering (is it running?)`);
      expect(run.stderr).toContain('host unreachable');
      expect(run.stderr).not.toContain('Install tor');
      expect(run.stderr).not.toContain('TOR_UNAVAILABLE');
      // A bounded number of tries, each announced.
      expect(socks.connects()).toBe(4);
      expect(run.stderr.match(/retrying in \d+ s/g)).toHaveLength(3);
    } finally {
      await socks.close();
    }
  }, 60_000);

  it('with no tor on the SOCKS port: says to start tor, naming the port', async () => {
    const port = await closedPort();
    const home = newHome();
    await ok(home, ['init', '--operator', ONION, '--tor-socks', `127.0.0.1:${port}`]);
    const run = await komrade(home, ['lookup', '@bob']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('TOR_UNAVAILABLE');
    expect(run.stderr).toContain('Start tor');
    expect(run.stderr).toContain(`127.0.0.1:${port}`);
    expect(run.stderr).not.toContain('is not answering');
  });
});

describe('registration', () => {
  it('checks the name before any proof of work, and says when it was folded', async () => {
    await registered('erin');
    const home = newHome();
    await ok(home, ['init', '--operator', operator.url]);
    const taken = await komrade(home, ['register', 'Erin']);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain('NAME_TAKEN');
    expect(taken.stderr).toContain('@erin is already registered');
    expect(taken.stderr).toMatch(/\n {2}@erin\b.* belongs to someone else/);
    expect(taken.stderr).not.toContain('Solving');

    const folded = await ok(home, ['register', 'Dave']);
    expect(folded.stdout).toContain('Registered as @dave (names are lowercase).');
  }, 60_000);

  it('shows the proof of work as time, never as a percentage', async () => {
    const home = newHome();
    await ok(home, ['init', '--operator', operator.url]);
    const run = await ok(home, ['register', 'frank']);
    expect(run.stdout).toContain('Registered as @frank.');
    expect(run.stdout).not.toContain('lowercase');
    expect(run.stderr).toContain('proof of work');
    expect(run.stderr).not.toContain('%');
  });
});

describe('texts that say what to do', () => {
  it('prints the package version', async () => {
    const manifest = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as { version: string };
    for (const flag of ['--version', '-V']) {
      const run = await runKomrade([flag]);
      expect(run.code).toBe(0);
      expect(run.stdout.trim()).toBe(manifest.version);
    }
  });

  it('suggests http:// for an Operator address typed without it', async () => {
    const home = newHome();
    const bare = operator.url.replace(/^http:\/\//, '');
    const run = await komrade(home, ['init', '--operator', bare]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`did you mean ${operator.url}?`);
    const nonsense = await komrade(home, ['init', '--operator', 'example.com']);
    expect(nonsense.code).toBe(1);
    expect(nonsense.stderr).toContain('CONFIG_INVALID');
    expect(nonsense.stderr).not.toContain('did you mean');
  });

  it('says what to do with a bad feed cursor', async () => {
    const home = await registered('gwen');
    const run = await komrade(home, ['feed', '--before', 'not-a-cursor']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--before cursor');
    expect(run.stderr).toContain('leave --before out');
  });

  it('gives an unknown collective its own hint, and names the komrade in others', async () => {
    const home = await registered('hana');
    const collective = await komrade(home, ['collective', 'show', '@nowhere']);
    expect(collective.code).toBe(1);
    expect(collective.stderr).toContain('NAME_UNKNOWN');
    expect(collective.stderr).toContain('no collective @nowhere');
    expect(collective.stderr).toContain('komrade collective create @nowhere');
    expect(collective.stderr).not.toContain('nobody is registered');

    const komradeUnknown = await komrade(home, ['send', '@nobody_here', 'hi']);
    expect(komradeUnknown.code).toBe(1);
    expect(komradeUnknown.stderr).toContain('nobody is registered as @nobody_here');
  });

  it('marks the letters that arrived since the last inbox', async () => {
    const ivy = await registered('ivy');
    const jon = await registered('jon');
    await ok(ivy, ['send', '@jon', 'first letter']);
    await ok(jon, ['inbox']);
    await ok(jon, ['requests', 'accept', '@ivy']);
    await ok(ivy, ['send', '@jon', 'second letter']);
    const inbox = await ok(jon, ['inbox']);
    expect(inbox.stdout).toMatch(/From @ivy · [^\n]* UTC\n {2}first letter/);
    expect(inbox.stdout).toMatch(/From @ivy · [^\n]* UTC · new\n {2}second letter/);
    const again = await ok(jon, ['inbox', '--json']);
    const letters = (JSON.parse(again.stdout) as { letters: { text: string; new: boolean }[] })
      .letters;
    expect(letters.map((l) => [l.text, l.new])).toEqual([
      ['first letter', false],
      ['second letter', false],
    ]);
  }, 60_000);
});

describe('who you know', () => {
  it('lists followers, following and contacts, and unblocks', async () => {
    const nia = await registered('nia');
    const oto = await registered('oto');
    expect((await ok(oto, ['followers'])).stdout).toContain('Nobody follows you yet.');
    await ok(nia, ['follow', '@oto']);
    await ok(nia, ['send', '@oto', 'hello oto']);
    expect((await ok(nia, ['following'])).stdout).toContain('@oto');
    expect(JSON.parse((await ok(nia, ['contacts', '--json'])).stdout)).toMatchObject({
      contacts: [{ name: 'oto', state: 'accepted' }],
    });
    await ok(oto, ['inbox']);
    expect((await ok(oto, ['followers'])).stdout).toMatch(/1 follower:\n {2}@nia/);
    // A post to followers goes copy by copy and says how far it got.
    const posted = await ok(oto, ['post', 'to my one follower', '--to', 'followers']);
    expect(posted.stderr).toContain('Sent 1 of 1 to followers…');
    expect(posted.stdout).toContain('Sent to 1 follower(s) as sealed letters.');

    await ok(oto, ['requests', 'block', '@nia']);
    expect((await ok(oto, ['contacts'])).stdout).toContain('komrade unblock @nia');
    expect((await ok(oto, ['unblock', '@nia'])).stdout).toContain('Unblocked @nia');
    expect((await ok(oto, ['unblock', '@nia'])).stdout).toContain('@nia was not blocked.');
    expect((await ok(oto, ['contacts'])).stdout).not.toContain('@nia');
    const bad = await komrade(oto, ['unblock', '@x']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('NAME_INVALID');
  }, 90_000);
});

describe('at a terminal', () => {
  it('lets a letter be typed when no text is given (Ctrl-D sends)', async () => {
    const kim = await registered('kim');
    await registered('lea');
    const run = await komradeOnTerminal(
      kim,
      ['send', '@lea'],
      [
        { after: 'Ctrl-D', type: 'typed at the terminal\r' },
        { after: 'typed at the terminal', type: '\u0004' },
      ],
    );
    expect(run.output).toContain('Sent to @lea.');
    expect(run.code).toBe(0);
  }, 60_000);

  it('gives three tries at the passphrase prompt', async () => {
    const home = await registered('max');
    const noEnv = { KOMRADE_PASSPHRASE: undefined };
    const second = await komradeOnTerminal(
      home,
      ['whoami'],
      [
        { after: 'Passphrase: ', type: 'not it\r' },
        { after: 'Passphrase: ', type: `${TEST_PASSPHRASE}\r` },
      ],
      noEnv,
    );
    expect(second.output).toContain('Wrong passphrase; try again (2 tries left).');
    expect(second.output).toContain('@max, registered');
    expect(second.code).toBe(0);

    const wrong = { after: 'Passphrase: ', type: 'not it\r' };
    const never = await komradeOnTerminal(home, ['whoami'], [wrong, wrong, wrong], noEnv);
    expect(never.code).toBe(1);
    expect(never.output).toContain('1 try left');
    expect(never.output).toContain('WRONG_PASSPHRASE');
    expect(never.output.match(/Passphrase: /g)).toHaveLength(3);
    expect(never.output).not.toContain(TEST_PASSPHRASE);
  }, 60_000);

  it('refuses a short new passphrase before asking for it twice', async () => {
    const home = newHome();
    const run = await komradeOnTerminal(
      home,
      ['init', '--operator', operator.url],
      [
        { after: 'Choose a passphrase: ', type: 'short\r' },
        { after: 'Choose a passphrase: ', type: `${TEST_PASSPHRASE}\r` },
        { after: 'Passphrase again: ', type: `${TEST_PASSPHRASE}\r` },
      ],
      { KOMRADE_PASSPHRASE: undefined },
    );
    expect(run.output).toContain('at least 8 characters');
    expect(run.output.match(/Passphrase again: /g)).toHaveLength(1);
    expect(run.output).toContain('Created your keystore');
    expect(run.code).toBe(0);
    expect((await ok(home, ['whoami'])).stdout).toContain('Not registered yet');
  }, 60_000);
});
