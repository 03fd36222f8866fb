/**
 * The Operator as a Tor onion service on a real private Tor network: published with a persisted
 * key, reached through a client tor, the same address after a restart, tor relaunched after it is
 * killed, and nothing stored lost on the way. Also the onion key at rest and the no-Tor flag.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from '../../common/crypto/index.js';
import { isKomradeError } from '../../common/errors/index.js';
import { silentLogger } from '../../common/logging/index.js';
import { fromBase64url } from '../../common/wire/index.js';
import {
  EncryptedOnionKeyFile,
  KEY_FILE,
  KeyProtection,
  ONION_KEY_FILE,
  loadOperatorKeys,
} from '../../operator/index.js';
import {
  attachTor,
  createTorDispatcher,
  retryWithBackoff,
  type TorProcess,
} from '../../tor/index.js';
import { framedLetter } from '../support/framed-letter.js';
import { openFramedLetter } from '../support/open-framed-letter.js';
import { startOperatorProcess, type OperatorProcess } from '../support/operator-process.js';
import {
  TestClient,
  makeKomrade,
  type TestKomrade,
  type TestReply,
} from '../support/operator-test-client.js';
import {
  reportTimings,
  startPrivateTorNetwork,
  type PrivateTorNetwork,
} from '../support/tor-network.js';

const POW_BITS = 8;
const ONION_URL = /^http:\/\/[a-z2-7]{56}\.onion$/;
// Cheap Argon2id for the key-file tests; production uses KDF_MODERATE.
const kdf = { opsLimit: 1, memLimitBytes: 8 * 1024 * 1024 };

let network: PrivateTorNetwork | undefined;
let client: TorProcess;
const operators: OperatorProcess[] = [];
const dispatchers: Dispatcher[] = [];
const temps: string[] = [];
const timings: Record<string, number> = {};

beforeAll(async () => {
  const started = await startPrivateTorNetwork();
  network = started;
  client = await started.startClientTor();
}, 120_000);

afterAll(async () => {
  await Promise.all(dispatchers.map((d) => d.close()));
  await Promise.all(operators.map((o) => o.cleanup()));
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
  if (network === undefined) return;
  await network.stop();
  reportTimings('operator-onion', { ...network.bootTimings, ...timings });
}, 60_000);

/** A TestClient that reaches `onion` through the client tor on its own circuits. */
function onionClient(onion: string, isolationKey: string): TestClient {
  const dispatcher = createTorDispatcher({
    socksPort: client.socksPort!,
    isolationKey,
    connectTimeoutMs: 20_000,
  });
  dispatchers.push(dispatcher);
  return new TestClient(onion, Date.now, dispatcher);
}

/** Retries an idempotent request while the descriptor publishes or circuits are built. */
function retrying(fn: () => Promise<TestReply>): Promise<TestReply> {
  return retryWithBackoff(fn, { attempts: 40, baseMs: 250, maxMs: 2_000 });
}

const uploads = (process: OperatorProcess): number =>
  process.stderr().split('"event":"operator.onion.published"').length - 1;

/**
 * Waits until the Operator has uploaded a descriptor more than `before` times, then has the client
 * tor fetch it. Without this the client keeps its cached descriptor of the previous tor, whose
 * intro points are gone, and tor lets it ask each onion directory again only after 15 minutes.
 */
async function refreshAfterUpload(
  process: OperatorProcess,
  onionUrl: string,
  before: number,
): Promise<void> {
  await eventually(() => uploads(process) > before, 'the Operator to upload its descriptor');
  await client.control.command(`HSFETCH ${new URL(onionUrl).hostname.replace(/\.onion$/, '')}`);
}

/** Polls with backoff until `check` is true (no fixed sleeps). */
async function eventually(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  await retryWithBackoff(
    async () => {
      if (!(await check())) throw new Error(`still waiting for ${what}`);
    },
    { attempts: 40, baseMs: 100, maxMs: 2_000, retryIf: () => true },
  );
}

/**
 * The pid of the Operator's tor, asked over its own control port: the launched tor writes its
 * port to `<dataDir>/tor/control-port` and its cookie to `<dataDir>/tor/control_auth_cookie`,
 * and `GETINFO process/pid` answers the pid. Attaching does not take ownership.
 */
async function operatorTorPid(dataDir: string): Promise<number> {
  const torDir = join(dataDir, 'tor');
  const portFile = await readFile(join(torDir, 'control-port'), 'utf8');
  const port = Number(/:(\d+)/.exec(portFile)?.[1]);
  const tor = await attachTor({
    control: { port },
    cookiePath: join(torDir, 'control_auth_cookie'),
  });
  try {
    return Number((await tor.control.getInfo('process/pid')).get('process/pid'));
  } finally {
    await tor.close();
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function letterTo(from: TestKomrade, to: TestKomrade, body: string): Uint8Array {
  // The Operator never opens a letter: a v2 frame with a stand-in ratchet layer is enough.
  return framedLetter(from, { name: to.name, boxPublic: to.keys.boxPublic }, body);
}

describe('the Operator as an onion service', () => {
  const alice = makeKomrade('alice');
  const bob = makeKomrade('bob');
  let operator: OperatorProcess;
  let onion: string;

  /** Bob fetches (without acking) through `via`, opens and verifies every letter: their bodies. */
  async function bobReads(via: TestClient): Promise<string[]> {
    const reply = await retrying(() => via.post('/v1/mail/fetch', {}, { as: bob }));
    expect(reply.status).toBe(200);
    const { letters } = reply.json as { letters: { sealed: string }[] };
    return letters.map((l) => {
      return openFramedLetter(fromBase64url(l.sealed)!, bob, alice.keys.signPublic).body;
    });
  }

  it('prints its bootstrap and onion; two komrades register and exchange a letter through it', async () => {
    const started = Date.now();
    const first = await startOperatorProcess({
      powBits: POW_BITS,
      tor: { extraTorrcLines: network!.torrcLinesForClient() },
      config: { log: { level: 'info' } },
    });
    operators.push(first);
    operator = first;
    timings.startToOnionPrinted = Date.now() - started;
    expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(first.onion).toMatch(ONION_URL);
    onion = first.onion!;

    const stdout = first.stdout();
    expect(stdout).toMatch(/^Tor bootstrap \d{1,2}%: \S.*$/m);
    expect(stdout).toContain('Tor bootstrap 100%: Done\n');
    expect(stdout.match(/^Komrade Operator onion: /gm)).toHaveLength(1);
    expect(stdout.indexOf('listening on')).toBeLessThan(stdout.indexOf('onion:'));
    // Tor 0.4.9 supports the onion-service proof-of-work defence; the Operator asks for it.
    expect(first.stderr()).toMatch(/"event":"operator\.onion\.added","pow":true/);
    expect(first.stderr()).not.toContain('ED25519-V3');
    expect(statSync(join(first.dataDir, ONION_KEY_FILE)).mode & 0o777).toBe(0o600);

    const a = onionClient(onion, 'alice');
    const b = onionClient(onion, 'bob');
    const info = await retrying(() => a.get('/v1/operator'));
    expect(info.status).toBe(200);
    timings.startToOnionReachable = Date.now() - started;

    expect((await a.register(alice, POW_BITS)).status).toBe(201);
    expect((await b.register(bob, POW_BITS)).status).toBe(201);
    const sent = await a.sendLetter(alice, 'bob', letterTo(alice, bob, 'before the restart'));
    expect(sent.status).toBe(201);
    expect(await bobReads(b)).toEqual(['before the restart']);
  }, 120_000);

  it('keeps its .onion across a restart, and the letter stays fetchable', async () => {
    const restarting = Date.now();
    operator = await operator.restart();
    operators.push(operator);
    expect(operator.onion).toBe(onion);
    expect(operator.stdout().match(/^Komrade Operator onion: /gm)).toHaveLength(1);
    await refreshAfterUpload(operator, onion, 0);
    const b = onionClient(onion, 'bob-after-restart');
    expect(await bobReads(b)).toEqual(['before the restart']);
    timings.restartToOnionReachable = Date.now() - restarting;
  }, 120_000);

  it('relaunches a killed tor, republishes the same onion, and loses nothing', async () => {
    const a = onionClient(onion, 'alice-before-kill');
    await retrying(() => a.get('/v1/operator'));
    const sent = await a.sendLetter(alice, 'bob', letterTo(alice, bob, 'before the kill'));
    expect(sent.status).toBe(201);

    const uploadsBeforeKill = uploads(operator);
    const pid = await operatorTorPid(operator.dataDir);
    expect(network!.pids()).not.toContain(pid);
    process.kill(pid, 'SIGKILL');
    const killed = Date.now();
    await eventually(() => !isRunning(pid), 'the killed tor to exit');
    await eventually(
      () => operator.stdout().includes(`Tor restarted; onion service republished at ${onion}`),
      'the Operator to relaunch tor',
    );
    timings.killToRepublished = Date.now() - killed;
    expect(operator.stderr()).toContain('Tor stopped unexpectedly (killed by SIGKILL)');
    const newPid = await operatorTorPid(operator.dataDir);
    expect(newPid).not.toBe(pid);
    expect(isRunning(operator.pid)).toBe(true);

    await refreshAfterUpload(operator, onion, uploadsBeforeKill);
    const b = onionClient(onion, 'bob-after-kill');
    expect(await bobReads(b)).toEqual(['before the restart', 'before the kill']);
    timings.killToOnionReachable = Date.now() - killed;

    await operator.stop();
    expect(await operator.exited).toBe(0);
    // The Operator's tor goes with it.
    await eventually(() => !isRunning(newPid), 'the Operator to stop its tor');
  }, 120_000);
});

describe('the Operator attached to a running tor', () => {
  it('publishes through tor.control with cookie auth, and leaves that tor running when it stops', async () => {
    const service = await network!.startServiceTor();
    const portFile = await readFile(join(service.dataDir, 'control-port'), 'utf8');
    const port = Number(/:(\d+)/.exec(portFile)?.[1]);
    const started = Date.now();
    const operator = await startOperatorProcess({
      powBits: POW_BITS,
      // The harness waits for the onion line; the lines are unused when attaching.
      tor: { extraTorrcLines: [] },
      config: {
        tor: {
          control: { port },
          cookieFile: join(service.dataDir, 'control_auth_cookie'),
        },
      },
    });
    operators.push(operator);
    expect(operator.onion).toMatch(ONION_URL);
    expect(operator.stdout()).toContain('Tor bootstrap 100%: Done\n');
    const info = await retrying(() => onionClient(operator.onion!, 'attached').get('/v1/operator'));
    expect(info.status).toBe(200);
    timings.attachedStartToOnionReachable = Date.now() - started;

    await operator.stop();
    expect(await operator.exited).toBe(0);
    expect(isRunning(service.pid)).toBe(true);
    expect((await service.control.bootstrapPhase()).percent).toBe(100);
    // Not detached: the onion went away with the Operator's control connection.
    const detached = (await service.control.getInfo('onions/detached')).get('onions/detached');
    expect(detached ?? '').toBe('');
  }, 120_000);
});

describe('the onion key at rest', () => {
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'komrade-onion-key-'));
    temps.push(dir);
    return dir;
  };
  const torKey = () => {
    const raw = randomBytes(64);
    return { raw, blob: `ED25519-V3:${Buffer.from(raw).toString('base64')}` };
  };

  it('round-trips under master.key, and the file holds no key bytes in any spelling', () => {
    const dataDir = tempDir();
    const protection = new KeyProtection({ dataDir, logger: silentLogger, kdf });
    const file = new EncryptedOnionKeyFile({ dataDir, protection, logger: silentLogger });
    expect(file.load()).toBeUndefined();
    const { raw, blob } = torKey();
    file.save(blob);
    const text = readFileSync(join(dataDir, ONION_KEY_FILE), 'utf8');
    expect(JSON.parse(text)).toMatchObject({ v: 1, protection: 'master-key-file' });
    const buffer = Buffer.from(raw);
    for (const spelling of [
      blob,
      buffer.toString('base64'),
      buffer.toString('base64url'),
      buffer.toString('hex'),
      buffer.subarray(0, 16).toString('base64url'),
    ]) {
      expect(text).not.toContain(spelling);
    }
    expect(readFileSync(join(dataDir, ONION_KEY_FILE)).includes(buffer.subarray(0, 16))).toBe(
      false,
    );
    const again = new EncryptedOnionKeyFile({
      dataDir,
      protection: new KeyProtection({ dataDir, logger: silentLogger, kdf }),
      logger: silentLogger,
    });
    expect(again.load()).toBe(blob);
  });

  it('is sealed under the passphrase, refuses a wrong one, and cannot be swapped with the Operator keys', () => {
    const dataDir = tempDir();
    const passphrase = 'correct horse battery';
    const protection = new KeyProtection({ dataDir, passphrase, logger: silentLogger, kdf });
    loadOperatorKeys({ dataDir, passphrase, logger: silentLogger, protection });
    const { blob } = torKey();
    new EncryptedOnionKeyFile({ dataDir, protection, logger: silentLogger }).save(blob);
    const onionFile = JSON.parse(readFileSync(join(dataDir, ONION_KEY_FILE), 'utf8')) as {
      protection: string;
    };
    expect(onionFile.protection).toBe('passphrase');

    const open = (pass: string) =>
      new EncryptedOnionKeyFile({
        dataDir,
        protection: new KeyProtection({ dataDir, passphrase: pass, logger: silentLogger, kdf }),
        logger: silentLogger,
      }).load();
    expect(open(passphrase)).toBe(blob);
    const wrong = (() => {
      try {
        return open('wrong');
      } catch (error) {
        return error;
      }
    })();
    expect(isKomradeError(wrong, 'WRONG_PASSPHRASE')).toBe(true);

    // The purpose is bound into the associated data: the Operator's key file is no onion key.
    writeFileSync(join(dataDir, ONION_KEY_FILE), readFileSync(join(dataDir, KEY_FILE)));
    const swapped = (() => {
      try {
        return open(passphrase);
      } catch (error) {
        return error;
      }
    })();
    expect(isKomradeError(swapped)).toBe(true);
  });
});

describe('starting without Tor, or without tor installed', () => {
  it('--insecure-no-tor serves loopback only and warns loudly that it is not anonymous', async () => {
    const operator = await startOperatorProcess({ powBits: POW_BITS });
    operators.push(operator);
    expect(operator.onion).toBeUndefined();
    expect(operator.stderr()).toMatch(/^WARNING: --insecure-no-tor: .*NOT anonymous/m);
    expect(operator.stderr()).toContain('"event":"operator.insecure_no_tor"');
    expect(operator.stdout()).not.toMatch(/onion|Tor bootstrap/);
    expect((await new TestClient(operator.url).get('/v1/operator')).status).toBe(200);
  });

  it('a missing tor binary exits 1 with the install hint', async () => {
    await expect(
      startOperatorProcess({
        tor: { extraTorrcLines: [] },
        config: { tor: { binary: '/nonexistent/tor' } },
      }),
    ).rejects.toThrow(
      /exited with code 1 before printing its onion address[\s\S]*apt-get install tor/,
    );
  });
});
