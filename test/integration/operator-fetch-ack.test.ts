/**
 * A fetch that acks (issue 12): `POST /v1/mail/fetch` with `ack` deletes the requester's own
 * letters among those ids before it reads, against a real Operator in this process (real HTTP, a
 * real SQLite file): ownership, bounds, malformed ids, session MACs and replays, and the deleted
 * bytes gone from every file of the data folder before the answer arrives.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clientSessionKey,
  randomBytes,
  sessionKeyPair,
  sessionMac,
} from '../../common/crypto/index.js';
import {
  MAX_ACK_IDS,
  ROUTES,
  SESSION_ROUTE,
  formatSessionAuth,
  sessionOpenResponseSchema,
  sessionRequestBytes,
  toBase64url,
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

let started: TestOperator;
let client: TestClient;
const ann = makeKomrade('ann');
const bob = makeKomrade('bob');
const cat = makeKomrade('cat');

interface Letters {
  letters: { id: string }[];
  more: boolean;
  deleted?: number;
}

beforeAll(async () => {
  started = await startTestOperator({ powBits: POW_BITS, config: ['tokens: { perDay: 200 }'] });
  client = new TestClient(started.url);
  for (const komrade of [ann, bob, cat]) {
    expect((await client.register(komrade, POW_BITS)).status).toBe(201);
  }
});

afterAll(async () => {
  await started.close();
});

/** Sends `sealed` letters (random 1 KiB ones by default) to `to`; resolves to their ids. */
async function deposit(to: TestKomrade, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const sent = await client.sendLetter(cat, to.name);
    expect(sent.status).toBe(201);
    ids.push((sent.json as { id: string }).id);
  }
  return ids;
}

/** A signed fetch as `as`. */
async function fetchAs(as: TestKomrade, body: unknown): Promise<TestReply> {
  return client.post(ROUTES.fetch, body, { as });
}

/** Empties `as`'s mailbox, so each test starts from nothing waiting. */
async function drain(as: TestKomrade): Promise<void> {
  for (;;) {
    const { letters } = (await fetchAs(as, {})).json as Letters;
    if (letters.length === 0) return;
    await client.post(ROUTES.ack, { ids: letters.map((l) => l.id) }, { as });
  }
}

describe('a fetch that carries ack', () => {
  it('deletes the requester’s acked letters, then answers the next ones and how many went', async () => {
    await drain(ann);
    const ids = await deposit(ann, 5);
    const first = await fetchAs(ann, { limit: 2 });
    expect(first.json).not.toHaveProperty('deleted');
    expect((first.json as Letters).more).toBe(true);
    expect((first.json as Letters).letters.map((l) => l.id)).toEqual(ids.slice(0, 2));

    const second = await fetchAs(ann, { limit: 2, ack: ids.slice(0, 2) });
    expect(second.status).toBe(200);
    const page = second.json as Letters;
    expect(page.deleted).toBe(2);
    expect(page.letters.map((l) => l.id)).toEqual(ids.slice(2, 4));
    expect(page.more).toBe(true);

    // The last batch is acked by the fetch that finds nothing more.
    const third = (await fetchAs(ann, { ack: ids.slice(2, 4) })).json as Letters;
    expect(third).toMatchObject({ deleted: 2, more: false });
    expect(third.letters.map((l) => l.id)).toEqual(ids.slice(4));
    expect((await fetchAs(ann, { ack: ids.slice(4) })).json).toEqual({
      letters: [],
      more: false,
      deleted: 1,
    });
    // Acking again deletes nothing and is no error (a retried request).
    expect((await fetchAs(ann, { ack: ids })).json).toEqual({
      letters: [],
      more: false,
      deleted: 0,
    });
  });

  it('ignores ids of anyone else’s letters and unknown ids, deleting only its own', async () => {
    await drain(ann);
    await drain(bob);
    const [bobs] = await deposit(bob, 1);
    const [anns] = await deposit(ann, 1);
    const reply = await fetchAs(ann, { ack: [bobs, anns, toBase64url(randomBytes(16))] });
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual({ letters: [], more: false, deleted: 1 });
    // Bob's letter is still his to fetch.
    expect(((await fetchAs(bob, {})).json as Letters).letters.map((l) => l.id)).toEqual([bobs]);
    await drain(bob);
  });

  it('answers no `deleted` when the request had no `ack`', async () => {
    await drain(ann);
    expect((await fetchAs(ann, {})).json).toEqual({ letters: [], more: false });
  });

  it('takes as many ids as the ack route, and no more', async () => {
    await drain(ann);
    const [kept] = await deposit(ann, 1);
    const many = Array.from({ length: MAX_ACK_IDS }, () => toBase64url(randomBytes(16)));
    const full = await fetchAs(ann, { ack: many });
    expect(full.status).toBe(200);
    expect((full.json as Letters).deleted).toBe(0);
    const over = await fetchAs(ann, { ack: [...many, kept] });
    expect(over.status).toBe(400);
    expect(errorCode(over)).toBe('BAD_REQUEST');
    // The refused request deleted nothing.
    expect(((await fetchAs(ann, {})).json as Letters).letters.map((l) => l.id)).toEqual([kept]);
    await drain(ann);
  });

  it.each([
    ['an empty list', []],
    ['not a list', 'x'],
    ['a short id', [toBase64url(randomBytes(15))]],
    ['a long id', [toBase64url(randomBytes(17))]],
    ['not base64url', ['!'.repeat(22)]],
    ['padded base64', [Buffer.from(randomBytes(16)).toString('base64')]],
    ['a number', [16]],
    ['null', null],
  ])('refuses %s as ack, deleting nothing', async (_what, ack) => {
    await drain(ann);
    const [kept] = await deposit(ann, 1);
    const reply = await fetchAs(ann, { ack });
    expect(reply.status).toBe(400);
    expect(errorCode(reply)).toBe('BAD_REQUEST');
    // The same letter in a malformed list is not deleted either.
    const mixed = await fetchAs(ann, { ack: [kept, toBase64url(randomBytes(15))] });
    expect(errorCode(mixed)).toBe('BAD_REQUEST');
    expect(((await fetchAs(ann, {})).json as Letters).letters.map((l) => l.id)).toEqual([kept]);
    await drain(ann);
  });

  it('refuses an unknown field beside it', async () => {
    const reply = await fetchAs(ann, { ack: [toBase64url(randomBytes(16))], acks: [] });
    expect(errorCode(reply)).toBe('BAD_REQUEST');
  });
});

/** A mailbox session as the client holds it. */
interface Session {
  readonly id: Uint8Array;
  readonly key: Uint8Array;
  seq: number;
}

async function openSession(as: TestKomrade): Promise<Session> {
  const pair = sessionKeyPair();
  const reply = await client.post(
    SESSION_ROUTE,
    { clientKey: toBase64url(pair.publicKey) },
    { as },
  );
  expect(reply.status).toBe(201);
  const grant = sessionOpenResponseSchema.parse(reply.json);
  return { id: grant.session, key: clientSessionKey(pair, grant.serverKey), seq: 0 };
}

/** The Authorization header MACing `macBody` (the body sent, unless a test forges another). */
function sessionHeader(session: Session, seq: number, macBody: Uint8Array): string {
  const bytes = sessionRequestBytes({
    method: 'POST',
    path: ROUTES.fetch,
    session: session.id,
    seq,
    body: macBody,
  });
  return formatSessionAuth({ session: session.id, seq, mac: sessionMac(session.key, bytes) });
}

describe('a fetch that acks in a mailbox session', () => {
  it('is covered by the MAC: an ack added to a MACed body is refused and deletes nothing', async () => {
    await drain(ann);
    const [kept] = await deposit(ann, 1);
    const session = await openSession(ann);
    const macked = Buffer.from(JSON.stringify({}));
    const sent = Buffer.from(JSON.stringify({ ack: [kept] }));
    const authorization = sessionHeader(session, ++session.seq, macked);
    const forged = await client.post(ROUTES.fetch, sent, { authorization });
    expect(forged.status).toBe(401);
    expect(errorCode(forged)).toBe('BAD_SIGNATURE');
    expect(((await fetchAs(ann, {})).json as Letters).letters.map((l) => l.id)).toEqual([kept]);
    await drain(ann);
  });

  it('deletes once; the same request replayed is refused', async () => {
    await drain(ann);
    const ids = await deposit(ann, 2);
    const session = await openSession(ann);
    const body = Buffer.from(JSON.stringify({ ack: ids.slice(0, 1) }));
    const authorization = sessionHeader(session, ++session.seq, body);
    const answered = await client.post(ROUTES.fetch, body, { authorization });
    expect(answered.status).toBe(200);
    expect(answered.json).toMatchObject({ deleted: 1, more: false });
    expect((answered.json as Letters).letters.map((l) => l.id)).toEqual(ids.slice(1));
    const replayed = await client.post(ROUTES.fetch, body, { authorization });
    expect(replayed.status).toBe(409);
    expect(errorCode(replayed)).toBe('REPLAY');
    await drain(ann);
  });

  it('refuses a replayed signed request (no session) that carries ack', async () => {
    await drain(ann);
    const ids = await deposit(ann, 1);
    expect((await fetchAs(ann, { ack: ids })).json).toMatchObject({ deleted: 1 });
    const replayed = await client.post(
      ROUTES.fetch,
      { ack: ids },
      { authorization: client.lastAuthorization },
    );
    expect(errorCode(replayed)).toBe('REPLAY');
  });
});

/** A ciphertext stand-in: random bytes around a marker, `size` bytes in all. */
function ciphertext(marker: string, size: number): Buffer {
  const mark = Buffer.from(marker);
  const head = Math.floor((size - mark.length) / 2);
  return Buffer.concat([randomBytes(head), mark, randomBytes(size - mark.length - head)]);
}

/** Every file under `dir` (recursively) that contains any of `patterns`. */
function filesHolding(dir: string, patterns: readonly Buffer[]): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    if (patterns.some((pattern) => readFileSync(path).includes(pattern))) found.push(path);
  }
  return found;
}

describe('the letters a fetch acks', () => {
  it('are in no file of the data folder once its answer arrives', async () => {
    await drain(bob);
    const markers = ['KOMRADE-FETCH-ACK-SMALL-4c1e', 'KOMRADE-FETCH-ACK-LARGE-9b07'];
    const small = ciphertext(markers[0] ?? '', 1_024);
    const large = ciphertext(markers[1] ?? '', 65_536);
    const kept = ciphertext('KOMRADE-FETCH-ACK-KEPT-2d5a', 1_024);
    const gone = [small, large].flatMap((sealed, i) => [
      sealed.subarray(0, 64),
      sealed.subarray(-64),
      Buffer.from(markers[i] ?? ''),
    ]);
    const ids: string[] = [];
    for (const sealed of [small, large, kept]) {
      const sent = await client.sendLetter(cat, bob.name, sealed);
      expect(sent.status).toBe(201);
      ids.push((sent.json as { id: string }).id);
    }
    expect(((await fetchAs(bob, { limit: 2 })).json as Letters).letters).toHaveLength(2);
    expect(filesHolding(started.dataDir, gone).length).toBeGreaterThan(0);

    const answer = await fetchAs(bob, { ack: ids.slice(0, 2) });
    // Read right when the answer arrives: nothing ran in between that could have scrubbed.
    const holding = filesHolding(started.dataDir, gone);
    expect(answer.json).toMatchObject({ deleted: 2 });
    expect((answer.json as Letters).letters.map((l) => l.id)).toEqual(ids.slice(2));
    expect(holding).toEqual([]);
    expect(filesHolding(started.dataDir, [kept.subarray(0, 64)])).not.toEqual([]);
    await drain(bob);
  });
});
