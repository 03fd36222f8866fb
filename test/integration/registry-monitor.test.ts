/**
 * The registry monitor and `komrade verify-me` against a real Operator (real HTTP, real SQLite),
 * and against a lying Operator (a proxy holding the real Operator's key) that appends a second,
 * forged leaf for an existing name: a log consistent with the real one, so no client's
 * consistency check can object; only a monitor that reads every leaf catches it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpOperatorClient, RegistryMonitor, ratchetKeyOf } from '../../client/index.js';
import { silentLogger } from '../../common/logging/index.js';
import { type Receipt } from '../../common/wire/index.js';
import { loadOperatorKeys, type OperatorKeys } from '../../operator/index.js';
import { runKomradeInProcess, runKomradeOkInProcess } from '../support/komrade-cli.js';
import {
  ClientsAt,
  LyingOperator,
  forgeReceipt,
  type ClientAt,
} from '../support/lying-operator.js';
import { startTestOperator, type TestOperator } from '../support/operator-fixture.js';

let operator: TestOperator;
let keys: OperatorKeys;
let liar: LyingOperator;
let clients: ClientsAt;
let dir: string;
const agent = new Agent();
const anyText: unknown = expect.any(String);
const registered: ClientAt[] = [];

const watchedOf = (k: ClientAt) => ({
  name: k.name,
  signKey: k.keys.signPublic,
  boxKey: k.keys.boxPublic,
  ratchetKey: ratchetKeyOf(k.keys),
  keyHolder: 'self',
});

const monitorOf = (url: string, pageSize = 2) =>
  new RegistryMonitor({
    operator: new HttpOperatorClient({ baseUrl: url, dispatcher: agent, now: Date.now }),
    operatorSignKey: keys.signPublic,
    pageSize,
  });

beforeAll(async () => {
  operator = await startTestOperator({ powBits: 0 });
  keys = loadOperatorKeys({ dataDir: operator.dataDir, logger: silentLogger });
  liar = await LyingOperator.start(operator.url, keys);
  dir = mkdtempSync(join(tmpdir(), 'komrade-registry-monitor-'));
  clients = new ClientsAt(dir);
  for (const name of ['ana', 'ben', 'cleo']) {
    registered.push(await clients.registered(operator.url, name));
  }
});

afterAll(async () => {
  await clients.close();
  await liar.close();
  await agent.close();
  await operator.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the registry monitor', () => {
  it('rebuilds the real log, finds nothing, and reads only new leaves the next time', async () => {
    const monitor = monitorOf(operator.url);
    const seen: number[] = [];
    const first = await monitor.scan(registered.map(watchedOf), {
      onProgress: (p) => seen.push(p.scanned),
    });
    expect(first.problems).toEqual([]);
    expect(first.size).toBeGreaterThanOrEqual(3);
    expect(seen.at(-1)).toBe(first.size);
    const checkpoint = await registered[0]?.client.auditLog();
    expect(first.checkpoint).toBe(checkpoint?.checkpoint);

    registered.push(await clients.registered(operator.url, 'dora'));
    const second = await monitor.scan(registered.map(watchedOf));
    expect(second).toMatchObject({ downloaded: second.size - first.size, problems: [] });
    expect(second.size).toBeGreaterThan(first.size);
  });

  it('catches a second leaf for a name appended by a lying Operator', async () => {
    const honest = monitorOf(liar.url);
    liar.lie = {};
    const eve = await clients.registered(liar.url, 'eve');
    const before = await honest.scan();
    expect(before.problems).toEqual([]);
    const ben = registered[1];
    if (ben === undefined) throw new Error('no ben');
    const forged: Receipt = forgeReceipt(keys, 'ben');
    liar.lie = { append: [forged] };
    // A client's consistency check cannot object: the forged log extends the real one.
    await expect(eve.client.auditLog()).resolves.toMatchObject({ size: before.size + 1 });
    expect(eve.client.logEvidence()).toBeUndefined();
    const report = await honest.scan([watchedOf(ben)]);
    expect(report.evidence).toBeUndefined();
    expect(report.size).toBe(before.size + 1);
    const benLeaf = report.problems.find((p) => p.kind === 'second-leaf')?.leaves[0];
    expect(report.problems).toEqual([
      {
        kind: 'second-leaf',
        name: 'ben',
        leaves: [benLeaf, before.size],
        reason: anyText,
      },
      {
        kind: 'not-your-keys',
        name: 'ben',
        leaves: [benLeaf, before.size],
        reason: anyText,
      },
    ]);
    // A fresh monitor finds the same.
    const fresh = await monitorOf(liar.url, 1000).scan();
    expect(fresh.problems.map((p) => p.kind)).toEqual(['second-leaf']);
    liar.lie = {};
  });
});

describe('komrade verify-me', () => {
  it('says the keys are the only leaves for the name, then exits non-zero once a leaf is forged', async () => {
    liar.lie = {};
    const home = join(dir, 'vera-home');
    await runKomradeOkInProcess(['init', '--operator', liar.url], { home });
    await runKomradeOkInProcess(['register', 'vera'], { home });
    const ok = await runKomradeOkInProcess(['verify-me'], { home });
    expect(ok.stdout).toMatch(
      /Your keys are the only leaves for @vera in the Operator's registry log of \d+ entr(y|ies)\./,
    );
    expect(ok.stdout).toContain('No problems found.');
    expect(ok.stderr).toContain('log entries');

    liar.lie = { append: [forgeReceipt(keys, 'vera')] };
    const caught = await runKomradeInProcess(['verify-me'], { home });
    expect(caught.code).toBe(1);
    expect(caught.stdout).toContain('PROBLEM: the Operator');
    expect(caught.stdout).toContain('second-leaf @vera');
    const json = await runKomradeInProcess(['--json', 'verify-me'], { home });
    expect(json.code).toBe(1);
    const result = JSON.parse(json.stdout) as { verdict: string; problems: { kind: string }[] };
    expect(result.verdict).toBe('problems');
    expect(result.problems.map((p) => p.kind)).toContain('second-leaf');
    liar.lie = {};
  });

  it('prints the evidence and exits non-zero when the client holds LOG_INCONSISTENT evidence', async () => {
    liar.lie = {};
    const home = join(dir, 'walt-home');
    await runKomradeOkInProcess(['init', '--operator', liar.url], { home });
    await runKomradeOkInProcess(['register', 'walt'], { home });
    liar.lie = { replace: [forgeReceipt(keys, 'walt')] };
    const stopped = await runKomradeInProcess(['verify-me'], { home });
    expect(stopped.code).toBe(1);
    expect(stopped.stdout).toContain('STOP');
    expect(stopped.stdout).toContain('komrade.operator/');
    // The evidence stays: the next run shows it without asking the Operator anything.
    liar.lie = {};
    const again = await runKomradeInProcess(['--json', 'verify-me'], { home });
    expect(again.code).toBe(1);
    const result = JSON.parse(again.stdout) as { verdict: string; evidence: { presented: string } };
    expect(result.verdict).toBe('inconsistent');
    expect(result.evidence.presented).toContain('komrade.operator/');
  });

  it('has help text', async () => {
    const help = await runKomradeInProcess(['verify-me', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('is my key still mine?');
    expect(help.stdout).toContain('Exit code 0');
  });
});
