/**
 * Mailbox sessions against a real Operator in this process (real HTTP, a real SQLite file): one
 * signed handshake, then requests with a MAC and a sequence number; replays, forgeries, expiry,
 * restarts, and what the data folder keeps of it all (nothing).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  blind,
  clientSessionKey,
  randomBytes,
  sessionKeyPair,
  sessionMac,
  verifyDetached,
  type SessionKeyPair,
} from '../../common/crypto/index.js';
import {
  COLLECTIVE_ROUTES,
  ROUTES,
  SESSION_REPLAY_WINDOW,
  SESSION_ROUTE,
  SESSION_TTL_MS,
  TOKEN_ROUTES,
  formatSessionAuth,
  fromBase64url,
  sessionGrantBytes,
  sessionOpenResponseSchema,
  sessionRequestBytes,
  toBase64url,
  tokenEpochOf,
  tokenIssueResponseSchema,
} from '../../common/wire/index.js';
import { startTestOperator, type TestOperator } from '../support/operator-fixture.js';
import {
  TestClient,
  errorCode,
  makeKomrade,
  type TestKomrade,
  type TestReply,
} from '../support/operator-test-client.js';

const POW_BITS = 0;

let offset = 0;
const now = () => Date.now() + offset;

const dataDir = mkdtempSync(join(tmpdir(), 'komrade-sessions-'));
let started: TestOperator;
let client: TestClient;
let operatorKey: Uint8Array;
const ann = makeKomrade('ann');
const bob = makeKomrade('bob');

async function start(): Promise<void> {
  started = await startTestOperator({
    powBits: POW_BITS,
    dataDir,
    config: ['tokens: { perDay: 50 }'],
    now,
  });
  client = new TestClient(started.url, now);
}

/** A session as the client holds it; `key` may be swapped for a forger's. */
interface Session {
  readonly id: Uint8Array;
  key: Uint8Array;
  seq: number;
}

/** The handshake: signed as `as`, with `pair` as the client's ephemeral key. */
async function handshake(
  as: TestKomrade,
  pair: SessionKeyPair = sessionKeyPair(),
): Promise<TestReply> {
  return client.post(SESSION_ROUTE, { clientKey: toBase64url(pair.publicKey) }, { as });
}

/** Opens a session for `as`, checking the Operator's signed grant as a client must. */
async function open(as: TestKomrade): Promise<Session> {
  const pair = sessionKeyPair();
  const reply = await handshake(as, pair);
  expect(reply.status).toBe(201);
  const grant = sessionOpenResponseSchema.parse(reply.json);
  const signed = sessionGrantBytes({
    name: as.name,
    clientKey: pair.publicKey,
    serverKey: grant.serverKey,
    session: grant.session,
    expiresAt: grant.expiresAt,
  });
  expect(verifyDetached(grant.sig, signed, operatorKey)).toBe(true);
  const after = now();
  expect(grant.expiresAt).toBeGreaterThan(after + SESSION_TTL_MS - 5_000);
  expect(grant.expiresAt).toBeLessThanOrEqual(after + SESSION_TTL_MS);
  return { id: grant.session, key: clientSessionKey(pair, grant.serverKey), seq: 0 };
}

/** The Authorization header for one session request. */
function sessionHeader(
  session: Session,
  path: string,
  body: Uint8Array,
  seq: number,
  macPath = path,
): string {
  const bytes = sessionRequestBytes({
    method: 'POST',
    path: macPath,
    session: session.id,
    seq,
    body,
  });
  return formatSessionAuth({ session: session.id, seq, mac: sessionMac(session.key, bytes) });
}

/** POSTs `json` in `session` with the next (or the given) sequence number. */
function call(
  session: Session,
  path: string,
  json: unknown,
  options: { seq?: number; macPath?: string; macBody?: unknown } = {},
): Promise<TestReply> {
  const seq = options.seq ?? ++session.seq;
  const body = Buffer.from(JSON.stringify(json));
  const macBody =
    options.macBody === undefined ? body : Buffer.from(JSON.stringify(options.macBody));
  const authorization = sessionHeader(session, path, macBody, seq, options.macPath);
  return client.post(path, body, { authorization });
}

/** Sends `count` anonymous letters to `to` (tokens obtained by signed requests of bob's). */
async function deposit(to: TestKomrade, count: number): Promise<void> {
  for (let i = 0; i < count; i++) expect((await client.sendLetter(bob, to.name)).status).toBe(201);
}

function nonceRows(): number {
  const db = new Database(join(dataDir, 'operator.db'), { readonly: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM nonces').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

type Letters = { letters: { id: string }[]; more: boolean };

beforeAll(async () => {
  await start();
  for (const komrade of [ann, bob]) {
    expect((await client.register(komrade, POW_BITS)).status).toBe(201);
  }
  const info = (await client.get(ROUTES.operator)).json as { signKey: string };
  operatorKey = fromBase64url(info.signKey) ?? new Uint8Array(0);
});

afterAll(async () => {
  await started.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('a mailbox session', () => {
  it('fetches and acks with MACs after one signed handshake, and writes no nonce row', async () => {
    await deposit(ann, 3);
    const before = nonceRows();
    const session = await open(ann);
    const fetched = await call(session, ROUTES.fetch, {});
    expect(fetched.status).toBe(200);
    const { letters } = fetched.json as Letters;
    expect(letters).toHaveLength(3);
    const acked = await call(session, ROUTES.ack, { ids: letters.map((l) => l.id) });
    expect(acked.status).toBe(200);
    expect(acked.json).toEqual({ deleted: 3 });
    expect(((await call(session, ROUTES.fetch, {})).json as Letters).letters).toEqual([]);
    // Token issuance and the feed take sessions too.
    const { blindedElements } = blind('POPRF', [randomBytes(32), randomBytes(32)]);
    const issued = await call(session, TOKEN_ROUTES.issue, {
      epoch: tokenEpochOf(now()),
      blinded: blindedElements.map(toBase64url),
    });
    expect(issued.status).toBe(200);
    expect(tokenIssueResponseSchema.parse(issued.json).evaluated).toHaveLength(2);
    expect((await call(session, ROUTES.feed, {})).status).toBe(200);
    // Collective routes too: past authentication, the collective is what is unknown.
    const head = await call(session, COLLECTIVE_ROUTES.head, { collective: 'nowhere' });
    expect(errorCode(head)).toBe('NAME_UNKNOWN');
    for (let i = 0; i < 20; i++) expect((await call(session, ROUTES.fetch, {})).status).toBe(200);
    // Read from the file, as a copy of the disk would be: the handshake and the 26 requests
    // left no row behind.
    expect(nonceRows()).toBe(before);
  });

  it('reads only its owner mailbox', async () => {
    await deposit(ann, 1);
    const bobs = await open(bob);
    expect(((await call(bobs, ROUTES.fetch, {})).json as Letters).letters).toEqual([]);
    const anns = await open(ann);
    const { letters } = (await call(anns, ROUTES.fetch, {})).json as Letters;
    expect(letters).toHaveLength(1);
    // Bob's session cannot ack ann's letter away.
    expect((await call(bobs, ROUTES.ack, { ids: letters.map((l) => l.id) })).json).toEqual({
      deleted: 0,
    });
    expect((await call(anns, ROUTES.ack, { ids: letters.map((l) => l.id) })).json).toEqual({
      deleted: 1,
    });
  });

  it('still accepts a signed request without a session, which remembers its nonce', async () => {
    const before = nonceRows();
    const reply = await client.post(ROUTES.fetch, {}, { as: ann });
    expect(reply.status).toBe(200);
    expect(nonceRows()).toBe(before + 1);
    const replayed = await client.post(
      ROUTES.fetch,
      {},
      { authorization: client.lastAuthorization },
    );
    expect(errorCode(replayed)).toBe('REPLAY');
  });
});

describe('sequence numbers', () => {
  it('refuses a replayed request (the same sequence number), even unchanged', async () => {
    const session = await open(ann);
    const body = Buffer.from('{}');
    const authorization = sessionHeader(session, ROUTES.fetch, body, 7);
    expect((await client.post(ROUTES.fetch, body, { authorization })).status).toBe(200);
    const again = await client.post(ROUTES.fetch, body, { authorization });
    expect(again.status).toBe(409);
    expect(errorCode(again)).toBe('REPLAY');
  });

  it('accepts numbers out of order within the window, each once', async () => {
    const session = await open(ann);
    const order = [5, 2, 9, 1, 3, 0, 4, 8, 7, 6];
    const first = await Promise.all(
      order.map((seq) => call(session, ROUTES.fetch, {}, { seq }).then((r) => r.status)),
    );
    expect(first).toEqual(order.map(() => 200));
    for (const seq of order) {
      expect(errorCode(await call(session, ROUTES.fetch, {}, { seq }))).toBe('REPLAY');
    }
  });

  it('refuses a number too far behind the highest seen', async () => {
    const session = await open(ann);
    expect((await call(session, ROUTES.fetch, {}, { seq: 1_000 })).status).toBe(200);
    const old = await call(session, ROUTES.fetch, {}, { seq: 1_000 - SESSION_REPLAY_WINDOW });
    expect(errorCode(old)).toBe('REPLAY');
    const edge = await call(session, ROUTES.fetch, {}, { seq: 1_001 - SESSION_REPLAY_WINDOW });
    expect(edge.status).toBe(200);
  });

  it('does not let a forger use up sequence numbers', async () => {
    const session = await open(ann);
    const forger = { ...session, key: randomBytes(32) };
    expect(errorCode(await call(forger, ROUTES.fetch, {}, { seq: 3 }))).toBe('BAD_SIGNATURE');
    expect((await call(session, ROUTES.fetch, {}, { seq: 3 })).status).toBe(200);
  });
});

describe('forged session requests', () => {
  it('refuses a MAC under another key, over another body or for another path', async () => {
    await deposit(ann, 1);
    const session = await open(ann);
    const other = await open(ann);
    const cases: [string, Promise<TestReply>][] = [
      ['another key', call({ ...session, key: randomBytes(32) }, ROUTES.fetch, {})],
      ["another session's key", call({ ...session, key: other.key }, ROUTES.fetch, {})],
      ['a changed body', call(session, ROUTES.fetch, { limit: 1 }, { macBody: { limit: 2 } })],
      ['a changed path', call(session, ROUTES.ack, { ids: [] }, { macPath: ROUTES.fetch })],
      ['another route', call(session, ROUTES.feed, {}, { macPath: ROUTES.fetch })],
    ];
    for (const [what, reply] of cases) {
      const answer = await reply;
      expect(answer.status, what).toBe(401);
      expect(errorCode(answer), what).toBe('BAD_SIGNATURE');
    }
    // Nothing was acked by any of them.
    expect(((await call(session, ROUTES.fetch, {})).json as Letters).letters).toHaveLength(1);
    const { letters } = (await call(session, ROUTES.fetch, {})).json as Letters;
    await call(session, ROUTES.ack, { ids: letters.map((l) => l.id) });
  });

  it('answers SESSION_UNKNOWN for an id it never gave', async () => {
    const made = { id: randomBytes(16), key: randomBytes(32), seq: 0 };
    const reply = await call(made, ROUTES.fetch, {});
    expect(reply.status).toBe(401);
    expect(errorCode(reply)).toBe('SESSION_UNKNOWN');
    expect((reply.json as { error: { message: string } }).error.message).toMatch(
      /open a new session/,
    );
  });

  it.each([
    ['no fields', 'KomradeSession '],
    ['a bad id', `KomradeSession id=${'!'.repeat(22)},seq=1,mac=${'A'.repeat(43)}`],
    ['a signature header spliced in', `KomradeSession name=ann,at=1,nonce=x,sig=y`],
  ])('refuses a malformed header (%s) as BAD_REQUEST', async (_what, authorization) => {
    const reply = await client.post(ROUTES.fetch, {}, { authorization });
    expect(errorCode(reply)).toBe('BAD_REQUEST');
  });

  it('does not open a session with a session request, nor with a low-order key', async () => {
    const session = await open(ann);
    const nested = await call(session, SESSION_ROUTE, {
      clientKey: toBase64url(sessionKeyPair().publicKey),
    });
    expect(errorCode(nested)).toBe('BAD_REQUEST');
    const zero = await client.post(
      SESSION_ROUTE,
      { clientKey: toBase64url(new Uint8Array(32)) },
      { as: ann },
    );
    expect(errorCode(zero)).toBe('KEY_INVALID');
    expect(errorCode(await client.post(SESSION_ROUTE, {}, { as: ann }))).toBe('BAD_REQUEST');
    expect(errorCode(await client.post(SESSION_ROUTE, { clientKey: 'x' }))).toBe('AUTH_REQUIRED');
  });
});

describe('the handshake', () => {
  it('writes no nonce row, and a replay of a live session is refused', async () => {
    const before = nonceRows();
    const pair = sessionKeyPair();
    expect((await handshake(ann, pair)).status).toBe(201);
    expect(nonceRows()).toBe(before);
    const replayed = await client.post(
      SESSION_ROUTE,
      { clientKey: toBase64url(pair.publicKey) },
      { authorization: client.lastAuthorization },
    );
    expect(errorCode(replayed)).toBe('REPLAY');
  });

  it('still checks the clock', async () => {
    const stale = await client.post(
      SESSION_ROUTE,
      { clientKey: toBase64url(sessionKeyPair().publicKey) },
      { as: ann, at: now() - 10 * 60_000 },
    );
    expect(errorCode(stale)).toBe('CLOCK_SKEW');
  });

  it('keeps at most 8 live sessions per name, evicting the oldest', async () => {
    const sessions: Session[] = [];
    for (let i = 0; i < 9; i++) sessions.push(await open(bob));
    expect(errorCode(await call(sessions[0] as Session, ROUTES.fetch, {}))).toBe('SESSION_UNKNOWN');
    for (const session of sessions.slice(1)) {
      expect((await call(session, ROUTES.fetch, {})).status).toBe(200);
    }
  });
});

describe('expiry and restarts', () => {
  it('forgets a session once it expires', async () => {
    const session = await open(ann);
    offset += SESSION_TTL_MS - 1_000;
    try {
      expect((await call(session, ROUTES.fetch, {})).status).toBe(200);
      offset += 1_000;
      expect(errorCode(await call(session, ROUTES.fetch, {}))).toBe('SESSION_UNKNOWN');
    } finally {
      offset -= SESSION_TTL_MS;
    }
  });

  it('forgets every session on restart; a replayed handshake then opens one only the real client can use', async () => {
    const pair = sessionKeyPair();
    const reply = await handshake(ann, pair);
    const signedHandshake = client.lastAuthorization;
    const grant = sessionOpenResponseSchema.parse(reply.json);
    const session: Session = {
      id: grant.session,
      key: clientSessionKey(pair, grant.serverKey),
      seq: 0,
    };
    expect((await call(session, ROUTES.fetch, {})).status).toBe(200);

    await started.close();
    await start();

    expect(errorCode(await call(session, ROUTES.fetch, {}))).toBe('SESSION_UNKNOWN');
    const before = nonceRows();
    // Someone who saw the handshake sends it again: the Operator opens a session, but its key
    // comes from the client's ephemeral secret, which the replayer does not have.
    const replayed = await client.post(
      SESSION_ROUTE,
      { clientKey: toBase64url(pair.publicKey) },
      { authorization: signedHandshake },
    );
    expect(replayed.status).toBe(201);
    const stolen = sessionOpenResponseSchema.parse(replayed.json);
    const replayer = sessionKeyPair();
    const guesses = [
      clientSessionKey(replayer, stolen.serverKey),
      // What the old session's key was: useless for the new one.
      session.key,
      randomBytes(32),
    ];
    for (const key of guesses) {
      const attempt = await call({ id: stolen.session, key, seq: 0 }, ROUTES.fetch, {});
      expect(errorCode(attempt)).toBe('BAD_SIGNATURE');
    }
    // The real client could (it holds the secret), which is what makes the replay harmless.
    const real = { id: stolen.session, key: clientSessionKey(pair, stolen.serverKey), seq: 0 };
    expect((await call(real, ROUTES.fetch, {})).status).toBe(200);
    expect(nonceRows()).toBe(before);
  });
});
