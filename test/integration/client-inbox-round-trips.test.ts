/**
 * `KomradeClient.checkInbox` against a real Operator in this process (real HTTP, real SQLite on
 * both sides): a round is one request, each batch's ids riding on the next fetch, and the last
 * batch acked by the fetch that finds nothing more. The requests are counted as they leave for
 * the Operator (at the HTTP dispatcher), not at the client's interface.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, type Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HttpOperatorClient,
  KomradeClient,
  SqliteLocalStore,
  type OperatorClient,
} from '../../client/index.js';
import { generateIdentityKeys, randomBytes } from '../../common/crypto/index.js';
import { ROUTES } from '../../common/wire/index.js';
import { withOverrides } from '../support/operator-client-overrides.js';
import { startTestOperator, type TestOperator } from '../support/operator-fixture.js';

/** An undici agent that notes the path of every request it sends. */
class CountingAgent extends Agent {
  readonly paths: string[] = [];

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) {
    this.paths.push(options.path);
    return super.dispatch(options, handler);
  }

  count(path: string): number {
    return this.paths.filter((p) => p === path).length;
  }
}

const NOW = Date.now;
let operator: TestOperator;
let dir: string;
const agents: CountingAgent[] = [];
const stores: SqliteLocalStore[] = [];

beforeAll(async () => {
  operator = await startTestOperator({ powBits: 0, config: ['tokens: { perDay: 200 }'] });
  dir = mkdtempSync(join(tmpdir(), 'komrade-inbox-rounds-'));
});

afterAll(async () => {
  for (const store of stores) store.close();
  await Promise.all(agents.map((agent) => agent.close()));
  await operator.close();
  rmSync(dir, { recursive: true, force: true });
});

let counter = 0;

/** A registered komrade whose requests go through its own counting agent. */
async function komrade(prefix: string, bend?: (http: HttpOperatorClient) => OperatorClient) {
  const name = `${prefix}_${++counter}`;
  const agent = new CountingAgent();
  agents.push(agent);
  const http = new HttpOperatorClient({ baseUrl: operator.url, dispatcher: agent, now: NOW });
  const store = new SqliteLocalStore(join(dir, `${name}.db`), { storageKey: randomBytes(32) });
  stores.push(store);
  const keys = generateIdentityKeys();
  const client = new KomradeClient({
    operator: bend === undefined ? http : bend(http),
    store,
    keys,
    now: NOW,
    keyHolder: 'self',
  });
  await client.register(name);
  return { name, agent, client, store };
}

/** What waits for `name` at the Operator, read from its store. */
async function waiting(name: string): Promise<number> {
  return (await operator.store.fetch(name, 1_000, NOW())).letters.length;
}

describe('checkInbox', () => {
  it('fetches and acks in one request a round, and leaves nothing at the Operator', async () => {
    const alice = await komrade('alice');
    // Three at a time, so seven letters take three batches.
    const bob = await komrade('bob', (http) =>
      withOverrides(http, {
        fetch: (signer, options) => http.fetch(signer, { ...options, limit: 3 }),
      }),
    );
    bob.client.accept(alice.name);
    for (let i = 0; i < 7; i++) await alice.client.send(bob.name, `n${i}`);
    expect(await waiting(bob.name)).toBe(7);

    const before = { fetch: bob.agent.count(ROUTES.fetch), ack: bob.agent.count(ROUTES.ack) };
    expect((await bob.client.checkInbox()).received).toBe(7);
    // 3 + 3 + 1 letters, then a fetch that finds nothing and acks the last: 4 requests, not 6.
    expect(bob.agent.count(ROUTES.fetch) - before.fetch).toBe(4);
    expect(bob.agent.count(ROUTES.ack) - before.ack).toBe(0);
    expect(bob.client.inbox().map((l) => l.text)).toEqual(
      Array.from({ length: 7 }, (_, i) => `n${i}`),
    );
    expect(await waiting(bob.name)).toBe(0);
  });

  it('costs two requests for one letter, and one for none', async () => {
    const alice = await komrade('alice');
    const bob = await komrade('bob');
    bob.client.accept(alice.name);
    await alice.client.send(bob.name, 'one');
    const fetches = bob.agent.count(ROUTES.fetch);
    expect((await bob.client.checkInbox()).received).toBe(1);
    expect(bob.agent.count(ROUTES.fetch) - fetches).toBe(2);
    expect(bob.agent.count(ROUTES.ack)).toBe(0);
    expect(await waiting(bob.name)).toBe(0);

    await bob.client.checkInbox();
    expect(bob.agent.count(ROUTES.fetch) - fetches).toBe(3);
    expect(bob.agent.count(ROUTES.ack)).toBe(0);
  });

  it('acks nothing it has not stored: a failed round leaves its letters at the Operator', async () => {
    const alice = await komrade('alice');
    let failSecondFetch = true;
    let fetches = 0;
    const bob = await komrade('bob', (http) =>
      withOverrides(http, {
        fetch: async (signer, options) => {
          fetches++;
          // The fetch that would carry the first batch's ids never reaches the Operator.
          if (failSecondFetch && fetches === 2) throw new Error('network gone');
          return http.fetch(signer, options);
        },
      }),
    );
    bob.client.accept(alice.name);
    await alice.client.send(bob.name, 'kept');
    await expect(bob.client.checkInbox()).rejects.toThrow('network gone');
    // Stored here, still at the Operator: the next check acks it without showing it twice.
    expect(bob.client.inbox().map((l) => l.text)).toEqual(['kept']);
    expect(await waiting(bob.name)).toBe(1);
    failSecondFetch = false;
    expect(await bob.client.checkInbox()).toMatchObject({ received: 0, duplicates: 1 });
    expect(bob.client.inbox().map((l) => l.text)).toEqual(['kept']);
    expect(await waiting(bob.name)).toBe(0);
  });
});
