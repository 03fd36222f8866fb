/**
 * The `komrade` command against an Operator published as an onion on a private Tor network:
 * through a configured SOCKS port, and through a tor the CLI launches itself.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TorProcess } from '../../tor/index.js';
import {
  TEST_PASSPHRASE,
  assertCliBuilt,
  runKomrade,
  type CliRun,
} from '../support/komrade-cli.js';
import type { OperatorProcess } from '../support/operator-process.js';
import { startPublishedOperator } from '../support/published-operator.js';
import { reportTimings, type PrivateTorNetwork } from '../support/tor-network.js';

const PASSPHRASE = TEST_PASSPHRASE;

let network: PrivateTorNetwork | undefined;
let operator: OperatorProcess | undefined;
let clientTor: TorProcess;
let onionUrl: string;
let dir: string;
let torrcFile: string;
const timings: Record<string, number> = {};

/**
 * One command's bound: a cold tor's bootstrap and first onion connection can take a minute on a
 * loaded machine (a consensus missed by the network's 10 s votes), and the command's own connect
 * timeout is 120 s; past this, the run ends with what it printed so the failure says where.
 */
const COMMAND_MS = 100_000;

/** Runs `komrade --home <home> ...args` with the test passphrase and the light KDF. */
const komrade = (
  home: string,
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): Promise<CliRun> => runKomrade(args, { home, env, timeoutMs: COMMAND_MS });

async function ok(home: string, args: readonly string[], env = {}): Promise<CliRun> {
  const run = await komrade(home, args, env);
  expect(run.code, `komrade ${args.join(' ')} failed:\n${run.stderr}`).toBe(0);
  expect(run.stderr + run.stdout).not.toContain(PASSPHRASE);
  return run;
}

/** Pids of tor processes whose command line mentions `path` (Linux /proc). */
function torsUsing(path: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        return cmdline.includes(path) && cmdline.includes('torrc');
      } catch {
        return false;
      }
    })
    .map(Number);
}

beforeAll(async () => {
  assertCliBuilt();
  const started = Date.now();
  dir = mkdtempSync(join(tmpdir(), 'komrade-cli-tor-'));
  // The Operator listens on loopback only (--insecure-no-tor); the helper publishes it as an onion.
  ({ network, operator, clientTor, onionUrl } = await startPublishedOperator());
  torrcFile = join(dir, 'private-network.torrc');
  writeFileSync(torrcFile, `${network.torrcLinesForClient().join('\n')}\n`);
  timings.setupMs = Date.now() - started;
}, 120_000);

afterAll(async () => {
  await operator?.cleanup();
  await network?.stop();
  rmSync(dir, { recursive: true, force: true });
  reportTimings('cli-tor', timings);
}, 60_000);

describe('komrade CLI over Tor', () => {
  it('two komrades write through the onion via a configured SOCKS port', async () => {
    const socks = `127.0.0.1:${clientTor.socksPort!}`;
    const alice = join(dir, 'alice');
    const bob = join(dir, 'bob');
    const init = await ok(alice, ['init', '--operator', `${onionUrl}/`, '--tor-socks', socks]);
    expect(init.stdout).toContain(`operator: ${onionUrl}`);
    expect(init.stdout).toContain(`through Tor, via the SOCKS port ${socks}`);
    const bobInit = await ok(bob, ['--json', 'init', '--operator', onionUrl, '--tor-socks', socks]);
    expect(JSON.parse(bobInit.stdout)).toMatchObject({
      operator: onionUrl,
      transport: 'tor-socks',
      torSocks: socks,
    });

    const register = await ok(alice, ['register', 'alice']);
    timings.cliRegisterViaSocksMs = register.ms;
    expect(register.stdout).toContain('Registered as @alice');
    // A configured SOCKS port: komrade never starts a tor of its own.
    expect(register.stderr).not.toContain('Starting Tor');
    await ok(bob, ['register', 'bob']);

    const sent = await ok(alice, ['send', '@bob', 'hello', 'bob', 'over', 'tor']);
    timings.cliSendViaSocksMs = sent.ms;
    expect(sent.stdout).toContain('Sent to @bob');
    expect((await ok(bob, ['inbox'])).stdout).toContain('1 new request');
    const requests = await ok(bob, ['requests']);
    expect(requests.stdout).toContain('Request from @alice');
    expect(requests.stdout).toContain('hello bob over tor');
    expect((await ok(bob, ['requests', 'accept', '@alice'])).stdout).toContain('Accepted @alice');
    const inbox = await ok(bob, ['inbox', '--json']);
    expect(JSON.parse(inbox.stdout)).toMatchObject({
      letters: [expect.objectContaining({ from: 'alice', text: 'hello bob over tor' })],
    });
  }, 60_000);

  it(
    'launches its own tor when no SOCKS port is set, showing bootstrap progress',
    async () => {
      const carol = join(dir, 'carol');
      const init = await ok(carol, ['init', '--operator', onionUrl]);
      expect(init.stdout).toContain('komrade starts its own tor when needed');
      const env = { KOMRADE_TOR_EXTRA_TORRC: torrcFile };

      const first = await ok(carol, ['register', 'carol'], env);
      timings.cliFirstRunOwnTorMs = first.ms;
      expect(first.stderr).toContain('KOMRADE_TOR_EXTRA_TORRC is set');
      expect(first.stderr).toContain('Starting Tor for the first time');
      expect(first.stderr).toMatch(/Tor: bootstrapped \d+% \(/);
      expect(first.stderr).toContain('Tor: bootstrapped 100% (Done)');
      const ready = /Tor: ready in ([\d.]+) s\./.exec(first.stderr);
      expect(ready).not.toBeNull();
      timings.ownTorFirstBootstrapMs = Math.round(Number(ready![1]) * 1000);
      expect(first.stdout).toContain('Registered as @carol');
      expect(existsSync(join(carol, 'tor', 'torrc'))).toBe(true);
      // The command's tor is gone once the command is.
      expect(torsUsing(join(carol, 'tor'))).toEqual([]);

      const again = await ok(carol, ['lookup', '@alice'], env);
      timings.cliSecondRunOwnTorMs = again.ms;
      expect(again.stderr).toContain('Starting Tor…');
      expect(again.stdout).toContain('@alice');
      const readyAgain = /Tor: ready in ([\d.]+) s\./.exec(again.stderr);
      timings.ownTorSecondBootstrapMs = Math.round(Number(readyAgain?.[1]) * 1000);

      // Local-only commands never start tor.
      const whoami = await ok(carol, ['whoami'], env);
      expect(whoami.stderr).not.toContain('Starting Tor');
      // Two cold starts of tor, each bounded by COMMAND_MS.
    },
    2 * COMMAND_MS + 20_000,
  );

  it('refuses non-onion Operators, and onions it cannot reach through Tor', async () => {
    const clearnet = await komrade(join(dir, 'dave'), [
      'init',
      '--operator',
      'http://93.184.216.34',
    ]);
    expect(clearnet.code).toBe(1);
    expect(clearnet.stderr).toContain('CONFIG_INVALID');
    expect(clearnet.stderr).toContain('only as a Tor onion service');
    expect(existsSync(join(dir, 'dave', 'keystore.json'))).toBe(false);

    const remoteSocks = await komrade(join(dir, 'erin'), [
      'init',
      '--operator',
      onionUrl,
      '--tor-socks',
      '192.168.1.1:9050',
    ]);
    expect(remoteSocks.code).toBe(2);
    expect(remoteSocks.stderr).toContain('must be on this machine');

    const loopback = await ok(join(dir, 'frank'), ['init', '--operator', operator!.url]);
    expect(loopback.stdout).toContain('loopback: for development and tests only');

    const noTor = join(dir, 'gina');
    await ok(noTor, ['init', '--operator', onionUrl]);
    const missing = await komrade(noTor, ['register', 'gina'], {
      KOMRADE_TOR_BINARY: join(dir, 'no-such-tor'),
    });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('Error [TOR_UNAVAILABLE]');
    expect(missing.stderr).toContain('nothing was sent');
    expect(missing.stderr).toContain('KOMRADE_TOR_SOCKS=127.0.0.1:9050');
  }, 60_000);
});
