/**
 * Three Operator processes on one PostgreSQL, each an Onionbalance instance with its own tor, and
 * one Onionbalance front publishing the address komrades use, all on a private Tor network voting
 * every 20 s (Onionbalance's test-network mode assumes it). Komrades reach only the front's
 * address; one instance is SIGKILLed and they keep working through the others.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TorControl, type TorProcess } from '../../tor/index.js';
import {
  TEST_PASSPHRASE,
  assertCliBuilt,
  runKomrade,
  type CliRun,
} from '../support/komrade-cli.js';
import {
  generateMasterKey,
  startOnionbalanceFront,
  waitForDescriptor,
  type MasterKey,
  type OnionbalanceFront,
} from '../support/onionbalance.js';
import { startOperatorProcess, type OperatorProcess } from '../support/operator-process.js';
import { startPostgresCluster, type PostgresCluster } from '../support/postgres-cluster.js';
import {
  reportTimings,
  startPrivateTorNetwork,
  type PrivateTorNetwork,
} from '../support/tor-network.js';

/** Shared by every Operator: they sign with copies of one set of keys. */
const OPERATOR_PASSPHRASE = 'one passphrase for every Operator behind the front';
/** One command's bound: a first onion connection on a loaded machine can take a minute. */
const COMMAND_MS = 90_000;
/**
 * After the kill, a command is cut sooner: in about half the runs the first connection's
 * introduction gets no answer and its stream would wait for the CLI's own timeouts (docs/scaling.md).
 */
const AFTER_KILL_COMMAND_MS = 30_000;
/** Tries of one command after the kill: a stall can repeat (seen three times in a row in CI). */
const AFTER_KILL_ATTEMPTS = 5;

let network: PrivateTorNetwork | undefined;
let cluster: PostgresCluster | undefined;
let front: OnionbalanceFront | undefined;
let master: MasterKey;
let clientTor: TorProcess;
let masterUrl: string;
let dir: string | undefined;
const operators: OperatorProcess[] = [];
const copies: string[] = [];
const timings: Record<string, number> = {};

/** Requests each Operator has logged so far (its `request` log lines, level info). */
const requestCounts = (): number[] =>
  operators.map((operator) => operator.stderr().split('"event":"request"').length - 1);

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

async function ok(home: string, args: readonly string[]): Promise<CliRun> {
  const run = await runKomrade(args, { home: join(dir ?? '', home), timeoutMs: COMMAND_MS });
  expect(run.code, `komrade ${args.join(' ')} failed:\n${run.stderr}`).toBe(0);
  expect(run.stderr + run.stdout).not.toContain(TEST_PASSPHRASE);
  return run;
}

beforeAll(async () => {
  assertCliBuilt();
  const started = Date.now();
  dir = await mkdtemp(join(tmpdir(), 'komrade-onionbalance-e2e-'));
  master = generateMasterKey();
  masterUrl = `http://${master.address}`;
  [network, cluster] = await Promise.all([
    // Onionbalance 0.2.2 loops forever on a hash ring of 4 HSDirs or fewer: 3 + 4 relays.
    startPrivateTorNetwork({ votingIntervalSeconds: 20, relays: 4 }),
    startPostgresCluster(),
  ]);
  timings.networkMs = Date.now() - started;
  const databaseUrl = cluster.connectionString(await cluster.createDatabase());
  const env = {
    KOMRADE_DATABASE_URL: databaseUrl,
    KOMRADE_OPERATOR_PASSPHRASE: OPERATOR_PASSPHRASE,
  };
  const store = { kind: 'postgres', maxConnections: 4 };
  // A first start without Tor makes the Operator keys and the schema; every instance starts on a
  // copy of those keys, and makes its own onion key (an instance address of its own).
  const seed = await startOperatorProcess({ powBits: 8, config: { store }, env });
  await seed.stop();
  for (let i = 0; i < 3; i++) {
    const copy = await mkdtemp(join(tmpdir(), 'komrade-onionbalance-instance-'));
    copies.push(copy);
    await cp(seed.dataDir, copy, { recursive: true });
  }
  await seed.cleanup();
  const torrc = network.torrcLinesForClient();
  const [frontTor, client, ...instances] = await Promise.all([
    network.startServiceTor(),
    network.startClientTor(),
    ...copies.map((copy) =>
      startOperatorProcess({
        powBits: 8,
        dataDir: copy,
        tor: { extraTorrcLines: torrc },
        config: {
          store,
          tor: { onionbalance: { masterAddress: master.address } },
          log: { level: 'info' },
        },
        env,
      }),
    ),
  ]);
  clientTor = client;
  operators.push(...instances);
  timings.instancesUpMs = Date.now() - started;
  const addresses = operators.map((operator) => new URL(operator.onion ?? '').hostname);
  expect(new Set(addresses).size).toBe(3);
  expect(addresses).not.toContain(master.address);
  for (const operator of operators) {
    expect(operator.stdout()).toContain(`Onionbalance instance of ${masterUrl}`);
  }
  const frontStarted = Date.now();
  front = await startOnionbalanceFront({
    network,
    masterKey: master,
    instances: addresses,
    tor: frontTor,
  });
  try {
    await waitForDescriptor(clientTor.control, master.address, 150_000);
  } catch (error) {
    throw new Error(`${String(error)}\nonionbalance:\n${front.output().slice(-3_000)}`);
  }
  timings.masterDescriptorAfterFrontStartMs = Date.now() - frontStarted;
  timings.setupMs = Date.now() - started;
}, 300_000);

afterAll(async () => {
  await front?.stop();
  await Promise.all(operators.map((operator) => operator.cleanup()));
  await Promise.all(copies.map((copy) => rm(copy, { recursive: true, force: true })));
  await network?.stop();
  await cluster?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  reportTimings('onionbalance', timings);
}, 60_000);

describe('several Operators behind one Onionbalance address', () => {
  it(
    'komrades register, write and read through the front address only',
    async () => {
      const socks = `127.0.0.1:${clientTor.socksPort!}`;
      for (const name of ['alice', 'bob']) {
        await ok(name, ['init', '--operator', masterUrl, '--tor-socks', socks]);
        expect((await ok(name, ['register', name])).stdout).toContain(`Registered as @${name}`);
      }
      expect(
        (await ok('alice', ['send', '@bob', 'one address, three Operators'])).stdout,
      ).toContain('Sent to @bob');
      expect((await ok('bob', ['inbox'])).stdout).toContain('1 new request');
      expect((await ok('bob', ['requests', 'accept', '@alice'])).stdout).toContain(
        'Accepted @alice',
      );
      const inbox = await ok('bob', ['inbox', '--json']);
      expect(JSON.parse(inbox.stdout)).toMatchObject({
        letters: [expect.objectContaining({ from: 'alice', text: 'one address, three Operators' })],
      });
      // Every request went through the front's address to some instance.
      expect(requestCounts().reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    },
    6 * COMMAND_MS,
  );

  it(
    'the instance that served is SIGKILLed: komrades keep working through the others',
    async () => {
      // The client's tor keeps its circuit to one instance: the last one to log a request.
      const before = requestCounts();
      await ok('bob', ['lookup', '@alice']);
      await ok('bob', ['inbox']);
      const after = requestCounts();
      const served = after.findIndex((count, i) => count > (before[i] ?? 0));
      expect(served).toBeGreaterThanOrEqual(0);
      const victim = operators[served]!;
      // What the client's tor does after the kill, shown when a command fails.
      let killedAt = Date.now();
      const torEvents: string[] = [];
      const unsubscribe = await clientTor.control.subscribe(
        ['CIRC', 'CIRC_MINOR', 'STREAM', 'HS_DESC'],
        (e) => {
          torEvents.push(`${((Date.now() - killedAt) / 1_000).toFixed(1)}s ${e.type} ${e.body}`);
        },
      );
      // The survivors' tors: does an introduction reach one (it then builds a rendezvous circuit)?
      const survivorTors = await Promise.all(
        operators
          .filter((_, i) => i !== served)
          .map(async (operator, i) => {
            const torDir = join(operator.dataDir, 'tor');
            const portLine = readFileSync(join(torDir, 'control-port'), 'utf8');
            const control = await TorControl.connect(
              { port: Number(/:(\d+)/.exec(portLine)?.[1]) },
              { cookiePath: join(torDir, 'control_auth_cookie') },
            );
            await control.subscribe(['CIRC'], (e) => {
              if (e.body.includes('HS_SERVICE_REND') && e.body.includes(' LAUNCHED ')) {
                torEvents.push(
                  `${((Date.now() - killedAt) / 1_000).toFixed(1)}s survivor ${i} launched a rendezvous circuit`,
                );
              }
            });
            return control;
          }),
      );
      await victim.kill();
      killedAt = Date.now();
      // Its tor goes with it (it owns tor through the control connection).
      await expect.poll(() => torsUsing(victim.dataDir), { timeout: 10_000 }).toEqual([]);

      // A command whose new connection meets the dead instance can stall (docs/scaling.md): it is
      // cut after AFTER_KILL_COMMAND_MS and tried again, up to AFTER_KILL_ATTEMPTS times.
      const stalls: string[] = [];
      const afterKill = async (home: string, args: readonly string[]): Promise<CliRun> => {
        for (let attempt = 1; attempt <= AFTER_KILL_ATTEMPTS; attempt++) {
          const run = await runKomrade(args, {
            home: join(dir ?? '', home),
            timeoutMs: AFTER_KILL_COMMAND_MS,
          });
          if (run.code === 0) return run;
          stalls.push(`${home}: ${args[0] ?? ''} attempt ${attempt}, ${run.ms} ms`);
        }
        throw new Error(
          `komrade ${args.join(' ')} failed ${AFTER_KILL_ATTEMPTS} times after the kill:\n${stalls.join('\n')}\nclient tor:\n${torEvents.join('\n')}`,
        );
      };
      try {
        const sent = await afterKill('alice', ['send', '@bob', 'after the kill']);
        expect(sent.stdout).toContain('Sent to @bob');
        timings.firstWriteAfterKillMs = Date.now() - killedAt;
        const inbox = await afterKill('bob', ['inbox', '--json']);
        expect(JSON.parse(inbox.stdout)).toMatchObject({
          letters: expect.arrayContaining([
            expect.objectContaining({ from: 'alice', text: 'after the kill' }),
          ]) as unknown,
        });
        const socks = `127.0.0.1:${clientTor.socksPort!}`;
        await ok('carol', ['init', '--operator', masterUrl, '--tor-socks', socks]);
        expect((await afterKill('carol', ['register', 'carol'])).stdout).toContain(
          'Registered as @carol',
        );
      } finally {
        await unsubscribe();
        await Promise.all(survivorTors.map((control) => control.close()));
        timings.stalledCommandsAfterKill = stalls.length;
        if (stalls.length > 0) {
          // eslint-disable-next-line no-console -- the stalls and what tor did meanwhile, for the report
          console.log(
            `stalled after the kill:\n${stalls.join('\n')}\n${torEvents
              .filter((line) => line.includes('survivor') || line.includes('HS_STATE=HSC'))
              .map((line) => line.replace(/ \$\S+ BUILD_FLAGS=\S+/, '').slice(0, 160))
              .join('\n')}`,
          );
        }
      }
      timings.recoveredMs = Date.now() - killedAt;
      // The survivors served all of it.
      const survivors = requestCounts().filter((_, i) => i !== served);
      const survivorsBefore = after.filter((_, i) => i !== served);
      expect(survivors.reduce((a, b) => a + b, 0)).toBeGreaterThan(
        survivorsBefore.reduce((a, b) => a + b, 0),
      );
    },
    8 * COMMAND_MS,
  );
});
