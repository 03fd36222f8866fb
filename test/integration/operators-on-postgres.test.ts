/**
 * Three Operator processes on one PostgreSQL database (issue 15): each is the built Operator
 * (`dist/operator/main.js`, `--insecure-no-tor`) with `store.kind: postgres` and a copy of one
 * data folder's key files, so any of them may serve the next request. Checked here: a letter
 * crosses all three; uniqueness, collective appends, replays and token spends hold across them;
 * a wait held at one is woken by a deposit through another (also after its LISTEN connection was
 * cut); the registry log is one log; a SIGKILLed Operator loses nothing it answered, and clients
 * keep working through the survivors. The sweeper's one-at-a-time lock is checked in process.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, type Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpOperatorClient } from '../../client/index.js';
import {
  DEFAULT_CONSTITUTION,
  collectivePowBytes,
  genesisDraft,
  signCollectiveEvent,
  type SignedCollectiveEvent,
} from '../../common/collectives/index.js';
import { silentLogger } from '../../common/logging/index.js';
import {
  leafHash,
  noteVerifier,
  openCheckpoint,
  verifyConsistency,
  verifyInclusion,
  type Checkpoint,
} from '../../common/transparency/index.js';
import {
  COLLECTIVE_ROUTES,
  LOG_ROUTES,
  checkpointResponseSchema,
  collectiveHeadSchema,
  consistencyResponseSchema,
  fromBase64url,
  receiptLeaf,
  receiptResponseSchema,
  registryOrigin,
  solveProofOfWork,
  toBase64url,
  verifyReceipt,
  type CollectiveHead,
  type Token,
} from '../../common/wire/index.js';
import { PostgresStore, Sweeper } from '../../operator/index.js';
import pg from 'pg';
import { startOperatorProcess, type OperatorProcess } from '../support/operator-process.js';
import {
  TestClient,
  errorCode,
  makeKomrade,
  sealedOfClass,
  type TestKomrade,
  type TestReply,
} from '../support/operator-test-client.js';
import { startPostgresCluster, type PostgresCluster } from '../support/postgres-cluster.js';
import { komrade } from './store-contract.js';

const POW_BITS = 4;
const PASSPHRASE = 'correct horse battery staple, shared by every Operator';

let cluster: PostgresCluster | undefined;
let database: string;
let databaseUrl: string;
const operators: OperatorProcess[] = [];
const clients: TestClient[] = [];
const copies: string[] = [];
const dispatcher = new Agent({ keepAliveTimeout: 1_000 });

/** The cluster, once started. */
const postgres = (): PostgresCluster => {
  if (cluster === undefined) throw new Error('no PostgreSQL cluster');
  return cluster;
};

/** The Operator at `i` (0, 1, 2) and its client. */
const op = (i: number): TestClient => clients[i] as TestClient;

function operatorOptions(dataDir?: string) {
  return {
    powBits: POW_BITS,
    ...(dataDir === undefined ? {} : { dataDir }),
    config: {
      store: { kind: 'postgres', maxConnections: 8 },
      mail: { mailboxQuotaLetters: 10_000 },
      tokens: { perDay: 1_000_000 },
    },
    env: { KOMRADE_DATABASE_URL: databaseUrl, KOMRADE_OPERATOR_PASSPHRASE: PASSPHRASE },
  };
}

beforeAll(async () => {
  const started = await startPostgresCluster();
  cluster = started;
  database = await started.createDatabase();
  databaseUrl = started.connectionString(database);
  // The first Operator makes the keys; the others start on copies of its data folder.
  const first = await startOperatorProcess(operatorOptions());
  operators.push(first);
  for (let i = 1; i < 3; i++) {
    const copy = await mkdtemp(join(tmpdir(), 'komrade-operator-copy-'));
    copies.push(copy);
    await cp(first.dataDir, copy, { recursive: true });
    operators.push(await startOperatorProcess(operatorOptions(copy)));
  }
  for (const operator of operators) clients.push(new TestClient(operator.url));
}, 120_000);

afterAll(async () => {
  await Promise.all(operators.map((operator) => operator.cleanup()));
  await Promise.all(copies.map((dir) => rm(dir, { recursive: true, force: true })));
  await dispatcher.close();
  await cluster?.stop();
}, 60_000);

let counter = 0;
/** A komrade registered through Operator `at`. */
async function registered(prefix: string, at = 0): Promise<TestKomrade> {
  const komrade = makeKomrade(`${prefix}_${++counter}`);
  const reply = await op(at).register(komrade, POW_BITS);
  expect(reply.status).toBe(201);
  return komrade;
}

interface FetchedLetter {
  readonly id: string;
  readonly sealed: string;
}

async function fetchAt(at: number, as: TestKomrade, limit = 100): Promise<FetchedLetter[]> {
  const reply = await op(at).post('/v1/mail/fetch', { limit }, { as });
  expect(reply.status).toBe(200);
  return (reply.json as { letters: FetchedLetter[] }).letters;
}

async function ackAt(at: number, as: TestKomrade, ids: readonly string[]): Promise<TestReply> {
  return op(at).post('/v1/mail/ack', { ids }, { as });
}

/** The Operators' one sign key, as the first test reads it. */
let infoKey = '';
const signPublic = (): Uint8Array => fromBase64url(infoKey) ?? new Uint8Array(0);

describe('three Operators on one PostgreSQL', () => {
  it('start on copies of one data folder and sign with the same keys', async () => {
    const infos = await Promise.all(
      clients.map(
        async (client) => (await client.get('/v1/operator')).json as Record<string, unknown>,
      ),
    );
    for (const info of infos) {
      expect(info.signKey).toBe(infos[0]?.signKey);
      expect(info.tokenKey).toBe(infos[0]?.tokenKey);
    }
    infoKey = String(infos[0]?.signKey);
    for (const operator of operators) {
      expect(operator.stdout()).toContain(
        'Komrade Operator store: PostgreSQL (connection string from KOMRADE_DATABASE_URL)',
      );
      // The connection string is never printed nor logged.
      expect(operator.stdout() + operator.stderr()).not.toContain(databaseUrl);
    }
  });

  it('carries a letter sent through one, fetched through a second, acked through a third', async () => {
    const sender = await registered('sender', 0);
    const recipient = await registered('recipient', 1);
    // Tokens issued by the third verify at the first: one token key.
    const [token] = await op(2).tokens(sender, 1);
    const sealed = sealedOfClass();
    const sent = await op(0).sendAnonymously(recipient.name, sealed, token as Token);
    expect(sent.status).toBe(201);
    const id = (sent.json as { id: string }).id;

    const fetched = await fetchAt(1, recipient);
    expect(fetched.map((l) => l.id)).toEqual([id]);
    expect(
      Buffer.from(fromBase64url(fetched[0]?.sealed ?? '') ?? []).equals(Buffer.from(sealed)),
    ).toBe(true);
    expect((await ackAt(2, recipient, [id])).json).toEqual({ deleted: 1 });
    for (let at = 0; at < 3; at++) expect(await fetchAt(at, recipient)).toEqual([]);
  });

  it('gives exactly one receipt for 20 concurrent registrations of one name through all three', async () => {
    const name = `contested_${++counter}`;
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) => op(i % 3).register(makeKomrade(name), POW_BITS)),
    );
    const won = replies.filter((r) => r.status === 201);
    expect(won).toHaveLength(1);
    for (const reply of replies.filter((r) => r.status !== 201)) {
      expect(errorCode(reply)).toBe('NAME_TAKEN');
    }
    // Every Operator now answers the one winner's receipt.
    const winner = receiptResponseSchema.parse(won[0]?.json).receipt;
    for (let at = 0; at < 3; at++) {
      const lookup = receiptResponseSchema.parse((await op(at).get(`/v1/komrades/${name}`)).json);
      expect(toBase64url(lookup.receipt.signKey)).toBe(toBase64url(winner.signKey));
    }
  });

  it('accepts one of concurrent collective appends on one head through different Operators', async () => {
    const founders = await Promise.all([0, 1, 2, 0, 1, 2].map((at) => registered('founder', at)));
    const newbie = await registered('newbie', 2);
    const collective = `coll_${++counter}`;
    const genesis = signCollectiveEvent(
      genesisDraft(collective, founders[0]!.name, Date.now(), {
        founders: founders.map((f) => f.name),
        constitution: DEFAULT_CONSTITUTION,
      }),
      founders[0]!.keys.signSecret,
    );
    const pow = await solveProofOfWork(collectivePowBytes(genesis.signed), POW_BITS);
    const created = await op(0).post(
      COLLECTIVE_ROUTES.create,
      { genesis: eventJson(genesis), pow: toBase64url(pow) },
      { as: founders[0]! },
    );
    expect(created.status).toBe(201);
    const head1 = await headAt(1, collective, founders[1]!);
    const asked = await op(1).post(
      COLLECTIVE_ROUTES.append,
      { event: eventJson(onHead(head1, 'join-request', newbie, { note: '' })) },
      { as: newbie },
    );
    expect(asked.status).toBe(201);

    const head = await headAt(2, collective, founders[2]!);
    const replies = await Promise.all(
      founders.map((founder, i) =>
        op(i % 3).post(
          COLLECTIVE_ROUTES.append,
          { event: eventJson(onHead(head, 'vouch', founder, { candidate: newbie.name })) },
          { as: founder },
        ),
      ),
    );
    expect(replies.filter((r) => r.status === 201)).toHaveLength(1);
    for (const reply of replies.filter((r) => r.status !== 201)) {
      expect(reply.status).toBe(409);
      expect(errorCode(reply)).toBe('COLLECTIVE_CONFLICT');
    }
    const after = await headAt(0, collective, founders[0]!);
    expect(after.length).toBe(head.length + 1);
  });

  it('refuses a signed request replayed to another Operator', async () => {
    const komrade = await registered('replayed', 0);
    expect((await op(0).post('/v1/mail/fetch', { limit: 5 }, { as: komrade })).status).toBe(200);
    const authorization = op(0).lastAuthorization;
    for (const at of [1, 2]) {
      const replay = await op(at).post('/v1/mail/fetch', { limit: 5 }, { authorization });
      expect(replay.status).toBe(409);
      expect(errorCode(replay)).toBe('REPLAY');
    }
  });

  it('refuses a token spent at one Operator when it is spent again at another', async () => {
    const sender = await registered('spender', 0);
    const recipient = await registered('payee', 1);
    const [token] = await op(1).tokens(sender, 1);
    const sealed = sealedOfClass();
    const first = await op(0).sendAnonymously(recipient.name, sealed, token as Token);
    expect(first.status).toBe(201);
    const again = await op(1).sendAnonymously(recipient.name, sealedOfClass(), token as Token);
    expect(errorCode(again)).toBe('TOKEN_SPENT');
    // An identical retry at a third Operator is the same letter, not a second one.
    const retry = await op(2).sendAnonymously(recipient.name, sealed, token as Token);
    expect(retry.status).toBe(201);
    expect((retry.json as { id: string }).id).toBe((first.json as { id: string }).id);
    expect(await fetchAt(2, recipient)).toHaveLength(1);
  });

  it('wakes a wait held at one Operator with a letter sent through another', async () => {
    const sender = await registered('waker', 0);
    const waiter = await registered('waiter', 1);
    const http = clientAt(1);
    const [token] = await op(0).tokens(sender, 1);
    const waiting = http.waitForMail([signerOf(waiter)], { waitMs: 40_000 });
    // The wait is held before the send (a send first would be found by the wait's own query).
    await sleep(500);
    const sentAt = Date.now();
    expect((await op(0).sendAnonymously(waiter.name, sealedOfClass(), token as Token)).status).toBe(
      201,
    );
    const { ready } = await waiting;
    expect(ready).toEqual([waiter.name]);
    expect(Date.now() - sentAt).toBeLessThan(5_000);
  });

  it('still wakes waits after the LISTEN connections were cut', async () => {
    const sender = await registered('waker', 2);
    const waiter = await registered('waiter', 1);
    const [token] = await op(2).tokens(sender, 1);
    const listening = async (): Promise<number> =>
      (
        await postgres().query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN%'`,
          [database],
        )
      ).rows[0]?.n ?? 0;
    expect(await listening()).toBe(3);
    const waiting = clientAt(1).waitForMail([signerOf(waiter)], { waitMs: 40_000 });
    await sleep(300);
    // Cut every Operator's listener, then send at once: the notification may go to nobody.
    await postgres().query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN%'`,
      [database],
    );
    const sentAt = Date.now();
    expect((await op(2).sendAnonymously(waiter.name, sealedOfClass(), token as Token)).status).toBe(
      201,
    );
    // The reconnect re-checks every held wait.
    expect((await waiting).ready).toEqual([waiter.name]);
    expect(Date.now() - sentAt).toBeLessThan(10_000);
    for (let i = 0; (await listening()) < 3 && i < 100; i++) await sleep(100);
    expect(await listening()).toBe(3);
  });

  it('keeps one registry log: receipts from every Operator verify against its checkpoints', async () => {
    const key = signPublic();
    const origin = registryOrigin(key);
    const open = (note: string): Checkpoint => {
      const result = openCheckpoint(note, { origin, log: noteVerifier(origin, key) });
      if (!result.ok) throw result.error;
      return result.value.checkpoint;
    };
    const checkpoints: Checkpoint[] = [];
    for (let i = 0; i < 6; i++) {
      const komrade = makeKomrade(`logged_${++counter}`);
      const reply = await op(i % 3).register(komrade, POW_BITS);
      expect(reply.status).toBe(201);
      const receipt = receiptResponseSchema.parse(reply.json).receipt;
      expect(verifyReceipt(receipt, key)).toBe(true);
      const proof = receipt.proof;
      if (proof === undefined) throw new Error('a receipt without its log proof');
      const checkpoint = open(proof.checkpoint);
      expect(checkpoint.size).toBe(proof.size);
      expect(
        verifyInclusion(
          leafHash(receiptLeaf(receipt)),
          proof.index,
          proof.size,
          proof.hashes,
          checkpoint.rootHash,
        ),
      ).toBe(true);
      checkpoints.push(checkpoint);
    }
    // Each Operator's checkpoint is a later state of the one before, proved by yet another.
    for (let i = 1; i < checkpoints.length; i++) {
      const older = checkpoints[i - 1] as Checkpoint;
      const newer = checkpoints[i] as Checkpoint;
      expect(newer.size).toBeGreaterThan(older.size);
      const reply = await op((i + 1) % 3).get(
        `${LOG_ROUTES.consistency}?from=${older.size}&to=${newer.size}`,
      );
      expect(reply.status).toBe(200);
      const { hashes } = consistencyResponseSchema.parse(reply.json);
      expect(
        verifyConsistency(older.size, newer.size, older.rootHash, newer.rootHash, hashes),
      ).toBe(true);
    }
    // All three sign the same head with the same bytes (Ed25519 is deterministic).
    const notes = await Promise.all(
      clients.map(
        async (client) =>
          checkpointResponseSchema.parse((await client.get(LOG_ROUTES.checkpoint)).json).checkpoint,
      ),
    );
    expect(new Set(notes).size).toBe(1);
  });

  it('signals deposits to the other stores only, with no name in the notification', async () => {
    const a = await PostgresStore.open({ connectionString: databaseUrl, maxConnections: 2 });
    const b = await PostgresStore.open({ connectionString: databaseUrl, maxConnections: 2 });
    const raw = new pg.Client({ connectionString: databaseUrl });
    const signal = a.mailSignal();
    try {
      await a.register(komrade('signalled'));
      const payloads: string[] = [];
      await raw.connect();
      raw.on('notification', (message) => payloads.push(message.payload ?? ''));
      await raw.query('LISTEN komrade_mail');
      let heardByA = 0;
      await signal.start(() => heardByA++);
      const options = { receivedAt: Date.now(), expiresAt: Date.now() + 60_000, quota: 100 };
      await a.deposit([{ to: 'signalled', sealed: Uint8Array.of(1) }], options);
      await b.deposit([{ to: 'signalled', sealed: Uint8Array.of(2) }], options);
      for (let i = 0; (payloads.length < 2 || heardByA < 1) && i < 100; i++) await sleep(20);
      await sleep(100);
      // A hears B's deposit, not its own; the payload is a random store id, not the recipient.
      expect(heardByA).toBe(1);
      expect(payloads).toHaveLength(2);
      for (const payload of payloads) {
        expect(payload).toMatch(/^[0-9a-f]{16}$/);
        expect(payload).not.toContain('signalled');
      }
    } finally {
      await signal.close();
      await raw.end();
      await a.close();
      await b.close();
    }
  });

  it('sweeps on one Operator at a time', async () => {
    const a = await PostgresStore.open({ connectionString: databaseUrl, maxConnections: 2 });
    const b = await PostgresStore.open({ connectionString: databaseUrl, maxConnections: 2 });
    try {
      const sweeperB = new Sweeper({
        store: b,
        intervalMs: 60_000,
        logger: silentLogger,
        exclusive: b.sweepLock,
      });
      // While A holds a round, B's round is skipped; after it, B sweeps.
      const during = await a.sweepLock.tryRun(() => sweeperB.sweep());
      expect(during?.skipped).toBe(true);
      const after = await sweeperB.sweep();
      expect(after.skipped).toBeUndefined();
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('loses nothing answered when one Operator is SIGKILLed under load; clients keep working', async () => {
    const sender = await registered('loadsender', 0);
    const recipients = await Promise.all([0, 1, 2, 0].map((at) => registered('loaded', at)));
    const tokens: Token[] = [];
    while (tokens.length < 600) tokens.push(...(await op(tokens.length % 2).tokens(sender, 100)));
    const victim = operators[2] as OperatorProcess;
    const sent = new Map<string, string>();
    const acked = new Set<string>();
    let killed = false;
    let stopped = false;
    // Functions, so the loops read the flags as they are now.
    const killing = (): boolean => killed;
    const stopping = (): boolean => stopped;
    const sendLoop = async (worker: number): Promise<void> => {
      for (let n = worker; !stopping(); n += 9) {
        const token = tokens.pop();
        if (token === undefined) return;
        const to = (recipients[n % recipients.length] as TestKomrade).name;
        // Once the third is dead, its share goes to the first, as a client would fail over.
        const at = n % 3 === 2 && killing() ? 0 : n % 3;
        try {
          const reply = await op(at).sendAnonymously(to, sealedOfClass(), token);
          expect(reply.status).toBe(201);
          sent.set((reply.json as { id: string }).id, to);
        } catch (error) {
          // Only the killed Operator's requests may go unanswered.
          if (!killing() || at !== 2) throw error;
        }
      }
    };
    const ackLoop = async (recipient: TestKomrade, at: number): Promise<void> => {
      while (!stopping()) {
        try {
          const letters = await fetchAt(at, recipient, 50);
          if (letters.length === 0) {
            await sleep(20);
            continue;
          }
          const ids = letters.map((l) => l.id);
          const reply = await ackAt(at, recipient, ids);
          expect(reply.json).toEqual({ deleted: ids.length });
          for (const id of ids) acked.add(id);
        } catch (error) {
          if (!killing() || at !== 2) throw error;
          return;
        }
      }
    };
    const loops = [
      ...Array.from({ length: 9 }, (_, worker) => sendLoop(worker)),
      ...recipients.map((recipient, i) => ackLoop(recipient, i % 3)),
    ];
    const deadline = Date.now() + 60_000;
    while (sent.size < 150 || acked.size < 20) {
      if (Date.now() > deadline)
        throw new Error(`too slow: ${sent.size} sent, ${acked.size} acked`);
      await sleep(10);
    }
    killed = true;
    await victim.kill();
    expect(await victim.exited).toBeNull();
    // The survivors keep serving for a moment more, then everything stops.
    await sleep(300);
    stopped = true;
    await Promise.all(loops);

    // Drain through the survivors: every answered letter is either acked or still there.
    const present = new Set<string>();
    for (const recipient of recipients) {
      for (;;) {
        const letters = await fetchAt(0, recipient, 200);
        if (letters.length === 0) break;
        for (const l of letters) present.add(l.id);
        expect(
          (
            await ackAt(
              1,
              recipient,
              letters.map((l) => l.id),
            )
          ).status,
        ).toBe(200);
      }
    }
    const lost = [...sent.keys()].filter((id) => !present.has(id) && !acked.has(id));
    expect(lost).toEqual([]);
    expect([...acked].filter((id) => present.has(id))).toEqual([]);

    // A client whose Operator died goes on through a survivor: its mailbox session is unknown
    // there, and it opens a new one without its caller noticing.
    const komrade = await registered('roamer', 0);
    const target = { origin: operators[0]!.url };
    const roaming = new HttpOperatorClient({
      baseUrl: operators[0]!.url,
      dispatcher: new FollowingDispatcher(target),
      now: Date.now,
    });
    const signer = signerOf(komrade);
    expect((await roaming.fetch(signer)).letters).toEqual([]);
    target.origin = operators[1]!.url;
    const [token] = await op(1).tokens(sender, 1);
    expect(
      (await op(0).sendAnonymously(komrade.name, sealedOfClass(), token as Token)).status,
    ).toBe(201);
    const { letters } = await roaming.fetch(signer);
    expect(letters).toHaveLength(1);
    expect(
      await roaming.ack(
        signer,
        letters.map((l) => l.id),
      ),
    ).toBe(1);
  }, 180_000);
});

/** A dispatcher that sends every request to whichever Operator `target` names now. */
class FollowingDispatcher extends Agent {
  readonly #target: { origin: string };

  constructor(target: { origin: string }) {
    super({ keepAliveTimeout: 1_000 });
    this.#target = target;
  }

  override dispatch(
    options: Dispatcher.DispatchOptions,
    handler: Dispatcher.DispatchHandler,
  ): boolean {
    return super.dispatch({ ...options, origin: this.#target.origin }, handler);
  }
}

function clientAt(at: number): HttpOperatorClient {
  return new HttpOperatorClient({ baseUrl: operators[at]!.url, dispatcher, now: Date.now });
}

function signerOf(komrade: TestKomrade): { name: string; signSecret: Uint8Array } {
  return { name: komrade.name, signSecret: komrade.keys.signSecret };
}

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

const eventJson = (event: SignedCollectiveEvent) => ({
  signed: toBase64url(event.signed),
  sig: toBase64url(event.sig),
});

async function headAt(at: number, collective: string, as: TestKomrade): Promise<CollectiveHead> {
  const reply = await op(at).post(COLLECTIVE_ROUTES.head, { collective }, { as });
  expect(reply.status).toBe(200);
  return collectiveHeadSchema.parse(reply.json);
}

function onHead(
  head: CollectiveHead,
  kind: 'join-request' | 'vouch',
  actor: TestKomrade,
  body: Record<string, unknown>,
): SignedCollectiveEvent {
  const event = {
    v: 1,
    collective: head.collective,
    seq: head.length,
    prev: head.head,
    at: Math.max(Date.now(), head.lastAt),
    actor: actor.name,
    kind,
    body,
  };
  return signCollectiveEvent(event as never, actor.keys.signSecret);
}
