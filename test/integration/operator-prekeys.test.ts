/**
 * Forward secrecy at the Operator, over real HTTP and a real SQLite file: the ratchet key in
 * registrations (required of new ones, added once to old ones, receipts signed before still
 * verifying), prekey uploads, and anonymous bundle fetches (each one-time prekey handed out
 * once and gone from the disk, retries, tokens, the hourly limit, hostile bodies).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes, type IdentityKeys } from '../../common/crypto/index.js';
import { silentLogger } from '../../common/logging/index.js';
import {
  PREKEY_ROUTES,
  ROUTES,
  fromBase64url,
  prekeyBundleSchema,
  prekeyUploadAnswerSchema,
  prekeyUploadJson,
  proveClaim,
  receiptResponseSchema,
  signReceipt,
  toBase64url,
  verifyReceipt,
  type KyberPrekey,
  type OneTimePrekey,
  type SignedPrekey,
  type Token,
} from '../../common/wire/index.js';
import { Sweeper, bundleHash, loadOperatorKeys, spentTokenHash } from '../../operator/index.js';
import { startTestOperator, type TestOperator } from '../support/operator-fixture.js';
import {
  TestClient,
  errorCode,
  makeKomrade,
  ratchetKeyOf,
  registrationBody,
  sealedOfClass,
  testRatchetKey,
  type TestKomrade,
  type TestReply,
} from '../support/operator-test-client.js';

const POW_BITS = 0;
const HOUR = 3_600_000;
const PER_HOUR = 3;
const MAX_ONE_TIME = 150;

let offset = 0;
const now = () => Date.now() + offset;

let started: TestOperator;
let client: TestClient;
let operatorKeys: IdentityKeys;
/** Pays for bundles: tokens carry nothing of who obtained them. */
const payer = makeKomrade('payer');

let counter = 0;
async function fresh(prefix: string): Promise<TestKomrade> {
  const komrade = makeKomrade(`${prefix}${++counter}`);
  expect((await client.register(komrade, POW_BITS)).status).toBe(201);
  return komrade;
}

const signedPrekey = (id: number): SignedPrekey => ({
  id,
  publicKey: testRatchetKey(),
  signature: randomBytes(64),
});
const kyberPrekey = (id: number): KyberPrekey => ({
  id,
  publicKey: Uint8Array.of(0x08, ...randomBytes(1_568)),
  signature: randomBytes(64),
});
const oneTime = (from: number, count: number): OneTimePrekey[] =>
  Array.from({ length: count }, (_, i) => ({ id: from + i, publicKey: testRatchetKey() }));

function upload(as: TestKomrade, body: unknown): Promise<TestReply> {
  return client.post(PREKEY_ROUTES.upload, body, { as });
}

/** A komrade with a signed prekey, a Kyber prekey and `count` one-time prekeys (ids from 1). */
async function withPrekeys(prefix: string, count: number): Promise<TestKomrade> {
  const komrade = await fresh(prefix);
  const reply = await upload(
    komrade,
    prekeyUploadJson({
      signedPrekey: signedPrekey(1),
      kyberPrekey: kyberPrekey(1),
      oneTimePrekeys: oneTime(1, count),
    }),
  );
  expect(reply.status).toBe(200);
  return komrade;
}

const tokenJson = (token: Token) => ({
  epoch: token.epoch,
  input: toBase64url(token.input),
  output: toBase64url(token.output),
});

async function token(): Promise<Token> {
  const [one] = await client.tokens(payer, 1);
  if (one === undefined) throw new Error('no token');
  return one;
}

/** POST /v2/prekeys/bundle, unsigned. */
async function bundle(name: string, paid?: Token): Promise<TestReply> {
  return client.post(PREKEY_ROUTES.bundle, { name, token: tokenJson(paid ?? (await token())) });
}

const oneTimeIdOf = (reply: TestReply): number | undefined =>
  prekeyBundleSchema.parse(reply.json).oneTimePrekey?.id;

/** Runs `body` with the shared clock moved by `by` ms. */
async function at<T>(by: number, body: () => Promise<T>): Promise<T> {
  offset += by;
  try {
    return await body();
  } finally {
    offset -= by;
  }
}

/** Every file of the data folder's database (.db, -wal, -shm) that holds `needle`. */
function databaseFilesHolding(needle: Uint8Array): string[] {
  return readdirSync(started.dataDir)
    .filter((name) => name.startsWith('operator.db'))
    .filter((name) => readFileSync(join(started.dataDir, name)).includes(Buffer.from(needle)));
}

async function operatorSignKey(): Promise<Uint8Array> {
  const info = (await client.get(ROUTES.operator)).json as { signKey: string };
  return fromBase64url(info.signKey)!;
}

beforeAll(async () => {
  started = await startTestOperator({
    powBits: POW_BITS,
    http: 'maxRequestBytes: 32768',
    config: [
      `prekeys: { oneTimePerHour: ${PER_HOUR}, maxOneTime: ${MAX_ONE_TIME} }`,
      'tokens: { perDay: 1000 }',
    ],
    now,
  });
  client = new TestClient(started.url, now);
  // The same key file the Operator loaded: to sign receipts of names registered before.
  operatorKeys = loadOperatorKeys({ dataDir: started.dataDir, logger: silentLogger });
  expect((await client.register(payer, POW_BITS)).status).toBe(201);
});

afterAll(() => started.close());

describe('the ratchet key in registrations', () => {
  it('registers with a ratchet key, countersigned in the receipt, and lookups answer it', async () => {
    const alice = await fresh('alice');
    const reply = await client.get(`${ROUTES.komrade}${alice.name}`);
    expect(reply.status).toBe(200);
    const { receipt } = receiptResponseSchema.parse(reply.json);
    expect(receipt.ratchetKey).toEqual(ratchetKeyOf(alice));
    expect(verifyReceipt(receipt, await operatorSignKey())).toBe(true);
    expect(verifyReceipt({ ...receipt, ratchetKey: null }, await operatorSignKey())).toBe(false);
  });

  it('refuses a new registration without a ratchet key, or with a malformed one', async () => {
    const bob = makeKomrade(`bob${++counter}`);
    const body: Record<string, unknown> = await registrationBody(bob, POW_BITS);
    const without = { ...body };
    delete without.ratchetKey;
    let reply = await client.post(ROUTES.register, without);
    expect([reply.status, errorCode(reply)]).toEqual([400, 'KEY_INVALID']);
    reply = await client.post(ROUTES.register, { ...body, ratchetKey: null });
    expect([reply.status, errorCode(reply)]).toEqual([400, 'KEY_INVALID']);
    for (const bad of [new Uint8Array(33), Uint8Array.of(0x05, ...randomBytes(31))]) {
      reply = await client.post(ROUTES.register, { ...body, ratchetKey: toBase64url(bad) });
      expect([reply.status, errorCode(reply)]).toEqual([400, 'BAD_REQUEST']);
    }
    // Another ratchet key than the one the proofs cover.
    reply = await client.post(ROUTES.register, {
      ...body,
      ratchetKey: toBase64url(testRatchetKey()),
    });
    expect([reply.status, errorCode(reply)]).toEqual([401, 'BAD_SIGNATURE']);
    expect((await client.post(ROUTES.register, body)).status).toBe(201);
  });

  describe('a name registered before ratchet keys', () => {
    /** Straight into the store, as a migrated registry holds it: receipt without a ratchet key. */
    async function legacy(prefix: string): Promise<TestKomrade> {
      const komrade = makeKomrade(`${prefix}${++counter}`);
      await started.store.register(
        signReceipt(
          {
            name: komrade.name,
            signKey: komrade.keys.signPublic,
            boxKey: komrade.keys.boxPublic,
            keyHolder: 'self',
            ratchetKey: null,
            registeredAt: 1_700_000_000_000,
          },
          operatorKeys.signSecret,
        ),
      );
      await started.store.durable();
      return komrade;
    }

    const claimOf = (komrade: TestKomrade, ratchetKey: Uint8Array) => ({
      name: komrade.name,
      signKey: komrade.keys.signPublic,
      boxKey: komrade.keys.boxPublic,
      keyHolder: 'self',
      ratchetKey,
    });

    function setKey(komrade: TestKomrade, ratchetKey: Uint8Array, pop?: Uint8Array) {
      return client.post(
        ROUTES.ratchetKey,
        {
          ratchetKey: toBase64url(ratchetKey),
          pop: toBase64url(
            pop ?? proveClaim(claimOf(komrade, ratchetKey), komrade.keys.signSecret),
          ),
        },
        { as: komrade },
      );
    }

    it('keeps its receipt verifying byte for byte, with a null ratchet key', async () => {
      const old = await legacy('old');
      const { receipt } = receiptResponseSchema.parse(
        (await client.get(`${ROUTES.komrade}${old.name}`)).json,
      );
      expect(receipt.ratchetKey).toBeNull();
      expect(receipt.registeredAt).toBe(1_700_000_000_000);
      expect(verifyReceipt(receipt, await operatorSignKey())).toBe(true);
    });

    it('adds the key once: a new receipt, the same again for the same key, 409 for another', async () => {
      const old = await legacy('upgrade');
      const key = testRatchetKey();
      const first = await setKey(old, key);
      expect(first.status).toBe(200);
      const { receipt } = receiptResponseSchema.parse(first.json);
      expect(receipt.ratchetKey).toEqual(key);
      expect(receipt.registeredAt).toBe(1_700_000_000_000);
      expect(verifyReceipt(receipt, await operatorSignKey())).toBe(true);
      const looked = receiptResponseSchema.parse(
        (await client.get(`${ROUTES.komrade}${old.name}`)).json,
      ).receipt;
      expect(looked).toEqual(receipt);

      const again = await setKey(old, key);
      expect(again.status).toBe(200);
      expect(receiptResponseSchema.parse(again.json).receipt).toEqual(receipt);

      const other = await setKey(old, testRatchetKey());
      expect([other.status, errorCode(other)]).toEqual([409, 'RATCHET_KEY_SET']);
      // A name registered with a key cannot change it either.
      const young = await fresh('young');
      const changed = await setKey(young, testRatchetKey());
      expect([changed.status, errorCode(changed)]).toEqual([409, 'RATCHET_KEY_SET']);
      expect((await setKey(young, ratchetKeyOf(young))).status).toBe(200);
    });

    it('refuses a bad proof, a malformed key, and an unsigned request, setting nothing', async () => {
      const old = await legacy('proof');
      const key = testRatchetKey();
      // Signed over another key, and by another identity.
      let reply = await setKey(
        old,
        key,
        proveClaim(claimOf(old, testRatchetKey()), old.keys.signSecret),
      );
      expect([reply.status, errorCode(reply)]).toEqual([401, 'BAD_SIGNATURE']);
      reply = await setKey(old, key, proveClaim(claimOf(old, key), payer.keys.signSecret));
      expect([reply.status, errorCode(reply)]).toEqual([401, 'BAD_SIGNATURE']);
      for (const bad of [Uint8Array.of(0x08, ...randomBytes(32)), randomBytes(32)]) {
        reply = await client.post(
          ROUTES.ratchetKey,
          { ratchetKey: toBase64url(bad), pop: toBase64url(randomBytes(64)) },
          { as: old },
        );
        expect([reply.status, errorCode(reply)]).toEqual([400, 'BAD_REQUEST']);
      }
      reply = await client.post(ROUTES.ratchetKey, {
        ratchetKey: toBase64url(key),
        pop: toBase64url(proveClaim(claimOf(old, key), old.keys.signSecret)),
      });
      expect([reply.status, errorCode(reply)]).toEqual([401, 'AUTH_REQUIRED']);
      expect((await started.store.lookup(old.name))?.ratchetKey).toBeNull();
      expect((await setKey(old, key)).status).toBe(200);
    });
  });
});

describe('uploading prekeys', () => {
  it('stores and counts; signed and Kyber prekeys replace, one-time ones add up', async () => {
    const alice = await fresh('up');
    let reply = await upload(alice, {});
    expect(reply.status).toBe(200);
    expect(prekeyUploadAnswerSchema.parse(reply.json)).toEqual({
      oneTimeLeft: 0,
      signedPrekey: false,
      kyberPrekey: false,
    });
    reply = await upload(
      alice,
      prekeyUploadJson({ signedPrekey: signedPrekey(1), oneTimePrekeys: oneTime(1, 100) }),
    );
    expect(reply.json).toEqual({ oneTimeLeft: 100, signedPrekey: true, kyberPrekey: false });
    const latest = signedPrekey(2);
    reply = await upload(
      alice,
      prekeyUploadJson({
        signedPrekey: latest,
        kyberPrekey: kyberPrekey(1),
        oneTimePrekeys: oneTime(101, 50),
      }),
    );
    expect(reply.json).toEqual({ oneTimeLeft: 150, signedPrekey: true, kyberPrekey: true });
    const got = prekeyBundleSchema.parse((await bundle(alice.name)).json);
    expect(got.signedPrekey).toEqual(latest);
    // Full: the Operator keeps at most maxOneTime.
    reply = await upload(alice, prekeyUploadJson({ oneTimePrekeys: oneTime(1_000, 2) }));
    expect([reply.status, errorCode(reply)]).toEqual([409, 'PREKEYS_FULL']);
  });

  it('refuses duplicate ids, storing nothing of the upload', async () => {
    const bob = await fresh('dup');
    await upload(bob, prekeyUploadJson({ oneTimePrekeys: oneTime(1, 3) }));
    let reply = await upload(
      bob,
      prekeyUploadJson({ signedPrekey: signedPrekey(9), oneTimePrekeys: oneTime(3, 2) }),
    );
    expect([reply.status, errorCode(reply)]).toEqual([409, 'PREKEY_ID_USED']);
    reply = await upload(
      bob,
      prekeyUploadJson({ oneTimePrekeys: [...oneTime(7, 1), ...oneTime(7, 1)] }),
    );
    expect([reply.status, errorCode(reply)]).toEqual([409, 'PREKEY_ID_USED']);
    expect((await upload(bob, {})).json).toEqual({
      oneTimeLeft: 3,
      signedPrekey: false,
      kyberPrekey: false,
    });
  });

  it('replaces every held one-time prekey with replaceOneTime: never handed out again, gone from disk', async () => {
    const gus = await fresh('restored');
    const other = await withPrekeys('bystander', 2);
    const old = oneTime(1, 3);
    await upload(
      gus,
      prekeyUploadJson({
        signedPrekey: signedPrekey(1),
        kyberPrekey: kyberPrekey(1),
        oneTimePrekeys: old,
      }),
    );
    await started.store.durable();
    for (const key of old) expect(databaseFilesHolding(key.publicKey).length).toBeGreaterThan(0);
    // Refused (an id twice): nothing is deleted.
    const twice = prekeyUploadJson({
      oneTimePrekeys: [...oneTime(9, 1), ...oneTime(9, 1)],
      replaceOneTime: true,
    });
    let reply = await upload(gus, twice);
    expect([reply.status, errorCode(reply)]).toEqual([409, 'PREKEY_ID_USED']);
    expect((await upload(gus, {})).json).toMatchObject({ oneTimeLeft: 3 });
    // An id held before may come again: the check is against the new set only.
    const replacement = [...oneTime(2, 1), ...oneTime(100, 2)];
    reply = await upload(
      gus,
      prekeyUploadJson({ oneTimePrekeys: replacement, replaceOneTime: true }),
    );
    expect([reply.status, reply.json]).toEqual([
      200,
      { oneTimeLeft: 3, signedPrekey: true, kyberPrekey: true },
    ]);
    // Answered only once the rows are deleted (secure_delete) and the WAL scrubbed of them.
    for (const key of old) expect(databaseFilesHolding(key.publicKey)).toEqual([]);
    const handed: (OneTimePrekey | undefined)[] = [];
    for (let i = 0; i < 4; i++) {
      handed.push(prekeyBundleSchema.parse((await bundle(gus.name)).json).oneTimePrekey);
    }
    expect(handed).toEqual([...replacement, undefined]);
    // Another name's one-time prekeys are untouched; `false` replaces nothing.
    expect((await upload(other, { replaceOneTime: false })).json).toMatchObject({ oneTimeLeft: 2 });
    reply = await upload(gus, { replaceOneTime: 'yes' });
    expect([reply.status, errorCode(reply)]).toEqual([400, 'BAD_REQUEST']);
  });

  it('refuses malformed keys, ids, more than 100 one-time keys, oversized and unsigned bodies', async () => {
    const carol = await fresh('bad');
    const good = prekeyUploadJson({
      signedPrekey: signedPrekey(1),
      kyberPrekey: kyberPrekey(1),
      oneTimePrekeys: oneTime(1, 1),
    }) as {
      signedPrekey: Record<string, unknown>;
      kyberPrekey: Record<string, unknown>;
      oneTimePrekeys: Record<string, unknown>[];
    };
    const b64 = (bytes: Uint8Array) => toBase64url(bytes);
    const hostile: unknown[] = [
      // Wrong length, wrong type byte: signed, Kyber and one-time keys.
      { signedPrekey: { ...good.signedPrekey, publicKey: b64(randomBytes(32)) } },
      {
        signedPrekey: {
          ...good.signedPrekey,
          publicKey: b64(Uint8Array.of(0x08, ...randomBytes(32))),
        },
      },
      { signedPrekey: { ...good.signedPrekey, signature: b64(randomBytes(63)) } },
      {
        kyberPrekey: {
          ...good.kyberPrekey,
          publicKey: b64(Uint8Array.of(0x08, ...randomBytes(1_567))),
        },
      },
      {
        kyberPrekey: {
          ...good.kyberPrekey,
          publicKey: b64(Uint8Array.of(0x05, ...randomBytes(1_568))),
        },
      },
      { oneTimePrekeys: [{ id: 1, publicKey: b64(Uint8Array.of(0x06, ...randomBytes(32))) }] },
      { oneTimePrekeys: [{ id: 1, publicKey: b64(randomBytes(34)) }] },
      // Ids out of range or not integers; unknown fields; a one-time key with a signature.
      { signedPrekey: { ...good.signedPrekey, id: 0 } },
      { signedPrekey: { ...good.signedPrekey, id: 2 ** 31 } },
      { oneTimePrekeys: [{ ...good.oneTimePrekeys[0], id: 1.5 }] },
      { oneTimePrekeys: [{ ...good.oneTimePrekeys[0], signature: b64(randomBytes(64)) }] },
      { ...good, extra: true },
      { oneTimePrekeys: prekeyUploadJson({ oneTimePrekeys: oneTime(1, 101) }).oneTimePrekeys },
      [],
      'not json',
    ];
    for (const body of hostile) {
      const reply = await upload(carol, body);
      expect([reply.status, errorCode(reply)], JSON.stringify(body).slice(0, 120)).toEqual([
        400,
        'BAD_REQUEST',
      ]);
    }
    const oversized = await upload(carol, { oneTimePrekeys: [], pad: 'x'.repeat(40_000) });
    expect([oversized.status, errorCode(oversized)]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    const unsigned = await client.post(PREKEY_ROUTES.upload, good);
    expect([unsigned.status, errorCode(unsigned)]).toEqual([401, 'AUTH_REQUIRED']);
    expect((await upload(carol, {})).json).toEqual({
      oneTimeLeft: 0,
      signedPrekey: false,
      kyberPrekey: false,
    });
  });
});

describe('fetching a bundle', () => {
  it('hands each one-time prekey out once, then bundles without one', async () => {
    const dana = await withPrekeys('dana', 2);
    const first = await bundle(dana.name);
    expect(first.status).toBe(200);
    const second = await bundle(dana.name);
    const ids = [oneTimeIdOf(first), oneTimeIdOf(second)];
    expect(ids).toEqual([1, 2]);
    const third = await bundle(dana.name);
    expect(third.status).toBe(200);
    const got = prekeyBundleSchema.parse(third.json);
    expect(got.name).toBe(dana.name);
    expect(got.oneTimePrekey).toBeUndefined();
    expect(got.kyberPrekey.publicKey).toHaveLength(1_569);
    expect((await upload(dana, {})).json).toEqual({
      oneTimeLeft: 0,
      signedPrekey: true,
      kyberPrekey: true,
    });
  });

  it('leaves no copy of a handed-out one-time prekey in the database files', async () => {
    const erin = await fresh('erin');
    const keys = oneTime(1, 2);
    await upload(
      erin,
      prekeyUploadJson({
        signedPrekey: signedPrekey(1),
        kyberPrekey: kyberPrekey(1),
        oneTimePrekeys: keys,
      }),
    );
    await started.store.durable();
    const [handed, kept] = keys.map((key) => key.publicKey) as [Uint8Array, Uint8Array];
    expect(databaseFilesHolding(handed).length).toBeGreaterThan(0);
    const reply = await bundle(erin.name);
    expect(prekeyBundleSchema.parse(reply.json).oneTimePrekey?.publicKey).toEqual(handed);
    // Answered only once the row is deleted (secure_delete) and the WAL scrubbed of it.
    expect(databaseFilesHolding(handed)).toEqual([]);
    expect(databaseFilesHolding(kept).length).toBeGreaterThan(0);
  });

  it('answers a retry with the same token again, without TOKEN_SPENT and without a one-time prekey', async () => {
    const finn = await withPrekeys('finn', 5);
    const paid = await token();
    const first = await bundle(finn.name, paid);
    expect(oneTimeIdOf(first)).toBe(1);
    const again = await bundle(finn.name, paid);
    expect(again.status).toBe(200);
    expect(oneTimeIdOf(again)).toBeUndefined();
    expect(prekeyBundleSchema.parse(again.json).signedPrekey).toEqual(
      prekeyBundleSchema.parse(first.json).signedPrekey,
    );
    expect(prekeyUploadAnswerSchema.parse((await upload(finn, {})).json).oneTimeLeft).toBe(4);
    // The same token for someone else's bundle is spent.
    const gail = await withPrekeys('gail', 1);
    const other = await bundle(gail.name, paid);
    expect([other.status, errorCode(other)]).toEqual([409, 'TOKEN_SPENT']);
  });

  it('keeps nothing in the spent set that a list of names could be tested against', async () => {
    const lee = await withPrekeys('lee', 1);
    const paid = await token();
    expect((await bundle(lee.name, paid)).status).toBe(200);
    await started.store.durable();
    const db = new Database(join(started.dataDir, 'operator.db'), { readonly: true });
    try {
      const hashes = db
        .prepare('SELECT letter_hash FROM spent_tokens WHERE input_hash = ?')
        .pluck()
        .all(spentTokenHash(paid.input)) as Buffer[];
      expect(hashes).toHaveLength(1);
      // The hash covers the (unstored) token input: without it, the name alone does not match.
      expect(hashes[0]).toEqual(Buffer.from(bundleHash(lee.name, paid.input)));
      expect(hashes[0]).not.toEqual(Buffer.from(bundleHash(lee.name, new Uint8Array(32))));
      const spentRow = db
        .prepare('SELECT * FROM spent_tokens WHERE input_hash = ?')
        .raw()
        .get(spentTokenHash(paid.input)) as unknown[];
      expect(
        Buffer.concat(spentRow.filter((cell): cell is Buffer => Buffer.isBuffer(cell))).includes(
          lee.name,
        ),
      ).toBe(false);
    } finally {
      db.close();
    }
  });

  it('keeps tokens apart: one spent on a letter buys no bundle, one spent on a bundle sends no letter', async () => {
    const hal = await withPrekeys('hal', 3);
    const letterToken = await token();
    expect((await client.sendAnonymously(hal.name, sealedOfClass(), letterToken)).status).toBe(201);
    const refused = await bundle(hal.name, letterToken);
    expect([refused.status, errorCode(refused)]).toEqual([409, 'TOKEN_SPENT']);
    const bundleToken = await token();
    expect((await bundle(hal.name, bundleToken)).status).toBe(200);
    const letter = await client.sendAnonymously(hal.name, sealedOfClass(), bundleToken);
    expect([letter.status, errorCode(letter)]).toEqual([409, 'TOKEN_SPENT']);
  });

  it(`hands out at most ${PER_HOUR} one-time prekeys of a name per hour, then bundles without one`, async () => {
    const ivy = await withPrekeys('ivy', 10);
    const other = await withPrekeys('jo', 10);
    // At the start of an hour, so the next hour is one step away for everything below.
    const intoHour = now() % HOUR;
    await at(HOUR - intoHour + 1_000, async () => {
      const ids: (number | undefined)[] = [];
      for (let i = 0; i < PER_HOUR + 2; i++) ids.push(oneTimeIdOf(await bundle(ivy.name)));
      expect(ids).toEqual([1, 2, 3, undefined, undefined]);
      // Per name: another komrade's are handed out as usual.
      expect(oneTimeIdOf(await bundle(other.name))).toBe(1);
      await at(HOUR, async () => {
        expect(oneTimeIdOf(await bundle(ivy.name))).toBe(4);
      });
      // The counts of past hours go with the sweep.
      await at(2 * HOUR, async () => {
        const sweeper = new Sweeper({
          store: started.store,
          intervalMs: 60_000,
          logger: silentLogger,
          now,
        });
        expect((await sweeper.sweep()).prekeyHandouts).toBeGreaterThanOrEqual(2);
      });
    });
  });

  it('refuses an unknown name, a look-alike form, a name without prekeys and a bad token', async () => {
    let reply = await bundle('nobody_here');
    expect([reply.status, errorCode(reply)]).toEqual([404, 'NAME_UNKNOWN']);
    reply = await bundle('Payer');
    expect([reply.status, errorCode(reply)]).toEqual([400, 'NAME_INVALID']);
    const kim = await fresh('kim');
    reply = await bundle(kim.name);
    expect([reply.status, errorCode(reply)]).toEqual([404, 'PREKEYS_MISSING']);
    expect((reply.json as { error: { message: string } }).error.message).toContain(
      `@${kim.name} has not published prekeys yet`,
    );
    // Only a signed prekey: still missing the Kyber one.
    await upload(
      kim,
      prekeyUploadJson({ signedPrekey: signedPrekey(1), oneTimePrekeys: oneTime(1, 1) }),
    );
    const paid = await token();
    reply = await bundle(kim.name, paid);
    expect([reply.status, errorCode(reply)]).toEqual([404, 'PREKEYS_MISSING']);
    // Nothing was spent: the same token buys the bundle once it is there.
    await upload(kim, prekeyUploadJson({ kyberPrekey: kyberPrekey(1) }));
    expect(oneTimeIdOf(await bundle(kim.name, paid))).toBe(1);

    const forged = { ...(await token()), output: randomBytes(64) };
    reply = await bundle(kim.name, forged);
    expect([reply.status, errorCode(reply)]).toEqual([403, 'TOKEN_INVALID']);
    for (const body of [
      { name: kim.name },
      { name: kim.name, token: tokenJson(await token()), extra: 1 },
      { name: 7, token: tokenJson(await token()) },
    ]) {
      reply = await client.post(PREKEY_ROUTES.bundle, body);
      expect([reply.status, errorCode(reply)]).toEqual([400, 'BAD_REQUEST']);
    }
  });
});
