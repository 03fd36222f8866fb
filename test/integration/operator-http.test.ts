/** The Operator over real HTTP, in-process: every route, every refusal, and nothing lost after. */
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes, signDetached } from '../../common/crypto/index.js';
import { silentLogger } from '../../common/logging/index.js';
import {
  CLOCK_SKEW_MS,
  NONCE_BYTES,
  checkProofOfWork,
  claimBytesForPow,
  decodeSignedPost,
  fromBase64url,
  openFeedPage,
  operatorInfoSchema,
  receiptResponseSchema,
  sealPost,
  signRequest,
  toBase64url,
  verifyReceipt,
  type OperatorInfo,
  type Post,
} from '../../common/wire/index.js';
import { Sweeper, type SqliteStore } from '../../operator/index.js';
import { framedLetter } from '../support/framed-letter.js';
import { openFramedLetter } from '../support/open-framed-letter.js';
import { startTestOperator, type TestOperator } from '../support/operator-fixture.js';
import {
  TestClient,
  errorCode,
  makeKomrade,
  ratchetKeyOf,
  registrationBody,
  sealedOfClass,
  type TestKomrade,
} from '../support/operator-test-client.js';

const POW_BITS = 8;
const DAY = 86_400_000;
const MAX_REQUEST = 64 * 1024;

let offset = 0;
const now = () => Date.now() + offset;

let started: TestOperator;
let store: SqliteStore;
let sweeper: Sweeper;
let client: TestClient;
let info: OperatorInfo;

const alice = makeKomrade('alice');
const bob = makeKomrade('bob');
const carol = makeKomrade('carol');
const mallory = makeKomrade('mallory');

beforeAll(async () => {
  started = await startTestOperator({
    powBits: POW_BITS,
    http: `maxRequestBytes: ${MAX_REQUEST}`,
    config: [
      'mail: { maxSealedLetterBytes: 4096, maxBatchLetters: 4, mailboxQuotaLetters: 6, fetchLetters: 3 }',
      'feed: { maxPostDays: 30, pageSize: 2 }',
    ],
    now,
  });
  store = started.store;
  sweeper = new Sweeper({ store, intervalMs: 60_000, logger: silentLogger, now });
  client = new TestClient(started.url, now);
});

afterAll(() => started.close());

function letterTo(from: TestKomrade, to: TestKomrade, body: string): Uint8Array {
  // The Operator never opens a letter: a v2 frame with a stand-in ratchet layer is enough.
  return framedLetter(from, { name: to.name, boxPublic: to.keys.boxPublic }, body);
}

function sealedPost(author: TestKomrade, body: string, days = 7, postedAt = now()): string {
  const post: Post = { v: 1, from: author.name, postedAt, id: randomBytes(16), days, body };
  return toBase64url(sealPost(post, author.keys.signSecret, info.feedKey));
}

async function fetchAll(who: TestKomrade): Promise<{ id: string; sealed: string }[]> {
  const reply = await client.post('/v1/mail/fetch', {}, { as: who });
  expect(reply.status).toBe(200);
  return (reply.json as { letters: { id: string; sealed: string }[] }).letters;
}

async function readFeed(who: TestKomrade, before?: string) {
  const reply = await client.post('/v1/feed/page', before === undefined ? {} : { before }, {
    as: who,
  });
  expect(reply.status).toBe(200);
  const sealed = fromBase64url((reply.json as { sealed: string }).sealed)!;
  const page = openFeedPage(sealed, who.keys.boxPublic, who.keys.boxSecret);
  if (!page.ok) throw page.error;
  const bodies = page.value.posts.map((carried) => {
    const opened = decodeSignedPost(carried);
    if (!opened.ok) throw opened.error;
    return opened.value.post.body;
  });
  return { bodies, next: page.value.next };
}

describe('Operator HTTP API', () => {
  it('publishes its keys and limits, and answers health', async () => {
    const reply = await client.get('/v1/operator');
    expect(reply.status).toBe(200);
    info = operatorInfoSchema.parse(reply.json);
    expect(info.powBits).toBe(POW_BITS);
    expect(info.limits.batchLetters).toBe(4);
    expect(info.version).toBe(2);
    expect(info.tokenKey).toHaveLength(32);
    expect(info.tokensPerDay).toBe(500);
    // The same token key on every start: it is in the key file.
    expect(toBase64url(info.tokenKey)).toBe(toBase64url(await client.tokenKey()));
    expect((await client.get('/v1/health')).json).toEqual({ status: 'ok' });
  });

  it('registers komrades and signs receipts with its published key', async () => {
    for (const komrade of [alice, bob, carol, mallory]) {
      const reply = await client.register(komrade, POW_BITS);
      expect(reply.status).toBe(201);
      const parsed = receiptResponseSchema.parse(reply.json);
      expect(parsed.receipt.name).toBe(komrade.name);
      expect(verifyReceipt(parsed.receipt, info.signKey)).toBe(true);
    }
  });

  it('looks names up, folding them first', async () => {
    const reply = await client.get('/v1/komrades/Alice');
    expect(reply.status).toBe(200);
    const { receipt } = receiptResponseSchema.parse(reply.json);
    expect(receipt.name).toBe('alice');
    expect(toBase64url(receipt.signKey)).toBe(toBase64url(alice.keys.signPublic));
    expect(errorCode(await client.get('/v1/komrades/nobody'))).toBe('NAME_UNKNOWN');
    expect((await client.get('/v1/komrades/nobody')).status).toBe(404);
    expect(errorCode(await client.get('/v1/komrades/%D0%B0lice'))).toBe('NAME_INVALID');
  });

  it('records who holds the keys, signed in the receipt and answered by lookup', async () => {
    const tess = { ...makeKomrade('tess'), keyHolder: 'telegram' as const };
    const registered = receiptResponseSchema.parse((await client.register(tess, POW_BITS)).json);
    expect(registered.receipt.keyHolder).toBe('telegram');
    const { receipt } = receiptResponseSchema.parse((await client.get('/v1/komrades/tess')).json);
    expect(receipt.keyHolder).toBe('telegram');
    expect(verifyReceipt(receipt, info.signKey)).toBe(true);
    expect(verifyReceipt({ ...receipt, keyHolder: 'self' }, info.signKey)).toBe(false);
    const own = receiptResponseSchema.parse((await client.get('/v1/komrades/alice')).json);
    expect(own.receipt.keyHolder).toBe('self');
  });

  describe('registration refusals', () => {
    it('NAME_TAKEN for a taken name', async () => {
      const reply = await client.register(makeKomrade('alice'), POW_BITS);
      expect(reply.status).toBe(409);
      expect(errorCode(reply)).toBe('NAME_TAKEN');
    });

    it('NAME_RESERVED for a reserved name', async () => {
      const reply = await client.register(makeKomrade('admin'), POW_BITS);
      expect(reply.status).toBe(403);
      expect(errorCode(reply)).toBe('NAME_RESERVED');
    });

    it.each([
      ['a Cyrillic look-alike', '\u0430lice'],
      ['a space', 'al ice'],
      ['a name too short', 'al'],
      ['a name not folded', 'Dave'],
    ])('NAME_INVALID for %s', async (_label, name) => {
      const reply = await client.register(makeKomrade(name), POW_BITS);
      expect(reply.status).toBe(400);
      expect(errorCode(reply)).toBe('NAME_INVALID');
    });

    it('BAD_SIGNATURE for a proof of possession by another key', async () => {
      const dave = makeKomrade('dave');
      const body = await registrationBody(dave, POW_BITS);
      body.pop = toBase64url(signDetached(randomBytes(10), mallory.keys.signSecret));
      const reply = await client.post('/v1/register', body);
      expect(errorCode(reply)).toBe('BAD_SIGNATURE');
    });

    it('BAD_PROOF_OF_WORK for a nonce that misses the difficulty', async () => {
      const dave = makeKomrade('dave');
      const body = await registrationBody(dave, POW_BITS);
      const claim = {
        name: 'dave',
        signKey: dave.keys.signPublic,
        boxKey: dave.keys.boxPublic,
        keyHolder: 'self' as const,
        ratchetKey: ratchetKeyOf(dave),
      };
      let nonce = randomBytes(8);
      while (checkProofOfWork(claimBytesForPow(claim), nonce, POW_BITS)) nonce = randomBytes(8);
      body.pow = toBase64url(nonce);
      const reply = await client.post('/v1/register', body);
      expect(reply.status).toBe(403);
      expect(errorCode(reply)).toBe('BAD_PROOF_OF_WORK');
    });

    it('BAD_REQUEST naming the field for a malformed or missing key holder', async () => {
      const body: Record<string, string> = await registrationBody(makeKomrade('dave'), POW_BITS);
      const unknown = await client.post('/v1/register', { ...body, keyHolder: 'Matrix' });
      expect(unknown.status).toBe(400);
      expect(errorCode(unknown)).toBe('BAD_REQUEST');
      expect((unknown.json as { error: { message: string } }).error.message).toContain('keyHolder');
      const missing = { ...body };
      delete missing.keyHolder;
      const absent = await client.post('/v1/register', missing);
      expect(absent.status).toBe(400);
      expect((absent.json as { error: { message: string } }).error.message).toContain('keyHolder');
      expect(errorCode(await client.get('/v1/komrades/dave'))).toBe('NAME_UNKNOWN');
    });

    it('BAD_SIGNATURE when the key holder is changed after signing', async () => {
      const body = await registrationBody(makeKomrade('dave'), POW_BITS);
      const reply = await client.post('/v1/register', { ...body, keyHolder: 'telegram' });
      expect(errorCode(reply)).toBe('BAD_SIGNATURE');
    });

    it('BAD_REQUEST for keys already registered under another name', async () => {
      const reply = await client.register({ name: 'alice2', keys: alice.keys }, POW_BITS);
      expect(errorCode(reply)).toBe('BAD_REQUEST');
      expect(errorCode(await client.get('/v1/komrades/alice2'))).toBe('NAME_UNKNOWN');
    });
  });

  describe('mail', () => {
    /** Sends `sealed` to `to` with a fresh token of `from`'s; the answer's id. */
    async function send(from: TestKomrade, to: string, sealed: Uint8Array): Promise<string> {
      const reply = await client.sendLetter(from, to, sealed);
      expect(errorCode(reply)).toBeUndefined();
      expect(reply.status).toBe(201);
      const { id, receivedAt } = reply.json as { id: string; receivedAt: number };
      // Times are kept and answered only to the 10-minute step.
      expect(receivedAt % 600_000).toBe(0);
      expect(now() - receivedAt).toBeLessThan(600_000);
      return id;
    }

    it('delivers letters end to end, oldest first, and deletes them on ack', async () => {
      const ids = [
        await send(alice, 'bob', letterTo(alice, bob, 'first')),
        await send(alice, 'bob', letterTo(alice, bob, 'second')),
      ];

      const letters = await fetchAll(bob);
      expect(letters.map((l) => l.id)).toEqual(ids);
      const texts = letters.map((l) => {
        return openFramedLetter(fromBase64url(l.sealed)!, bob, alice.keys.signPublic).body;
      });
      expect(texts).toEqual(['first', 'second']);

      // Someone else's ack deletes nothing.
      const wrongAck = await client.post('/v1/mail/ack', { ids }, { as: carol });
      expect(wrongAck.json).toEqual({ deleted: 0 });
      expect(await fetchAll(bob)).toHaveLength(2);

      const ack = await client.post('/v1/mail/ack', { ids }, { as: bob });
      expect(ack.json).toEqual({ deleted: 2 });
      expect(await fetchAll(bob)).toHaveLength(0);
    });

    it('pages fetches at the configured size', async () => {
      for (const n of [1, 2, 3, 4]) await send(bob, 'carol', letterTo(bob, carol, `n${n}`));
      const reply = await client.post('/v1/mail/fetch', { limit: 50 }, { as: carol });
      expect(errorCode(reply)).toBeUndefined();
      const first = reply.json as { letters: { id: string }[]; more: boolean };
      expect(first.letters).toHaveLength(3);
      expect(first.more).toBe(true);
      await client.post('/v1/mail/ack', { ids: first.letters.map((l) => l.id) }, { as: carol });
      const rest = await fetchAll(carol);
      expect(rest).toHaveLength(1);
      await client.post('/v1/mail/ack', { ids: rest.map((l) => l.id) }, { as: carol });
    });

    it('LETTER_SIZE_CLASS for a sealed length that is no size class, LETTER_TOO_LARGE above the limit', async () => {
      const [token] = await client.tokens(alice, 1);
      for (const length of [1, 80, 1_023, 1_025, 2_048]) {
        const reply = await client.sendAnonymously('bob', randomBytes(length), token!);
        expect(reply.status).toBe(400);
        expect(errorCode(reply)).toBe('LETTER_SIZE_CLASS');
      }
      // A size class, but above this Operator's mail.maxSealedLetterBytes (4096).
      const big = await client.sendAnonymously('bob', randomBytes(16_384), token!);
      expect(errorCode(big)).toBe('LETTER_TOO_LARGE');
      expect(await fetchAll(bob)).toHaveLength(0);
      // None of these refusals spent the token.
      expect((await client.sendAnonymously('bob', sealedOfClass(), token!)).status).toBe(201);
      const ids = (await fetchAll(bob)).map((l) => l.id);
      await client.post('/v1/mail/ack', { ids }, { as: bob });
    });

    it('NAME_UNKNOWN or NAME_INVALID for a bad recipient, never echoing it, without spending the token', async () => {
      const [token] = await client.tokens(alice, 1);
      const unknown = await client.sendAnonymously('zelda', sealedOfClass(), token!);
      expect(unknown.status).toBe(404);
      expect(errorCode(unknown)).toBe('NAME_UNKNOWN');
      expect((unknown.json as { error: { message: string } }).error.message).not.toContain('zelda');
      const invalid = await client.sendAnonymously('Not A Name!', sealedOfClass(), token!);
      expect(errorCode(invalid)).toBe('NAME_INVALID');
      expect((await client.sendAnonymously('bob', sealedOfClass(), token!)).status).toBe(201);
      const ids = (await fetchAll(bob)).map((l) => l.id);
      await client.post('/v1/mail/ack', { ids }, { as: bob });
    });

    it('refuses a letter that overfills a mailbox with MAILBOX_FULL, keeping the token', async () => {
      for (let i = 0; i < 6; i++) await send(alice, 'mallory', sealedOfClass());
      const [token] = await client.tokens(alice, 1);
      const full = await client.sendAnonymously('mallory', sealedOfClass(), token!);
      expect(full.status).toBe(507);
      expect(errorCode(full)).toBe('MAILBOX_FULL');
      const held = await client.post('/v1/mail/fetch', { limit: 3 }, { as: mallory });
      expect((held.json as { more: boolean }).more).toBe(true);
      // Drain mallory's mailbox again.
      for (let i = 0; i < 2; i++) {
        const ids = (await fetchAll(mallory)).map((l) => l.id);
        await client.post('/v1/mail/ack', { ids }, { as: mallory });
      }
      expect(await fetchAll(mallory)).toHaveLength(0);
      expect((await client.sendAnonymously('mallory', sealedOfClass(), token!)).status).toBe(201);
      const ids = (await fetchAll(mallory)).map((l) => l.id);
      await client.post('/v1/mail/ack', { ids }, { as: mallory });
    });

    it('no longer has the signed v1 send', async () => {
      const letters = [{ to: 'bob', sealed: toBase64url(sealedOfClass()) }];
      const reply = await client.post('/v1/mail/send', { letters }, { as: alice });
      expect(reply.status).toBe(404);
      expect(errorCode(reply)).toBe('NOT_FOUND');
    });
  });

  describe('signed requests', () => {
    it('AUTH_REQUIRED without a header, BAD_REQUEST with a malformed one', async () => {
      expect(errorCode(await client.post('/v1/mail/fetch', {}))).toBe('AUTH_REQUIRED');
      const reply = await client.post('/v1/mail/fetch', {}, { authorization: 'Komrade nope' });
      expect(errorCode(reply)).toBe('BAD_REQUEST');
    });

    it('BAD_REQUEST for a zero-padded time, though the signature over the number verifies', async () => {
      const body = Buffer.from('{}', 'utf8');
      const at = now();
      const header = signRequest({
        method: 'POST',
        path: '/v1/mail/fetch',
        name: bob.name,
        at,
        nonce: randomBytes(NONCE_BYTES),
        body,
        signSecret: bob.keys.signSecret,
      });
      const padded = await client.post('/v1/mail/fetch', body, {
        authorization: header.replace(`at=${at}`, `at=0${at}`),
      });
      expect(padded.status).toBe(400);
      expect(errorCode(padded)).toBe('BAD_REQUEST');
      // The same request in its one canonical spelling is served.
      expect((await client.post('/v1/mail/fetch', body, { authorization: header })).status).toBe(
        200,
      );
    });

    it('REPLAY for the same request twice', async () => {
      const first = await client.post('/v1/mail/fetch', {}, { as: bob });
      expect(first.status).toBe(200);
      const again = await client.post(
        '/v1/mail/fetch',
        {},
        { authorization: client.lastAuthorization },
      );
      expect(again.status).toBe(409);
      expect(errorCode(again)).toBe('REPLAY');
    });

    it('CLOCK_SKEW for a request too far from the Operator’s clock', async () => {
      const late = await client.post(
        '/v1/mail/fetch',
        {},
        { as: bob, at: now() - CLOCK_SKEW_MS - 5_000 },
      );
      expect(errorCode(late)).toBe('CLOCK_SKEW');
      const early = await client.post(
        '/v1/mail/fetch',
        {},
        { as: bob, at: now() + CLOCK_SKEW_MS + 5_000 },
      );
      expect(errorCode(early)).toBe('CLOCK_SKEW');
    });

    it('BAD_SIGNATURE for a tampered body, another signer’s key, or another path', async () => {
      await client.post('/v1/mail/fetch', { limit: 1 }, { as: bob });
      const tampered = await client.post(
        '/v1/mail/fetch',
        { limit: 2 },
        { authorization: client.lastAuthorization },
      );
      expect(errorCode(tampered)).toBe('BAD_SIGNATURE');

      const impostor = await client.post('/v1/mail/fetch', {}, { as: mallory, claimName: 'bob' });
      expect(impostor.status).toBe(401);
      expect(errorCode(impostor)).toBe('BAD_SIGNATURE');

      const body = { ids: [toBase64url(randomBytes(16))] };
      const moved = await client.post('/v1/mail/ack', body, {
        as: bob,
        signedPath: '/v1/mail/fetch',
      });
      expect(errorCode(moved)).toBe('BAD_SIGNATURE');
    });

    it('NAME_UNKNOWN when the claimed signer is not registered', async () => {
      const ghost = makeKomrade('ghost');
      expect(errorCode(await client.post('/v1/mail/fetch', {}, { as: ghost }))).toBe(
        'NAME_UNKNOWN',
      );
    });
  });

  describe('malformed requests', () => {
    it('404 for an unknown route, 405 for a wrong method', async () => {
      const missing = await client.get('/v1/nothing');
      expect(missing.status).toBe(404);
      expect(errorCode(missing)).toBe('NOT_FOUND');
      const wrong = await client.get('/v2/mail/send');
      expect(wrong.status).toBe(405);
      expect(errorCode(wrong)).toBe('METHOD_NOT_ALLOWED');
    });

    it('413 for a body over the limit, declared or streamed', async () => {
      const big = JSON.stringify({ to: 'bob', sealed: 'A'.repeat(MAX_REQUEST) });
      const declared = await client.post('/v2/mail/send', big);
      expect(declared.status).toBe(413);
      expect(errorCode(declared)).toBe('PAYLOAD_TOO_LARGE');

      async function* chunks() {
        for (let i = 0; i < 8; i++) {
          await Promise.resolve();
          yield Buffer.alloc(MAX_REQUEST / 4, 0x41);
        }
      }
      const streamed = await request(`${client.baseUrl}/v1/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: Readable.from(chunks()),
      }).then(
        async (res) => ({ status: res.statusCode, text: await res.body.text() }),
        // The Operator may close before the client finished sending; that is a refusal too.
        (error: unknown) => ({ status: 413, text: String(error) }),
      );
      expect(streamed.status).toBe(413);
      expect(streamed.text).toContain('PAYLOAD_TOO_LARGE');
    });

    it('400 for malformed JSON, invalid UTF-8, truncated JSON and unknown fields', async () => {
      for (const body of ['{"name":', Buffer.from([0x7b, 0xff, 0x7d]), '', 'null']) {
        const reply = await client.post('/v1/register', body);
        expect(reply.status).toBe(400);
        expect(errorCode(reply)).toBe('BAD_REQUEST');
      }
      const extra = await client.post('/v1/mail/fetch', { limit: 1, sneaky: true }, { as: bob });
      expect(errorCode(extra)).toBe('BAD_REQUEST');
      const wrongType = await client.post('/v1/mail/fetch', { limit: 'ten' }, { as: bob });
      expect(errorCode(wrongType)).toBe('BAD_REQUEST');
      expect((wrongType.json as { error: { message: string } }).error.message).toContain('limit');
    });

    it('400 for a wrong content type', async () => {
      const reply = await client.post('/v1/mail/fetch', {}, { as: bob, contentType: 'text/plain' });
      expect(reply.status).toBe(400);
      expect(errorCode(reply)).toBe('BAD_REQUEST');
    });

    it('survives a body cut short by the client', async () => {
      const { port, hostname } = new URL(client.baseUrl);
      await new Promise<void>((resolve, reject) => {
        const socket = connect(Number(port), hostname, () => {
          socket.write(
            'POST /v1/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
              'Content-Length: 500\r\n\r\n{"name":"trunc',
          );
          setTimeout(() => {
            socket.destroy();
            resolve();
          }, 50);
        });
        socket.on('error', reject);
      });
      expect((await client.get('/v1/health')).status).toBe(200);
      expect(errorCode(await client.get('/v1/komrades/trunc'))).toBe('NAME_UNKNOWN');
    });
  });

  describe('world feed', () => {
    it('publishes posts and serves them newest first, page by page', async () => {
      const base = now();
      for (const [i, author] of [alice, bob, carol].entries()) {
        const reply = await client.post(
          '/v1/feed/post',
          { sealed: sealedPost(author, `post ${i}`, 7, base + i) },
          { as: author },
        );
        expect(reply.status).toBe(201);
        expect((reply.json as { expiresAt: number }).expiresAt).toBeGreaterThan(base + 6 * DAY);
      }
      const first = await readFeed(mallory);
      expect(first.bodies).toEqual(['post 2', 'post 1']);
      expect(first.next).not.toBeNull();
      const second = await readFeed(mallory, first.next!);
      expect(second.bodies).toEqual(['post 0']);
      expect(second.next).toBeNull();
    });

    it('BAD_REQUEST for a garbage cursor', async () => {
      for (const before of ['garbage!', 'AAAA', toBase64url(randomBytes(25)), '_'.repeat(32)]) {
        const reply = await client.post('/v1/feed/page', { before }, { as: bob });
        expect(errorCode(reply)).toBe('BAD_REQUEST');
      }
    });

    it('POST_INVALID for too many days or a stale time', async () => {
      const long = await client.post(
        '/v1/feed/post',
        { sealed: sealedPost(alice, 'x', 31) },
        { as: alice },
      );
      expect(errorCode(long)).toBe('POST_INVALID');
      const stale = await client.post(
        '/v1/feed/post',
        { sealed: sealedPost(alice, 'x', 1, now() - CLOCK_SKEW_MS - 60_000) },
        { as: alice },
      );
      expect(errorCode(stale)).toBe('POST_INVALID');
      const garbage = await client.post(
        '/v1/feed/post',
        { sealed: toBase64url(randomBytes(100)) },
        { as: alice },
      );
      expect(errorCode(garbage)).toBe('POST_INVALID');
    });

    it('BAD_SIGNATURE for a post by someone other than the requester', async () => {
      const reply = await client.post(
        '/v1/feed/post',
        { sealed: sealedPost(bob, 'not mine') },
        { as: alice },
      );
      expect(reply.status).toBe(401);
      expect(errorCode(reply)).toBe('BAD_SIGNATURE');
    });

    it('does not serve expired posts, even before the sweeper runs', async () => {
      await client.post(
        '/v1/feed/post',
        { sealed: sealedPost(mallory, 'short-lived', 1) },
        { as: mallory },
      );
      expect((await readFeed(bob)).bodies).toContain('short-lived');
      offset += DAY + 1_000;
      try {
        const page = await readFeed(bob);
        expect(page.bodies).not.toContain('short-lived');
        expect(page.bodies).toEqual(['post 2', 'post 1']);
      } finally {
        offset -= DAY + 1_000;
      }
    });
  });

  describe('after all the refusals', () => {
    it('still holds everything stored before, and still answers', async () => {
      expect((await client.get('/v1/health')).status).toBe(200);
      for (const name of ['alice', 'bob', 'carol', 'mallory']) {
        expect((await client.get(`/v1/komrades/${name}`)).status).toBe(200);
      }
      const feed = (await readFeed(carol)).bodies;
      expect(feed).toContain('post 2');
      expect(feed).toContain('short-lived');
      for (const name of ['dave', 'admin', 'alice2', 'trunc', 'ghost']) {
        expect((await client.get(`/v1/komrades/${name}`)).status).not.toBe(200);
      }
    });

    it('expires undelivered letters through the sweeper', async () => {
      const sent = await client.sendLetter(alice, 'carol', letterTo(alice, carol, 'too late'));
      expect(sent.status).toBe(201);
      expect(await fetchAll(carol)).toHaveLength(1);
      offset += 21 * DAY;
      try {
        const swept = await sweeper.sweep();
        expect(swept.letters).toBe(1);
        expect(await fetchAll(carol)).toHaveLength(0);
      } finally {
        offset -= 21 * DAY;
      }
      expect(await fetchAll(carol)).toHaveLength(0);
    });
  });
});
