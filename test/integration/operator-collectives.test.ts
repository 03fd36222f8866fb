/**
 * Collectives over the Operator's real HTTP API, in-process on a real SQLite file: creating one,
 * every refusal of an append, concurrent appends on one head, the log for members only, fan-out
 * of one stored body to every member, and a restart that replays the logs from disk.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_CONSTITUTION,
  collectivePowBytes,
  decodeCollectiveEvent,
  eventHash,
  foldLog,
  genesisDraft,
  openCollectiveBody,
  openKeyEnvelope,
  sealCollectiveBody,
  sealKeyEnvelope,
  signCollectiveEvent,
  verifyCollectiveMessage,
  type CollectiveEventKind,
  type CollectiveEventOf,
  type SealedCollectiveMessage,
  type SignedCollectiveEvent,
} from '../../common/collectives/index.js';
import { randomBytes } from '../../common/crypto/index.js';
import { silentLogger } from '../../common/logging/index.js';
import {
  CLOCK_SKEW_MS,
  COLLECTIVE_FIRST_KEY_ENVELOPE_BYTES,
  COLLECTIVE_KEY_ENVELOPE_BYTES,
  COLLECTIVE_ROUTES,
  checkProofOfWork,
  collectiveHeadSchema,
  collectiveLogResponseSchema,
  collectiveSendResponseSchema,
  fetchResponseSchema,
  operatorInfoSchema,
  solveProofOfWork,
  toBase64url,
  verifyReceipt,
  type RatchetMessageType,
  type CollectiveHead,
  type OperatorInfo,
  type Receipt,
} from '../../common/wire/index.js';
import {
  CollectiveService,
  SqliteStore,
  type CollectiveServiceStore,
  createOperatorServer,
  loadOperatorKeys,
  parseOperatorConfig,
  type OperatorConfig,
  type OperatorServer,
} from '../../operator/index.js';
import {
  TestClient,
  errorCode,
  makeKomrade,
  type TestKomrade,
  type TestReply,
} from '../support/operator-test-client.js';

const POW_BITS = 6;
const MAX_BODY = 4_096;
const QUOTA = 8;

const now = () => Date.now();

let dataDir: string;
let dbFile: string;
let config: OperatorConfig;
let store: SqliteStore;
let operator: OperatorServer;
let collectives: CollectiveService;
let client: TestClient;
let info: OperatorInfo;

const komrades = new Map<string, TestKomrade>();
const person = (name: string): TestKomrade => {
  const known = komrades.get(name);
  if (known !== undefined) return known;
  const made = makeKomrade(name);
  komrades.set(name, made);
  return made;
};
const alice = person('alice');
const bob = person('bob');
const carol = person('carol');
const dave = person('dave');
const erin = person('erin');
const oscar = person('oscar');
const mallory = person('mallory');
const assembly = Array.from({ length: 20 }, (_, i) => person(`m${String(i).padStart(2, '0')}`));
const newbie = person('newbie');
const ann = person('ann');
const ben = person('ben');

async function startOperator(): Promise<void> {
  store = new SqliteStore(dbFile);
  const keys = loadOperatorKeys({ dataDir, logger: silentLogger });
  collectives = new CollectiveService({ store });
  operator = createOperatorServer({ config, store, keys, logger: silentLogger, now, collectives });
  client = new TestClient(await operator.listen(), now);
}

async function stopOperator(): Promise<void> {
  await operator.close();
  await store.close();
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'komrade-operator-collectives-'));
  dbFile = join(dataDir, 'operator.db');
  config = parseOperatorConfig(
    [
      'http: { port: 0, maxRequestBytes: 262144 }',
      `store: { dataDir: ${JSON.stringify(dataDir)} }`,
      `registration: { powBits: ${POW_BITS} }`,
      `mail: { maxSealedLetterBytes: ${MAX_BODY}, mailboxQuotaLetters: ${QUOTA} }`,
    ].join('\n'),
  );
  await startOperator();
  info = operatorInfoSchema.parse((await client.get('/v1/operator')).json);
  for (const komrade of komrades.values()) {
    expect((await client.register(komrade, POW_BITS)).status).toBe(201);
  }
});

afterAll(async () => {
  await stopOperator();
  rmSync(dataDir, { recursive: true, force: true });
});

// --- helpers: what an honest client sends ---------------------------------------------------

type Kind = Exclude<CollectiveEventKind, 'genesis'>;

const eventJson = (event: SignedCollectiveEvent) => ({
  signed: toBase64url(event.signed),
  sig: toBase64url(event.sig),
});

function genesisOf(
  collective: string,
  actor: TestKomrade,
  founders: readonly string[],
  at = now(),
): SignedCollectiveEvent {
  const draft = genesisDraft(collective, actor.name, at, {
    founders: [...founders],
    constitution: DEFAULT_CONSTITUTION,
  });
  return signCollectiveEvent(draft, actor.keys.signSecret);
}

async function create(
  as: TestKomrade,
  genesis: SignedCollectiveEvent,
  pow?: Uint8Array,
): Promise<TestReply> {
  const nonce = pow ?? (await solveProofOfWork(collectivePowBytes(genesis.signed), POW_BITS));
  return client.post(
    COLLECTIVE_ROUTES.create,
    { genesis: eventJson(genesis), pow: toBase64url(nonce) },
    { as },
  );
}

/** The next event drafted on `head` by `actor`, signed with `signer`'s key (the actor's by default). */
function onHead<K extends Kind>(
  head: CollectiveHead,
  kind: K,
  actor: TestKomrade,
  body: CollectiveEventOf<K>['body'],
  options: { at?: number; signer?: TestKomrade } = {},
): SignedCollectiveEvent {
  const event = {
    v: 1,
    collective: head.collective,
    seq: head.length,
    prev: head.head,
    at: options.at ?? Math.max(now(), head.lastAt),
    actor: actor.name,
    kind,
    body,
  } as unknown as CollectiveEventOf<K>;
  return signCollectiveEvent(event, (options.signer ?? actor).keys.signSecret);
}

function append(as: TestKomrade, event: SignedCollectiveEvent): Promise<TestReply> {
  return client.post(COLLECTIVE_ROUTES.append, { event: eventJson(event) }, { as });
}

async function headOf(collective: string, as: TestKomrade = oscar): Promise<CollectiveHead> {
  const reply = await client.post(COLLECTIVE_ROUTES.head, { collective }, { as });
  expect(reply.status).toBe(200);
  return collectiveHeadSchema.parse(reply.json);
}

/** Drafts on the current head and appends; expects it accepted. */
async function act<K extends Kind>(
  collective: string,
  kind: K,
  actor: TestKomrade,
  body: CollectiveEventOf<K>['body'],
): Promise<CollectiveHead> {
  const reply = await append(actor, onHead(await headOf(collective), kind, actor, body));
  expect(reply.json).toMatchObject({ collective });
  expect(reply.status).toBe(201);
  return collectiveHeadSchema.parse(reply.json);
}

function readLog(
  as: TestKomrade,
  collective: string,
  page: { from?: number; limit?: number } = {},
): Promise<TestReply> {
  return client.post(COLLECTIVE_ROUTES.log, { collective, ...page }, { as });
}

/** The whole log in pages of `limit`, each page's receipts verified against the Operator's key. */
async function wholeLog(as: TestKomrade, collective: string, limit: number) {
  const events: SignedCollectiveEvent[] = [];
  const receipts = new Map<string, Receipt>();
  for (;;) {
    const reply = await readLog(as, collective, { from: events.length, limit });
    expect(reply.status).toBe(200);
    const page = collectiveLogResponseSchema.parse(reply.json);
    expect(page.from).toBe(events.length);
    for (const receipt of page.receipts) {
      expect(verifyReceipt(receipt, info.signKey)).toBe(true);
      receipts.set(receipt.name, receipt);
    }
    events.push(...page.events);
    if (page.events.length === 0 || events.length >= page.length) break;
  }
  return { events, receipts };
}

/** Verifies a log the way every member's client does, with keys from verified receipts only. */
function verifyWithReceipts(events: SignedCollectiveEvent[], receipts: Map<string, Receipt>) {
  return foldLog(events, {
    keyOf: (name) => receipts.get(name)?.signKey,
    keyHolderOf: (name) => receipts.get(name)?.keyHolder,
  });
}

function message(reply: TestReply): string {
  return (reply.json as { error?: { message?: string } }).error?.message ?? '';
}

async function fetchLetters(who: TestKomrade) {
  const reply = await client.post('/v1/mail/fetch', {}, { as: who });
  expect(reply.status).toBe(200);
  return fetchResponseSchema.parse(reply.json).letters;
}

function readDb<T>(query: (db: Database.Database) => T): T {
  const db = new Database(dbFile, { readonly: true });
  try {
    return query(db);
  } finally {
    db.close();
  }
}

// --- the tests ------------------------------------------------------------------------------

describe('creating a collective', () => {
  it('refuses a proof of work that misses the difficulty', async () => {
    const genesis = genesisOf('portland', alice, ['alice', 'bob', 'carol']);
    let nonce = randomBytes(8);
    while (checkProofOfWork(collectivePowBytes(genesis.signed), nonce, POW_BITS)) {
      nonce = randomBytes(8);
    }
    const reply = await create(alice, genesis, nonce);
    expect(reply.status).toBe(403);
    expect(errorCode(reply)).toBe('BAD_PROOF_OF_WORK');
    // A nonce found for another genesis is worth nothing either.
    const other = genesisOf('portland', alice, ['alice']);
    const borrowed = await solveProofOfWork(collectivePowBytes(other.signed), 12);
    expect(errorCode(await create(alice, genesis, borrowed))).toBe('BAD_PROOF_OF_WORK');
  });

  it('refuses a name a komrade holds, and a reserved name', async () => {
    const taken = await create(alice, genesisOf('bob', alice, ['alice']));
    expect(taken.status).toBe(409);
    expect(errorCode(taken)).toBe('NAME_TAKEN');
    const reserved = await create(alice, genesisOf('support', alice, ['alice']));
    expect(reserved.status).toBe(403);
    expect(errorCode(reserved)).toBe('NAME_RESERVED');
  });

  it('refuses a genesis not signed by the requester, or whose actor is no founder', async () => {
    const bySomeoneElse = await create(bob, genesisOf('portland', alice, ['alice', 'bob']));
    expect(bySomeoneElse.status).toBe(400);
    expect(errorCode(bySomeoneElse)).toBe('BAD_REQUEST');
    const notFounder = await create(mallory, genesisOf('portland', mallory, ['alice', 'bob']));
    expect(notFounder.status).toBe(409);
    expect(errorCode(notFounder)).toBe('COLLECTIVE_RULE');
    expect(message(notFounder)).toContain('"genesis"');
  });

  it('refuses a genesis naming an unregistered founder', async () => {
    const reply = await create(alice, genesisOf('portland', alice, ['alice', 'ghost']));
    expect(reply.status).toBe(409);
    expect(errorCode(reply)).toBe('COLLECTIVE_RULE');
    expect(message(reply)).toContain('@ghost is not registered');
  });

  it('refuses a genesis whose time is outside the clock window', async () => {
    const stale = genesisOf('portland', alice, ['alice'], now() - CLOCK_SKEW_MS - 60_000);
    const reply = await create(alice, stale);
    expect(reply.status).toBe(401);
    expect(errorCode(reply)).toBe('CLOCK_SKEW');
  });

  it('creates it, answers its head, and keeps its name from komrades', async () => {
    const genesis = genesisOf('portland', alice, ['alice', 'bob', 'carol']);
    const reply = await create(alice, genesis);
    expect(reply.status).toBe(201);
    const head = collectiveHeadSchema.parse(reply.json);
    expect(head.collective).toBe('portland');
    expect(head.length).toBe(1);
    expect(toBase64url(head.head)).toBe(toBase64url(eventHash(genesis.signed)));
    expect(await headOf('@Portland', mallory)).toEqual(head);

    const again = await create(bob, genesisOf('portland', bob, ['bob']));
    expect(errorCode(again)).toBe('NAME_TAKEN');
    const squatter = await client.register(makeKomrade('portland'), POW_BITS);
    expect(squatter.status).toBe(409);
    expect(errorCode(squatter)).toBe('NAME_TAKEN');
    const lookup = await client.get('/v1/komrades/portland');
    expect(lookup.status).toBe(404);
    expect(errorCode(lookup)).toBe('NAME_UNKNOWN');
    expect(message(lookup)).toContain('collective');
  });

  it('answers NAME_UNKNOWN for the head of no collective', async () => {
    const reply = await client.post(COLLECTIVE_ROUTES.head, { collective: 'nowhere' }, { as: bob });
    expect(reply.status).toBe(404);
    expect(errorCode(reply)).toBe('NAME_UNKNOWN');
    const komrade = await client.post(COLLECTIVE_ROUTES.head, { collective: 'bob' }, { as: bob });
    expect(errorCode(komrade)).toBe('NAME_UNKNOWN');
  });
});

describe('appending events', () => {
  it('takes a join request from a non-member and a vouch from a member', async () => {
    await act('portland', 'join-request', dave, { note: 'I organise the tenants on 5th.' });
    const head = await act('portland', 'vouch', bob, { candidate: 'dave' });
    expect(head.length).toBe(3);
  });

  it('refuses a stale head with COLLECTIVE_CONFLICT, saying the log moved on', async () => {
    const stale = await headOf('portland');
    await act('portland', 'admit', dave, { candidate: 'dave' });
    const reply = await append(carol, onHead(stale, 'join-request', carol, { note: '' }));
    expect(reply.status).toBe(409);
    expect(errorCode(reply)).toBe('COLLECTIVE_CONFLICT');
    expect(message(reply)).toMatch(/moved on.*retry/i);
  });

  it('refuses an admit below quorum with COLLECTIVE_RULE naming the rule, then admits at quorum', async () => {
    await act('portland', 'join-request', erin, { note: '' });
    const early = await append(
      erin,
      onHead(await headOf('portland'), 'admit', erin, {
        candidate: 'erin',
      }),
    );
    expect(early.status).toBe(409);
    expect(errorCode(early)).toBe('COLLECTIVE_RULE');
    expect(message(early)).toContain('"quorum"');
    await act('portland', 'vouch', carol, { candidate: 'erin' });
    // A member may admit as well as the candidate.
    await act('portland', 'admit', alice, { candidate: 'erin' });
  });

  it('refuses an event the rules forbid (a vouch by a non-member)', async () => {
    const reply = await append(
      oscar,
      onHead(await headOf('portland'), 'vouch', oscar, { candidate: 'erin' }),
    );
    expect(errorCode(reply)).toBe('COLLECTIVE_RULE');
    expect(message(reply)).toContain('"not-member"');
  });

  it('refuses an event signed by another key than its actor’s', async () => {
    const forged = onHead(await headOf('portland'), 'leave', alice, {}, { signer: mallory });
    const reply = await append(alice, forged);
    expect(reply.status).toBe(409);
    expect(errorCode(reply)).toBe('COLLECTIVE_RULE');
    expect(message(reply)).toContain('"signature"');
  });

  it('refuses an event whose actor is not the requester', async () => {
    const byAlice = onHead(await headOf('portland'), 'leave', alice, {});
    const reply = await append(bob, byAlice);
    expect(reply.status).toBe(400);
    expect(errorCode(reply)).toBe('BAD_REQUEST');
    expect(message(reply)).toContain('actor');
  });

  it('refuses an event whose time is outside the clock window, either way', async () => {
    const head = await headOf('portland');
    for (const at of [now() - CLOCK_SKEW_MS - 60_000, now() + CLOCK_SKEW_MS + 60_000]) {
      const reply = await append(oscar, onHead(head, 'join-request', oscar, { note: '' }, { at }));
      expect(reply.status).toBe(401);
      expect(errorCode(reply)).toBe('CLOCK_SKEW');
    }
  });

  it('refuses malformed requests with BAD_REQUEST', async () => {
    const head = await headOf('portland');
    const good = onHead(head, 'join-request', oscar, { note: '' });
    const cases: unknown[] = [
      '{"event":',
      { event: { signed: 'not base64!', sig: toBase64url(good.sig) } },
      { event: { ...eventJson(good), sig: toBase64url(randomBytes(63)) } },
      { event: { signed: toBase64url(randomBytes(40)), sig: toBase64url(good.sig) } },
      { event: eventJson(good), extra: 1 },
    ];
    for (const body of cases) {
      const reply = await client.post(COLLECTIVE_ROUTES.append, body, { as: oscar });
      expect(reply.status).toBe(400);
      expect(errorCode(reply)).toBe('BAD_REQUEST');
    }
    // A genesis goes to create, never to append.
    const genesis = genesisOf('portland', oscar, ['oscar']);
    expect(errorCode(await append(oscar, genesis))).toBe('BAD_REQUEST');
    expect((await headOf('portland')).length).toBe(head.length);
  });
});

describe('reading the log', () => {
  it('serves members and pending candidates, and NOT_MEMBER to anyone else', async () => {
    expect((await readLog(alice, 'portland')).status).toBe(200);
    const outsider = await readLog(oscar, 'portland');
    expect(outsider.status).toBe(403);
    expect(errorCode(outsider)).toBe('NOT_MEMBER');
    expect(Object.keys(outsider.json as object)).toEqual(['error']);
    await act('portland', 'join-request', oscar, { note: 'let me in' });
    expect((await readLog(oscar, 'portland')).status).toBe(200);
    // A candidate who withdraws loses access again.
    await act('portland', 'leave', oscar, {});
    expect(errorCode(await readLog(oscar, 'portland'))).toBe('NOT_MEMBER');
    expect(errorCode(await readLog(alice, 'nowhere'))).toBe('NAME_UNKNOWN');
  });

  it('pages with from and limit, with the receipts of exactly the names each page mentions', async () => {
    const first = collectiveLogResponseSchema.parse(
      (await readLog(dave, 'portland', { limit: 1 })).json,
    );
    expect(first.events).toHaveLength(1);
    expect(first.from).toBe(0);
    expect(first.receipts.map((r) => r.name).sort()).toEqual(['alice', 'bob', 'carol']);

    const page = collectiveLogResponseSchema.parse(
      (await readLog(dave, 'portland', { from: 1, limit: 2 })).json,
    );
    expect(page.from).toBe(1);
    expect(page.events).toHaveLength(2);
    expect(page.receipts.map((r) => r.name).sort()).toEqual(['bob', 'dave']);
    for (const receipt of page.receipts) expect(verifyReceipt(receipt, info.signKey)).toBe(true);
    expect(
      page.events.map((e) => {
        const decoded = decodeCollectiveEvent(e.signed);
        return decoded.ok ? decoded.value.seq : -1;
      }),
    ).toEqual([1, 2]);

    const past = collectiveLogResponseSchema.parse(
      (await readLog(dave, 'portland', { from: page.length + 5 })).json,
    );
    expect(past.events).toEqual([]);
    expect(past.receipts).toEqual([]);
    expect(past.length).toBe(page.length);

    const badLimit = await readLog(dave, 'portland', { limit: 0 });
    expect(errorCode(badLimit)).toBe('BAD_REQUEST');
  });

  it('serves a log every client verifies, in pages, with the receipts it carries', async () => {
    const { events, receipts } = await wholeLog(erin, 'portland', 3);
    const state = verifyWithReceipts(events, receipts);
    if (!state.ok) throw state.error;
    expect(state.value.members).toEqual(['alice', 'bob', 'carol', 'dave', 'erin']);
    expect(toBase64url(state.value.head)).toBe(toBase64url((await headOf('portland')).head));
  });
});

describe('20 members appending on one head at once', () => {
  it('accepts exactly one per round, refuses the rest with COLLECTIVE_CONFLICT, and all get in by retrying', async () => {
    const founders = assembly.map((m) => m.name);
    expect((await create(assembly[0]!, genesisOf('assembly', assembly[0]!, founders))).status).toBe(
      201,
    );
    await act('assembly', 'join-request', newbie, { note: '' });

    let waiting = [...assembly];
    let rounds = 0;
    while (waiting.length > 0) {
      rounds++;
      const head = await headOf('assembly');
      const replies = await Promise.all(
        waiting.map((m) => append(m, onHead(head, 'vouch', m, { candidate: 'newbie' }))),
      );
      const won = replies.flatMap((r, i) => (r.status === 201 ? [waiting[i]!] : []));
      expect(won).toHaveLength(1);
      for (const reply of replies.filter((r) => r.status !== 201)) {
        expect(reply.status).toBe(409);
        expect(errorCode(reply)).toBe('COLLECTIVE_CONFLICT');
      }
      waiting = waiting.filter((m) => m !== won[0]);
    }
    expect(rounds).toBe(20);
    await act('assembly', 'admit', newbie, { candidate: 'newbie' });

    const { events, receipts } = await wholeLog(newbie, 'assembly', 7);
    expect(events).toHaveLength(1 + 1 + 20 + 1);
    const state = verifyWithReceipts(events, receipts);
    if (!state.ok) throw state.error;
    expect(state.value.members).toHaveLength(21);
    expect(state.value.members).toContain('newbie');
    expect(state.value.pending).toEqual([]);
  });
});

describe('serialising appends in memory', () => {
  it('refuses the losers of a race before they reach the store', async () => {
    let writes = 0;
    const counting: CollectiveServiceStore = {
      lookup: (name) => store.lookup(name),
      isCollective: (name) => store.isCollective(name),
      createCollective: (collective) => store.createCollective(collective),
      appendCollectiveEvent: (collective, seq, event) => {
        writes++;
        return store.appendCollectiveEvent(collective, seq, event);
      },
      collectiveEvents: (collective, from, limit) =>
        store.collectiveEvents(collective, from, limit),
      depositShared: (letter, options) => store.depositShared(letter, options),
      durable: () => store.durable(),
    };
    const service = new CollectiveService({ store: counting });
    const context = { now: now(), config };
    const founder = (await store.lookup('m00'))!;
    const genesis = genesisOf('caucus', assembly[0]!, ['m00']);
    const head = await service.create(founder, genesis, new Uint8Array(8), {
      ...context,
      config: { ...config, registration: { powBits: 0 } },
    });
    const joiners = [alice, bob, carol, dave, erin];
    const results = await Promise.allSettled(
      joiners.map(async (k) =>
        service.append(
          (await store.lookup(k.name))!,
          onHead(head, 'join-request', k, { note: '' }),
          context,
        ),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'COLLECTIVE_CONFLICT' });
    }
    expect(writes).toBe(1);
  });
});

describe('sending to a collective', () => {
  const recipientsOf = (sender: TestKomrade, names: readonly string[]) =>
    names
      .filter((n) => n !== sender.name)
      .map((n) => ({ name: n, boxKey: person(n).keys.boxPublic }));
  const members = ['alice', 'bob', 'carol', 'dave', 'erin'];

  /**
   * A message sealed as a client seals it, its ratchet layer a stand-in (the content key as the
   * "ratchet message"): the Operator never opens an envelope; the client tests cover the ratchet.
   */
  function sealed(
    sender: TestKomrade,
    collective: string,
    to: readonly string[],
    text: string,
    typeOf: (index: number) => RatchetMessageType = () => 'message',
  ): SealedCollectiveMessage {
    const draft = {
      v: 1 as const,
      collective,
      from: sender.name,
      sentAt: now(),
      id: randomBytes(16),
      text,
    };
    const { body, contentKey } = sealCollectiveBody(draft, sender.keys.signSecret);
    const keys = to.map((n, i) => ({
      to: n,
      sealed: sealKeyEnvelope(
        { v: 2, from: sender.name, type: typeOf(i), msg: contentKey },
        { name: n, boxKey: person(n).keys.boxPublic },
      ),
    }));
    return { body, keys };
  }

  function sendBody(collective: string, message: ReturnType<typeof sealed>) {
    return {
      collective,
      body: toBase64url(message.body),
      keys: message.keys.map((k) => ({ to: k.to, sealed: toBase64url(k.sealed) })),
    };
  }

  const send = (as: TestKomrade, body: unknown) =>
    client.post(COLLECTIVE_ROUTES.send, body, { as });

  it('stores the body once, delivers it to every other member, and deletes it after the last ack', async () => {
    const recipients = recipientsOf(alice, members);
    // Envelopes of both lengths: members with a session and members without one yet.
    const message = sealed(
      alice,
      'portland',
      recipients.map((r) => r.name),
      'Assembly at the library, Sunday noon.',
      (i) => (i % 2 === 0 ? 'message' : 'prekey'),
    );
    expect(message.keys.map((k) => k.sealed.length)).toEqual([
      COLLECTIVE_KEY_ENVELOPE_BYTES,
      COLLECTIVE_FIRST_KEY_ENVELOPE_BYTES,
      COLLECTIVE_KEY_ENVELOPE_BYTES,
      COLLECTIVE_FIRST_KEY_ENVELOPE_BYTES,
    ]);
    const reply = await send(alice, sendBody('portland', message));
    expect(reply.status).toBe(201);
    const sent = collectiveSendResponseSchema.parse(reply.json);
    expect(sent.recipients).toBe(4);

    const stored = () =>
      readDb((db) => ({
        bodies: db
          .prepare(
            'SELECT COUNT(*) AS n, SUM(LENGTH(sealed)) AS bytes FROM letter_bodies WHERE id = ?',
          )
          .get(sent.id) as { n: number; bytes: number | null },
        letters: (
          db.prepare('SELECT COUNT(*) AS n FROM letters WHERE body = ?').get(sent.id) as {
            n: number;
          }
        ).n,
      }));
    expect(stored()).toEqual({ bodies: { n: 1, bytes: message.body.length }, letters: 4 });
    // Each letter holds only its envelope: the body's bytes are in the database once.
    const envelopeBytes = readDb(
      (db) =>
        (
          db
            .prepare('SELECT SUM(LENGTH(sealed)) AS n FROM letters WHERE body = ?')
            .get(sent.id) as {
            n: number;
          }
        ).n,
    );
    expect(envelopeBytes).toBe(message.keys.reduce((sum, k) => sum + k.sealed.length, 0));

    const bodies = new Set<string>();
    const ids = new Map<string, string>();
    for (const { name } of recipients) {
      const member = person(name);
      const letters = (await fetchLetters(member)).filter((l) => l.body !== undefined);
      expect(letters).toHaveLength(1);
      const letter = letters[0]!;
      bodies.add(toBase64url(letter.body!));
      ids.set(name, toBase64url(letter.id));
      const envelope = openKeyEnvelope(letter.sealed, member.keys);
      if (!envelope.ok) throw envelope.error;
      const opened = openCollectiveBody(envelope.value.msg, letter.body!, envelope.value.from);
      if (!opened.ok) throw opened.error;
      const verified = verifyCollectiveMessage(opened.value, alice.keys.signPublic);
      if (!verified.ok) throw verified.error;
      expect(verified.value.text).toBe('Assembly at the library, Sunday noon.');
    }
    expect(bodies.size).toBe(1);
    expect(await fetchLetters(alice)).toEqual([]);

    for (const [i, { name }] of recipients.entries()) {
      const acked = await client.post(
        '/v1/mail/ack',
        { ids: [ids.get(name)] },
        { as: person(name) },
      );
      expect(acked.json).toEqual({ deleted: 1 });
      const last = i === recipients.length - 1;
      expect(stored()).toEqual(
        last
          ? { bodies: { n: 0, bytes: null }, letters: 0 }
          : { bodies: { n: 1, bytes: message.body.length }, letters: recipients.length - 1 - i },
      );
    }
  });

  it('answers COLLECTIVE_CONFLICT when keys name a non-member or leave a member out', async () => {
    const withStranger = sealed(alice, 'portland', [...members.slice(1), 'oscar'], 'hi');
    const stranger = await send(alice, sendBody('portland', withStranger));
    expect(stranger.status).toBe(409);
    expect(errorCode(stranger)).toBe('COLLECTIVE_CONFLICT');
    expect(message(stranger)).toMatch(/membership changed.*retry/i);

    const missing = await send(
      alice,
      sendBody('portland', sealed(alice, 'portland', members.slice(1, 4), 'hi')),
    );
    expect(missing.status).toBe(409);
    expect(errorCode(missing)).toBe('COLLECTIVE_CONFLICT');
    expect(await fetchLetters(bob)).toEqual([]);
  });

  it('refuses duplicates, the sender as recipient, and non-members as senders', async () => {
    const body = sendBody('portland', sealed(alice, 'portland', members.slice(1), 'hi'));
    const twice = await send(alice, { ...body, keys: [...body.keys, body.keys[0]] });
    expect(twice.status).toBe(400);
    expect(errorCode(twice)).toBe('BAD_REQUEST');
    const self = await send(alice, {
      ...body,
      keys: [...body.keys, { to: 'alice', sealed: body.keys[0]!.sealed }],
    });
    expect(errorCode(self)).toBe('BAD_REQUEST');
    const outsider = await send(
      oscar,
      sendBody('portland', sealed(oscar, 'portland', members, 'hi')),
    );
    expect(outsider.status).toBe(403);
    expect(errorCode(outsider)).toBe('NOT_MEMBER');
    const unknown = await send(alice, { ...body, collective: 'nowhere' });
    expect(errorCode(unknown)).toBe('NAME_UNKNOWN');
  });

  it('refuses an oversized body (413 over the Operator’s limit, 400 over the protocol’s)', async () => {
    const base = sendBody('portland', sealed(alice, 'portland', members.slice(1), 'hi'));
    const large = await send(alice, { ...base, body: toBase64url(randomBytes(MAX_BODY + 1)) });
    expect(large.status).toBe(413);
    expect(errorCode(large)).toBe('LETTER_TOO_LARGE');
    const huge = await send(alice, { ...base, body: toBase64url(randomBytes(70_000)) });
    expect(huge.status).toBe(400);
    expect(errorCode(huge)).toBe('BAD_REQUEST');
  });

  it('refuses malformed JSON and base64 with BAD_REQUEST', async () => {
    const base = sendBody('portland', sealed(alice, 'portland', members.slice(1), 'hi'));
    for (const body of [
      '{"collective": "portland", "body": ',
      { ...base, body: 'no+padding/=' },
      { ...base, keys: base.keys.map((k) => ({ ...k, sealed: `${k.sealed}=` })) },
      { ...base, keys: [] },
      { ...base, keys: base.keys.map((k) => ({ ...k, to: 'Bob' })) },
      // An envelope of neither fixed length: it would tell the Operator more.
      { ...base, keys: base.keys.map((k) => ({ ...k, sealed: toBase64url(randomBytes(176)) })) },
      {
        ...base,
        keys: base.keys.map((k) => ({
          ...k,
          sealed: toBase64url(randomBytes(COLLECTIVE_KEY_ENVELOPE_BYTES + 1)),
        })),
      },
      {
        ...base,
        keys: base.keys.map((k) => ({
          ...k,
          sealed: toBase64url(randomBytes(COLLECTIVE_FIRST_KEY_ENVELOPE_BYTES + 1)),
        })),
      },
    ]) {
      const reply = await send(alice, body);
      expect(reply.status).toBe(400);
      expect(['BAD_REQUEST', 'NAME_INVALID']).toContain(errorCode(reply));
    }
  });

  it('respects each recipient’s mailbox quota (MAILBOX_FULL) without storing a body', async () => {
    expect((await create(ann, genesisOf('tinycoop', ann, ['ann', 'ben']))).status).toBe(201);
    for (let i = 0; i < QUOTA; i++) {
      const reply = await send(
        ann,
        sendBody('tinycoop', sealed(ann, 'tinycoop', ['ben'], `#${i}`)),
      );
      expect(reply.status).toBe(201);
    }
    const bodiesBefore = readDb(
      (db) => (db.prepare('SELECT COUNT(*) AS n FROM letter_bodies').get() as { n: number }).n,
    );
    const full = await send(
      ann,
      sendBody('tinycoop', sealed(ann, 'tinycoop', ['ben'], 'one more')),
    );
    expect(full.status).toBe(507);
    expect(errorCode(full)).toBe('MAILBOX_FULL');
    expect(
      readDb(
        (db) => (db.prepare('SELECT COUNT(*) AS n FROM letter_bodies').get() as { n: number }).n,
      ),
    ).toBe(bodiesBefore);
    const letters = await fetchLetters(ben);
    expect(letters).toHaveLength(QUOTA);
    expect(letters.every((l) => l.body !== undefined)).toBe(true);
  });
});

describe('a restart', () => {
  it('keeps every log, and replays it into a fresh cache on first use', async () => {
    const before = await headOf('portland');
    const assemblyBefore = await headOf('assembly');
    await stopOperator();
    await startOperator();

    expect(collectives.cachedLogs).toBe(0);
    expect(await headOf('portland')).toEqual(before);
    expect(collectives.cachedLogs).toBe(1);
    expect(await headOf('assembly')).toEqual(assemblyBefore);

    // The reloaded log judges the next event exactly as before the restart.
    const stale = onHead({ ...before, length: before.length - 1 }, 'leave', erin, {});
    expect(errorCode(await append(erin, stale))).toBe('COLLECTIVE_CONFLICT');
    const after = await act('portland', 'leave', erin, {});
    expect(after.length).toBe(before.length + 1);
    expect(errorCode(await readLog(erin, 'portland'))).toBe('NOT_MEMBER');

    const { events, receipts } = await wholeLog(alice, 'portland', 1_000);
    const state = verifyWithReceipts(events, receipts);
    if (!state.ok) throw state.error;
    expect(state.value.members).toEqual(['alice', 'bob', 'carol', 'dave']);
  });

  it('keeps at most the configured number of logs in memory, replaying evicted ones', async () => {
    const service = new CollectiveService({ store, maxCachedLogs: 1 });
    const portland = await service.head('portland');
    await service.head('assembly');
    expect(service.cachedLogs).toBe(1);
    expect(await service.head('portland')).toEqual(portland);
    expect(service.cachedLogs).toBe(1);
  });
});
