/**
 * Waiting for mail (`POST /v1/mail/wait`) against a real Operator in this process, over real
 * sockets and a real SQLite store: answers, wake-ups by every deposit route, refusals, the waiter
 * index left empty, shutdown, and what `HttpOperatorClient` refuses from a lying Operator.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HttpOperatorClient,
  KomradeClient,
  SqliteLocalStore,
  type RequestSigner,
} from '../../client/index.js';
import {
  generateIdentityKeys,
  generateOprfKeyPair,
  randomBytes,
  type IdentityKeys,
} from '../../common/crypto/index.js';
import { silentLogger } from '../../common/logging/index.js';
import {
  CLOCK_SKEW_MS,
  MAX_WAIT_MAILBOXES,
  TAGS,
  signMailWait,
  signValue,
  toBase64url,
  type MailWaitClaim,
} from '../../common/wire/index.js';
import {
  MailWaiters,
  SqliteStore,
  createOperatorServer,
  loadOperatorKeys,
  parseOperatorConfig,
  type OperatorServer,
} from '../../operator/index.js';
import {
  TestClient,
  errorCode,
  makeKomrade,
  sealedOfClass,
  type TestReply,
} from '../support/operator-test-client.js';

/** An in-process Operator whose waiter index the test can see. */
interface WaitOperator {
  readonly url: string;
  readonly keys: IdentityKeys;
  readonly waiters: MailWaiters;
  readonly server: OperatorServer;
  readonly close: () => Promise<void>;
}

const dirs: string[] = [];

/** Starts an Operator; `http` and `mail` are the inside of those config sections. */
async function startOperator(sections: { http?: string; mail?: string }): Promise<WaitOperator> {
  const dataDir = mkdtempSync(join(tmpdir(), 'komrade-wait-'));
  dirs.push(dataDir);
  const store = new SqliteStore(join(dataDir, 'operator.db'));
  const keys = loadOperatorKeys({ dataDir, logger: silentLogger });
  const waiters = new MailWaiters();
  const server = createOperatorServer({
    config: parseOperatorConfig(
      [
        `http: { port: 0${sections.http === undefined ? '' : `, ${sections.http}`} }`,
        `store: { dataDir: ${JSON.stringify(dataDir)} }`,
        'registration: { powBits: 0 }',
        `mail: { ${sections.mail ?? ''} }`,
      ].join('\n'),
    ),
    store,
    keys,
    logger: silentLogger,
    mailWaiters: waiters,
  });
  const url = await server.listen();
  let closed = false;
  return {
    url,
    keys,
    waiters,
    server,
    close: async () => {
      if (closed) return;
      closed = true;
      await server.close();
      await store.close();
    },
  };
}

/** Resolves once `condition` holds: ordering by what the Operator did, not by time. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 2));
}

const dispatcher = new Agent({ keepAliveTimeout: 1_000 });
let main: WaitOperator;
let mainClient: TestClient;
const stores: SqliteLocalStore[] = [];

/** A registered komrade with its own client (so collectives and sends go the real way). */
interface Member {
  /** The Operator it is registered at. */
  readonly url: string;
  readonly name: string;
  readonly keys: IdentityKeys;
  readonly http: HttpOperatorClient;
  readonly client: KomradeClient;
  readonly signer: RequestSigner;
}

let counter = 0;
async function member(operator: WaitOperator, prefix: string): Promise<Member> {
  const name = `${prefix}_${++counter}`;
  const keys = generateIdentityKeys();
  const http = new HttpOperatorClient({ baseUrl: operator.url, dispatcher, now: Date.now });
  const dir = mkdtempSync(join(tmpdir(), 'komrade-wait-client-'));
  dirs.push(dir);
  const store = new SqliteLocalStore(join(dir, 'client.db'), { storageKey: randomBytes(32) });
  stores.push(store);
  const client = new KomradeClient({
    operator: http,
    store,
    keys,
    now: Date.now,
    keyHolder: 'self',
  });
  await client.register(name);
  return {
    url: operator.url,
    name,
    keys,
    http,
    client,
    signer: { name, signSecret: keys.signSecret },
  };
}

/**
 * Sealed-looking letters straight to the Operator (their content is not the point here), one
 * anonymous send each, paid for with tokens `from` obtains first.
 */
async function depositTo(from: Member, ...to: string[]): Promise<void> {
  const test = new TestClient(from.url);
  const tokens = await test.tokens({ name: from.name, keys: from.keys }, to.length);
  for (const [i, name] of to.entries()) {
    const sent = await test.sendAnonymously(name, sealedOfClass(), tokens[i]!);
    if (sent.status !== 201) throw new Error(`send refused: ${errorCode(sent) ?? sent.status}`);
  }
}

let alice: Member;
let bob: Member;
let carol: Member;

beforeAll(async () => {
  main = await startOperator({ mail: 'maxWaitSeconds: 600' });
  mainClient = new TestClient(main.url);
  alice = await member(main, 'alice');
  bob = await member(main, 'bob');
  carol = await member(main, 'carol');
});

afterAll(async () => {
  await main.close();
  await dispatcher.close();
  for (const store of stores) store.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Empties `m`'s mailbox so a wait on it holds. */
async function drain(m: Member): Promise<void> {
  for (;;) {
    const { letters } = await m.http.fetch(m.signer);
    if (letters.length === 0) return;
    await m.http.ack(
      m.signer,
      letters.map((l) => l.id),
    );
  }
}

describe('waiting for mail', () => {
  it('answers at once when mail is already there', async () => {
    await depositTo(alice, bob.name);
    const { ready } = await bob.http.waitForMail([bob.signer, carol.signer], { waitMs: 600_000 });
    expect(ready).toEqual([bob.name]);
    expect(main.waiters.size).toBe(0);
    await drain(bob);
  });

  it('holds the wait until a letter is sent to one of its mailboxes', async () => {
    await drain(bob);
    await drain(carol);
    const waiting = bob.http.waitForMail([bob.signer, carol.signer], { waitMs: 600_000 });
    await until(() => main.waiters.size === 1);
    expect(main.waiters.mailboxes).toBe(2);
    await depositTo(alice, carol.name);
    expect((await waiting).ready).toEqual([carol.name]);
    expect(main.waiters.size).toBe(0);
    expect(main.waiters.mailboxes).toBe(0);
    await drain(carol);
  });

  it('wakes the members waiting when a collective message is sent', async () => {
    const name = `wait_${counter}`;
    await alice.client.createCollective(name, { founders: [bob.name, carol.name] });
    await drain(bob);
    await drain(carol);
    const bobWaits = bob.http.waitForMail([bob.signer], { waitMs: 600_000 });
    const carolWaits = carol.http.waitForMail([carol.signer], { waitMs: 600_000 });
    const aliceWaits = alice.http.waitForMail([alice.signer], { waitMs: 600_000 });
    await until(() => main.waiters.size === 3);
    await alice.client.sendToCollective(name, 'Meeting at eight.');
    expect((await bobWaits).ready).toEqual([bob.name]);
    expect((await carolWaits).ready).toEqual([carol.name]);
    // The sender gets no copy, so its own wait goes on.
    expect(main.waiters.size).toBe(1);
    await depositTo(bob, alice.name);
    expect((await aliceWaits).ready).toEqual([alice.name]);
    await drain(alice);
    await drain(bob);
    await drain(carol);
  });

  it('answers { ready: [] } when the time runs out', async () => {
    await drain(bob);
    expect(await bob.http.waitForMail([bob.signer], { waitMs: 20 })).toEqual({ ready: [] });
    expect(await bob.http.waitForMail([bob.signer], { waitMs: 0 })).toEqual({ ready: [] });
    expect(main.waiters.size).toBe(0);
  });

  it('does not cut a wait that outlasts the client’s usual answer timeout', async () => {
    await drain(bob);
    const impatient = new HttpOperatorClient({
      baseUrl: main.url,
      dispatcher,
      now: Date.now,
      timeoutMs: 500,
    });
    // Held for 1.5 s with nothing arriving: three times what any other request may take.
    expect(await impatient.waitForMail([bob.signer], { waitMs: 1_500 })).toEqual({ ready: [] });
  });

  it('holds 500 waits over real sockets and wakes each for its own mailbox', async () => {
    await drain(bob);
    await drain(carol);
    const many = new Agent({ connections: 600 });
    try {
      const client = new HttpOperatorClient({ baseUrl: main.url, dispatcher: many, now: Date.now });
      const waits = Array.from({ length: 500 }, (_, i) =>
        client.waitForMail([i % 2 === 0 ? bob.signer : carol.signer], { waitMs: 600_000 }),
      );
      await until(() => main.waiters.size === 500);
      expect(main.waiters.mailboxes).toBe(2);
      await depositTo(alice, bob.name);
      await until(() => main.waiters.size === 250);
      await depositTo(alice, carol.name);
      const answers = await Promise.all(waits);
      answers.forEach((answer, i) => {
        expect(answer.ready).toEqual([i % 2 === 0 ? bob.name : carol.name]);
      });
      expect(main.waiters.size).toBe(0);
      expect(main.waiters.mailboxes).toBe(0);
    } finally {
      await many.close();
    }
    await drain(bob);
    await drain(carol);
  });

  it('drops the wait of a client that goes away', async () => {
    await drain(bob);
    const url = new URL('/v1/mail/wait', main.url);
    const at = Date.now();
    const body = JSON.stringify({
      mailboxes: [{ name: bob.name, at, sig: proof(bob, { name: bob.name, at }) }],
      waitMs: 600_000,
    });
    const req = httpRequest(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    });
    req.on('error', () => undefined);
    req.end(body);
    await until(() => main.waiters.size === 1);
    req.destroy();
    await until(() => main.waiters.size === 0);
    expect(main.waiters.mailboxes).toBe(0);
  });

  it('stops waiting when the caller aborts, and the Operator forgets the wait', async () => {
    await drain(bob);
    const controller = new AbortController();
    const waiting = bob.http.waitForMail([bob.signer], {
      waitMs: 600_000,
      signal: controller.signal,
    });
    await until(() => main.waiters.size === 1);
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
    await until(() => main.waiters.size === 0);
  });
});

/** A proof for `claim` at the main Operator signed with `by`'s key (or a given secret). */
function proof(
  by: { keys: IdentityKeys },
  claim: Omit<MailWaitClaim, 'operator'> & { operator?: Uint8Array },
): string {
  return toBase64url(
    signMailWait({ operator: main.keys.signPublic, ...claim }, by.keys.signSecret),
  );
}

const waitBody = (mailboxes: readonly unknown[], waitMs = 600_000) => ({ mailboxes, waitMs });
const box = (m: Member, at = Date.now()) => ({
  name: m.name,
  at,
  sig: proof(m, { name: m.name, at }),
});

/** Posts a wait that must be refused at once, and checks no waiter was left behind. */
async function refused(body: unknown, client = mainClient): Promise<TestReply> {
  const reply = await client.post('/v1/mail/wait', body);
  expect(reply.status).toBeGreaterThanOrEqual(400);
  expect(main.waiters.size).toBe(0);
  return reply;
}

const messageOf = (reply: TestReply) =>
  (reply.json as { error?: { message?: string } } | undefined)?.error?.message ?? '';

describe('proofs the Operator verified before', () => {
  it('takes the same proof again, but still checks any other signature for that name and time', async () => {
    await drain(bob);
    await depositTo(alice, bob.name);
    const at = Date.now();
    const good = box(bob, at);
    for (let round = 0; round < 2; round++) {
      const reply = await mainClient.post('/v1/mail/wait', waitBody([good]));
      expect(reply.status).toBe(200);
      expect(reply.json).toEqual({ ready: [bob.name] });
    }
    const stranger = makeKomrade('stranger');
    const forged = { name: bob.name, at, sig: proof(stranger, { name: bob.name, at }) };
    expect(errorCode(await refused(waitBody([forged])))).toBe('BAD_SIGNATURE');
    const shifted = { ...good, at: at + 1 };
    expect(errorCode(await refused(waitBody([shifted])))).toBe('BAD_SIGNATURE');
    await drain(bob);
  });
});

describe('refused waits', () => {
  it('refuses a proof made with a key that is not the owner’s', async () => {
    const stranger = makeKomrade('stranger');
    const at = Date.now();
    const reply = await refused(
      waitBody([{ name: bob.name, at, sig: proof(stranger, { name: bob.name, at }) }]),
    );
    expect(errorCode(reply)).toBe('BAD_SIGNATURE');
    expect(messageOf(reply)).toContain('mailboxes.0.sig');
  });

  it('refuses another registered komrade’s key, naming the index', async () => {
    const at = Date.now();
    const reply = await refused(
      waitBody([box(alice), { name: bob.name, at, sig: proof(alice, { name: bob.name, at }) }]),
    );
    expect(errorCode(reply)).toBe('BAD_SIGNATURE');
    expect(messageOf(reply)).toContain('mailboxes.1.sig');
  });

  it('refuses a signature made under another tag', async () => {
    const at = Date.now();
    const value = { name: bob.name, at, operator: main.keys.signPublic };
    const sig = signValue(TAGS.request, value, bob.keys.signSecret).sig;
    const reply = await refused(waitBody([{ name: bob.name, at, sig: toBase64url(sig) }]));
    expect(errorCode(reply)).toBe('BAD_SIGNATURE');
  });

  it('refuses a proof bound to another Operator', async () => {
    const at = Date.now();
    const other = generateIdentityKeys().signPublic;
    const sig = proof(bob, { name: bob.name, at, operator: other });
    expect(errorCode(await refused(waitBody([{ name: bob.name, at, sig }])))).toBe('BAD_SIGNATURE');
  });

  it('refuses a tampered time', async () => {
    const at = Date.now();
    const sig = proof(bob, { name: bob.name, at });
    expect(errorCode(await refused(waitBody([{ name: bob.name, at: at + 1, sig }])))).toBe(
      'BAD_SIGNATURE',
    );
  });

  it('refuses a proof too old or too far ahead with CLOCK_SKEW', async () => {
    const old = await refused(waitBody([box(bob, Date.now() - CLOCK_SKEW_MS - 60_000)]));
    expect(errorCode(old)).toBe('CLOCK_SKEW');
    expect(messageOf(old)).toContain('mailboxes.0.at');
    const ahead = await refused(
      waitBody([box(bob), box(carol, Date.now() + CLOCK_SKEW_MS + 60_000)]),
    );
    expect(errorCode(ahead)).toBe('CLOCK_SKEW');
    expect(messageOf(ahead)).toContain('mailboxes.1.at');
  });

  it('refuses an unknown name, naming its index', async () => {
    const ghost = makeKomrade('ghost_nobody');
    const at = Date.now();
    const reply = await refused(
      waitBody([box(bob), { name: ghost.name, at, sig: proof(ghost, { name: ghost.name, at }) }]),
    );
    expect(errorCode(reply)).toBe('NAME_UNKNOWN');
    expect(messageOf(reply)).toContain('mailboxes.1.name');
  });

  it('refuses a mailbox named twice', async () => {
    const reply = await refused(waitBody([box(bob), box(carol), box(bob)]));
    expect(errorCode(reply)).toBe('BAD_REQUEST');
    expect(messageOf(reply)).toContain('mailboxes.2.name');
  });

  it('refuses more mailboxes than the wire allows, no mailbox, and a wait past the hard limit', async () => {
    const one = box(bob);
    const tooMany = Array.from({ length: MAX_WAIT_MAILBOXES + 1 }, () => one);
    expect(errorCode(await refused(waitBody(tooMany)))).toBe('BAD_REQUEST');
    expect(errorCode(await refused(waitBody([])))).toBe('BAD_REQUEST');
    expect(errorCode(await refused(waitBody([one], 600_001)))).toBe('BAD_REQUEST');
    expect(errorCode(await refused(waitBody([one], -1)))).toBe('BAD_REQUEST');
    expect(errorCode(await refused({ mailboxes: [one] }))).toBe('BAD_REQUEST');
    const malformedSig = { ...one, sig: toBase64url(randomBytes(10)) };
    expect(errorCode(await refused(waitBody([malformedSig])))).toBe('BAD_REQUEST');
  });

  it('does not take a request-signed body instead of proofs', async () => {
    // An Authorization header proves nothing here: each mailbox needs its own proof.
    const reply = await mainClient.post(
      '/v1/mail/wait',
      waitBody([{ name: bob.name, at: Date.now(), sig: toBase64url(randomBytes(64)) }]),
      { as: { name: bob.name, keys: bob.keys } },
    );
    expect(errorCode(reply)).toBe('BAD_SIGNATURE');
    expect(main.waiters.size).toBe(0);
  });
});

describe('an Operator with small limits', () => {
  let small: WaitOperator;
  let dana: Member;
  beforeAll(async () => {
    small = await startOperator({ http: 'maxRequestBytes: 1024', mail: 'maxWaitSeconds: 1' });
    dana = await member(small, 'dana');
  });
  afterAll(async () => {
    await small.close();
  });

  it('cuts a longer wait to its maxWaitSeconds', async () => {
    const answer = await dana.http.waitForMail([dana.signer], { waitMs: 600_000 });
    expect(answer).toEqual({ ready: [] });
    expect(small.waiters.size).toBe(0);
  });

  it('refuses an oversized body with PAYLOAD_TOO_LARGE', async () => {
    const at = Date.now();
    const sig = toBase64url(
      signMailWait({ name: dana.name, at, operator: small.keys.signPublic }, dana.keys.signSecret),
    );
    const mailboxes = Array.from({ length: 20 }, (_, i) => ({ name: `${dana.name}${i}`, at, sig }));
    const reply = await new TestClient(small.url).post('/v1/mail/wait', waitBody(mailboxes));
    expect(errorCode(reply)).toBe('PAYLOAD_TOO_LARGE');
    expect(small.waiters.size).toBe(0);
  });
});

describe('shutdown', () => {
  it('answers held waits with { ready: [] } at once when the server closes', async () => {
    const closing = await startOperator({ mail: 'maxWaitSeconds: 600' });
    const erin = await member(closing, 'erin');
    const waiting = erin.http.waitForMail([erin.signer], { waitMs: 600_000 });
    await until(() => closing.waiters.size === 1);
    await closing.server.close();
    expect(await waiting).toEqual({ ready: [] });
    expect(closing.waiters.size).toBe(0);
    await closing.close();
  });
});

describe('HttpOperatorClient against a lying or older Operator', () => {
  let liar: Server;
  let liarUrl: string;
  let answer: { status: number; body: unknown } = { status: 200, body: { ready: [] } };
  const operatorKeys = generateIdentityKeys();
  /** The bodies of the wait requests the client sent, parsed. */
  const waits: { mailboxes: { name: string; at: number; sig: string }[] }[] = [];

  beforeAll(async () => {
    liar = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        if (req.url === '/v1/mail/wait') {
          waits.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as (typeof waits)[number]);
        }
        const reply =
          req.url === '/v1/operator'
            ? {
                status: 200,
                body: {
                  version: 2,
                  signKey: toBase64url(operatorKeys.signPublic),
                  feedKey: toBase64url(operatorKeys.boxPublic),
                  tokenKey: toBase64url(generateOprfKeyPair().publicKey),
                  tokensPerDay: 500,
                  powBits: 0,
                  limits: {
                    sealedLetterBytes: 65_536,
                    batchLetters: 64,
                    requestBytes: 4_194_304,
                    maxPostDays: 30,
                    feedPageSize: 50,
                    fetchLetters: 200,
                  },
                },
              }
            : answer;
        res.writeHead(reply.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(reply.body));
      });
    });
    await new Promise<void>((resolve) => liar.listen(0, '127.0.0.1', resolve));
    liarUrl = `http://127.0.0.1:${(liar.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => liar.close(resolve));
  });

  const signer = (name: string): RequestSigner => ({
    name,
    signSecret: generateIdentityKeys().signSecret,
  });
  const client = () => new HttpOperatorClient({ baseUrl: liarUrl, dispatcher, now: Date.now });
  const codeOf = (promise: Promise<unknown>) =>
    promise.then(
      () => 'resolved',
      (e: unknown) => (e as { code?: string }).code,
    );

  it('refuses an answer naming a mailbox it did not ask about', async () => {
    answer = { status: 200, body: { ready: ['mallory'] } };
    expect(await codeOf(client().waitForMail([signer('bob')], { waitMs: 10 }))).toBe(
      'OPERATOR_ERROR',
    );
    answer = { status: 200, body: { ready: ['bob', 'mallory'] } };
    expect(await codeOf(client().waitForMail([signer('bob')], { waitMs: 10 }))).toBe(
      'OPERATOR_ERROR',
    );
    answer = { status: 200, body: { ready: ['bob'], extra: true } };
    expect(await codeOf(client().waitForMail([signer('bob')], { waitMs: 10 }))).toBe(
      'OPERATOR_ERROR',
    );
  });

  it('passes on an honest answer', async () => {
    answer = { status: 200, body: { ready: ['bob'] } };
    expect(await client().waitForMail([signer('bob'), signer('carol')], { waitMs: 10 })).toEqual({
      ready: ['bob'],
    });
  });

  it('reuses its proofs within half the clock window, and signs anew after it', async () => {
    answer = { status: 200, body: { ready: [] } };
    let now = 1_000_000_000_000;
    const reusing = new HttpOperatorClient({ baseUrl: liarUrl, dispatcher, now: () => now });
    const bob = signer('bob');
    const sent = () => waits.at(-1)!.mailboxes[0]!;
    await reusing.waitForMail([bob], { waitMs: 10 });
    const first = sent();
    now += CLOCK_SKEW_MS / 2 - 1;
    await reusing.waitForMail([bob], { waitMs: 10 });
    expect(sent()).toEqual(first);
    now += 1;
    await reusing.waitForMail([bob], { waitMs: 10 });
    expect(sent().at).toBe(now);
    expect(sent().sig).not.toBe(first.sig);
  });

  it('reports an Operator without the route as NOT_FOUND', async () => {
    answer = { status: 404, body: { error: { code: 'NOT_FOUND', message: 'No such route.' } } };
    expect(await codeOf(client().waitForMail([signer('bob')], { waitMs: 10 }))).toBe('NOT_FOUND');
  });
});
