/**
 * HttpOperatorClient's mailbox sessions against a real Operator in this process (real HTTP, a
 * real SQLite file): one handshake per signer, no nonce rows, a new session when the Operator
 * forgot the old one, and a grant refused under the wrong Operator key.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpOperatorClient, type RequestSigner } from '../../client/index.js';
import { blind, generateIdentityKeys, randomBytes } from '../../common/crypto/index.js';
import { tokenEpochOf } from '../../common/wire/index.js';
import { SessionTable } from '../../operator/index.js';
import {
  collectingLogger,
  startTestOperator,
  type TestOperator,
} from '../support/operator-fixture.js';
import { TestClient, makeKomrade } from '../support/operator-test-client.js';

let started: TestOperator;
let test: TestClient;
let dispatcher: Agent;
const sessions = new SessionTable();
const lines: string[] = [];
const ann = makeKomrade('ann');
const bob = makeKomrade('bob');
const annSigner: RequestSigner = { name: ann.name, signSecret: ann.keys.signSecret };
const bobSigner: RequestSigner = { name: bob.name, signSecret: bob.keys.signSecret };

const http = (extra: Partial<ConstructorParameters<typeof HttpOperatorClient>[0]> = {}) =>
  new HttpOperatorClient({ baseUrl: started.url, dispatcher, now: Date.now, ...extra });

/** Requests the Operator logged on a route, by the route's template. */
const logged = (route: string) =>
  lines.filter((line) => (JSON.parse(line) as { route?: string }).route === route).length;

function nonceRows(): number {
  const db = new Database(join(started.dataDir, 'operator.db'), { readonly: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM nonces').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  started = await startTestOperator({
    powBits: 0,
    logger: collectingLogger(lines),
    config: ['tokens: { perDay: 50 }'],
    // Held here so a test can make the Operator forget every session, as a restart does.
    sessions,
  });
  test = new TestClient(started.url);
  dispatcher = new Agent();
  for (const komrade of [ann, bob]) expect((await test.register(komrade, 0)).status).toBe(201);
});

afterAll(async () => {
  await dispatcher.close();
  await started.close();
});

describe('HttpOperatorClient in mailbox sessions', () => {
  it('opens one session per signer for all its mailbox requests, and leaves no nonce row', async () => {
    const client = http();
    expect((await test.sendLetter(bob, ann.name)).status).toBe(201);
    const rows = nonceRows();
    const handshakes = logged('/v2/session');
    const [first, ...others] = await Promise.all([
      client.fetch(annSigner),
      client.fetch(annSigner),
      client.fetch(annSigner),
    ]);
    expect([first, ...others].map((f) => f.letters.length)).toEqual([1, 1, 1]);
    const letter = first.letters[0];
    expect(await client.ack(annSigner, letter === undefined ? [] : [letter.id])).toBe(1);
    const { blindedElements } = blind('POPRF', [randomBytes(32)]);
    const issued = await client.issueTokens(annSigner, blindedElements, tokenEpochOf(Date.now()));
    expect(issued.evaluated).toHaveLength(1);
    await client.feedPage(annSigner);
    await client.fetch(bobSigner);
    expect(logged('/v2/session') - handshakes).toBe(2);
    expect(nonceRows()).toBe(rows);
  });

  it('opens a new session when the Operator forgot the old one, and goes on', async () => {
    const client = http();
    await client.fetch(annSigner);
    const handshakes = logged('/v2/session');
    sessions.clear();
    expect(await client.fetch(annSigner)).toEqual({ letters: [], more: false });
    expect(logged('/v2/session') - handshakes).toBe(1);
  });

  it('refuses a grant that does not verify under the pinned Operator key, sending nothing in it', async () => {
    const fetches = logged('/v1/mail/fetch');
    const client = http({ operatorKey: () => Promise.resolve(generateIdentityKeys().signPublic) });
    await expect(client.fetch(annSigner)).rejects.toMatchObject({ code: 'OPERATOR_ERROR' });
    expect(logged('/v1/mail/fetch')).toBe(fetches);
  });

  it('signs each request instead when sessions are turned off', async () => {
    const rows = nonceRows();
    await http({ sessions: false }).fetch(annSigner);
    expect(nonceRows()).toBe(rows + 1);
  });
});
