/**
 * The registry's transparency log over real HTTP, a real Operator in this process and its real
 * SQLite store: every receipt it answers carries a proof against a signed checkpoint of the size
 * the proof was made at, consistency proofs and entries rebuild the same tree, a ratchet-key
 * update is one more leaf, bad queries are refused, and a restart keeps the log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_CONSTITUTION,
  collectivePowBytes,
  genesisDraft,
  signCollectiveEvent,
} from '../../common/collectives/index.js';
import { rmSync } from 'node:fs';
import { silentLogger } from '../../common/logging/index.js';
import {
  MemoryMerkleTree,
  leafHash,
  noteVerifier,
  openCheckpoint,
  rootHash,
  verifyConsistency,
  verifyInclusion,
  type Checkpoint,
} from '../../common/transparency/index.js';
import {
  COLLECTIVE_ROUTES,
  LOG_ROUTES,
  ROUTES,
  checkpointResponseSchema,
  collectiveLogResponseSchema,
  consistencyResponseSchema,
  logEntriesResponseSchema,
  proveClaim,
  receiptLeaf,
  receiptResponseSchema,
  registryOrigin,
  signReceipt,
  solveProofOfWork,
  toBase64url,
  verifyReceipt,
  type Receipt,
} from '../../common/wire/index.js';
import { loadOperatorKeys, type OperatorKeys } from '../../operator/index.js';
import { startTestOperator, type TestOperator } from '../support/operator-fixture.js';
import {
  TestClient,
  errorCode,
  makeKomrade,
  testRatchetKey,
  type TestKomrade,
  type TestReply,
} from '../support/operator-test-client.js';

let operator: TestOperator;
let client: TestClient;
let keys: OperatorKeys;

beforeAll(async () => {
  operator = await startTestOperator({ powBits: 0 });
  client = new TestClient(operator.url);
  keys = loadOperatorKeys({ dataDir: operator.dataDir, logger: silentLogger });
});
afterAll(async () => {
  await operator.close();
});

/** Opens a checkpoint note as a client pinning the Operator's key would. */
function opened(note: string): Checkpoint {
  const origin = registryOrigin(keys.signPublic);
  const result = openCheckpoint(note, { origin, log: noteVerifier(origin, keys.signPublic) });
  if (!result.ok) throw result.error;
  return result.value.checkpoint;
}

/** The receipt of an answer, its Operator signature and its log proof checked. */
function provenReceipt(reply: TestReply): { receipt: Receipt; checkpoint: Checkpoint } {
  return proven(receiptResponseSchema.parse(reply.json).receipt);
}

/** `receipt` with its Operator signature and its log proof checked. */
function proven(receipt: Receipt): { receipt: Receipt; checkpoint: Checkpoint } {
  expect(verifyReceipt(receipt, keys.signPublic)).toBe(true);
  const proof = receipt.proof;
  if (proof === undefined) throw new Error('the receipt carries no proof');
  const checkpoint = opened(proof.checkpoint);
  expect(checkpoint.size).toBe(proof.size);
  expect(checkpoint.extensions).toEqual([]);
  const leaf = leafHash(receiptLeaf(receipt));
  expect(verifyInclusion(leaf, proof.index, proof.size, proof.hashes, checkpoint.rootHash)).toBe(
    true,
  );
  return { receipt, checkpoint };
}

async function newestCheckpoint(): Promise<Checkpoint> {
  const reply = await client.get(LOG_ROUTES.checkpoint);
  expect(reply.status).toBe(200);
  return opened(checkpointResponseSchema.parse(reply.json).checkpoint);
}

async function entries(start: number, end: number): Promise<Receipt[]> {
  const reply = await client.get(`${LOG_ROUTES.entries}?start=${start}&end=${end}`);
  expect(reply.status).toBe(200);
  const page = logEntriesResponseSchema.parse(reply.json);
  expect(page.start).toBe(start);
  return page.entries;
}

const rootOf = (receipts: readonly Receipt[]): Uint8Array => {
  const tree = new MemoryMerkleTree();
  for (const receipt of receipts) tree.append(leafHash(receiptLeaf(receipt)));
  return rootHash(tree);
};

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe('the registry log over HTTP', () => {
  const registered: TestKomrade[] = [];

  it('proves every registration and lookup against a checkpoint of its own size', async () => {
    for (const name of ['alice', 'bob', 'carol', 'dave', 'erin']) {
      const komrade = makeKomrade(name);
      const reply = await client.register(komrade, 0);
      expect(reply.status).toBe(201);
      const { receipt } = provenReceipt(reply);
      expect(receipt.name).toBe(name);
      expect(receipt.proof?.index).toBe(registered.length);
      expect(receipt.proof?.size).toBe(registered.length + 1);
      registered.push(komrade);
    }
    // A lookup proves the same leaf against the newest checkpoint.
    const lookup = provenReceipt(await client.get(`${ROUTES.komrade}bob`));
    expect(lookup.receipt.proof?.index).toBe(1);
    expect(lookup.receipt.proof?.size).toBe(5);
    expect((await newestCheckpoint()).size).toBe(5);
  });

  it('answers entries that rebuild the checkpoint’s root, and consistency between sizes', async () => {
    const head = await newestCheckpoint();
    const all = await entries(0, head.size);
    expect(all.map((r) => r.name)).toEqual(['alice', 'bob', 'carol', 'dave', 'erin']);
    for (const receipt of all) expect(verifyReceipt(receipt, keys.signPublic)).toBe(true);
    expect(hex(rootOf(all))).toBe(hex(head.rootHash));
    // An end past the size is cut to it.
    expect(await entries(3, 1000)).toHaveLength(2);
    expect(await entries(5, 6)).toEqual([]);
    for (let from = 1; from <= head.size; from++) {
      const reply = await client.get(`${LOG_ROUTES.consistency}?from=${from}&to=${head.size}`);
      expect(reply.status).toBe(200);
      const proof = consistencyResponseSchema.parse(reply.json);
      expect([proof.from, proof.to]).toEqual([from, head.size]);
      const older = rootOf(all.slice(0, from));
      expect(verifyConsistency(from, head.size, older, head.rootHash, proof.hashes)).toBe(true);
    }
  });

  it('appends a ratchet-key update as one leaf, and answers a repeat without appending', async () => {
    const olga = makeKomrade('olga');
    const old = signReceipt(
      {
        name: 'olga',
        signKey: olga.keys.signPublic,
        boxKey: olga.keys.boxPublic,
        keyHolder: 'self',
        ratchetKey: null,
        registeredAt: Date.now() - 86_400_000,
      },
      keys.signSecret,
    );
    await operator.store.register(old);
    const before = await newestCheckpoint();
    const ratchetKey = testRatchetKey();
    const pop = proveClaim({ ...old, ratchetKey }, olga.keys.signSecret);
    const body = { ratchetKey: toBase64url(ratchetKey), pop: toBase64url(pop) };
    const first = provenReceipt(await client.post(ROUTES.ratchetKey, body, { as: olga }));
    expect(first.receipt.proof?.index).toBe(before.size);
    expect(first.checkpoint.size).toBe(before.size + 1);
    expect(hex(first.receipt.ratchetKey!)).toBe(hex(ratchetKey));
    const again = provenReceipt(await client.post(ROUTES.ratchetKey, body, { as: olga }));
    expect(again.receipt.proof?.index).toBe(before.size);
    expect(again.checkpoint.size).toBe(before.size + 1);
    // Both of olga's receipts are leaves: the first without a ratchet key.
    const [previous, updated] = await entries(before.size - 1, before.size + 1);
    expect(previous?.ratchetKey).toBeNull();
    expect(hex(updated!.sig)).toBe(hex(first.receipt.sig));
    const lookup = provenReceipt(await client.get(`${ROUTES.komrade}olga`));
    expect(lookup.receipt.proof?.index).toBe(before.size);
  });

  it('proves every receipt of a collective log page against one checkpoint', async () => {
    const alice = registered[0]!;
    const draft = genesisDraft('portland', 'alice', Date.now(), {
      founders: ['alice', 'bob', 'carol'],
      constitution: DEFAULT_CONSTITUTION,
    });
    const genesis = signCollectiveEvent(draft, alice.keys.signSecret);
    const pow = await solveProofOfWork(collectivePowBytes(genesis.signed), 0);
    const created = await client.post(
      COLLECTIVE_ROUTES.create,
      {
        genesis: { signed: toBase64url(genesis.signed), sig: toBase64url(genesis.sig) },
        pow: toBase64url(pow),
      },
      { as: alice },
    );
    expect(created.status).toBe(201);
    const reply = await client.post(
      COLLECTIVE_ROUTES.log,
      { collective: 'portland' },
      { as: alice },
    );
    expect(reply.status).toBe(200);
    const page = collectiveLogResponseSchema.parse(reply.json);
    expect(page.receipts.map((r) => r.name).sort()).toEqual(['alice', 'bob', 'carol']);
    const notes = new Set(page.receipts.map((r) => r.proof?.checkpoint));
    expect(notes.size).toBe(1);
    for (const receipt of page.receipts) proven(receipt);
  });

  it('refuses malformed or out-of-range log queries with BAD_REQUEST', async () => {
    const { size } = await newestCheckpoint();
    const bad = [
      LOG_ROUTES.consistency,
      `${LOG_ROUTES.consistency}?from=1`,
      `${LOG_ROUTES.consistency}?from=0&to=2`,
      `${LOG_ROUTES.consistency}?from=3&to=2`,
      `${LOG_ROUTES.consistency}?from=1&to=${size + 1}`,
      `${LOG_ROUTES.consistency}?from=01&to=2`,
      `${LOG_ROUTES.consistency}?from=%31&to=2`,
      `${LOG_ROUTES.consistency}?from=+1&to=2`,
      `${LOG_ROUTES.consistency}?from=1.0&to=2`,
      `${LOG_ROUTES.consistency}?from=1e0&to=2`,
      `${LOG_ROUTES.consistency}?from=-1&to=2`,
      `${LOG_ROUTES.consistency}?from=1&to=2&to=2`,
      `${LOG_ROUTES.consistency}?from=1&to=2&x=1`,
      `${LOG_ROUTES.consistency}?from=1&to=99999999999999999`,
      `${LOG_ROUTES.entries}?start=0`,
      `${LOG_ROUTES.entries}?start=2&end=2`,
      `${LOG_ROUTES.entries}?start=3&end=2`,
      `${LOG_ROUTES.entries}?start=0&end=1001`,
      `${LOG_ROUTES.entries}?start=${size + 1}&end=${size + 2}`,
      `${LOG_ROUTES.entries}?start=&end=1`,
      `${LOG_ROUTES.entries}?start=0x0&end=1`,
    ];
    for (const path of bad) {
      const reply = await client.get(path);
      expect({ path, status: reply.status, code: errorCode(reply) }).toEqual({
        path,
        status: 400,
        code: 'BAD_REQUEST',
      });
    }
    // The routes are GETs only.
    expect((await client.post(LOG_ROUTES.checkpoint, {})).status).toBe(405);
  });

  it('keeps the log across a restart on the same folder', async () => {
    const before = await newestCheckpoint();
    const all = await entries(0, before.size);
    const dataDir = operator.dataDir;
    await operator.server.close();
    await operator.store.close();
    const restarted = await startTestOperator({ powBits: 0, dataDir });
    try {
      const again = new TestClient(restarted.url);
      const reply = await again.get(LOG_ROUTES.checkpoint);
      const head = opened(checkpointResponseSchema.parse(reply.json).checkpoint);
      expect(head.size).toBe(before.size);
      expect(hex(head.rootHash)).toBe(hex(before.rootHash));
      const frank = makeKomrade('frank');
      const { receipt, checkpoint } = provenReceipt(await again.register(frank, 0));
      expect(receipt.proof?.index).toBe(before.size);
      const proof = consistencyResponseSchema.parse(
        (await again.get(`${LOG_ROUTES.consistency}?from=${before.size}&to=${checkpoint.size}`))
          .json,
      );
      expect(
        verifyConsistency(
          before.size,
          checkpoint.size,
          rootOf(all),
          checkpoint.rootHash,
          proof.hashes,
        ),
      ).toBe(true);
    } finally {
      await restarted.close();
      // The first Operator is closed already; its folder goes here.
      operator = { ...operator, close: () => Promise.resolve() };
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
