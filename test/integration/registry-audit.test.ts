/**
 * `KomradeClient` audits a real Operator's registry log (in this process, real HTTP, real SQLite
 * on both sides): receipts come with proofs that verify, `auditLog()` follows the log as it grows,
 * and a letter carries the sender's checkpoint, which the receiver checks and adopts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpOperatorClient, KomradeClient, SqliteLocalStore } from '../../client/index.js';
import { generateIdentityKeys, randomBytes } from '../../common/crypto/index.js';
import { startTestOperator, type TestOperator } from '../support/operator-fixture.js';

const NOW = Date.now;
let operator: TestOperator;
let dir: string;
let agent: Agent;
const stores: SqliteLocalStore[] = [];

beforeAll(async () => {
  operator = await startTestOperator({ powBits: 0, config: ['tokens: { perDay: 200 }'] });
  dir = mkdtempSync(join(tmpdir(), 'komrade-registry-audit-'));
  agent = new Agent();
});

afterAll(async () => {
  for (const store of stores) store.close();
  await agent.close();
  await operator.close();
  rmSync(dir, { recursive: true, force: true });
});

let counter = 0;

/** A registered komrade with its own store, talking to the Operator over HTTP. */
async function komrade(prefix: string) {
  const name = `${prefix}_${++counter}`;
  const http = new HttpOperatorClient({ baseUrl: operator.url, dispatcher: agent, now: NOW });
  const store = new SqliteLocalStore(join(dir, `${name}.db`), { storageKey: randomBytes(32) });
  stores.push(store);
  const client = new KomradeClient({
    operator: http,
    store,
    keys: generateIdentityKeys(),
    now: NOW,
    keyHolder: 'self',
  });
  await client.register(name);
  return { name, client, store, http };
}

describe('the registry log of a real Operator, audited by its clients', () => {
  it('register, lookup, auditLog: every receipt proven, each newer checkpoint proven consistent', async () => {
    const alice = await komrade('alice');
    const first = await alice.client.auditLog();
    expect(first.size).toBeGreaterThanOrEqual(1);
    const bob = await komrade('bob');
    expect((await alice.client.lookup(bob.name)).name).toBe(bob.name);
    const second = await alice.client.auditLog();
    expect(second.size).toBeGreaterThan(first.size);
    expect(second.checkpoint).toBe(alice.store.logCheckpoint());
    expect(alice.client.logEvidence()).toBeUndefined();
  });

  it('a letter gossips the sender’s checkpoint; the receiver checks it and moves on to it', async () => {
    const alice = await komrade('alice');
    const bob = await komrade('bob');
    await komrade('carol');
    await alice.client.auditLog();
    const before = bob.store.logCheckpoint();
    await alice.client.send(bob.name, 'over real HTTP');
    const check = await bob.client.checkInbox();
    expect(check.requested).toBe(1);
    expect(bob.store.logCheckpoint()).not.toBe(before);
    expect(bob.store.logCheckpoint()).toBe(alice.store.logCheckpoint());
    expect(bob.client.requests()[0]?.letters[0]?.text).toBe('over real HTTP');
    expect(bob.client.logEvidence()).toBeUndefined();
  });
});
