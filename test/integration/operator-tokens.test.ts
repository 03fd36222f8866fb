/**
 * Anonymous tokens and anonymous sends against a real Operator in this process (real HTTP, a
 * real SQLite file): issue and spend, forgeries, double spends and retries, epochs, the daily
 * allowance, hostile bodies, the sweep, and what the data folder keeps of a send.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blind, evaluate, generateOprfKeyPair, randomBytes } from '../../common/crypto/index.js';
import { silentLogger } from '../../common/logging/index.js';
import {
  MAX_TOKEN_BATCH,
  TOKEN_ROUTES,
  fromBase64url,
  toBase64url,
  tokenEpochInfo,
  tokenEpochOf,
  tokenIssueResponseSchema,
  type Token,
} from '../../common/wire/index.js';
import { Sweeper } from '../../operator/index.js';
import { framedLetter } from '../support/framed-letter.js';
import { startTestOperator, type TestOperator } from '../support/operator-fixture.js';
import {
  TestClient,
  anonymousSendBody,
  errorCode,
  makeKomrade,
  sealedOfClass,
  type TestKomrade,
  type TestReply,
} from '../support/operator-test-client.js';

const POW_BITS = 0;
const DAY = 86_400_000;
const HOUR = 3_600_000;
const PER_DAY = 10;

let offset = 0;
const now = () => Date.now() + offset;

let started: TestOperator;
let client: TestClient;
const bob = makeKomrade('bob');

let counter = 0;
/** A newly registered komrade: each test spends its own allowance. */
async function fresh(prefix: string): Promise<TestKomrade> {
  const komrade = makeKomrade(`${prefix}${++counter}`);
  expect((await client.register(komrade, POW_BITS)).status).toBe(201);
  return komrade;
}

/** Runs `body` with the shared clock moved by `by` ms (the Operator's and the client's). */
async function at<T>(by: number, body: () => Promise<T>): Promise<T> {
  offset += by;
  try {
    return await body();
  } finally {
    offset -= by;
  }
}

const messageOf = (reply: TestReply) =>
  (reply.json as { error?: { message?: string } }).error?.message ?? '';

async function mailboxOf(who: TestKomrade): Promise<{ id: string; sealed: string }[]> {
  const reply = await client.post('/v1/mail/fetch', {}, { as: who });
  expect(reply.status).toBe(200);
  return (reply.json as { letters: { id: string; sealed: string }[] }).letters;
}

async function emptyMailbox(who: TestKomrade): Promise<void> {
  const ids = (await mailboxOf(who)).map((l) => l.id);
  if (ids.length > 0) await client.post('/v1/mail/ack', { ids }, { as: who });
}

/** Reads the Operator's database file directly, as a copy of the disk would be read. */
function onDisk<T>(query: (db: Database.Database) => T): T {
  const db = new Database(join(started.dataDir, 'operator.db'), { readonly: true });
  try {
    return query(db);
  } finally {
    db.close();
  }
}

function letterFrom(from: TestKomrade, body: string): Uint8Array {
  // The Operator never opens a letter: a v2 frame with a stand-in ratchet layer is enough.
  return framedLetter(from, { name: bob.name, boxPublic: bob.keys.boxPublic }, body);
}

/** A signed issue request for `count` fresh blinded inputs. */
function issue(as: TestKomrade, count: number, epoch = tokenEpochOf(now())): Promise<TestReply> {
  const inputs = Array.from({ length: count }, () => randomBytes(32));
  const { blindedElements } = blind('POPRF', inputs);
  return client.post(
    TOKEN_ROUTES.issue,
    { epoch, blinded: blindedElements.map(toBase64url) },
    { as },
  );
}

beforeAll(async () => {
  started = await startTestOperator({
    powBits: POW_BITS,
    config: [`tokens: { perDay: ${PER_DAY} }`, 'mail: { mailboxQuotaLetters: 50 }'],
    now,
  });
  client = new TestClient(started.url, now);
  expect((await client.register(bob, POW_BITS)).status).toBe(201);
});

afterAll(() => started.close());

describe('issuing tokens', () => {
  it('evaluates a blinded batch with a proof the client checks, and says how many are left', async () => {
    const alice = await fresh('alice');
    const epoch = tokenEpochOf(now());
    const reply = await issue(alice, 3);
    expect(reply.status).toBe(200);
    const answer = tokenIssueResponseSchema.parse(reply.json);
    expect(answer.epoch).toBe(epoch);
    expect(answer.evaluated).toHaveLength(3);
    expect(answer.left).toBe(PER_DAY - 3);
    // The whole roundtrip, the proof checked against the published key (throws otherwise).
    const tokens = await client.tokens(alice, 2);
    expect(tokens).toHaveLength(2);
    expect(tokens.every((t) => t.output.length === 64 && t.epoch === epoch)).toBe(true);
    expect(await started.store.tokensIssued(alice.name, epoch)).toBe(5);
  });

  it('TOKEN_INVALID for any epoch but the current one, naming the current one', async () => {
    const alice = await fresh('alice');
    const epoch = tokenEpochOf(now());
    for (const asked of [epoch - 1, epoch + 1, 0]) {
      const reply = await issue(alice, 1, asked);
      expect(reply.status).toBe(403);
      expect(errorCode(reply)).toBe('TOKEN_INVALID');
      expect(messageOf(reply)).toContain(`current epoch, ${epoch}`);
    }
    expect(await started.store.tokensIssued(alice.name, epoch)).toBe(0);
  });

  it('TOKENS_EXHAUSTED above the allowance, whole batches only, saying when more come', async () => {
    const erin = await fresh('erin');
    const dayStart = Math.floor(now() / DAY) * DAY;
    // 19:30 UTC: the next epoch starts in 4.5 hours.
    const by = dayStart + 19.5 * HOUR - now();
    await at(by, async () => {
      expect(await client.tokens(erin, 7)).toHaveLength(7);
      const partial = await issue(erin, 4);
      expect(partial.status).toBe(429);
      expect(errorCode(partial)).toBe('TOKENS_EXHAUSTED');
      const tomorrow = new Date(dayStart + DAY).toISOString().slice(0, 10);
      expect(messageOf(partial)).toContain('Only 3 of the 4 tokens');
      expect(messageOf(partial)).toContain(`at 00:00 UTC on ${tomorrow}, in 5 h`);
      // Nothing of the refused batch was counted: the 3 left are still there.
      expect(await client.tokens(erin, 3)).toHaveLength(3);
      const none = await issue(erin, 1);
      expect(errorCode(none)).toBe('TOKENS_EXHAUSTED');
      expect(messageOf(none)).toContain('No tokens left today');
      expect(messageOf(none)).toContain('in 5 h');
    });
    // The next epoch brings a fresh allowance.
    await at(by + 5 * HOUR, async () => {
      expect(await client.tokens(erin, PER_DAY)).toHaveLength(PER_DAY);
    });
  });

  it('AUTH_REQUIRED unsigned, NAME_UNKNOWN for an unregistered signer', async () => {
    const body = {
      epoch: tokenEpochOf(now()),
      blinded: blind('POPRF', [randomBytes(32)]).blindedElements.map(toBase64url),
    };
    const unsigned = await client.post(TOKEN_ROUTES.issue, body);
    expect(unsigned.status).toBe(401);
    expect(errorCode(unsigned)).toBe('AUTH_REQUIRED');
    const ghost = await client.post(TOKEN_ROUTES.issue, body, { as: makeKomrade('ghost') });
    expect(errorCode(ghost)).toBe('NAME_UNKNOWN');
  });

  it('BAD_REQUEST for malformed batches, counting none of them', async () => {
    const alice = await fresh('alice');
    const epoch = tokenEpochOf(now());
    const good = toBase64url(blind('POPRF', [randomBytes(32)]).blindedElements[0]!);
    const bodies: unknown[] = [
      {},
      { epoch },
      { epoch, blinded: [] },
      { epoch, blinded: Array.from({ length: MAX_TOKEN_BATCH + 1 }, () => good) },
      { epoch, blinded: ['not base64!'] },
      { epoch, blinded: [toBase64url(randomBytes(31))] },
      { epoch, blinded: [toBase64url(randomBytes(33))] },
      // Not a canonical ristretto255 encoding; the identity element.
      { epoch, blinded: [good, toBase64url(new Uint8Array(32).fill(0xff))] },
      { epoch, blinded: [toBase64url(new Uint8Array(32))] },
      { epoch: -1, blinded: [good] },
      { epoch: 'today', blinded: [good] },
      { epoch: epoch + 0.5, blinded: [good] },
      { epoch, blinded: [good], extra: true },
      [good],
    ];
    for (const body of bodies) {
      const reply = await client.post(TOKEN_ROUTES.issue, body, { as: alice });
      expect(reply.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(errorCode(reply)).toBe('BAD_REQUEST');
    }
    expect(await started.store.tokensIssued(alice.name, epoch)).toBe(0);
  });
});

describe('sending anonymously', () => {
  it('delivers a letter paid with a token, with no Authorization header', async () => {
    const alice = await fresh('alice');
    await emptyMailbox(bob);
    const [token] = await client.tokens(alice, 1);
    const sealed = letterFrom(alice, 'paid for');
    const reply = await client.sendAnonymously(bob.name, sealed, token!);
    expect(reply.status).toBe(201);
    const { id, receivedAt } = reply.json as { id: string; receivedAt: number };
    expect(fromBase64url(id)).toHaveLength(16);
    expect(receivedAt % 600_000).toBe(0);
    const letters = await mailboxOf(bob);
    expect(letters.map((l) => l.id)).toEqual([id]);
    expect(letters[0]?.sealed).toBe(toBase64url(sealed));
    await emptyMailbox(bob);
  });

  it('ignores an Authorization header: the send is judged by its token alone', async () => {
    const alice = await fresh('alice');
    const [token] = await client.tokens(alice, 1);
    const body = anonymousSendBody(bob.name, sealedOfClass(), token!);
    const reply = await client.post(TOKEN_ROUTES.send, body, { authorization: 'Komrade nope' });
    expect(reply.status).toBe(201);
    await emptyMailbox(bob);
  });

  it('TOKEN_INVALID for forged tokens, storing nothing', async () => {
    const alice = await fresh('alice');
    await emptyMailbox(bob);
    const [a, b] = await client.tokens(alice, 2);
    const epoch = tokenEpochOf(now());
    const otherKey = generateOprfKeyPair();
    const input = randomBytes(32);
    const underOtherKey = evaluate(
      { mode: 'POPRF', info: tokenEpochInfo(epoch) },
      otherKey.secretKey,
      input,
    );
    const forgeries: [string, Token][] = [
      ['a random output', { epoch, input: randomBytes(32), output: randomBytes(64) }],
      ['the output of another input', { epoch, input: b!.input, output: a!.output }],
      ['a flipped bit', { ...a!, output: Uint8Array.from(a!.output, (x, i) => (i ? x : x ^ 1)) }],
      ['an output under another key', { epoch, input, output: underOtherKey }],
      ['a valid output claimed for the day before', { ...a!, epoch: epoch - 1 }],
    ];
    for (const [what, token] of forgeries) {
      const reply = await client.sendAnonymously(bob.name, sealedOfClass(), token);
      expect(reply.status, what).toBe(403);
      expect(errorCode(reply), what).toBe('TOKEN_INVALID');
    }
    expect(await mailboxOf(bob)).toHaveLength(0);
    // The genuine tokens still work: a forgery spends nothing.
    for (const token of [a!, b!]) {
      expect((await client.sendAnonymously(bob.name, sealedOfClass(), token)).status).toBe(201);
    }
    await emptyMailbox(bob);
  });

  it('TOKEN_SPENT for a second letter; an identical retry gets the same id and no second copy', async () => {
    const alice = await fresh('alice');
    await emptyMailbox(bob);
    const [token] = await client.tokens(alice, 1);
    const sealed = sealedOfClass();
    const first = await client.sendAnonymously(bob.name, sealed, token!);
    expect(first.status).toBe(201);
    const retry = await client.sendAnonymously(bob.name, sealed, token!);
    expect(retry.status).toBe(201);
    expect(retry.json).toEqual(first.json);
    const other = await client.sendAnonymously(bob.name, sealedOfClass(), token!);
    expect(other.status).toBe(409);
    expect(errorCode(other)).toBe('TOKEN_SPENT');
    // The same token to someone else is a second letter too.
    const carol = await fresh('carol');
    expect(errorCode(await client.sendAnonymously(carol.name, sealed, token!))).toBe('TOKEN_SPENT');
    expect(await mailboxOf(carol)).toHaveLength(0);
    const letters = await mailboxOf(bob);
    expect(letters.map((l) => l.id)).toEqual([(first.json as { id: string }).id]);
    await emptyMailbox(bob);
    // Still the same answer once the letter is fetched and acked, and nothing comes back.
    const late = await client.sendAnonymously(bob.name, sealed, token!);
    expect((late.json as { id: string }).id).toBe((first.json as { id: string }).id);
    expect(await mailboxOf(bob)).toHaveLength(0);
  });

  it('lets one of simultaneous spends of a token through', async () => {
    const alice = await fresh('alice');
    await emptyMailbox(bob);
    const [token] = await client.tokens(alice, 1);
    const replies = await Promise.all(
      [sealedOfClass(), sealedOfClass(), sealedOfClass()].map((sealed) =>
        client.sendAnonymously(bob.name, sealed, token!),
      ),
    );
    expect(replies.map((r) => r.status).sort()).toEqual([201, 409, 409]);
    expect(await mailboxOf(bob)).toHaveLength(1);
    await emptyMailbox(bob);
  });

  it('accepts a token of yesterday, refuses one of two days ago or of tomorrow', async () => {
    const alice = await fresh('alice');
    await emptyMailbox(bob);
    const [yesterday] = await at(-DAY, () => client.tokens(alice, 1));
    const [twoDaysAgo] = await at(-2 * DAY, () => client.tokens(alice, 1));
    const [tomorrow] = await at(DAY, () => client.tokens(alice, 1));
    expect((await client.sendAnonymously(bob.name, sealedOfClass(), yesterday!)).status).toBe(201);
    const epoch = tokenEpochOf(now());
    for (const token of [twoDaysAgo!, tomorrow!]) {
      const reply = await client.sendAnonymously(bob.name, sealedOfClass(), token);
      expect(reply.status).toBe(403);
      expect(errorCode(reply)).toBe('TOKEN_INVALID');
      expect(messageOf(reply)).toContain(`epochs ${epoch} and ${epoch - 1}`);
    }
    // Tomorrow's token is good tomorrow.
    await at(DAY, async () => {
      const reply = await client.sendAnonymously(bob.name, sealedOfClass(), tomorrow!);
      expect(reply.status).toBe(201);
    });
    await emptyMailbox(bob);
  });

  it('LETTER_SIZE_CLASS for sealed lengths between the classes, spending nothing', async () => {
    const alice = await fresh('alice');
    await emptyMailbox(bob);
    const [token] = await client.tokens(alice, 1);
    for (const length of [0, 1, 48, 1_023, 1_025, 4_095, 16_000, 65_535]) {
      const reply = await client.sendAnonymously(bob.name, randomBytes(length), token!);
      expect(reply.status, `${length} bytes`).toBe(400);
      expect(errorCode(reply), `${length} bytes`).toBe('LETTER_SIZE_CLASS');
    }
    // Longer than the largest class: past the schema's limit.
    const huge = await client.sendAnonymously(bob.name, randomBytes(65_537), token!);
    expect(errorCode(huge)).toBe('BAD_REQUEST');
    const paid = await client.tokens(alice, 4);
    for (const [i, length] of [1_024, 4_096, 16_384, 65_536].entries()) {
      const reply = await client.sendAnonymously(bob.name, randomBytes(length), paid[i]!);
      expect(reply.status, `${length} bytes`).toBe(201);
    }
    expect(await mailboxOf(bob)).toHaveLength(4);
    expect((await client.sendAnonymously(bob.name, sealedOfClass(), token!)).status).toBe(201);
    await emptyMailbox(bob);
  });

  it('BAD_REQUEST for malformed bodies', async () => {
    const alice = await fresh('alice');
    const [token] = await client.tokens(alice, 1);
    const good = anonymousSendBody(bob.name, sealedOfClass(), token!);
    const goodToken = good.token as Record<string, unknown>;
    const bodies: unknown[] = [
      {},
      { ...good, token: undefined },
      { ...good, sealed: undefined },
      { ...good, to: 'x'.repeat(65) },
      { ...good, sealed: 'not base64!' },
      { ...good, extra: 1 },
      { ...good, token: { ...goodToken, input: toBase64url(randomBytes(31)) } },
      { ...good, token: { ...goodToken, output: toBase64url(randomBytes(63)) } },
      { ...good, token: { ...goodToken, epoch: -1 } },
      { ...good, token: { ...goodToken, epoch: '1' } },
      { ...good, token: { ...goodToken, name: alice.name } },
      [good],
      'null',
    ];
    for (const body of bodies) {
      const reply = await client.post(TOKEN_ROUTES.send, body);
      expect(reply.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(errorCode(reply)).toBe('BAD_REQUEST');
    }
    expect((await client.post(TOKEN_ROUTES.send, good)).status).toBe(201);
    await emptyMailbox(bob);
  });
});

describe('at rest', () => {
  it('keeps nothing of a send that names its sender or their keys', async () => {
    const alice = await fresh('alice');
    await emptyMailbox(bob);
    const [one, two] = await client.tokens(alice, 2);
    for (const [token, text] of [
      [one!, 'one'],
      [two!, 'two'],
    ] as const) {
      const reply = await client.sendAnonymously(bob.name, letterFrom(alice, text), token);
      expect(reply.status).toBe(201);
    }
    await started.store.durable();
    const spellings = (bytes: Uint8Array) => [
      Buffer.from(bytes),
      Buffer.from(Buffer.from(bytes).toString('hex')),
      Buffer.from(toBase64url(bytes)),
    ];
    const needles = [
      Buffer.from(alice.name),
      ...spellings(alice.keys.signPublic),
      ...spellings(alice.keys.boxPublic),
      ...spellings(one!.input),
      ...spellings(one!.output),
    ];
    const rows = onDisk((db) =>
      ['letters', 'spent_tokens', 'letter_bodies'].flatMap(
        (table) => db.prepare(`SELECT * FROM ${table}`).all() as Record<string, unknown>[],
      ),
    );
    expect(rows.length).toBeGreaterThanOrEqual(4);
    for (const row of rows) {
      for (const [column, value] of Object.entries(row)) {
        const bytes = Buffer.isBuffer(value) ? value : Buffer.from(String(value));
        for (const needle of needles) expect(bytes.includes(needle), column).toBe(false);
      }
    }
    // The columns are exactly these: no sender, no address, no time finer than 10 minutes.
    const columns = (table: string) =>
      onDisk((db) => db.prepare(`SELECT name FROM pragma_table_info('${table}')`).pluck().all());
    expect(columns('spent_tokens')).toEqual(['epoch', 'input_hash', 'letter_hash', 'letter']);
    // No rowid either: the order spent tokens were stored in is not kept.
    expect(() => onDisk((db) => db.prepare('SELECT rowid FROM spent_tokens').all())).toThrow(
      /rowid/,
    );
    // What names a komrade holds no time and no letter: a count per day.
    expect(columns('token_allowances')).toEqual(['name', 'epoch', 'issued']);
    expect(columns('letters')).toEqual([
      'id',
      'recipient',
      'sealed',
      'received_at',
      'expires_at',
      'body',
    ]);
    const times = onDisk((db) =>
      db.prepare('SELECT received_at, expires_at FROM letters').raw().all(),
    ) as number[][];
    expect(times.length).toBeGreaterThanOrEqual(2);
    for (const time of times.flat()) expect(time % 600_000).toBe(0);
    await emptyMailbox(bob);
  });

  it('sweeps spent tokens and issue counts once their epoch is over', async () => {
    const alice = await fresh('alice');
    await emptyMailbox(bob);
    const sweeper = new Sweeper({
      store: started.store,
      intervalMs: 60_000,
      logger: silentLogger,
      now,
    });
    const today = tokenEpochOf(now());
    await at(-DAY, async () => {
      const [old] = await client.tokens(alice, 1);
      expect((await client.sendAnonymously(bob.name, sealedOfClass(), old!)).status).toBe(201);
    });
    const [current] = await client.tokens(alice, 1);
    expect((await client.sendAnonymously(bob.name, sealedOfClass(), current!)).status).toBe(201);
    await started.store.durable();
    const spentEpochs = () =>
      onDisk((db) => db.prepare('SELECT DISTINCT epoch FROM spent_tokens').pluck().all());
    const countEpochs = () =>
      onDisk((db) => db.prepare('SELECT DISTINCT epoch FROM token_allowances').pluck().all());
    expect(spentEpochs()).toEqual(expect.arrayContaining([today - 1, today]));

    await at(DAY, async () => {
      const swept = await sweeper.sweep();
      expect(swept.spentTokens).toBeGreaterThanOrEqual(1);
      expect(swept.tokenAllowances).toBeGreaterThanOrEqual(1);
      // Tomorrow, today's tokens are still accepted; yesterday's are gone from the file, and so
      // are the issue counts of every epoch before tomorrow.
      expect(Math.min(...(spentEpochs() as number[]))).toBe(today);
      for (const epoch of countEpochs() as number[]) expect(epoch).toBeGreaterThan(today);
      // Today's spent token is still refused as spent.
      const again = await client.sendAnonymously(bob.name, sealedOfClass(), current!);
      expect(errorCode(again)).toBe('TOKEN_SPENT');
    });
    await at(2 * DAY, async () => {
      await sweeper.sweep();
      expect(spentEpochs()).not.toContain(today);
      expect(countEpochs()).toEqual([]);
    });
    await emptyMailbox(bob);
  });
});
