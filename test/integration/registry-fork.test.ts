/**
 * An Operator that forks its registry log for some clients (a targeted key swap of vic), played
 * by a proxy that holds the real Operator's signing key in front of a real Operator (real HTTP,
 * real SQLite). Clients that saw the real log catch the fork at their next consistency check; a
 * client that only saw the fork is caught by gossip when it writes to one with the real view, and
 * the other way round. What the lie still achieves is stated too, so the docs do not over-promise.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKomradeError } from '../../common/errors/index.js';
import { silentLogger } from '../../common/logging/index.js';
import { toBase64url, type Receipt } from '../../common/wire/index.js';
import { loadOperatorKeys } from '../../operator/index.js';
import {
  ClientsAt,
  LyingOperator,
  forgeReceipt,
  type ClientAt,
} from '../support/lying-operator.js';
import { startTestOperator, type TestOperator } from '../support/operator-fixture.js';

let operator: TestOperator;
let liar: LyingOperator;
let clients: ClientsAt;
let dir: string;
let forged: Receipt;
let alice: ClientAt;
let bob: ClientAt;

const inconsistent = (error: unknown) => isKomradeError(error, 'LOG_INCONSISTENT');

/** What `client` holds from `from`: its inbox and its requests (first letters wait there). */
function lettersFrom(who: ClientAt, from: string): string[] {
  const inbox = who.client
    .inbox()
    .filter((l) => l.from === from)
    .map((l) => l.text);
  const held = who.client.requests().find((r) => r.from === from)?.letters ?? [];
  return [...inbox, ...held.map((l) => l.text)];
}

beforeAll(async () => {
  operator = await startTestOperator({ powBits: 0, config: ['tokens: { perDay: 200 }'] });
  const keys = loadOperatorKeys({ dataDir: operator.dataDir, logger: silentLogger });
  liar = await LyingOperator.start(operator.url, keys);
  dir = mkdtempSync(join(tmpdir(), 'komrade-registry-fork-'));
  clients = new ClientsAt(dir);
  await clients.registered(operator.url, 'vic');
  alice = await clients.registered(operator.url, 'alice');
  bob = await clients.registered(operator.url, 'bob');
  forged = forgeReceipt(keys, 'vic');
});

afterAll(async () => {
  await clients.close();
  await liar.close();
  await operator.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('an Operator that forks its log for some clients', () => {
  it('is caught by a client that saw the real log, at its next consistency check', async () => {
    liar.lie = {};
    const carol = await clients.registered(liar.url, 'carol');
    const real = await carol.client.auditLog();
    liar.lie = { replace: [forged] };
    // The swapped record of @vic comes with a proof in the forked tree, signed by the Operator key.
    await expect(carol.client.lookup('vic')).rejects.toSatisfy(inconsistent);
    const evidence = carol.client.logEvidence();
    expect(evidence).toMatchObject({ source: 'operator', remembered: real.checkpoint });
    expect(evidence?.presented).not.toBe(real.checkpoint);
    // Stopped: nothing more goes to the Operator, and it says why.
    await expect(carol.client.auditLog()).rejects.toSatisfy(inconsistent);
    await expect(carol.client.send('@alice', 'still there?')).rejects.toSatisfy(inconsistent);

    // Another client that saw the real log, whose next step is the audit itself.
    liar.lie = {};
    const dan = await clients.registered(liar.url, 'dan');
    await dan.client.auditLog();
    liar.lie = { replace: [forged] };
    await expect(dan.client.auditLog()).rejects.toSatisfy(inconsistent);
    expect(dan.client.logEvidence()?.kind).toMatch(/fork|inconsistent/);
    expect(liar.told).toBeGreaterThan(0);
  });

  it('is caught by gossip: the real view reads a letter from the forked view, and stops', async () => {
    liar.lie = { replace: [forged] };
    const erin = await clients.registered(liar.url, 'erin');
    // erin never saw the real log: the fork is all it knows, and it writes to alice with it.
    await alice.client.auditLog();
    await erin.client.send('@alice', 'hello from the fork');
    const caught = await alice.client.checkInbox().then(
      () => undefined,
      (error: unknown) => error,
    );
    const evidence = alice.client.logEvidence();
    expect(evidence?.source).toBe('gossip from @erin');
    if (caught !== undefined) expect(inconsistent(caught)).toBe(true);
    // The letter itself is fine: delivered exactly once, then the client stopped.
    expect(lettersFrom(alice, 'erin')).toEqual(['hello from the fork']);
    await expect(alice.client.auditLog()).rejects.toSatisfy(inconsistent);
  });

  it('is caught by gossip the other way: the forked view reads a letter from the real view', async () => {
    liar.lie = { replace: [forged] };
    const fay = await clients.registered(liar.url, 'fay');
    await bob.client.auditLog();
    await bob.client.send('@fay', 'hello from the real log');
    const caught = await fay.client.checkInbox().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(fay.client.logEvidence()?.source).toBe('gossip from @bob');
    if (caught !== undefined) expect(inconsistent(caught)).toBe(true);
    expect(lettersFrom(fay, 'bob')).toEqual(['hello from the real log']);
  });

  it('still fools a brand-new client that has no checkpoint and never gossips (a stated limit)', async () => {
    liar.lie = { replace: [forged] };
    const gus = clients.at(liar.url, 'gus');
    // No registration, no letters: it has nothing to compare the fork with.
    const vic = await gus.client.lookup('vic');
    expect(vic.signKey).toBe(toBase64url(forged.signKey));
    expect(gus.client.logEvidence()).toBeUndefined();
  });
});
